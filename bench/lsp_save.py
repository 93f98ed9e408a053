"""Save -> diagnostics in the editor: `dmypy lsp` against the flow editors use today.

Side by side, in one run, on the generated 2,000-module project (`--strict`):

* **today**: after each save, mypy's own `dmypy run` for the saved file, with the flags
  microsoft/vscode-mypy passes (its daemon warm, started by the first run); the time is until
  that command has printed the diagnostics.
* **ours**: `dmypy lsp` under pytest-lsp's client (a real LSP client), the folder open; after each
  save (a plain write to the file: the editor sends nothing), the time until the client receives
  `textDocument/publishDiagnostics` for the file in the new state.

Each repetition alternates the probe leaf between ill-typed and well-typed, so every save changes
the diagnostics. Run: `.venv/bin/python bench/lsp_save.py [--modules 2000] [--repetitions 5]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import genproject
from lsprotocol import types
from pytest_lsp import ClientServerConfig

ROOT = Path(__file__).resolve().parents[1]
PYTHON = str(ROOT / ".venv/bin/python")
OURS = str(ROOT / ".build/release/dmypy") if (ROOT / ".build/release/dmypy").exists() else str(ROOT / ".build/debug/dmypy")
VSCODE_FLAGS = ["--no-color-output", "--no-error-summary", "--show-absolute-path", "--show-column-numbers",
                "--show-error-codes", "--no-pretty", "--show-error-end"]


def environment() -> dict[str, str]:
    env = dict(os.environ, DMYPY_PYTHON=PYTHON)
    for name in ("DMYPY_SOCKET", "XDG_RUNTIME_DIR"):
        env.pop(name, None)
    return env


def save(root: Path, leaf: str, counter: int) -> bool:
    bad = counter % 2 == 1   # the generated leaf is well-typed: every save flips it
    path = root / leaf
    path.write_text(genproject.replace_region(path.read_text(), "LEAF", genproject.leaf_region(counter, bad)))
    return bad


def today(root: Path, leaf: str, repetitions: int) -> list[float]:
    status = root / "status.json"
    command = [PYTHON, "-m", "mypy.dmypy", "--status-file", str(status), "run", "--", *VSCODE_FLAGS, "--strict",
               str(root / leaf)]
    subprocess.run(command, cwd=root, env=environment(), capture_output=True, timeout=600)   # cold: starts the daemon
    times = []
    try:
        for counter in range(1, repetitions + 1):
            bad = save(root, leaf, counter)
            started = time.perf_counter()
            out = subprocess.run(command, cwd=root, env=environment(), capture_output=True, text=True, timeout=600).stdout
            times.append(time.perf_counter() - started)
            assert (genproject.LEAF_BAD_MESSAGE in out) == bad, out
    finally:
        subprocess.run([PYTHON, "-m", "mypy.dmypy", "--status-file", str(status), "kill"], cwd=root,
                       env=environment(), capture_output=True)
    return times


async def ours(root: Path, leaf: str, repetitions: int) -> list[float]:
    client = await ClientServerConfig(server_command=[OURS, "lsp", "--", "--strict"], server_env=environment()).start()
    uri = (root / leaf).as_uri()

    def leaf_is(bad: bool) -> bool:
        messages = [d.message for d in client.diagnostics.get(uri, [])]
        return (genproject.LEAF_BAD_MESSAGE in messages) == bad and uri in client.diagnostics

    async def until(condition) -> None:
        while not condition():
            await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)

    times = []
    try:
        await client.initialize_session(types.InitializeParams(
            capabilities=types.ClientCapabilities(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="bench")]))
        await asyncio.wait_for(until(lambda: len(client.diagnostics) > 0), 600)   # cold build
        for counter in range(1, repetitions + 1):
            bad = counter % 2 == 1
            await asyncio.sleep(0.5)   # a person between saves; the daemon is idle again
            started = time.perf_counter()
            save(root, leaf, counter)
            await asyncio.wait_for(until(lambda: leaf_is(bad)), 600)
            times.append(time.perf_counter() - started)
    finally:
        await client.shutdown_session()
        subprocess.run([OURS, "kill"], cwd=root, env=environment(), capture_output=True)
    return times


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--modules", type=int, default=2000)
    parser.add_argument("--repetitions", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dmypy-lsp-bench-"))
    try:
        project = genproject.generate(work / "theirs", args.modules)
        shutil.copytree(work / "theirs", work / "ours")
        mine = asyncio.run(ours(work / "ours", project.leaf_rel, args.repetitions))
        theirs = today(work / "theirs", project.leaf_rel, args.repetitions)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    a, b = statistics.median(theirs), statistics.median(mine)
    print(f"| save a leaf -> diagnostics in the editor | {a * 1000:.0f} ms | {b * 1000:.0f} ms | ×{a / b:.1f} |")
    print(f"today: {[round(t * 1000) for t in theirs]} ms; ours: {[round(t * 1000) for t in mine]} ms", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

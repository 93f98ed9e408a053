"""Save -> diagnostics in the editor: `dmypy lsp` against the flow editors use today.

Side by side, in one run, on the generated project (`--strict`, 2,000 modules by default), each
side in its own copy, repetitions interleaved (the order alternates, so a load spike tends to hit
both sides) and reported as medians and the ratio of medians:

* **today** (microsoft/vscode-mypy, pylsp-mypy): after each save, mypy's own
  `python -m mypy.dmypy run -- <vscode-mypy's flags> --strict <the saved file>`, its daemon warm
  (started by the first, untimed, run); timed from the write of the file until that command has
  printed the diagnostics. The editor's notification to its extension and the parsing of the
  output are not counted, so this is a lower bound of what the editor shows.
* **ours, editor save**: `dmypy lsp` under pytest-lsp's client (pygls: a real LSP client), the
  folder open and the probe leaf open in the editor. A save is what an editor sends: the new text
  (`didChange`), the write of the file, `didSave`. Timed from the `didChange` until the client has
  received `textDocument/publishDiagnostics` for the file in its new state.
* **ours, change outside the editor**: another leaf, not open in the editor, is written (a
  formatter, `git checkout`); the server is told nothing. Timed from the write until the client
  has received the diagnostics for that file in its new state. Today's flow has no counterpart:
  vscode-mypy and pylsp-mypy run only when the editor opens or saves a file.

Every repetition flips the edited file between ill-typed and well-typed, so every save changes
its diagnostics. Ours runs with its own empty XDG_CACHE_HOME (its cache slot is not left in
~/.cache), and after its first build the harness waits for its cache writer, as bench/run.py does.

Run: `.venv/bin/python bench/lsp_save.py [--modules 2000] [--repetitions 9] [--json FILE]`
(needs pytest-lsp and lsprotocol, from test-requirements.txt, and a built dmypy).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import genproject
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

ROOT = Path(__file__).resolve().parents[1]
# What microsoft/vscode-mypy passes to `dmypy run --` before the user's args and the file.
VSCODE_FLAGS = ["--no-color-output", "--no-error-summary", "--show-absolute-path", "--show-column-numbers",
                "--show-error-codes", "--no-pretty", "--show-error-end"]
OUTSIDE_LINE = 'bench_outside: int = "outside"\n'
OUTSIDE_MESSAGE = 'Incompatible types in assignment (expression has type "str", variable has type "int")'
TIMEOUT = 900.0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def environment(python: str, xdg: Path | None = None) -> dict[str, str]:
    env = dict(os.environ, DMYPY_PYTHON=python)
    for name in ("DMYPY_SOCKET", "XDG_RUNTIME_DIR"):
        env.pop(name, None)
    if xdg is not None:
        env["XDG_CACHE_HOME"] = str(xdg)
    return env


def leaf_text(path: Path, counter: int) -> tuple[str, bool]:
    """The probe leaf's next content: ill-typed on odd counters (the generated one is well-typed)."""
    bad = counter % 2 == 1
    return genproject.replace_region(path.read_text(), "LEAF", genproject.leaf_region(counter, bad)), bad


def outside_text(path: Path, counter: int) -> tuple[str, bool]:
    """The other leaf's next content: one ill-typed line at the end on odd counters."""
    bad = counter % 2 == 1
    text = path.read_text().replace(OUTSIDE_LINE, "")
    return (text + OUTSIDE_LINE if bad else text), bad


class Today:
    """mypy's own dmypy, run per save as vscode-mypy runs it."""

    def __init__(self, root: Path, leaf: str, python: str) -> None:
        self.root, self.leaf, self.python = root, root / leaf, python
        self.status = root / ".vscode-mypy-status.json"
        self.env = environment(python)
        self.command = [python, "-m", "mypy.dmypy", "--status-file", str(self.status), "run", "--", *VSCODE_FLAGS,
                        "--strict", str(self.leaf)]

    def run(self) -> tuple[float, str]:
        started = time.perf_counter()
        out = subprocess.run(self.command, cwd=self.root, env=self.env, capture_output=True, text=True,
                             timeout=TIMEOUT).stdout
        return time.perf_counter() - started, out

    def save(self, counter: int) -> float:
        text, bad = leaf_text(self.leaf, counter)
        started = time.perf_counter()
        self.leaf.write_text(text)
        out = subprocess.run(self.command, cwd=self.root, env=self.env, capture_output=True, text=True,
                             timeout=TIMEOUT).stdout
        elapsed = time.perf_counter() - started
        assert (genproject.LEAF_BAD_MESSAGE in out) == bad, out
        return elapsed

    def stop(self) -> None:
        subprocess.run([self.python, "-m", "mypy.dmypy", "--status-file", str(self.status), "kill"], cwd=self.root,
                       env=self.env, capture_output=True, timeout=60)


class Ours:
    """`dmypy lsp` under pytest-lsp's client."""

    def __init__(self, root: Path, leaf: str, outside: str, binary: str, python: str, xdg: Path) -> None:
        self.root, self.leaf, self.outside, self.binary = root, root / leaf, root / outside, binary
        self.env = environment(python, xdg)
        self.client: LanguageClient | None = None
        self.version = 1

    def messages(self, path: Path) -> list[str] | None:
        assert self.client is not None
        published = self.client.diagnostics.get(path.as_uri())
        return None if published is None else [d.message for d in published]

    def shows(self, path: Path, message: str, bad: bool) -> bool:
        messages = self.messages(path)
        if messages is None:
            return not bad   # nothing published for it yet: it has no errors
        return (message in messages) == bad

    async def until(self, condition: Callable[[], bool]) -> None:
        assert self.client is not None
        client = self.client

        async def wait() -> None:
            while not condition():
                await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)

        await asyncio.wait_for(wait(), TIMEOUT)

    async def start(self) -> float:
        config = ClientServerConfig(server_command=[self.binary, "lsp", "--", "--strict"], server_env=self.env)
        started = time.perf_counter()
        client = await config.start()
        assert isinstance(client, LanguageClient)
        self.client = client
        await client.initialize_session(types.InitializeParams(
            capabilities=types.ClientCapabilities(),
            workspace_folders=[types.WorkspaceFolder(uri=self.root.as_uri(), name="bench")]))
        errors = len(genproject.ERROR_KINDS)
        await self.until(lambda: len(client.diagnostics) >= errors)   # the cold build
        elapsed = time.perf_counter() - started
        client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
            uri=self.leaf.as_uri(), language_id="python", version=self.version, text=self.leaf.read_text())))
        return elapsed

    def status(self) -> dict[str, str]:
        out = subprocess.run([self.binary, "status", "-v"], cwd=self.root, env=self.env, capture_output=True,
                             text=True, timeout=60).stdout
        return {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in out.splitlines() if ":" in line)}

    def engine_seconds(self) -> float:
        """How long mypy (the engine) took for the last check, as `status -v` says."""
        try:
            return float(self.status().get("last_check_seconds", "nan"))
        except ValueError:
            return float("nan")

    async def wait_for_cache_writer(self) -> None:
        """Our daemon writes its cache slot in the background after a cold build: not while measuring."""
        deadline = time.monotonic() + TIMEOUT
        while self.status().get("cache_writer_pid", "None") != "None" and time.monotonic() < deadline:
            await asyncio.sleep(0.2)

    async def save(self, counter: int) -> float:
        assert self.client is not None
        text, bad = leaf_text(self.leaf, counter)
        self.version += 1
        uri = self.leaf.as_uri()
        started = time.perf_counter()
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=self.version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))
        self.leaf.write_text(text)
        self.client.text_document_did_save(types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(uri=uri)))
        await self.until(lambda: self.shows(self.leaf, genproject.LEAF_BAD_MESSAGE, bad))
        return time.perf_counter() - started

    async def outside_edit(self, counter: int) -> float:
        text, bad = outside_text(self.outside, counter)
        started = time.perf_counter()
        self.outside.write_text(text)
        await self.until(lambda: self.shows(self.outside, OUTSIDE_MESSAGE, bad))
        return time.perf_counter() - started

    async def stop(self) -> None:
        try:
            if self.client is not None:
                await self.client.shutdown_session()
        finally:
            subprocess.run([self.binary, "kill"], cwd=self.root, env=self.env, capture_output=True, timeout=60)


def row(label: str, today: list[float] | None, ours: list[float]) -> str:
    b = statistics.median(ours)
    ours_cell = f"{b * 1000:.0f} ({min(ours) * 1000:.0f})"
    if today is None:
        return f"| {label} | no diagnostics until the file is saved in the editor | {ours_cell} | — |"
    a = statistics.median(today)
    return f"| {label} | {a * 1000:.0f} ({min(today) * 1000:.0f}) | {ours_cell} | ×{a / b:.1f} |"


async def bench(args: argparse.Namespace, work: Path) -> dict[str, list[float]]:
    project = genproject.generate(work / "today", args.modules)
    shutil.copytree(work / "today", work / "ours")
    outside_rel = genproject._layout(args.modules)[args.modules - 2].rel_path   # a leaf, with no error of its own
    today = Today(work / "today", project.leaf_rel, args.python)
    ours = Ours(work / "ours", project.leaf_rel, outside_rel, args.ours, args.python, work / "xdg")
    samples: dict[str, list[float]] = {"today_save": [], "ours_save": [], "ours_engine": [], "ours_outside": []}
    try:
        log("ours: initialize, first build of the folder (untimed for the table) ...")
        cold = await ours.start()
        await ours.wait_for_cache_writer()
        log(f"ours: first diagnostics {cold:.1f} s after start")
        log("today: first `dmypy run` (starts mypy's daemon) ...")
        cold_today, _ = await asyncio.to_thread(today.run)
        log(f"today: first run {cold_today:.1f} s")
        samples["cold"] = [cold_today, cold]
        for counter in range(1, args.repetitions + 1):
            order = ("ours", "today") if counter % 2 else ("today", "ours")
            for side in order:
                await asyncio.sleep(args.pause)   # a person between saves; the daemons are idle again
                if side == "today":
                    samples["today_save"].append(await asyncio.to_thread(today.save, counter))
                else:
                    samples["ours_save"].append(await ours.save(counter))
                    samples["ours_engine"].append(ours.engine_seconds())   # untimed: how long mypy took
                    await asyncio.sleep(args.pause)
                    samples["ours_outside"].append(await ours.outside_edit(counter))
            log(f"rep {counter}: today {samples['today_save'][-1] * 1000:.0f} ms, ours {samples['ours_save'][-1] * 1000:.0f} ms,"
                f" outside {samples['ours_outside'][-1] * 1000:.0f} ms")
    finally:
        await ours.stop()
        today.stop()
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--modules", type=int, default=2000)
    parser.add_argument("--repetitions", type=int, default=9)
    parser.add_argument("--pause", type=float, default=1.0, help="seconds between saves (default 1)")
    parser.add_argument("--python", default=str(ROOT / ".venv/bin/python"), help="python with mypy (both sides)")
    parser.add_argument("--ours", default=str(ROOT / ".build/release/dmypy"))
    parser.add_argument("--json", type=Path, help="also write the samples (seconds) here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dmypy-lsp-bench-"))
    loads = [os.getloadavg()[0]]
    try:
        samples = asyncio.run(bench(args, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    loads.append(os.getloadavg()[0])
    print(f"{args.modules} modules, `--strict`, {args.repetitions} repetitions, load average {loads[0]:.1f} -> {loads[1]:.1f};"
          " ms, median (min)")
    print()
    print("| save → diagnostics in the editor | today: mypy's `dmypy run` per save (vscode-mypy) | ours: `dmypy lsp` | ratio |")
    print("|---|---|---|---|")
    print(row("save a leaf in the editor", samples["today_save"], samples["ours_save"]))
    print(row("a leaf changed outside the editor (no request)", None, samples["ours_outside"]))
    cold_today, cold_ours = samples["cold"]
    print(f"| (first diagnostics: first `dmypy run` of the file / server start, first build of the folder) |"
          f" {cold_today * 1000:.0f} | {cold_ours * 1000:.0f} | — |")
    print()
    print(f"Of ours' save, mypy's own update (the engine, `status -v` last_check_seconds) took a median of"
          f" {statistics.median(samples['ours_engine']) * 1000:.0f} ms; the rest is the daemon, the server and"
          " the client (a save is taken at once, on didSave; a change outside the editor waits for the"
          " watcher's 50 ms settle).")
    log(f"today: {[round(t * 1000) for t in samples['today_save']]} ms")
    log(f"ours:  {[round(t * 1000) for t in samples['ours_save']]} ms")
    log(f"outside: {[round(t * 1000) for t in samples['ours_outside']]} ms")
    if args.json:
        args.json.write_text(json.dumps(samples, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

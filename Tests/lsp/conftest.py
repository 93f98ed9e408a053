"""Drives the real `dmypy lsp` over stdio with pytest-lsp's client (pygls; not ours), and
`dmypy watch` through a pseudo-terminal and a pipe, on real mypy and real files.

Every daemon a test starts is its project's own (no user daemon) and is stopped afterwards.
Timeouts below only end a test that hangs; no test measures time.
"""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import subprocess
import sys
from collections.abc import Callable

import pytest
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

ROOT = pathlib.Path(__file__).resolve().parents[2]
PYTHON = os.environ.get("DMYPY_TEST_PYTHON") or str(ROOT / ".venv/bin/python")
HANG = float(os.environ.get("DMYPY_TEST_HANG", "180"))


def dmypy_binary() -> str:
    for configuration in ("debug", "release"):
        path = ROOT / ".build" / configuration / "dmypy"
        if path.exists():
            return str(path)
    pytest.fail("build dmypy first (swift build)")


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env["DMYPY_PYTHON"] = PYTHON
    for name in ("DMYPY_SOCKET", "XDG_RUNTIME_DIR", "MYPY_FORCE_COLOR", "FORCE_COLOR"):
        env.pop(name, None)
    return env


def write(directory: pathlib.Path, files: dict[str, str]) -> pathlib.Path:
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return directory


def stop_daemon(directory: pathlib.Path) -> None:
    if (directory / ".dmypy.json").exists():
        subprocess.run([dmypy_binary(), "kill"], cwd=directory, env=environment(), capture_output=True, timeout=60)


@pytest.fixture
def projects(tmp_path):
    """Makes project directories; stops their daemons at the end."""
    made: list[pathlib.Path] = []

    def make(name: str, files: dict[str, str]) -> pathlib.Path:
        directory = tmp_path / name
        directory.mkdir()
        made.append(directory)
        return write(directory, files)

    yield make
    for directory in made:
        stop_daemon(directory)


def mypy_records(directory: pathlib.Path, *flags: str, targets: tuple[str, ...] = (".",)) -> list[dict]:
    """What a fresh mypy run (no daemon) reports, as its JSON records."""
    result = subprocess.run(
        [PYTHON, "-m", "mypy", "--output", "json", "--show-absolute-path", "--no-incremental",
         "--cache-dir", os.devnull, *flags, *targets],
        cwd=directory, env=environment(), capture_output=True, text=True, timeout=HANG,
    )
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def expected(records: list[dict], path: pathlib.Path) -> list[tuple]:
    """mypy's records for one file, in the shape a diagnostic has."""
    severity = {"error": 1, "warning": 2, "note": 3}
    return sorted(
        (r["line"] - 1, r["column"], r["end_line"] - 1, r["end_column"], r["message"], r["code"], severity[r["severity"]])
        for r in records
        if r["file"] == str(path)
    )


def shape(diagnostics) -> list[tuple]:
    return sorted(
        (d.range.start.line, d.range.start.character, d.range.end.line, d.range.end.character, d.message,
         d.code, d.severity.value)
        for d in diagnostics
    )


def uri(path: pathlib.Path) -> str:
    return path.as_uri()


async def start(folders: list[pathlib.Path], options: dict | None = None) -> LanguageClient:
    config = ClientServerConfig(server_command=[dmypy_binary(), "lsp"], server_env=environment())
    client = await config.start()
    capabilities = types.ClientCapabilities(
        window=types.WindowClientCapabilities(work_done_progress=True),
        text_document=types.TextDocumentClientCapabilities(
            publish_diagnostics=types.PublishDiagnosticsClientCapabilities(related_information=True)
        ),
    )
    await client.initialize_session(types.InitializeParams(
        capabilities=capabilities,
        workspace_folders=[types.WorkspaceFolder(uri=uri(f), name=f.name) for f in folders],
        initialization_options=options,
    ))
    return client


async def until(client: LanguageClient, condition: Callable[[], bool]) -> None:
    """Waits for pushed diagnostics until `condition` holds (or the test hangs)."""

    async def wait() -> None:
        while not condition():
            await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)

    await asyncio.wait_for(wait(), HANG)


def diagnostics_of(client: LanguageClient, path: pathlib.Path) -> list[tuple]:
    return shape(client.diagnostics.get(uri(path), []))

"""The engine adapter's cold build runs with Python's cyclic collector paused, and only that.

Real mypy, the real adapter (`Sources/DmypyEngine/Resources`), a generated 300-module project:
its cold build allocates far past mypy's collector threshold (200,000), so with the collector
on, collections run during it. Through the adapter none may run, the answer must be mypy's own
`Server.run_command` answer, and afterwards the collector is on again with the real
`gc.enable`; the fast-path update after an edit runs with the collector on (not paused).
"""

from __future__ import annotations

import gc
import importlib.util
import os
import pathlib
import shutil
import sys
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[2]
RESOURCES = ROOT / "Sources" / "DmypyEngine" / "Resources"
FLAGS = ["--strict", "--follow-imports=normal"]
DATA = {"files": ["pkg"], "export_types": False, "is_tty": False, "terminal_width": 80}


def load_adapter() -> Any:
    sys.path.insert(0, str(RESOURCES))
    for name in ("cache", "fastpath", "update", "remote"):
        module = importlib.import_module(f"engine_{name}")
        sys.modules[f"dmypy_engine_{name}"] = module
    spec = importlib.util.spec_from_file_location("adapter", RESOURCES / "engine_adapter.py")
    assert spec and spec.loader
    adapter = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(adapter)
    return adapter


class Channel:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)


def collections_during(run: Any) -> tuple[int, Any]:
    seen = [0]

    def count(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            seen[0] += 1

    gc.callbacks.append(count)
    try:
        result = run()
    finally:
        gc.callbacks.remove(count)
    return seen[0], result


def test_the_cold_build_pauses_the_collector_and_answers_as_mypy(tmp_path: pathlib.Path, monkeypatch: Any) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    import genproject

    project = genproject.generate(tmp_path / "ours", 300)
    shutil.copytree(tmp_path / "ours", tmp_path / "mypys")
    from mypy.dmypy_server import Server, process_start_options

    # mypy's own, collector on: collections do run during this build.
    monkeypatch.chdir(tmp_path / "mypys")
    server = Server(process_start_options(FLAGS, False), os.path.join(os.devnull, "status"), timeout=None)
    collected, expected = collections_during(lambda: server.run_command("check", dict(DATA)))
    assert collected > 0, f"the project is too small to show the collector at work: {expected}"

    monkeypatch.chdir(tmp_path / "ours")
    adapter = load_adapter()
    real_enable = gc.enable
    engine = adapter.Engine(Channel())
    assert engine.start({"flags": FLAGS, "allow_sources": False})["ok"]

    def request(request_id: int) -> dict[str, Any]:
        engine.channel.sent.clear()
        engine.request({"op": "request", "id": request_id, "command": "check", "data": dict(DATA)})
        return next(m for m in engine.channel.sent if m.get("final"))

    gc.collect()  # what the build before left counted toward the next collection is not ours
    collected, reply = collections_during(lambda: request(1))
    assert collected == 0
    assert gc.isenabled() and gc.enable is real_enable
    assert reply["response"]["out"] == expected["out"] and reply["response"]["status"] == expected["status"]

    # An update is not paused: with the collector made to run every 1,000 allocations, it runs.
    leaf = tmp_path / "ours" / project.leaf_rel
    leaf.write_text(leaf.read_text() + "\ndef extra() -> int:\n    return 1\n")
    engine.invalidate({"op": "invalidate", "paths": [str(leaf)], "all": False, "complete": True})
    threshold = gc.get_threshold()
    gc.set_threshold(1000)
    try:
        collected, reply = collections_during(lambda: request(2))
    finally:
        gc.set_threshold(*threshold)
    assert reply["fast_path"]["taken"], reply["fast_path"]
    assert collected > 0

"""The engine adapter: hosts mypy's own daemon machinery for the Swift dmypy daemon.

The Swift daemon owns sockets, clients, file watching and scheduling. This process owns exactly one
thing: a `mypy.dmypy_server.Server` (mypy's fine-grained state), driven through its methods. We
never reimplement or patch mypy's checker; mypy's wheels are compiled with mypyc, so its classes
are used, not subclassed.

Channel: the daemon writes request frames to fd 3 and reads reply frames from fd 4, each a 4-byte
big-endian length then UTF-8 JSON, as mypy's own IPC. fd 1 and fd 2 stay the daemon's log, so
nothing that mypy or a plugin prints can corrupt the channel. While a request runs, `sys.stdout`
and `sys.stderr` are frames tagged with the request id, exactly as mypy's `WriteToConn` does.

Messages from the daemon:
  {"op": "start", "flags": [...], "allow_sources": bool, "stdout_tty": bool, "stderr_tty": bool,
   "cache": {"root": str, "load": bool, "remote": {"fetcher": [str]} | null} | null}
                                         (our cache slots: `dmypy_engine_cache`, `dmypy_engine_remote`)
  {"op": "request", "id": int, "command": str, "data": {...}}
  {"op": "invalidate", "paths": [str], "all": bool, "complete": bool}          (no reply)
  {"op": "options_changed"}         (a config file was written: are mypy's options different now?)
  {"op": "overlay", "path": str, "text": str | null}   (an editor's unsaved buffer; null drops it; no reply)
Replies:
  {"op": "started", "ok": bool, "out": str, "err": str, "status": int, "mypy_version": str,
   "missing_mypy": str (this interpreter cannot import mypy),
   "config_files": [str], "restart_files": [str], "cache": {"slot", "key", "warm", "reason", ...}}
  {"op": "options", "changed": bool, "reason": str}
  {"id": int, "stdout": str} / {"id": int, "stderr": str}      (while a request runs)
  {"id": int, "final": true, "response": {...}, "crashed": bool, "modules": int, "seconds": float,
   "graph": {"changed": [[module, path, [imports], [missing]]], "removed": [module]},
   "search_dirs": [str],                                       (graph and search_dirs when changed)
   "evidence": {"files": [str], "directories": [str]},         (what mypy looked at for the first time)
   "fast_path": {"taken": bool, "reason": str, "checks": int, "fast": int},  (build commands: `engine_fastpath`)
   "cache_load": {"warm": bool, "reason": str, "modules": int, "pending": bool}}  (first build only)

The protocol's typed form, and the reference for each field, is `EngineMessages.swift`.

`invalidate` is how file events reach mypy: its FileSystemWatcher decides "unchanged" from size and
whole-second mtime, so the daemon, which saw the write, makes the recorded mtime of each written
file impossible and mypy hashes it again on the next update (a same-size edit within a second is
not missed; a file written back unchanged is not re-checked).

`overlay` is mypy's `--shadow-file` made to work inside a daemon: the buffer is written to a private
file, mypy's options and its BuildManager's `shadow_map` get the pair, and the recorded hash of the
real file is blanked so that the next update re-reads it, through the shadow (python/mypy#9309:
a daemon's shadow map is only read when its BuildManager is built, and its watcher only looks at
the real file, which did not change).
"""

from __future__ import annotations

import contextlib
import gc
import inspect
import io
import json
import os
import shutil
import struct
import sys
import tempfile
import time
import traceback
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import IO, Any, Final

REQUEST_FD: Final = 3
REPLY_FD: Final = 4
HEADER: Final = struct.Struct("!L")
MAX_FRAME: Final = 64 * 1024 * 1024


def recorded_keys(recorded: dict[str, Any], paths: list[str]) -> list[str]:
    """The keys under which mypy's FileSystemWatcher records these files.

    mypy keys a file by the path it found it under, unnormalized: absolute, relative to the
    project (our working directory), or `./m.py` for a module found under the target `.`
    (`dmypy check .`; mypy's `create_source_list` joins the target and the name). Matching
    only the absolute and `relpath` forms missed `./m.py`, so a same-size edit within the same
    second went unseen after `dmypy check .`: by mypy's own path and the fast path alike (the
    oracle's testFunctionMissingModuleAttribute, testReprocessMethodInNestedClass and
    testIsInstanceAdHocIntersectionFineGrainedIncrementalIsInstanceChange, whichever path the
    clock hit).
    """
    wanted = {os.path.abspath(p) for p in paths}
    wanted |= {os.path.relpath(p) for p in wanted}
    found = []
    for key in recorded:
        # A key in normal form (typeshed's, the site's, the project's: most) is a set lookup;
        # only one with `.`, `..` or `//` in it needs `abspath` (which costs more, per key).
        short = key[2:] if key.startswith("./") else key
        if short in wanted or ("/." in "/" + short or "//" in short) and os.path.abspath(key) in wanted:
            found.append(key)
    return found


class Channel:
    """Frames over two pipes."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self.read_fd = read_fd
        self.write_fd = write_fd

    def _read_exactly(self, n: int) -> bytes | None:
        chunks: list[bytes] = []
        remaining = n
        while remaining:
            chunk = os.read(self.read_fd, remaining)
            if not chunk:
                return None
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def receive(self) -> dict[str, Any] | None:
        """The next message, or None when the daemon has closed the channel."""
        header = self._read_exactly(HEADER.size)
        if header is None:
            return None
        (size,) = HEADER.unpack(header)
        if size > MAX_FRAME:
            raise ValueError(f"frame of {size} bytes exceeds {MAX_FRAME}")
        payload = self._read_exactly(size)
        if payload is None:
            return None
        message = json.loads(payload)
        if not isinstance(message, dict):
            raise ValueError("frame is not an object")
        return message

    def send(self, message: dict[str, Any]) -> None:
        payload = json.dumps(message).encode("utf-8")
        data = memoryview(HEADER.pack(len(payload)) + payload)
        while data:
            written = os.write(self.write_fd, data)
            data = data[written:]


class FrameWriter(IO[str]):
    """A text stream whose writes become frames for one request (mypy's WriteToConn)."""

    def __init__(self, channel: Channel, request_id: int, key: str, isatty: bool) -> None:
        self.channel = channel
        self.request_id = request_id
        self.key = key
        self._isatty = isatty

    def write(self, s: str) -> int:
        if s:
            self.channel.send({"id": self.request_id, self.key: s})
        return len(s)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def isatty(self) -> bool:
        return self._isatty

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def fileno(self) -> int:
        raise io.UnsupportedOperation("fileno")

    def readable(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, n: int = -1) -> str:
        raise io.UnsupportedOperation("read")

    def readline(self, limit: int = -1) -> str:
        raise io.UnsupportedOperation("readline")

    def readlines(self, hint: int = -1) -> list[str]:
        raise io.UnsupportedOperation("readlines")

    def seek(self, offset: int, whence: int = 0) -> int:
        raise io.UnsupportedOperation("seek")

    def tell(self) -> int:
        raise io.UnsupportedOperation("tell")

    def truncate(self, size: int | None = None) -> int:
        raise io.UnsupportedOperation("truncate")

    def __enter__(self) -> FrameWriter:
        return self

    def __exit__(
        self,
        t: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        pass

    def __iter__(self) -> Iterator[str]:
        raise io.UnsupportedOperation("iter")

    def __next__(self) -> str:
        raise io.UnsupportedOperation("next")


class TerminalLike(io.StringIO):
    """Stands in for the starting client's terminal while mypy's Server is built.

    mypy's `dmypy start` builds its Server in the client process, so its FancyFormatter sees the
    user's terminal; our engine runs detached, so it is told what the client's streams were.
    """

    def __init__(self, isatty: bool) -> None:
        super().__init__()
        self._isatty = isatty

    def isatty(self) -> bool:
        return self._isatty

    def fileno(self) -> int:
        raise io.UnsupportedOperation("fileno")


def exit_status(code: object) -> tuple[int, str]:
    """The exit status and stderr text that Python gives `sys.exit(code)`."""
    if code is None:
        return 0, ""
    if isinstance(code, int):
        return code, ""
    return 1, f"{code}\n"


GraphEntry = tuple[str | None, frozenset[str], frozenset[str]]


from dmypy_engine_cache import Evidence, recording_file_system_cache  # noqa: E402  (next to this file)


class Engine:
    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.server: Any = None
        self.exported: dict[str, GraphEntry] = {}
        self.flags: list[str] = []
        self.allow_sources = False
        self.exported_search_dirs: list[str] = []
        self.evidence = Evidence()
        # The cache slot this engine loads at its first build, and what it knows of it.
        self.slot: str | None = None
        self.manifest: dict[str, Any] = {}
        self.slot_check: Any = None  # the slot's checksums, verified while mypy loads it
        # Modules whose errors the first answer took from the cache: re-checked by the next build.
        self.pending_fixup: set[str] = set()
        # Editor buffers: the real path (absolute) -> the private file holding the buffer.
        self.shadows: dict[str, str] = {}
        self.shadow_dir: str | None = None
        # Files whose types mypy checked before `--export-types` was switched on (`exporting_types`).
        self.unexported: set[str] = set()
        import dmypy_engine_fastpath

        self.fastpath = dmypy_engine_fastpath.FastPath()  # known edits without mypy's crawl and re-check

    def start(self, message: dict[str, Any]) -> dict[str, Any]:
        """Process the daemon's mypy flags as `dmypy start` does, and build mypy's Server."""
        from mypy.dmypy_server import Server, process_start_options
        from mypy.version import __version__

        flags = [str(flag) for flag in message.get("flags", [])]
        allow_sources = bool(message.get("allow_sources", False))
        self.flags, self.allow_sources = flags, allow_sources
        out, err = io.StringIO(), io.StringIO()
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = out, err
        try:
            options = process_start_options(flags, allow_sources)
        except SystemExit as e:
            status, text = exit_status(e.code)
            return {
                "op": "started",
                "ok": False,
                "out": out.getvalue(),
                "err": err.getvalue() + text,
                "status": status,
            }
        finally:
            sys.stdout, sys.stderr = saved
        sys.stdout = TerminalLike(bool(message.get("stdout_tty", False)))
        sys.stderr = TerminalLike(bool(message.get("stderr_tty", False)))
        self.stdout_tty = bool(message.get("stdout_tty", False))
        self.stderr_tty = bool(message.get("stderr_tty", False))
        try:
            self.server = self.new_server(options)
            cache = self.choose_slot(options, message.get("cache"))
        finally:
            sys.stdout, sys.stderr = saved
        return {
            "op": "started",
            "ok": True,
            "out": out.getvalue(),
            "err": err.getvalue(),
            "status": 0,
            "mypy_version": __version__,
            "metadata": self.server._response_metadata(),
            "config_files": config_files(options),
            "restart_files": restart_files(options),
            "cache": cache,
        }

    def new_server(self, options: Any) -> Any:
        from mypy.dmypy_server import Server

        # Server() removes its status file if present: give it a name that never exists.
        server = Server(options, os.path.join(os.devnull, "dmypy-status"), timeout=None)
        server.fscache = recording_file_system_cache(self.evidence)
        return server

    def choose_slot(self, options: Any, request: Any) -> dict[str, Any] | None:
        """Finds this workspace's cache slot and, when it verifies, makes the first build load it."""
        import dmypy_engine_cache as slots

        if self.server.options.use_fine_grained_cache:
            # The user's own fine-grained cache (mypy's documented remote-cache workflow).
            return {"warm": True, "slot": None, "reason": "--use-fine-grained-cache: the project's own cache"}
        if not isinstance(request, dict) or not request.get("root"):
            return None
        plugins = slots.plugins_snapshot(options)
        key, _ = slots.slot_key(self.server.options_snapshot, plugins, os.getcwd())
        slot = slots.slot_dir(str(request["root"]), os.getcwd(), key)
        report: dict[str, Any] = {"slot": slot, "key": key, "warm": False}
        if not request.get("load", True):
            slots.discard(slot, "the daemon gave up loading it")
            report["reason"] = str(request.get("why") or "loading it was given up; it is written again")
            return report
        installed = None
        if isinstance(request.get("remote"), dict) and not os.path.lexists(os.path.join(slot, "current")):
            # No local slot yet: the remote cache of the nearest cached commit becomes it.
            import dmypy_engine_remote as remote

            portable, _ = remote.portable_key(self.server.options_snapshot, plugins, os.getcwd())
            found = {"key": key, "slot": slot, "portable_key": portable}
            pulled, installed = remote.pull(found, str(request["root"]), request["remote"], dict(os.environ))
            report["remote"] = pulled
            if pulled.get("location"):
                report["reason"] = pulled.get("reason")
                if not pulled.get("installed"):
                    return report
        try:
            # A slot just pulled was verified as it was installed: not hashed a second time. A local
            # one has its checksums verified while mypy loads it (`load_cache` waits for that).
            cache_dir, manifest = installed if installed is not None else slots.opened(slot, key)
        except slots.SlotProblem as e:
            if os.path.lexists(os.path.join(slot, "current")):
                slots.discard(slot, str(e))
            report["reason"] = str(e)
            return report
        except OSError as e:
            slots.discard(slot, str(e))
            report["reason"] = f"it cannot be read ({e})"
            return report
        cold = slots.mostly_stale(manifest)
        if cold is not None:
            # The slot stays; the build after this cold one writes it afresh.
            report["reason"] = cold
            return report
        slots.pin_store(self.server.options, cache_dir)
        self.server.options.use_fine_grained_cache = True
        self.slot, self.manifest = slot, manifest
        self.slot_check = slots.SlotCheck(cache_dir, manifest) if installed is None else None
        # What the build the slot holds looked at: the daemon watches it before the load starts,
        # so the first answer rests on watches that were live while mypy read.
        self.evidence.know(manifest.get("evidence"))
        report["evidence"] = manifest.get("evidence")
        report.update(
            warm=True,
            modules=manifest.get("modules"),
            written_at=manifest.get("written_at"),
            dependency_edges=manifest.get("dependency_edges"),
            bytes=manifest.get("bytes"),
        )
        return report

    def options_changed(self) -> dict[str, Any]:
        """Whether mypy's options, read again from the flags and config files, differ from the
        running Server's (mypy's own test in `dmypy run`: `Options.compare_stable`)."""
        from mypy.dmypy_server import process_start_options

        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = io.StringIO(), io.StringIO()
        try:
            options = process_start_options(self.flags, self.allow_sources)
        except SystemExit:
            # Invalid now: a new engine will say exactly why.
            return {"op": "options", "changed": True, "reason": "the configuration is no longer valid"}
        finally:
            sys.stdout, sys.stderr = saved
        if self.server is None or not options.compare_stable(self.server.options_snapshot):
            return {"op": "options", "changed": True, "reason": "mypy's options changed"}
        return {"op": "options", "changed": False, "reason": "mypy's options are the same"}

    def request(self, message: dict[str, Any]) -> None:
        """Run one command through mypy's Server, as its serve() loop does for one connection."""
        request_id = int(message["id"])
        command = str(message["command"])
        data = message.get("data", {})
        if not isinstance(data, dict):
            data = {}
        saved = sys.stdout, sys.stderr
        sys.stdout = FrameWriter(self.channel, request_id, "stdout", False)
        sys.stderr = FrameWriter(self.channel, request_id, "stderr", False)
        crashed = False
        started = time.monotonic()
        response: dict[str, Any]
        cache_load: dict[str, Any] | None = None
        touched: set[str] | None = None  # what the graph diff may skip (the fast path knows)
        try:
            refusal = self.refusal(command, data)
            if refusal is not None:
                response = {"error": refusal}
            elif command == "inspect" and self.server.options.export_types:
                response = self.inspect(data)
            else:
                data = self.exporting_types(command, data)
                if self.loads_cache_now(command):
                    response, cache_load = self.warm_build(command, data)
                else:
                    with collector_paused_for_a_cold_build(self.server, command):
                        response = self.fastpath.request(self, command, data)  # or run_command, after apply_pending_fixup
                    touched = self.fastpath.graph_touched
        except Exception:
            crashed = True
            response = {"error": "Daemon crashed!\n" + traceback.format_exc()}
        finally:
            sys.stdout, sys.stderr = saved
        response.update(self.server._response_metadata())
        reply: dict[str, Any] = {
            "id": request_id,
            "final": True,
            "response": response,
            "crashed": crashed,
            "seconds": time.monotonic() - started,
        }
        manager = getattr(self.server, "fine_grained_manager", None)
        reply["modules"] = len(manager.graph) if manager is not None else 0
        if manager is not None:
            reply.update(self.graph_changes(manager, touched))
        # What was looked at since the last flush (a command that ended before mypy flushed).
        self.server.fscache.record()
        if (evidence := self.evidence.take_new()) is not None:
            reply["evidence"] = evidence
        if cache_load is not None:
            reply["cache_load"] = cache_load
        reply.update(self.fastpath.report())
        self.channel.send(reply)

    # Types for mypy's inspections (`--export-types`).

    def exporting_types(self, command: str, data: dict[str, Any]) -> dict[str, Any]:
        """A build asked to export types (`check`/`run`/`recheck --export-types`; `dmypy lsp`
        asks for hover and definition): mypy's export is switched on for good, as if set when the
        Server was built, and the request goes to mypy without the flag.

        Passed to mypy, the flag makes every update re-check every source of the build
        (`add_all_sources_to_changed` in `fine_grained_increment[_follow_imports]`) so that
        `all_types` covers them: a fine-grained update of every module of the build on every
        save and on the confirming check after the first build. Measured on mypy's own Server
        with the bench's 2,000-module project: each such check took 81-94 s (a leaf edit without
        the flag: ~0.3 s), and `all_types` grew by the whole build each time (711k entries, then
        1.41M, 2.12M), keeping every replaced tree alive. With `Options.export_types` on, mypy
        itself exports the types of whatever a build checks (`State.finish_passes`) and whatever
        an update re-checks (`reprocess_nodes`), which keeps `all_types` current for the modules
        checked since; `mypy.dmypy_server` names that case ("set in dmypy start"). Modules in the
        build before the switch are reloaded by mypy's own inspection, once, when first inspected
        (`inspect`). The answer (errors) does not depend on the flag.
        """
        if command not in ("check", "run", "recheck") or not data.get("export_types"):
            return data
        options = self.server.options
        if not options.export_types:
            options.export_types = True
            manager = getattr(self.server, "fine_grained_manager", None)
            if manager is not None:
                # Checked while nothing was exported: what all_types holds of them may be stale.
                self.unexported = {os.path.abspath(s.path) for s in manager.graph.values() if s.path}
        return dict(data, export_types=False)

    def inspect(self, data: dict[str, Any]) -> dict[str, Any]:
        """mypy's inspection, with mypy's own `force_reload` (the module checked again, its types
        exported) for a module whose types were not all exported: one in the build before export
        was switched on, or one whose type mypy does not have (a module loaded from a cache and
        then re-checked only in part)."""
        fields = dict(data)
        from mypy.inspections import parse_location

        try:
            path: str | None = os.path.abspath(parse_location(str(fields.get("location", "")))[0])
        except ValueError:
            path = None   # mypy says what is wrong with it
        if path is not None and path in self.unexported:
            fields["force_reload"] = True
        response = self.server.run_command("inspect", dict(fields))   # mypy deletes fields of what it is given
        if not fields.get("force_reload") and "No known type available" in str(response.get("out", "")):
            fields["force_reload"] = True
            response = self.server.run_command("inspect", dict(fields))
        if fields.get("force_reload"):
            # mypy checked the module again outside a build: the fast path's record of what
            # changed since the last build no longer covers mypy's state.
            self.fastpath.note_invalidate({"all": True})
            if path is not None and "error" not in response:
                self.unexported.discard(path)
        return response

    # The first build of an engine that loads a cache.

    def loads_cache_now(self, command: str) -> bool:
        server = self.server
        return (
            command in ("check", "run")
            and server.options.use_fine_grained_cache
            and getattr(server, "fine_grained_manager", None) is None
        )

    def warm_build(self, command: str, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Loads the cache and answers exactly as a fresh mypy run would.

        mypy's loader trusts a file whose size and whole-second mtime match the cache, and reports
        no error of a module whose errors live only in the cache (python/mypy#20519). So after
        the load every file is hashed again (an edit made while the daemon was down is seen
        whatever its size and time), and then: if nothing changed at all, the answer is the
        cached errors, formatted as mypy formats fresh ones, and those modules are re-checked
        by the next build (which the daemon runs at once, in the background); if anything changed,
        those modules are re-checked now, as part of the answer.
        """
        from mypy.fswatcher import FileData

        started = time.monotonic()
        report: dict[str, Any] = {"warm": True, "slot": self.slot}
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = io.StringIO(), io.StringIO()
        try:
            loaded = self.load_cache(command, data, report)
        finally:
            sys.stdout, sys.stderr = saved
        if isinstance(loaded, str):
            return self.cold_build(command, data, loaded)
        if isinstance(loaded, dict):
            # A blocking error (a file that does not parse): mypy's answer; the next build loads.
            report.update(warm=False, reason="a blocking error stopped the first build; the next one loads the cache")
            return loaded, report
        changed, second = loaded
        manager = self.server.fine_grained_manager
        with_errors = [state for state in manager.graph.values() if state.error_lines and state.path]
        if not changed and "out" in second:
            response = dict(second)
            response.update(self.cached_errors_output(manager, with_errors, command, data))
            self.pending_fixup = {state.path for state in with_errors}
        else:
            for state in with_errors:
                self.server.fswatcher.set_file_data(state.path, FileData(-1.0, -1, ""))
            response = self.server.run_command(command, data)
        report["pending"] = bool(self.pending_fixup)
        report["seconds"] = round(time.monotonic() - started, 3)
        report["reason"] = "nothing changed since it was written" if not changed else "files changed since it was written were checked"
        return response, report

    def load_cache(
        self, command: str, data: dict[str, Any], report: dict[str, Any]
    ) -> tuple[bool, dict[str, Any]] | dict[str, Any] | str:
        """Loads the cache through mypy's own first build, then hashes every file of it. If any
        differs from what the slot was built from, a second build sees every file hashed (mypy's
        loader trusts size and mtime). Returns whether anything changed and the last answer;
        mypy's answer when a blocking error stopped the build; or why the cache cannot be used."""
        from mypy.fswatcher import FileData

        try:
            first = self.server.run_command(command, data)
        except Exception as e:
            first = e
        # Nothing the load produced is used before the slot's files are known to be the ones written.
        problem = self.slot_check.problem() if self.slot_check is not None else None
        self.slot_check = None
        if problem is not None:
            return problem
        if isinstance(first, Exception):
            return f"mypy's cache loader failed ({type(first).__name__}: {first})"
        manager = self.server.fine_grained_manager
        if manager is None:
            # mypy's own answer without a build: a blocking error, a restart, bad sources.
            return first if any(k in first for k in ("status", "restart", "error")) else "the cached build could not be loaded"
        loaded = len(manager.graph)
        expected = int(self.manifest.get("modules") or 0)
        report["modules"] = loaded
        if self.slot is not None and loaded * 2 < expected:
            return f"only {loaded} of its {expected} modules loaded"
        if self.nothing_changed(manager):
            # Every file of the build has the content the slot was built from: no edit can hide
            # behind a matching size and mtime, so mypy's first answer needs no second build.
            return False, first
        watcher = self.server.fswatcher
        for path, (_, size, digest) in watcher.dump_file_data().items():
            watcher.set_file_data(path, FileData(-1.0, size, digest))
        return True, self.server.run_command(command, data)

    def nothing_changed(self, manager: Any) -> bool:
        """Positive evidence that the build is the one the cache holds: the same files, each with
        the content it had when the cache was written (our slots record it; a cache of the
        user's own does not, and is never taken as unchanged)."""
        import dmypy_engine_cache as slots

        if self.shadows:
            return False  # an editor buffer stands in for a file: its cached errors are not the buffer's
        return slots.inputs_unchanged(manager.graph, self.manifest)

    def cached_errors_output(self, manager: Any, states: list[Any], command: str, data: dict[str, Any]) -> dict[str, Any]:
        """The answer a build that changed nothing gives: every cached error, as mypy prints them."""
        errors = manager.manager.errors
        flushed = set(errors.flushed_files)
        messages: list[str] = []
        for state in sorted(states, key=lambda s: s.xpath):
            messages += errors.format_messages(
                errors.simplify_path(state.xpath), state.error_lines, formatter=manager.manager.error_formatter
            )
        errors.flushed_files = flushed
        # As the end of mypy's `initialize_fine_grained` (a first build's answer): notes alone are
        # a success; the summary counts the request's own sources.
        from mypy.util import count_stats

        _, notes, _ = count_stats(messages)
        status = 1 if messages and notes < len(messages) else 0
        is_tty, width = bool(data.get("is_tty", False)), int(data.get("terminal_width") or 80)
        messages = self.server.pretty_messages(messages, self.source_count(command, data), is_tty, width)
        return {"out": "".join(s + "\n" for s in messages), "err": "", "status": status}

    def source_count(self, command: str, data: dict[str, Any]) -> int:
        """How many sources the request has, as its `check`/`run` counts them for the summary.
        The slot's build counted them for the same targets; nothing changed since (the build has
        the same files), so neither did they. Other targets are crawled again."""
        import dmypy_engine_cache as slots

        built = self.manifest.get("build")
        counted = self.manifest.get("build_sources")
        if isinstance(built, dict) and isinstance(counted, int) and built.get("command") == command:
            targets = "args" if command == "run" else "files"
            if isinstance(built.get("data"), dict) and built["data"].get(targets) == data.get(targets):
                return counted
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = io.StringIO(), io.StringIO()
        try:
            sources, _ = slots.build_sources(self.server.options, command, data, self.flags)
        finally:
            sys.stdout, sys.stderr = saved
        return len(sources)

    def apply_pending_fixup(self, command: str) -> None:
        """Modules whose errors came from the cache are checked for real by this build."""
        from mypy.fswatcher import FileData

        if not self.pending_fixup or command not in ("check", "run", "recheck"):
            return
        for path in self.pending_fixup:
            self.server.fswatcher.set_file_data(path, FileData(-1.0, -1, ""))
        self.pending_fixup = set()

    def cold_build(self, command: str, data: dict[str, Any], reason: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The cache could not be used: it is discarded, and a fresh Server builds from scratch."""
        import dmypy_engine_cache as slots
        from mypy.dmypy_server import process_start_options

        if self.slot is not None:
            slots.discard(self.slot, reason)
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = io.StringIO(), io.StringIO()
        try:
            options = process_start_options(self.flags, self.allow_sources)
        finally:
            sys.stdout, sys.stderr = saved
        sys.stdout, sys.stderr = TerminalLike(self.stdout_tty), TerminalLike(self.stderr_tty)
        try:
            self.server = self.new_server(options)
        finally:
            sys.stdout, sys.stderr = saved
        self.slot, self.manifest, self.pending_fixup = None, {}, set()
        with collector_paused_for_a_cold_build(self.server, command):
            response = self.server.run_command(command, data)
        return response, {"warm": False, "reason": reason}

    def graph_changes(self, manager: Any, touched: set[str] | None = None) -> dict[str, Any]:
        """What changed in mypy's module graph and search paths since the last reply. With
        `touched` (the fast path knows), only those modules can have changed: the rest of the
        graph (2,000 modules take ~10 ms to diff) is not looked at."""
        # Sets: mypy's walk appends to a State's dependencies on every full-path build (duplicates).
        def entry(state: Any) -> GraphEntry:
            return (state.path, frozenset(state.dependencies), frozenset(state.suppressed))

        previous = self.exported
        if touched is None:
            current: dict[str, GraphEntry] = {name: entry(state) for name, state in manager.graph.items()}
            removed = [name for name in previous if name not in current]
        else:
            current = {name: entry(manager.graph[name]) for name in touched if name in manager.graph}
            removed = []
        changes: dict[str, Any] = {}
        changed = [
            [name, item[0], sorted(item[1]), sorted(item[2])]
            for name, item in current.items()
            if previous.get(name) != item
        ]
        if touched is None:
            self.exported = current
        else:
            previous.update(current)
        if changed or removed:
            changes["graph"] = {"changed": changed, "removed": removed}
        if touched is not None:
            return changes  # the search paths change only with a walk
        paths = manager.manager.search_paths
        search_dirs = sorted(
            {
                os.path.abspath(d)
                for group in (
                    paths.python_path,
                    paths.mypy_path,
                    paths.package_path,
                    paths.typeshed_path,
                )
                for d in group
            }
        )
        if search_dirs != self.exported_search_dirs:
            self.exported_search_dirs = search_dirs
            changes["search_dirs"] = search_dirs
        return changes

    def invalidate(self, message: dict[str, Any]) -> None:
        """Make mypy hash these files again on its next update, whatever their size and mtime.

        The size and hash mypy recorded are kept and only the mtime is made impossible: mypy then
        hashes the file and reports it changed only if its content did. (Blanking the hash too
        would report every file changed; after a lost-events recrawl that is every module of the
        build, typeshed's included, and mypy's fine-grained update can crash on that.)
        """
        from mypy.fswatcher import FileData

        self.fastpath.note_invalidate(message)
        if self.server is None or getattr(self.server, "fine_grained_manager", None) is None:
            return  # no build yet: the first one reads every file
        watcher = self.server.fswatcher
        recorded = watcher.dump_file_data()
        if message.get("all"):
            targets = list(recorded)
        else:
            # A name mypy has no record of needs nothing: a new file is reported as changed
            # anyway, and its scan only looks at the names it watches.
            targets = recorded_keys(recorded, [str(p) for p in message.get("paths", [])])
        for path in targets:
            old = recorded[path]
            watcher.set_file_data(path, FileData(-1.0, old[1], old[2]))

    def overlay(self, message: dict[str, Any]) -> None:
        """Check `path` as `text` says (an editor's unsaved buffer) until it is dropped (null).

        The file on disk is never written. The buffer goes to a private file and mypy's shadow
        map gets the pair: in the options, for a BuildManager still to be built, and in the
        running one. The real file's recorded hash is blanked, so that mypy's watcher reports it
        changed and the next update reads it again, from the shadow while there is one.
        """
        from mypy.fswatcher import FileData

        path = os.path.abspath(str(message["path"]))
        text = message.get("text")
        # A change no file event reports: the fast path must not take its list of changes as complete.
        self.fastpath.note_invalidate({"paths": [path], "complete": False})
        previous = self.shadows.pop(path, None)
        if isinstance(text, str):
            if self.shadow_dir is None:
                self.shadow_dir = tempfile.mkdtemp(prefix="dmypy-buffers-")
                self.evidence.private_prefix = self.shadow_dir + os.sep
            shadow = previous or os.path.join(
                self.shadow_dir, f"{len(os.listdir(self.shadow_dir))}-{os.path.basename(path)}"
            )
            with open(shadow, "w", encoding="utf-8") as f:
                f.write(text)
            self.shadows[path] = shadow
        elif previous is not None:
            try:
                os.unlink(previous)
            except OSError:
                pass
        if self.server is None:
            return
        self.server.options.shadow_file = [[s, t] for s, t in self.shadows.items()] or None
        manager = getattr(self.server, "fine_grained_manager", None)
        if manager is None:
            return  # the first build reads the options
        manager.manager.shadow_map = dict(self.shadows)
        manager.manager.shadow_equivalence_map = {}
        watcher = self.server.fswatcher
        recorded = watcher.dump_file_data()
        for key in recorded_keys(recorded, [path]):
            old = recorded[key]
            watcher.set_file_data(key, FileData(-1.0, old[1], ""))

    def close(self) -> None:
        if self.shadow_dir is not None:
            shutil.rmtree(self.shadow_dir, ignore_errors=True)

    def refusal(self, command: str, data: dict[str, Any]) -> str | None:
        """Why mypy cannot take this request as it stands, or None.

        mypy calls `cmd_<command>(**fields)`, so a request with unknown or missing fields fails
        while binding the call; that is bad input, checked here against the method's signature,
        so that a TypeError raised inside mypy is still seen as the crash it is.
        """
        method = getattr(type(self.server), "cmd_" + command, None)
        if method is None:
            return None  # mypy answers "Unrecognized command" itself
        fields = dict(data)
        if command not in ("check", "recheck", "run"):
            fields.pop("is_tty", None)
            fields.pop("terminal_width", None)
        try:
            inspect.signature(method).bind(self.server, **fields)
        except TypeError as e:
            return f"Invalid request for command '{command}': {e}"
        if (
            command == "recheck"
            and (data.get("update") is not None or data.get("remove") is not None)
            and self.server.options.follow_imports == "normal"
        ):
            # mypy asserts here and its daemon dies; say what is wrong instead.
            return (
                "dmypy: recheck --update/--remove cannot be used with follow_imports=normal"
                " (mypy's default); run 'dmypy recheck' without them, or start the daemon"
                " with --follow-imports=skip or error"
            )
        return None

    def serve(self) -> int:
        while True:
            message = self.channel.receive()
            if message is None:
                return 0
            op = message.get("op")
            if op == "start":
                try:
                    reply = self.start(message)
                except ImportError as e:
                    # This interpreter cannot run mypy: the daemon tries the next candidate.
                    reply = {"op": "started", "ok": False, "missing_mypy": f"{type(e).__name__}: {e}"}
                self.channel.send(reply)
            elif op == "request" and self.server is not None:
                self.request(message)
            elif op == "invalidate":
                self.invalidate(message)
            elif op == "options_changed":
                self.channel.send(self.options_changed())
            elif op == "overlay":
                self.overlay(message)
            else:
                self.channel.send({"op": "error", "error": f"unexpected message {op!r}"})


@contextlib.contextmanager
def collector_paused_for_a_cold_build(server: Any, command: str) -> Iterator[None]:
    """Python's cyclic garbage collector off while a cold build runs, when this command is one.

    mypy's `build` turns the collector off while it parses and loads, and on again, with its
    generous thresholds, while it type-checks; then ~6 % of a cold build (1.3-1.6 s of 22-27 s
    on the 2,000-module bench project, 0.3-0.4 s of 6.5-8 s on 600) goes to collections that
    find next to nothing, since the build's objects live on (17,569 objects were garbage at
    the end of the 600-module build). Here it stays off for the whole build: `gc.enable` is
    made a no-op for its duration, as mypy's own calls to it go through the module (mypyc
    compiles `gc.enable()` as an attribute lookup); afterwards the build's objects are moved to
    the oldest generation (`gc.freeze()`, `gc.unfreeze()`: mypy's own trick after loading) and
    the collector is on again. Collections change no result; the cost is memory held a little
    longer (peak RSS +6 %: 743 MB against 702 MB at 2,000 modules). Only a cold build: fine-grained
    updates run with the collector on, as in mypy, so that their garbage keeps being collected."""
    cold = command in ("check", "run", "recheck") and getattr(server, "fine_grained_manager", None) is None
    if not cold or not gc.isenabled():
        yield
        return
    enable = gc.enable
    gc.disable()
    gc.enable = lambda: None
    try:
        yield
    finally:
        gc.enable = enable
        gc.freeze()
        gc.unfreeze()
        gc.enable()


def config_files(options: Any) -> list[str]:
    """Files whose change may change mypy's options: any of them appearing, changing or going."""
    from mypy.defaults import CONFIG_NAMES, SHARED_CONFIG_NAMES, USER_CONFIG_FILES

    files = [os.path.abspath(name) for name in CONFIG_NAMES + SHARED_CONFIG_NAMES]
    files += USER_CONFIG_FILES
    if options.config_file:
        files.append(os.path.abspath(os.path.expanduser(options.config_file)))
    return files


def restart_files(options: Any) -> list[str]:
    """Files whose change makes the running engine wrong whatever the options: plugins, mypy."""
    import importlib.util

    import mypy

    files = [os.path.join(os.path.dirname(os.path.abspath(mypy.__file__)), "version.py")]
    config_file = options.config_file
    config_dir = os.path.dirname(os.path.abspath(config_file)) if config_file else os.getcwd()
    for plugin in options.plugins:
        # As mypy's load_plugins_from_config: a path to a file, or a module name.
        name = str(plugin)
        if ":" in name:
            name = name.rsplit(":", 1)[0]
        if name.endswith(".py"):
            files.append(os.path.normpath(os.path.join(config_dir, os.path.expanduser(name))))
            continue
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.origin and os.path.exists(spec.origin):
            files.append(os.path.abspath(spec.origin))
    return files


def main() -> int:
    channel = Channel(REQUEST_FD, REPLY_FD)
    engine = Engine(channel)
    try:
        return engine.serve()
    finally:
        engine.close()


if __name__ == "__main__":
    sys.exit(main())

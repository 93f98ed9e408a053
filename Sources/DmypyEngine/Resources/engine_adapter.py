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
  {"op": "start", "flags": [...], "allow_sources": bool, "stdout_tty": bool, "stderr_tty": bool}
  {"op": "request", "id": int, "command": str, "data": {...}}
Replies:
  {"op": "started", "ok": bool, "out": str, "err": str, "status": int, "mypy_version": str, ...}
  {"id": int, "stdout": str} / {"id": int, "stderr": str}      (while a request runs)
  {"id": int, "final": true, "response": {...}, "crashed": bool, "modules": int, "seconds": float}
"""

from __future__ import annotations

import inspect
import io
import json
import os
import struct
import sys
import time
import traceback
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import IO, Any, Final

REQUEST_FD: Final = 3
REPLY_FD: Final = 4
HEADER: Final = struct.Struct("!L")
MAX_FRAME: Final = 64 * 1024 * 1024


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


class Engine:
    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.server: Any = None

    def start(self, message: dict[str, Any]) -> dict[str, Any]:
        """Process the daemon's mypy flags as `dmypy start` does, and build mypy's Server."""
        from mypy.dmypy_server import Server, process_start_options
        from mypy.version import __version__

        flags = [str(flag) for flag in message.get("flags", [])]
        allow_sources = bool(message.get("allow_sources", False))
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
        try:
            # Server() removes its status file if present: give it a name that never exists.
            self.server = Server(options, os.path.join(os.devnull, "dmypy-status"), timeout=None)
        finally:
            sys.stdout, sys.stderr = saved
        return {
            "op": "started",
            "ok": True,
            "out": out.getvalue(),
            "err": err.getvalue(),
            "status": 0,
            "mypy_version": __version__,
            "follow_imports": str(options.follow_imports),
            "metadata": self.server._response_metadata(),
        }

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
        try:
            refusal = self.refusal(command, data)
            if refusal is not None:
                response = {"error": refusal}
            else:
                response = self.server.run_command(command, data)
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
        self.channel.send(reply)

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
                self.channel.send(self.start(message))
            elif op == "request" and self.server is not None:
                self.request(message)
            else:
                self.channel.send({"op": "error", "error": f"unexpected message {op!r}"})


def main() -> int:
    channel = Channel(REQUEST_FD, REPLY_FD)
    return Engine(channel).serve()


if __name__ == "__main__":
    sys.exit(main())

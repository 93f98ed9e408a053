"""`dmypy watch` through a pipe and through a pseudo-terminal, with real edits and real mypy."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess

from conftest import HANG, PYTHON, dmypy_binary, environment

B = 'def f() -> str:\n    return "s"\n'
A = "from b import f\n\nx: int = f()\n"


def mypy_text(project) -> str:
    """A fresh mypy run's output (what `dmypy run` prints for the same files)."""
    return subprocess.run([PYTHON, "-m", "mypy", "--no-incremental", "--cache-dir", os.devnull, "a.py", "b.py"],
                          cwd=project, env=environment(), capture_output=True, text=True, timeout=HANG).stdout


class Reader:
    """Reads a child's output as it comes, until a condition holds (or the test hangs)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.text = ""

    def until(self, condition) -> str:
        while not condition(self.text):
            ready, _, _ = select.select([self.fd], [], [], HANG)
            assert ready, f"nothing more after {self.text!r}"
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:   # a pty whose other side is closed
                chunk = b""
            assert chunk, f"ended after {self.text!r}"
            self.text += chunk.decode()
        return self.text


def results(text: str) -> list[str]:
    """Each result's lines (a blank line separates them on a pipe)."""
    return [block if block.endswith("\n") else block + "\n" for block in text.split("\n\n")]


def finished(text: str, count: int) -> bool:
    """`count` complete results: each ends with mypy's summary line."""
    return text.endswith("\n") and text.count(" source files") >= count


def test_watch_on_a_pipe_prints_mypys_lines_for_each_result(projects):
    project = projects("p", {"a.py": A, "b.py": B})
    watch = subprocess.Popen([dmypy_binary(), "watch", "--", "a.py", "b.py"], cwd=project, env=environment(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out = Reader(watch.stdout.fileno())
        out.until(lambda t: finished(t, 1))
        assert out.text == "Daemon started\n" + mypy_text(project)
        (project / "b.py").write_text("def f() -> int:\n    return 1\n")
        out.until(lambda t: finished(t, 2))
        assert results(out.text)[1] == mypy_text(project)
        (project / "a.py").write_text(A + "y: str = x\n")
        out.until(lambda t: finished(t, 3))
        assert results(out.text)[2] == mypy_text(project)
    finally:
        watch.send_signal(signal.SIGINT)
        assert watch.wait(HANG) == 0
    # Ctrl-C leaves the daemon running, with the state the watch saw.
    status = subprocess.run([dmypy_binary(), "check", "a.py", "b.py"], cwd=project, env=environment(),
                            capture_output=True, text=True, timeout=HANG)
    assert status.stdout == mypy_text(project)


def test_watch_json_prints_one_object_per_result(projects):
    project = projects("p", {"a.py": A, "b.py": B})
    watch = subprocess.Popen([dmypy_binary(), "watch", "--json", "--", "a.py", "b.py"], cwd=project,
                             env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out = Reader(watch.stdout.fileno())
        out.until(lambda t: t.count("\n") >= 1)
        first = json.loads(out.text.splitlines()[0])
        assert first["changed"] == [] and first["status"] == 1
        assert [m["code"] for m in first["messages"]] == ["assignment"]
        (project / "b.py").write_text("def f() -> int:\n    return 1\n")
        out.until(lambda t: t.count("\n") >= 2)
        second = json.loads(out.text.splitlines()[1])
        assert second["changed"] == [str(project / "b.py")]
        assert (second["status"], second["messages"], second["new"], second["fixed"]) == (0, [], 0, 1)
    finally:
        watch.send_signal(signal.SIGINT)
        assert watch.wait(HANG) == 0


def test_watch_on_a_terminal_shows_a_header_for_each_change(projects):
    project = projects("p", {"a.py": A, "b.py": B})
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(project)
        os.execve(dmypy_binary(), [dmypy_binary(), "watch", "--", "a.py", "b.py"], environment())
    try:
        out = Reader(fd)
        out.until(lambda t: "Found 1 error" in t)
        (project / "b.py").write_text("def f() -> int:\n    return 1\n")
        out.until(lambda t: "Success: " in t)
        header = next(line for line in out.text.splitlines() if "──" in line)
        assert "b.py changed" in header and "+0 new, −1 fixed" in header
        (project / "b.py").write_text(B)
        out.until(lambda t: t.count("Found 1 error") == 2)
        assert "+1 new, −0 fixed" in out.text.split("Success: ")[1]
    finally:
        os.kill(pid, signal.SIGINT)
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0

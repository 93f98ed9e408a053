"""What our client adds on a terminal and never on a pipe: the one line saying a start could not
use the remote cache (editors run `dmypy run` on a pipe and treat stderr text as an error)."""

from __future__ import annotations

import os
import pty
import subprocess

from conftest import HANG, dmypy_binary, environment
from test_watch import A, B, Reader

NOTE = "dmypy: remote cache not used (the project is not in a git repository); building from scratch"


def remote_environment(tmp_path) -> dict[str, str]:
    store = tmp_path / "store"
    store.mkdir()
    env = environment()
    env.update(DMYPY_CACHE="on", XDG_CACHE_HOME=str(tmp_path / "xdg"), DMYPY_REMOTE_CACHE=f"file://{store}")
    return env


def test_on_a_terminal_a_cold_start_says_why_in_one_line(projects, tmp_path):
    project = projects("p", {"a.py": A, "b.py": B})
    env = remote_environment(tmp_path)
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(project)
        os.execve(dmypy_binary(), [dmypy_binary(), "run", "--", "a.py", "b.py"], env)
    try:
        out = Reader(fd).until(lambda t: "Found 1 error" in t)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 1
    assert out.replace("\r\n", "\n").count(NOTE + "\n") == 1, out


def test_on_a_pipe_nothing_is_added(projects, tmp_path):
    project = projects("q", {"a.py": A, "b.py": B})
    done = subprocess.run([dmypy_binary(), "run", "--", "a.py", "b.py"], cwd=project, env=remote_environment(tmp_path),
                          capture_output=True, text=True, timeout=HANG)
    assert done.returncode == 1
    assert done.stderr == ""
    assert "remote cache" not in done.stdout

#!/usr/bin/env python3
"""Side-by-side benchmark of two dmypy implementations on one generated project.

"mypy" is mypy's own dmypy client/daemon, "ours" is the Swift dmypy.  Both get
the same command lines; every scenario runs both, interleaved repetition by
repetition, each implementation in its own copy of the generated project.  The
report gives medians, minima, the ratio of medians (mypy/ours), whether the two
implementations printed identical stdout and exit codes at every step, whether
edits were reflected in the output, and the daemons' CPU use while idle.

See bench/README.md.  Python 3.11, standard library only.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import hashlib
import json
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import IO, Any

import genproject

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = (
    "cold",
    "warm-restart",
    "restart-after-edits",
    "remote-clone",
    "nochange",
    "status",
    "edit-leaf",
    "edit-core",
    "edit-wait",
    "rapid-saves",
    "samesize",
    "idle",
)
SCENARIO_TITLES = {
    "cold": "cold `run` (no daemon, no cache)",
    "warm-restart": "warm restart: `stop`, `run`",
    "restart-after-edits": "restart after edits: `stop`, edit leaf + core, `run`",
    "remote-clone": "fresh clone one commit ahead of CI's cache: first `run`",
    "nochange": "no-change `check`",
    "status": "`status`",
    "edit-leaf": "edit leaf, `check` at once",
    "edit-core": "edit core, `check` at once",
    "edit-wait": "edit, wait, `check`",
    "rapid-saves": "rapid saves of a leaf, `check`",
    "samesize": "same-size same-second edit, `check`",
    "startup": "(setup) daemon start in warm scenarios",
}
DEFAULT_FLAGS = "--strict --follow-imports=normal"
TARGET = "pkg"
STATUS_FILE = ".dmypy.json"
OUTPUT_LIMIT = 20000  # characters of stdout/stderr kept per step in the JSON

# Names under which steps are recorded.  compare() pairs MYPY with OURS step by step; the
# other two only appear in the restart scenarios: FGC is mypy's dmypy started from the cache of
# a `mypy --cache-fine-grained` batch run, FRESH a plain non-daemon mypy run (the reference).
MYPY = "mypy"
OURS = "ours"
FGC = "mypy-fgc"
FRESH = "fresh mypy"
RESTART_SCENARIOS = ("warm-restart", "restart-after-edits", "remote-clone")
# Our engine's reason for a cold start with a good slot (engine_cache.mostly_stale).
COLD_BY_CHOICE = "most of the build changed while the daemon was down"
# Lines a dmypy client prints itself before mypy's output (mypy/dmypy/client.py).
CLIENT_LINES = ("Daemon started", "Daemon stopped", "Restarting: ")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- processes


@dataclasses.dataclass(frozen=True)
class ProcStat:
    pid: int
    ppid: int
    state: str
    ticks: int  # utime + stime, in clock ticks
    start: int  # starttime, identifies the process together with the pid


def read_stat(pid: int) -> ProcStat | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return None
    # comm (field 2) may contain spaces and parentheses: split after the last ')'.
    rest = data[data.rindex(")") + 2 :].split()
    # rest[0] is field 3 (state): field n is rest[n - 3].
    return ProcStat(
        pid=pid,
        ppid=int(rest[1]),
        state=rest[0],
        ticks=int(rest[11]) + int(rest[12]),
        start=int(rest[19]),
    )


def process_tree(root: int) -> list[ProcStat]:
    """The process ``root`` and all its descendants (found via the ppid fields)."""
    table: dict[int, ProcStat] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = read_stat(int(entry))
            if st is not None:
                table[st.pid] = st
    if root not in table:
        return []
    children: dict[int, list[int]] = {}
    for st in table.values():
        children.setdefault(st.ppid, []).append(st.pid)
    out: list[ProcStat] = []
    todo = [root]
    while todo:
        pid = todo.pop()
        if pid in table:
            out.append(table[pid])
            todo.extend(children.get(pid, []))
    return out


def processes_in(directory: Path) -> list[ProcStat]:
    """Processes whose working directory is ``directory`` (a project copy only we use)."""
    target = str(directory)
    found: list[ProcStat] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except OSError:
            continue
        if cwd == target or cwd.startswith(target + os.sep):
            st = read_stat(int(entry))
            if st is not None:
                found.append(st)
    return found


def is_alive(pid: int, start: int) -> bool:
    st = read_stat(pid)
    return st is not None and st.start == start and st.state not in ("Z", "X")


def rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


# --------------------------------------------------------------------------- model


@dataclasses.dataclass(frozen=True)
class Impl:
    name: str
    dmypy: Path
    env: dict[str, str]


@dataclasses.dataclass
class Step:
    label: str
    rep: int
    timed: bool
    ms: float
    rc: int
    stdout: str
    stderr: str
    # For edit steps: did the output reflect the file content?  None otherwise.
    reflects_edit: bool | None = None
    note: str = ""

    def failed(self) -> bool:
        return self.rc < 0 or self.rc > 1

    def to_json(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["stdout"] = self.stdout[:OUTPUT_LIMIT]
        d["stderr"] = self.stderr[:OUTPUT_LIMIT]
        return d


@dataclasses.dataclass
class IdleResult:
    seconds: float
    cpu_seconds: float
    processes: int
    rss_mib: float


@dataclasses.dataclass
class CacheStats:
    """What our daemon's `status -v` said about its cache slot during one scenario."""

    # Summed over the daemon lifetimes of the scenario (read just before each `stop`).
    writer_cpu_seconds: float = 0.0
    writes: int = 0
    lifetimes: int = 0
    # Seconds spent waiting for a background writer to finish (outside any timed region).
    writer_waits: list[float] = dataclasses.field(default_factory=list)
    # One per measured restart of ours: was the slot loaded, why (not), load time.
    warm_starts: list[bool | None] = dataclasses.field(default_factory=list)
    reasons: list[str] = dataclasses.field(default_factory=list)
    load_seconds: list[float] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    problems: list[str] = dataclasses.field(default_factory=list)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


@dataclasses.dataclass
class FastPathStats:
    """Our engine's fast path (issue 16) during one scenario, from `status -v` just before each
    `stop`: build requests (`check`/`run`/`recheck`, timed or not) and how many took it."""

    checks: int = 0
    taken: int = 0
    last: str = ""


@dataclasses.dataclass
class FreshCheck:
    """A warm answer compared with a fresh non-daemon mypy run of the same files."""

    scenario: str
    who: str  # OURS or FGC
    label: str
    rep: int
    same: bool
    detail: str


def run_timed(
    cmd: Sequence[str], *, cwd: Path, env: dict[str, str], stdout: IO[bytes], stderr: IO[bytes], timeout: float
) -> tuple[int, float, bool]:
    """Runs cmd to its end: (exit status, wall-clock ms, whether the timeout killed it).

    Not subprocess.run(timeout=...): that waits by polling waitpid with a back-off growing to
    50 ms, so every time it measures is rounded up to the next of 0.5, 1.5, 3.5, 7.5, ... 63.5,
    113.5, 163.5 ms; a 4 ms command reads as 7.5 ms. Here the wait blocks in waitpid and a timer
    thread enforces the timeout, so the time measured is the command's own.
    """
    proc: subprocess.Popen[bytes] | None = None
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        if proc is not None:
            proc.kill()

    timer = threading.Timer(timeout, expire)
    timer.daemon = True
    timer.start()
    try:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr)
        if expired.is_set():  # the timer fired before `proc` was set
            proc.kill()
        rc = proc.wait()  # blocking waitpid: no polling
        ms = (time.perf_counter() - t0) * 1000.0
    finally:
        timer.cancel()
    return rc, ms, expired.is_set()


class Daemon:
    """One implementation working on one copy of the project."""

    def __init__(self, impl: Impl, root: Path, flags: list[str], timeout: float, name: str | None = None,
                 run_flags: Sequence[str] = ()) -> None:
        self.impl = impl
        self.name = name or impl.name  # what its steps are recorded under
        self.env = dict(impl.env)  # the bench sets XDG_CACHE_HOME per copy (our cache slots)
        self.root = root
        self.flags = flags
        self.run_flags = list(run_flags)  # before self.flags in `run --`
        self.timeout = timeout
        self.status_file = root / STATUS_FILE
        self.known: set[tuple[int, int]] = set()  # (pid, starttime) of daemon processes seen

    # -- client commands

    def client(self, args: Sequence[str], label: str, rep: int, timed: bool) -> Step:
        cmd = [str(self.impl.dmypy), "--status-file", str(self.status_file), *args]
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            try:
                rc, ms, expired = run_timed(cmd, cwd=self.root, env=self.env, stdout=out, stderr=err,
                                            timeout=self.timeout)
                note = f"timed out after {self.timeout:.0f} s" if expired else ""
                if expired:
                    rc = -1
            except OSError as e:
                rc, ms, note = -2, 0.0, f"could not run: {e}"
            out.seek(0)
            err.seek(0)
            stdout = out.read().decode("utf-8", "replace")
            stderr = err.read().decode("utf-8", "replace")
        self.remember()
        return Step(label, rep, timed, ms, rc, stdout, stderr, note=note)

    def run(self, label: str, rep: int, timed: bool) -> Step:
        return self.client(["run", "--", *self.run_flags, *self.flags, TARGET], label, rep, timed)

    def check(self, label: str, rep: int, timed: bool) -> Step:
        return self.client(["check", TARGET], label, rep, timed)

    def status(self, label: str, rep: int, timed: bool) -> Step:
        return self.client(["status"], label, rep, timed)

    def stop(self, label: str, rep: int) -> Step:
        self.remember()
        step = self.client(["stop"], label, rep, False)
        if not self.wait_gone(30.0):
            step.note = (step.note + "; " if step.note else "") + "daemon still alive 30 s after stop"
            self.shutdown()
        return step

    # -- process bookkeeping

    def daemon_pid(self) -> int | None:
        try:
            data: object = json.loads(self.status_file.read_text())
        except (OSError, ValueError):
            return None
        if isinstance(data, dict):
            pid = data.get("pid")
            if isinstance(pid, int) and pid > 0:
                return pid
        return None

    def remember(self) -> None:
        pid = self.daemon_pid()
        if pid is not None:
            self.known.update((st.pid, st.start) for st in process_tree(pid))

    def alive(self) -> list[tuple[int, int]]:
        return [p for p in self.known if is_alive(*p)]

    def wait_gone(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while self.alive():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def shutdown(self) -> None:
        """Best effort: stop, then kill, then SIGKILL every process of ours still alive."""
        self.remember()
        # A daemon interrupted while starting may not have written its status file yet;
        # it still runs in our private copy of the project, so find it by its cwd.
        self.known.update((st.pid, st.start) for st in processes_in(self.root))
        for pid, start in list(self.known):
            if is_alive(pid, start):
                self.known.update((st.pid, st.start) for st in process_tree(pid))
        for sub in ("stop", "kill"):
            if not self.status_file.exists() and not self.alive():
                break
            try:
                subprocess.run(
                    [str(self.impl.dmypy), "--status-file", str(self.status_file), sub],
                    cwd=self.root,
                    env=self.env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    timeout=60,
                    check=False,
                )
            except (subprocess.TimeoutExpired, OSError):
                pass
            if self.wait_gone(10.0):
                break
        for pid, start in self.alive():
            try:
                os.kill(pid, signal.SIGKILL)
                log(f"  killed leftover {self.name} daemon process {pid}")
            except OSError:
                pass
        self.wait_gone(5.0)

    def idle_snapshot(self) -> dict[tuple[int, int], int]:
        pid = self.daemon_pid()
        if pid is None:
            return {}
        return {(st.pid, st.start): st.ticks for st in process_tree(pid)}


def parse_stats(stdout: str) -> dict[str, str]:
    """`dmypy status -v` prints `show_stats`: one `key<padding>: value` line per field."""
    fields: dict[str, str] = {}
    for line in stdout.splitlines():
        key, sep, value = line.partition(":")
        key = key.strip()
        if sep and key and " " not in key:
            fields[key] = value.strip()
    return fields


def stat_float(fields: dict[str, str], key: str) -> float | None:
    try:
        return float(fields[key])
    except (KeyError, ValueError):
        return None


def stat_int(fields: dict[str, str], key: str) -> int | None:
    try:
        return int(fields[key])
    except (KeyError, ValueError):
        return None


def mypy_lines(stdout: str) -> tuple[list[str], list[str]]:
    """(client lines, mypy's output lines) of a `dmypy run`/`check`: the client's own lines
    ("Daemon started", "Restarting: ...") come first and are not mypy's."""
    lines = stdout.splitlines()
    k = 0
    while k < len(lines) and lines[k].startswith(CLIENT_LINES):
        k += 1
    return lines[:k], lines[k:]


def tree_digest(root: Path) -> str:
    """The content of every file of the project package: equal digests, equal mypy input."""
    h = hashlib.sha256()
    base = root / TARGET
    for path in sorted(base.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(root)).encode() + b"\0")
            h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


# --------------------------------------------------------------------------- editing


def write_leaf(root: Path, leaf_rel: str, counter: int, bad: bool) -> None:
    path = root / leaf_rel
    text = path.read_text()
    path.write_text(genproject.replace_region(text, "LEAF", genproject.leaf_region(counter, bad)))


def write_core(root: Path, core_rel: str, variant: int) -> None:
    path = root / core_rel
    text = path.read_text()
    path.write_text(genproject.replace_region(text, "CORE", genproject.core_region(variant)))


def reports(stdout: str, rel: str, message: str) -> bool:
    """Does the output contain an error in file ``rel`` whose text contains ``message``?"""
    return any(
        line.startswith(rel + ":") and message in line for line in stdout.splitlines()
    )


def sleep_to_second_boundary() -> None:
    time.sleep(1.0 - (time.time() % 1.0) + 0.02)


# --------------------------------------------------------------------------- benchmark


class Bench:
    def __init__(self, args: argparse.Namespace, impls: list[Impl], workdir: Path) -> None:
        self.args = args
        self.impls = impls
        self.workdir = workdir
        self.flags: list[str] = shlex.split(args.flags)
        self.repeat: int = args.repeat
        self.project: genproject.Project | None = None
        self.steps: dict[str, dict[str, list[Step]]] = {}
        self.idle: dict[str, IdleResult] = {}
        self.live: list[Daemon] = []
        self.cache: dict[str, CacheStats] = {}  # scenario -> what our cache slot did
        self.fast_path: dict[str, FastPathStats] = {}  # scenario -> what our fast path did
        self.fresh: dict[str, Step] = {}  # tree_digest -> fresh mypy run of that content
        self.fresh_checks: list[FreshCheck] = []
        self.batch_ms: dict[str, float] = {}  # scenario -> `mypy --cache-fine-grained` batch
        self.cache_homes = 0

    @property
    def proj(self) -> genproject.Project:
        assert self.project is not None
        return self.project

    def record(self, scenario: str, daemon: Daemon | str, step: Step) -> Step:
        name = daemon if isinstance(daemon, str) else daemon.name
        self.steps.setdefault(scenario, {}).setdefault(name, []).append(step)
        extra = ""
        if step.reflects_edit is not None:
            extra += " edit-seen" if step.reflects_edit else " EDIT-MISSED"
        if step.note:
            extra += f" ({step.note})"
        if step.failed():
            extra += f" FAILED: {step.stderr.strip()[-300:]}"
        log(
            f"  [{scenario}] {step.label} #{step.rep} {name}: "
            f"{step.ms:9.1f} ms rc={step.rc}{extra}"
        )
        return step

    def order(self, rep: int) -> list[Impl]:
        """Alternate which implementation goes first, to cancel out order effects."""
        return self.impls if rep % 2 == 0 else list(reversed(self.impls))

    def generate(self) -> None:
        master = self.workdir / "master"
        t0 = time.perf_counter()
        self.project = genproject.generate(master, self.args.modules, self.args.seed, self.args.error_modules)
        log(
            f"generated {self.args.modules} modules ({self.args.error_modules} with an error) in {time.perf_counter() - t0:.1f} s "
            f"under {master} (core {self.proj.core_rel}, probe leaf {self.proj.leaf_rel})"
        )

    def copy_for(self, scenario: str, impl: Impl, name: str | None = None, run_flags: Sequence[str] = ()) -> Daemon:
        root = self.workdir / scenario / (name or impl.name)
        shutil.copytree(self.proj.root, root)
        d = Daemon(impl, root, self.flags, self.args.timeout, name=name, run_flags=run_flags)
        self.fresh_cache_home(d)
        self.live.append(d)
        return d

    # -- our cache slot

    def fresh_cache_home(self, d: Daemon) -> None:
        """A new, empty XDG_CACHE_HOME for ours: no cache slot from any earlier run (and none
        left in the user's ~/.cache).  The previous one of this daemon is removed."""
        if d.impl.name != OURS:
            return
        old = d.env.get("XDG_CACHE_HOME", "")
        if old.startswith(str(self.workdir / "xdg") + os.sep):
            shutil.rmtree(old, ignore_errors=True)
        self.cache_homes += 1
        home = self.workdir / "xdg" / f"{self.cache_homes:03d}-{d.root.parent.name}-{d.name}"
        home.mkdir(parents=True)
        d.env["XDG_CACHE_HOME"] = str(home)

    def cache_stats(self, scenario: str) -> CacheStats:
        return self.cache.setdefault(scenario, CacheStats())

    def cache_status(self, d: Daemon) -> dict[str, str]:
        """Our daemon's `status -v` fields (not recorded as a step: mypy has no equivalent)."""
        return parse_stats(d.client(["status", "-v"], "status -v", -1, False).stdout)

    def settle(self, scenario: str, d: Daemon, *, final: bool, require_write: bool = False) -> dict[str, str]:
        """Waits (untimed) until our daemon's background cache writer has finished, so that it
        never competes with a measurement, and returns the `status -v` fields.  With
        ``require_write``, also waits until a write has been reported (cache_writes >= 1) or has
        failed.  ``final``: the daemon is stopped next, so its counters go into the scenario's
        totals (cache_writer_cpu_seconds and cache_writes count per daemon lifetime).

        mypy's dmypy has no writer: nothing to wait for."""
        if d.impl.name != OURS:
            return {}
        fields = self.wait_for_writer(scenario, d, require_write)
        if final:
            self.count_lifetime(scenario, fields)
        if final and "fast_path_checks" in fields:
            fast = self.fast_path.setdefault(scenario, FastPathStats())
            fast.checks += stat_int(fields, "fast_path_checks") or 0
            fast.taken += stat_int(fields, "fast_path_taken") or 0
            fast.last = fields.get("fast_path_last", "")
        return fields

    def wait_for_writer(self, scenario: str, d: Daemon, require_write: bool) -> dict[str, str]:
        stats = self.cache_stats(scenario)
        t0 = time.monotonic()
        deadline = t0 + self.args.timeout
        seen_writer = False
        while True:
            fields = self.cache_status(d)
            if "cache_slot" not in fields:
                stats.note(
                    f"cache: {fields['cache']}" if "cache" in fields
                    else "our `status -v` shows no cache_* fields (a binary from before issue 12?)"
                )
                break
            writer = fields.get("cache_writer_pid", "None")
            if writer != "None":
                seen_writer = True
            elif not require_write or (stat_int(fields, "cache_writes") or 0) >= 1:
                break
            elif fields.get("cache_last_write", "None").startswith("not written"):
                break
            elif not seen_writer and time.monotonic() - t0 > 10.0:
                break  # no writer was started at all: reported below
            if time.monotonic() > deadline:
                stats.problems.append(f"ours: the cache writer (pid {writer}) still ran after {self.args.timeout:.0f} s")
                break
            time.sleep(0.2)
        waited = time.monotonic() - t0
        if seen_writer:
            stats.writer_waits.append(waited)
            log(f"  [{scenario}] waited {waited:.1f} s for our cache writer to finish")
        if require_write and "cache_slot" in fields and (stat_int(fields, "cache_writes") or 0) < 1:
            stats.problems.append(
                f"ours wrote no cache slot after the cold build (cache_last_write: {fields.get('cache_last_write')})"
            )
        return fields

    def count_lifetime(self, scenario: str, fields: dict[str, str]) -> None:
        """The cache counters of one daemon lifetime (they count per lifetime) into the totals."""
        stats = self.cache_stats(scenario)
        if "cache_slot" in fields:
            stats.lifetimes += 1
            stats.writer_cpu_seconds += stat_float(fields, "cache_writer_cpu_seconds") or 0.0
            stats.writes += stat_int(fields, "cache_writes") or 0

    def stop(self, scenario: str, d: Daemon, rep: int) -> None:
        """`stop`, after our cache writer has finished (the writer outlives a `stop`)."""
        self.settle(scenario, d, final=True)
        self.record(scenario, d, d.stop("stop", rep))

    # -- fresh mypy, the reference for warm answers

    def fresh_run(self, scenario: str, root: Path) -> Step:
        """A plain mypy run (no daemon, no cache: --cache-dir=/dev/null) of the files under
        ``root``, once per distinct content.  Runs in ``root``, so the paths it prints match."""
        key = tree_digest(root)
        if key in self.fresh:
            return self.fresh[key]
        cmd = [str(self.args.python), "-m", "mypy", *self.flags, "--cache-dir", os.devnull, TARGET]
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            rc, ms, expired = run_timed(cmd, cwd=root, env=self.impls[0].env, stdout=out, stderr=err,
                                        timeout=self.args.timeout)
            out.seek(0)
            err.seek(0)
            step = Step("fresh mypy", len(self.fresh), False, ms, -1 if expired else rc,
                        out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"))
        self.fresh[key] = step
        self.record(scenario, FRESH, step)
        return step

    def check_fresh(self, scenario: str, d: Daemon, step: Step) -> None:
        """The warm answer ``step`` against a fresh mypy run of the same files: identical as sets
        of lines (the client's own "Daemon started" aside), same exit status."""
        ref = self.fresh_run(scenario, d.root)
        _, got = mypy_lines(step.stdout)
        want = ref.stdout.splitlines()
        missing = sorted(set(want) - set(got))
        extra = sorted(set(got) - set(want))
        lines = []
        if step.rc != ref.rc:
            lines.append(f"exit status: fresh mypy {ref.rc}, {d.name} {step.rc}")
        for tag, items in (("only in fresh mypy", missing), (f"only in {d.name}", extra)):
            if items:
                lines.append(f"{tag} ({len(items)} line(s)):")
                lines += ["  " + line for line in items[:15]]
                if len(items) > 15:
                    lines.append(f"  ... {len(items) - 15} more")
        same = not lines
        self.fresh_checks.append(FreshCheck(scenario, d.name, step.label, step.rep, same, "\n".join(lines)))
        if not same:
            log(f"  [{scenario}] {step.label} #{step.rep} {d.name}: DIFFERS from a fresh mypy run")

    # -- scenarios driver

    def run_scenario(self, scenario: str, index: int) -> None:
        log(f"== scenario {scenario}")
        daemons = {impl.name: self.copy_for(scenario, impl) for impl in self.impls}
        try:
            if scenario == "cold":
                self.cold(daemons)
                return
            if scenario in RESTART_SCENARIOS:
                mypy_impl = next(impl for impl in self.impls if impl.name == MYPY)
                daemons[FGC] = self.copy_for(scenario, mypy_impl, name=FGC, run_flags=["--use-fine-grained-cache"])
                if scenario == "remote-clone":
                    self.remote_clone(scenario, daemons)
                else:
                    self.restart(scenario, daemons, scenario == "restart-after-edits", index)
                return
            first = self.impls if index % 2 == 0 else list(reversed(self.impls))
            for impl in first:
                d = daemons[impl.name]
                self.record(scenario, d, d.run("start", 0, False))
                # Our cold build starts the cache writer: let it finish before anything is timed.
                self.settle(scenario, d, final=False)
                self.record(scenario, d, d.check("warm-up check", 0, False))
            body: dict[str, Callable[[str, dict[str, Daemon]], None]] = {
                "nochange": self.nochange,
                "status": self.status,
                "edit-leaf": self.edit_leaf,
                "edit-core": self.edit_core,
                "edit-wait": self.edit_wait,
                "rapid-saves": self.rapid_saves,
                "samesize": self.samesize,
                "idle": self.measure_idle,
            }
            body[scenario](scenario, daemons)
            for impl in self.impls:
                self.stop(scenario, daemons[impl.name], 0)
        finally:
            for d in daemons.values():
                d.shutdown()
                self.live.remove(d)
                if not self.args.keep:
                    shutil.rmtree(d.root, ignore_errors=True)
                    xdg = d.env.get("XDG_CACHE_HOME", "")
                    if xdg.startswith(str(self.workdir / "xdg") + os.sep):
                        shutil.rmtree(xdg, ignore_errors=True)

    # -- scenarios

    def cold(self, daemons: dict[str, Daemon]) -> None:
        for rep in range(self.repeat):
            for impl in self.order(rep):
                d = daemons[impl.name]
                shutil.rmtree(d.root / ".mypy_cache", ignore_errors=True)
                if rep > 0:
                    self.fresh_cache_home(d)  # ours: no slot from the previous rep
                self.record("cold", d, d.run("cold run", rep, True))
                self.stop("cold", d, rep)

    def restart(self, scenario: str, daemons: dict[str, Daemon], edits: bool, index: int) -> None:
        """Ours and mypy's cold `run` restart on the same command line; FGC is mypy's documented
        warm path, `dmypy run -- --use-fine-grained-cache` on a `mypy --cache-fine-grained` cache
        written once by a batch run (default cache dir, `.mypy_cache` in its copy).

        Each daemon is stopped right after its turn, so it is down while the others are measured
        (and our daemon's idle-time cache refresh never fires in between): every rep is
        `run` (timed) on a stopped daemon, an untimed `check`, then `stop`."""
        ours, mypy, fgc = daemons[OURS], daemons[MYPY], daemons[FGC]
        stats = self.cache_stats(scenario)
        # Setup: two cold starts (compared pair by pair like every step), our slot written;
        # mypy's batch build writes the fine-grained cache its daemon will start from.
        for d in (mypy, ours) if index % 2 == 0 else (ours, mypy):
            self.record(scenario, d, d.run("start", 0, False))
            self.settle(scenario, d, final=False, require_write=True)
            self.stop(scenario, d, 0)
        self.batch_ms[scenario] = self.run_batch(scenario, fgc).ms

        for rep in range(self.repeat):
            for d in [mypy, fgc, ours] if rep % 2 == 0 else [ours, fgc, mypy]:
                if edits:
                    # While the daemon is down: a new error in the probe leaf, and
                    # default_weight() -> float in the core, so every user of Registry.weight
                    # changes type and the probe leaf's `bench_core_probe: int =
                    # base.default_weight()` becomes an error.  The edits are relative to the
                    # caches (both written from the generated content); the leaf also differs
                    # from the previous rep's.
                    write_leaf(d.root, self.proj.leaf_rel, rep + 1, True)
                    write_core(d.root, self.proj.core_rel, 1)
                step = d.run("run after restart", rep, True)
                if edits:
                    step.reflects_edit = self.sees_edits(step.stdout)
                if d is ours:
                    fields = self.cache_status(d)
                    warm = {"True": True, "False": False}.get(fields.get("cache_warm_start", ""))
                    reason = fields.get("cache_reason", "")
                    load = stat_float(fields, "cache_load_seconds")
                    stats.warm_starts.append(warm)
                    stats.reasons.append(reason)
                    if load is not None:
                        stats.load_seconds.append(load)
                    step.note = f"cache_warm_start {warm}, cache_load_seconds {load}, {reason}"
                self.record(scenario, d, step)
                # The next `check` waits for whatever the restart left to do (ours re-checks
                # the errors it took from the cache, in the background, at once).
                follow = d.check("check after restart", rep, False)
                if edits:
                    follow.reflects_edit = self.sees_edits(follow.stdout)
                self.record(scenario, d, follow)
                if d is not mypy:
                    self.check_fresh(scenario, d, step)
                    self.check_fresh(scenario, d, follow)
                self.stop(scenario, d, rep)

    def remote_clone(self, scenario: str, daemons: dict[str, Daemon]) -> None:
        """A team's remote cache (issue 13). CI, at commit 1 of a git repository of the project:
        ours `dmypy cache push` into a file:// store; mypy's documented workflow, a `mypy
        --cache-fine-grained` batch run whose `.mypy_cache` is archived (tar.gz) into the store.
        Commit 2 edits the probe leaf. Each rep, each implementation gets a fresh clone of commit 2
        (a new path, new mtimes) and its first `run` is timed: ours with DMYPY_REMOTE_CACHE (it
        looks up, downloads, verifies, installs and loads by itself, from an empty
        XDG_CACHE_HOME); mypy's workflow copies the archive from the store and unpacks it (timed,
        part of its step), then `run -- --use-fine-grained-cache`; mypy's cold `run` has no cache."""
        ours, mypy, fgc = daemons[OURS], daemons[MYPY], daemons[FGC]
        base = self.workdir / scenario / "git"
        origin, ci, store = base / "origin.git", daemons[MYPY].root, base / "store"
        store.mkdir(parents=True)
        git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "-c", "init.defaultBranch=main"]

        def sh(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
            done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=self.args.timeout)
            if done.returncode != 0:
                raise RuntimeError(f"{shlex.join(cmd)} failed ({done.returncode}): {done.stdout}{done.stderr}")
            return done

        sh([*git, "init", "-q", "--bare", "-b", "main", str(origin)], base)
        sh([*git, "init", "-q", "-b", "main"], ci)
        (ci / ".gitignore").write_text(".mypy_cache/\n.dmypy.json\n")
        sh([*git, "add", "-A"], ci)
        sh([*git, "commit", "-q", "-m", "generated"], ci)
        sh([*git, "remote", "add", "origin", str(origin)], ci)
        sh([*git, "push", "-q", "origin", "main"], ci)
        remote_env = {"DMYPY_REMOTE_CACHE": f"file://{store}"}
        t0 = time.perf_counter()
        pushed = sh([str(ours.impl.dmypy), "cache", "push", "--", *self.flags, TARGET], ci, {**ours.env, **remote_env})
        push_ms = (time.perf_counter() - t0) * 1000
        shutil.rmtree(ci / ".mypy_cache", ignore_errors=True)
        self.batch_ms[scenario] = self.run_batch(scenario, Daemon(mypy.impl, ci, self.flags, self.args.timeout, name=FGC)).ms
        archive = store / "mypy-cache.tar.gz"
        sh(["tar", "-czf", str(archive), ".mypy_cache"], ci)
        self.cache_stats(scenario).note(
            f"CI, once: ours `dmypy cache push` took {push_ms:.0f} ms ({pushed.stdout.strip()}); mypy's batch run "
            f"{self.batch_ms[scenario]:.0f} ms, its `.mypy_cache` archive {archive.stat().st_size / 2**20:.1f} MiB"
        )
        write_leaf(ci, self.proj.leaf_rel, 1, True)
        sh([*git, "commit", "-q", "-am", "edit the probe leaf"], ci)
        sh([*git, "push", "-q", "origin", "main"], ci)
        stats = self.cache_stats(scenario)
        for rep in range(self.repeat):
            for d in [mypy, fgc, ours] if rep % 2 == 0 else [ours, fgc, mypy]:
                clone = base / f"clone-{rep}-{d.name}"
                sh([*git, "clone", "-q", str(origin), str(clone)], base)
                d.root, d.status_file = clone, clone / STATUS_FILE
                if d is ours:
                    self.fresh_cache_home(d)
                    d.env.update(remote_env)
                started = time.perf_counter()
                if d is fgc:
                    shutil.copy(archive, clone / "downloaded.tar.gz")
                    sh(["tar", "-xzf", "downloaded.tar.gz"], clone)
                unpack_ms = (time.perf_counter() - started) * 1000
                step = d.run("run after restart", rep, True)
                step.ms += unpack_ms
                if d is ours:
                    fields = self.cache_status(d)
                    warm = {"True": True, "False": False}.get(fields.get("cache_warm_start", ""))
                    stats.warm_starts.append(warm)
                    stats.reasons.append(fields.get("cache_remote_reason", "") + "; " + fields.get("cache_reason", ""))
                    load = stat_float(fields, "cache_load_seconds")
                    if load is not None:
                        stats.load_seconds.append(load)
                    step.note = f"cache_warm_start {warm}, {fields.get('cache_remote_reason', '')}"
                elif d is fgc:
                    step.note = f"archive copied and unpacked in {unpack_ms:.0f} ms (included)"
                self.record(scenario, d, step)
                self.record(scenario, d, d.check("check after restart", rep, False))
                if d is not mypy:
                    self.check_fresh(scenario, d, step)
                self.stop(scenario, d, rep)
                if not self.args.keep:
                    shutil.rmtree(clone, ignore_errors=True)

    def sees_edits(self, stdout: str) -> bool:
        leaf = self.proj.leaf_rel
        return reports(stdout, leaf, genproject.LEAF_BAD_MESSAGE) and reports(stdout, leaf, genproject.CORE_BAD_MESSAGE)

    def run_batch(self, scenario: str, d: Daemon) -> Step:
        """mypy's documented way to a warm daemon: a batch run that writes the fine-grained cache."""
        cmd = [str(self.args.python), "-m", "mypy", "--cache-fine-grained", *self.flags, TARGET]
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            rc, ms, expired = run_timed(cmd, cwd=d.root, env=d.env, stdout=out, stderr=err, timeout=self.args.timeout)
            out.seek(0)
            err.seek(0)
            step = Step("batch `mypy --cache-fine-grained`", 0, False, ms, -1 if expired else rc,
                        out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"))
        return self.record(scenario, d, step)

    def nochange(self, scenario: str, daemons: dict[str, Daemon]) -> None:
        for rep in range(self.repeat):
            for impl in self.order(rep):
                d = daemons[impl.name]
                self.record(scenario, d, d.check("check", rep, True))

    def status(self, scenario: str, daemons: dict[str, Daemon]) -> None:
        for rep in range(self.repeat):
            for impl in self.order(rep):
                d = daemons[impl.name]
                self.record(scenario, d, d.status("status", rep, True))

    def edit_wait(self, scenario: str, daemons: dict[str, Daemon]) -> None:
        if self.args.wait_target == "core":
            self.edit_core(scenario, daemons, self.args.wait_seconds)
        else:
            self.edit_leaf(scenario, daemons, self.args.wait_seconds)

    def edit_leaf(self, scenario: str, daemons: dict[str, Daemon], wait: float = 0.0) -> None:
        leaf = self.proj.leaf_rel
        for rep in range(self.repeat):
            bad = rep % 2 == 0  # rep 0 introduces an error, rep 1 removes it, ...
            for impl in self.order(rep):
                d = daemons[impl.name]
                write_leaf(d.root, leaf, rep + 1, bad)
                if wait:
                    time.sleep(wait)
                step = d.check("check after edit", rep, True)
                step.reflects_edit = reports(step.stdout, leaf, genproject.LEAF_BAD_MESSAGE) == bad
                self.record(scenario, d, step)

    def edit_core(self, scenario: str, daemons: dict[str, Daemon], wait: float = 0.0) -> None:
        for rep in range(self.repeat):
            variant = (rep + 1) % 2  # 1: default_weight() -> float, 0: -> int (as generated)
            for impl in self.order(rep):
                d = daemons[impl.name]
                write_core(d.root, self.proj.core_rel, variant)
                if wait:
                    time.sleep(wait)
                step = d.check("check after edit", rep, True)
                seen = reports(step.stdout, self.proj.leaf_rel, genproject.CORE_BAD_MESSAGE)
                step.reflects_edit = seen == (variant == 1)
                self.record(scenario, d, step)

    def rapid_saves(self, scenario: str, daemons: dict[str, Daemon]) -> None:
        leaf = self.proj.leaf_rel
        saves = self.args.saves
        for rep in range(self.repeat):
            bad = rep % 2 == 0
            for impl in self.order(rep):
                d = daemons[impl.name]
                t0 = time.perf_counter()
                for k in range(saves - 1):
                    write_leaf(d.root, leaf, 1000 * (rep + 1) + k, k % 2 == 1)
                # The last save is the same content as edit-leaf's for this rep: its size
                # differs from the previously checked content, so a stat-based daemon
                # cannot miss it (that case is the samesize scenario).
                write_leaf(d.root, leaf, rep + 1, bad)
                save_ms = (time.perf_counter() - t0) * 1000.0
                step = d.check("check after saves", rep, True)
                step.reflects_edit = reports(step.stdout, leaf, genproject.LEAF_BAD_MESSAGE) == bad
                step.note = f"{saves} saves took {save_ms:.0f} ms"
                self.record(scenario, d, step)

    def samesize(self, scenario: str, daemons: dict[str, Daemon]) -> None:
        """Sync the daemon on a fresh size, then flip int->str in place in the same second."""
        leaf = self.proj.leaf_rel
        good = genproject.SAMESIZE_GOOD_LINE
        bad = genproject.SAMESIZE_BAD_LINE
        for rep in range(self.repeat):
            for impl in self.order(rep):
                d = daemons[impl.name]
                path = d.root / leaf
                text = path.read_text().replace(bad, good)
                # A size never seen before: the sync edit is detectable by anyone.
                text = text.split("\n# sync ")[0].rstrip("\n") + "\n# sync " + "x" * (rep + 1) + "\n"
                sleep_to_second_boundary()
                path.write_text(text)
                sync_ns = path.stat().st_mtime_ns
                step = d.check("sync check", rep, False)
                step.reflects_edit = not reports(step.stdout, leaf, genproject.SAMESIZE_BAD_MESSAGE)
                self.record(scenario, d, step)

                data = path.read_bytes()
                offset = data.index(good.encode()) + good.index("int")
                with open(path, "r+b") as f:  # same size, in place, no truncation
                    f.seek(offset)
                    f.write(b"str")
                st = path.stat()
                note = "same second"
                sync_sec = sync_ns // 1_000_000_000
                if st.st_mtime_ns // 1_000_000_000 != sync_sec:
                    new_ns = min(sync_ns + 1_000_000, (sync_sec + 1) * 1_000_000_000 - 1)
                    os.utime(path, ns=(st.st_atime_ns, new_ns))
                    note = "mtime clamped into the sync second"
                step = d.check("check after same-size edit", rep, True)
                step.reflects_edit = reports(step.stdout, leaf, genproject.SAMESIZE_BAD_MESSAGE)
                step.note = note
                self.record(scenario, d, step)

    def measure_idle(self, scenario: str, daemons: dict[str, Daemon]) -> None:
        seconds: float = self.args.idle_seconds
        tck = os.sysconf("SC_CLK_TCK")
        before = {name: d.idle_snapshot() for name, d in daemons.items()}
        log(f"  [idle] both daemons idle for {seconds:g} s ...")
        time.sleep(seconds)
        for name, d in daemons.items():
            after = d.idle_snapshot()
            ticks = sum(t - before[name].get(p, 0) for p, t in after.items())
            rss = sum(rss_kib(pid) for pid, _ in after)
            self.idle[name] = IdleResult(seconds, ticks / tck, len(after), rss / 1024.0)
            log(f"  [idle] {name}: {ticks / tck:.2f} s CPU, {len(after)} processes, {rss / 1024:.0f} MiB RSS")

    # -- driver

    def run_all(self, scenarios: list[str]) -> None:
        self.generate()
        for index, scenario in enumerate(scenarios):
            self.run_scenario(scenario, index)

    def cleanup(self) -> None:
        for d in list(self.live):
            d.shutdown()
        self.live.clear()


# --------------------------------------------------------------------------- report


def fmt_ms(values: list[float]) -> str:
    if not values:
        return "—"
    return f"{statistics.median(values):.0f} ({min(values):.0f})"


def fmt_ratio(mypy: list[float], ours: list[float]) -> str:
    if not mypy or not ours:
        return "—"
    r = statistics.median(mypy) / statistics.median(ours)
    if 0.995 <= r < 1.005:
        return "×1.00 (same)"
    if r >= 1.0:
        return f"×{r:.2f} faster"
    return f"×{r:.2f} (ours {1.0 / r:.2f}× slower)"


def fmt_pairs(mypy: list[float], ours: list[float]) -> str | None:
    """The reps as pairs (each rep runs both, back to back, alternating which goes first): how
    many ours won, and the median of ours/mypy over the pairs. On a noisy machine a slow minute
    hits both sides of a pair, so this moves less than the ratio of the medians."""
    if not mypy or len(mypy) != len(ours):
        return None
    ratios = [o / m for m, o in zip(mypy, ours) if m > 0]
    won = sum(1 for m, o in zip(mypy, ours) if o < m)
    return f"ours faster in {won} of {len(ratios)} pairs, median of ours/mypy per pair {statistics.median(ratios):.2f}"


def fmt_target(mypy: list[float], ours: list[float], limit: float, text: str) -> str:
    """A target on ours/mypy (medians), e.g. limit 0.10: ours takes at most a tenth of mypy's time."""
    if not mypy or not ours:
        return f"{text}: —"
    r = statistics.median(ours) / statistics.median(mypy)
    return f"{text}: {r:.2f} {'met' if r <= limit else '**NOT met**'}"


# scenario -> (row kind -> (limit on ours/mypy, how the target reads)).  Issue 12's targets
# (cold, restarts, remote clone) and issue 16's (the fast path: edits checked at once).
TARGETS: dict[str, dict[str, tuple[float, str]]] = {
    "cold": {"": (1.0, "ours/mypy ≤ 1.0")},
    "edit-leaf": {"": (0.2, "ours/mypy ≤ 0.2")},
    "edit-core": {"": (0.8, "ours/mypy ≤ 0.8")},
    "warm-restart": {
        "cold": (0.10, "ours/mypy ≤ 0.10"),
        "fgc": (0.999, "ours/mypy < 1 (faster)"),
    },
    "remote-clone": {"cold": (0.15, "ours/mypy ≤ 0.15")},
}


@dataclasses.dataclass
class Difference:
    scenario: str
    label: str
    rep: int
    detail: str
    expected: bool
    why: str = ""  # why an expected difference is expected


ORDER_ONLY = "same lines in another order (a warm answer lists errors in the cache's order)"
SAMESIZE_MISS = "mypy missed the same-size edit"


def compare(scenario: str, mypy: list[Step], ours: list[Step]) -> tuple[int, list[Difference]]:
    """Number of step pairs compared, and the pairs whose stdout or exit code differ."""
    diffs: list[Difference] = []
    for a, b in zip(mypy, ours):
        if a.rc == b.rc and a.stdout == b.stdout:
            continue
        if (scenario in RESTART_SCENARIOS and a.rc == b.rc
                and sorted(a.stdout.splitlines()) == sorted(b.stdout.splitlines())):
            # mypy's own daemon does the same after updates (bench/README.md, soak); the lines
            # themselves are also checked against a fresh mypy run.
            n = len(a.stdout.splitlines())
            diffs.append(Difference(scenario, a.label, a.rep, f"the same {n} lines and exit status, in another order",
                                    True, ORDER_ONLY))
            continue
        lines = []
        if a.rc != b.rc:
            lines.append(f"exit code: mypy {a.rc}, ours {b.rc}")
        if a.stdout != b.stdout:
            udiff = difflib.unified_diff(
                a.stdout.splitlines(), b.stdout.splitlines(), "mypy", "ours", lineterm="", n=1
            )
            body = list(udiff)
            lines += body[:30] + ([f"... ({len(body) - 30} more diff lines)"] if len(body) > 30 else [])
        expected = (
            scenario == "samesize"
            and a.reflects_edit is False
            and b.reflects_edit is True
        )
        diffs.append(Difference(scenario, a.label, a.rep, "\n".join(lines), expected,
                                SAMESIZE_MISS if expected else ""))
    if len(mypy) != len(ours):
        diffs.append(
            Difference(scenario, "(step count)", -1, f"mypy {len(mypy)} steps, ours {len(ours)}", False)
        )
    return max(len(mypy), len(ours)), diffs


def machine_info(args: argparse.Namespace, impls: list[Impl]) -> dict[str, str]:
    info: dict[str, str] = {
        "nproc": f"{os.cpu_count()} (usable: {len(os.sched_getaffinity(0))})",
        "platform": platform.platform(),
        "bench python": sys.version.split()[0],
    }
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass

    def capture(cmd: list[str], env: dict[str, str] | None = None) -> str:
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env, check=False)
            return (p.stdout.strip() or p.stderr.strip()).splitlines()[0] if (p.stdout or p.stderr) else f"rc {p.returncode}"
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"unavailable ({e})"

    info["engine python"] = f"{args.python}: " + capture(
        [str(args.python), "-c", "import sys; print(sys.version.split()[0])"]
    )
    info["mypy"] = capture([str(args.python), "-m", "mypy", "--version"])
    for impl in impls:
        info[f"{impl.name} dmypy"] = f"{impl.dmypy}: " + capture([str(impl.dmypy), "--version"], impl.env)
    return info


def render(bench: Bench, info: dict[str, str], elapsed: float, load: tuple[str, str]) -> tuple[str, bool]:
    """The markdown report, and whether everything was as expected."""
    args = bench.args
    out: list[str] = []
    problems: list[str] = []
    proj = bench.project
    out.append("# dmypy benchmark: mypy's dmypy vs ours")
    out.append("")
    if proj is not None:
        out.append(
            f"- project: {proj.modules} modules (seed {args.seed}, {len(proj.error_modules)} with a deliberate error), target `{TARGET}`, "
            f"core `{proj.core_rel}`, probe leaf `{proj.leaf_rel}`"
        )
    out.append(f"- daemon flags: `dmypy run -- {args.flags} {TARGET}`; repetitions: {bench.repeat}")
    for key, value in info.items():
        out.append(f"- {key}: {value}")
    out.append(f"- load average at start / end: {load[0]} / {load[1]}")
    out.append(f"- total benchmark wall time: {elapsed:.0f} s")
    out.append("")
    out.append("Times are wall-clock ms around one client command: median (min).")
    out.append("")
    out.append("| scenario | mypy median (min) ms | ours median (min) ms | ratio mypy/ours | outputs identical? | target |")
    out.append("|---|---|---|---|---|---|")

    missed_targets: list[str] = []

    def target(scenario: str, kind: str, mypy_t: list[float], ours_t: list[float]) -> str:
        spec = TARGETS.get(scenario, {}).get(kind)
        if spec is None:
            return "—"
        cell = fmt_target(mypy_t, ours_t, *spec)
        if "NOT met" in cell:
            missed_targets.append(f"{scenario} ({spec[1]})")
        return cell

    all_diffs: list[Difference] = []
    pair_lines: list[str] = []
    startup: dict[str, list[float]] = {"mypy": [], "ours": []}
    for scenario, per_impl in bench.steps.items():
        mypy_steps = per_impl.get(MYPY, [])
        ours_steps = per_impl.get(OURS, [])
        for name, steps in ((MYPY, mypy_steps), (OURS, ours_steps)):
            startup[name] += [s.ms for s in steps if s.label == "start" and not s.failed()]
        n, diffs = compare(scenario, mypy_steps, ours_steps)
        all_diffs += diffs
        if not diffs:
            same = f"yes ({n} steps)"
        elif all(d.expected for d in diffs):
            why = "; ".join(sorted(set(d.why for d in diffs)))
            same = f"differs on {len(diffs)}/{n} steps — expected: {why}"
        else:
            same = f"**NO: {len(diffs)}/{n} steps differ**"
        if scenario == "idle":
            continue
        mypy_t = [s.ms for s in mypy_steps if s.timed]
        ours_t = [s.ms for s in ours_steps if s.timed]
        title = SCENARIO_TITLES.get(scenario, scenario)
        if scenario == "edit-wait":
            title = f"edit {args.wait_target}, wait {args.wait_seconds:g} s, `check`"
        if scenario == "samesize":
            out.append(f"| {title} | correctness, see below | correctness, see below | — | {same} | — |")
        elif scenario in RESTART_SCENARIOS:
            fgc_steps = per_impl.get(FGC, [])
            fgc_t = [s.ms for s in fgc_steps if s.timed]
            checks = [c for c in bench.fresh_checks if c.scenario == scenario]
            ours_fresh = [c for c in checks if c.who == OURS]
            fgc_fresh = [c for c in checks if c.who == FGC]
            ours_same = sum(1 for c in ours_fresh if c.same)
            fgc_same = sum(1 for c in fgc_fresh if c.same)
            ours_cell = (f"vs fresh mypy {ours_same}/{len(ours_fresh)}" if ours_same == len(ours_fresh)
                         else f"**vs fresh mypy {ours_same}/{len(ours_fresh)}**")
            out.append(
                f"| {title}; mypy: cold `run` | {fmt_ms(mypy_t)} | {fmt_ms(ours_t)} | {fmt_ratio(mypy_t, ours_t)} "
                f"| {same}; ours {ours_cell} | {target(scenario, 'cold', mypy_t, ours_t)} |"
            )
            out.append(
                f"| {title}; mypy: `run -- --use-fine-grained-cache` | {fmt_ms(fgc_t)} | {fmt_ms(ours_t)} "
                f"| {fmt_ratio(fgc_t, ours_t)} | mypy vs fresh mypy {fgc_same}/{len(fgc_fresh)}"
                f"{' — mypy’s own difference (python/mypy#20519)' if fgc_same < len(fgc_fresh) else ''} "
                f"| {target(scenario, 'fgc', fgc_t, ours_t)} |"
            )
            follow_m = [s.ms for s in mypy_steps if s.label == "check after restart" and not s.failed()]
            follow_o = [s.ms for s in ours_steps if s.label == "check after restart" and not s.failed()]
            out.append(
                f"| (untimed) the `check` right after that restart; mypy: cold daemon | {fmt_ms(follow_m)} "
                f"| {fmt_ms(follow_o)} | {fmt_ratio(follow_m, follow_o)} | (in the rows above) | — |"
            )
        else:
            out.append(
                f"| {title} | {fmt_ms(mypy_t)} | {fmt_ms(ours_t)} | {fmt_ratio(mypy_t, ours_t)} | {same} "
                f"| {target(scenario, '', mypy_t, ours_t)} |"
            )
            if scenario in TARGETS and (pairs := fmt_pairs(mypy_t, ours_t)) is not None:
                pair_lines.append(f"- {title}: {pairs}")
    if startup["mypy"] or startup["ours"]:
        out.append(
            f"| {SCENARIO_TITLES['startup']} | {fmt_ms(startup['mypy'])} | {fmt_ms(startup['ours'])} "
            f"| {fmt_ratio(startup['mypy'], startup['ours'])} | (in the rows above) | — |"
        )
    if pair_lines:
        out += ["", "The same reps as pairs (both run back to back in each rep):", ""] + pair_lines
    out.append("")
    for scenario, ms in bench.batch_ms.items():
        out.append(
            f"- {scenario}: mypy's `mypy --cache-fine-grained {args.flags} {TARGET}` batch run, which wrote "
            f"the cache its `--use-fine-grained-cache` daemon starts from, took {ms:.0f} ms "
            "(once, before the reps; not in the rows)."
        )
    if bench.batch_ms:
        out.append("")

    if bench.cache:
        out.append(
            "Our cache slot (`status -v`; writer CPU = `cache_writer_cpu_seconds` summed over the "
            "scenario's daemon lifetimes, each read just before its `stop`):"
        )
        out.append("")
        out.append("| scenario | daemon lifetimes | slot writes | writer CPU s | waited for the writer s "
                   "| warm starts | cache_load_seconds median | cache_reason / notes |")
        out.append("|---|---|---|---|---|---|---|---|")
        for scenario, c in bench.cache.items():
            warm = (f"{sum(1 for w in c.warm_starts if w)}/{len(c.warm_starts)}" if c.warm_starts else "—")
            load_cell = f"{statistics.median(c.load_seconds):.3f}" if c.load_seconds else "—"
            waits = f"{sum(c.writer_waits):.1f}" if c.writer_waits else "0"
            reasons = sorted(set(r for r in c.reasons if r))
            text = "; ".join(reasons + c.notes) or "—"
            out.append(f"| {scenario} | {c.lifetimes} | {c.writes} | {c.writer_cpu_seconds:.2f} | {waits} "
                       f"| {warm} | {load_cell} | {text} |")
            problems.extend(c.problems)
            if scenario in RESTART_SCENARIOS and not any("cache: off" in n for n in c.notes):
                # A cold start by choice (most of the build depends on an edit made while the
                # daemon was down: cheaper than a warm load) is what it should do, not a problem.
                cold_starts = sum(1 for w, r in zip(c.warm_starts, c.reasons) if not w and COLD_BY_CHOICE not in r)
                if cold_starts:
                    problems.append(f"ours did not start warm in {cold_starts}/{len(c.warm_starts)} restarts of {scenario}")
        out.append("")

    if bench.fast_path:
        out.append(
            "Our fast path (issue 16; `status -v` `fast_path_taken` of `fast_path_checks`, summed over "
            "the scenario's engines, every build request, timed or not):"
        )
        out.append("")
        for scenario, f in bench.fast_path.items():
            share = f"{100 * f.taken / f.checks:.0f} %" if f.checks else "—"
            out.append(f"- {scenario}: {f.taken} of {f.checks} ({share}); last: {f.last or '—'}")
        out.append("")

    if bench.idle:
        parts = []
        for name in ("mypy", "ours"):
            r = bench.idle.get(name)
            if r is not None:
                parts.append(
                    f"{name} {r.cpu_seconds:.2f} s CPU ({r.processes} process(es), {r.rss_mib:.0f} MiB RSS)"
                )
        secs = next(iter(bench.idle.values())).seconds
        out.append(f"Idle CPU over {secs:g} s after warm-up (daemon + descendants, utime+stime): " + "; ".join(parts))
        out.append("")

    edit_rows: list[str] = []
    for scenario, per_impl in bench.steps.items():
        labels: list[str] = []
        for steps in per_impl.values():
            for s in steps:
                if s.reflects_edit is not None and s.label not in labels:
                    labels.append(s.label)
        for label in labels:
            cells = []
            for name in ("mypy", "ours"):
                marks = [s.reflects_edit for s in per_impl.get(name, []) if s.label == label]
                good = sum(1 for m in marks if m)
                cells.append(f"{good}/{len(marks)}")
                known_miss = scenario == "samesize" and name == "mypy" and label != "sync check"
                if good != len(marks) and not known_miss:
                    problems.append(f"{name} missed {len(marks) - good} edit(s) in {scenario} ({label})")
            # mypy's --use-fine-grained-cache daemon: shown, but its misses are mypy's.
            fgc = [s.reflects_edit for s in per_impl.get(FGC, []) if s.label == label]
            fgc_cell = f"{sum(1 for m in fgc if m)}/{len(fgc)}" if fgc else "—"
            edit_rows.append(f"| {scenario} | {label} | {cells[0]} | {cells[1]} | {fgc_cell} |")
    if edit_rows:
        out.append("Edit detection: checks whose output matched the file content (correct/total).")
        out.append("")
        out.append("| scenario | step | mypy | ours | mypy `--use-fine-grained-cache` |")
        out.append("|---|---|---|---|---|")
        out += edit_rows
        out.append("")
        if "samesize" in bench.steps:
            out.append(
                "`samesize` flips `int`→`str` in place (same size) within the same whole second "
                "as the previous, already-checked write. mypy's daemon only hashes a file whose size "
                "or whole-second mtime changed, so it is expected to miss this edit; a mismatch "
                "there is reported as expected, not as a failure."
            )
            out.append("")

    failures = [
        (scenario, name, s)
        for scenario, per_impl in bench.steps.items()
        for name, steps in per_impl.items()
        for s in steps
        if s.failed()
    ]
    if failures:
        problems.append(f"{len(failures)} failed command(s)")
        out.append("## Failed commands")
        out.append("")
        for scenario, name, s in failures:
            out.append(f"- {scenario} / {name} / {s.label} #{s.rep}: rc {s.rc} {s.note}")
            tail = s.stderr.strip()[-800:]
            if tail:
                out.append("  ```")
                out += ["  " + line for line in tail.splitlines()]
                out.append("  ```")
        out.append("")

    if all_diffs:
        out.append("## Output differences (mypy vs ours)")
        out.append("")
        for d in all_diffs:
            tag = f" (expected: {d.why})" if d.expected else ""
            out.append(f"- {d.scenario} / {d.label} #{d.rep}{tag}")
            out.append("  ```")
            out += ["  " + line for line in d.detail.splitlines()]
            out.append("  ```")
        out.append("")
    unexpected = sum(1 for d in all_diffs if not d.expected)
    if unexpected:
        problems.append(f"{unexpected} unexpected output difference(s)")

    if bench.fresh_checks:
        out.append("## Warm answers vs a fresh `mypy` run")
        out.append("")
        out.append(
            f"Each answer of a warm path, compared with `mypy {args.flags} --cache-dir /dev/null {TARGET}` "
            "(no daemon, no cache) on the same files: the same lines as a set (the client's own "
            "`Daemon started` aside), the same exit status."
        )
        out.append("")
        out.append("| scenario | who | step | identical |")
        out.append("|---|---|---|---|")
        groups: dict[tuple[str, str, str], list[FreshCheck]] = {}
        for fc in bench.fresh_checks:
            groups.setdefault((fc.scenario, fc.who, fc.label), []).append(fc)
        for (scenario, who, label), checks in groups.items():
            good = sum(1 for c in checks if c.same)
            mark = f"{good}/{len(checks)}"
            if good < len(checks):
                mark = (f"{mark} — mypy's own difference (python/mypy#20519), not ours" if who == FGC
                        else f"**{mark}: ours differs from mypy**")
            shown = "ours" if who == OURS else "mypy `--use-fine-grained-cache`"
            out.append(f"| {scenario} | {shown} | {label} | {mark} |")
        out.append("")
        for fc in bench.fresh_checks:
            if not fc.same:
                tag = " (mypy's own, python/mypy#20519)" if fc.who == FGC else " (**ours: a bug**)"
                out.append(f"- {fc.scenario} / {fc.who} / {fc.label} #{fc.rep}{tag}")
                out.append("  ```")
                out += ["  " + line for line in fc.detail.splitlines()]
                out.append("  ```")
        out.append("")
        ours_bad = sum(1 for c in bench.fresh_checks if c.who == OURS and not c.same)
        if ours_bad:
            problems.append(f"{ours_bad} warm answer(s) of ours differ from a fresh mypy run")

    if missed_targets:
        out.append("Targets not met: " + "; ".join(missed_targets) + " (performance; not part of the verdict).")
    elif any(scenario in TARGETS for scenario in bench.steps):
        out.append("Targets: all met.")
    out.append("")
    out.append("Verdict: " + ("OK" if not problems else "PROBLEMS: " + "; ".join(problems)))
    return "\n".join(out) + "\n", not problems


# --------------------------------------------------------------------------- main


class Interrupted(Exception):
    pass


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(f"signal {signum}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Compare mypy's dmypy with ours on a generated project (see bench/README.md).",
    )
    p.add_argument("--mypy-dmypy", type=Path, default=REPO / ".venv" / "bin" / "dmypy",
                   help="mypy's dmypy client (default: <repo>/.venv/bin/dmypy)")
    p.add_argument("--ours", type=Path, default=REPO / ".build" / "release" / "dmypy",
                   help="our dmypy binary (default: <repo>/.build/release/dmypy)")
    p.add_argument("--python", type=Path, default=REPO / ".venv" / "bin" / "python",
                   help="python with mypy, exported to ours as DMYPY_PYTHON (default: <repo>/.venv/bin/python)")
    p.add_argument("--modules", type=int, default=None, help="modules in the generated project (default 2000; --quick: 200)")
    p.add_argument("--repeat", type=int, default=None, help="repetitions per scenario (default 5; --quick: 2)")
    p.add_argument("--idle-seconds", type=float, default=None, help="idle window (default 10; --quick: 5)")
    p.add_argument("--quick", action="store_true", help="smoke run: 200 modules, 2 repetitions, 5 s idle")
    p.add_argument("--scenarios", default=",".join(SCENARIOS),
                   help=f"comma-separated subset of: {','.join(SCENARIOS)}")
    p.add_argument("--flags", default=DEFAULT_FLAGS, help=f"mypy flags for `dmypy run --` (default: {DEFAULT_FLAGS!r})")
    p.add_argument("--seed", type=int, default=1, help="project generator seed (default 1)")
    p.add_argument("--error-modules", type=int, default=len(genproject.ERROR_KINDS),
                   help=f"modules with a deliberate error (default {len(genproject.ERROR_KINDS)})")
    p.add_argument("--saves", type=int, default=100, help="saves in the rapid-saves scenario (default 100)")
    p.add_argument("--wait-seconds", type=float, default=2.0, help="wait in the edit-wait scenario (default 2)")
    p.add_argument("--wait-target", choices=("leaf", "core"), default="leaf",
                   help="file edited in the edit-wait scenario (default: leaf, whose check fits in the wait)")
    p.add_argument("--timeout", type=float, default=900.0, help="timeout per client command, seconds (default 900)")
    p.add_argument("--workdir", type=Path, default=None, help="where to create the temporary directory (default: $TMPDIR)")
    p.add_argument("--json", type=Path, default=None, help="also write raw samples to this file")
    p.add_argument("--keep", action="store_true", help="keep the temporary project copies")
    args = p.parse_args(argv)
    args.modules = args.modules if args.modules is not None else (200 if args.quick else 2000)
    args.repeat = args.repeat if args.repeat is not None else (2 if args.quick else 5)
    args.idle_seconds = args.idle_seconds if args.idle_seconds is not None else (5.0 if args.quick else 10.0)
    chosen = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SCENARIOS]
    if unknown:
        p.error(f"unknown scenario(s): {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    args.scenario_list = [s for s in SCENARIOS if s in chosen]
    if args.repeat < 1 or args.modules < 20:
        p.error("--repeat must be >= 1 and --modules >= 20")
    for opt in ("mypy_dmypy", "ours", "python"):
        path: Path = getattr(args, opt)
        if not (path.is_file() and os.access(path, os.X_OK)):
            p.error(f"--{opt.replace('_', '-')}: {path} is not an executable file")
    return args


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    base_env = dict(os.environ)
    base_env.pop("DMYPY_PYTHON", None)
    impls = [
        Impl("mypy", args.mypy_dmypy.absolute(), base_env),
        Impl("ours", args.ours.absolute(), {**base_env, "DMYPY_PYTHON": str(args.python.absolute())}),
    ]
    info = machine_info(args, impls)
    for key, value in info.items():
        log(f"{key}: {value}")

    workdir = Path(tempfile.mkdtemp(prefix="dmypy-bench-", dir=args.workdir))
    bench = Bench(args, impls, workdir)
    old_handlers = {s: signal.signal(s, _on_signal) for s in (signal.SIGTERM, signal.SIGHUP)}
    load_start = loadavg()
    t0 = time.perf_counter()
    interrupted: str | None = None
    try:
        bench.run_all(args.scenario_list)
    except (KeyboardInterrupt, Interrupted) as e:
        interrupted = str(e) or "KeyboardInterrupt"
        log(f"interrupted ({interrupted}); cleaning up")
    finally:
        # Cleanup must not be cut short by a second Ctrl-C.
        old_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            bench.cleanup()
            if args.keep:
                log(f"kept {workdir}")
            else:
                shutil.rmtree(workdir, ignore_errors=True)
        finally:
            signal.signal(signal.SIGINT, old_int)
            for s, h in old_handlers.items():
                signal.signal(s, h)
    elapsed = time.perf_counter() - t0

    report, ok = render(bench, info, elapsed, (load_start, loadavg()))
    if interrupted:
        report += f"\n**Interrupted ({interrupted}): partial results.**\n"
        ok = False
    print(report, end="")
    if args.json is not None:
        payload: dict[str, Any] = {
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "machine": info,
            "project": dataclasses.asdict(bench.project) if bench.project else None,
            "elapsed_seconds": elapsed,
            "load_average": [load_start, loadavg()],
            "scenarios": {
                scenario: {name: [s.to_json() for s in steps] for name, steps in per_impl.items()}
                for scenario, per_impl in bench.steps.items()
            },
            "idle": {name: dataclasses.asdict(r) for name, r in bench.idle.items()},
            "cache": {scenario: dataclasses.asdict(c) for scenario, c in bench.cache.items()},
            "fresh_checks": [dataclasses.asdict(c) for c in bench.fresh_checks],
            "batch_ms": bench.batch_ms,
            "ok": ok,
        }
        args.json.write_text(json.dumps(payload, indent=1, default=str) + "\n")
        log(f"wrote {args.json}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

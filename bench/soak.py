#!/usr/bin/env python3
"""Bounded soak test of our dmypy: many edit/check cycles on one daemon.

Generates a project (``genproject.py``), starts our daemon on it, then edits one
module and runs ``dmypy check`` ``--iterations`` times.  Every check must exit
with 1 (the project always has its deliberate errors; 2 or a timeout is a
failure) and must reflect the edit.  Every ``--verify-every`` iterations, and
once more at the end, the output must have the same lines as the output printed
before for the same file contents (the order may differ, as with mypy's dmypy;
that is counted, not failed), and a final check without an edit must repeat the
last output byte for byte.  Every ``--sample-every`` iterations it records the RSS of
the daemon and of its engine (the daemon's child python).  The report is a
markdown table and a verdict on RSS growth after warm-up.  Not part of CI.

See bench/README.md ("Soak").  Python 3.11, standard library only.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import genproject
from run import (
    Daemon,
    Impl,
    Interrupted,
    Step,
    _on_signal,
    loadavg,
    log,
    process_tree,
    read_stat,
    reports,
    rss_kib,
)

REPO = Path(__file__).resolve().parent.parent
DEFAULT_FLAGS = "--strict --follow-imports=normal"
TARGET = "pkg"
SOAK_TAG = "SOAK"  # region markers: "# BENCH-SOAK-BEGIN" .. "# BENCH-SOAK-END"
OUTPUT_LIMIT = 4000  # characters of stdout/stderr kept per problem in the report/JSON
STATUS_KEYS = (
    "engine_starts",
    "engine_restarts",
    "engine_recycles",
    "engine_updates",
    "engine_pid",
    "standby_engine_pid",
    "answered_from_memory",
    "pre_checks",
    "watcher_events",
    "watcher_overflows",
    "memory_rss_mib",
    "memory_maxrss_mib",
    "uptime_seconds",
)
MODULE_INDEX = re.compile(r"_(\d{4})\.py$")


# --------------------------------------------------------------------------- edits


def soak_region(rel: str, bad: bool) -> str:
    """The region appended to each edited leaf: ill-typed (a return-value error) iff ``bad``."""
    name = "soak_probe_" + re.sub(r"\W", "_", Path(rel).stem)
    value = '"soak"' if bad else "1"
    return (
        f"# BENCH-{SOAK_TAG}-BEGIN\n"
        f"def {name}() -> int:\n"
        f"    return {value}\n"
        f"# BENCH-{SOAK_TAG}-END\n"
    )


def write_file(path: Path, text: str, atomic: bool) -> None:
    """Write in place, or the way many editors save: a temporary file renamed over the old one."""
    if atomic:
        tmp = path.with_name(f".{path.name}.soak-tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
    else:
        path.write_text(text)


@dataclasses.dataclass(frozen=True)
class Target:
    """One file the soak edits, with its current variant (0 = well-typed, 1 = ill-typed)."""

    rel: str
    core: bool


def pick_leaves(root: Path, modules: int, count: int, probe_rel: str) -> list[str]:
    """The probe leaf plus ``count - 1`` other leaves (modules nothing imports), spread out."""
    leaf_start = max(2, int(modules * (1 - genproject.LEAF_FRACTION)))
    by_index: dict[int, str] = {}
    for path in (root / genproject.PACKAGE).rglob("*.py"):
        m = MODULE_INDEX.search(path.name)
        if m is not None:
            by_index[int(m.group(1))] = path.relative_to(root).as_posix()
    others = sorted(i for i, rel in by_index.items() if i >= leaf_start and rel != probe_rel)
    chosen = [probe_rel]
    want = min(count - 1, len(others))
    for k in range(want):
        chosen.append(by_index[others[(k * len(others)) // max(1, want)]])
    return chosen


# --------------------------------------------------------------------------- processes


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid``."""
    return sorted(st.pid for st in process_tree(pid) if st.ppid == pid)


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return ""


def engine_pids(daemon_pid: int) -> list[int]:
    """The daemon's engine: its child python process(es); every child if none looks like python."""
    kids = [k for k in children_of(daemon_pid) if (st := read_stat(k)) is not None and st.state != "Z"]
    pythons = [k for k in kids if "python" in cmdline(k)]
    return pythons or kids


# --------------------------------------------------------------------------- model


@dataclasses.dataclass
class Sample:
    iteration: int
    daemon_pid: int | None
    daemon_rss_mib: float | None
    engine_pids: list[int]
    engine_rss_mib: float | None
    check_ms: float  # the check of this very iteration
    window_median_ms: float | None  # median of the checks since the previous sample
    window_max_ms: float | None
    elapsed_s: float


@dataclasses.dataclass
class Iteration:
    iteration: int
    target: str
    bad: bool
    atomic: bool
    ms: float
    rc: int
    edit_seen: bool
    compared: bool = False
    consistent: bool | None = None


@dataclasses.dataclass
class Problem:
    iteration: int
    kind: str
    detail: str


def parse_status(stdout: str) -> dict[str, str]:
    """``dmypy status -v`` prints ``key : value`` lines; keep the first value of each key."""
    out: dict[str, str] = {}
    for line in stdout.splitlines():
        key, sep, value = line.partition(":")
        key = key.strip()
        if sep and key and " " not in key and key not in out:
            out[key] = value.strip()
    return out


class Soak:
    def __init__(self, args: argparse.Namespace, impl: Impl, workdir: Path) -> None:
        self.args = args
        self.impl = impl
        self.workdir = workdir
        self.flags: list[str] = shlex.split(args.flags)
        self.project: genproject.Project | None = None
        self.daemon: Daemon | None = None
        self.targets: list[Target] = []
        self.variant: dict[str, int] = {}
        self.outputs: dict[tuple[int, ...], str] = {}  # state -> stdout first seen for it
        self.iterations: list[Iteration] = []
        self.samples: list[Sample] = []
        self.problems: list[Problem] = []
        self.status_start: dict[str, str] = {}
        self.status_end: dict[str, str] = {}
        self.first_check: Step | None = None
        self.start_step: Step | None = None
        self.final_step: Step | None = None
        self.stop_step: Step | None = None
        self.comparisons = 0
        self.mismatches = 0
        self.order_only = 0  # comparisons with the same lines in another order
        self.order_examples: list[str] = []
        self.last_stdout: str | None = None
        self.budget_hit: str | None = None  # why the loop stopped before --iterations, if it did
        self.t0 = time.perf_counter()

    @property
    def proj(self) -> genproject.Project:
        assert self.project is not None
        return self.project

    @property
    def d(self) -> Daemon:
        assert self.daemon is not None
        return self.daemon

    # -- setup

    def setup(self) -> None:
        root = self.workdir / "project"
        t0 = time.perf_counter()
        self.project = genproject.generate(root, self.args.modules, self.args.seed)
        leaves = pick_leaves(root, self.args.modules, self.args.leaves, self.proj.leaf_rel)
        self.targets = [Target(rel, False) for rel in leaves]
        if self.args.core_every > 0:
            self.targets.append(Target(self.proj.core_rel, True))
        for rel in leaves:  # every leaf starts with the well-typed region, before the daemon starts
            path = root / rel
            path.write_text(path.read_text() + "\n\n" + soak_region(rel, False))
        self.variant = {t.rel: 0 for t in self.targets}
        log(
            f"generated {self.args.modules} modules in {time.perf_counter() - t0:.1f} s under {root}; "
            f"editing {', '.join(leaves)}"
            + (f" and {self.proj.core_rel} every {self.args.core_every} iterations" if self.args.core_every > 0 else "")
        )
        self.daemon = Daemon(self.impl, root, self.flags, self.args.timeout)
        self.start_step = self.d.client(["start", "--", *self.flags], "start", 0, False)
        log(f"start: {self.start_step.ms:.0f} ms rc={self.start_step.rc} {self.start_step.stdout.strip()}")
        if self.start_step.rc != 0:
            raise RuntimeError(f"dmypy start failed (rc {self.start_step.rc}): {self.start_step.stderr.strip()[-800:]}")
        step = self.d.client(["check", TARGET], "first check", 0, False)
        self.first_check = step
        log(f"first check: {step.ms:.0f} ms rc={step.rc}")
        if step.rc != 1:
            self.problem(0, "exit status", f"first check exited with {step.rc}, expected 1", step)
        self.outputs[self.state()] = step.stdout
        self.status_start = self.status()
        self.sample(0, step.ms)

    # -- helpers

    def state(self) -> tuple[int, ...]:
        return tuple(self.variant[t.rel] for t in self.targets)

    def status(self) -> dict[str, str]:
        step = self.d.client(["status", "-v"], "status", 0, False)
        if step.rc != 0:
            log(f"status -v exited with {step.rc}: {step.stderr.strip()[-300:]}")
        return parse_status(step.stdout)

    def problem(self, iteration: int, kind: str, detail: str, step: Step | None = None) -> None:
        if step is not None:
            if step.note:
                detail += f" ({step.note})"
            tail = (step.stdout.strip()[-OUTPUT_LIMIT // 2 :] + "\n--- stderr ---\n" + step.stderr.strip()[-OUTPUT_LIMIT // 2 :])
            detail += "\n" + tail
        self.problems.append(Problem(iteration, kind, detail))
        log(f"  PROBLEM at iteration {iteration}: {kind}: {detail.splitlines()[0]}")

    def sample(self, iteration: int, check_ms: float) -> None:
        pid = self.d.daemon_pid()
        daemon_rss: float | None = None
        engines: list[int] = []
        engine_rss: float | None = None
        if pid is not None and read_stat(pid) is not None:
            daemon_rss = rss_kib(pid) / 1024.0
            engines = engine_pids(pid)
            if engines:
                engine_rss = sum(rss_kib(e) for e in engines) / 1024.0
        prev = self.samples[-1].iteration if self.samples else 0
        window = [it.ms for it in self.iterations if prev < it.iteration <= iteration]
        s = Sample(
            iteration=iteration,
            daemon_pid=pid,
            daemon_rss_mib=daemon_rss,
            engine_pids=engines,
            engine_rss_mib=engine_rss,
            check_ms=check_ms,
            window_median_ms=statistics.median(window) if window else None,
            window_max_ms=max(window) if window else None,
            elapsed_s=time.perf_counter() - self.t0,
        )
        self.samples.append(s)
        log(
            f"sample @{iteration}: daemon {fmt_mib(daemon_rss)} MiB, engine {fmt_mib(engine_rss)} MiB "
            f"(pid {','.join(map(str, engines)) or '?'}), window median {fmt_ms(s.window_median_ms)} ms"
        )

    # -- the loop

    def pick(self, i: int) -> Target:
        """Iteration i (1-based): the core every --core-every iterations, else the leaves in turn."""
        if self.args.core_every > 0 and i % self.args.core_every == 0:
            return self.targets[-1]
        leaves = [t for t in self.targets if not t.core]
        leaf_edits = i - 1 - ((i - 1) // self.args.core_every if self.args.core_every > 0 else 0)
        return leaves[leaf_edits % len(leaves)]

    def edit(self, target: Target, atomic: bool) -> bool:
        """Flip the target between its well- and ill-typed versions; return whether it is now ill-typed."""
        bad = self.variant[target.rel] == 0
        self.variant[target.rel] = 1 if bad else 0
        path = self.d.root / target.rel
        text = path.read_text()
        if target.core:
            text = genproject.replace_region(text, "CORE", genproject.core_region(1 if bad else 0))
        else:
            text = genproject.replace_region(text, SOAK_TAG, soak_region(target.rel, bad))
        write_file(path, text, atomic)
        return bad

    def expect_seen(self, target: Target, bad: bool, stdout: str) -> bool:
        if target.core:
            seen = reports(stdout, self.proj.leaf_rel, genproject.CORE_BAD_MESSAGE)
        else:
            seen = reports(stdout, target.rel, genproject.LEAF_BAD_MESSAGE)
        return seen == bad

    def compare(self, iteration: int, stdout: str) -> bool | None:
        """Compare with the output first seen for the current state; None if the state is new."""
        key = self.state()
        before = self.outputs.get(key)
        if before is None:
            self.outputs[key] = stdout
            return None
        self.comparisons += 1
        if before == stdout:
            return True
        if sorted(before.splitlines()) == sorted(stdout.splitlines()):
            # Same messages, another order.  mypy's dmypy does this too: the order follows
            # the order in which modules were last re-processed, which depends on the history.
            self.order_only += 1
            if len(self.order_examples) < 3:
                self.order_examples.append(f"iteration {iteration}, state {key}")
            return True
        self.mismatches += 1
        diff = list(difflib.unified_diff(before.splitlines(), stdout.splitlines(), "before", "now", lineterm="", n=1))
        body = diff[:40] + ([f"... ({len(diff) - 40} more diff lines)"] if len(diff) > 40 else [])
        self.problem(iteration, "inconsistent output", f"state {key} printed something else than before:\n" + "\n".join(body))
        return False

    def loop(self) -> None:
        args = self.args
        consecutive_failures = 0
        for i in range(1, args.iterations + 1):
            target = self.pick(i)
            atomic = args.atomic_every > 0 and i % args.atomic_every == 0
            bad = self.edit(target, atomic)
            step = self.d.client(["check", TARGET], "check", i, True)
            seen = self.expect_seen(target, bad, step.stdout)
            it = Iteration(i, target.rel, bad, atomic, step.ms, step.rc, seen)
            if step.rc != 1:
                self.problem(i, "exit status", f"check exited with {step.rc}, expected 1", step)
                consecutive_failures += 1
            else:
                consecutive_failures = 0
                if not seen:
                    self.problem(i, "edit missed", f"{target.rel} is {'ill' if bad else 'well'}-typed, output disagrees", step)
                # Outputs of the same state are stored on every iteration; compared every K.
                if i % args.verify_every == 0 or self.state() not in self.outputs:
                    result = self.compare(i, step.stdout)
                    it.compared = result is not None
                    it.consistent = result
            self.iterations.append(it)
            self.last_stdout = step.stdout if step.rc == 1 else None
            if i % args.progress_every == 0:
                window = [x.ms for x in self.iterations[-args.progress_every :]]
                log(
                    f"  iteration {i}/{args.iterations}: median {statistics.median(window):.0f} ms, "
                    f"max {max(window):.0f} ms, {len(self.problems)} problem(s), "
                    f"{time.perf_counter() - self.t0:.0f} s"
                )
            if i % args.sample_every == 0 or i == args.iterations:
                self.sample(i, step.ms)
            if consecutive_failures >= args.max_failures:
                self.problem(i, "aborted", f"{consecutive_failures} failed checks in a row; stopping the loop")
                break
            spent = time.perf_counter() - self.t0
            if args.max_minutes > 0 and spent > args.max_minutes * 60 and i < args.iterations:
                self.budget_hit = f"time budget of {args.max_minutes:g} min used up after iteration {i}"
                log(f"  {self.budget_hit}; finishing")
                if self.samples[-1].iteration != i:
                    self.sample(i, step.ms)
                break

    def finish(self) -> None:
        """One more check without an edit (must equal the stored output), status -v, stop."""
        last = self.iterations[-1].iteration if self.iterations else 0
        step = self.d.client(["check", TARGET], "final check", last, False)
        self.final_step = step
        if step.rc != 1:
            self.problem(last, "exit status", f"final unchanged check exited with {step.rc}, expected 1", step)
        else:
            if self.last_stdout is not None and step.stdout != self.last_stdout:
                self.mismatches += 1
                diff = difflib.unified_diff(
                    self.last_stdout.splitlines(), step.stdout.splitlines(), "last check", "final check", lineterm="", n=1
                )
                self.problem(last, "inconsistent output", "unchanged final check differs from the last check:\n" + "\n".join(list(diff)[:40]))
            self.compare(last, step.stdout)
        log(f"final unchanged check: {step.ms:.0f} ms rc={step.rc}")
        self.status_end = self.status()
        self.stop_step = self.d.stop("stop", 0)
        if self.stop_step.rc != 0 or self.stop_step.note:
            log(f"stop: rc={self.stop_step.rc} {self.stop_step.note}")


# --------------------------------------------------------------------------- report


def fmt_mib(v: float | None) -> str:
    return "—" if v is None else f"{v:.1f}"


def fmt_ms(v: float | None) -> str:
    return "—" if v is None else f"{v:.0f}"


def growth(a: float | None, b: float | None) -> str:
    if a is None or b is None:
        return "n/a"
    pct = (b - a) / a * 100.0 if a else float("nan")
    return f"{b - a:+.1f} MiB ({pct:+.1f} %), {a:.1f} → {b:.1f} MiB"


def baseline(samples: list[Sample], warmup: int) -> Sample | None:
    """The first sample at or after the warm-up; the first after iteration 0 if that is the last one."""
    later = [s for s in samples if s.iteration > 0]
    if not later:
        return None
    after = [s for s in later if s.iteration >= warmup]
    if after and after[0] is not later[-1]:
        return after[0]
    return later[0]


def render(soak: Soak, elapsed: float, load: tuple[str, str], interrupted: str | None) -> tuple[str, bool]:
    args = soak.args
    out: list[str] = []
    problems: list[str] = []
    out.append("# dmypy soak")
    out.append("")
    if soak.project is not None:
        out.append(
            f"- project: {soak.project.modules} modules (seed {args.seed}), target `{TARGET}`, "
            f"daemon flags `{args.flags}`"
        )
    leaves = [t.rel for t in soak.targets if not t.core]
    out.append(
        f"- edits: {len(leaves)} leaves in turn"
        + (f", the core `{genproject.CORE_REL}` every {args.core_every} iterations" if args.core_every > 0 else "")
        + "; each edit flips the file between well- and ill-typed"
        + (f"; one save in {args.atomic_every} writes a temporary file and renames it over the module" if args.atomic_every > 0 else "")
    )
    out.append(f"- dmypy: {args.ours}, DMYPY_PYTHON={args.python}")
    out.append(f"- machine: {platform.platform()}, {len(os.sched_getaffinity(0))} usable cores; load average start / end: {load[0]} / {load[1]}")
    done = len(soak.iterations)
    out.append(
        f"- iterations: {done} of {args.iterations}"
        + (f" (**stopped early: {soak.budget_hit}**)" if soak.budget_hit else "")
        + f"; total wall time {elapsed:.0f} s"
    )
    if soak.start_step is not None and soak.first_check is not None:
        out.append(f"- `start`: {soak.start_step.ms:.0f} ms; first (cold) `check`: {soak.first_check.ms:.0f} ms")
    if soak.iterations:
        ms = [it.ms for it in soak.iterations]
        leaf_ms = [it.ms for it in soak.iterations if it.target != genproject.CORE_REL]
        core_ms = [it.ms for it in soak.iterations if it.target == genproject.CORE_REL]
        q = statistics.quantiles(ms, n=100) if len(ms) >= 2 else ms * 99
        out.append(
            f"- check ms: median {statistics.median(ms):.0f}, p90 {q[89]:.0f}, p99 {q[98]:.0f}, max {max(ms):.0f}; "
            f"leaf edits median {fmt_ms(statistics.median(leaf_ms) if leaf_ms else None)}, "
            f"core edits median {fmt_ms(statistics.median(core_ms) if core_ms else None)}"
        )
        rc_ok = sum(1 for it in soak.iterations if it.rc == 1)
        seen = sum(1 for it in soak.iterations if it.rc == 1 and it.edit_seen)
        out.append(
            f"- checks with exit status 1: {rc_ok}/{done}; edits reflected in the output: {seen}/{rc_ok}; "
            f"output consistency comparisons: {soak.comparisons} over {len(soak.outputs)} distinct states, "
            f"mismatches: {soak.mismatches}, same lines in another order: {soak.order_only}"
            + (f" (e.g. {'; '.join(soak.order_examples)})" if soak.order_examples else "")
        )
    if soak.final_step is not None:
        out.append(
            f"- final unchanged `check` (must equal the last check byte for byte): "
            f"{soak.final_step.ms:.0f} ms, rc {soak.final_step.rc}"
        )
    for label, st in (("after the first check", soak.status_start), ("at the end", soak.status_end)):
        if st:
            out.append(
                f"- `status -v` {label}: " + ", ".join(f"{k} {st[k]}" for k in STATUS_KEYS if k in st)
            )
    if soak.stop_step is not None:
        out.append(f"- `stop`: rc {soak.stop_step.rc}" + (f" ({soak.stop_step.note})" if soak.stop_step.note else ""))
    out.append("")
    out.append("| iteration | daemon RSS MiB | engine RSS MiB | engine pid | check ms (this one) | median check ms (window) | max check ms (window) |")
    out.append("|---|---|---|---|---|---|---|")
    for s in soak.samples:
        label = f"{s.iteration} (after first check)" if s.iteration == 0 else str(s.iteration)
        out.append(
            f"| {label} | {fmt_mib(s.daemon_rss_mib)} | {fmt_mib(s.engine_rss_mib)} | "
            f"{','.join(map(str, s.engine_pids)) or '—'} | {s.check_ms:.0f} | {fmt_ms(s.window_median_ms)} | "
            f"{fmt_ms(s.window_max_ms)} |"
        )
    out.append("")

    base = baseline(soak.samples, args.warmup)
    last = soak.samples[-1] if soak.samples else None
    growth_line = "RSS growth: n/a (not enough samples)"
    if base is not None and last is not None and last is not base:
        growth_line = (
            f"RSS growth from iteration {base.iteration} to {last.iteration}: "
            f"daemon {growth(base.daemon_rss_mib, last.daemon_rss_mib)}; "
            f"engine {growth(base.engine_rss_mib, last.engine_rss_mib)}"
        )
        if base.engine_pids != last.engine_pids:
            growth_line += " (the engine was replaced in between: its numbers span two processes)"
        if base.window_median_ms and last.window_median_ms:
            growth_line += (
                f". Median check latency over the window: {base.window_median_ms:.0f} ms at iteration "
                f"{base.iteration}, {last.window_median_ms:.0f} ms at {last.iteration} "
                f"(×{last.window_median_ms / base.window_median_ms:.2f})"
            )
    st = soak.status_end or soak.status_start
    engine_line = (
        f"engine_starts {st.get('engine_starts', '?')}, engine_restarts {st.get('engine_restarts', '?')}"
        + (f", engine_recycles {st['engine_recycles']}" if "engine_recycles" in st else "")
        if st
        else "engine_starts/engine_restarts: unavailable (`status -v` failed)"
    )
    pids = {pid for s in soak.samples for pid in s.engine_pids}
    engine_rss = [s.engine_rss_mib for s in soak.samples if s.engine_rss_mib is not None]
    if engine_rss:
        engine_line += (
            f"; {len(pids)} distinct engine pid(s) in the samples, engine RSS over the samples "
            f"min {min(engine_rss):.1f} / max {max(engine_rss):.1f} MiB "
            "(a sample taken while a standby engine is being built counts both processes)"
        )

    failed = [it for it in soak.iterations if it.rc != 1]
    missed = [it for it in soak.iterations if it.rc == 1 and not it.edit_seen]
    if failed:
        problems.append(f"{len(failed)} check(s) with exit status other than 1")
    if missed:
        problems.append(f"{len(missed)} edit(s) not reflected in the output")
    if soak.mismatches:
        problems.append(f"{soak.mismatches} inconsistent output(s)")
    other = [p for p in soak.problems if p.kind not in ("exit status", "edit missed", "inconsistent output")]
    problems += [f"{p.kind} at iteration {p.iteration}" for p in other]
    if any(p.iteration == 0 and p.kind == "exit status" for p in soak.problems):
        problems.append("first check failed")
    if soak.final_step is not None and soak.final_step.rc != 1:
        problems.append(f"final check exited with {soak.final_step.rc}")
    if interrupted:
        problems.append(f"interrupted ({interrupted})")

    if soak.problems:
        out.append("## Problems")
        out.append("")
        for p in soak.problems[:20]:
            out.append(f"- iteration {p.iteration}: {p.kind}")
            out.append("  ```")
            out += ["  " + line for line in p.detail.splitlines()[:60]]
            out.append("  ```")
        if len(soak.problems) > 20:
            out.append(f"- ... and {len(soak.problems) - 20} more (see --json)")
        out.append("")
    out.append(growth_line + ".")
    out.append("")
    out.append(engine_line + ".")
    out.append("")
    verdict = "OK" if not problems else "PROBLEMS: " + "; ".join(problems)
    if soak.budget_hit:
        verdict += f" (not a failure, but note: {soak.budget_hit})"
    out.append("Verdict: " + verdict)
    return "\n".join(out) + "\n", not problems


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Soak test of our dmypy: edit/check many times, watch RSS (see bench/README.md).",
    )
    p.add_argument("--ours", type=Path, default=REPO / ".build" / "release" / "dmypy",
                   help="our dmypy binary (default: <repo>/.build/release/dmypy)")
    p.add_argument("--python", type=Path, default=REPO / ".venv" / "bin" / "python",
                   help="python with mypy, exported as DMYPY_PYTHON (default: <repo>/.venv/bin/python)")
    p.add_argument("--iterations", type=int, default=2000, help="edit/check cycles (default 2000)")
    p.add_argument("--modules", type=int, default=1000, help="modules in the generated project (default 1000)")
    p.add_argument("--seed", type=int, default=1, help="project generator seed (default 1)")
    p.add_argument("--leaves", type=int, default=5, help="leaf modules edited in turn (default 5)")
    p.add_argument("--core-every", type=int, default=40,
                   help="edit the core module every N iterations instead of a leaf; 0: never (default 40)")
    p.add_argument("--atomic-every", type=int, default=3,
                   help="every N-th save writes a temporary file and renames it over the module; 0: never (default 3)")
    p.add_argument("--sample-every", type=int, default=100, help="record RSS every N iterations (default 100)")
    p.add_argument("--verify-every", type=int, default=10,
                   help="compare the output with the one stored for the same contents every N iterations (default 10)")
    p.add_argument("--warmup", type=int, default=200,
                   help="RSS growth is measured from the first sample at or after this iteration (default 200)")
    p.add_argument("--progress-every", type=int, default=50, help="progress line on stderr every N iterations (default 50)")
    p.add_argument("--max-minutes", type=float, default=15.0,
                   help="stop the loop (and finish normally) after this many minutes; 0: no limit (default 15)")
    p.add_argument("--max-failures", type=int, default=20, help="stop the loop after N failed checks in a row (default 20)")
    p.add_argument("--flags", default=DEFAULT_FLAGS, help=f"mypy flags for `dmypy start --` (default: {DEFAULT_FLAGS!r})")
    p.add_argument("--timeout", type=float, default=300.0, help="timeout per client command, seconds (default 300)")
    p.add_argument("--workdir", type=Path, default=None, help="where to create the temporary directory (default: $TMPDIR)")
    p.add_argument("--json", type=Path, default=None, help="also write the raw samples and iterations to this file")
    args = p.parse_args(argv)
    for name in ("iterations", "sample_every", "verify_every", "leaves", "progress_every", "max_failures"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.modules < 20:
        p.error("--modules must be >= 20")
    if args.core_every < 0 or args.atomic_every < 0 or args.warmup < 0:
        p.error("--core-every, --atomic-every and --warmup must be >= 0")
    for opt in ("ours", "python"):
        path: Path = getattr(args, opt)
        if not (path.is_file() and os.access(path, os.X_OK)):
            p.error(f"--{opt}: {path} is not an executable file")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    env = dict(os.environ)
    env["DMYPY_PYTHON"] = str(args.python.absolute())
    impl = Impl("ours", args.ours.absolute(), env)
    workdir = Path(tempfile.mkdtemp(prefix="dmypy-soak-", dir=args.workdir))
    soak = Soak(args, impl, workdir)
    old_handlers = {s: signal.signal(s, _on_signal) for s in (signal.SIGTERM, signal.SIGHUP)}
    load_start = loadavg()
    interrupted: str | None = None
    try:
        soak.setup()
        soak.loop()
        soak.finish()
    except (KeyboardInterrupt, Interrupted) as e:
        interrupted = str(e) or "KeyboardInterrupt"
        log(f"interrupted ({interrupted}); cleaning up")
    except Exception as e:  # noqa: BLE001 - report whatever broke the run, after cleanup
        interrupted = f"{type(e).__name__}: {e}"
        log(f"error: {interrupted}; cleaning up")
    finally:
        old_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            if soak.daemon is not None:
                if interrupted and not soak.status_end and soak.daemon.daemon_pid() is not None:
                    # Best effort, for the report: the counters and the RSS at the interruption.
                    try:
                        last = soak.iterations[-1] if soak.iterations else None
                        if last is not None and (not soak.samples or soak.samples[-1].iteration != last.iteration):
                            soak.sample(last.iteration, last.ms)
                        soak.status_end = soak.status()
                    except Exception as e:  # noqa: BLE001
                        log(f"status after interruption failed: {e}")
                soak.daemon.shutdown()
            shutil.rmtree(workdir, ignore_errors=True)
        finally:
            signal.signal(signal.SIGINT, old_int)
            for s, h in old_handlers.items():
                signal.signal(s, h)
    elapsed = time.perf_counter() - soak.t0

    report, ok = render(soak, elapsed, (load_start, loadavg()), interrupted)
    print(report, end="")
    if args.json is not None:
        payload: dict[str, Any] = {
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "project": dataclasses.asdict(soak.project) if soak.project else None,
            "targets": [dataclasses.asdict(t) for t in soak.targets],
            "elapsed_seconds": elapsed,
            "load_average": [load_start, loadavg()],
            "start_ms": soak.start_step.ms if soak.start_step else None,
            "first_check_ms": soak.first_check.ms if soak.first_check else None,
            "samples": [dataclasses.asdict(s) for s in soak.samples],
            "iterations": [dataclasses.asdict(it) for it in soak.iterations],
            "comparisons": soak.comparisons,
            "mismatches": soak.mismatches,
            "order_only_differences": soak.order_only,
            "distinct_states": len(soak.outputs),
            "status_start": soak.status_start,
            "status_end": soak.status_end,
            "problems": [dataclasses.asdict(p) for p in soak.problems],
            "interrupted": interrupted,
            "stopped_early": soak.budget_hit,
            "ok": ok,
        }
        args.json.write_text(json.dumps(payload, indent=1, default=str) + "\n")
        log(f"wrote {args.json}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

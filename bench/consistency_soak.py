#!/usr/bin/env python3
"""Consistency soak for the fast path (issue 16): random edits on the generated project, the
daemon's answer after each one, and after every Nth a fresh mypy run compared line by line.

Edits, drawn at random: a leaf's function body (well- and ill-typed), a mid-level module's new
function with a type error or without, the core module's `default_weight` return type (every
module depends on it), a new module (importing an existing one, with or without an error), a
deleted module (one this soak added and nothing imports: a deleted module that is still imported
leaves an import error, and import errors send every later check down mypy's full path, so the
soak would stop exercising the fast path), and a new import added to an existing module. The daemon
is ours, `DMYPY_FAST_PATH=on` (or `--fast-path off` for mypy's own path), `DMYPY_CACHE=off`.

Prints one line per compared step and a summary: differences (must be 0) and the share of checks
that took the fast path (`status -v` read at every compared step, summed over the engines: an
aged engine's replacement counts from 0 again). Exit status 1 on any difference.

    bench/consistency_soak.py [--modules 2000] [--edits 500] [--every 10] [--seed 1] [--fast-path on|off]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import genproject

REPO = Path(__file__).resolve().parent.parent
FLAGS = ["--strict", "--follow-imports=normal"]


# mypy prints this note once per run, after the first missing-import error it reports: which one
# depends on the order modules were processed in (a fine-grained update's order is not a fresh
# run's, on mypy's own path too), so only its presence is compared, not the line it follows.
MISSING_IMPORTS_NOTE = ": note: See https://mypy.readthedocs.io/en/stable/running_mypy.html#missing-imports"


def lines(text: str) -> set[str]:
    result = set()
    for line in text.splitlines():
        if not line or line.startswith("Daemon started"):
            continue
        result.add(MISSING_IMPORTS_NOTE if line.endswith(MISSING_IMPORTS_NOTE) else line)
    return result


class Soak:
    def __init__(self, args: argparse.Namespace, root: Path) -> None:
        self.args = args
        self.root = root
        self.rng = random.Random(args.seed)
        self.project = genproject.generate(root, args.modules, args.seed)
        self.modules = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.py") if p.name != "__init__.py")
        self.added: list[str] = []
        self.imported: set[str] = set()  # added modules some module imports
        self.engines: dict[str, tuple[int, int]] = {}  # engine pid -> (checks, fast) last read
        self.counter = 0
        self.env = dict(os.environ, DMYPY_PYTHON=str(args.python), DMYPY_CACHE="off", DMYPY_FAST_PATH=args.fast_path)
        for name in ("DMYPY_SOCKET", "XDG_RUNTIME_DIR", "MYPY_FORCE_COLOR", "FORCE_COLOR"):
            self.env.pop(name, None)

    def dmypy(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.args.ours), *arguments], cwd=self.root, env=self.env, capture_output=True,
                              text=True, timeout=900)

    def fresh(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.args.python), "-m", "mypy", "--cache-dir", os.devnull, *FLAGS, "pkg"],
                              cwd=self.root, env=self.env, capture_output=True, text=True, timeout=900)

    @staticmethod
    def module_name(rel: str) -> str:
        return rel[:-3].replace("/", ".")

    def edit(self) -> str:
        self.counter += 1
        n = self.counter
        kind = self.rng.choices(["leaf", "mid", "core", "new", "delete", "import"], [40, 20, 5, 15, 10, 10])[0]
        deletable = [rel for rel in self.added if rel not in self.imported]
        if kind == "delete" and not deletable:
            kind = "new"
        if kind == "leaf":
            path = self.root / self.project.leaf_rel
            path.write_text(genproject.replace_region(path.read_text(), "LEAF", genproject.leaf_region(n, self.rng.random() < 0.5)))
            return f"leaf {self.project.leaf_rel}"
        if kind == "mid":
            rel = self.rng.choice(self.modules)
            bad = self.rng.random() < 0.5
            with open(self.root / rel, "a", encoding="utf-8") as f:
                f.write(f"\n\ndef soak_{n}(x: int) -> {'str' if bad else 'int'}:\n    return x\n")
            return f"mid {rel}"
        if kind == "core":
            path = self.root / self.project.core_rel
            path.write_text(genproject.replace_region(path.read_text(), "CORE", genproject.core_region(n % 2)))
            return "core"
        if kind == "new":
            target = self.rng.choice(self.modules)
            rel = f"pkg/soak_{n}.py"
            bad = self.rng.random() < 0.5
            (self.root / rel).write_text(f"import {self.module_name(target)}\n\nvalue: {'str' if bad else 'int'} = 1\n")
            self.added.append(rel)
            return f"new {rel}"
        if kind == "delete":
            rel = deletable[self.rng.randrange(len(deletable))]
            self.added.remove(rel)
            (self.root / rel).unlink()
            return f"delete {rel}"
        rel = self.rng.choice(self.modules)
        other = self.rng.choice(self.added or self.modules)
        self.imported.add(other)
        with open(self.root / rel, "a", encoding="utf-8") as f:
            f.write(f"\nimport {self.module_name(other)}  # soak {n}\n")
        return f"import {other} in {rel}"

    def status(self) -> dict[str, str]:
        fields = {}
        for line in self.dmypy("status", "-v").stdout.splitlines():
            key, _, value = line.partition(":")
            fields[key.strip()] = value.strip()
        try:
            self.engines[fields["engine_pid"]] = (int(fields["fast_path_checks"]), int(fields["fast_path_taken"]))
        except (KeyError, ValueError):
            pass
        return fields

    def run(self) -> int:
        started = time.monotonic()
        first = self.dmypy("run", "--", *FLAGS, "pkg")
        if first.returncode not in (0, 1):
            print(f"the first run failed ({first.returncode}): {first.stdout}{first.stderr}", file=sys.stderr)
            return 2
        differences = 0
        compared = 0
        for step in range(1, self.args.edits + 1):
            what = self.edit()
            ours = self.dmypy("check", "pkg")
            if step % self.args.every:
                continue
            self.status()
            fresh = self.fresh()
            compared += 1
            same = lines(ours.stdout) == lines(fresh.stdout) and ours.returncode == fresh.returncode and ours.stderr == fresh.stderr
            if not same:
                differences += 1
                print(f"step {step} ({what}): DIFFERS", flush=True)
                print("  only ours:", sorted(lines(ours.stdout) - lines(fresh.stdout))[:10])
                print("  only fresh mypy:", sorted(lines(fresh.stdout) - lines(ours.stdout))[:10])
                print(f"  status ours {ours.returncode}, fresh {fresh.returncode}; stderr {ours.stderr!r}")
            else:
                print(f"step {step} ({what}): same ({len(lines(fresh.stdout))} lines)", flush=True)
        status = self.status()
        self.dmypy("stop")
        checks = sum(c for c, _ in self.engines.values())
        fast = sum(f for _, f in self.engines.values())
        print(f"fast path, last: {status.get('fast_path_last', '?')}; engine starts {status.get('engine_starts', '?')}")
        print(f"\n{self.args.edits} edits on {self.args.modules} modules (fast path {self.args.fast_path}), "
              f"{compared} compared with a fresh mypy run: {differences} differences; "
              f"fast path taken by {fast} of {checks} checks (engine starts: {len(self.engines)} seen); {time.monotonic() - started:.0f} s")
        return 1 if differences else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--modules", type=int, default=2000)
    p.add_argument("--edits", type=int, default=500)
    p.add_argument("--every", type=int, default=10)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--fast-path", choices=("on", "off"), default="on")
    p.add_argument("--ours", type=Path, default=REPO / ".build" / "release" / "dmypy")
    p.add_argument("--python", type=Path, default=REPO / ".venv" / "bin" / "python")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dmypy-soak-"))
    try:
        return Soak(args, work / "project").run()
    finally:
        subprocess.run([str(args.ours), "stop"], cwd=work / "project", capture_output=True, check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

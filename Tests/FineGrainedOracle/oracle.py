#!/usr/bin/env python3
"""mypy's own fine-grained test data as the oracle for the engine's fast path.

Each case of `test-data/unit/fine-grained*.test` (mypy 2.4.1 sdist) is written to a directory,
checked, then edited on disk step by step (`[file x.py.2]`, `[delete x.py.2]`; an edited file keeps
its mtime, as a same-second edit does), and after each edit the engine is told exactly which paths
changed (`invalidate` with `complete`, as the daemon sends
it) and checked again. Each case runs twice, each in its own process (mypy has global state):
our engine adapter with the fast path on, and the same adapter with `DMYPY_FAST_PATH=off`, which
is mypy's own `Server.run_command` (what mypy's dmypy runs). A case *passes* for one of them when
its outputs equal the case's `[out]` (steps separated by `==`).

What must hold: no case that mypy's path passes fails on the fast path ("regressions"); and the
two outputs are compared step by step, so any difference at all is reported.

Real typeshed is used, not mypy's test fixtures (`use_builtins_fixtures`), so many cases fail for
both (reveal_type texts, fixture-only builtins): they still count in the comparison. Skipped:
suggest/inspect/cache files, cases marked -skip/-xfail/-only_when_cache, `num_build_steps`,
Python versions newer than this interpreter, and files outside the case directory.

Usage: oracle.py SDIST_DIR [--subset N [--offset K]] [--files GLOB] [--case NAME]...
[--cases-from FILE] [--jobs J]; exit 1 on a regression or a difference. `--files` may name a
test file outside the sdist (an absolute path). `regressions.txt` lists the cases that once
differed. Standard library only; the engine's python (DMYPY_PYTHON) runs each case.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
RESOURCES = os.path.join(HERE, "..", "..", "Sources", "DmypyEngine", "Resources")
SKIPPED_FILES = ("fine-grained-suggest.test", "fine-grained-inspect.test", "fine-grained-cache-incremental.test")


@dataclass
class Case:
    name: str
    file: str
    main: str
    # step -> list of (path, text or None for delete); step 1 is the initial files
    steps: dict[int, list[tuple[str, str | None]]] = field(default_factory=dict)
    out: list[str] = field(default_factory=list)
    skip: str | None = None


def parse(path: str) -> list[Case]:
    cases: list[Case] = []
    text = open(path, encoding="utf-8").read()
    for chunk in re.split(r"^\[case ", text, flags=re.M)[1:]:
        header, _, body = chunk.partition("\n")
        name = header.rstrip().rstrip("]")
        sections = re.split(r"^\[([^\]]+)\][ \t]*$", body, flags=re.M)
        case = Case(name=name, file=os.path.basename(path), main=_strip(sections[0]))
        case.steps[1] = [("main", case.main)]
        for i in range(1, len(sections), 2):
            raw = sections[i + 1]
            head, content = sections[i].strip(), _strip(raw[1:] if raw.startswith("\n") else raw)
            kind, _, arg = head.partition(" ")
            if kind in ("file", "outfile"):
                if kind == "outfile":
                    continue
                m = re.match(r"(.*)\.([0-9]+)$", arg)
                step, name_ = (int(m.group(2)), m.group(1)) if m else (1, arg)
                case.steps.setdefault(step, []).append((name_, content))
            elif kind == "delete":
                m = re.match(r"(.*)\.([0-9]+)$", arg)
                if m:
                    case.steps.setdefault(int(m.group(2)), []).append((m.group(1), None))
            elif kind == "out":
                case.out = [line for line in content.split("\n") if line != ""] if content else []
            elif kind in ("out2", "out3"):
                case.skip = case.skip or "separate [outN] sections"
        if re.search(r"-(skip|xfail|only_when_cache)$", name):
            case.skip = "marked " + name.rsplit("-", 1)[1]
        elif "# num_build_steps" in case.main:
            case.skip = "num_build_steps"
        elif any(os.path.isabs(p) or p.startswith("..") for s in case.steps.values() for p, _ in s):
            case.skip = "files outside the case directory"
        m = re.search(r"--python-version[= ]([0-9]+)\.([0-9]+)", case.main)
        if m and (int(m.group(1)), int(m.group(2))) > sys.version_info[:2]:
            case.skip = "a newer Python"
        if "python312" in path and sys.version_info < (3, 12) or "python314" in path and sys.version_info < (3, 14):
            case.skip = "a newer Python"
        cases.append(case)
    return cases


def _strip(text: str) -> str:
    lines = text.split("\n")
    while lines and lines[-1].strip() == "":
        lines.pop()
    return "\n".join(lines) + ("\n" if lines else "")


def flags_for(case: Case) -> list[str]:
    m = re.search(r"# flags: (.*)$", case.main, flags=re.M)
    flags = m.group(1).split() if m else []
    extra = ["--no-site-packages", "--show-traceback", "--local-partial-types"]
    if "--show-error-codes" not in flags:
        extra.append("--hide-error-codes")
    if not any(f.startswith("--follow-imports") for f in flags):
        extra.append("--follow-imports=error")
    if not case.name.endswith("_no_empty"):
        extra.append("--allow-empty-bodies")
    if not m:
        extra.append("--no-error-summary")
    return flags + extra


def targets_for(case: Case, step: int) -> list[str]:
    m = None
    for pattern in (rf"# cmd{step}: mypy ([a-zA-Z0-9_./ ]+)$", r"# cmd: mypy ([a-zA-Z0-9_./ ]+)$"):
        m = re.search(pattern, case.main, flags=re.M)
        if m:
            return m.group(1).strip().split()
    return ["main", "."]


RUNNER = r'''
import json, os, sys
sys.path.insert(0, sys.argv[1])
import importlib.util
import engine_fastpath, engine_cache, engine_update
sys.modules["dmypy_engine_fastpath"] = engine_fastpath
sys.modules["dmypy_engine_update"] = engine_update
sys.modules["dmypy_engine_cache"] = engine_cache
spec = importlib.util.spec_from_file_location("adapter", os.path.join(sys.argv[1], "engine_adapter.py"))
adapter = importlib.util.module_from_spec(spec); spec.loader.exec_module(adapter)
plan = json.loads(sys.stdin.read())
class Chan:
    def __init__(self): self.sent = []
    def send(self, m): self.sent.append(m)
engine = adapter.Engine(Chan())
started = engine.start({"flags": plan["flags"], "allow_sources": True})
results = []
if not started["ok"]:
    print(json.dumps({"error": started["err"] + started["out"]})); sys.exit(0)
for i, step in enumerate(plan["steps"]):
    for path, text in step["edits"]:
        if text is None:
            if os.path.exists(path): os.remove(path)
        else:
            d = os.path.dirname(path)
            if d: os.makedirs(d, exist_ok=True)
            before = os.stat(path) if os.path.exists(path) else None
            with open(path, "w") as f: f.write(text)
            if before is not None:
                # The edit keeps the file's mtime: every same-size edit is one within the same
                # second, which mypy's watcher alone misses (only `invalidate` can tell it), and
                # no case depends on whether the clock ticked between two steps.
                os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    if i:
        engine.invalidate({"op": "invalidate", "paths": [os.path.abspath(p) for p, _ in step["edits"]], "all": False, "complete": True})
    engine.channel.sent.clear()
    engine.request({"op": "request", "id": i + 1, "command": "check",
                    "data": {"files": step["targets"], "export_types": False, "is_tty": False, "terminal_width": 80}})
    final = [m for m in engine.channel.sent if m.get("final")][0]
    r = final["response"]
    results.append({"out": r.get("out", "") + r.get("err", "") + r.get("error", ""), "fast": final.get("fast_path", {}).get("taken", False),
                    "why": final.get("fast_path", {}).get("reason", "")})
print(json.dumps({"steps": results}))
'''


def run_case(case: Case, python: str, fast: bool) -> dict:
    directory = tempfile.mkdtemp(prefix="fgoracle-")
    try:
        steps = []
        for step in sorted(case.steps):
            steps.append({"edits": case.steps[step], "targets": targets_for(case, step)})
        env = dict(os.environ, DMYPY_FAST_PATH="on" if fast else "off")
        env.pop("MYPYPATH", None)
        proc = subprocess.run(
            [python, "-c", RUNNER, os.path.abspath(RESOURCES)],
            input=json.dumps({"flags": flags_for(case), "steps": steps}),
            capture_output=True, text=True, cwd=directory, env=env, timeout=600,
        )
        try:
            return json.loads(proc.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            return {"error": proc.stderr[-2000:]}
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def outputs(result: dict) -> list[str] | None:
    if "steps" not in result:
        return None
    lines: list[str] = []
    for i, step in enumerate(result["steps"]):
        if i:
            lines.append("==")
        lines += [line for line in step["out"].split("\n") if line]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("sdist")
    parser.add_argument("--files", default="fine-grained*.test")
    parser.add_argument("--subset", type=int, default=1, help="every Nth runnable case (deterministic)")
    parser.add_argument("--offset", type=int, default=0, help="with --subset N: start at the Kth case (0..N-1)")
    parser.add_argument("--case", action="append", default=[], help="run only cases of this name (repeatable)")
    parser.add_argument("--cases-from", help="run only the cases named in this file (a name a line, # comments)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--python", default=os.environ.get("DMYPY_PYTHON", sys.executable))
    args = parser.parse_args()
    if args.cases_from:
        with open(args.cases_from, encoding="utf-8") as f:
            args.case += [line.split("#")[0].strip() for line in f if line.split("#")[0].strip()]
    files = sorted(glob.glob(os.path.join(args.sdist, "test-data", "unit", args.files)))
    cases: list[Case] = []
    skipped: dict[str, int] = {}
    for path in files:
        if os.path.basename(path) in SKIPPED_FILES:
            n = len(parse(path))
            skipped[f"{os.path.basename(path)} (suggest/inspect/cache)"] = n
            continue
        for case in parse(path):
            if case.skip:
                skipped[case.skip] = skipped.get(case.skip, 0) + 1
            elif not args.case or case.name in args.case:
                cases.append(case)
    runnable = len(cases)
    cases = cases[args.offset :: args.subset]

    def both(case: Case) -> tuple[Case, dict, dict]:
        return case, run_case(case, args.python, True), run_case(case, args.python, False)

    counts = {"both pass": 0, "only mypy passes (regression)": 0, "only fast passes": 0, "both fail": 0}
    differences = []
    fast_steps = steps_total = 0
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for case, fast, slow in pool.map(both, cases):
            fo, so = outputs(fast), outputs(slow)
            fp, sp = fo == case.out, so == case.out
            key = "both pass" if fp and sp else "only mypy passes (regression)" if sp else "only fast passes" if fp else "both fail"
            counts[key] += 1
            for step in fast.get("steps", [])[1:]:
                steps_total += 1
                fast_steps += step["fast"]
            if fo != so:
                differences.append((case, fo, so, fast))
                print(f"DIFFERENT: {case.file}::{case.name}", flush=True)
                print("  fast: ", json.dumps(fo)[:1500])
                print("  mypy: ", json.dumps(so)[:1500])
                print("  fast path:", [(s["fast"], s["why"]) for s in fast.get("steps", [])])
    print(f"cases: {runnable} runnable, {len(cases)} run (every {args.subset}th from {args.offset}), {sum(skipped.values())} skipped")
    for why, n in sorted(skipped.items()):
        print(f"  skipped {n}: {why}")
    for key, n in counts.items():
        print(f"  {key}: {n}")
    print(f"  outputs different from mypy's path: {len(differences)}")
    print(f"  edit steps on the fast path: {fast_steps} of {steps_total}")
    return 1 if differences or counts["only mypy passes (regression)"] else 0


if __name__ == "__main__":
    sys.exit(main())

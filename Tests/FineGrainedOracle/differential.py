"""In-process: two adapter Engines (fast path on / off) on copies of one project, same edits."""
import os, sys, random, shutil, time, re, json
RESOURCES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Sources", "DmypyEngine", "Resources")
sys.path.insert(0, RESOURCES)
import importlib.util
spec = importlib.util.spec_from_file_location("adapter", os.path.join(RESOURCES, "engine_adapter.py"))
import engine_fastpath, engine_update
sys.modules["dmypy_engine_fastpath"] = engine_fastpath
sys.modules["dmypy_engine_update"] = engine_update
import engine_cache; sys.modules["dmypy_engine_cache"] = engine_cache
adapter = importlib.util.module_from_spec(spec); spec.loader.exec_module(adapter)

class Chan:
    def __init__(self): self.sent=[]
    def send(self, m): self.sent.append(m)

def make(enabled):
    e = adapter.Engine(Chan())
    e.fastpath.enabled = enabled
    r = e.start({"flags": FLAGS, "allow_sources": True})
    assert r["ok"], r
    return e

def run(e, data):
    e.channel.sent.clear()
    e.request({"op":"request","id":1,"command":"check","data":data})
    final = [m for m in e.channel.sent if m.get("final")][0]
    return final

FLAGS = sys.argv[2:] or ["--strict", "--follow-imports=normal"]
root = sys.argv[1]
os.chdir(root)
data = {"files": ["pkg"], "export_types": False, "is_tty": False, "terminal_width": 80}
fast, slow = make(True), make(False)
rng = random.Random(int(os.environ.get("SEED", "1")))
files = sorted(os.path.join(d, f) for d, _, fs in os.walk("pkg") for f in fs if f.endswith(".py"))
def both():
    a = run(fast, data); b = run(slow, data)
    return a, b
a, b = both()
assert a["response"]["out"] == b["response"]["out"]
diffs = 0; taken = 0; n = int(os.environ.get("N", "40")); tf=ts=0.0
prev_kind = None
for i in range(n):
    path = rng.choice(files)
    text = open(path).read()
    kinds = ["append_ok", "append_err", "revert_err", "change_sig", "add_import", "syntax", "new_file", "delete_new", "core"]
    kind = rng.choice(kinds)
    if i and prev_kind == "syntax":
        kind = "syntax"
    prev_kind = kind if not (i and prev_kind == "syntax") else "unsyntax"
    if kind == "core":
        path = "pkg/core/base.py"; text = open(path).read()
    removed = []
    if kind == "append_ok":
        text += f"\ndef _extra_{i}() -> int:\n    return {i}\n"
    elif kind == "append_err":
        text += f"\ndef _bad_{i}() -> int:\n    return 'x'\n"
    elif kind == "revert_err":
        text = re.sub(r"\ndef _bad_\d+\(\) -> int:\n    return 'x'\n", "\n", text, count=1)
    elif kind == "change_sig":
        text = re.sub(r"-> int:", "-> str:", text, count=1)
    elif kind == "add_import":
        text = "import pkg.core.base\n" + text
    elif kind == "syntax":
        path = files[3]; text = open(path).read()
        text = text.replace("\n$$$", "") if "\n$$$" in text else text + "\n$$$"
    elif kind == "new_file":
        path = f"pkg/new_{i}.py"; text = f"from pkg.core import base\nx: int = 'no'\n"
    elif kind == "delete_new":
        news = [f for f in os.listdir("pkg") if f.startswith("new_")]
        if news:
            path = "pkg/" + news[0]; os.remove(path); removed = [path]
    elif kind == "core":
        text += f"\ndef core_extra_{i}(x: int) -> int:\n    return x\n"
    if not removed:
        open(path, "w").write(text)
    msg = {"op":"invalidate","paths":[os.path.abspath(path)],"all":False,"complete":True}
    fast.invalidate(msg); slow.invalidate(msg)
    t0=time.monotonic(); a = run(fast, data); t1=time.monotonic(); b = run(slow, data); t2=time.monotonic()
    tf += t1-t0; ts += t2-t1
    fp = a.get("fast_path", {})
    taken += fp.get("taken", False)
    if a["response"]["out"] != b["response"]["out"]:
        diffs += 1
        print("DIFF at", i, kind, path, fp)
        import difflib
        print("".join(difflib.unified_diff(b["response"]["out"].splitlines(True), a["response"]["out"].splitlines(True), "mypy", "fast")))
    elif not fp.get("taken"):
        print(i, kind, "not taken:", fp.get("reason"))
print(f"edits {n} diffs {diffs} fast {taken} fast_s {tf:.2f} mypy_s {ts:.2f}")

import subprocess
fresh = subprocess.run([sys.executable, "-m", "mypy"] + FLAGS + ["pkg"], capture_output=True, text=True)
print("fresh == fast:", sorted(fresh.stdout.splitlines()[:-1]) == sorted(a["response"]["out"].splitlines()[:-1]), fresh.stdout.splitlines()[-1:], a["response"]["out"].splitlines()[-1:])

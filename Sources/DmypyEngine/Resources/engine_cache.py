"""Cache slots: a fine-grained mypy cache per workspace that the daemon keeps itself.

A slot lives under `<root>/<project>/<key>/` (root: `$XDG_CACHE_HOME/dmypy-swift`), never in the
project's `.mypy_cache`. Its key is everything mypy's cache validity depends on: mypy's and
Python's versions, the platform, the options snapshot, the plugins and their versions, the
project directory and the format of our own writing. Each write is a generation directory
(`gen-*`, holding `manifest.json` and mypy's `cache/`) that is complete before `current` (a
symlink) is switched to it, so a reader never sees a half-written cache.

The writer is a sequential batch build (`mypy.build.build` with `cache_fine_grained`), never
mypy's parallel mode, whose workers keep the fine-grained dependencies to themselves: a cache
without dependency edges is refused. Both sides pin the store (sqlite, 16 shards, fixed format).

Run as `python -c <this file> --write-cache <spec json>` it writes (or refreshes) one slot at idle
priority, under a lock, and prints one JSON line saying what it did.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import sys
import threading
import time
from collections.abc import Iterable
from typing import Any

FORMAT = 2  # 2: `sources` are what the build read (mypy's digests), with `settled` stats
SHARDS = 16
MAX_GENERATIONS = 1  # old generations kept besides `current`
MAX_SLOTS_PER_PROJECT = 3
DEFAULT_MAX_TOTAL_BYTES = 4 << 30
MANIFEST = "manifest.json"


def pin_store(options: Any, cache_dir: str) -> None:
    """The store both the writer and the loader use, whatever mypy's defaults become."""
    options.cache_dir = cache_dir
    options.cache_fine_grained = True
    options.sqlite_cache = True
    options.sqlite_num_shards = SHARDS
    options.fixed_format_cache = True


def server_options(options: Any) -> None:
    """What mypy's daemon Server changes in its options (dmypy_server.Server.__init__)."""
    options.raise_exceptions = True
    options.incremental = True
    options.show_traceback = True
    options.local_partial_types = True
    options.num_workers = 0


def _canonical(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return sorted(repr(v) for v in value)
    if isinstance(value, tuple):
        return list(value)
    return repr(value)


def plugins_snapshot(options: Any) -> dict[str, str]:
    import io

    import mypy.build
    import mypy.errors

    _, snapshot = mypy.build.load_plugins(options, mypy.errors.Errors(options), io.StringIO(), extra_plugins=())
    return dict(snapshot)


def slot_key(options_snapshot: dict[str, Any], plugins: dict[str, str], directory: str) -> tuple[str, dict[str, Any]]:
    """The slot's key and what it was made of."""
    from mypy.version import __version__

    material = {
        "format": FORMAT,
        "mypy": __version__,
        "python": sys.version,
        "cache_tag": sys.implementation.cache_tag,
        "platform": sys.platform,
        "options": options_snapshot,
        "plugins": plugins,
        "directory": directory,
    }
    return key_of(material), material


def key_of(material: dict[str, Any]) -> str:
    """A key: what it is made of, hashed (sets and other values made canonical first)."""
    text = json.dumps(material, sort_keys=True, default=_canonical)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def project_dir(root: str, directory: str) -> str:
    return os.path.join(root, hashlib.sha256(directory.encode()).hexdigest()[:16])


def slot_dir(root: str, directory: str, key: str) -> str:
    return os.path.join(project_dir(root, directory), key)


def file_digest(path: str) -> str | None:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


# A file's stat is evidence of its content only when its last change is at least this much older
# than the stat: any later write then shows as a later ctime (file timestamps are coarse-grained).
SETTLED_NS = 2_000_000_000


def source_digest(path: str) -> str | None:
    """mypy's own digest of a file's content (`mypy.util.hash_digest`, as its cache metas keep)."""
    from mypy.util import hash_digest

    try:
        with open(path, "rb") as f:
            return hash_digest(f.read())
    except OSError:
        return None


def stat_key(st: os.stat_result) -> list[int]:
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def build_inputs(graph: dict[str, Any]) -> tuple[dict[str, str | None], dict[str, list[int]]]:
    """What a build's cache holds the analysis of, file by file (typeshed's included), by
    absolute path: mypy's digest of the content the build parsed, or of the content its cache's
    meta was written from when mypy trusted that meta (matching size and mtime) instead. And the
    stat of each file that has that content now, settled (`unchanged`).

    Digests are never taken from the files after the build: a file edited while mypy built (or,
    same size within the same second, before it trusted an older meta) would be recorded with
    content its cache does not hold."""
    digests: dict[str, str | None] = {}
    settled: dict[str, list[int]] = {}
    for state in graph.values():
        if state.path:
            path = os.path.abspath(state.path)
            digests[path] = state.source_hash or state.meta_source_hash
            unchanged(path, digests[path], settled)
    return digests, settled


def unchanged(path: str, digest: Any, settled: dict[str, Any]) -> bool:
    """Positive evidence that a file has the content whose digest is `digest`: the stat in
    `settled` it had when it was seen with that content, or else that content read now. A file
    read and found equal whose last change is `SETTLED_NS` older than its stat gets that stat in
    `settled`: while its stat stays the same, so does its content (every write moves the ctime),
    and the next look at it need not read it."""
    seen = time.time_ns()
    try:
        st = os.stat(path)
    except OSError:
        return False
    key = stat_key(st)
    if settled.get(path) == key:
        return True
    if not isinstance(digest, str) or source_digest(path) != digest:
        return False
    if max(st.st_mtime_ns, st.st_ctime_ns) < seen - SETTLED_NS:
        settled[path] = key
    return True


def inputs_unchanged(graph: dict[str, Any], manifest: dict[str, Any]) -> bool:
    """Whether a loaded build has exactly the files, each with the content, the slot was built from."""
    digests, settled = manifest.get("sources"), manifest.get("settled")
    if not isinstance(digests, dict) or not isinstance(settled, dict):
        return False
    paths = {os.path.abspath(state.path) for state in graph.values() if state.path}
    return paths == digests.keys() and all(unchanged(path, digests[path], settled) for path in paths)


def module_graph(graph: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each module of a build that has a file: its absolute path and its direct imports. A loader
    tells from it, before loading, how much of the build an edit made while the daemon was down
    makes stale (`stale_share`)."""
    from mypy.build import PRI_INDIRECT

    modules: dict[str, dict[str, Any]] = {}
    for module, state in graph.items():
        if not state.path:
            continue
        imports = sorted({d for d in state.dependencies if state.priorities.get(d) != PRI_INDIRECT})
        modules[module] = {"path": os.path.abspath(state.path), "imports": imports}
    return modules


# Below this many modules of the project's own a warm load costs little whatever changed.
COLD_SHARE_MIN_MODULES = 100


def stale_share(manifest: dict[str, Any]) -> tuple[int, int] | None:
    """How many of the project's modules in the slot depend on a file changed since it was
    written (or are one), and how many there are; None if the manifest does not say."""
    graph, sources, project = manifest.get("graph"), manifest.get("sources"), manifest.get("project")
    settled = manifest.get("settled")
    if not isinstance(graph, dict) or not isinstance(sources, dict) or not isinstance(project, str) or not isinstance(settled, dict):
        return None
    prefix = project.rstrip("/") + "/"
    changed: set[str] = set()
    importers: dict[str, set[str]] = {}
    for module, entry in graph.items():
        if not isinstance(entry, dict):
            return None
        path = str(entry.get("path"))
        for dep in entry.get("imports") or ():
            importers.setdefault(str(dep), set()).add(module)
        if not unchanged(path, sources.get(path), settled):  # what it reads is then only stat'ed by the loader
            changed.add(module)  # edited or gone
    stale, frontier = set(changed), list(changed)
    while frontier:
        for importer in importers.get(frontier.pop(), ()):
            if importer not in stale:
                stale.add(importer)
                frontier.append(importer)
    own = {m for m, entry in graph.items() if str(entry.get("path")).startswith(prefix)}
    return len(stale & own), len(own)


def mostly_stale(manifest: dict[str, Any]) -> str | None:
    """Why this start should build cold although the slot is good: most of the project depends
    on something edited while the daemon was down. mypy's update of a loaded build re-checks
    those modules one by one, which costs more than a cold build (on 2,000 modules, after an
    edit of the module every other imports: 32.9 s, against 23–25 s cold); the daemon rebuilds
    a checkout by the same rule."""
    share = stale_share(manifest)
    if share is None:
        return None
    stale, total = share
    if total < COLD_SHARE_MIN_MODULES or stale * 2 <= total:
        return None
    return f"most of the build changed while the daemon was down ({stale} of {total} modules depend on an edit): a cold build is faster"


def _file_hashes(cache_dir: str) -> dict[str, str]:
    hashes: dict[str, str] = {}
    for base, _, names in os.walk(cache_dir):
        for name in names:
            if name.endswith(("-wal", "-shm", "-journal")):
                continue  # sqlite's side files: a reader may create them
            path = os.path.join(base, name)
            digest = hashlib.sha256()
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk)
            hashes[os.path.relpath(path, cache_dir)] = digest.hexdigest()
    return hashes


class Evidence:
    """Everything mypy looked at on disk in this engine's life, as the paths whose change matters.

    The daemon answers from memory only while each of these is under a live watch: a file mypy
    read or stat'ed (also one that did not exist, or did not parse), and a directory it listed.
    For a missing file under missing directories, what matters is the topmost missing one
    appearing. Each reply carries only what is new.
    """

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.seen_listings: set[str] = set()
        self.files: set[str] = set()
        self.directories: set[str] = set()
        self.new_files: list[str] = []
        self.new_directories: list[str] = []
        # The engine's own shadow files (editor buffers): the daemon knows when they change.
        self.private_prefix: str | None = None

    def add(self, stats: dict[str, Any], listings: Iterable[str], failed_listings: Iterable[str]) -> None:
        # A directory that could not be listed is a path whose appearance matters, like a missing file.
        looked_at = list(stats.items()) + [(path, None) for path in failed_listings]
        for path, st in looked_at:
            if path in self.seen:
                continue
            self.seen.add(path)
            absolute = os.path.abspath(path)
            if self.private_prefix is not None and absolute.startswith(self.private_prefix):
                continue
            target = absolute if st is not None else self.topmost_missing(absolute)
            if target not in self.files:
                self.files.add(target)
                self.new_files.append(target)
        for path in listings:
            if path in self.seen_listings:
                continue
            self.seen_listings.add(path)
            absolute = os.path.abspath(path)
            if absolute not in self.directories:
                self.directories.add(absolute)
                self.new_directories.append(absolute)

    @staticmethod
    def topmost_missing(path: str) -> str:
        parent = os.path.dirname(path)
        while parent != path and not os.path.isdir(parent):
            path, parent = parent, os.path.dirname(parent)
        return path

    def know(self, known: Any) -> None:
        """Paths the daemon was told of already (a cache slot's, at the engine's start)."""
        if isinstance(known, dict):
            self.files.update(str(p) for p in known.get("files", []))
            self.directories.update(str(p) for p in known.get("directories", []))

    def everything(self) -> dict[str, list[str]]:
        return {"files": sorted(self.files), "directories": sorted(self.directories)}

    def take_new(self) -> dict[str, list[str]] | None:
        if not self.new_files and not self.new_directories:
            return None
        new = {"files": self.new_files, "directories": self.new_directories}
        self.new_files, self.new_directories = [], []
        return new


def recording_file_system_cache(evidence: Evidence) -> Any:
    """mypy's FileSystemCache, telling `evidence` what it was asked about before each flush.

    mypy flushes the cache at the end of every check, so what a build looked at is only visible
    then. (FileSystemCache allows interpreted subclasses; mypy's tests subclass it too.)
    """
    from mypy.fscache import FileSystemCache

    class RecordingFileSystemCache(FileSystemCache):
        def flush(self) -> None:
            self.record()
            super().flush()

        def record(self) -> None:
            stats = getattr(self, "stat_or_none_cache", None)  # flush() runs in __init__ too
            if stats is not None:
                evidence.add(stats, list(self.listdir_cache), list(self.listdir_error_cache))

    return RecordingFileSystemCache()


class SlotProblem(Exception):
    """Why a slot cannot be used (said once in the log, then the build goes cold)."""


def verified(slot: str, key: str) -> tuple[str, dict[str, Any]]:
    """The current generation's cache directory and manifest, after checking everything."""
    cache_dir, manifest = opened(slot, key)
    check_files(cache_dir, manifest)
    return cache_dir, manifest


def opened(slot: str, key: str) -> tuple[str, dict[str, Any]]:
    """The current generation's cache directory and manifest, the manifest checked; the files
    are checked by `check_files` (`SlotCheck` does it while mypy loads them)."""
    from mypy.version import __version__

    current = os.path.join(slot, "current")
    if not os.path.lexists(current):
        raise SlotProblem("no cache has been written for these options yet")
    generation = os.path.realpath(current)
    try:
        with open(os.path.join(generation, MANIFEST), encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, ValueError) as e:
        raise SlotProblem(f"its manifest cannot be read ({e})") from None
    if not isinstance(manifest, dict):
        raise SlotProblem("its manifest is not an object")
    if manifest.get("format") != FORMAT or manifest.get("key") != key:
        raise SlotProblem("it was written for other options or by another version of dmypy-swift")
    if manifest.get("mypy_version") != __version__:
        raise SlotProblem(f"it was written by mypy {manifest.get('mypy_version')}, not {__version__}")
    if not manifest.get("dependency_edges"):
        raise SlotProblem("it has no fine-grained dependency edges (a daemon loading it would miss errors)")
    if not manifest.get("modules"):
        raise SlotProblem("it holds no modules")
    return os.path.join(generation, "cache"), manifest


def check_files(cache_dir: str, manifest: dict[str, Any]) -> None:
    try:
        hashes = _file_hashes(cache_dir)
    except OSError as e:
        raise SlotProblem(f"it cannot be read ({e})") from None
    if hashes != manifest.get("files"):
        raise SlotProblem("its files do not match their checksums (corrupt, partial or changed)")


class SlotCheck:
    """A slot's checksums, verified on a thread of their own while mypy loads the slot: reading
    and hashing release the GIL, so on a second core this costs the start nothing. Nothing
    loaded is used before `problem()` says the files were the ones written; if they were not,
    the load is thrown away and the build goes cold."""

    def __init__(self, cache_dir: str, manifest: dict[str, Any]) -> None:
        self._problem: str | None = None
        self._thread = threading.Thread(target=self._check, args=(cache_dir, manifest), name="slot-check", daemon=True)
        self._thread.start()

    def _check(self, cache_dir: str, manifest: dict[str, Any]) -> None:
        try:
            check_files(cache_dir, manifest)
        except SlotProblem as e:
            self._problem = str(e)

    def problem(self) -> str | None:
        """Waits for the check: None when every file matched its checksum."""
        self._thread.join()
        return self._problem


def claim(root: str, directory: str, slot: str) -> Any:
    """Creates the slot and takes its lock (released when the returned file is closed); None
    when another process holds it: one writer per slot, whether it builds or unpacks."""
    os.makedirs(slot, exist_ok=True)
    with open(os.path.join(project_dir(root, directory), "project.txt"), "w", encoding="utf-8") as f:
        f.write(directory + "\n")
    lock = open(os.path.join(slot, "lock"), "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        return None
    return lock


def publish(slot: str, staging: str) -> str:
    """A complete staging directory becomes the slot's current generation: renamed, then
    `current` switched to it by renaming a new symlink over it. Returns the generation."""
    generation = os.path.join(slot, f"gen-{time.time_ns()}")
    os.rename(staging, generation)
    link = os.path.join(slot, f"current.{os.getpid()}")
    os.symlink(os.path.basename(generation), link)
    os.rename(link, os.path.join(slot, "current"))
    return generation


def discard(slot: str, reason: str) -> None:
    """Removes a slot that failed (it is written again after the next cold build)."""
    shutil.rmtree(slot, ignore_errors=True)


# The writer: a separate process at idle priority.


def idle_priority() -> None:
    try:
        os.nice(19)
    except OSError:
        pass
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (OSError, AttributeError):
        pass
    try:  # ioprio_set(IOPRIO_WHO_PROCESS, 0, IOPRIO_CLASS_IDLE << 13): no Python API for it
        import ctypes
        import platform

        number = {"x86_64": 251, "aarch64": 30}.get(platform.machine())
        if number is not None:
            ctypes.CDLL(None, use_errno=True).syscall(number, 1, 0, 3 << 13)
    except Exception:
        pass


def build_sources(options: Any, command: str, data: dict[str, Any], flags: list[str], fscache: Any = None) -> tuple[list[Any], Any]:
    """The sources of a build and its options, as the Server's `cmd_check`/`cmd_run` compute them."""
    import mypy.main
    from mypy.find_sources import create_source_list

    if command == "run":
        import io
        from contextlib import redirect_stderr, redirect_stdout

        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
            sources, options = mypy.main.process_options(
                ["-i"] + [str(a) for a in data.get("args", [])],
                require_targets=True,
                server_options=True,
                fscache=fscache,
                program="mypy-daemon",
            )
        return sources, options
    return create_source_list([str(f) for f in data.get("files", [])], options, fscache), options


def dependency_edges(manager: Any) -> int:
    from mypy.build import DEPS_META_FILE

    meta = json.loads(manager.metastore.read(DEPS_META_FILE))
    return sum(len(targets) for dm in meta["deps_meta"].values() for targets in json.loads(manager.metastore.read(dm["path"])).values())


def write(spec: dict[str, Any]) -> dict[str, Any]:
    import mypy.build
    from mypy.dmypy_server import process_start_options
    from mypy.errors import CompileError
    from mypy.version import __version__

    started = time.monotonic()
    cpu_started = time.process_time()
    root, directory = spec["root"], os.getcwd()
    options = process_start_options(list(spec["flags"]), bool(spec["allow_sources"]))
    snapshot = options.snapshot()
    key, _ = slot_key(snapshot, plugins_snapshot(options), directory)
    if key != spec.get("key"):
        return {"written": False, "reason": "mypy's options changed since the build; nothing written"}
    slot = slot_dir(root, directory, key)
    lock = claim(root, directory, slot)
    if lock is None:
        return {"written": False, "reason": "another daemon is writing this cache now"}
    staging = os.path.join(slot, f"staging-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    refreshed = False
    try:
        previous = verified(slot, key)[0]
        shutil.copytree(previous, os.path.join(staging, "cache"))
        refreshed = True
    except (SlotProblem, OSError):
        os.makedirs(staging)
    try:
        evidence = Evidence()
        fscache = recording_file_system_cache(evidence)
        sources, options = build_sources(options, spec["command"], spec["data"], spec["flags"], fscache)
        server_options(options)
        pin_store(options, os.path.join(staging, "cache"))
        options.fine_grained_incremental = False
        options.use_fine_grained_cache = False
        try:
            result = mypy.build.build(sources, options, fscache=fscache)
        except CompileError as e:
            return {"written": False, "reason": "the build stops on a blocking error: " + (e.messages[-1] if e.messages else "")}
        edges = dependency_edges(result.manager)
        modules = len(result.graph)
        for db in getattr(result.manager.metastore, "dbs", []):
            db.close()
        if not edges:
            return {"written": False, "reason": "mypy wrote no fine-grained dependency edges"}
        files = _file_hashes(os.path.join(staging, "cache"))
        inputs = build_inputs(result.graph)
        manifest = {
            "format": FORMAT,
            "key": key,
            "producer": "dmypy-swift: a sequential mypy.build.build with cache_fine_grained"
            + (", refreshing the previous generation" if refreshed else ""),
            "mypy_version": __version__,
            "python": sys.version,
            "platform": sys.platform,
            "project": directory,
            "build": {"command": spec["command"], "data": spec["data"]},
            "written_at": time.time(),
            "build_seconds": round(time.monotonic() - started, 3),
            "modules": modules,
            "modules_with_errors": sum(1 for s in result.graph.values() if s.error_lines),
            # What the build read, so that a loader can tell positively that nothing changed, and
            # everything it looked at, for the daemon to watch before a load looks at it again.
            "sources": inputs[0],
            "settled": inputs[1],
            "build_sources": len(sources),
            "graph": module_graph(result.graph),
            "evidence": (fscache.record(), evidence.everything())[1],
            "dependency_edges": edges,
            "files": files,
            "bytes": sum(os.path.getsize(os.path.join(staging, "cache", name)) for name in files),
        }
        with open(os.path.join(staging, MANIFEST), "w", encoding="utf-8") as f:
            json.dump(manifest, f)
            f.flush()
            os.fsync(f.fileno())
        generation = publish(slot, staging)
        evict(root, directory, slot, generation, int(spec.get("max_bytes") or DEFAULT_MAX_TOTAL_BYTES))
        return {
            "written": True,
            "slot": slot,
            "refreshed": refreshed,
            "modules": modules,
            "dependency_edges": edges,
            "bytes": manifest["bytes"],
            "seconds": round(time.monotonic() - started, 3),
            "cpu_seconds": round(time.process_time() - cpu_started, 3),
        }
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        lock.close()


def evict(root: str, directory: str, slot: str, keep: str, max_bytes: int) -> None:
    """Old generations of this slot, then the oldest slots of this project beyond a few, then the
    oldest slots anywhere while the total is over `max_bytes`."""
    for name in os.listdir(slot):
        path = os.path.join(slot, name)
        if name.startswith("gen-") and path != keep:
            shutil.rmtree(path, ignore_errors=True)

    def slots_with_age(project: str) -> list[tuple[float, str]]:
        found = []
        for name in os.listdir(project):
            path = os.path.join(project, name)
            if os.path.isdir(path):
                try:
                    found.append((os.lstat(os.path.join(path, "current")).st_mtime, path))
                except OSError:
                    found.append((0.0, path))
        return sorted(found)

    mine = slots_with_age(project_dir(root, directory))
    for _, path in mine[:-MAX_SLOTS_PER_PROJECT]:
        if path != slot:
            shutil.rmtree(path, ignore_errors=True)
    everything = []
    for project in os.listdir(root):
        if os.path.isdir(os.path.join(root, project)):
            everything += slots_with_age(os.path.join(root, project))

    def size(path: str) -> int:
        return sum(os.path.getsize(os.path.join(b, n)) for b, _, ns in os.walk(path) for n in ns if not os.path.islink(os.path.join(b, n)))

    total = sum(size(path) for _, path in everything)
    for _, path in everything:
        if total <= max_bytes:
            break
        if path != slot:
            total -= size(path)
            shutil.rmtree(path, ignore_errors=True)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "--write-cache":
        print("usage: --write-cache SPEC_JSON", file=sys.stderr)
        return 2
    idle_priority()
    sys.setrecursionlimit(2**14)
    try:
        outcome = write(json.loads(argv[1]))
    except Exception as e:
        import traceback

        outcome = {"written": False, "reason": f"the writer failed: {type(e).__name__}: {e}", "traceback": traceback.format_exc()}
    sys.stdout.write(json.dumps(outcome) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

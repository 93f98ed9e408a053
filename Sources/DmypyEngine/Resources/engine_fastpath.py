"""The fast path: a `check` or `run` after known edits, without mypy's crawl, walk and error re-check.

mypy's `dmypy check` after an edit (dmypy_server.py `fine_grained_increment[_follow_imports]`):
crawls the sources again (`create_source_list`), stats every file of the build, walks the import
graph from the roots, refreshes suppressed submodules of every package, fixes every State's
dependencies, and then `FineGrainedBuildManager.update` re-checks every target that had an error
anywhere, because `update_module` resets the errors (server/update.py, `errors.reset()`) and
their messages can only come back by checking those targets again.

Our daemon saw each write (inotify) and tells us, with `invalidate`, exactly which files changed,
and whether that list is complete (a reliable watcher, no lost events, every file mypy looked
at under a watch). With a complete list, this module:

1. hashes only those files (`FileSystemWatcher.update_changed`) and hands mypy exactly the
   modules whose content changed (`FineGrainedBuildManager.update`, driven step by step as
   `engine_update.py` follows it), with the request's sources
   as the last identical request computed them;
2. gives `update` an empty `previous_targets_with_errors`, so that it checks only the changed
   modules and the targets their change triggers, and carries forward the previous errors of
   every target in a module that this update did not touch at all (neither re-analysed nor any
   of its targets re-processed: `updated_modules`, `processed_targets`) and that neither imports
   a touched module nor lies inside a touched package. The error targets of the other modules
   are re-checked, as mypy does (propagate with those targets), until that touches nothing new.
   (mypy has no dependency for a name whose lookup failed, so an error such as `Name "a.A" is
   not defined` is fixed by an edit of `a` that triggers nothing; such a name is looked up in a
   module that is imported.) A target that nothing triggered checks to the same errors (the
   premise of mypy's fine-grained mode), so keeping its ErrorInfos and formatting them with
   mypy's own `Errors` gives mypy's answer; the order is mypy's
   (`sort_messages_preserving_file_order` on the previous messages).

A module created among the request's sources (a new `.py` the crawl now lists) or deleted (one
nothing imports) is handed to the update as added or removed (`module_set_change`): the sources
are listed again, and the importers of its packages have their error targets checked again (a
module may name `pkg.new` after a bare `import pkg`, a failed lookup mypy records no dependency
for). mypy's walk then does its bookkeeping (below).

Anything else takes mypy's full path, unchanged (`Server.run_command`). In particular:
  - a file mypy does not know appeared or went that is not such a module (`__init__.py` added
    or removed, a rename, a new stub, a `.py` beside a stub or package of its name, a module
    another module imports or tried to import, a new root of the sources, a directory), a
    configuration file changed;
  - the change set is not known exactly (the daemon said so: lost events, watcher fallback, a file
    the answer rests on that was not watched; or nothing is known yet in this engine);
  - a blocking error before the update (`blocking_error`, `stale`), errors taken from a cache
    (`pending_fixup`), a different request than the last build, `--export-types`, `recheck`;
  - error state we cannot carry soundly: the previous errors do not format to exactly mypy's
    previous messages; any `only_once` message (which target shows it depends on the order of
    the re-check) or import error (mypy hides other errors once it has seen one and there are
    many: the count depends on what was re-checked).
After the update:
  - a blocking error: mypy's answer, and its error targets are restored to the full set, so
    the next update re-checks them all as mypy would;
  - the module set or a changed module's imports changed: mypy's own full path runs next (it
    finds nothing changed on disk, and does the reachability walk, deletions of unreachable
    modules, suppressed submodules and `fix_module_deps` that such a change needs);
  - an import error or `only_once` message appeared, or the top-up re-check found modules to
    load: every module with previous errors is made to look changed and mypy's full path
    re-checks them (`abandon`).

On by default, since mypy's own fine-grained test data (all 682 runnable cases) and the
consistency soak (500 random edits on 2,000 modules, 378 of 505 checks on the fast path) gave
mypy's answers throughout (README, "The fast path"). `DMYPY_FAST_PATH=off` in the engine's environment (`0`, `no`, `false` too)
switches it off: every build takes mypy's full path, for comparison and as an escape hatch.
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

ENABLED_VARIABLE = "DMYPY_FAST_PATH"
BUILD_COMMANDS = ("check", "run", "recheck")


class NotFast(Exception):
    """This request takes mypy's full path (nothing was changed yet)."""


class Abandoned(Exception):
    """The fast update ran but its errors cannot be completed soundly (see `abandon`)."""


class FastPath:
    def __init__(self) -> None:
        self.enabled = os.environ.get(ENABLED_VARIABLE, "").strip().lower() not in ("off", "0", "no", "false")
        # Absolute paths the daemon reported changed since the last build began; None: unknown.
        self.known: set[str] | None = None
        self.server: Any = None
        # The last build request (command and fields that name the sources) and its sources.
        self.last_key: str | None = None
        self.sources: dict[str, list[Any]] = {}
        self.checks = 0
        self.fast = 0
        self.last: dict[str, Any] = {}
        # Module and path of each file of the graph by absolute path, as last computed (`module_of`).
        self.by_path: dict[str, tuple[str, str]] = {}
        # The modules of mypy's graph the last `request` may have changed, when it knows: the
        # rest of the graph (modules, files, imports, search paths) is as it was, so the adapter
        # diffs only these. None: anything may have changed.
        self.graph_touched: set[str] | None = None

    # What the daemon tells us.

    def note_invalidate(self, message: dict[str, Any]) -> None:
        if message.get("all") or not message.get("complete", False):
            self.known = None
        elif self.known is not None:
            self.known.update(os.path.abspath(str(p)) for p in message.get("paths", []))

    # One request.

    def request(self, engine: Any, command: str, data: dict[str, Any]) -> dict[str, Any]:
        self.graph_touched = None
        server = engine.server
        if server is not self.server:
            # A new Server (a cold build replaced it): nothing is known about it yet.
            self.server, self.known, self.sources, self.last_key, self.by_path = server, None, {}, None, {}
        if command not in BUILD_COMMANDS:
            return server.run_command(command, data)
        self.checks += 1
        key = request_key(command, data)
        started = time.monotonic()
        try:
            response, reason = self.fast_check(engine, command, data, key)
            self.fast += 1
            self.last = {"taken": True, "reason": reason, "seconds": round(time.monotonic() - started, 4)}
        except NotFast as e:
            engine.apply_pending_fixup(command)
            response = self.full(engine, command, data, key, str(e))
        except Abandoned as e:
            response = self.full(engine, command, data, key, f"abandoned after the update: {e}")
        return response

    def full(self, engine: Any, command: str, data: dict[str, Any], key: str, reason: str) -> dict[str, Any]:
        # Whatever changes from here on are reported by invalidates that arrive after this build.
        self.known = set() if self.enabled else None
        self.sources = {}
        self.last_key = key
        self.last = {"taken": False, "reason": reason}
        return engine.server.run_command(command, data)

    def report(self) -> dict[str, Any]:
        if not self.last:
            return {}
        report = dict(self.last, checks=self.checks, fast=self.fast)
        self.last = {}
        return {"fast_path": report}

    # The fast path itself.

    def fast_check(self, engine: Any, command: str, data: dict[str, Any], key: str) -> tuple[dict[str, Any], str]:
        """mypy's answer and how it was reached, or NotFast/Abandoned."""
        from mypy.version import __version__

        server = engine.server
        fgm = getattr(server, "fine_grained_manager", None)
        if not self.enabled:
            raise NotFast(f"{ENABLED_VARIABLE}=off")
        if command == "recheck":
            raise NotFast("recheck takes mypy's path")
        if fgm is None:
            raise NotFast("no build yet")
        if self.known is None:
            raise NotFast("the changes since the last build are not known exactly")
        if engine.pending_fixup:
            raise NotFast("errors taken from the cache are checked first")
        if key != self.last_key:
            raise NotFast("not the request of the last build")
        if data.get("export_types"):
            # (The engine switches mypy's export on for good instead, `exporting_types`: then
            # mypy's update exports the types of what it re-checks, here as on its full path.)
            raise NotFast("--export-types re-checks every source")
        if command == "run" and data.get("version") != __version__:
            raise NotFast("mypy's version differs (mypy asks for a restart)")
        if fgm.blocking_error is not None or fgm.stale:
            raise NotFast("a blocking error is pending")
        reported = self.classify(engine, fgm)
        watched = server.fswatcher.dump_file_data()
        for _, path in reported.edited + reported.gone:
            if path not in watched:
                raise NotFast(f"a file mypy does not watch changed: {path}")
        carry_problem = uncarriable(fgm)
        if carry_problem is not None:
            raise NotFast(carry_problem)
        added: list[tuple[str, str]] = []
        if reported.appeared or reported.gone:
            sources, added = self.module_set_change(server, fgm, command, data, key, reported)  # listed again
        else:
            sources = self.request_sources(server, command, data, key)

        # From here on mypy's state changes: no plain NotFast any more.
        t0 = time.time()
        watcher = server.fswatcher
        changed_paths = watcher.update_changed([], [path for _, path in reported.edited + reported.gone + added])
        changed = [(module, path) for module, path in reported.edited if path in changed_paths] + added
        removed = reported.gone
        followed = server.following_imports()
        t1 = time.time()
        touched: set[str] = set()
        if not changed and not removed:
            messages = fgm.previous_messages
            fgm.changed_modules = []
        else:
            graph = fgm.graph
            modules_before = set(graph)
            imports_before = {m: imports_of(graph[m]) for m, _ in changed if m in graph}
            messages = update_keeping_errors(engine, fgm, changed, removed, followed)
            touched = set(fgm.updated_modules) | {module for module, _ in changed + removed}
            modules_changed = set(graph) != modules_before
            if modules_changed or any(
                m not in graph or imports_of(graph[m]) != imports for m, imports in imports_before.items()
            ):
                # New or removed modules, or imports that changed: mypy's walk does the
                # bookkeeping this needs (`fix_module_deps`, suppressed submodules, unreachable
                # modules); it finds nothing changed on disk, and our messages are its previous ones.
                new_paths = [s.path for s in graph.values() if s.path and s.id not in modules_before]
                server.update_sources([_source(p) for p in new_paths])
                watcher.update_changed([], new_paths)
                if not followed:
                    server.previous_sources = sources  # else its walk removes the removed modules again
                self.last_key = key
                self.known = set()
                how = "new or removed modules" if modules_changed else "changed imports"
                return server.run_command(command, data), f"known changes; mypy's walk for the {how}"
        t2 = time.time()
        fgm.manager.add_stats(find_changes_time=t1 - t0, fg_update_time=t2 - t1, files_changed=len(changed))
        if not followed:
            server.previous_sources = sources
        response = server.increment_output(
            messages, sources, bool(data.get("is_tty", False)), int(data.get("terminal_width") or 80)
        )
        server.flush_caches()
        server.update_stats(response)
        self.known = set()
        self.last_key = key
        # No new module, no direct import changed (checked above), no walk: only the States of
        # the modules mypy updated were made again.
        self.graph_touched = touched
        return response, "the changed files were known"

    def classify(self, engine: Any, fgm: Any) -> Reported:
        """What the files the daemon reported are to mypy, or NotFast for a change mypy must crawl for."""
        assert self.known is not None
        configs = set(engine_config_files(engine))
        reported = Reported([], [], [])
        for path in sorted(self.known):
            name = os.path.basename(path)
            found = self.module_of(fgm.graph, path)
            if found is not None:
                if os.path.isfile(path):
                    reported.edited.append(found)
                elif name.startswith("__init__.") or os.path.lexists(path):
                    raise NotFast(f"a package's __init__ went, or a module's file is no file now: {path}")
                else:
                    reported.gone.append(found)
                continue
            if path in configs:
                raise NotFast(f"a configuration file changed: {path}")
            if os.path.isdir(path) or not os.path.lexists(path) and "." not in name:
                raise NotFast(f"a directory appeared or went: {path}")
            if name.endswith(".py") and not name.startswith("__init__.") and name.count(".") == 1 and os.path.isfile(path):
                reported.appeared.append(path)
                continue
            if name.endswith((".py", ".pyi", ".pth")) or name == "py.typed" or "." not in name:
                raise NotFast(f"a file mypy does not know appeared or went: {path}")
            # Anything else in a watched directory (which the daemon does not even report) is
            # nothing mypy reads.
        return reported

    def module_set_change(
        self, server: Any, fgm: Any, command: str, data: dict[str, Any], key: str, reported: Reported
    ) -> tuple[list[Any], list[tuple[str, str]]]:
        """The request's sources listed again, and the modules that files which appeared add to
        them; or NotFast unless the sources not in the graph are exactly those files, the others
        are the graph's modules at the graph's paths (none of those whose files went), and no
        module of the build looked for any module that appears or goes.

        That is the case of a module created in, or deleted from, the project's packages: mypy's
        own path would add it as a new source (or remove it) and re-check every error target.
        Anything a module looked for by name first is left to mypy's path: a suppressed import
        that a new file satisfies (mypy's `find_added_suppressed`), an import of a module that
        went (its importers' imports must fail), a new `.py` beside a stub or package of its
        name, a new root of the sources (the search paths change)."""
        from mypy.modulefinder import compute_search_paths

        self.sources.pop(key, None)
        after = self.request_sources(server, command, data, key)
        graph = fgm.graph
        gone = {module for module, _ in reported.gone}
        added: list[tuple[str, str]] = []
        for source in after:
            state = graph.get(source.module)
            if state is None:
                added.append((source.module, source.path))
            elif source.module in gone or not state.path or os.path.abspath(state.path) != os.path.abspath(source.path):
                raise NotFast(f"a source's module or path changed: {source.path}")
        if sorted(os.path.abspath(path) for _, path in added) != sorted(reported.appeared):
            raise NotFast("the files that appeared are not exactly the new sources")
        looked_for: set[str] = set()
        for module, state in graph.items():
            if module not in gone:
                looked_for.update(state.dependencies)
                looked_for.update(state.suppressed)
        for module, path in added:
            stem = os.path.splitext(path)[0]
            if module in graph or module in looked_for:
                raise NotFast(f"a module of the build looked for the new module {module}")
            if os.path.lexists(stem + ".pyi") or os.path.isdir(stem):
                raise NotFast(f"a stub or package of the new module's name exists: {path}")
        for module in gone:
            if module in looked_for:
                raise NotFast(f"a module of the build imports {module}, whose file went")
        manager = fgm.manager
        if search_path_dirs(compute_search_paths(after, manager.options, manager.data_dir)) != search_path_dirs(manager.search_paths):
            raise NotFast("the new sources change mypy's search paths")
        return after, added

    def module_of(self, graph: dict[str, Any], path: str) -> tuple[str, str] | None:
        """The module of the graph whose file is `path` (absolute), and its path as mypy spells
        it. The map of the last lookup is used while its entry still holds (that module is in the
        graph with that file); a miss or a stale entry makes it again from the graph."""
        found = self.by_path.get(path)
        if found is not None:
            state = graph.get(found[0])
            if state is not None and state.path == found[1]:
                return found
        self.by_path = {os.path.abspath(state.path): (module, state.path) for module, state in graph.items() if state.path}
        return self.by_path.get(path)

    def request_sources(self, server: Any, command: str, data: dict[str, Any], key: str) -> list[Any]:
        """The request's BuildSources, as the last identical request found them.

        What they depend on (which files exist, the package structure, the options) cannot have
        changed without a change `classify` sends to the full path, which forgets them.
        """
        cached = self.sources.get(key)
        if cached is not None:
            return list(cached)
        from mypy.find_sources import InvalidSourceList, create_source_list

        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = io.StringIO(), io.StringIO()
        try:
            if command == "check":
                sources = create_source_list(list(data.get("files") or []), server.options, server.fscache)
            else:
                import argparse

                import mypy.main

                sources, options = mypy.main.process_options(
                    ["-i"] + [str(a) for a in data.get("args") or []],
                    require_targets=True,
                    server_options=True,
                    fscache=server.fscache,
                    program="mypy-daemon",
                    header=argparse.SUPPRESS,
                )
                if not options.compare_stable(server.options_snapshot):
                    raise NotFast("the options differ (mypy asks for a restart)")
        except (InvalidSourceList, SystemExit) as e:
            raise NotFast(f"the sources cannot be listed ({type(e).__name__})") from None
        finally:
            sys.stdout, sys.stderr = saved
        self.sources[key] = list(sources)
        return list(sources)


@dataclass
class Reported:
    """The paths the daemon reported, as mypy's graph knows them."""

    edited: list[tuple[str, str]]  # modules of the graph whose file is there (changed or not)
    gone: list[tuple[str, str]]  # modules of the graph whose file went
    appeared: list[str]  # new `.py` files (absolute) of no module of the graph


def search_path_dirs(paths: Any) -> tuple[tuple[str, ...], ...]:
    """mypy's `SearchPaths` as a value that compares (the class has no equality)."""
    return tuple(tuple(group) for group in (paths.python_path, paths.mypy_path, paths.package_path, paths.typeshed_path))


def _source(path: str) -> Any:
    from mypy.modulefinder import BuildSource

    return BuildSource(path, None)


def request_key(command: str, data: dict[str, Any]) -> str:
    """What names a request's sources and options: equal keys, equal builds."""
    fields = {k: v for k, v in data.items() if k not in ("is_tty", "terminal_width")}
    return json.dumps([command, fields], sort_keys=True)


def imports_of(state: Any) -> tuple[frozenset[str], frozenset[str]]:
    """What a module imports: its direct dependencies and its suppressed imports, as sets.

    Sets, because mypy's own walk appends to `State.dependencies` again on every full-path build
    (duplicates) while an update makes the State afresh. Direct only: type checking adds
    indirect dependencies (`PRI_INDIRECT`, modules whose types it met, such as `typing`), which
    an update recomputes; they are modules already in the build, so no bookkeeping depends on
    them (mypy's `load_graph` drops those that are not). Compared with everything, every update
    after a full-path build looked like an import change and ran mypy's walk."""
    from mypy.build import PRI_INDIRECT

    direct = frozenset(d for d in state.dependencies if state.priorities.get(d) != PRI_INDIRECT)
    return direct, frozenset(state.suppressed)


def engine_config_files(engine: Any) -> list[str]:
    """Where mypy may read its configuration from (as the adapter's `config_files`)."""
    from mypy.defaults import CONFIG_NAMES, SHARED_CONFIG_NAMES, USER_CONFIG_FILES

    options = engine.server.options
    files = [os.path.abspath(name) for name in CONFIG_NAMES + SHARED_CONFIG_NAMES]
    files += [os.path.abspath(os.path.expanduser(f)) for f in USER_CONFIG_FILES]
    if options.config_file:
        files.append(os.path.abspath(os.path.expanduser(options.config_file)))
    return files


IMPORT_CODES = ("import", "import-untyped", "import-not-found")


def uncarriable(fgm: Any) -> str | None:
    """Why the previous errors cannot be carried forward, or None: they must be exactly what
    mypy printed last (formatted again by mypy), each with its target, none shown only once,
    no import error, no blocker."""
    errors = fgm.manager.errors
    targets: set[str] = set()
    for infos in errors.error_info_map.values():
        for info in infos:
            if info.only_once:
                return "a message shown only once is among the errors"
            if info.blocker:
                return "a blocking error is among the errors"
            if info.code is not None and info.code.code in IMPORT_CODES:
                return "an import error is among the errors"
            if info.target:
                targets.add(info.target)
    if targets != set(fgm.previous_targets_with_errors):
        return "mypy's error targets and its errors disagree"
    saved = errors.flushed_files
    errors.flushed_files = set()
    try:
        formatted = errors.new_messages()
    finally:
        errors.flushed_files = saved
    if sorted(formatted) != sorted(fgm.previous_messages):
        return "the recorded errors do not format to mypy's previous answer"
    return None


def update_keeping_errors(
    engine: Any, fgm: Any, changed: list[tuple[str, str]], removed: list[tuple[str, str]], followed: bool
) -> list[str]:
    """`fgm.update(changed, removed)`, re-checking only what it triggers, the other errors carried forward."""
    from mypy.server.update import sort_messages_preserving_file_order
    from mypy.util import module_prefix

    import dmypy_engine_update as driver  # mypy's driver, without its merges that change nothing

    manager = fgm.manager
    graph = fgm.graph
    errors = manager.errors
    previous_targets = set(fgm.previous_targets_with_errors)
    previous_messages = list(fgm.previous_messages)
    by_target: dict[str, list[tuple[str, Any]]] = {}
    for file, infos in errors.error_info_map.items():
        for info in infos:
            # An error without a target is not re-checked by mypy either (it is lost at the reset).
            if info.target:
                by_target.setdefault(info.target, []).append((file, info))

    # Each error target's module, from the graph before the update (a removed module's targets
    # are its own, and go with it: mypy's update drops every error and re-checks none of them).
    owners = {target: module_prefix(graph, target) for target in previous_targets}
    # A module that appears or goes can be named through its packages without an import of its
    # own (`pkg.new` after `import pkg`): a failed lookup, which mypy records no dependency for.
    # Its packages count as touched, so their importers' errors are checked again.
    appearing_or_going = [m for m, _ in changed if m not in graph] + [m for m, _ in removed]
    packages = {m.rsplit(".", i)[0] for m in appearing_or_going for i in range(1, m.count(".") + 1)}

    fgm.previous_targets_with_errors = set()
    messages = driver.update(fgm, changed, removed, followed)
    if fgm.blocking_error is not None:
        # mypy's answer; its next update re-checks every error target, as it would have.
        fgm.previous_targets_with_errors |= previous_targets
        return messages

    updated = set(fgm.updated_modules)
    # The previous error targets in modules that still exist and were not checked whole by this
    # update (whose errors are all fresh), by module.
    pending: dict[str, set[str]] = {}
    for target, module in owners.items():
        if module is not None and module not in updated and module in graph:
            pending.setdefault(module, set()).add(target)

    def abandon(why: str) -> Abandoned:
        fgm.previous_targets_with_errors |= previous_targets
        force_recheck(engine, fgm, previous_targets | set(fgm.previous_targets_with_errors), changed)
        return Abandoned(why)

    if errors.seen_import_error or any(info.only_once for infos in errors.error_info_map.values() for info in infos):
        raise abandon("an import error or a message shown once appeared")
    errors.flushed_files = set()
    # Which error targets are checked again, as mypy would (it re-checks them all):
    #  - those of a module the update touched (re-analysed, or one of its targets re-processed);
    #  - those of a module that imports a touched one, or is inside a touched package. mypy
    #    records no dependency for a lookup that failed: `x: a.A` with no `A` in `a` is an error
    #    ("Name "a.A" is not defined") that nothing triggers when `a` gains `A` (the oracle's
    #    testAliasFineAdded, testFixMissingMetaclass); mypy's own path gets it right only by
    #    re-checking every error target. A name looked up in another module needs that module
    #    imported (builtins is everyone's dependency), so such an error is among these.
    # Re-checking can touch further modules (their targets are re-processed, their triggers
    # fire): repeated until nothing new is touched. Every other error target is carried.
    touched: set[str] = set(packages)
    while True:
        for target in fgm.processed_targets:
            module = module_prefix(graph, target)
            if module is not None:
                touched.add(module)
        touched |= updated
        recheck: set[str] = set()
        for module in list(pending):
            state = graph[module]
            if module in touched or not touched.isdisjoint(state.dependencies) or not touched.isdisjoint(state.ancestors or ()):
                recheck |= pending.pop(module)
        if not recheck:
            break
        remaining = driver.propagate(
            manager, graph, fgm.deps, set(), set(), recheck, fgm.processed_targets
        )
        if remaining:
            raise abandon("re-checking the touched modules' errors needs modules loaded")
    carried = [item for targets in pending.values() for target in sorted(targets) for item in by_target.get(target, [])]
    fresh_targets = errors.targets()
    for file, info in carried:
        if info.target in fresh_targets:
            raise abandon(f"{info.target} has errors old and new")
        errors.error_info_map.setdefault(file, []).append(info)
    messages = sort_messages_preserving_file_order(errors.new_messages(), previous_messages)
    fgm.previous_messages = messages.copy()
    fgm.previous_targets_with_errors = errors.targets()
    return messages


def force_recheck(engine: Any, fgm: Any, targets: set[str], changed: list[tuple[str, str]]) -> None:
    """Makes every module with an error target, and every changed one, look changed to mypy."""
    from mypy.fswatcher import FileData
    from mypy.util import module_prefix

    paths = {path for _, path in changed}
    for target in targets:
        module = module_prefix(fgm.graph, target)
        if module is not None and fgm.graph[module].path:
            paths.add(fgm.graph[module].path)
    for path in paths:
        engine.server.fswatcher.set_file_data(path, FileData(-1.0, -1, ""))

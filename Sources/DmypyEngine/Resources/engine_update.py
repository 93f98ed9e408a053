"""mypy's fine-grained update driver, run by the fast path, with one cost of mypy's taken out.

`FineGrainedBuildManager.update` → `update_one` → `update_module` →
`propagate_changes_using_dependencies` → `reprocess_nodes` (mypy 2.4.1, server/update.py) are
followed here step by step, calling mypy's own compiled pieces for every step that does work
(`update_module_isolated`, `find_targets_recursive`, `lookup_target`, `strip_target`,
`semantic_analysis_for_targets`, the type checker, `update_deps`, the parts of `merge_asts`,
...). mypy is
compiled with mypyc, so its driver calls these natively and no attribute of a module can
change what it calls: the driver itself has to be ours to change one step.

That step: after re-analysing targets of a module, `reprocess_nodes` merges the new symbol
tables into the old ones (`merge_asts`) once per symbol table, the module's and one for each
class in it, and each call walks the whole file (`replace_nodes_in_ast`) with a map from each
new node to its old counterpart. Most entries map a node to itself (semantic analysis kept it),
and for each of them every reference the walk meets costs a `replace_object_state` of the node
onto itself, which changes nothing. `merge` leaves those entries out (doing the one thing they
still cause, a reset of a `TypeInfo`'s subtype caches), and a class's table whose map is left
empty is not walked at all (the module's walk, always done first, met the same file). Measured
in-process on the 2,000-module bench project after an edit of the module all others import
(mypy 2.4.1, `--strict`): mypy's update took 4.89 s and 4.54 s for two edits, this one 3.75 s
and 3.17 s, with the same messages; `merge_asts` had been ~0.8 s of such an update with the
class merges already skipped, and `replace_nodes_in_ast` is ~0.5 s with the identity entries out.

Everything else is mypy's code in mypy's order. It is tied to mypy 2.4.1 (the pinned engine):
`PINNED` says which version it follows, and any other version makes the fast path use mypy's
own `FineGrainedBuildManager.update` instead (`available`).
"""

from __future__ import annotations

import time
from typing import Any

PINNED = "2.4.1"


def available() -> bool:
    """Whether this is the mypy this driver follows (else `update` and `propagate` are mypy's)."""
    from mypy.version import __version__

    return __version__ == PINNED


def update(fgm: Any, changed_modules: list[tuple[str, str]], removed_modules: list[tuple[str, str]], followed: bool) -> list[str]:
    """`FineGrainedBuildManager.update(changed_modules, removed_modules, followed)`."""
    if not available():
        return fgm.update(changed_modules, removed_modules, followed=followed)
    from mypy.server.update import dedupe_modules, is_verbose, sort_messages_preserving_file_order

    fgm.processed_targets.clear()
    changed_modules = changed_modules + removed_modules
    removed_set = {module for module, _ in removed_modules}
    fgm.changed_modules = changed_modules
    if not changed_modules:
        return fgm.previous_messages
    fgm.manager.find_module_cache.clear()
    fgm.triggered = []
    fgm.updated_modules = []
    changed_modules = dedupe_modules(changed_modules + fgm.stale)
    initial_set = {id for id, _ in changed_modules}
    fgm.manager.log_fine_grained("==== update %s ====" % ", ".join(repr(id) for id, _ in changed_modules))
    if fgm.previous_targets_with_errors and is_verbose(fgm.manager):
        fgm.manager.log_fine_grained("previous targets with errors: %s" % sorted(fgm.previous_targets_with_errors))
    blocking_error = None
    if fgm.blocking_error:
        fgm.manager.log_fine_grained(f"existing blocker: {fgm.blocking_error[0]}")
        changed_modules = dedupe_modules([fgm.blocking_error] + changed_modules)
        blocking_error = fgm.blocking_error[0]
        fgm.blocking_error = None
    while True:
        changed_modules, (next_id, next_path), blocker_messages = update_one(
            fgm, changed_modules, initial_set, removed_set, blocking_error, followed
        )
        if blocker_messages is not None:
            fgm.blocking_error = (next_id, next_path)
            fgm.stale = changed_modules
            messages = blocker_messages
            break
        if not changed_modules:
            changed_modules = propagate(
                fgm.manager, fgm.graph, fgm.deps, set(), {next_id}, fgm.previous_targets_with_errors, fgm.processed_targets
            )
            changed_modules = dedupe_modules(changed_modules)
            if not changed_modules:
                fgm.previous_targets_with_errors = fgm.manager.errors.targets()
                messages = fgm.manager.errors.new_messages()
                break
    messages = sort_messages_preserving_file_order(messages, fgm.previous_messages)
    fgm.previous_messages = messages.copy()
    return messages


def update_one(
    fgm: Any,
    changed_modules: list[tuple[str, str]],
    initial_set: set[str],
    removed_set: set[str],
    blocking_error: str | None,
    followed: bool,
) -> tuple[list[tuple[str, str]], tuple[str, str], list[str] | None]:
    """`FineGrainedBuildManager.update_one`."""
    from mypy.server.update import dedupe_modules

    t0 = time.time()
    next_id, next_path = changed_modules.pop(0)
    if next_id == blocking_error and next_id not in fgm.previous_modules and next_id not in initial_set:
        fgm.manager.log_fine_grained(f"skip {next_id!r} (module with blocking error not in import graph)")
        return changed_modules, (next_id, next_path), None
    remaining, (next_id, next_path), blocker_messages = update_module(fgm, next_id, next_path, next_id in removed_set, followed)
    changed_modules = [(id, path) for id, path in changed_modules if id != next_id]
    changed_modules = dedupe_modules(remaining + changed_modules)
    t1 = time.time()
    fgm.manager.log_fine_grained(f"update once: {next_id} in {t1 - t0:.3f}s - {len(changed_modules)} left")
    return changed_modules, (next_id, next_path), blocker_messages


def update_module(
    fgm: Any, module: str, path: str, force_removed: bool, followed: bool
) -> tuple[list[tuple[str, str]], tuple[str, str], list[str] | None]:
    """`FineGrainedBuildManager.update_module`."""
    from mypy.server.astdiff import snapshot_symbol_table
    from mypy.server.update import (
        SENSITIVE_INTERNAL_MODULES,
        BlockedUpdate,
        calculate_active_triggers,
        ensure_deps_loaded,
        ensure_trees_loaded,
        get_module_to_path_map,
        is_verbose,
        update_module_isolated,
    )
    from mypy.util import is_stdlib_file

    fgm.manager.log_fine_grained(f"--- update single {module!r} ---")
    fgm.updated_modules.append(module)
    if is_stdlib_file(fgm.manager.options.abs_custom_typeshed_dir, path) or module in SENSITIVE_INTERNAL_MODULES:
        return [], (module, path), None
    manager = fgm.manager
    graph = fgm.graph
    ensure_deps_loaded(module, fgm.deps, graph)
    ensure_trees_loaded(manager, graph, [module])
    t0 = time.time()
    old_snapshots: dict[str, Any] = {}
    if module in manager.modules:
        old_snapshots[module] = snapshot_symbol_table(module, manager.modules[module].names)
    manager.errors.reset()
    fgm.processed_targets.append(module)
    result = update_module_isolated(module, path, manager, fgm.previous_modules, graph, force_removed, followed)
    if isinstance(result, BlockedUpdate):
        module, path, remaining, errors = result
        fgm.previous_modules = get_module_to_path_map(graph)
        return remaining, (module, path), errors
    module, path, remaining, tree = result
    t1 = time.time()
    triggered = calculate_active_triggers(manager, old_snapshots, {module: tree})
    if is_verbose(fgm.manager):
        filtered = [trigger for trigger in triggered if not trigger.endswith("__>")]
        fgm.manager.log_fine_grained(f"triggered: {sorted(filtered)!r}")
    fgm.triggered.extend(triggered | fgm.previous_targets_with_errors)
    if module in graph:
        graph[module].update_fine_grained_deps(fgm.deps)
        graph[module].free_state()
    remaining += propagate(manager, graph, fgm.deps, triggered, {module}, set(), fgm.processed_targets)
    t2 = time.time()
    manager.add_stats(update_isolated_time=t1 - t0, propagate_time=t2 - t1)
    fgm.previous_targets_with_errors.update(manager.errors.targets())
    fgm.previous_modules = get_module_to_path_map(graph)
    return remaining, (module, path), None


def propagate(
    manager: Any,
    graph: dict[str, Any],
    deps: dict[str, set[str]],
    triggered: set[str],
    up_to_date_modules: set[str],
    targets_with_errors: set[str],
    processed_targets: list[str],
) -> list[tuple[str, str]]:
    """`propagate_changes_using_dependencies`."""
    if not available():
        from mypy.server.update import propagate_changes_using_dependencies

        return propagate_changes_using_dependencies(
            manager, graph, deps, triggered, up_to_date_modules, targets_with_errors, processed_targets
        )
    from mypy.server.update import MAX_ITER, find_targets_recursive, is_verbose, lookup_target
    from mypy.typestate import type_state
    from mypy.util import module_prefix

    num_iter = 0
    remaining_modules: list[tuple[str, str]] = []
    while triggered or targets_with_errors:
        num_iter += 1
        if num_iter > MAX_ITER:
            raise RuntimeError("Max number of iterations (%d) reached (endless loop?)" % MAX_ITER)
        todo, unloaded, stale_protos = find_targets_recursive(manager, graph, triggered, deps, up_to_date_modules)
        remaining_modules.extend((id, graph[id].xpath) for id in sorted(unloaded))
        for target in targets_with_errors:
            id = module_prefix(graph, target)
            if id is not None and id not in up_to_date_modules:
                if id not in todo:
                    todo[id] = set()
                manager.log_fine_grained(f"process target with error: {target}")
                more_nodes, _ = lookup_target(manager, target, id)
                todo[id].update(more_nodes)
        triggered = set()
        for info in stale_protos:
            type_state.reset_subtype_caches_for(info)
        for id, nodes in sorted(todo.items(), key=lambda x: x[0]):
            assert id not in up_to_date_modules
            triggered |= reprocess_nodes(manager, graph, id, nodes, deps, processed_targets)
        up_to_date_modules = set()
        targets_with_errors = set()
        if is_verbose(manager):
            manager.log_fine_grained(f"triggered: {list(triggered)!r}")
    return remaining_modules


def reprocess_nodes(
    manager: Any, graph: dict[str, Any], module_id: str, nodeset: set[Any], deps: dict[str, set[str]], processed_targets: list[str]
) -> set[str]:
    """`reprocess_nodes`, merging a class's symbol table only when that changes a node (`merge`)."""
    from mypy.semanal_main import semantic_analysis_for_targets
    from mypy.server.astdiff import compare_symbol_table_snapshots, snapshot_symbol_table
    from mypy.server.aststrip import strip_target
    from mypy.server.trigger import make_trigger
    from mypy.server.update import (
        find_symbol_tables_recursive,
        target_from_node,
        update_deps,
        wildcard_triggers_for_changes,
    )

    if module_id not in graph:
        manager.log_fine_grained("%s not in graph (blocking errors or deleted?)" % module_id)
        return set()
    file_node = manager.modules[module_id]
    old_symbols = find_symbol_tables_recursive(file_node.fullname, file_node.names)
    old_symbols = {name: names.copy() for name, names in old_symbols.items()}
    old_symbols_snapshot = snapshot_symbol_table(file_node.fullname, file_node.names)
    nodes = sorted(nodeset, key=lambda node: node.node.line)
    state = graph[module_id]
    options = state.options
    manager.errors.set_file_ignored_lines(file_node.path, file_node.ignored_lines, options.ignore_errors or state.ignore_all)
    manager.errors.set_skipped_lines(file_node.path, file_node.skipped_lines)
    targets = set()
    for node in nodes:
        target = target_from_node(module_id, node.node)
        if target is not None:
            targets.add(target)
    manager.errors.clear_errors_in_targets(file_node.path, targets)
    for target in targets:
        if target == module_id:
            for info in graph[module_id].early_errors:
                manager.errors.add_error_info(info, file=graph[module_id].xpath)
    for deferred in nodes:
        processed_targets.append(deferred.node.fullname)
        strip_target(deferred.node)
    semantic_analysis_for_targets(graph[module_id], nodes, graph)
    new_symbols = find_symbol_tables_recursive(file_node.fullname, file_node.names)
    for index, name in enumerate(old_symbols):
        if name in new_symbols:
            merge(file_node, old_symbols[name], new_symbols[name], first=index == 0)
    checker = graph[module_id].type_checker()
    checker.reset()
    checker.pass_num = 0
    checker.last_pass = 3
    more = checker.check_second_pass(nodes, allow_constructor_cache=False)
    while more:
        more = False
        if graph[module_id].type_checker().check_second_pass(allow_constructor_cache=False):
            more = True
    if manager.options.export_types:
        manager.all_types.update(graph[module_id].type_map())
    new_symbols_snapshot = snapshot_symbol_table(file_node.fullname, file_node.names)
    changed = compare_symbol_table_snapshots(file_node.fullname, old_symbols_snapshot, new_symbols_snapshot)
    changed |= wildcard_triggers_for_changes(module_id, changed)
    new_triggered = {make_trigger(name) for name in changed}
    update_deps(module_id, nodes, graph, deps, options)
    graph[module_id].verify_dependencies()
    graph[module_id].free_state()
    return new_triggered


def merge(file_node: Any, old: Any, new: Any, first: bool) -> None:
    """`merge_asts(file_node, old, file_node, new)`, with the map's identity entries left out.

    `merge_asts` maps each node of `new` to its counterpart in `old`, and most of them are one
    object (a node semantic analysis kept). For such an entry, every reference the walk meets
    costs a `replace_object_state` of the node onto itself, which changes nothing, and a
    `TypeInfo` met at its definition has its subtype caches reset: those resets are done here
    for every `TypeInfo` entry mapped to itself. Everything else the walk does for a node with
    no entry is what it does for one mapped to itself. When no entry is left, a class's table
    (not `first`) needs no walk at all: the module's walk, always done first, met the same file,
    and of what it does regardless of the map, only `replace_nodes_in_symbol_table`'s reset of
    `_is_recursive` on this table's aliases is left, done here."""
    from mypy.nodes import TypeAlias, TypeInfo
    from mypy.server.astmerge import replace_nodes_in_ast, replace_nodes_in_symbol_table, replacement_map_from_symbol_table
    from mypy.typestate import type_state

    replacements = replacement_map_from_symbol_table(old, new, prefix=file_node.fullname)
    changed = {}
    for key, value in replacements.items():
        if key is not value:
            changed[key] = value
        elif isinstance(key, TypeInfo):
            type_state.reset_all_subtype_caches_for(key)
    if not changed and not first:
        for entry in new.values():
            if isinstance(entry.node, TypeAlias):
                entry.node._is_recursive = None
        return
    replace_nodes_in_ast(file_node, changed)
    replace_nodes_in_symbol_table(new, changed)

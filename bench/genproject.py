"""Deterministic synthetic Python project for the dmypy benchmark.

The generated tree looks like a layered application::

    pkg/__init__.py
    pkg/core/base.py                  the "core" module (layer 0)
    pkg/<area>/<sub>/<stem>_NNNN.py   N-1 further modules, index 1..N-1

Module ``i`` imports one to three modules with a lower index (and modules 1..10,
plus ~15 % of the others, import ``pkg.core.base`` directly), so every module
depends on the core module, directly or transitively.  The last 20 % of the
modules are leaves: nothing imports them.  A handful of modules contain one
deliberate type error each, so ``mypy`` prints errors and exits with status 1.

The last module (the "probe leaf") imports the core module directly and holds
the regions that the benchmark rewrites:

* ``# BENCH-LEAF-BEGIN`` .. ``# BENCH-LEAF-END``: a function whose body is
  edited (alternately well-typed and ill-typed);
* ``bench_core_probe: int = base.default_weight()``: an error exactly when the
  core module's ``default_weight`` returns ``float``;
* ``bench_samesize: int = 0``: flipped in place to ``str`` (same file size).

The core module holds ``# BENCH-CORE-BEGIN`` .. ``# BENCH-CORE-END`` around
``default_weight``, whose return type alternates between ``int`` and ``float``.

Run standalone: ``python bench/genproject.py OUTDIR [--modules N] [--seed S]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import sys
from pathlib import Path

PACKAGE = "pkg"
CORE_MODULE = "pkg.core.base"
CORE_REL = "pkg/core/base.py"

AREAS = (
    "accounts", "billing", "catalog", "inventory", "orders", "payments",
    "pricing", "reports", "search", "shipping", "users", "audit", "auth",
    "content", "events", "files", "geo", "mail", "media", "metrics",
)
SUBS = ("models", "services", "storage", "api", "tasks")
STEMS = ("records", "handlers", "queries", "rules", "views", "schemas", "helpers", "jobs")

MODULES_PER_DIR = 20
LEAF_FRACTION = 0.2
ERROR_KINDS = ("return-value", "arg-type", "attr-defined", "assignment", "call-arg", "union-attr")

# Messages the benchmark looks for in the probe leaf, to tell whether an edit was seen.
LEAF_BAD_MESSAGE = 'Incompatible return value type (got "str", expected "int")'
CORE_BAD_MESSAGE = 'expression has type "float", variable has type "int"'
SAMESIZE_BAD_MESSAGE = 'expression has type "int", variable has type "str"'
SAMESIZE_GOOD_LINE = "bench_samesize: int = 0"
SAMESIZE_BAD_LINE = "bench_samesize: str = 0"


@dataclasses.dataclass(frozen=True)
class ModuleInfo:
    index: int
    area: str
    sub: str
    stem: str

    @property
    def name(self) -> str:
        return f"{self.stem}_{self.index:04d}"

    @property
    def package(self) -> str:
        return f"{PACKAGE}.{self.area}.{self.sub}"

    @property
    def dotted(self) -> str:
        return f"{self.package}.{self.name}"

    @property
    def rel_path(self) -> str:
        return f"{PACKAGE}/{self.area}/{self.sub}/{self.name}.py"


@dataclasses.dataclass(frozen=True)
class Project:
    """What the benchmark needs to know about a generated tree."""

    root: Path
    modules: int
    core_rel: str
    leaf_rel: str
    error_modules: tuple[str, ...]


def _area_name(n: int) -> str:
    base = AREAS[n % len(AREAS)]
    rnd = n // len(AREAS)
    return base if rnd == 0 else f"{base}{rnd + 1}"


def _layout(count: int) -> list[ModuleInfo]:
    """Module 0 is the core; modules 1..count-1 are spread over nested packages."""
    infos = [ModuleInfo(0, "core", "", "base")]
    for i in range(1, count):
        slot = (i - 1) // MODULES_PER_DIR
        area = _area_name(slot // len(SUBS))
        sub = SUBS[slot % len(SUBS)]
        infos.append(ModuleInfo(i, area, sub, STEMS[i % len(STEMS)]))
    return infos


def core_region(variant: int) -> str:
    """The rewritable part of the core module: variant 0 returns int, 1 float."""
    if variant % 2 == 0:
        body = "def default_weight() -> int:\n    return 1\n"
    else:
        body = "def default_weight() -> float:\n    return 1.5\n"
    return f"# BENCH-CORE-BEGIN\n{body}# BENCH-CORE-END\n"


def leaf_region(counter: int, bad: bool) -> str:
    """The rewritable part of the probe leaf: ill-typed iff ``bad``."""
    value = f'"{counter}"' if bad else str(counter)
    return (
        "# BENCH-LEAF-BEGIN\n"
        "def bench_probe() -> int:\n"
        f"    value = {value}\n"
        "    return value\n"
        "# BENCH-LEAF-END\n"
    )


def replace_region(text: str, tag: str, new_region: str) -> str:
    """Replace ``# BENCH-<tag>-BEGIN`` .. ``# BENCH-<tag>-END\\n`` with new_region."""
    begin = text.index(f"# BENCH-{tag}-BEGIN")
    end_marker = f"# BENCH-{tag}-END\n"
    end = text.index(end_marker, begin) + len(end_marker)
    return text[:begin] + new_region + text[end:]


def _core_source() -> str:
    return f'''"""Core primitives shared by the whole project."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")
K = TypeVar("K")


@dataclasses.dataclass(frozen=True)
class Entity:
    ident: int

    def key(self) -> str:
        return f"{{type(self).__name__}}:{{self.ident}}"


{core_region(0)}

def make_id(prefix: str, n: int) -> str:
    return f"{{prefix}}-{{n:06d}}"


def chunked(items: Iterable[T], size: int) -> list[list[T]]:
    if size <= 0:
        raise ValueError("size must be positive")
    out: list[list[T]] = []
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            out.append(chunk)
            chunk = []
    if chunk:
        out.append(chunk)
    return out


def index_by(items: Iterable[T], key: Callable[[T], K]) -> dict[K, list[T]]:
    out: dict[K, list[T]] = {{}}
    for item in items:
        out.setdefault(key(item), []).append(item)
    return out


class Repository(Generic[T]):
    """A tiny in-memory repository keyed by integer ids."""

    def __init__(self) -> None:
        self._rows: dict[int, T] = {{}}

    def put(self, ident: int, row: T) -> None:
        self._rows[ident] = row

    def get(self, ident: int) -> T | None:
        return self._rows.get(ident)

    def __iter__(self) -> Iterator[T]:
        return iter(self._rows.values())

    def __len__(self) -> int:
        return len(self._rows)
'''


def _error_snippet(kind: str, i: int) -> str:
    if kind == "return-value":
        return f"def broken_{i}(reg: Registry{i}) -> int:\n    return reg.total()\n"
    if kind == "arg-type":
        return f'def broken_{i}(reg: Registry{i}) -> None:\n    reg.add("not a record")\n'
    if kind == "attr-defined":
        return f"def broken_{i}(reg: Registry{i}) -> None:\n    print(reg.size)\n"
    if kind == "assignment":
        return f"def broken_{i}(reg: Registry{i}) -> None:\n    count: int = reg.names()\n    print(count)\n"
    if kind == "call-arg":
        return f"def broken_{i}() -> Record{i}:\n    return Record{i}(ident=1)\n"
    if kind == "union-attr":
        return f"def broken_{i}(reg: Registry{i}) -> str:\n    return reg.fetch(1).describe()\n"
    raise ValueError(kind)


def _module_source(
    info: ModuleInfo,
    deps: list[ModuleInfo],
    uses_core: bool,
    error_kind: str | None,
    probe: bool,
    rng: random.Random,
) -> str:
    i = info.index
    lines: list[str] = [
        f'"""{info.area}.{info.sub}: {info.stem} (generated module {i})."""',
        "",
        "from __future__ import annotations",
        "",
        "import dataclasses",
        "import enum",
        "from collections.abc import Iterable, Iterator, Mapping",
        "from typing import NamedTuple, Protocol",
        "",
    ]
    if uses_core:
        lines.append("from pkg.core import base")
    for k, dep in enumerate(deps):
        lines.append(f"from {dep.package} import {dep.name} as dep{k}")
    lines += ["", ""]

    weight = rng.choice((2, 3, 5, 7, 10))
    lines += [
        f"class Kind{i}(enum.Enum):",
        '    SMALL = "small"',
        '    LARGE = "large"',
        "",
        "    def weight(self) -> int:",
        f"        return 1 if self is Kind{i}.SMALL else {weight}",
        "",
        "",
    ]

    parent = "(base.Entity)" if uses_core else ""
    lines += ["@dataclasses.dataclass(frozen=True)", f"class Record{i}{parent}:"]
    if not uses_core:
        lines.append("    ident: int")
    lines += [
        "    name: str",
        f"    kind: Kind{i} = Kind{i}.SMALL",
        "    tags: tuple[str, ...] = ()",
        f"    link: dep0.Record{deps[0].index} | None = None" if deps else "    note: str = ''",
        "",
        "    def describe(self) -> str:",
        '        return f"{self.name}#{self.ident}/{self.kind.value}"',
        "",
        "    def score(self, factor: float) -> float:",
        "        result = len(self.tags) * factor + self.kind.weight()",
    ]
    if deps:
        lines += [
            "        if self.link is not None:",
            "            result += self.link.score(factor / 2)",
        ]
    lines += ["        return result", "", ""]

    lines += [
        f"class Summary{i}(NamedTuple):",
        "    size: int",
        "    total: float",
        "    names: tuple[str, ...]",
        "",
        "",
        f"class Source{i}(Protocol):",
        f"    def fetch(self, ident: int) -> Record{i} | None: ...",
        "",
        "",
        f"class Registry{i}:",
        f"    def __init__(self, records: Iterable[Record{i}] = ()) -> None:",
        f"        self._items: dict[int, Record{i}] = {{}}",
        "        self.weight = base.default_weight()" if uses_core else f"        self.weight = {weight}",
        "        for rec in records:",
        "            self.add(rec)",
        "",
        f"    def add(self, rec: Record{i}) -> None:",
        "        if rec.ident in self._items:",
        "            raise KeyError(rec.ident)",
        "        self._items[rec.ident] = rec",
        "",
        f"    def fetch(self, ident: int) -> Record{i} | None:",
        "        return self._items.get(ident)",
        "",
        f"    def __iter__(self) -> Iterator[Record{i}]:",
        "        return iter(sorted(self._items.values(), key=lambda r: r.ident))",
        "",
        "    def __len__(self) -> int:",
        "        return len(self._items)",
        "",
        "    def names(self) -> list[str]:",
        "        return [rec.name for rec in self]",
        "",
        f"    def by_kind(self) -> Mapping[Kind{i}, list[Record{i}]]:",
        f"        out: dict[Kind{i}, list[Record{i}]] = {{}}",
        "        for rec in self:",
        "            out.setdefault(rec.kind, []).append(rec)",
        "        return out",
        "",
        "    def total(self) -> float:",
        "        return sum(rec.score(1.0) for rec in self) * self.weight",
        "",
        f"    def summary(self) -> Summary{i}:",
        f"        return Summary{i}(len(self), self.total(), tuple(self.names()))",
        "",
        "",
        f"def build_{i}(rows: Iterable[tuple[int, str]]) -> Registry{i}:",
        f"    reg = Registry{i}()",
        "    for ident, name in rows:",
        f"        kind = Kind{i}.LARGE if ident % 2 else Kind{i}.SMALL",
        f"        reg.add(Record{i}(ident=ident, name=name, kind=kind))",
        "    return reg",
        "",
        "",
        f"def lookup_{i}(source: Source{i}, idents: Iterable[int]) -> list[Record{i}]:",
        f"    found: list[Record{i}] = []",
        "    for ident in idents:",
        "        rec = source.fetch(ident)",
        "        if rec is not None:",
        "            found.append(rec)",
        "    return found",
        "",
        "",
    ]

    params = "".join(f", other{k}: dep{k}.Registry{d.index}" for k, d in enumerate(deps))
    lines += [
        f"def combine_{i}(reg: Registry{i}{params}) -> dict[str, float]:",
        '    result: dict[str, float] = {"self": reg.total()}',
    ]
    for k in range(len(deps)):
        lines.append(f'    result["dep{k}"] = other{k}.total() + len(other{k}.names())')
    lines += ["    return result", "", ""]

    lines += [
        f"def summarize_{i}(reg: Registry{i}) -> str:",
        '    parts = [f"{kind.value}={len(recs)}" for kind, recs in reg.by_kind().items()]',
        f"    linked = lookup_{i}(reg, range(10))",
    ]
    if deps:
        d0 = deps[0].index
        lines += [
            f'    other = dep0.build_{d0}([(1, "x"), (2, "y")])',
            f"    merged = combine_{i}(reg, other" + "".join(
                f", dep{k}.build_{d.index}([])" for k, d in enumerate(deps) if k > 0
            ) + ")",
            '    return ", ".join(parts) + f" linked={len(linked)} merged={sorted(merged)}"',
        ]
    else:
        lines.append('    return ", ".join(parts) + f" linked={len(linked)}"')
    lines += ["", ""]

    if uses_core:
        lines += [
            f"def keys_{i}(reg: Registry{i}) -> list[str]:",
            f'    ids = [base.make_id("{info.area}", rec.ident) for rec in reg]',
            "    return [chunk[0] for chunk in base.chunked(ids, 3)]",
            "",
            "",
            f"def repository_{i}(reg: Registry{i}) -> base.Repository[Record{i}]:",
            f"    repo: base.Repository[Record{i}] = base.Repository()",
            "    for rec in reg:",
            "        repo.put(rec.ident, rec)",
            "    return repo",
            "",
            "",
        ]

    if error_kind is not None:
        lines += [_error_snippet(error_kind, i), ""]

    if probe:
        lines += [
            leaf_region(0, False),
            "",
            "bench_core_probe: int = base.default_weight()",
            SAMESIZE_GOOD_LINE,
            "",
        ]
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


def generate(root: Path, modules: int = 2000, seed: int = 1, error_modules: int = len(ERROR_KINDS)) -> Project:
    """Write the project under ``root`` (which must not exist yet), with ``error_modules``
    modules holding a deliberate error each (spread evenly, kinds in turn; the probe leaf is
    never one)."""
    if modules < 20:
        raise ValueError("need at least 20 modules")
    if not 0 <= error_modules <= modules - 12:
        raise ValueError(f"error modules must be between 0 and {modules - 12}")
    rng = random.Random(seed)
    infos = _layout(modules)
    leaf_start = max(2, int(modules * (1 - LEAF_FRACTION)))
    probe_index = modules - 1
    error_indices: dict[int, str] = {}
    step = max(1, (modules - 12) // max(1, error_modules))
    for n in range(error_modules):
        error_indices[11 + n * step] = ERROR_KINDS[n % len(ERROR_KINDS)]

    root.mkdir(parents=True)
    dirs: set[Path] = set()
    for info in infos:
        path = root / (CORE_REL if info.index == 0 else info.rel_path)
        for parent in (path.parent, *path.parent.parents):
            if parent == root or root not in parent.parents:
                break
            dirs.add(parent)
    for d in sorted(dirs):
        d.mkdir(parents=True, exist_ok=True)
        (d / "__init__.py").write_text("")

    (root / CORE_REL).write_text(_core_source())
    for info in infos[1:]:
        i = info.index
        hi = min(i, leaf_start)
        lo = max(1, hi - 300)
        deps: list[ModuleInfo] = []
        if i > 10:
            for idx in sorted(set(rng.randrange(lo, hi) for _ in range(rng.randint(1, 3)))):
                deps.append(infos[idx])
        uses_core = i <= 10 or i == probe_index or rng.random() < 0.15
        text = _module_source(
            info, deps, uses_core, error_indices.get(i), i == probe_index, rng
        )
        (root / info.rel_path).write_text(text)
    return Project(
        root=root,
        modules=modules,
        core_rel=CORE_REL,
        leaf_rel=infos[probe_index].rel_path,
        error_modules=tuple(infos[k].rel_path for k in sorted(error_indices)),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--modules", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--error-modules", type=int, default=len(ERROR_KINDS),
                        help=f"modules with a deliberate error (default {len(ERROR_KINDS)})")
    args = parser.parse_args(argv)
    project = generate(args.outdir, args.modules, args.seed, args.error_modules)
    print(f"generated {project.modules} modules under {project.root}")
    print(f"core module: {project.core_rel}")
    print(f"probe leaf:  {project.leaf_rel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

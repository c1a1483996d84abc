"""The package's structural rules, as functions over a source tree.

Each rule takes the root of a package (a folder of ``.py`` files) and returns the list of
its violations, so the rules can be run on ``scisync/`` itself and, to prove that they
catch what they claim, on small trees a test writes that break them on purpose.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

# The pipeline, earliest first.  A package may import only packages of a lower rank (and
# itself); rank 0 is the foundation the whole package shares.  Adapters sit just after the
# stage whose types they produce: storage beside the manifest (its value types describe
# desired files), scicat after observe (it implements observe's reader Protocols).
STAGE_RANKS: Mapping[str, int] = {
    "_util": 0,
    "errors": 0,
    "schemas": 0,
    "manifest": 1,
    "lock": 1,
    "storage": 1,
    "sandbox": 1,
    "desired": 2,
    "observe": 3,
    "scicat": 4,
    "plan": 5,
    "apply": 6,
    "adopt": 7,
    "api": 8,
    "render": 9,
    "cli": 10,
    "testing": 11,
}

# Entry points may import anything: they exist to start the command line.
ENTRY_POINTS = frozenset({"__main__.py"})

# Only these print or import click (the user interface); entry points too.
INTERFACE_PACKAGES = frozenset({"cli", "render"})
PRINTING = re.compile(r"\bprint\(|click\.echo\(|click\.secho\(|sys\.std(out|err)\.write\(")

# What the planner must never reach: network, processes, databases, the file system
# stages.  Checked on every module of plan/ except codec.py (it saves and loads plans).
IO_MODULES = (
    "requests",
    "urllib3",
    "paramiko",
    "fabric",
    "invoke",
    "socket",
    "subprocess",
    "sqlite3",
    "http",
    "shutil",
    "tempfile",
    "scisync.scicat",
    "scisync.storage.local",
    "scisync.storage.sftp",
    "scisync.storage.ssh",
    "scisync.storage._transfer",
    "scisync.sandbox",
    "scisync.desired.build",
    "scisync.desired.thumbnails",
    "scisync._util.hashing",
    "scisync._util.atomicfile",
    "scisync.lock.io",
    "scisync.lock.filelock",
)
PLANNER_IO_EXEMPT = frozenset({"plan/codec.py"})

MAX_FUNCTION_LINES = 60


@dataclass(frozen=True)
class Import:
    source: str  # the importing module's path relative to the package root, POSIX
    target: str  # the imported module, dotted (``scisync.plan.model``)
    line: int


def modules(root: Path) -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(root.rglob("*.py")):
        yield path.relative_to(root).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def _module_name(package: str, relative: str) -> str:
    parts = relative.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([package, *parts])


def imports(root: Path) -> list[Import]:
    """Every import in the tree, absolute names (relative imports resolved)."""
    found: list[Import] = []
    package = root.name
    for relative, tree in modules(root):
        here = _module_name(package, relative).split(".")
        is_package = relative.endswith("__init__.py")
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [Import(relative, alias.name, node.lineno) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = here if is_package else here[:-1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                # ``from pkg import name``: name is a submodule or an attribute of pkg;
                # readers resolve ``pkg.name`` to the longest module name it starts with.
                found += [Import(relative, f"{base}.{a.name}", node.lineno) for a in node.names]
    return found


def _owner(package: str, module: str) -> str | None:
    """The stage (first package component) a dotted module belongs to."""
    parts = module.split(".")
    if parts[0] != package or len(parts) < 2:
        return None
    return parts[1]


def _stage_of_file(relative: str) -> str:
    return relative.split("/")[0].removesuffix(".py")


def stage_inversions(root: Path, ranks: Mapping[str, int] = STAGE_RANKS) -> list[str]:
    """Imports from a stage to a stage that is not earlier in the pipeline."""
    package = root.name
    problems: list[str] = []
    known = {name for name in ranks}
    for imp in imports(root):
        source = _stage_of_file(imp.source)
        if source in ("__init__",) or imp.source.split("/")[-1] in ENTRY_POINTS:
            continue
        target = _owner(package, imp.target)
        if target is None or target == source or target not in known:
            continue
        if source not in ranks:
            problems.append(f"{imp.source}:{imp.line}: stage {source!r} has no rank")
            continue
        same_foundation = ranks[source] == 0 and ranks[target] == 0
        if ranks[target] >= ranks[source] and not same_foundation:
            problems.append(
                f"{imp.source}:{imp.line}: {source} (stage {ranks[source]}) imports "
                f"{imp.target} (stage {ranks[target]})"
            )
    return sorted(set(problems))


def import_cycles(root: Path) -> list[list[str]]:
    """Cycles among the tree's modules (strongly connected components of size > 1).

    Imports under ``if TYPE_CHECKING:`` and inside functions count too: a lazy import
    breaks the cycle at run time, but it is still a knot a reader has to untie.
    """
    package = root.name
    names = {_module_name(package, rel) for rel, _ in modules(root)}
    graph: dict[str, set[str]] = {name: set() for name in names}
    for imp in imports(root):
        source = _module_name(package, imp.source)
        target = imp.target
        while target and target not in names:  # ``from pkg.mod import name`` -> pkg.mod
            target = target.rpartition(".")[0]
        if target and target != source:
            graph[source].add(target)
    return _strongly_connected(graph)


def _strongly_connected(graph: Mapping[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(result)


def _is_interface(relative: str) -> bool:
    return _stage_of_file(relative) in INTERFACE_PACKAGES or relative.endswith("__main__.py")


def printing_outside_interface(root: Path) -> list[str]:
    """Lines that print, and click imports, outside cli/, render/ and entry points."""
    problems: list[str] = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        if _is_interface(relative):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if PRINTING.search(line) and not line.lstrip().startswith("#"):
                problems.append(f"{relative}:{number}: prints: {line.strip()}")
    for imp in imports(root):
        if not _is_interface(imp.source) and imp.target.split(".")[0] == "click":
            problems.append(f"{imp.source}:{imp.line}: imports {imp.target}")
    return sorted(set(problems))


def planner_io_imports(root: Path) -> list[str]:
    """Imports of I/O modules anywhere in plan/ (but the plan file codec)."""
    problems: list[str] = []
    for imp in imports(root):
        if not imp.source.startswith("plan/") or imp.source in PLANNER_IO_EXEMPT:
            continue
        for banned in IO_MODULES:
            if imp.target == banned or imp.target.startswith(banned + "."):
                problems.append(f"{imp.source}:{imp.line}: imports {imp.target}")
    return sorted(set(problems))


def long_functions(root: Path, limit: int = MAX_FUNCTION_LINES) -> dict[str, int]:
    """``{"path:Qualified.name": lines}`` for every function longer than *limit*."""
    found: dict[str, int] = {}
    for relative, tree in modules(root):
        for qualified, node in _functions(tree):
            lines = (node.end_lineno or node.lineno) - node.lineno + 1
            if lines > limit:
                found[f"{relative}:{qualified}"] = lines
    return found


def _functions(
    tree: ast.AST, prefix: str = ""
) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield prefix + node.name, node
            yield from _functions(node, f"{prefix}{node.name}.")
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node, f"{prefix}{node.name}.")


def _names_a_test_module(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return last == "conftest" or last.startswith("test_")


def imports_of_test_modules(root: Path) -> list[str]:
    """Modules that import a ``conftest`` or a ``test_*`` module by name.

    Pytest loads each folder's conftest.py itself; a test module that imports one as
    ``conftest`` gets whichever was loaded last (the rootdir import mode puts several
    folders on sys.path), so it breaks when folders are collected together.  A test
    module imported by another runs twice, under two names.  Helpers that tests share
    live in uniquely named modules; conftest.py only declares fixtures.
    """
    problems: list[str] = []
    for relative, tree in modules(root):
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                named = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                named = [base] if base else [alias.name for alias in node.names]
            else:
                continue
            problems += [
                f"{relative}:{node.lineno}: imports {'.' * getattr(node, 'level', 0)}{name}"
                for name in named
                if _names_a_test_module(name)
            ]
    return problems


def top_level_modules(root: Path) -> list[str]:
    return sorted(path.name for path in root.glob("*.py"))


def main(argv: list[str]) -> None:
    """``python -m tests.structure [PACKAGE_DIR]``: the figures the rules measure."""
    root = Path(argv[0]) if argv else Path(__file__).parents[1] / "scisync"
    long = long_functions(root)
    print(f"top-level modules: {len(top_level_modules(root))}")
    print(f"import cycles: {len(import_cycles(root))} {import_cycles(root)}")
    print(f"stage inversions: {len(stage_inversions(root))}")
    print(f"functions over {MAX_FUNCTION_LINES} lines: {len(long)}")
    for name, lines in sorted(long.items(), key=lambda item: -item[1]):
        print(f"  {lines:4d}  {name}")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])

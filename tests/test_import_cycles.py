"""The import graph of `iscg_bot` (with `commands/` and `storage/`, installed as `iscg_bot.commands` and
`iscg_bot.storage`) has no cycles, and nothing imports those two folders by their bare names.

The layers themselves are import-linter's contracts (`.importlinter`, run by `make check`).

Read with `ast` from the source, so every import counts: top-level, inside a function (a "lazy" import
still ties the two modules together) and under `if TYPE_CHECKING:`. A cycle is named by one path around it.
A package's `__init__` importing its own submodules is not a cycle (`import storage.db` runs `storage`
first, but `storage` re-exporting `storage.db` is the usual shape of a package).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The folders at the top of the tree and the package each one installs as (iscg_bot/commands and
# iscg_bot/storage are symlinks to the two folders beside it).
PACKAGES = {"iscg_bot": "iscg_bot", "commands": "iscg_bot.commands", "storage": "iscg_bot.storage"}


def modules() -> dict[str, Path]:
    """Dotted module name → its file, for every .py file of the packages (Alembic's scripts included)."""
    found: dict[str, Path] = {}
    for folder, package in PACKAGES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):  # rglob does not follow the symlinks
            parts = [*package.split("."), *path.relative_to(ROOT / folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imported_names(name: str, path: Path) -> Iterator[str]:
    """Every module name an import statement anywhere in the file names (absolute, relative resolved)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)  # `from pkg import submodule`


def graph() -> dict[str, set[str]]:
    """module → the modules of the packages it imports (a name inside a module stands for the module)."""
    known = modules()
    edges: dict[str, set[str]] = {}
    for name, path in known.items():
        targets = set()
        for target in imported_names(name, path):
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                targets.add(target)
        edges[name] = targets
    return edges


def strongly_connected(edges: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's components with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(component)

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return components


def is_package_with_its_children(component: set[str]) -> bool:
    top = min(component, key=len)
    return all(m == top or m.startswith(top + ".") for m in component)


def path_around(component: set[str], edges: dict[str, set[str]]) -> list[str]:
    """The shortest way from the component's first module back to itself, as a list of modules."""
    start = min(component)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for v in frontier:
            for w in sorted(edges[v] & component):
                if w == start:
                    route = [v]
                    while route[-1] != start:
                        route.append(came_from[route[-1]])
                    return [start, *reversed(route[:-1]), start] if v != start else [start, start]
                if w not in came_from:
                    came_from[w] = v
                    following.append(w)
        frontier = following
    raise AssertionError(f"no way around {sorted(component)}")  # a strong component always has one


def test_the_packages_import_each_other_without_cycles() -> None:
    edges = graph()
    cycles = [c for c in strongly_connected(edges) if not is_package_with_its_children(c)]
    named = [
        " -> ".join(path_around(c, edges))
        + (f"  (all tied together: {', '.join(sorted(c))})" if len(c) > 2 else "")
        for c in cycles
    ]
    assert not named, "import cycles:\n" + "\n".join(named)


def test_the_walk_finds_a_cycle_when_there_is_one() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "p": {"p.x"}, "p.x": {"p"}}
    cycles = strongly_connected(edges)
    assert [c for c in cycles if not is_package_with_its_children(c)] == [{"a", "b", "c"}]
    assert path_around({"a", "b", "c"}, edges) == ["a", "b", "c", "a"]


def test_storage_imports_nothing_of_the_bot() -> None:
    edges = graph()
    upward = {
        f"{module} imports {target}"
        for module, targets in edges.items()
        if module == "iscg_bot.storage" or module.startswith("iscg_bot.storage.")
        for target in targets
        if not target.startswith("iscg_bot.storage")
    }
    assert not upward


def test_nothing_imports_commands_or_storage_by_the_bare_name() -> None:
    """`import storage` would load a second copy of the models beside `iscg_bot.storage`'s, and fails once
    installed: only `iscg_bot.commands` and `iscg_bot.storage` are packages."""
    sources = [*modules().items()]
    sources += [(f"tests.{p.stem}", p) for p in (ROOT / "tests").rglob("*.py")]
    sources += [(f"bench.{p.stem}", p) for p in (ROOT / "bench").glob("*.py")]
    bare = {
        f"{path.relative_to(ROOT)} imports {target}"
        for name, path in sources
        for target in imported_names(name, path)
        if target.split(".")[0] in ("commands", "storage")
    }
    assert not bare


def test_only_the_matrix_package_imports_nio() -> None:
    users = {
        name
        for name, path in modules().items()
        if any(target == "nio" or target.startswith("nio.") for target in imported_names(name, path))
    }
    assert "iscg_bot.matrix.gateway" in users
    assert {name for name in users if not name.startswith("iscg_bot.matrix.")} == set()

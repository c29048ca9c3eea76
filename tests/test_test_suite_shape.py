"""The test suite's own shape: a test module imports its helpers from tests/support/ (or the conftest
plugins), never from another test module, so each test file can be read, moved and run on its own."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).parent


def imported_modules(source: str) -> set[str]:
    """Every module an `import x` or `from x import y` names, anywhere in the file (functions included);
    `from tests import test_x` counts as `tests.test_x`."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            if node.module == "tests":
                names |= {f"tests.{alias.name}" for alias in node.names}
    return names


def is_test_module(name: str) -> bool:
    parts = name.split(".")
    return len(parts) >= 2 and parts[0] == "tests" and parts[1].startswith("test_")


def imported_test_modules(source: str) -> list[str]:
    return sorted({name for name in imported_modules(source) if is_test_module(name)})


def test_the_check_sees_every_way_of_importing_a_test_module() -> None:
    source = (
        "import tests.test_a\nfrom tests.test_b import x\nfrom tests import test_c, chat\n"
        "def f():\n    from tests.test_d import y\n"
    )
    assert imported_test_modules(source) == ["tests.test_a", "tests.test_b", "tests.test_c", "tests.test_d"]
    assert not any(map(is_test_module, imported_modules("from tests.support.conversation import say")))


def test_no_test_module_imports_another() -> None:
    imports = {
        path.name: imported_test_modules(path.read_text(encoding="utf-8")) for path in TESTS.glob("test_*.py")
    }
    offenders = {name: modules for name, modules in sorted(imports.items()) if modules}
    assert offenders == {}, "test modules import other test modules: move what they share into tests/support/"

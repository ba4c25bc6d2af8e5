"""No two ttsd modules import each other, directly or round a longer loop (issue 13).

Every import counts, lazy ones inside functions too (`cli/say.py` and `cli/remote.py` once
imported each other that way), except those under `if TYPE_CHECKING:`, which never run, and
a submodule's implicit import of the packages above it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src"


def module_files(root: Path) -> dict[str, Path]:
    """`ttsd.x.y` → its file, for every module under `root`."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported(path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules of `modules` that `path` imports anywhere but under TYPE_CHECKING."""
    found: set[str] = set()

    class Imports(ast.NodeVisitor):
        def visit_If(self, node: ast.If) -> None:
            if _is_type_checking(node.test):
                for statement in node.orelse:
                    self.visit(statement)
                return
            self.generic_visit(node)

        def visit_Import(self, node: ast.Import) -> None:
            found.update(alias.name for alias in node.names)

        def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
            if node.level == 0 and node.module:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)

    Imports().visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
    return {name for name in found if name in modules}


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module → the modules it imports, without edges to its own parent packages."""
    modules = module_files(root)
    return {
        name: {
            other
            for other in imported(path, modules)
            if other != name and not name.startswith(other + ".")
        }
        for name, path in modules.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_itself_round_a_loop() -> None:
    graph = import_graph(SRC)
    assert len(graph) > 80  # the whole package was read
    assert cycles(graph) == []


@pytest.mark.parametrize("lazy", [False, True])
def test_a_loop_is_found_even_through_a_lazy_import(tmp_path: Path, lazy: bool) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.b import thing\nimport pkg.c\n")
    body = "def f():\n    from pkg.a import thing\n" if lazy else "import pkg.a\n"
    (package / "b.py").write_text(body)
    (package / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import thing\n"
    )
    # c's import of a only type-checks: a → c is no loop
    assert cycles(import_graph(tmp_path)) == [["pkg.a", "pkg.b"]]

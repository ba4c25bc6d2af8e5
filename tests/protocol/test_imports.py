"""The protocol package stays sans-I/O: no asyncio, sockets or numpy
(docs/architecture.md "Layers")."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import ttsd.protocol

PACKAGE = Path(ttsd.protocol.__file__).parent
MODULES = sorted(PACKAGE.glob("*.py"))
FORBIDDEN = {"asyncio", "socket", "numpy", "trio", "anyio", "selectors", "ssl"}


def imported_modules(path: Path) -> set[str]:
    """Every module named by an import statement of `path`, anywhere in it."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_the_package_has_its_modules() -> None:
    assert {p.stem for p in MODULES} >= {
        "connection",
        "context",
        "errors",
        "events",
        "formats",
        "frames",
        "limits",
        "messages",
        "resolver",
    }


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_no_io_or_numpy_imports(path: Path) -> None:
    tops = {name.split(".")[0] for name in imported_modules(path)}
    assert not tops & FORBIDDEN


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_protocol_imports_no_other_ttsd_layer(path: Path) -> None:
    """`protocol/` is the top layer: within ttsd it imports only itself."""
    ours = {name for name in imported_modules(path) if name.split(".")[0] == "ttsd"}
    assert all(name.startswith("ttsd.protocol") for name in ours), ours


def test_importing_the_package_loads_no_asyncio_numpy_or_other_layer() -> None:
    modules = ", ".join(f"ttsd.protocol.{p.stem}" for p in MODULES if p.stem != "__init__")
    code = (
        f"import sys, {modules}\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'asyncio', 'numpy'}"
        " or (m.startswith('ttsd.') and not m.startswith('ttsd.protocol')))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""

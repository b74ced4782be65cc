"""The household model and the register encoding stay pure: no I/O, no Modbus library, no clock.

Parsed with ``ast`` (never imported), so a forbidden import fails here even behind a condition.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "firmware_sim"
PURE = ["households.py", "register_encoding.py"]
FORBIDDEN = {
    "asyncio", "pymodbus", "socket", "os", "io", "pathlib", "shutil", "subprocess", "threading",
    "time", "random", "tomllib", "logging", "firmware_sim.modbus_server", "firmware_sim.cli",
    "firmware_sim.simulated_devices",
}  # fmt: skip
CLOCK_CALLS = {"now", "today", "utcnow", "time", "open"}


def imports_of(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("name", PURE)
def test_pure_module_imports_nothing_impure(name: str) -> None:
    tree = ast.parse((PACKAGE / name).read_text(encoding="utf-8"))
    bad = sorted(
        module
        for module in imports_of(tree)
        if module in FORBIDDEN or module.split(".")[0] in FORBIDDEN
    )
    assert not bad, f"firmware_sim/{name} imports {', '.join(bad)}"


@pytest.mark.parametrize("name", PURE)
def test_pure_module_reads_no_clock_and_opens_no_file(name: str) -> None:
    tree = ast.parse((PACKAGE / name).read_text(encoding="utf-8"))
    calls = {
        node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name)
    }
    assert not calls & CLOCK_CALLS, f"firmware_sim/{name} calls {sorted(calls & CLOCK_CALLS)}"

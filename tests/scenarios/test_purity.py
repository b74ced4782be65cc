"""The scenario model and simulation are pure: no I/O, no clock, no unseeded randomness.

Only ``trace_writer`` (and the package's ``export_scenario``) touch files. Parsed with ``ast``,
never imported, so a forbidden import fails here even behind a condition.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "firmware_sim" / "scenarios"
SHELL = {"trace_writer.py", "__init__.py"}
FORBIDDEN = {
    "asyncio", "pymodbus", "socket", "os", "io", "pathlib", "shutil", "subprocess", "threading",
    "time", "tomllib", "tomli_w", "csv", "logging", "firmware_sim.modbus_server",
    "firmware_sim.simulated_devices",
}  # fmt: skip
CLOCK_METHODS = {"now", "today", "utcnow", "perf_counter", "monotonic", "seed"}
MODULES = sorted(p.name for p in PACKAGE.glob("*.py") if p.name not in SHELL)


def test_the_package_has_its_modules() -> None:
    assert {"model.py", "families.py", "readings.py", "unit_day.py"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_core_module_does_no_io(name: str) -> None:
    tree = ast.parse((PACKAGE / name).read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    bad = sorted(m for m in imported if m in FORBIDDEN or m.split(".")[0] in FORBIDDEN)
    assert not bad, f"{name} imports {', '.join(bad)}"
    calls = [node.func for node in ast.walk(tree) if isinstance(node, ast.Call)]
    methods = {f.attr for f in calls if isinstance(f, ast.Attribute)} & CLOCK_METHODS
    assert not methods, f"{name} reads a clock: {sorted(methods)}"
    assert not any(isinstance(f, ast.Name) and f.id == "open" for f in calls), name
    random_calls = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "random"
        and node.func.attr != "Random"
    }
    assert not random_calls, f"{name} draws from the global random: {sorted(random_calls)}"

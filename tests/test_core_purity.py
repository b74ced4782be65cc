"""The gateway core stays pure: no I/O library, no device or network client, no shell module.

Every module of ``gateway/core`` is parsed with ``ast`` (never imported), so a forbidden
import fails here even if it sits behind a condition or inside a function.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[1] / "gateway" / "core"
FORBIDDEN = {
    "asyncio", "pymodbus", "bleak", "bumble", "aiomqtt", "paho", "sqlite3", "sqlite_utils",
    "sqlalchemy", "socket",
    # no files, processes, threads or clocks either: time is always passed in
    "os", "io", "pathlib", "shutil", "subprocess", "threading", "time",
}  # fmt: skip
CLOCK_CALLS = {"now", "today", "utcnow", "open"}


def core_modules() -> list[Path]:
    return sorted(CORE.glob("*.py"))


def imported_modules(path: Path) -> list[str]:
    """Absolute names of everything ``path`` imports (relative imports resolved)."""
    package = "gateway.core"
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
                names.extend([module] if node.module else [f"{base}.{a.name}" for a in node.names])
            else:
                names.append(node.module or "")
    return names


def impurity(module: str) -> str | None:
    root = module.split(".")[0]
    if root in FORBIDDEN:
        return f"imports {module}"
    in_core = module == "gateway.core" or module.startswith("gateway.core.")
    if root == "gateway" and module != "gateway" and not in_core:
        return f"imports the shell module {module}"
    return None


def test_the_core_has_modules() -> None:
    assert len(core_modules()) >= 7


@pytest.mark.parametrize("path", core_modules(), ids=lambda p: p.name)
def test_core_module_imports_nothing_impure(path: Path) -> None:
    problems = [p for p in map(impurity, imported_modules(path)) if p is not None]
    assert not problems, f"gateway/core/{path.name} {'; '.join(problems)}"


@pytest.mark.parametrize("path", core_modules(), ids=lambda p: p.name)
def test_core_module_reads_no_clock_and_opens_no_file(path: Path) -> None:
    calls = [
        node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name)
    ]
    bad = sorted({name for name in calls if name in CLOCK_CALLS})
    assert not bad, f"gateway/core/{path.name} calls {', '.join(bad)}"


@pytest.mark.parametrize(
    ("module", "verdict"),
    [
        ("math", None),
        ("gateway.core.counters", None),
        ("asyncio", "imports asyncio"),
        ("paho.mqtt.client", "imports paho.mqtt.client"),
        ("gateway.store.database", "imports the shell module gateway.store.database"),
        ("gateway.core_extras", "imports the shell module gateway.core_extras"),
    ],
)
def test_the_purity_rule_itself(module: str, verdict: str | None) -> None:
    assert impurity(module) == verdict

"""The case model stays pure: every module of ``cloud_bridge/cases`` is parsed with ``ast``
(never imported) and may import no I/O, database, web or async library, no shell module of the
bridge, and call no clock (time is always passed in)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CASES = Path(__file__).resolve().parents[3] / "cloud_bridge" / "cases"
FORBIDDEN = {
    "asyncio", "aiomqtt", "paho", "sqlalchemy", "sqlite3", "psycopg", "socket", "fastapi",
    "starlette", "uvicorn", "jinja2", "os", "pathlib", "io", "subprocess", "threading", "time",
    "logging", "gateway",
}  # fmt: skip
ALLOWED_BRIDGE = {"cloud_bridge.errors"}
CLOCK_CALLS = {"now", "today", "utcnow", "open", "print"}


def modules() -> list[Path]:
    return sorted(CASES.glob("*.py"))


def imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.append("cloud_bridge.cases" if node.level else node.module or "")
    return names


def test_the_package_has_its_modules() -> None:
    assert len(modules()) >= 12


@pytest.mark.parametrize("path", modules(), ids=lambda p: p.name)
def test_imports_nothing_impure(path: Path) -> None:
    found = imports(path)
    bad = [m for m in found if m.split(".")[0] in FORBIDDEN]
    shell = [
        m
        for m in found
        if m.startswith("cloud_bridge")
        and not m.startswith("cloud_bridge.cases")
        and m not in ALLOWED_BRIDGE
    ]
    assert not bad and not shell, f"cases/{path.name} imports {bad + shell}"


@pytest.mark.parametrize("path", modules(), ids=lambda p: p.name)
def test_reads_no_clock_and_opens_no_file(path: Path) -> None:
    calls = {
        node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name)
    }
    assert not calls & CLOCK_CALLS, f"cases/{path.name} calls {sorted(calls & CLOCK_CALLS)}"


@pytest.mark.parametrize("path", modules(), ids=lambda p: p.name)
def test_every_module_explains_itself_and_stays_small(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert ast.get_docstring(tree), f"cases/{path.name} has no module docstring"
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 300

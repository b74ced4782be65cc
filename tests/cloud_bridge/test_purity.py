"""The bridge's pure modules stay pure: verification, the ticket lifecycle and the case evidence
import no network, database, async or file library (parsed with ``ast``, never imported), and
the bridge never imports the gateway package (the wire contract in JSON Schema is all they
share)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "cloud_bridge"
PURE = ["ingest/verification.py", "ticket_states.py", "cases/evidence.py"]
FORBIDDEN = {
    "asyncio", "aiomqtt", "paho", "sqlalchemy", "sqlite3", "psycopg", "socket", "fastapi",
    "uvicorn", "os", "pathlib", "io", "subprocess", "threading", "time",
}  # fmt: skip
PURE_SIBLINGS = {
    "cloud_bridge.errors",
    "cloud_bridge.ingest.contract",
    "cloud_bridge.ticket_states",
}


def imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.append(node.module or "")
    return names


@pytest.mark.parametrize("name", PURE)
def test_pure_module_imports_no_io(name: str) -> None:
    found = imports(PACKAGE / name)
    bad = [m for m in found if m.split(".")[0] in FORBIDDEN]
    shell = [m for m in found if m.startswith("cloud_bridge") and m not in PURE_SIBLINGS]
    assert not bad and not shell, f"{name} imports {bad + shell}"


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_bridge_never_imports_the_gateway(path: Path) -> None:
    assert not [m for m in imports(path) if m.split(".")[0] == "gateway"]

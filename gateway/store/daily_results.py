"""The day closer's own tables: ``daily_usage`` and ``case_states``.

- ``daily_usage``: one row per unit and day, with the occupancy estimate made from it;
- ``case_states``: the alert decision state per unit and kind (and the unit's learned baseline
  under the kind ``baseline``), so a restart resumes every case where it was.

Both are written only inside the day close's one transaction (``gateway.service.day_closer``),
together with the alerts it raises and the last closed day: a crash leaves either all of a
day's results or none.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from gateway.store.database import StoreDatabase

OPEN_PHASES = frozenset({"open", "clearing"})


class DailyUsageTable:
    COLUMNS = (
        "unit_id",
        "day",
        "water_m3",
        "electricity_kwh",
        "gas_m3",
        "estimate_point",
        "estimate_low",
        "estimate_high",
        "legal_cap",
        "flags",
    )

    def __init__(self, db: StoreDatabase) -> None:
        self._db = db
        with db.transaction() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS daily_usage(unit_id TEXT, day TEXT, water_m3 FLOAT,"
                " electricity_kwh FLOAT, gas_m3 FLOAT, estimate_point FLOAT, estimate_low FLOAT,"
                " estimate_high FLOAT, legal_cap INTEGER, flags TEXT, PRIMARY KEY(unit_id, day))"
            )

    def save(self, rows: Sequence[Mapping[str, Any]]) -> None:
        columns = ", ".join(self.COLUMNS)
        marks = ", ".join("?" for _ in self.COLUMNS)
        with self._db.transaction() as conn:
            conn.executemany(
                f"INSERT OR REPLACE INTO daily_usage({columns}) VALUES({marks})",
                [tuple(row[c] for c in self.COLUMNS) for row in rows],
            )


class CaseStateTable:
    def __init__(self, db: StoreDatabase) -> None:
        self._db = db
        with db.transaction() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS case_states(unit_id TEXT, kind TEXT, state TEXT,"
                " PRIMARY KEY(unit_id, kind))"
            )

    def get(self, unit_id: str, kind: str) -> dict[str, Any] | None:
        with self._db.reading() as conn:
            row = conn.execute(
                "SELECT state FROM case_states WHERE unit_id = ? AND kind = ?", (unit_id, kind)
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def save(self, unit_id: str, kind: str, state: Mapping[str, Any]) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO case_states(unit_id, kind, state) VALUES(?, ?, ?)"
                " ON CONFLICT(unit_id, kind) DO UPDATE SET state = excluded.state",
                (unit_id, kind, json.dumps(state, sort_keys=True)),
            )

    def open_count(self) -> int:
        with self._db.reading() as conn:
            rows = conn.execute("SELECT state FROM case_states").fetchall()
        return sum(1 for (state,) in rows if json.loads(state).get("phase") in OPEN_PHASES)

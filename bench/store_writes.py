"""Bytes the gateway's store writes to disk for meter readings (SD-card wear), per simulated hour.

Polls ``--meters`` meters every ``--poll-s`` building seconds for ``--hours`` simulated hours
into a real store file, each poll one transaction as the daemon does, and reads the process's
``write_bytes`` from ``/proc/self/io`` (what reaches the block layer, WAL and checkpoints
included) around it. Three layouts, one after the other in one run:

- ``series index (before)``: the layout before slots (a rowid table with an index on
  ``(unit_id, kind, ts)`` and one on ``ts``), rebuilt here for the comparison;
- ``time order, every poll``: today's table with ``[store] reading_interval_s = 0``;
- ``time order, 15-min slots``: today's default.

    .venv/bin/python bench/store_writes.py --meters 2500 --hours 2

Prints a Markdown table. Each run is bounded by --hours x 3600 / --poll-s polls.
"""

from __future__ import annotations

import argparse
import platform
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.observations import MeterSample
from gateway.store.gateway_store import GatewayStore

START = datetime(2026, 3, 1, tzinfo=UTC)


def written_bytes() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    raise RuntimeError("no write_bytes in /proc/self/io")


def polls(meters: int, hours: float, poll_s: float) -> list[list[MeterSample]]:
    rounds = int(hours * 3600 / poll_s)
    return [
        [
            MeterSample(f"{m // 2:04d}", ("water_m3", "electricity_kwh")[m % 2], at, n * 0.01 + m)
            for m in range(meters)
        ]
        for n, at in ((n, START + timedelta(seconds=n * poll_s)) for n in range(rounds))
    ]


def run_store(path: Path, rounds: list[list[MeterSample]], interval_s: float) -> tuple[int, float]:
    store = GatewayStore(path, reading_interval_s=interval_s)
    before, began = written_bytes(), time.process_time()
    for batch in rounds:
        store.readings.add(batch)
    store.close()
    return written_bytes() - before, time.process_time() - began


def run_series_index(path: Path, rounds: list[list[MeterSample]]) -> tuple[int, float]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE readings(unit_id TEXT, kind TEXT, ts FLOAT, total FLOAT)")
    conn.execute("CREATE INDEX idx_series ON readings(unit_id, kind, ts)")
    conn.execute("CREATE INDEX idx_ts ON readings(ts)")
    before, began = written_bytes(), time.process_time()
    for batch in rounds:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO readings VALUES(?, ?, ?, ?)",
            [(s.unit_id, s.kind, s.ts.timestamp(), s.total) for s in batch],
        )
        conn.execute("COMMIT")
    conn.close()
    return written_bytes() - before, time.process_time() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meters", type=int, default=2500)
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--poll-s", type=float, default=60.0)
    args = parser.parse_args()
    rounds = polls(args.meters, args.hours, args.poll_s)
    rows: list[tuple[str, int, float]] = []
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
        directory = Path(tmp)
        rows.append(("series index (before)", *run_series_index(directory / "a.sqlite", rounds)))
        rows.append(("time order, every poll", *run_store(directory / "b.sqlite", rounds, 0)))
        rows.append(("time order, 15-min slots", *run_store(directory / "c.sqlite", rounds, 900)))
    print(
        f"{args.meters} meters polled every {args.poll_s:g} s for {args.hours:g} simulated hours;"
        f" {platform.machine()}, Python {platform.python_version()}, SQLite"
        f" {sqlite3.sqlite_version}\n"
    )
    print("| layout | MB written per hour | MB per day | CPU s per hour |")
    print("|---|---|---|---|")
    for name, written, cpu in rows:
        per_hour = written / args.hours / 1e6
        print(f"| {name} | {per_hour:.1f} | {per_hour * 24:.0f} | {cpu / args.hours:.2f} |")


if __name__ == "__main__":
    main()

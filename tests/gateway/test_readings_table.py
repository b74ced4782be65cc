"""The readings table keeps each meter's first total per slot, in time order, reads a whole day
in one pass, and carries each meter's last total from one day's close to the next."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

from gateway.observations import MeterSample
from gateway.store.gateway_store import GatewayStore

CST = timezone(timedelta(hours=8))
DAY1 = datetime(2026, 3, 1, tzinfo=CST)


def samples(unit: str, start: datetime, minutes: int, every_s: int = 60) -> list[MeterSample]:
    return [
        MeterSample(unit, "water_m3", start + timedelta(seconds=s), s / 3600)
        for s in range(0, minutes * 60, every_s)
    ]


def test_only_the_first_sample_of_each_slot_is_kept(tmp_path: Path) -> None:
    store = GatewayStore(tmp_path / "g.sqlite")  # 15-minute slots by default
    assert store.readings.add(samples("0101", DAY1, 60)) == 4  # 60 polls, 4 slots
    assert store.readings.add(samples("0101", DAY1, 60)) == 0  # polled again: nothing new
    got = store.readings.between("0101", DAY1, DAY1 + timedelta(hours=1), CST)["water_m3"]
    assert [r.ts for r in got] == [DAY1 + timedelta(minutes=m) for m in (0, 15, 30, 45)]
    store.close()
    every = GatewayStore(tmp_path / "all.sqlite", reading_interval_s=0)
    assert every.readings.add(samples("0101", DAY1, 60)) == 60
    every.close()


def test_a_day_is_read_at_once_and_a_silent_meter_keeps_its_last_total(tmp_path: Path) -> None:
    store = GatewayStore(tmp_path / "g.sqlite")
    store.readings.add(samples("0101", DAY1 - timedelta(hours=1), 26 * 60))  # day 1 and after
    store.readings.add(samples("0102", DAY1, 12 * 60))  # 0102 goes silent at noon, day 1
    end1 = DAY1 + timedelta(days=1)
    day1 = store.readings.day_window(DAY1, end1, end1 + timedelta(minutes=10), CST)
    for unit in ("0101", "0102"):
        assert day1[unit]["water_m3"] == store.readings.between(unit, DAY1, end1, CST)["water_m3"]
    store.readings.keep_carry(end1, day1)
    store.readings.prune(end1)  # day 1's rows are gone; the carry is not
    end2 = end1 + timedelta(days=1)
    day2 = store.readings.day_window(end1, end2, end2, CST)
    assert day2["0102"]["water_m3"][0].ts == DAY1 + timedelta(hours=11, minutes=45)
    assert day2["0101"]["water_m3"][0].ts == end1  # the first reading at midnight itself
    store.readings.keep_carry(end2, day2)
    store.readings.add(samples("0102", end2 + timedelta(hours=8), 30))  # back on day 3
    end3 = end2 + timedelta(days=1)
    day3 = store.readings.day_window(end2, end3, end3, CST)
    assert [r.ts for r in day3["0102"]["water_m3"]] == [
        DAY1 + timedelta(hours=11, minutes=45),  # still the total from before the silence
        end2 + timedelta(hours=8),
        end2 + timedelta(hours=8, minutes=15),
    ]
    store.close()


def test_a_store_from_before_slots_keeps_its_readings(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE readings (unit_id TEXT, kind TEXT, ts FLOAT, total FLOAT)")
    old.execute("CREATE INDEX idx_readings_unit_id_kind_ts ON readings (unit_id, kind, ts)")
    old.executemany(
        "INSERT INTO readings VALUES (?, ?, ?, ?)",
        [("0101", "water_m3", (DAY1 + timedelta(minutes=m)).timestamp(), m) for m in range(60)],
    )
    old.commit()
    old.close()
    store = GatewayStore(path)
    got = store.readings.between("0101", DAY1, DAY1 + timedelta(hours=1), CST)["water_m3"]
    assert [r.total for r in got] == [0, 15, 30, 45]  # the first of each slot
    store.close()

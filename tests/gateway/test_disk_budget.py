"""The store's disk budget: telemetry is evicted oldest first; alerts, unacknowledged messages and
case states never are."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from gateway.observations import ElevatorSample, MeterSample
from gateway.store.disk_budget import DiskBudget
from gateway.store.gateway_store import GatewayStore
from gateway.store.outbox import OutboxMessage
from gateway.wire.signer import Sequence

CST = timezone(timedelta(hours=8))
START = datetime(2026, 3, 1, tzinfo=CST)


def fill(store: GatewayStore, days: int) -> None:
    for day in range(days):
        at = START + timedelta(days=day)
        store.readings.add(
            MeterSample(f"{u:04d}", "water_m3", at + timedelta(minutes=15 * i), float(i))
            for u in range(20)
            for i in range(96)
        )
        store.lifts.add(ElevatorSample("L1", f, at, float(day)) for f in range(1, 20))


def test_over_budget_evicts_the_oldest_telemetry_and_keeps_every_alert(tmp_path: Path) -> None:
    store = GatewayStore(tmp_path / "g.sqlite")
    pending = OutboxMessage(Sequence(1, 1, "ab" * 8), "t", "tok", "a-1", "0001", "leak", 0, 0)
    store.outbox.enqueue(pending, START)
    store.cases.save("0001", "leak", {"phase": "open"})
    fill(store, days=20)
    full = store.db.used_bytes()
    budget = DiskBudget(store, max_bytes=full // 2, reserve_bytes=0)
    check = budget.enforce()
    assert check.evicted and check.used_bytes <= full // 2
    with store.db.reading() as conn:
        oldest = conn.execute("SELECT MIN(ts), MAX(ts) FROM readings").fetchone()
    assert datetime.fromtimestamp(oldest[0], CST) > START + timedelta(days=5)  # oldest went
    assert datetime.fromtimestamp(oldest[1], CST) > START + timedelta(days=19)  # newest stayed
    assert [r["alert_id"] for r in store.outbox.rows()] == ["a-1"]
    assert store.cases.get("0001", "leak") == {"phase": "open"}
    store.close()


def test_acknowledged_history_goes_before_readings(tmp_path: Path) -> None:
    store = GatewayStore(tmp_path / "g.sqlite")
    for n in range(1, 401):
        seq = Sequence(1, n)
        store.outbox.enqueue(
            OutboxMessage(seq, "t", "x" * 2000, f"a-{n}", "u", "leak", 0, 0), START
        )
        if n < 400:
            store.outbox.mark_acked(seq, "accepted", "", START)
    fill(store, days=1)
    readings_before = store.readings.between("0001", START, START + timedelta(days=1), CST)
    budget = DiskBudget(store, max_bytes=store.db.used_bytes() - 200_000, reserve_bytes=0)
    assert budget.enforce().evicted
    assert [r["alert_id"] for r in store.outbox.rows() if r["ack_status"] is None] == ["a-400"]
    assert store.readings.between("0001", START, START + timedelta(days=1), CST) == readings_before
    store.close()


def test_a_budget_nothing_can_meet_keeps_everything_that_matters(tmp_path: Path) -> None:
    store = GatewayStore(tmp_path / "g.sqlite")
    store.outbox.enqueue(OutboxMessage(Sequence(1, 1), "t", "tok", "a-1", "u", "leak", 0, 0), START)
    fill(store, days=2)
    check = DiskBudget(store, max_bytes=1, reserve_bytes=0).enforce()
    assert check.evicted
    assert [r["alert_id"] for r in store.outbox.rows()] == ["a-1"]
    with store.db.reading() as conn:
        assert conn.execute("SELECT COUNT(*) FROM readings").fetchone()[0] == 0
    store.close()

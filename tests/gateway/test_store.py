"""The gateway store: sequences survive restarts, the outbox keeps messages until acknowledged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from gateway.store.database import GatewayStore, MeterSample
from gateway.store.outbox import OutboxMessage
from gateway.wire.signer import Sequence

CST = timezone(timedelta(hours=8))


def message(seq: Sequence, alert_id: str = "a-1") -> OutboxMessage:
    return OutboxMessage(
        seq, "bldg/v1/gw/alert", f"token-{seq.counter}", alert_id, "0101", "overcrowding", 0, 0
    )


def test_boot_epoch_and_counter_persist_across_restarts(tmp_path: Path) -> None:
    store = GatewayStore(tmp_path / "g.sqlite")
    assert store.start_boot_epoch() == 1
    assert store.next_sequence() == Sequence(1, 1)
    assert store.next_sequence() == Sequence(1, 2)
    store.close()
    store = GatewayStore(tmp_path / "g.sqlite")
    assert store.start_boot_epoch() == 2
    assert store.next_sequence() == Sequence(2, 1)
    store.close()


def test_outbox_resends_until_acked_and_keeps_acked_rows(tmp_path: Path) -> None:
    store = GatewayStore(tmp_path / "g.sqlite")
    now = datetime(2026, 3, 4, tzinfo=CST)
    store.enqueue(message(Sequence(1, 1)), now)
    store.enqueue(message(Sequence(1, 2), "a-2"), now)
    assert [m.seq.counter for m in store.due_messages(1000.0, 30.0)] == [1, 2]
    store.mark_sent(Sequence(1, 1), 1000.0)
    assert [m.seq.counter for m in store.due_messages(1010.0, 30.0)] == [2]
    assert [m.seq.counter for m in store.due_messages(1031.0, 30.0)] == [1, 2]
    assert store.mark_acked(Sequence(1, 1), "accepted", "", now) is True
    assert store.mark_acked(Sequence(1, 1), "accepted", "", now) is False  # a second ack: no-op
    assert store.mark_acked(Sequence(9, 9), "accepted", "", now) is False  # unknown seq
    assert [m.seq.counter for m in store.due_messages(5000.0, 30.0)] == [2]
    rows = store.outbox_rows()
    assert [(r["counter"], r["ack_status"], r["sent_count"]) for r in rows] == [
        (1, "accepted", 1),
        (2, None, 0),
    ]
    store.close()


def test_readings_between_reach_the_nearest_reading_at_or_beyond_each_edge(tmp_path: Path) -> None:
    store = GatewayStore(tmp_path / "g.sqlite")
    base = datetime(2026, 3, 1, 23, 0, tzinfo=CST)
    store.add_samples(
        MeterSample("0101", "water_m3", base + timedelta(minutes=30 * i), 100.0 + i)
        for i in range(6)
    )
    store.add_samples([MeterSample("0102", "water_m3", base, 5.0)])
    start = datetime(2026, 3, 2, tzinfo=CST)
    got = store.readings_between("0101", start, start + timedelta(hours=1), CST)
    assert [r.total for r in got["water_m3"]] == [102.0, 103.0, 104.0]
    # Off the half-hour grid, the window widens to the neighbours outside it.
    got = store.readings_between(
        "0101", start + timedelta(minutes=10), start + timedelta(minutes=50), CST
    )
    assert [r.total for r in got["water_m3"]] == [102.0, 103.0, 104.0]
    got = store.readings_between(
        "0101", start - timedelta(minutes=10), start + timedelta(minutes=70), CST
    )
    assert [r.total for r in got["water_m3"]] == [101.0, 102.0, 103.0, 104.0, 105.0]
    assert got["water_m3"][0].ts == datetime(2026, 3, 1, 23, 30, tzinfo=CST)
    assert store.prune_readings(datetime(2026, 3, 2, tzinfo=UTC)) == 7
    store.close()


def test_case_state_round_trip(tmp_path: Path) -> None:
    store = GatewayStore(tmp_path / "g.sqlite")
    assert store.case_state("0101", "overcrowding") is None
    store.save_case_state("0101", "overcrowding", {"phase": "open", "streak": 2})
    store.save_case_state("0101", "overcrowding", {"phase": "open", "streak": 3})
    assert store.case_state("0101", "overcrowding") == {"phase": "open", "streak": 3}
    assert store.open_case_count() == 1
    store.close()

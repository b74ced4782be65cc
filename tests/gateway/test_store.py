"""The gateway store: sequences survive restarts, the outbox keeps messages until acknowledged."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from gateway.observations import MeterSample
from gateway.store.gateway_store import GatewayStore
from gateway.store.outbox import OutboxMessage, next_attempt_delay
from gateway.wire.signer import Sequence

CST = timezone(timedelta(hours=8))


def message(seq: Sequence, alert_id: str = "a-1") -> OutboxMessage:
    return OutboxMessage(
        seq, "bldg/v1/gw/alert", f"token-{seq.counter}", alert_id, "0101", "overcrowding", 0, 0
    )


def test_boot_epoch_and_counter_persist_across_restarts(tmp_path: Path) -> None:
    store = GatewayStore(tmp_path / "g.sqlite")
    first = store.sequence.start_boot()
    assert (first.boot_epoch, first.counter) == (1, 0)
    assert store.sequence.next() == Sequence(1, 1, first.boot_id)
    assert store.sequence.next() == Sequence(1, 2, first.boot_id)
    store.close()
    store = GatewayStore(tmp_path / "g.sqlite")
    second = store.sequence.start_boot()
    assert store.sequence.next() == Sequence(2, 1, second.boot_id)
    store.close()


def test_a_wiped_or_restored_store_never_repeats_a_sequence(tmp_path: Path) -> None:
    """The rule of docs/wire-contract.md: every start draws a new boot id, so the identities of
    a store wiped (back to epoch 1) or restored from a backup (back to its epoch) are new."""
    seen: set[tuple[str, int, int]] = set()

    def boot_and_send(path: Path) -> None:
        store = GatewayStore(path)
        store.sequence.start_boot()
        for _ in range(3):
            seq = store.sequence.next()
            identity = (seq.boot_id, seq.boot_epoch, seq.counter)
            assert identity not in seen
            seen.add(identity)
        store.close()

    path = tmp_path / "g.sqlite"
    boot_and_send(path)
    backup = path.read_bytes()
    boot_and_send(path)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    boot_and_send(path)  # wiped: epoch 1 again
    path.write_bytes(backup)
    boot_and_send(path)  # restored: the backup's epoch again
    assert len({boot_id for boot_id, _, _ in seen}) == 4
    assert all(len(boot_id) == 16 for boot_id, _, _ in seen)


def test_outbox_waits_per_message_and_keeps_acked_rows(tmp_path: Path) -> None:
    store = GatewayStore(tmp_path / "g.sqlite")
    now = datetime(2026, 3, 4, tzinfo=CST)
    store.outbox.enqueue(message(Sequence(1, 1)), now)
    store.outbox.enqueue(message(Sequence(1, 2), "a-2"), now)
    assert [m.seq.counter for m in store.outbox.due(1000.0)] == [1, 2]
    store.outbox.mark_sent(Sequence(1, 1), "token-1", 1000.0, 1030.0)
    assert [m.seq.counter for m in store.outbox.due(1010.0)] == [2]
    assert [m.seq.counter for m in store.outbox.due(1010.0, every_pending=True)] == [1, 2]
    assert [m.seq.counter for m in store.outbox.due(1031.0)] == [1, 2]
    assert store.outbox.mark_acked(Sequence(1, 1), "accepted", "", now) is True
    assert store.outbox.mark_acked(Sequence(1, 1), "accepted", "", now) is False  # a second ack
    assert store.outbox.mark_acked(Sequence(9, 9), "accepted", "", now) is False  # unknown seq
    assert [m.seq.counter for m in store.outbox.due(5000.0)] == [2]
    rows = store.outbox.rows()
    assert [(r["counter"], r["ack_status"], r["sent_count"]) for r in rows] == [
        (1, "accepted", 1),
        (2, None, 0),
    ]
    assert store.outbox.pending_count() == 1
    assert store.outbox.prune_acknowledged(now + timedelta(days=1)) == 1
    assert [r["counter"] for r in store.outbox.rows()] == [2]  # the pending one stays
    store.close()


def test_an_ack_naming_another_boot_does_not_match(tmp_path: Path) -> None:
    store = GatewayStore(tmp_path / "g.sqlite")
    now = datetime(2026, 3, 4, tzinfo=CST)
    store.outbox.enqueue(message(Sequence(3, 1, "aa" * 8)), now)
    assert store.outbox.mark_acked(Sequence(3, 1, "bb" * 8), "accepted", "", now) is False
    assert store.outbox.mark_acked(Sequence(3, 1, "aa" * 8), "accepted", "", now) is True
    store.close()


@pytest.mark.parametrize("sent", [1, 2, 3, 5, 8, 20])
def test_resend_delay_doubles_up_to_its_cap_with_jitter(sent: int) -> None:
    rng = random.Random(sent)
    delays = [next_attempt_delay(sent, 30.0, 900.0, rng) for _ in range(200)]
    base = min(900.0, 30.0 * 2 ** (sent - 1))
    assert all(0.8 * base <= d <= 1.2 * base for d in delays)
    assert max(delays) - min(delays) > 0.1 * base  # jittered, not in step


def test_a_failed_unit_of_work_keeps_nothing(tmp_path: Path) -> None:
    store = GatewayStore(tmp_path / "g.sqlite")
    store.sequence.start_boot()
    with pytest.raises(RuntimeError), store.transaction():
        store.cases.save("0101", "overcrowding", {"phase": "open"})
        store.sequence.next()
        store.outbox.enqueue(message(Sequence(1, 1)), datetime(2026, 3, 4, tzinfo=CST))
        raise RuntimeError("crash in the middle of a day close")
    assert store.cases.get("0101", "overcrowding") is None
    assert store.outbox.rows() == []
    assert store.sequence.next().counter == 1  # the counter rolled back too
    store.close()


def test_readings_between_reach_the_nearest_reading_at_or_beyond_each_edge(tmp_path: Path) -> None:
    store = GatewayStore(tmp_path / "g.sqlite")
    base = datetime(2026, 3, 1, 23, 0, tzinfo=CST)
    store.readings.add(
        MeterSample("0101", "water_m3", base + timedelta(minutes=30 * i), 100.0 + i)
        for i in range(6)
    )
    store.readings.add([MeterSample("0102", "water_m3", base, 5.0)])
    start = datetime(2026, 3, 2, tzinfo=CST)
    got = store.readings.between("0101", start, start + timedelta(hours=1), CST)
    assert [r.total for r in got["water_m3"]] == [102.0, 103.0, 104.0]
    # Off the half-hour grid, the window widens to the neighbours outside it.
    got = store.readings.between(
        "0101", start + timedelta(minutes=10), start + timedelta(minutes=50), CST
    )
    assert [r.total for r in got["water_m3"]] == [102.0, 103.0, 104.0]
    got = store.readings.between(
        "0101", start - timedelta(minutes=10), start + timedelta(minutes=70), CST
    )
    assert [r.total for r in got["water_m3"]] == [101.0, 102.0, 103.0, 104.0, 105.0]
    assert got["water_m3"][0].ts == datetime(2026, 3, 1, 23, 30, tzinfo=CST)
    assert store.readings.prune(datetime(2026, 3, 2, tzinfo=UTC)) == 7
    store.close()


def test_case_state_round_trip(tmp_path: Path) -> None:
    store = GatewayStore(tmp_path / "g.sqlite")
    assert store.cases.get("0101", "overcrowding") is None
    store.cases.save("0101", "overcrowding", {"phase": "open", "streak": 2})
    store.cases.save("0101", "overcrowding", {"phase": "open", "streak": 3})
    assert store.cases.get("0101", "overcrowding") == {"phase": "open", "streak": 3}
    assert store.cases.open_count() == 1
    store.close()

"""The day closer's lock window: stored door events of a lock-equipped unit, summarised per local
day exactly as ``gateway backtest`` summarises a trace's, from the first day the lock was heard
and over at most ``window_days`` days."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from gateway.config.gateway_file import GatewayConfig, load_gateway_config
from gateway.core.lock_activity import LockEvent, summarise_lock_day
from gateway.observations import StoredLockEvent
from gateway.service.day_closer import DayCloser
from gateway.store.gateway_store import GatewayStore
from gateway.wire.keys import generate_key_pair, load_signing_key
from gateway.wire.signer import EnvelopeSigner

CST = timezone(timedelta(hours=8))
MAC = "A4:C1:38:00:00:01"


def config(tmp_path: Path) -> GatewayConfig:
    generate_key_pair(tmp_path / "gw.key.pem", tmp_path / "gw.pub.pem")
    path = tmp_path / "gateway.toml"
    path.write_text(
        '[gateway]\nid = "gw-1"\nkey_file = "gw.key.pem"\n'
        '[[units]]\nunit_id = "0101"\nfloor = 1\narea_m2 = 44\nrooms = 1\n'
        '[[units]]\nunit_id = "0102"\nfloor = 1\narea_m2 = 60\nrooms = 2\n'
        '[[units]]\nunit_id = "0103"\nfloor = 1\narea_m2 = 60\nrooms = 2\n'
        f'[[locks]]\nunit_id = "0101"\nmac = "{MAC}"\nkind = "gatt"\n'
        '[[locks]]\nunit_id = "0103"\nmac = "A4:C1:38:00:00:03"\nkind = "gatt"\n',
        encoding="utf-8",
    )
    return load_gateway_config(path)


def stored(seq: int, ts: datetime, event: str, credential: str) -> StoredLockEvent:
    return StoredLockEvent("0101", MAC, "gatt", seq, ts, event, "fingerprint", credential)


def test_the_window_starts_when_the_lock_is_first_heard_and_spans_at_most_a_week(
    tmp_path: Path,
) -> None:
    cfg = config(tmp_path)
    store = GatewayStore(tmp_path / "gateway.sqlite")
    closer = DayCloser(cfg, store, EnvelopeSigner("gw-1", load_signing_key(cfg.gateway.key_file)))
    first = datetime(2026, 3, 2, 23, 30, tzinfo=CST)  # late on 2 March, local time
    events = [
        stored(1, first, "unlock", "aaaa"),
        stored(2, first + timedelta(hours=1), "unlock", "bbbb"),  # 00:30 on 3 March: a night
        stored(3, first + timedelta(hours=2), "failed", ""),
        stored(4, first + timedelta(days=3), "unlock", "aaaa"),
        stored(5, first + timedelta(days=9), "unlock", "cccc"),
    ]
    assert store.lock_events.add(events) == 5
    assert store.lock_events.add(events[:2]) == 0  # the same events again are not kept twice

    assert closer.lock_window("0101", date(2026, 3, 1)) is None  # not heard yet
    assert closer.lock_window("0102", date(2026, 3, 5)) is None  # no lock on that door
    assert closer.lock_window("0103", date(2026, 3, 5)) is None  # a lock never heard

    as_core = [LockEvent(e.ts, e.event, e.credential) for e in events]
    early = closer.lock_window("0101", date(2026, 3, 4))
    assert early is not None
    assert [d.day for d in early] == [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)]
    assert list(early) == [summarise_lock_day(as_core, d.day, cfg.gateway.timezone) for d in early]
    assert (early[1].unlocks, early[1].night_unlocks, early[1].failed) == (1, 1, 1)

    late = closer.lock_window("0101", date(2026, 3, 12))
    assert late is not None
    assert [d.day for d in late] == [date(2026, 3, 6) + timedelta(days=n) for n in range(7)]
    assert late[-2].credentials == frozenset({"cccc"})  # 11 March, local time
    assert late[-1].unlocks == 0  # a quiet day still counts in the window
    store.close()


def test_closing_a_day_counts_the_lock_of_a_unit_without_meters(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    store = GatewayStore(tmp_path / "gateway.sqlite")
    closer = DayCloser(cfg, store, EnvelopeSigner("gw-1", load_signing_key(cfg.gateway.key_file)))
    day = date(2026, 3, 9)
    events = []  # eight residents, each opening the door every evening for a week
    for n in range(7):
        for resident in range(8):
            ts = datetime(2026, 3, 3 + n, 19, resident, tzinfo=CST)
            events.append(stored(len(events) + 1, ts, "unlock", f"resident-{resident}"))
    store.lock_events.add(events)
    now = datetime(2026, 3, 10, 0, 10, tzinfo=CST)
    report = closer.close_day(day, now)
    assert report.units_with_data == 1  # 0101 has no meter: only its lock speaks
    store.close()
    with contextlib.closing(sqlite3.connect(tmp_path / "gateway.sqlite")) as db:
        estimates = dict(db.execute("SELECT unit_id, estimate_point FROM daily_usage"))
    assert estimates["0101"] is not None and estimates["0101"] >= 5  # eight credentials a week
    assert estimates["0102"] is None and estimates["0103"] is None


def test_pruning_drops_old_events_but_keeps_each_event_log_resume_point(tmp_path: Path) -> None:
    store = GatewayStore(tmp_path / "gateway.sqlite")
    first = datetime(2026, 3, 1, 8, 0, tzinfo=CST)
    store.lock_events.add([stored(n, first + timedelta(days=n), "unlock", "aaaa") for n in (1, 2)])
    assert store.lock_events.prune(first + timedelta(days=2)) == 1
    assert (
        store.lock_events.log_position(MAC) == 2
    )  # a resumed log does not bring the pruned one back
    start, end = first - timedelta(days=1), first + timedelta(days=9)
    assert [e.ts for e in store.lock_events.between("0101", start, end, CST)] == [
        first + timedelta(days=2)
    ]
    store.close()

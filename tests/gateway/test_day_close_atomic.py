"""Closing a day is one transaction: a failure in the middle keeps nothing, and closing the day
again raises the alert the failed close would have raised (it used to be lost: the case states
were saved before the alert was signed, so the second close saw nothing new)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.config.gateway_file import load_gateway_config
from gateway.observations import MeterSample
from gateway.replay.trace_reader import open_trace
from gateway.service.day_closer import DayCloser
from gateway.store.gateway_store import GatewayStore
from gateway.wire.keys import generate_key_pair, load_signing_key
from gateway.wire.signer import EnvelopeSigner, Sequence
from tests.gateway.test_backtest import START, UNITS, write_trace


class SignerThatFailsOnce(EnvelopeSigner):
    """The real signer, which fails the first time it is asked to sign: the fault a crash,
    a dead HSM or a full disk makes at exactly that moment."""

    failed = False

    def sign_alert(self, topic: str, iat: int, seq: Sequence, alert: dict[str, Any]) -> str:
        if not self.failed:
            self.failed = True
            raise OSError("signing failed")
        return super().sign_alert(topic, iat, seq, alert)


def test_a_day_close_that_fails_midway_keeps_nothing_and_is_done_again(tmp_path: Path) -> None:
    trace_dir = write_trace(tmp_path / "trace", days=14)
    config_path = tmp_path / "gateway.toml"
    config_path.write_text(
        '[gateway]\nid = "backtest"\nkey_file = "k.pem"\n'
        + "".join(
            f'[[units]]\nunit_id = "{u}"\nfloor = {f}\narea_m2 = {a}\nrooms = {r}\n'
            for u, (f, a, r, _, _, _) in UNITS.items()
        ),
        encoding="utf-8",
    )
    config = load_gateway_config(config_path)
    generate_key_pair(tmp_path / "k.pem", tmp_path / "k.pub.pem")
    store = GatewayStore(tmp_path / "live.sqlite")
    store.sequence.start_boot()
    trace = open_trace(trace_dir)
    store.readings.add(MeterSample(r.unit_id, r.kind, r.ts, r.total) for r in trace.meters())
    signer = SignerThatFailsOnce("backtest", load_signing_key(config.gateway.key_file))
    closer = DayCloser(config, store, signer)
    failed_on: date | None = None
    for offset in range(14):
        day = date(2026, 3, 1) + timedelta(days=offset)
        closes_at = START + timedelta(days=offset + 1, minutes=10)
        before = {u: store.cases.get(u, "overcrowding") for u in UNITS}
        try:
            closer.close_day(day, closes_at)
        except OSError:
            failed_on = day
            # Nothing of the failed close was kept: states, outbox and the closed day.
            assert {u: store.cases.get(u, "overcrowding") for u in UNITS} == before
            assert store.outbox.rows() == []
            assert store.last_closed_day() == day - timedelta(days=1)
            report = closer.close_day(day, closes_at)  # the daemon's next attempt
            assert [a.unit_id for a in report.raised] == ["0201"]
        assert store.last_closed_day() == day
    rows = store.outbox.rows()
    assert [(r["unit_id"], r["kind"]) for r in rows] == [("0201", "overcrowding")]
    assert failed_on is not None  # the signer failed on the day the trace's rental is raised
    assert json.loads(rows[0]["body"])["window"]["to"] == failed_on.isoformat()
    assert rows[0]["counter"] == 1  # the failed attempt's sequence rolled back with it
    store.close()


def test_a_storage_error_inside_a_unit_of_work_names_sqlites_own_error(tmp_path: Path) -> None:
    """A failing statement inside the unit of work surfaces SQLite's message, not 'cannot
    rollback - no transaction is active'."""
    from gateway.store.database import StoreError

    store = GatewayStore(tmp_path / "g.sqlite")
    with pytest.raises(StoreError, match="no such table: nowhere"), store.transaction() as conn:
        store.cases.save("0101", "overcrowding", {"phase": "open"})
        conn.execute("INSERT INTO nowhere VALUES (1)")
    assert store.cases.get("0101", "overcrowding") is None
    store.close()

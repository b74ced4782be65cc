"""The tickets database on SQLite and on PostgreSQL: one ticket per case, idempotent re-delivery,
a lifecycle recorded step by step, and no second ticket when bridges race."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from cloud_bridge.config import BridgeConfig
from cloud_bridge.errors import InvalidTransition, TicketConflict, TicketNotFound
from cloud_bridge.ingest.verification import VerificationLimits, VerifiedAlert, verify_alert
from cloud_bridge.store.ticket_records import Outcome
from cloud_bridge.store.tickets_db import TicketsDB
from tests.cloud_bridge.signed_alerts import NOW, FakeGateway, alert_body

T0 = datetime(2026, 3, 4, 0, 10, tzinfo=UTC)


@pytest.fixture
def verified(bridge_config: BridgeConfig, gateway: FakeGateway) -> Callable[..., VerifiedAlert]:
    """Sign (with the real gateway signer) and verify (with the real verifier) an alert."""

    def make(body: dict[str, Any] | None = None, *, counter: int | None = None) -> VerifiedAlert:
        token = gateway.sign(body, counter=counter)
        result = verify_alert(
            gateway.topic, token, bridge_config.registry, NOW, VerificationLimits()
        )
        assert isinstance(result, VerifiedAlert), result
        return result

    return make


def test_first_alert_opens_a_ticket_dispatched_to_its_office(
    db: TicketsDB, verified: Callable[..., VerifiedAlert]
) -> None:
    outcome = db.record_alert(verified(), "linfen-road", T0)
    assert outcome.status == "accepted"
    assert outcome.ticket_id is not None
    ticket = db.get_ticket(outcome.ticket_id)
    assert (ticket.gateway_id, ticket.unit_id, ticket.kind) == ("gw-1", "0302", "overcrowding")
    assert (ticket.state, ticket.is_open, ticket.street_office) == (
        "dispatched",
        True,
        "linfen-road",
    )
    assert (ticket.alert_id, ticket.revision, ticket.legal_cap) == (
        "gw-1.0302.overcrowding.20260302",
        0,
        2,
    )
    assert (ticket.estimate_point, ticket.estimate_low, ticket.estimate_high) == (9.1, 7.1, 11.1)
    assert ticket.confidence == 0.97
    assert ticket.created_at == T0 and ticket.created_at.tzinfo is not None
    assert ticket.evidence["window"] == {"from": "2026-03-02", "to": "2026-03-03"}
    assert [d["date"] for d in ticket.evidence["days"]] == ["2026-03-02", "2026-03-03"]
    assert [(h.event, h.from_state, h.to_state, h.actor) for h in ticket.history] == [
        ("open", None, "new", "bridge-1"),
        ("dispatch", "new", "dispatched", "bridge-1"),
    ]
    assert "linfen-road" in ticket.history[1].note
    assert ticket.as_json()["estimated_occupancy"] == {"point": 9.1, "low": 7.1, "high": 11.1}
    assert ticket.as_json()["created_at"] == "2026-03-04T00:10:00+00:00"


def test_same_message_again_is_a_duplicate(
    db: TicketsDB, verified: Callable[..., VerifiedAlert]
) -> None:
    alert = verified()
    first = db.record_alert(alert, "linfen-road", T0)
    again = db.record_alert(alert, "linfen-road", T0 + timedelta(minutes=1))
    assert again == Outcome("duplicate", first.ticket_id)
    assert len(db.list_tickets()) == 1
    assert len(db.get_ticket(first.ticket_id or 0).history) == 2  # nothing recorded


def test_another_message_reusing_a_sequence_is_rejected(
    db: TicketsDB, verified: Callable[..., VerifiedAlert]
) -> None:
    db.record_alert(verified(counter=7), "linfen-road", T0)
    other = verified(alert_body(unit_id="0101"), counter=7)
    outcome = db.record_alert(other, "linfen-road", T0)
    assert outcome.status == "rejected"
    assert outcome.reason == "sequence reused: 1/7 already carried another alert"
    assert [t.unit_id for t in db.list_tickets()] == ["0302"]


def test_later_alerts_for_the_case_update_its_one_open_ticket(
    db: TicketsDB, verified: Callable[..., VerifiedAlert]
) -> None:
    first = db.record_alert(verified(), "linfen-road", T0)
    update = alert_body(
        revision=1,
        point=11.0,
        days=[{"date": "2026-03-04", "water_m3": 1.4, "estimate": 11.0}],
    )
    update["window"] = {"from": "2026-03-04", "to": "2026-03-04"}
    second = db.record_alert(verified(update), "linfen-road", T0 + timedelta(days=1))
    # A new case id for the same unit and kind (the gateway re-raised it) joins the same ticket.
    new_case = alert_body(case_day="20260310", point=12.0)
    third = db.record_alert(verified(new_case), "linfen-road", T0 + timedelta(days=7))
    assert first.ticket_id == second.ticket_id == third.ticket_id
    tickets = db.list_tickets()
    assert len(tickets) == 1
    ticket = db.get_ticket(tickets[0].id)
    assert (ticket.alert_id, ticket.revision, ticket.estimate_point) == (
        "gw-1.0302.overcrowding.20260310",
        0,
        12.0,
    )
    assert ticket.updated_at == T0 + timedelta(days=7)
    assert [d["date"] for d in ticket.evidence["days"]] == [
        "2026-03-02",
        "2026-03-03",
        "2026-03-04",
    ]
    assert ticket.evidence["window"] == {"from": "2026-03-02", "to": "2026-03-04"}
    assert [h.event for h in ticket.history] == ["open", "dispatch", "evidence", "evidence"]
    assert ticket.state == "dispatched"


def test_an_older_revision_arriving_late_adds_days_but_keeps_the_newer_estimate(
    db: TicketsDB, verified: Callable[..., VerifiedAlert]
) -> None:
    newer = verified(alert_body(revision=2, point=12.0))
    older = verified(
        alert_body(
            revision=1, point=8.0, days=[{"date": "2026-03-01", "water_m3": 0.9, "estimate": 8.0}]
        )
    )
    ticket_id = db.record_alert(newer, "linfen-road", T0).ticket_id or 0
    db.record_alert(older, "linfen-road", T0)
    ticket = db.get_ticket(ticket_id)
    assert (ticket.revision, ticket.estimate_point) == (2, 12.0)
    assert ticket.evidence["days"][0]["date"] == "2026-03-01"


def test_other_units_and_kinds_get_their_own_tickets(
    db: TicketsDB, verified: Callable[..., VerifiedAlert]
) -> None:
    db.record_alert(verified(), "linfen-road", T0)
    db.record_alert(verified(alert_body(unit_id="0101")), "linfen-road", T0)
    db.record_alert(verified(alert_body(kind="leak")), "pengpu", T0)
    tickets = db.list_tickets()
    assert [(t.unit_id, t.kind) for t in tickets] == [
        ("0302", "overcrowding"),
        ("0101", "overcrowding"),
        ("0302", "leak"),
    ]
    assert [t.unit_id for t in db.list_tickets(street_office="pengpu")] == ["0302"]


def test_lifecycle_is_recorded_with_who_and_when(
    db: TicketsDB, verified: Callable[..., VerifiedAlert]
) -> None:
    ticket_id = db.record_alert(verified(), "linfen-road", T0).ticket_id or 0
    steps = ["visit", "confirm", "order_rectification", "schedule_revisit", "revisit_failed"]
    for i, event in enumerate(steps):
        db.apply_event(ticket_id, event, "inspector wang", f"step {i}", T0 + timedelta(days=i + 1))
    ticket = db.apply_event(
        ticket_id, "order_rectification", "inspector li", "", T0 + timedelta(days=9)
    )
    assert ticket.state == "rectifying"
    last = ticket.history[-1]
    assert (last.event, last.from_state, last.to_state, last.actor) == (
        "order_rectification",
        "relapsed",
        "rectifying",
        "inspector li",
    )
    assert last.at == T0 + timedelta(days=9)
    assert ticket.history[2].note == "step 0"
    with pytest.raises(InvalidTransition, match="cannot apply 'visit' to a ticket in state"):
        db.apply_event(ticket_id, "visit", "inspector wang")
    assert db.get_ticket(ticket_id).state == "rectifying"  # nothing changed
    with pytest.raises(TicketNotFound):
        db.apply_event(9999, "visit", "inspector wang")
    with pytest.raises(TicketNotFound):
        db.get_ticket(9999)


def test_a_closed_case_alerted_again_opens_a_new_ticket_and_blocks_reopening(
    db: TicketsDB, verified: Callable[..., VerifiedAlert]
) -> None:
    first = db.record_alert(verified(), "linfen-road", T0).ticket_id or 0
    closed = db.apply_event(first, "dismiss", "dispatcher zhao", "registered family of nine")
    assert (closed.state, closed.is_open) == ("false_alarm", False)
    assert db.list_tickets(open_only=True) == []
    second = db.record_alert(verified(alert_body(revision=1)), "linfen-road", T0).ticket_id
    assert second is not None and second != first
    with pytest.raises(TicketConflict, match=f"ticket #{first} cannot be reopened"):
        db.apply_event(first, "reopen", "dispatcher zhao")
    db.apply_event(second, "dismiss", "dispatcher zhao")
    assert db.apply_event(first, "reopen", "dispatcher zhao").state == "dispatched"


def test_schema_migration_is_idempotent(db: TicketsDB, db_url: str) -> None:
    db.migrate()
    other = TicketsDB(db_url)
    try:
        other.migrate()
        other.check()
    finally:
        other.close()


def test_naive_times_are_refused(db: TicketsDB, verified: Callable[..., VerifiedAlert]) -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        db.record_alert(verified(), "linfen-road", datetime(2026, 3, 4))


def test_times_in_any_offset_come_back_as_the_same_instant_in_utc(
    db: TicketsDB, verified: Callable[..., VerifiedAlert]
) -> None:
    shanghai = T0.astimezone(timezone(timedelta(hours=8)))
    ticket_id = db.record_alert(verified(), "linfen-road", shanghai).ticket_id or 0
    assert db.get_ticket(ticket_id).created_at == T0
    assert db.get_ticket(ticket_id).created_at.utcoffset() == timedelta(0)


def _race(workers: list[Callable[[], Outcome]]) -> list[Outcome]:
    barrier = threading.Barrier(len(workers))
    results: list[Outcome] = []
    errors: list[BaseException] = []

    def run(work: Callable[[], Outcome]) -> None:
        barrier.wait()
        try:
            results.append(work())
        except BaseException as err:  # reported below, in the test's thread
            errors.append(err)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    return results


def test_bridges_racing_on_one_message_make_one_ticket(
    db_url: str, db: TicketsDB, verified: Callable[..., VerifiedAlert]
) -> None:
    alert = verified()
    bridges = [TicketsDB(db_url, actor=f"bridge-{i}") for i in range(4)]
    try:
        outcomes = _race([lambda b=b: b.record_alert(alert, "linfen-road", T0) for b in bridges])
    finally:
        for bridge in bridges:
            bridge.close()
    assert sorted(o.status for o in outcomes) == ["accepted", "duplicate", "duplicate", "duplicate"]
    assert len({o.ticket_id for o in outcomes}) == 1
    assert len(db.list_tickets()) == 1


def test_bridges_racing_on_one_case_make_one_ticket(
    db_url: str, db: TicketsDB, verified: Callable[..., VerifiedAlert]
) -> None:
    alerts = [verified(alert_body(revision=i, point=9.0 + i)) for i in range(4)]
    bridges = [TicketsDB(db_url, actor=f"bridge-{i}") for i in range(4)]
    try:
        outcomes = _race(
            [
                lambda b=b, a=a: b.record_alert(a, "linfen-road", T0)
                for b, a in zip(bridges, alerts, strict=True)
            ]
        )
    finally:
        for bridge in bridges:
            bridge.close()
    assert [o.status for o in outcomes] == ["accepted"] * 4
    assert len({o.ticket_id for o in outcomes}) == 1
    (ticket,) = db.list_tickets()
    history = db.get_ticket(ticket.id).history
    assert [h.event for h in history].count("evidence") == 3


def test_the_loser_of_a_race_sees_the_winners_ticket(
    db_url: str, db: TicketsDB, verified: Callable[..., VerifiedAlert], caplog: Any
) -> None:
    """Deterministic race: bridge A has recorded the message but not committed yet when bridge B
    records it too. B waits on A (a unique key on PostgreSQL, the write lock on SQLite), and then
    answers ``duplicate`` with A's ticket."""
    alert = verified()
    other = TicketsDB(db_url, actor="bridge-2")
    results: list[Outcome] = []
    caplog.set_level("DEBUG", logger="cloud_bridge.store.tickets_db")
    try:
        with db._transaction(write=True) as conn:
            winner = db._record(conn, alert, "linfen-road", T0)
            loser = threading.Thread(
                target=lambda: results.append(other.record_alert(alert, "linfen-road", T0))
            )
            loser.start()
            loser.join(0.5)
            assert loser.is_alive()  # blocked until A commits
        loser.join(10)
    finally:
        other.close()
    assert results == [Outcome("duplicate", winner.ticket_id)]
    if db_url.startswith("postgresql"):
        assert "race on gw-1.0302.overcrowding.20260302 (attempt 1)" in caplog.text

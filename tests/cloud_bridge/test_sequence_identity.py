"""A message's identity is its gateway's ``(boot_id, boot_epoch, counter)``, and a re-send is the
same alert signed again (fresh ``iat``), on SQLite and on PostgreSQL: two boots that reuse an
epoch and counter are two messages; a re-send is a ``duplicate`` of the same ticket; another
alert under a used sequence is refused; age is judged on the send, so an alert that waited long
in the gateway's outbox still counts; and the ack echoes the sequence as sent."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from cloud_bridge.config import BridgeConfig
from cloud_bridge.ingest.alert_ingest import AlertIngest
from cloud_bridge.ingest.contract import contract_errors
from cloud_bridge.ingest.verification import (
    RejectedMessage,
    VerificationLimits,
    VerifiedAlert,
    verify_alert,
)
from cloud_bridge.store.schema import alerts_received
from cloud_bridge.store.ticket_records import Outcome
from cloud_bridge.store.tickets_db import TicketsDB
from simclock import SimClock
from tests.cloud_bridge.signed_alerts import NOW, FakeGateway, alert_body

BOOT_A = "0f1e2d3c4b5a6978"
BOOT_B = "89abcdef01234567"
T0 = datetime.fromtimestamp(NOW, UTC)
DAYS_30 = 30 * 86400.0


@pytest.fixture
def verified(bridge_config: BridgeConfig, gateway: FakeGateway) -> Callable[..., VerifiedAlert]:
    """Sign an alert as the gateway does and verify it as the bridge does, at time ``now``."""

    def make(
        body: dict[str, Any] | None = None, *, now: int = NOW, iat: int | None = None, **seq: Any
    ) -> VerifiedAlert:
        token = gateway.sign(body, iat=now if iat is None else iat, **seq)
        result = verify_alert(
            gateway.topic, token, bridge_config.registry, now, VerificationLimits()
        )
        assert isinstance(result, VerifiedAlert), result
        return result

    return make


@pytest.fixture
def ingest(bridge_config: BridgeConfig, db: TicketsDB) -> Iterator[AlertIngest]:
    """The bridge's ingest with its clock at the tests' message time (no broker needed to call
    :meth:`AlertIngest.process`)."""
    yield AlertIngest(bridge_config, db, SimClock(start=T0, anchor=time.time()))


def stored_sequences(db_url: str) -> list[tuple[str, int, int]]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            query = select(
                alerts_received.c.boot_id, alerts_received.c.boot_epoch, alerts_received.c.counter
            ).order_by(alerts_received.c.id)
            return [tuple(row) for row in conn.execute(query)]  # type: ignore[misc]
    finally:
        engine.dispose()


def test_the_same_epoch_and_counter_in_another_boot_is_another_message(
    db: TicketsDB, db_url: str, verified: Callable[..., VerifiedAlert]
) -> None:
    """A gateway whose store was wiped or restored from an old backup starts counting again:
    its new boot id keeps the sequences apart."""
    alerts = [
        verified(counter=1, boot_id=""),  # a gateway from before boot ids
        verified(counter=1, boot_id=BOOT_A),
        verified(alert_body(revision=1), counter=1, boot_id=BOOT_B),
    ]
    outcomes = [db.record_alert(a, "linfen-road", T0) for a in alerts]
    assert [o.status for o in outcomes] == ["accepted"] * 3
    assert len({o.ticket_id for o in outcomes}) == 1  # one case, one ticket
    assert stored_sequences(db_url) == [("", 1, 1), (BOOT_A, 1, 1), (BOOT_B, 1, 1)]
    assert [a.seq for a in alerts] == [
        {"boot_epoch": 1, "counter": 1},
        {"boot_epoch": 1, "counter": 1, "boot_id": BOOT_A},
        {"boot_epoch": 1, "counter": 1, "boot_id": BOOT_B},
    ]


@pytest.mark.parametrize("boot_id", ["", BOOT_A], ids=["no-boot-id", "boot-id"])
def test_a_resend_signed_again_later_is_a_duplicate_of_the_same_ticket(
    db: TicketsDB, verified: Callable[..., VerifiedAlert], boot_id: str
) -> None:
    first = verified(counter=5, boot_id=boot_id)
    later = NOW + 6 * 3600
    resend = verified(counter=5, boot_id=boot_id, now=later)
    assert resend.token != first.token and resend.iat == later
    accepted = db.record_alert(first, "linfen-road", T0)
    again = db.record_alert(resend, "linfen-road", T0 + timedelta(hours=6))
    assert again == Outcome("duplicate", accepted.ticket_id)
    assert len(db.get_ticket(accepted.ticket_id or 0).history) == 2  # nothing added


def test_another_alert_under_the_same_full_sequence_is_refused(
    db: TicketsDB, verified: Callable[..., VerifiedAlert]
) -> None:
    db.record_alert(verified(counter=5, boot_id=BOOT_A), "linfen-road", T0)
    other = verified(alert_body(unit_id="0101"), counter=5, boot_id=BOOT_A)
    outcome = db.record_alert(other, "linfen-road", T0)
    assert (outcome.status, outcome.reason) == (
        "rejected",
        f"sequence reused: {BOOT_A}/1/5 already carried another alert",
    )
    assert [t.unit_id for t in db.list_tickets()] == ["0302"]


async def test_an_alert_that_waited_40_days_in_the_outbox_is_accepted_when_sent(
    bridge_config: BridgeConfig, gateway: FakeGateway, ingest: AlertIngest
) -> None:
    assert bridge_config.limits.max_message_age_s == DAYS_30
    body = alert_body()
    body["raised_at"] = (T0 - timedelta(days=40)).isoformat()
    # Signed when it was raised, it would be stale now ...
    stale = verify_alert(
        gateway.topic,
        gateway.sign(body, iat=NOW - 40 * 86400, boot_id=BOOT_A),
        bridge_config.registry,
        NOW,
        bridge_config.limits,
    )
    assert isinstance(stale, RejectedMessage) and stale.reason == "stale: iat is 40 days old"
    # ... but the gateway signs every send again: sent now, it is current.
    ack = await ingest.process(gateway.topic, gateway.sign(body, iat=NOW, boot_id=BOOT_A))
    assert ack is not None and ack.body["status"] == "accepted"


@pytest.mark.parametrize("boot_id", ["", BOOT_A], ids=["no-boot-id", "boot-id"])
async def test_the_ack_echoes_the_sequence_as_sent(
    gateway: FakeGateway, ingest: AlertIngest, boot_id: str
) -> None:
    sent = {"boot_epoch": 1, "counter": 3} | ({"boot_id": boot_id} if boot_id else {})
    acks = [
        await ingest.process(gateway.topic, gateway.sign(counter=3, boot_id=boot_id)),
        await ingest.process(gateway.topic, gateway.sign(counter=3, boot_id=boot_id, iat=NOW + 9)),
        await ingest.process(
            gateway.topic, gateway.sign(alert_body(unit_id="0101"), counter=3, boot_id=boot_id)
        ),
    ]
    assert [(a.body["status"], a.body["seq"]) for a in acks if a is not None] == [
        ("accepted", sent),
        ("duplicate", sent),
        ("rejected", sent),
    ]
    for ack in acks:
        assert ack is not None and contract_errors("ack", ack.body) == []
        assert ack.topic == "bldg/v1/gw-1/ack"


@pytest.mark.parametrize(
    ("boot_id", "valid"),
    [(BOOT_A, True), ("0" * 32, True), ("0" * 15, False), ("0" * 33, False), ("0F" * 8, False)],
)
def test_a_boot_id_is_16_to_32_lowercase_hex_digits(boot_id: str, valid: bool) -> None:
    seq = {"boot_id": boot_id, "boot_epoch": 1, "counter": 1}
    claims = {"iss": "gw-1", "topic": "bldg/v1/gw-1/alert", "iat": NOW, "seq": seq,
              "alert": alert_body()}  # fmt: skip
    ack = {"alert_id": "a", "seq": seq, "status": "accepted", "ticket_id": 1}
    assert (contract_errors("envelope-claims", claims) == []) is valid
    assert (contract_errors("ack", ack) == []) is valid

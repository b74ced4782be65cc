"""Hostile input on every topic, against a real mosquitto: each attack of the trust issue is
replayed, and each costs one counted refusal, never a task, never a genuine alert.

1. JSON nested 5,000 deep inside a validly framed 13 KB alert (in the payload, in the header,
   and signed by the gateway's own key), and a payload over the size limit: the ingest task
   keeps running and the next genuine alert is accepted.
2. The same nesting on the gateway's ``.../ack`` topic, also retained (it would meet the uplink
   at every start): the uplink keeps running and records the genuine ack that follows.
3. A forged, unsigned message that reuses a genuine pending alert's sequence: the bridge sends
   no ``rejected`` ack, so the gateway keeps its alert and delivers it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import aiomqtt
import pytest

from cloud_bridge.ingest.alert_ingest import AlertIngest
from cloud_bridge.store.tickets_db import TicketsDB
from gateway.config.gateway_file import load_gateway_config
from gateway.store.gateway_store import GatewayStore
from gateway.store.outbox import OutboxMessage
from gateway.wire.signer import Sequence
from gateway.wire.uplink import Uplink
from qunzu_common.refusal_log import RefusalLog
from tests.cloud_bridge.signed_alerts import NOW, FakeGateway, alert_body, make_gateway
from tests.cloud_bridge.test_ingest import CLOCK, config_for, eventually, gateway_side, running
from tests.cloud_bridge.test_verification import sign_raw
from tests.conftest import RunningBroker, gateway_signer

pytestmark = pytest.mark.timeout(60)

DEEP = b"[" * 5000 + b"]" * 5000


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def framed(gateway: FakeGateway, payload: bytes, header: bytes | None = None) -> bytes:
    """A compact JWS with a plausible header and a signature of the right length, unsigned."""
    protected = (
        header
        or json.dumps({"alg": "Ed25519", "kid": gateway.kid, "typ": "bldg-alert+jws"}).encode()
    )
    return f"{b64(protected)}.{b64(payload)}.{b64(bytes(64))}".encode()


def gateway_toml(tmp_path: Path, gateway: FakeGateway, port: int, resend_after_s: float) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(
        f"""
[gateway]
id = "{gateway.gateway_id}"
key_file = "{gateway.private_key}"
[mqtt]
port = {port}
resend_after_s = {resend_after_s}
[[units]]
unit_id = "0302"
floor = 3
area_m2 = 44
rooms = 1
""",
        encoding="utf-8",
    )
    return path


def enqueue_genuine(store: GatewayStore, gateway: FakeGateway) -> None:
    body = alert_body()
    store.outbox.enqueue(
        OutboxMessage(
            Sequence(1, 1),
            gateway.topic,
            gateway.sign(body, counter=1).decode(),
            body["alert_id"],
            "0302",
            "overcrowding",
            0,
            0,
        ),
        datetime.now(UTC),
    )


async def test_hostile_alerts_cost_a_count_not_the_ingest_task(
    tmp_path: Path, mosquitto: RunningBroker, gateway: FakeGateway
) -> None:
    config = config_for(tmp_path, [gateway], mosquitto.port)
    db = TicketsDB(config.bridge.database_url, actor="bridge-1")
    db.create_schema()
    ingest = AlertIngest(config, db, CLOCK)
    hostile = [
        framed(gateway, DEEP),  # 13 KB, nested 5,000 deep in the payload
        framed(gateway, b"{}", header=b'{"alg":' + DEEP + b"}"),  # ... in the header
        framed(gateway, b"{}", header=b'{"alg":' + b"[" * 400 + b"]" * 400 + b"}"),  # smaller
        sign_raw(gateway, DEEP),  # ... and genuinely signed
        framed(gateway, b"{}", header=b"x" * 100_000),  # over max_message_bytes
    ]
    assert 13_000 < len(hostile[0]) < 14_000
    try:
        async with gateway_side(mosquitto.port) as side, running(ingest) as task:
            for payload in hostile:
                await side.send(gateway.topic, payload)
            await side.send(gateway.topic, gateway.sign())
            ack = await side.next_ack(1)
            assert (ack["status"], ack["seq"]) == ("accepted", {"boot_epoch": 1, "counter": 1})
            assert not task.done()
            # The payload is never parsed before its signature verifies; headers are parsed
            # within tight limits; a signed payload within the claims' limits.
            assert ingest.refusals.counts == {
                "signature": 1,
                "json bytes": 1,
                "json depth": 2,
                "bytes": 1,
            }
            await asyncio.sleep(0.3)
            assert len(side.acks) == 1  # nothing unattributable was answered
    finally:
        db.close()


async def test_hostile_acks_cost_a_count_not_the_uplink(
    tmp_path: Path, mosquitto: RunningBroker, gateway: FakeGateway
) -> None:
    store = GatewayStore(tmp_path / "gateway.sqlite")
    enqueue_genuine(store, gateway)
    config = load_gateway_config(gateway_toml(tmp_path, gateway, mosquitto.port, 30.0))
    uplink = Uplink(config, store, gateway_signer(config), CLOCK, "test")
    ack_topic = "bldg/v1/gw-1/ack"
    async with aiomqtt.Client("127.0.0.1", mosquitto.port) as attacker:
        # Retained: the broker hands it to the uplink at every start.
        await attacker.publish(ack_topic, DEEP, qos=1, retain=True)
        link = asyncio.create_task(uplink.run(), name="uplink")
        try:
            await eventually(lambda: store.outbox.rows()[0]["sent_count"] >= 1)
            for payload in (DEEP, b"\xff" * 10, b"[" * 20_000, b'{"seq": 1e999}'):
                await attacker.publish(ack_topic, payload, qos=1)
            genuine = {
                "alert_id": "gw-1.0302.overcrowding.20260302",
                "seq": {"boot_epoch": 1, "counter": 1},
                "status": "accepted",
                "ticket_id": 7,
            }
            await attacker.publish(ack_topic, json.dumps(genuine), qos=1)
            await eventually(lambda: store.outbox.rows()[0]["ack_status"] == "accepted")
            assert not link.done()
            assert uplink.refused_downlinks.counts == {
                "json depth": 2,
                "json utf8": 1,
                "bytes": 1,
                "json number": 1,
            }
        finally:
            link.cancel()
            await asyncio.gather(link, return_exceptions=True)
            await attacker.publish(ack_topic, b"", qos=1, retain=True)
    store.close()


async def test_a_forged_message_reusing_a_pending_sequence_gets_no_ack(
    tmp_path: Path, mosquitto: RunningBroker, gateway: FakeGateway
) -> None:
    """The gateway's genuine alert (1, 1) is pending; a forger sends an unsigned message with
    the same sequence. Before, the bridge answered ``rejected`` for (1, 1) and the gateway
    dropped its genuine alert; now there is no answer, and the re-send is accepted."""
    store = GatewayStore(tmp_path / "gateway.sqlite")
    enqueue_genuine(store, gateway)
    forger = make_gateway(tmp_path / "forger", "gw-1")  # same id, a key the bridge never saw
    forged = forger.sign(alert_body(), counter=1)
    claims_segment = forged.split(b".")[1]
    unsigned = framed(gateway, base64.urlsafe_b64decode(claims_segment + b"=="))
    config = config_for(tmp_path, [gateway], mosquitto.port)
    db = TicketsDB(config.bridge.database_url, actor="bridge-1")
    db.create_schema()
    ingest = AlertIngest(config, db, CLOCK)
    try:
        async with gateway_side(mosquitto.port) as side, running(ingest):
            await side.send(gateway.topic, forged)
            # The forger's claims under the gateway's own kid, with a garbage signature.
            await side.send(gateway.topic, unsigned)
            await asyncio.sleep(1.0)
            assert side.acks == []
            assert ingest.refusals.counts == {"kid": 1, "signature": 1}

            config_path = gateway_toml(tmp_path, gateway, mosquitto.port, 0.5)
            uplink = Uplink(
                load_gateway_config(config_path),
                store,
                gateway_signer(load_gateway_config(config_path)),
                CLOCK,
                "test",
            )
            link = asyncio.create_task(uplink.run(), name="uplink")
            try:
                await eventually(lambda: store.outbox.rows()[0]["ack_status"] is not None)
            finally:
                link.cancel()
                await asyncio.gather(link, return_exceptions=True)
        assert store.outbox.rows()[0]["ack_status"] == "accepted"
        assert [t.unit_id for t in db.list_tickets()] == ["0302"]
    finally:
        store.close()
        db.close()


def test_refusals_are_logged_once_then_summarised_per_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = [0.0]
    refusals = RefusalLog(logging.getLogger("tests.trust"), "message", monotonic=lambda: clock[0])
    with caplog.at_level(logging.WARNING, logger="tests.trust"):
        for _ in range(10_000):
            refusals.refused("json depth", "on t: nested deeper than 32")
        refusals.refused("bytes", "on t: too big")  # a new kind is reported at once
        assert len(caplog.records) == 2
        clock[0] = 61.0
        refusals.refused("json depth", "on t: nested deeper than 32")
    assert len(caplog.records) == 3
    assert "and 9999 more since the last report" in caplog.records[-1].getMessage()
    assert refusals.counts == {"json depth": 10_001, "bytes": 1}


@pytest.mark.parametrize(
    "change",
    [
        {"iat": 10**400},  # OverflowError comparing with the clock
        {"seq": {"boot_epoch": 1, "counter": 2**70}},  # OverflowError storing it in SQLite
        {"seq": {"boot_epoch": 2**64, "counter": 1}},
        {"iat": "1e999"},
    ],
)
async def test_signed_numbers_out_of_range_are_refused_not_raised(
    tmp_path: Path, gateway: FakeGateway, change: dict[str, object]
) -> None:
    """Even a gateway's own signature does not make 10**400 a sequence number."""
    claims: dict[str, object] = {
        "iss": "gw-1",
        "topic": gateway.topic,
        "iat": NOW,
        "seq": {"boot_epoch": 1, "counter": 1},
        "alert": alert_body(),
        **change,
    }
    text = json.dumps(claims).replace('"1e999"', "1e999")
    config = config_for(tmp_path, [gateway], 1883)
    db = TicketsDB(config.bridge.database_url, actor="bridge-1")
    db.create_schema()
    try:
        ingest = AlertIngest(config, db, CLOCK)
        assert await ingest.process(gateway.topic, sign_raw(gateway, text.encode())) is None
        assert ingest.refusals.counts == {"json number": 1}
        assert db.list_tickets() == []
    finally:
        db.close()

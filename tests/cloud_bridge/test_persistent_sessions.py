"""Sessions that outlive connections, against a real mosquitto: an alert published while no
bridge is connected waits in the bridges' shared-subscription session and is answered when a
bridge returns; with the broker's persistence on, that alert and the gateway's session (its ack
subscription) survive a broker restart too. The gateway's timed re-send is switched far off
(``resend_after_s`` of ten days), so only the broker can have delivered what arrives."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from cloud_bridge.config import BridgeConfig, load_bridge_config
from cloud_bridge.ingest.alert_ingest import AlertIngest
from cloud_bridge.store.tickets_db import TicketsDB
from gateway.config.gateway_file import load_gateway_config
from gateway.store.gateway_store import GatewayStore
from gateway.store.outbox import OutboxMessage
from gateway.wire.keys import load_signing_key
from gateway.wire.signer import EnvelopeSigner, Sequence
from gateway.wire.uplink import Uplink
from simclock import SimClock
from tests.cloud_bridge.signed_alerts import NOW, FakeGateway, alert_body, write_bridge_config
from tests.conftest import RunningBroker, start_persistent_mosquitto, stop_broker

pytestmark = pytest.mark.timeout(60)

CLOCK = SimClock(start=datetime.fromtimestamp(NOW, UTC), anchor=time.time())
NEVER_S = 10 * 86_400.0  # the gateway's re-send, out of the way


async def eventually(predicate: Callable[[], bool], within_s: float = 10.0) -> None:
    async with asyncio.timeout(within_s):
        while not predicate():  # noqa: ASYNC110 - stores and other clients have no event here
            await asyncio.sleep(0.05)


def bridge_config(tmp_path: Path, gateway: FakeGateway, port: int) -> BridgeConfig:
    return load_bridge_config(write_bridge_config(tmp_path, [gateway], mqtt_port=port))


def gateway_uplink(tmp_path: Path, gateway: FakeGateway, port: int, store: GatewayStore) -> Uplink:
    path = tmp_path / "gateway.toml"
    path.write_text(
        f"""
[gateway]
id = "gw-1"
key_file = "{gateway.private_key}"
[mqtt]
port = {port}
resend_after_s = {NEVER_S}
[[units]]
unit_id = "0302"
floor = 3
area_m2 = 44
rooms = 1
""",
        encoding="utf-8",
    )
    config = load_gateway_config(path)
    signer = EnvelopeSigner(config.gateway.id, load_signing_key(config.gateway.key_file))
    return Uplink(config, store, signer, CLOCK, "test")


def enqueue_alert(store: GatewayStore, gateway: FakeGateway) -> None:
    body = alert_body()
    token = gateway.sign(body, counter=1).decode()
    message = OutboxMessage(
        Sequence(1, 1), gateway.topic, token, body["alert_id"], "0302", "overcrowding", 0, 0
    )
    store.outbox.enqueue(message, datetime.now(UTC))


def outbox_row(store: GatewayStore) -> dict[str, Any]:
    rows = store.outbox.rows()
    assert len(rows) == 1
    return rows[0]


@asynccontextmanager
async def running(coroutine: Any, name: str) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(coroutine, name=name)
    try:
        yield task
    finally:
        # Cancel until it is done: on Python 3.11, a cancellation that lands just as a publish
        # is confirmed is lost inside aiomqtt (``asyncio.wait_for``), and the task carries on.
        while not task.done():
            task.cancel()
            await asyncio.wait([task], timeout=1.0)
        await asyncio.gather(task, return_exceptions=True)


async def bridge_session_made(ingest: AlertIngest) -> None:
    """Connect a bridge once (the broker makes its session and shared subscription), then stop."""
    async with running(ingest.run(), "ingest"):
        async with asyncio.timeout(10):
            await ingest.wait_subscribed()


async def test_an_alert_sent_while_no_bridge_is_connected_is_answered_when_one_returns(
    tmp_path: Path, mosquitto: RunningBroker, gateway: FakeGateway
) -> None:
    config = bridge_config(tmp_path, gateway, mosquitto.port)
    db = TicketsDB(config.bridge.database_url)
    db.create_schema()
    store = GatewayStore(tmp_path / "gateway.sqlite")
    try:
        await bridge_session_made(AlertIngest(config, db, CLOCK))
        uplink = gateway_uplink(tmp_path, gateway, mosquitto.port, store)
        async with running(uplink.run(), "uplink"):
            enqueue_alert(store, gateway)
            uplink.wake()
            await eventually(lambda: outbox_row(store)["sent_count"] == 1)  # broker has it
            await asyncio.sleep(0.5)  # nobody is connected to take it
            assert db.list_tickets() == []
            async with running(AlertIngest(config, db, CLOCK).run(), "ingest"):
                await eventually(lambda: outbox_row(store)["ack_status"] is not None)
        row = outbox_row(store)
        assert (row["ack_status"], row["sent_count"]) == ("accepted", 1)  # sent once, kept
        assert [t.unit_id for t in db.list_tickets()] == ["0302"]
    finally:
        store.close()
        db.close()


async def test_the_queued_alert_and_the_gateways_session_survive_a_broker_restart(
    tmp_path: Path, gateway: FakeGateway
) -> None:
    broker_dir = tmp_path / "broker"
    broker_dir.mkdir()
    broker = start_persistent_mosquitto(broker_dir)
    config = bridge_config(tmp_path, gateway, broker.port)
    db = TicketsDB(config.bridge.database_url)
    db.create_schema()
    store = GatewayStore(tmp_path / "gateway.sqlite")
    try:
        await bridge_session_made(AlertIngest(config, db, CLOCK))
        uplink = gateway_uplink(tmp_path, gateway, broker.port, store)
        async with running(uplink.run(), "uplink"):
            enqueue_alert(store, gateway)
            uplink.wake()
            await eventually(lambda: outbox_row(store)["sent_count"] == 1)
        # Neither side is connected; the broker restarts, from its persistence file.
        await asyncio.to_thread(stop_broker, broker)
        broker = await asyncio.to_thread(start_persistent_mosquitto, broker_dir, broker.port)

        acks: list[dict[str, Any]] = []
        async with aiomqtt.Client("127.0.0.1", broker.port) as observer:
            await observer.subscribe("bldg/v1/gw-1/ack", qos=1)

            async def watch() -> None:
                async for message in observer.messages:
                    acks.append(json.loads(bytes(message.payload)))  # type: ignore[arg-type]

            async with (
                running(watch(), "watch-acks"),
                running(AlertIngest(config, db, CLOCK).run(), "ingest"),
            ):
                await eventually(lambda: len(acks) == 1)  # the bridge got the queued alert
                assert acks[0]["status"] == "accepted"
                assert [t.unit_id for t in db.list_tickets()] == ["0302"]
                assert outbox_row(store)["ack_status"] is None  # the gateway is still away

                # The gateway returns: the ack queued in its session arrives first. (Its
                # re-send on reconnecting would only earn a "duplicate".)
                async with running(
                    gateway_uplink(tmp_path, gateway, broker.port, store).run(), "uplink"
                ):
                    await eventually(lambda: outbox_row(store)["ack_status"] is not None)
        assert outbox_row(store)["ack_status"] == "accepted"
    finally:
        await asyncio.to_thread(stop_broker, broker)
        store.close()
        db.close()

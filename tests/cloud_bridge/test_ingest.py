"""Ingest against a real mosquitto: the bridge verifies, records and acknowledges alerts,
refuses bad messages with a logged reason and carries on, recognises replays, survives a broker
restart, shares the load with a second instance through an MQTT 5 shared subscription, and
answers the real gateway uplink in a way it understands."""

from __future__ import annotations

import asyncio
import json
import logging
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
from tests.cloud_bridge.signed_alerts import (
    NOW,
    FakeGateway,
    alert_body,
    make_gateway,
    write_bridge_config,
)
from tests.conftest import RunningBroker, start_mosquitto, stop_broker

pytestmark = pytest.mark.timeout(60)

# The bridge's clock reads the tests' message time, as a demo's simulated clock would.
CLOCK = SimClock(start=datetime.fromtimestamp(NOW, UTC), anchor=time.time())


async def eventually(predicate: Callable[[], bool], within_s: float = 10.0) -> None:
    async with asyncio.timeout(within_s):
        while not predicate():  # noqa: ASYNC110 - log records and acks arrive from other tasks
            await asyncio.sleep(0.02)


class GatewaySide:
    """What a gateway sees on the broker: it publishes alerts and collects the acks."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self.client = client
        self.acks: list[dict[str, Any]] = []

    async def send(self, topic: str, payload: bytes) -> None:
        await self.client.publish(topic, payload, qos=1)

    async def next_ack(self, count: int) -> dict[str, Any]:
        """Wait until ``count`` acks have arrived; the last one."""
        await eventually(lambda: len(self.acks) >= count)
        return self.acks[count - 1]

    async def _collect(self) -> None:
        async for message in self.client.messages:
            self.acks.append(json.loads(bytes(message.payload)))  # type: ignore[arg-type]


@asynccontextmanager
async def gateway_side(port: int) -> AsyncIterator[GatewaySide]:
    async with aiomqtt.Client(
        "127.0.0.1", port, identifier="test-gateway", protocol=aiomqtt.ProtocolVersion.V5
    ) as client:
        await client.subscribe("bldg/v1/+/ack", qos=1)
        side = GatewaySide(client)
        collector = asyncio.create_task(side._collect(), name="collect-acks")
        try:
            yield side
        finally:
            collector.cancel()
            await asyncio.gather(collector, return_exceptions=True)


@asynccontextmanager
async def running(ingest: AlertIngest) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(ingest.run(), name="ingest")
    try:
        async with asyncio.timeout(10):
            await ingest.wait_subscribed()
        yield task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def config_for(tmp_path: Path, gateways: list[FakeGateway], port: int, **kw: Any) -> BridgeConfig:
    return load_bridge_config(write_bridge_config(tmp_path, gateways, mqtt_port=port, **kw))


def refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "cloud_bridge.ingest.alert_ingest" and r.levelno == logging.WARNING
    ]


async def test_alerts_are_acknowledged_and_bad_ones_refused_while_the_bridge_carries_on(
    tmp_path: Path,
    mosquitto: RunningBroker,
    gateway: FakeGateway,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="cloud_bridge")
    config = config_for(tmp_path, [gateway], mosquitto.port)
    db = TicketsDB(config.bridge.database_url, actor="bridge-1")
    db.create_schema()
    stranger = make_gateway(tmp_path / "elsewhere", "gw-x")
    try:
        async with gateway_side(mosquitto.port) as side, running(AlertIngest(config, db, CLOCK)):
            # A good alert: accepted, one ticket.
            good = gateway.sign()
            await side.send(gateway.topic, good)
            ack = await side.next_ack(1)
            assert ack == {
                "alert_id": "gw-1.0302.overcrowding.20260302",
                "seq": {"boot_epoch": 1, "counter": 1},
                "status": "accepted",
                "ticket_id": 1,
            }

            # A forged one: refused and logged, never answered (nobody proved who sent it).
            header, payload, signature = gateway.sign().decode().split(".")
            forged = f"{header}.{payload}.{signature[:-6]}AAAAAA".encode()
            await side.send(gateway.topic, forged)
            await eventually(lambda: len(refusals(caplog)) == 1)
            assert refusals(caplog)[-1] == "refused message on bldg/v1/gw-1/alert: bad signature"

            # An unregistered gateway: logged, nobody to answer.
            await side.send(stranger.topic, stranger.sign())
            await eventually(lambda: len(refusals(caplog)) == 2)
            assert refusals(caplog)[-1] == (
                "refused message on bldg/v1/gw-x/alert: unknown gateway 'gw-x'"
            )

            # The first message again (a QoS 1 re-delivery or a gateway re-send): duplicate.
            await side.send(gateway.topic, good)
            ack = await side.next_ack(2)
            assert (ack["status"], ack["ticket_id"], ack["seq"]["counter"]) == ("duplicate", 1, 1)

            # Not a JWS at all: logged, no ack possible (no sequence to name).
            await side.send(gateway.topic, b"{not even json")
            await eventually(lambda: len(refusals(caplog)) == 3)
            assert refusals(caplog)[-1].endswith("not a JWS compact serialization")

            # Stale: refused and not acknowledged (the gateway keeps the alert, sends it anew).
            await side.send(gateway.topic, gateway.sign(iat=NOW - 40 * 86400))
            await eventually(lambda: len(refusals(caplog)) == 4)
            assert refusals(caplog)[-1].endswith("stale: iat is 40 days old")

            # And the bridge still takes good alerts.
            await side.send(gateway.topic, gateway.sign(alert_body(unit_id="0101")))
            ack = await side.next_ack(3)
            assert (ack["status"], ack["ticket_id"]) == ("accepted", 2)
            assert len(side.acks) == 3
        assert [(t.unit_id, t.state) for t in db.list_tickets()] == [
            ("0302", "dispatched"),
            ("0101", "dispatched"),
        ]
    finally:
        db.close()


async def test_mqtt_3_1_1_uses_a_plain_subscription(
    tmp_path: Path, mosquitto: RunningBroker, gateway: FakeGateway
) -> None:
    config = config_for(tmp_path, [gateway], mosquitto.port, protocol="3.1.1")
    db = TicketsDB(config.bridge.database_url)
    db.create_schema()
    try:
        async with gateway_side(mosquitto.port) as side, running(AlertIngest(config, db, CLOCK)):
            await side.send(gateway.topic, gateway.sign())
            assert (await side.next_ack(1))["status"] == "accepted"
    finally:
        db.close()


async def test_broker_restart_is_survived_and_logged_once(
    tmp_path: Path, gateway: FakeGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="cloud_bridge.ingest.alert_ingest")
    broker_dir = tmp_path / "broker"
    broker_dir.mkdir()
    broker = start_mosquitto(broker_dir)
    config = config_for(tmp_path, [gateway], broker.port)
    db = TicketsDB(config.bridge.database_url)
    db.create_schema()
    ingest = AlertIngest(config, db, CLOCK)
    try:
        async with running(ingest):
            await asyncio.to_thread(stop_broker, broker)
            await eventually(lambda: not ingest.connected)
            await asyncio.sleep(1.5)  # a few reconnection attempts fail meanwhile
            broker = await asyncio.to_thread(start_mosquitto, broker_dir, broker.port)
            await eventually(lambda: ingest.connected, within_s=20)
            async with gateway_side(broker.port) as side:
                await side.send(gateway.topic, gateway.sign())
                assert (await side.next_ack(1))["status"] == "accepted"
    finally:
        stop_broker(broker)
        db.close()
    down = [
        r
        for r in caplog.records
        if "unavailable" in r.getMessage() and r.levelno >= logging.WARNING
    ]
    assert len(down) == 1
    assert sum("connected to MQTT broker" in r.getMessage() for r in caplog.records) == 2


async def test_unreachable_database_means_no_ack_so_the_gateway_sends_again(
    tmp_path: Path, gateway: FakeGateway, caplog: pytest.LogCaptureFixture
) -> None:
    config = config_for(tmp_path, [gateway], 1883)
    db = TicketsDB(f"sqlite:///{tmp_path}/missing-dir/tickets.sqlite")
    ingest = AlertIngest(config, db, CLOCK)
    try:
        assert await ingest.process(gateway.topic, gateway.sign()) is None
        assert await ingest.process(gateway.topic, gateway.sign()) is None
    finally:
        db.close()
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1  # once per state change
    assert "not acknowledged, the gateway will send it again" in errors[0].getMessage()


class CountingIngest(AlertIngest):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.handled: list[str] = []

    async def process(self, topic: str, payload: bytes) -> Any:
        self.handled.append(topic)
        return await super().process(topic, payload)


async def test_two_instances_in_one_group_split_the_alerts(
    tmp_path: Path, mosquitto: RunningBroker, gateway: FakeGateway
) -> None:
    path = write_bridge_config(tmp_path, [gateway], mqtt_port=mosquitto.port)
    configs = [load_bridge_config(path)]
    configs.append(
        configs[0].model_copy(
            update={"bridge": configs[0].bridge.model_copy(update={"instance": "bridge-2"})}
        )
    )
    dbs = [TicketsDB(c.bridge.database_url, actor=c.bridge.instance) for c in configs]
    dbs[0].create_schema()
    bridges = [CountingIngest(c, d, CLOCK) for c, d in zip(configs, dbs, strict=True)]
    alerts = 20
    try:
        async with (
            gateway_side(mosquitto.port) as side,
            running(bridges[0]),
            running(bridges[1]),
        ):
            for i in range(alerts):
                await side.send(gateway.topic, gateway.sign(alert_body(unit_id=f"u{i:02d}")))
            await side.next_ack(alerts)
            await asyncio.sleep(0.3)  # any extra (double) handling would show up by now
        assert sorted(ack["status"] for ack in side.acks) == ["accepted"] * alerts
        assert len(side.acks) == alerts
        assert len(dbs[0].list_tickets()) == alerts
        counts = [len(b.handled) for b in bridges]
        assert sum(counts) == alerts  # each alert handled exactly once
        assert all(count > 0 for count in counts), counts  # and both instances took a share
        events = dbs[0].get_ticket(1).history
        assert events[0].actor in {"bridge-1", "bridge-2"}
    finally:
        for d in dbs:
            d.close()


async def test_the_gateways_own_uplink_gets_its_alert_acknowledged(
    tmp_path: Path, mosquitto: RunningBroker, gateway: FakeGateway
) -> None:
    """Both real sides over a real broker: the gateway's outbox and uplink, the bridge's ingest.
    The gateway records the bridge's answer, so the two agree on the wire contract."""
    gateway_toml = tmp_path / "gateway.toml"
    gateway_toml.write_text(
        f"""
[gateway]
id = "gw-1"
key_file = "{gateway.private_key}"
[mqtt]
port = {mosquitto.port}
[[units]]
unit_id = "0302"
floor = 3
area_m2 = 44
rooms = 1
""",
        encoding="utf-8",
    )
    store = GatewayStore(tmp_path / "gateway.sqlite")
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
    gateway_config = load_gateway_config(gateway_toml)
    signer = EnvelopeSigner("gw-1", load_signing_key(gateway_config.gateway.key_file))
    uplink = Uplink(gateway_config, store, signer, CLOCK, "test")
    config = config_for(tmp_path, [gateway], mosquitto.port)
    db = TicketsDB(config.bridge.database_url)
    db.create_schema()
    try:
        async with running(AlertIngest(config, db, CLOCK)):
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

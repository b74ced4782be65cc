"""The uplink against a real mosquitto: outbox drained at QoS 1, acks recorded, re-sends until
acknowledged, retained presence, and recovery when the broker comes up late."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from joserfc.jwk import OKPKey

from gateway.config.gateway_file import GatewayConfig, load_gateway_config
from gateway.store.database import StoreError
from gateway.store.gateway_store import GatewayStore
from gateway.store.outbox import OutboxMessage
from gateway.wire.signer import EnvelopeSigner, Sequence
from gateway.wire.uplink import Uplink
from qunzu_common.supervisor import supervise
from simclock import SimClock
from tests.conftest import RunningBroker, start_mosquitto, stop_broker

pytestmark = pytest.mark.timeout(60)

SIGNER = EnvelopeSigner("gw-1", OKPKey.generate_key("Ed25519", private=True))


def config_for(
    tmp_path: Path, port: int, resend_after_s: float = 30.0, protocol: str = "5"
) -> GatewayConfig:
    path = tmp_path / "gateway.toml"
    path.write_text(
        f"""
[gateway]
id = "gw-1"
key_file = "gw-1.key.pem"
[mqtt]
port = {port}
resend_after_s = {resend_after_s}
protocol = "{protocol}"
[[units]]
unit_id = "0101"
floor = 1
area_m2 = 40
rooms = 1
""",
        encoding="utf-8",
    )
    return load_gateway_config(path)


def enqueue(store: GatewayStore, counter: int) -> Sequence:
    seq = Sequence(1, counter)
    store.outbox.enqueue(
        OutboxMessage(
            seq,
            "bldg/v1/gw-1/alert",
            f"tok-{counter}",
            f"a-{counter}",
            "0101",
            "overcrowding",
            0,
            0,
        ),
        datetime.now(UTC),
    )
    return seq


async def ack_everything(port: int, received: list[str], answer: bool = True) -> None:
    async with aiomqtt.Client("127.0.0.1", port, protocol=aiomqtt.ProtocolVersion.V5) as client:
        await client.subscribe("bldg/v1/+/alert", qos=1)
        async for message in client.messages:
            token = bytes(message.payload).decode()  # type: ignore[arg-type]
            received.append(token)
            if answer:
                counter = int(token.removeprefix("tok-"))
                ack = {
                    "alert_id": f"a-{counter}",
                    "seq": {"boot_epoch": 1, "counter": counter},
                    "status": "accepted",
                    "ticket_id": 5,
                }
                await client.publish("bldg/v1/gw-1/ack", json.dumps(ack), qos=1)


async def wait_for(predicate, within_s: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    """Poll ``predicate``: the store is another process's view, so there is no event to await."""
    async with asyncio.timeout(within_s):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def test_outbox_is_delivered_and_acks_recorded(
    tmp_path: Path, mosquitto: RunningBroker
) -> None:
    store = GatewayStore(tmp_path / "g.sqlite")
    enqueue(store, 1)
    received: list[str] = []
    uplink = Uplink(config_for(tmp_path, mosquitto.port), store, SIGNER, SimClock.real(), "test")
    async with asyncio.TaskGroup() as group:
        cloud = group.create_task(ack_everything(mosquitto.port, received))
        await asyncio.sleep(0.3)
        link = group.create_task(uplink.run())
        await wait_for(lambda: store.outbox.rows()[0]["ack_status"] == "accepted")
        enqueue(store, 2)
        uplink.wake()
        await wait_for(lambda: all(r["ack_status"] == "accepted" for r in store.outbox.rows()))
        # Presence is retained: a late subscriber sees the gateway online.
        async with aiomqtt.Client("127.0.0.1", mosquitto.port) as late:
            await late.subscribe("bldg/v1/gw-1/status")
            async with asyncio.timeout(5):
                status = json.loads(bytes((await anext(late.messages)).payload))  # type: ignore[arg-type]
        assert status["state"] == "online"
        cloud.cancel()
        link.cancel()
    assert received == ["tok-1", "tok-2"]
    store.close()


async def test_a_clean_stop_leaves_the_gateway_offline(
    tmp_path: Path, mosquitto: RunningBroker
) -> None:
    store = GatewayStore(tmp_path / "g.sqlite")
    uplink = Uplink(config_for(tmp_path, mosquitto.port), store, SIGNER, SimClock.real(), "test")

    async def retained_state() -> str:
        async with aiomqtt.Client("127.0.0.1", mosquitto.port) as late:
            await late.subscribe("bldg/v1/gw-1/status")
            async with asyncio.timeout(5):
                message = await anext(late.messages)
        return str(json.loads(bytes(message.payload))["state"])  # type: ignore[arg-type]

    link = asyncio.create_task(uplink.run())
    await wait_for(lambda: uplink._client is not None)
    async with asyncio.timeout(5):
        while await retained_state() != "online":  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    link.cancel()
    await asyncio.gather(link, return_exceptions=True)
    assert await retained_state() == "offline"  # said before disconnecting, not by the will
    store.close()


async def test_unacknowledged_message_is_resent_identically(
    tmp_path: Path, mosquitto: RunningBroker
) -> None:
    store = GatewayStore(tmp_path / "g.sqlite")
    enqueue(store, 1)
    received: list[str] = []
    uplink = Uplink(
        config_for(tmp_path, mosquitto.port, resend_after_s=0.5),
        store,
        SIGNER,
        SimClock.real(),
        "t",
    )
    async with asyncio.TaskGroup() as group:
        cloud = group.create_task(ack_everything(mosquitto.port, received, answer=False))
        await asyncio.sleep(0.3)
        link = group.create_task(uplink.run())
        await wait_for(lambda: len(received) >= 3)
        cloud.cancel()
        link.cancel()
    assert set(received) == {"tok-1"}
    assert store.outbox.rows()[0]["ack_status"] is None
    store.close()


async def test_broker_starting_late_is_reached_by_backoff(tmp_path: Path) -> None:
    from building_demo.processes import free_port

    store = GatewayStore(tmp_path / "g.sqlite")
    enqueue(store, 1)
    # Find the port mosquitto will use, start the uplink first, then the broker.
    broker_dir = tmp_path / "broker"
    broker_dir.mkdir()
    port = free_port()
    # The uplink may publish before the cloud below has subscribed; its re-send covers that.
    uplink = Uplink(
        config_for(tmp_path, port, resend_after_s=2.0), store, SIGNER, SimClock.real(), "t"
    )
    received: list[str] = []
    async with asyncio.TaskGroup() as group:
        link = group.create_task(uplink.run())
        await asyncio.sleep(1.0)
        broker = await asyncio.to_thread(start_mosquitto, broker_dir, port)
        try:
            cloud = group.create_task(ack_everything(port, received))
            # Fails (TimeoutError) unless the back-off reaches the late broker and the ack lands.
            await wait_for(lambda: store.outbox.rows()[0]["ack_status"] == "accepted", within_s=20)
        finally:
            # Both clients end their sessions (DISCONNECT, inside their `async with`) before the
            # broker goes: a broker stopped under a client that is still being cancelled leaves
            # aiomqtt's "unexpected disconnection" error on a future nobody reads.
            cloud.cancel()
            link.cancel()
            await asyncio.gather(cloud, link, return_exceptions=True)
            await asyncio.to_thread(stop_broker, broker)
    store.close()


async def retained_status(port: int) -> str:
    """The gateway's retained status as a newcomer to the broker sees it."""
    async with aiomqtt.Client("127.0.0.1", port) as late:
        await late.subscribe("bldg/v1/gw-1/status")
        async with asyncio.timeout(5):
            message = await anext(late.messages)
    return str(json.loads(bytes(message.payload))["state"])  # type: ignore[arg-type]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
async def test_a_crashed_uplink_leaves_the_gateway_offline_by_its_will(
    tmp_path: Path, mosquitto: RunningBroker, protocol: str
) -> None:
    """A fault that is no MQTT error (here the store closed under the running uplink) ends the
    connection without DISCONNECT, so the broker publishes the ``offline`` will; a clean
    DISCONNECT would discard it and leave a dead gateway ``online``."""
    store = GatewayStore(tmp_path / "g.sqlite")
    config = config_for(tmp_path, mosquitto.port, protocol=protocol)
    uplink = Uplink(config, store, SIGNER, SimClock.real(), "test")
    link = asyncio.create_task(uplink.run(), name="uplink")
    async with asyncio.timeout(10):
        while await retained_status(mosquitto.port) != "online":  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    store.close()  # the pump's next look at the outbox fails
    with pytest.raises(ExceptionGroup) as crash:
        async with asyncio.timeout(10):
            await link
    assert crash.group_contains(StoreError)  # the fault itself goes on, unmasked
    async with asyncio.timeout(10):
        while await retained_status(mosquitto.port) != "offline":  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    assert uplink._client is None


class StoreFailingOnce(GatewayStore):
    """The real store, whose first ``mark_sent`` fails as a full or failing disk would."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.failed = False
        mark_sent = self.outbox.mark_sent

        def failing_once(*args: Any, **kwargs: Any) -> None:
            if not self.failed:
                self.failed = True
                with self.transaction():
                    raise sqlite3.OperationalError("disk I/O error")
            mark_sent(*args, **kwargs)

        self.outbox.mark_sent = failing_once  # type: ignore[method-assign]


@pytest.mark.timeout(30)
async def test_the_supervised_uplink_survives_a_store_error_and_keeps_delivering(
    tmp_path: Path, mosquitto: RunningBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """Run as the daemon runs it, under the supervisor: a SQLite error is no MQTT error, it
    ends this run of the uplink, and the supervisor starts the next one; delivery goes on."""
    caplog.set_level(logging.INFO)
    store = StoreFailingOnce(tmp_path / "g.sqlite")
    enqueue(store, 1)
    received: list[str] = []
    uplink = Uplink(config_for(tmp_path, mosquitto.port), store, SIGNER, SimClock.real(), "test")
    async with asyncio.TaskGroup() as group:
        cloud = group.create_task(ack_everything(mosquitto.port, received))
        await asyncio.sleep(0.3)
        link = group.create_task(supervise("uplink", uplink.run), name="uplink")
        await wait_for(lambda: store.outbox.rows()[0]["ack_status"] == "accepted")
        enqueue(store, 2)
        uplink.wake()
        await wait_for(lambda: all(r["ack_status"] == "accepted" for r in store.outbox.rows()))
        assert not link.done()
        cloud.cancel()
        link.cancel()
    assert store.failed
    logged = [r.getMessage() for r in caplog.records if r.name == "qunzu_common.supervisor"]
    assert len(logged) == 1, logged  # down, once; "back up" would take a healthy minute
    assert logged[0].startswith("task uplink down: ")
    assert "disk I/O error" in logged[0]
    store.close()

"""Signed downlink: with ``[bridge] ack_key_file`` the bridge signs its acks; a gateway with
``[mqtt] bridge_public_key_files`` counts no other. A forged ``accepted`` ack (attack 2 of the
trust issue) then no longer marks a pending alert delivered, even on a broker without ACLs."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiomqtt
import pytest

from cloud_bridge.config import load_bridge_config
from cloud_bridge.errors import ConfigError as BridgeConfigError
from cloud_bridge.ingest.ack_signing import AckSigner, generate_ack_key, load_ack_signer
from cloud_bridge.ingest.alert_ingest import AlertIngest
from cloud_bridge.store.tickets_db import TicketsDB
from gateway.config.gateway_file import load_gateway_config
from gateway.errors import ConfigError as GatewayConfigError
from gateway.store.gateway_store import GatewayStore
from gateway.wire.ack_decoding import AckRefused, DecodedAck, decode_ack
from gateway.wire.keys import load_bridge_keys
from gateway.wire.uplink import Uplink
from tests.cloud_bridge.signed_alerts import FakeGateway, write_bridge_config
from tests.cloud_bridge.test_ingest import CLOCK, eventually, running
from tests.conftest import RunningBroker, gateway_signer
from tests.trust.test_hostile_input import enqueue_genuine, gateway_toml

pytestmark = pytest.mark.timeout(60)

TOPIC = "bldg/v1/gw-1/ack"
ACK = {
    "alert_id": "gw-1.0302.overcrowding.20260302",
    "seq": {"boot_epoch": 1, "counter": 1},
    "status": "accepted",
    "ticket_id": 7,
}


@pytest.fixture
def bridge_key(tmp_path: Path) -> tuple[Path, Path]:
    private, public = tmp_path / "ack.key.pem", tmp_path / "ack.pub.pem"
    generate_ack_key(private, public)
    return private, public


def decode(payload: bytes, public: Path | None, topic: str = TOPIC) -> DecodedAck | AckRefused:
    keys = load_bridge_keys((public,), "keys") if public is not None else None
    return decode_ack(payload, 16 * 1024, topic=topic, bridge_keys=keys)


def refused_kind(result: DecodedAck | AckRefused) -> str:
    assert isinstance(result, AckRefused), result
    return result.kind


def test_only_the_bridges_signature_counts(tmp_path: Path, bridge_key: tuple[Path, Path]) -> None:
    private, public = bridge_key
    signer = load_ack_signer(private)
    genuine = signer.sign(TOPIC, 1_772_600_000, ACK)
    assert decode(genuine, public) == DecodedAck(ACK["alert_id"], 1, 1, "accepted", 7, "")  # type: ignore[arg-type]

    assert refused_kind(decode(json.dumps(ACK).encode(), public)) == "unsigned"
    other_private, _ = tmp_path / "o.key.pem", tmp_path / "o.pub.pem"
    generate_ack_key(other_private, tmp_path / "o.pub.pem")
    forged = load_ack_signer(other_private).sign(TOPIC, 1_772_600_000, ACK)
    assert refused_kind(decode(forged, public)) == "kid"
    header, claims, signature = genuine.split(b".")
    flipped = signature[:-2] + (b"AA" if signature[-2:] != b"AA" else b"BA")
    assert refused_kind(decode(b".".join([header, claims, flipped]), public)) == "signature"
    # A genuine ack for another gateway, replayed to this one.
    elsewhere = signer.sign("bldg/v1/gw-2/ack", 1_772_600_000, ACK)
    assert refused_kind(decode(elsewhere, public)) == "topic"
    # Without configured keys, a gateway reads signed acks unverified (rollout order).
    assert isinstance(decode(genuine, None), DecodedAck)
    assert isinstance(decode(json.dumps(ACK).encode(), None), DecodedAck)


def test_keys_are_checked_when_the_configuration_loads(
    tmp_path: Path, gateway: FakeGateway, bridge_key: tuple[Path, Path]
) -> None:
    private, public = bridge_key
    path = write_bridge_config(tmp_path, [gateway])
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("[bridge]\n", f'[bridge]\nack_key_file = "{private.name}"\n'))
    assert isinstance(load_bridge_config(path).ack_signer, AckSigner)
    private.chmod(0o640)
    with pytest.raises(BridgeConfigError, match="readable by group or others"):
        load_bridge_config(path)
    path.write_text(text.replace("[bridge]\n", f'[bridge]\nack_key_file = "{public.name}"\n'))
    with pytest.raises(BridgeConfigError, match="not an Ed25519 private key"):
        load_bridge_config(path)

    config = gateway_toml(tmp_path, gateway, 1883, 30.0)
    base = config.read_text(encoding="utf-8")
    config.write_text(
        base.replace("[mqtt]\n", f'[mqtt]\nbridge_public_key_files = ["{private.name}"]\n')
    )
    with pytest.raises(GatewayConfigError, match="a private key does not go here"):
        load_gateway_config(config)
    config.write_text(base.replace("[mqtt]\n", '[mqtt]\nbridge_public_key_files = ["nope.pem"]\n'))
    with pytest.raises(
        GatewayConfigError, match=r"mqtt\.bridge_public_key_files\[0\]: .*not found"
    ):
        load_gateway_config(config)


async def test_a_forged_accepted_ack_no_longer_drops_a_pending_alert(
    tmp_path: Path, mosquitto: RunningBroker, gateway: FakeGateway, bridge_key: tuple[Path, Path]
) -> None:
    """On a broker that lets anyone publish (no ACL), a forged ``accepted`` for the pending
    alert is refused; the bridge's signed answer is recorded."""
    private, public = bridge_key
    store = GatewayStore(tmp_path / "gateway.sqlite")
    enqueue_genuine(store, gateway)
    config_path = gateway_toml(tmp_path, gateway, mosquitto.port, 0.5)
    text = config_path.read_text(encoding="utf-8")
    config_path.write_text(
        text.replace("[mqtt]\n", f'[mqtt]\nbridge_public_key_files = ["{public}"]\n'),
        encoding="utf-8",
    )
    uplink = Uplink(
        load_gateway_config(config_path),
        store,
        gateway_signer(load_gateway_config(config_path)),
        CLOCK,
        "test",
    )
    bridge_path = write_bridge_config(tmp_path, [gateway], mqtt_port=mosquitto.port)
    bridge_path.write_text(
        bridge_path.read_text(encoding="utf-8").replace(
            "[bridge]\n", f'[bridge]\nack_key_file = "{private}"\n'
        ),
        encoding="utf-8",
    )
    bridge = load_bridge_config(bridge_path)
    db = TicketsDB(bridge.bridge.database_url)
    db.create_schema()
    link = asyncio.create_task(uplink.run(), name="uplink")
    try:
        await eventually(lambda: store.outbox.rows()[0]["sent_count"] >= 1)
        async with aiomqtt.Client("127.0.0.1", mosquitto.port) as forger:
            await forger.publish(TOPIC, json.dumps(ACK), qos=1)
        await eventually(lambda: uplink.refused_downlinks.total >= 1)
        assert store.outbox.rows()[0]["ack_status"] is None
        assert uplink.refused_downlinks.counts == {"unsigned": 1}

        async with running(AlertIngest(bridge, db, CLOCK)):
            await eventually(lambda: store.outbox.rows()[0]["ack_status"] is not None)
        assert store.outbox.rows()[0]["ack_status"] == "accepted"
        assert [t.unit_id for t in db.list_tickets()] == ["0302"]
    finally:
        link.cancel()
        await asyncio.gather(link, return_exceptions=True)
        store.close()
        db.close()

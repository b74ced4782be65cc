"""Mutual TLS and per-gateway ACLs, proved by observation against a real mosquitto running the
repository's own ``config/mosquitto/`` files with certificates from ``cloud_bridge.auth.mqtt_ca``.

- gateway A's alert reaches the bridge; A cannot publish into B's subtree (the bridge never sees
  it) nor forge an ack for B (B never sees it), and cannot read B's acks;
- a client without a certificate, or with one from another CA, cannot connect; a plain (non-TLS)
  connection is refused;
- the real gateway uplink and bridge ingest, configured with ``tls_*_file``, deliver and
  acknowledge an alert over mTLS.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiomqtt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from building_demo.brokers import mosquitto_executable
from building_demo.processes import free_port, wait_for_port
from cloud_bridge.auth import mqtt_ca as ca
from cloud_bridge.config import load_bridge_config
from cloud_bridge.errors import ConfigError as BridgeConfigError
from cloud_bridge.ingest.alert_ingest import AlertIngest
from cloud_bridge.store.tickets_db import TicketsDB
from gateway.config.gateway_file import load_gateway_config
from gateway.errors import ConfigError as GatewayConfigError
from gateway.store.gateway_store import GatewayStore
from gateway.store.outbox import OutboxMessage
from gateway.wire.signer import Sequence
from gateway.wire.uplink import Uplink
from qunzu_common.mqtt_tls import TlsFiles, tls_params
from tests.cloud_bridge.signed_alerts import alert_body, make_gateway, write_bridge_config
from tests.cloud_bridge.test_ingest import CLOCK, eventually, running
from tests.conftest import REPO, gateway_signer

pytestmark = pytest.mark.timeout(60)

INSTALLED_AT = "/etc/mosquitto/qunzu"  # where the repository's config expects its files


@dataclass(frozen=True)
class SecureBroker:
    port: int
    certs: Path

    def files(self, name: str | None) -> TlsFiles:
        if name is None:
            return TlsFiles(self.certs / "ca.crt.pem")
        return TlsFiles(
            self.certs / "ca.crt.pem",
            self.certs / f"{name}.crt.pem",
            self.certs / f"{name}.key.pem",
        )


@contextmanager
def secure_broker(tmp_path: Path, *, broker_names: tuple[str, ...] = ()) -> Iterator[SecureBroker]:
    """mosquitto with the repository's config and ACL, certificates fresh from
    ``cloud_bridge.auth.mqtt_ca``. ``broker_names``: give the broker a certificate for these DNS
    names only (no loopback)."""
    certs = tmp_path / "qunzu"
    ca.init_ca(certs)
    ca.issue(certs, "broker", server=True)
    if broker_names:
        _reissue_broker_for(certs, broker_names)
    for name in ("gw-a", "gw-b", "cloud-bridge-1"):
        ca.issue(certs, name)
    port = free_port()
    source = REPO / "config" / "mosquitto"
    (certs / "qunzu.acl").write_text((source / "qunzu.acl").read_text(encoding="utf-8"))
    config = (source / "qunzu-mtls.conf").read_text(encoding="utf-8")
    config = config.replace(INSTALLED_AT, str(certs)).replace("listener 8883 ", f"listener {port} ")
    # Started as root, mosquitto drops to its own user, which could not read the 0600 keys that
    # this test (as root) just wrote; a deployment installs them owned by mosquitto instead.
    config += "user root\n" if os.geteuid() == 0 else ""
    (tmp_path / "mosquitto.conf").write_text(config, encoding="utf-8")
    process = subprocess.Popen(
        [mosquitto_executable(), "-c", str(tmp_path / "mosquitto.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        if not wait_for_port(port, 10):
            raise RuntimeError("mosquitto did not start listening")
        yield SecureBroker(port, certs)
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _reissue_broker_for(certs: Path, names: tuple[str, ...]) -> None:
    authority = ca.load_ca(certs)
    key = serialization.load_pem_private_key((certs / "broker.key.pem").read_bytes(), None)
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(authority.cert.subject)
        .public_key(key.public_key())  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name) for name in names]), critical=False
        )
        .sign(authority.key, hashes.SHA256())
    )
    (certs / "broker.crt.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[SecureBroker]:
    with secure_broker(tmp_path) as running_broker:
        yield running_broker


@asynccontextmanager
async def client(
    broker: SecureBroker, name: str | None, connect_timeout_s: float = 5
) -> AsyncIterator[aiomqtt.Client]:
    async with aiomqtt.Client(
        "127.0.0.1",
        broker.port,
        identifier=f"test-{name}",
        protocol=aiomqtt.ProtocolVersion.V5,
        tls_params=tls_params(broker.files(name)),
        timeout=connect_timeout_s,
    ) as connected:
        yield connected


async def collect(into: list[tuple[str, bytes]], mqtt: aiomqtt.Client) -> None:
    async for message in mqtt.messages:
        into.append((message.topic.value, bytes(message.payload)))  # type: ignore[arg-type]


async def test_each_gateway_is_confined_to_its_own_subtree(broker: SecureBroker) -> None:
    bridge_saw: list[tuple[str, bytes]] = []
    a_saw: list[tuple[str, bytes]] = []
    b_saw: list[tuple[str, bytes]] = []
    async with (
        client(broker, "cloud-bridge-1") as bridge,
        client(broker, "gw-a") as gw_a,
        client(broker, "gw-b") as gw_b,
        asyncio.TaskGroup() as group,
    ):
        await bridge.subscribe("$share/cloud-bridge/bldg/v1/+/alert", qos=1)
        await gw_a.subscribe("bldg/v1/gw-a/ack", qos=1)
        await gw_a.subscribe("bldg/v1/gw-b/ack", qos=1)  # someone else's: must stay silent
        await gw_a.subscribe("bldg/v1/+/ack", qos=1)
        await gw_b.subscribe("bldg/v1/gw-b/ack", qos=1)
        tasks = [
            group.create_task(collect(bridge_saw, bridge)),
            group.create_task(collect(a_saw, gw_a)),
            group.create_task(collect(b_saw, gw_b)),
        ]

        # A's own alert, then A pretending to be B (an alert, and a forged 'accepted' ack),
        # then A's own again: the broker keeps one publisher's order, so once the second
        # genuine alert has arrived, anything forwarded in between would have too.
        forged_ack = {"alert_id": "x", "seq": {"boot_epoch": 1, "counter": 1}, "status": "accepted"}
        await gw_a.publish("bldg/v1/gw-a/alert", b"a-1", qos=1)
        await gw_a.publish("bldg/v1/gw-b/alert", b"a-as-b", qos=1)
        await gw_a.publish("bldg/v1/gw-b/ack", json.dumps(forged_ack), qos=1)
        await gw_a.publish("bldg/v1/gw-a/ack", json.dumps(forged_ack), qos=1)  # not even its own
        await gw_a.publish("bldg/v1/gw-a/alert", b"a-2", qos=1)
        await eventually(lambda: len(bridge_saw) >= 2)

        # The bridge answers B, then A: A must see only its own.
        await bridge.publish("bldg/v1/gw-b/ack", b"for-b", qos=1)
        await bridge.publish("bldg/v1/gw-a/ack", b"for-a", qos=1)
        await eventually(lambda: len(a_saw) >= 1 and len(b_saw) >= 1)
        await asyncio.sleep(0.3)
        for task in tasks:
            task.cancel()

    assert bridge_saw == [("bldg/v1/gw-a/alert", b"a-1"), ("bldg/v1/gw-a/alert", b"a-2")]
    assert b_saw == [("bldg/v1/gw-b/ack", b"for-b")]
    # (Twice: A's two matching subscriptions each deliver it.) Never B's ack, never the forgery.
    assert {message for message in a_saw} == {("bldg/v1/gw-a/ack", b"for-a")}


async def test_no_certificate_no_connection(
    broker: SecureBroker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Each attempt is refused by the broker (the refusal is what paho logs); the client then
    gives up waiting for a CONNACK that never comes."""
    mqtt_log = logging.getLogger("tests.trust.paho")

    async def refused(tls: TlsFiles | None) -> str:
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger=mqtt_log.name), pytest.raises(aiomqtt.MqttError):
            async with aiomqtt.Client(
                "127.0.0.1",
                broker.port,
                tls_params=None if tls is None else tls_params(tls),
                logger=mqtt_log,
                timeout=2,
            ):
                pass
        return " ".join(r.getMessage() for r in caplog.records)

    # TLS that verifies the broker, but no client certificate.
    assert "CERTIFICATE_REQUIRED" in await refused(broker.files(None))
    # A certificate from another CA, with a name the ACL knows.
    other = tmp_path / "other-ca"
    ca.init_ca(other)
    ca.issue(other, "gw-a")
    stranger = TlsFiles(broker.certs / "ca.crt.pem", other / "gw-a.crt.pem", other / "gw-a.key.pem")
    assert "UNKNOWN_CA" in await refused(stranger)
    # Plain MQTT to the TLS listener: the broker drops the connection.
    assert "Connection reset by peer" in await refused(None)


# paho leaves the socket of a failed handshake to the garbage collector.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_a_broker_certificate_for_another_host_is_refused(tmp_path: Path) -> None:
    """The client checks the broker's name, not only its CA: a broker whose certificate (from
    the right CA) names another host is refused; the same client reaches a correct broker."""
    with (
        secure_broker(tmp_path / "a", broker_names=("elsewhere.example",)) as misnamed,
        pytest.raises(aiomqtt.MqttError, match="address mismatch"),
    ):
        async with client(misnamed, "gw-a"):
            pass
    with secure_broker(tmp_path / "b") as correct:
        async with client(correct, "gw-a"):
            pass


def test_tls_files_are_checked_when_the_configuration_loads(tmp_path: Path) -> None:
    certs = tmp_path / "certs"
    ca.init_ca(certs)
    ca.issue(certs, "gw-1")
    gateway_toml = tmp_path / "gateway.toml"

    def gateway_file(**tls: str) -> Path:
        lines = "\n".join(f'{key} = "{value}"' for key, value in tls.items())
        gateway_toml.write_text(
            f'[gateway]\nid = "gw-1"\nkey_file = "k.pem"\n[mqtt]\n{lines}\n'
            '[[units]]\nunit_id = "0101"\nfloor = 1\narea_m2 = 40\nrooms = 1\n',
            encoding="utf-8",
        )
        return gateway_toml

    good = {
        "tls_ca_file": "certs/ca.crt.pem",
        "tls_cert_file": "certs/gw-1.crt.pem",
        "tls_key_file": "certs/gw-1.key.pem",
    }
    loaded = load_gateway_config(gateway_file(**good))
    assert loaded.mqtt.tls.key_file == certs / "gw-1.key.pem"

    with pytest.raises(GatewayConfigError, match=r"mqtt.tls_ca_file: .*: not found"):
        load_gateway_config(gateway_file(**{**good, "tls_ca_file": "certs/nope.pem"}))
    with pytest.raises(GatewayConfigError, match="tls_cert_file and tls_key_file go together"):
        load_gateway_config(gateway_file(tls_ca_file=good["tls_ca_file"], tls_key_file="x"))
    with pytest.raises(GatewayConfigError, match="not a PEM certificate matching tls_key_file"):
        load_gateway_config(gateway_file(**{**good, "tls_cert_file": "certs/ca.crt.pem"}))
    (certs / "gw-1.key.pem").chmod(0o644)
    with pytest.raises(GatewayConfigError, match=r"readable by group or others \(mode 644\)"):
        load_gateway_config(gateway_file(**good))

    gateway = make_gateway(tmp_path, "gw-1")
    bridge_toml = write_bridge_config(tmp_path, [gateway])
    text = bridge_toml.read_text(encoding="utf-8")
    bridge_toml.write_text(
        text.replace("[mqtt]\n", '[mqtt]\ntls_ca_file = "certs/missing.pem"\n'), encoding="utf-8"
    )
    with pytest.raises(BridgeConfigError, match=r"bridge.toml: mqtt.tls_ca_file: .*: not found"):
        load_bridge_config(bridge_toml)
    bridge_toml.write_text(
        text.replace("[mqtt]\n", "[mqtt]\nmax_message_bytes = 10\n"), encoding="utf-8"
    )
    with pytest.raises(BridgeConfigError, match=r"mqtt\.max_message_bytes"):
        load_bridge_config(bridge_toml)


async def test_the_real_uplink_and_ingest_work_over_mutual_tls(
    broker: SecureBroker, tmp_path: Path
) -> None:
    """The gateway's uplink (CN gw-a) and the bridge's ingest (CN cloud-bridge-1), configured
    through their TOML files' tls_* fields: the alert is delivered and acknowledged."""
    ca.issue(broker.certs, "gw-1")
    gateway = make_gateway(tmp_path, "gw-1")
    tls = (
        f'tls_ca_file = "{broker.certs}/ca.crt.pem"\n'
        f'tls_cert_file = "{broker.certs}/{{name}}.crt.pem"\n'
        f'tls_key_file = "{broker.certs}/{{name}}.key.pem"\n'
    )
    gateway_toml = tmp_path / "gateway.toml"
    gateway_toml.write_text(
        f'[gateway]\nid = "gw-1"\nkey_file = "{gateway.private_key}"\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\n{tls.format(name="gw-1")}'
        '[[units]]\nunit_id = "0302"\nfloor = 3\narea_m2 = 44\nrooms = 1\n',
        encoding="utf-8",
    )
    bridge_toml = write_bridge_config(tmp_path, [gateway], mqtt_port=broker.port)
    bridge_toml.write_text(
        bridge_toml.read_text(encoding="utf-8").replace(
            "[mqtt]\n", "[mqtt]\n" + tls.format(name="cloud-bridge-1")
        ),
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
    config = load_bridge_config(bridge_toml)
    assert config.client_id == "cloud-bridge-bridge-1"
    db = TicketsDB(config.bridge.database_url)
    db.create_schema()
    uplink = Uplink(
        load_gateway_config(gateway_toml),
        store,
        gateway_signer(load_gateway_config(gateway_toml)),
        CLOCK,
        "test",
    )
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


async def test_the_broker_drops_oversized_messages(broker: SecureBroker) -> None:
    """message_size_limit / max_packet_size: a 100 KB alert never reaches the bridge."""
    bridge_saw: list[tuple[str, bytes]] = []
    async with client(broker, "cloud-bridge-1") as bridge, asyncio.TaskGroup() as group:
        await bridge.subscribe("$share/cloud-bridge/bldg/v1/+/alert", qos=1)
        task = group.create_task(collect(bridge_saw, bridge))
        with contextlib.suppress(aiomqtt.MqttError):  # the broker may also drop the client
            async with client(broker, "gw-a", connect_timeout_s=1) as gw_a:
                await gw_a.publish("bldg/v1/gw-a/alert", b"x" * 100_000, qos=1)
        async with client(broker, "gw-a") as gw_a:
            await gw_a.publish("bldg/v1/gw-a/alert", b"small", qos=1)
        await eventually(lambda: len(bridge_saw) >= 1)
        await asyncio.sleep(0.2)
        task.cancel()
    assert bridge_saw == [("bldg/v1/gw-a/alert", b"small")]

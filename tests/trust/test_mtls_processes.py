"""The real programs over mutual TLS: ``gateway run`` and ``cloud-bridge run`` as separate
processes, each with its own certificate from ``cloud-bridge ca``, through the repository's
mosquitto configuration and ACL. An alert waiting in the gateway's outbox is delivered, becomes
a ticket, and the gateway records the bridge's ``accepted``."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cloud_bridge.auth import mqtt_ca as ca
from cloud_bridge.store.tickets_db import TicketsDB
from gateway.store.gateway_store import GatewayStore
from gateway.store.outbox import OutboxMessage
from gateway.wire.signer import Sequence
from tests.cloud_bridge.signed_alerts import alert_body, make_gateway, write_bridge_config
from tests.conftest import wait_until
from tests.trust.test_mtls_acl import secure_broker

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]


@contextmanager
def program(args: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, *args], stdout=output, stderr=output)
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_gateway_and_bridge_processes_over_mutual_tls(tmp_path: Path) -> None:
    with secure_broker(tmp_path / "broker") as broker:
        certs = broker.certs
        ca.issue(certs, "gw-1")
        gateway = make_gateway(tmp_path, "gw-1")

        def tls(name: str) -> str:
            return (
                f'tls_ca_file = "{certs}/ca.crt.pem"\n'
                f'tls_cert_file = "{certs}/{name}.crt.pem"\n'
                f'tls_key_file = "{certs}/{name}.key.pem"\n'
            )

        gateway_toml = tmp_path / "gateway.toml"
        gateway_toml.write_text(
            f'[gateway]\nid = "gw-1"\nkey_file = "{gateway.private_key}"\n'
            'store_path = "gateway.sqlite"\n'
            f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\nresend_after_s = 2\n'
            f"{tls('gw-1')}"
            '[[units]]\nunit_id = "0302"\nfloor = 3\narea_m2 = 44\nrooms = 1\n',
            encoding="utf-8",
        )
        bridge_toml = write_bridge_config(tmp_path, [gateway], mqtt_port=broker.port)
        bridge_toml.write_text(
            bridge_toml.read_text(encoding="utf-8").replace(
                "[mqtt]\n", "[mqtt]\n" + tls("cloud-bridge-1")
            ),
            encoding="utf-8",
        )

        # An alert the gateway signed earlier and has not delivered yet.
        store = GatewayStore(tmp_path / "gateway.sqlite")
        body = alert_body()
        token = gateway.sign(body, counter=1, iat=int(time.time())).decode()
        store.outbox.enqueue(
            OutboxMessage(
                Sequence(1, 1), gateway.topic, token, body["alert_id"], "0302", "overcrowding", 0, 0
            ),
            datetime.now(UTC),
        )

        with (
            program(["-m", "cloud_bridge", "run", str(bridge_toml)], tmp_path / "bridge.log"),
            program(["-m", "gateway", "run", str(gateway_toml)], tmp_path / "gateway.log"),
        ):
            delivered = wait_until(
                lambda: store.outbox.rows()[0]["ack_status"] is not None, timeout=45
            )
        logs = {name: (tmp_path / f"{name}.log").read_text() for name in ("bridge", "gateway")}
        assert delivered, logs
        assert store.outbox.rows()[0]["ack_status"] == "accepted", logs
        store.close()

    db = TicketsDB(f"sqlite:///{tmp_path / 'tickets.sqlite'}")
    try:
        assert [(t.unit_id, t.gateway_id) for t in db.list_tickets()] == [("0302", "gw-1")]
    finally:
        db.close()

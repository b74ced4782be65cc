"""The bridge as a whole: in-process (ingest and HTTP in one task group, a clean stop) and as
the ``cloud-bridge`` program an operator runs (SIGTERM ends it with exit code 0)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import aiomqtt
import httpx
import pytest

from building_demo.processes import free_port
from cloud_bridge.auth.stores import accounts_store
from cloud_bridge.cases.roles import Role
from cloud_bridge.config import BridgeConfig, load_bridge_config
from cloud_bridge.errors import BridgeError
from cloud_bridge.service import listening_socket, run_bridge
from cloud_bridge.store.tickets_db import TicketsDB
from simclock import SimClock
from tests.cloud_bridge.signed_alerts import NOW, FakeGateway, write_bridge_config
from tests.conftest import RunningBroker, wait_until

pytestmark = pytest.mark.timeout(60)

BIN = Path(sys.executable).parent


async def test_bridge_serves_tickets_from_alerts_and_stops_cleanly(
    tmp_path: Path, mosquitto: RunningBroker, gateway: FakeGateway
) -> None:
    http_port = free_port()
    config = load_bridge_config(
        write_bridge_config(
            tmp_path, [gateway], mqtt_port=mosquitto.port, http_port=http_port, http_enabled=True
        )
    )
    clock = SimClock.from_args("2026-03-04T05:33:20+00:00", time.time(), 1.0)
    token = _reader_token(config)
    stop = asyncio.Event()
    bridge = asyncio.create_task(run_bridge(config, clock, stop), name="bridge")
    base = f"http://127.0.0.1:{http_port}"
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers) as http:
        async with asyncio.timeout(10):
            while True:
                try:
                    health = (await http.get("/healthz")).json()
                    if health["mqtt"] == "connected":
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
        async with aiomqtt.Client("127.0.0.1", mosquitto.port) as client:
            await client.publish(gateway.topic, gateway.sign(iat=NOW), qos=1)
        async with asyncio.timeout(10):
            while True:  # the API is polled, as a dispatcher's client would
                tickets = (await http.get("/api/v1/tickets")).json()
                if tickets:
                    break
                await asyncio.sleep(0.05)
        assert tickets[0]["unit_id"] == "0302"
        assert "0302" in (await http.get("/")).text
    stop.set()
    async with asyncio.timeout(5):
        await bridge
    assert not [t for t in asyncio.all_tasks() if t.get_name() in {"ingest", "http"}]


def test_a_port_in_use_is_a_clear_error() -> None:
    taken = listening_socket("127.0.0.1", 0)
    try:
        port = taken.getsockname()[1]
        taken.listen()
        with pytest.raises(BridgeError, match=f"http: cannot listen on 127.0.0.1:{port}"):
            listening_socket("127.0.0.1", port)
    finally:
        taken.close()


def test_cloud_bridge_run_stops_on_sigterm_with_exit_code_0(
    tmp_path: Path, mosquitto: RunningBroker, gateway: FakeGateway
) -> None:
    http_port = free_port()
    config = write_bridge_config(
        tmp_path, [gateway], mqtt_port=mosquitto.port, http_port=http_port, http_enabled=True
    )
    process = subprocess.Popen(
        [
            str(BIN / "cloud-bridge"),
            "run",
            str(config),
            "--sim-start",
            "2026-03-01T00:00:00+08:00",
            "--sim-anchor",
            repr(time.time()),
            "--time-scale",
            "3600",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert wait_until(lambda: _answers(http_port), timeout=20), process.stderr
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "cloud bridge bridge-1 stopping" in stderr
    assert (tmp_path / "tickets.sqlite").exists()


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def test_tickets_command_reads_the_database(tmp_path: Path, gateway: FakeGateway) -> None:
    config = write_bridge_config(tmp_path, [gateway])
    result = subprocess.run(
        [str(BIN / "cloud-bridge"), "tickets", str(config), "--json"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def _reader_token(config: BridgeConfig) -> str:
    """An API token of a read-only city platform of the test's street office."""
    db = TicketsDB(config.bridge.database_url)
    try:
        db.migrate()
        accounts = accounts_store(config, db)
        now = datetime.now(UTC)
        accounts.add_account(
            "city", Role.API_CLIENT, password=None, street_office="linfen-road",
            district_of=config.district_of, by="test", now=now,
        )  # fmt: skip
        return accounts.create_token("city", "test", by="test", now=now)
    finally:
        db.close()

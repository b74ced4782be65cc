"""``gateway doctor`` against a simulated building (firmware_sim) and a real mosquitto, healthy
and with faults on: a silent meter, a meter of another type than configured, an id nobody
answers at, a signing key readable by others, a broker that is not there. The local checks
are also tested one by one, as tables."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from building_demo.processes import free_port
from firmware_sim.building_config import load_building_config
from firmware_sim.modbus_server import BuildingServer
from gateway.config.gateway_file import load_gateway_config
from gateway.tools.doctor import exit_code, run_checks
from gateway.tools.doctor_checks import (
    Check,
    Verdict,
    check_ble,
    check_clock,
    check_key_file,
    check_outbox,
    check_store,
    check_tls_certificate,
)
from gateway.wire.keys import generate_key_pair
from simclock import SimClock
from tests.conftest import RunningBroker
from tests.gateway.mixed_building import building_file, gateway_file

pytestmark = pytest.mark.timeout(60)

BIN = Path(sys.executable).parent
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
WAITING = "waiting for the cloud, oldest for"
ALL_ACKED = "every alert acknowledged by the cloud"


def make_key(tmp_path: Path, mode: int = 0o600) -> Path:
    key = tmp_path / "keys" / "gw-test.key.pem"
    generate_key_pair(key, tmp_path / "keys" / "gw-test.pub.pem")
    key.chmod(mode)
    return key


def make_store(path: Path, rows: Sequence[tuple[str | None, datetime]]) -> None:
    """An outbox as the gateway keeps it: ``ack_status`` NULL until the cloud answers."""
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE outbox (seq INTEGER PRIMARY KEY, ack_status TEXT, created_at TEXT)"
        )
        db.executemany(
            "INSERT INTO outbox (ack_status, created_at) VALUES (?, ?)",
            [(status, at.isoformat()) for status, at in rows],
        )
    db.close()


@pytest.fixture
async def simulated_bus(tmp_path: Path) -> AsyncIterator[int]:
    server = BuildingServer(
        load_building_config(building_file(tmp_path, silent=(22,))),
        SimClock.real(),
        seed=1,
        host="127.0.0.1",
        port=0,
    )
    await server.start()
    yield server.port
    await server.stop()


def verdicts(checks: list[Check]) -> dict[str, Verdict]:
    return {check.name: check.verdict for check in checks}


async def test_a_healthy_gateway_passes(
    tmp_path: Path, simulated_bus: int, mosquitto: RunningBroker
) -> None:
    # Device 22 is silent in the building: this configuration leaves it out.
    config = gateway_file(tmp_path, simulated_bus, mqtt_port=mosquitto.port, leave_out=(22,))
    make_key(tmp_path)
    make_store(
        tmp_path / "gateway.sqlite",
        [("accepted", NOW - timedelta(days=2)), (None, NOW - timedelta(minutes=5))],
    )
    checks = await run_checks(config, NOW)
    got = verdicts(checks)
    assert got["config"] is Verdict.PASS, checks
    assert {k: v for k, v in got.items() if k.startswith("conv-1/")} == {
        "conv-1/11": Verdict.PASS,
        "conv-1/12": Verdict.PASS,
        "conv-1/13": Verdict.PASS,
        "conv-1/21": Verdict.PASS,
    }, checks
    for name in ("bus conv-1", "bluetooth", "broker", "store", "signing key", "outbox"):
        assert got[name] is Verdict.PASS, [c for c in checks if c.name == name]
    assert got["clock"] in (Verdict.PASS, Verdict.WARN)  # a container may not say
    assert exit_code(checks) == 0
    outbox = next(c for c in checks if c.name == "outbox")
    assert outbox.detail == "1 waiting for the cloud, oldest for 5 min"
    meter = next(c for c in checks if c.name == "conv-1/11")
    assert meter.detail == "unit 0101 electricity_kwh: eastron_sdm120 confirmed, reads 1000"


def test_faults_fail_with_hints_and_a_non_zero_exit(tmp_path: Path) -> None:
    """Through the command, with JSON: a silent meter (22), a meter configured as the wrong type
    (the SDM120 at 21 as a gas meter), an id nobody answers at (30), a key with mode 0644 and
    no broker on the configured port."""
    sim = subprocess.Popen(
        [str(BIN / "firmware-sim"), "serve", str(building_file(tmp_path, silent=(22,))),
         "--port", "0", "--log-level", "ERROR"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    try:
        assert sim.stdout is not None
        port = int(sim.stdout.readline().split()[2].rsplit(":", 1)[1])
        config = gateway_file(
            tmp_path,
            port,
            mqtt_port=free_port(),
            profiles={21: ("gas_m3", "generic_gas_u32")},
            extra_ids=(30,),
        )
        make_key(tmp_path, 0o644)
        result = subprocess.run(
            [str(BIN / "gateway"), "doctor", str(config), "--json"],
            capture_output=True,
            text=True,
            timeout=40,
            check=False,
        )
    finally:
        sim.terminate()
        sim.wait(10)
        assert sim.stdout is not None
        sim.stdout.close()
    assert result.returncode == 1, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    failed = {name for name, row in rows.items() if row["verdict"] == "fail"}
    assert failed == {"conv-1/21", "conv-1/22", "conv-1/30", "broker", "signing key"}
    assert rows["conv-1/21"]["detail"] == (
        "unit 0102 gas_m3: answers like eastron_sdm120, but is configured as generic_gas_u32"
    )
    assert (
        rows["conv-1/21"]["hint"] == "set its profile to eastron_sdm120 and kind to electricity_kwh"
    )
    assert "does not answer" in rows["conv-1/22"]["detail"]
    assert "mode 0644" in rows["signing key"]["detail"]
    assert rows["signing key"]["hint"].startswith("chmod 600 ")
    assert rows["conv-1/11"]["verdict"] == "pass"


def test_an_invalid_configuration_is_the_only_line(tmp_path: Path) -> None:
    config = gateway_file(tmp_path, 5020)
    config.write_text(config.read_text().replace("area_m2 = 60", "area_m2 = -1", 1))
    result = subprocess.run(
        [str(BIN / "gateway"), "doctor", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout.startswith("fail  config  gateway.toml: units[0].area_m2:")
    assert "hint: fix the field named" in result.stdout


@pytest.mark.parametrize(
    ("mode", "verdict"),
    [(0o600, Verdict.PASS), (0o400, Verdict.PASS), (0o640, Verdict.FAIL), (0o644, Verdict.FAIL),
     (0o620, Verdict.FAIL)],
)  # fmt: skip
def test_key_permissions(tmp_path: Path, mode: int, verdict: Verdict) -> None:
    assert check_key_file(make_key(tmp_path, mode)).verdict is verdict


def test_missing_or_broken_key(tmp_path: Path) -> None:
    assert check_key_file(tmp_path / "none.pem").verdict is Verdict.FAIL
    broken = tmp_path / "broken.pem"
    broken.write_text("not a key")
    broken.chmod(0o600)
    assert check_key_file(broken).verdict is Verdict.FAIL


def test_store_integrity(tmp_path: Path) -> None:
    good = tmp_path / "good.sqlite"
    make_store(good, [])
    assert check_store(good).verdict is Verdict.PASS
    assert check_store(tmp_path / "none.sqlite").verdict is Verdict.WARN
    corrupt = tmp_path / "corrupt.sqlite"
    corrupt.write_bytes(b"SQLite format 3\0" + os.urandom(4096))
    assert check_store(corrupt).verdict is Verdict.FAIL


@pytest.mark.parametrize(
    ("rows", "verdict", "detail"),
    [
        ([], Verdict.PASS, ALL_ACKED),
        ([("accepted", NOW - timedelta(days=3))], Verdict.PASS, ALL_ACKED),
        ([(None, NOW - timedelta(minutes=30))], Verdict.PASS, f"1 {WAITING} 30 min"),
        ([(None, NOW - timedelta(hours=3)), (None, NOW)], Verdict.WARN, f"2 {WAITING} 3.0 h"),
        ([(None, NOW - timedelta(days=3))], Verdict.FAIL, f"1 {WAITING} 3.0 days"),
    ],
)
def test_outbox_backlog(
    tmp_path: Path, rows: list[tuple[str | None, datetime]], verdict: Verdict, detail: str
) -> None:
    store = tmp_path / "gateway.sqlite"
    make_store(store, rows)
    check = check_outbox(store, NOW)
    assert (check.verdict, check.detail) == (verdict, detail)


@pytest.mark.parametrize(
    ("stdout", "code", "verdict"),
    [("yes\n", 0, Verdict.PASS), ("no\n", 0, Verdict.WARN), ("", 1, Verdict.WARN)],
)
def test_clock(stdout: str, code: int, verdict: Verdict) -> None:
    def run(command: Sequence[str]) -> subprocess.CompletedProcess[str]:
        assert list(command) == ["timedatectl", "show", "-p", "NTPSynchronized", "--value"]
        return subprocess.CompletedProcess(command, code, stdout, "")

    assert check_clock(run, lambda _: "/usr/bin/timedatectl").verdict is verdict
    assert check_clock(run, lambda _: None).verdict is Verdict.WARN


def test_bluetooth_and_tls_when_not_configured(tmp_path: Path) -> None:
    config = load_gateway_config(gateway_file(tmp_path, 5020))
    assert check_ble(config).verdict is Verdict.PASS
    assert check_tls_certificate(config, NOW) is None  # no [mqtt] tls_cert_file setting yet

"""The daemon with smart locks: a named ``ble-locks`` task (only when locks are configured) keeps
pseudonymised door events in the store and, when recording, in ``locks.csv``.

The gateway's radio is a bumble central on an in-process link with emulated locks; the MQTT
broker is deliberately absent (the uplink keeps retrying, which this test does not need).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from bumble.link import LocalLink

from building_demo.processes import free_port
from firmware_sim.ble.emulated_locks import EventLogLock, MiBeaconLock, device_on_link
from firmware_sim.ble.lock_frames import LockAction
from gateway.ble.bumble_transport import BumbleTransport
from gateway.config.gateway_file import GatewayConfig, load_gateway_config
from gateway.replay.trace_reader import open_trace
from gateway.replay.trace_recorder import TraceRecorder
from gateway.service.daemon import GatewayDaemon, record_meters
from gateway.wire.keys import generate_key_pair
from simclock import SimClock
from tests.ble.conftest import GATEWAY_MAC, until

BIND_KEY = bytes.fromhex("b0a1c2d3e4f5061728394a5b6c7d8e9f")
MIBEACON_MAC, GATT_MAC = "A4:C1:38:00:00:01", "A4:C1:38:00:00:03"

pytestmark = pytest.mark.timeout(30)


def config(tmp_path: Path, with_locks: bool) -> GatewayConfig:
    generate_key_pair(tmp_path / "gw.key.pem", tmp_path / "gw.pub.pem")
    locks = (
        f'[[locks]]\nunit_id = "0101"\nmac = "{MIBEACON_MAC}"\nkind = "mibeacon"\n'
        f'bind_key = "{BIND_KEY.hex()}"\n'
        f'[[locks]]\nunit_id = "0102"\nmac = "{GATT_MAC}"\nkind = "gatt"\n'
    )
    path = tmp_path / "gateway.toml"
    path.write_text(
        f'[gateway]\nid = "gw-1"\nkey_file = "gw.key.pem"\n[mqtt]\nport = {free_port()}\n'
        '[[units]]\nunit_id = "0101"\nfloor = 1\narea_m2 = 44\nrooms = 1\n'
        '[[units]]\nunit_id = "0102"\nfloor = 1\narea_m2 = 60\nrooms = 2\n'
        + (locks if with_locks else ""),
        encoding="utf-8",
    )
    return load_gateway_config(path)


def task_names() -> set[str]:
    return {task.get_name() for task in asyncio.all_tasks()}


async def test_the_daemon_keeps_and_records_pseudonymised_lock_events(tmp_path: Path) -> None:
    cfg = config(tmp_path, with_locks=True)
    link = LocalLink()
    radio = BumbleTransport(device_on_link(link, GATEWAY_MAC, "gateway"))
    await radio.start()
    mibeacon = MiBeaconLock(device_on_link(link, MIBEACON_MAC, "lock-1"), bind_key=BIND_KEY)
    gatt = EventLogLock(device_on_link(link, GATT_MAC, "lock-2"))
    await mibeacon.start()
    await gatt.start()
    when = datetime.now(UTC).replace(microsecond=0)
    await gatt.report(LockAction(when - timedelta(seconds=2), "unlock", "card", 0x0501))

    # The event log's backlog arrives after newer adverts: the hold-back puts them in order.
    recorder = TraceRecorder(tmp_path / "trace", cfg, timedelta(minutes=15))
    daemon = GatewayDaemon(cfg, SimClock.real(), recorder, ble_transport=radio)
    stop = asyncio.Event()
    running = asyncio.create_task(daemon.run(stop), name="daemon")
    try:
        await until(lambda: {"ble-locks", "ble-scan", f"ble-log:{GATT_MAC}"} <= task_names())
        await mibeacon.report(LockAction(when, "unlock", "fingerprint", 0x80010003))

        def kept() -> list[tuple[str, str, str]]:
            start = when - timedelta(days=1)
            return [
                (unit, e.event, e.credential)
                for unit in ("0101", "0102")
                for e in daemon.store.lock_events.between(unit, start, when + timedelta(1), UTC)
            ]

        await until(lambda: len(kept()) == 2)
    finally:
        stop.set()
        await running

    assert daemon.pseudonyms is not None
    fingerprint = daemon.pseudonyms.pseudonym(f"{MIBEACON_MAC}/80010003")
    card = daemon.pseudonyms.pseudonym(f"{GATT_MAC}/00000501")
    rows = [(r.unit_id, r.event, r.credential) for r in open_trace(tmp_path / "trace").locks()]
    assert sorted(rows) == [("0101", "unlock", fingerprint), ("0102", "unlock", card)]
    assert cfg.ble.pseudonym_key_file.exists()


async def test_without_locks_the_daemon_starts_no_radio_and_records_no_locks(
    tmp_path: Path,
) -> None:
    cfg = config(tmp_path, with_locks=False)
    recorder = TraceRecorder(tmp_path / "trace", cfg, timedelta(0))
    daemon = GatewayDaemon(cfg, SimClock.real(), recorder)
    stop = asyncio.Event()
    running = asyncio.create_task(daemon.run(stop), name="daemon")
    try:
        await until(lambda: "day-closer" in task_names())
        assert not any(name.startswith("ble") for name in task_names())
    finally:
        stop.set()
        await running
    assert daemon.pseudonyms is None
    assert not (tmp_path / "trace" / "locks.csv").exists()
    assert not cfg.ble.pseudonym_key_file.exists()


async def test_gateway_record_writes_the_door_events_into_locks_csv(tmp_path: Path) -> None:
    cfg = config(tmp_path, with_locks=True)
    link = LocalLink()
    radio = BumbleTransport(device_on_link(link, GATEWAY_MAC, "gateway"))
    await radio.start()
    lock = MiBeaconLock(device_on_link(link, MIBEACON_MAC, "lock-1"), bind_key=BIND_KEY)
    await lock.start()
    recorder = TraceRecorder(tmp_path / "trace", cfg, timedelta(0))
    stop = asyncio.Event()
    recording = asyncio.create_task(
        record_meters(cfg, SimClock.real(), recorder, stop, ble_transport=radio), name="record"
    )
    try:
        await until(lambda: "ble-scan" in task_names())
        when = datetime.now(UTC).replace(microsecond=0)
        await lock.report(LockAction(when, "unlock", "card", 0x80040001))
        await until(lambda: recorder.lock_events_written == 1)
    finally:
        stop.set()
        await recording
    [row] = list(open_trace(tmp_path / "trace").locks())
    assert (row.unit_id, row.event, row.ts) == ("0101", "unlock", when)
    assert row.credential not in ("", "80040001") and len(row.credential) == 16


def test_the_daemon_module_loads_no_bluetooth_library() -> None:
    probe = (
        "import sys, gateway.service.daemon, gateway.cli;"
        "print(sorted(m for m in ('bleak', 'bumble', 'xiaomi_ble') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"

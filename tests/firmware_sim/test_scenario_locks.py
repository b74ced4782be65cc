"""A scenario's locks served live over emulated Bluetooth: the gateway's own lock listener, on
the bumble transport the gateway configuration written by ``firmware-sim scenario
gateway-config`` names (HCI over TCP to the served radio), keeps every door event ``locks.csv``
holds up to the simulated instant, at its scenario time, and resumes after a restart without
loss or repeat."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from bumble.link import LocalLink

from firmware_sim.ble.hci_over_tcp import HciOverTcp
from firmware_sim.scenario_locks import (
    LockReplay,
    ScenarioLockError,
    lock_action,
    scenario_lock_layout,
    scenario_locks_on_link,
)
from firmware_sim.scenario_serving import gateway_config_toml, scenario_radio_port
from firmware_sim.scenarios import (
    LockRecord,
    Scenario,
    ScenarioReadings,
    build_scenario,
    export_trace,
)
from gateway.ble.bumble_transport import bumble_transport
from gateway.ble.credentials import CredentialPseudonymiser
from gateway.ble.lock_listener import LockListener
from gateway.config.gateway_file import GatewayConfig, load_gateway_config
from gateway.observations import StoredLockEvent
from gateway.replay.trace_reader import open_trace
from gateway.store.gateway_store import GatewayStore
from tests.ble.conftest import listening, until
from tests.firmware_sim.served_scenario import gateway_config
from tests.stepped_clock import SteppedClock

pytestmark = pytest.mark.timeout(60)

# small_demo, seed 3, 12 flats over 2 days: 10 locks, 67 events (unlocks, locks, a failed one).
FAMILY, SEED, DAYS = "small_demo", 3, 2
TS = datetime.fromisoformat("2026-03-02T19:04:05+08:00")


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return build_scenario(FAMILY, SEED, days=DAYS)


def test_every_flat_with_a_lock_is_configured_with_a_mac_of_its_own(
    scenario: Scenario, tmp_path: Path
) -> None:
    config = gateway_config(scenario, tmp_path, base_port=6000)
    with_locks = [t.unit.unit_id for t in scenario.timelines if t.unit.has_lock]
    assert [lock.unit_id for lock in config.locks] == with_locks
    assert [lock.mac for lock in config.locks] == [
        lock.mac for lock in scenario_lock_layout(scenario)
    ]
    assert len({lock.mac for lock in config.locks}) == len(with_locks)
    assert {lock.kind for lock in config.locks} == {"gatt"}
    assert config.ble.transport == "bumble"
    radio_port = scenario_radio_port(scenario, 6000)
    assert radio_port == 6000 + scenario.floors + 1  # after the floors and the machine room
    assert config.ble.bumble_transport == f"tcp-client:127.0.0.1:{radio_port}"


def test_without_locks_the_gateway_config_has_no_radio(scenario: Scenario, tmp_path: Path) -> None:
    text = gateway_config_toml(
        scenario, host="127.0.0.1", base_port=6000, gateway_id="gw", locks=False
    )
    (tmp_path / "gateway.toml").write_text(text, encoding="utf-8")
    config = load_gateway_config(tmp_path / "gateway.toml")
    assert config.locks == ()
    assert "[ble]" not in text


@pytest.mark.parametrize(
    ("event", "credential", "method", "key_id"),
    [
        ("unlock", "fp-3a9c", "fingerprint", 0x0001_3A9C),
        ("unlock", "card-3a9c", "card", 0x0002_3A9C),  # same tag, another credential
        ("failed", "pin-00ff", "pin", 0x0003_00FF),
        ("unlock", "app-0001", "bluetooth", 0x0004_0001),
        ("unlock", "", "key", 0),  # a mechanical key
        ("lock", "", "unknown", 0),  # the door locking behind someone
    ],
)
def test_a_credential_becomes_an_opening_method_and_key_id(
    event: str, credential: str, method: str, key_id: int
) -> None:
    action = lock_action(LockRecord(TS, "0101", event, credential))
    assert (action.ts, action.event, action.method, action.key_id) == (TS, event, method, key_id)


@pytest.mark.parametrize("credential", ["face-3a9c", "fp", "fp-", "fp-12345", "fp-xyzw"])
def test_a_credential_the_simulator_cannot_encode_is_refused_naming_the_event(
    credential: str,
) -> None:
    where = re.escape(f"unit 0101, {TS.isoformat()}: credential {credential!r}")
    with pytest.raises(ScenarioLockError, match=where):
        lock_action(LockRecord(TS, "0101", "unlock", credential))


def test_distinct_credentials_of_a_flat_get_distinct_key_ids(scenario: Scenario) -> None:
    readings = ScenarioReadings(scenario)
    start = scenario.params.start
    records = readings.lock_events_between(start, start + timedelta(days=DAYS))
    by_credential = {(r.unit_id, r.credential): lock_action(r).key_id for r in records}
    named = {key: key_id for key, key_id in by_credential.items() if key[1]}
    assert len(set(named.values())) == len(named) > 5
    assert all(key_id == 0 for (_, credential), key_id in by_credential.items() if not credential)


class GatewaySide:
    """The gateway's lock store and pseudonyms, kept across its restarts."""

    def __init__(self, store: GatewayStore) -> None:
        self.store = store
        self.pseudonyms = CredentialPseudonymiser(bytes(range(32)))
        self.kept: list[StoredLockEvent] = []

    async def keep(self, events: list[StoredLockEvent]) -> None:
        await asyncio.to_thread(self.store.lock_events.add, events)
        self.kept.extend(events)

    async def log_position(self, mac: str) -> int:
        return await asyncio.to_thread(self.store.lock_events.log_position, mac)

    @contextlib.asynccontextmanager
    async def running(self, config: GatewayConfig, clock: SteppedClock) -> AsyncIterator[None]:
        """The gateway's lock listener on the transport its configuration names."""
        async with bumble_transport(config.ble.bumble_transport) as transport:
            listener = LockListener(
                config.locks,
                transport,
                self.pseudonyms,
                clock,  # type: ignore[arg-type]
                self.keep,
                self.log_position,
                silent_after_s=config.ble.silent_after_s,
                connect_timeout_s=2.0,
            )
            async with listening(listener):
                await until(lambda: listener.connected == {lock.mac for lock in config.locks})
                yield


def as_rows(events: list[StoredLockEvent]) -> list[tuple[datetime, str, str]]:
    return sorted((e.ts, e.unit_id, e.event) for e in events)


async def test_a_gateway_keeps_the_events_of_locks_csv_and_resumes_after_a_restart(
    scenario: Scenario, tmp_path: Path
) -> None:
    export_trace(scenario, tmp_path / "trace")
    exported = list(open_trace(tmp_path / "trace").locks())
    start = scenario.params.start
    clock = SteppedClock(start)
    link = LocalLink()
    replay: LockReplay = await scenario_locks_on_link(
        scenario, ScenarioReadings(scenario), link, start, advertising_interval_ms=20.0
    )
    radio = HciOverTcp(link, host="127.0.0.1", port=0)
    await radio.start()
    # The layout puts the radio after the floors and the machine room: count back from it.
    config = gateway_config(scenario, tmp_path, base_port=radio.port - scenario.floors - 1)
    assert config.ble.bumble_transport == radio.transport_spec
    gateway = GatewaySide(GatewayStore(tmp_path / "gateway.sqlite"))
    first, second = start + timedelta(days=1, hours=8), start + timedelta(days=DAYS)
    try:
        async with gateway.running(config, clock):
            clock.moment = first
            await replay.report_until(first)
            expected = [r for r in exported if r.ts < first]
            await until(lambda: len(gateway.kept) >= len(expected))
            assert as_rows(gateway.kept) == sorted((r.ts, r.unit_id, r.event) for r in expected)
        # The gateway is down while the evening's events happen; restarted, it resumes.
        clock.moment = second
        await replay.report_until(second)
        async with gateway.running(config, clock):
            await until(lambda: len(gateway.kept) >= len(exported))
            await asyncio.sleep(0.1)  # nothing more (no repeat) arrives
    finally:
        await radio.stop()
        gateway.store.close()
    assert as_rows(gateway.kept) == sorted((r.ts, r.unit_id, r.event) for r in exported)
    # One pseudonym per credential of a flat, none for a mechanical key or the door locking.
    pseudonym_of = {(e.ts, e.unit_id, e.event): e.credential for e in gateway.kept}
    pairs = {(r.unit_id, r.credential, pseudonym_of[(r.ts, r.unit_id, r.event)]) for r in exported}
    assert len({(unit, credential) for unit, credential, _ in pairs}) == len(pairs)
    assert len({(unit, pseudonym) for unit, _, pseudonym in pairs}) == len(pairs)
    assert all((credential == "") == (pseudonym == "") for _, credential, pseudonym in pairs)

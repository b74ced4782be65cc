"""A scenario served live and the same scenario exported as a trace agree: the gateway's own
pollers, configured by ``firmware-sim scenario gateway-config``, read over real Modbus TCP what
``meters.csv`` holds for the same instant (an offline meter answers nothing, a replaced one
shows its new register)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from firmware_sim.scenario_serving import gateway_config_toml, scenario_converters
from firmware_sim.scenarios import Scenario, build_scenario, export_trace
from gateway.config.gateway_file import load_gateway_config
from gateway.modbus.bus_poller import build_pollers
from gateway.observations import MeterSample
from gateway.replay.trace_reader import open_trace
from tests.firmware_sim.served_scenario import Served, serving

pytestmark = pytest.mark.timeout(60)

# confounder_heavy, seed 2, 12 flats over 8 days: 0103's water meter is offline from day 1.22
# to day 2.19, 0301's water meter is replaced on day 3.57 (its register starts again near zero).
FAMILY, SEED, UNITS, DAYS = "confounder_heavy", 2, 12, 8


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return build_scenario(FAMILY, SEED, units=UNITS, days=DAYS)


def test_one_converter_per_floor_with_unique_device_ids(scenario: Scenario) -> None:
    converters = scenario_converters(scenario, base_port=6000)
    floors = sorted({t.unit.floor for t in scenario.timelines})
    assert [c.floor for c in converters] == floors
    assert [c.port for c in converters] == [6000 + f - 1 for f in floors]
    served = set()
    for converter in converters:
        ids = [m.meter.device_id for m in converter.meters]
        assert ids == list(range(1, len(ids) + 1))
        served |= {(m.unit_id, m.meter.kind) for m in converter.meters}
    expected = {(t.unit.unit_id, m.kind) for t in scenario.timelines for m in t.unit.meters}
    assert served == expected


def test_gateway_config_matches_the_layout(scenario: Scenario, tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(gateway_config_toml(scenario, host="127.0.0.1", base_port=6000, gateway_id="g"))
    config = load_gateway_config(path)
    assert [u.unit_id for u in config.units] == [t.unit.unit_id for t in scenario.timelines]
    layout = {
        (m.unit_id, m.meter.kind): (c.name, m.meter.device_id)
        for c in scenario_converters(scenario, 6000)
        for m in c.meters
    }
    configured = {(u.unit_id, m.kind): (m.bus, m.device_id) for u in config.units for m in u.meters}
    assert configured == layout
    floors = {c.name: c.port for c in scenario_converters(scenario, 6000)}
    assert {b.name: b.port for b in config.modbus_tcp} == floors | {"machine-room": 6004}


@pytest.fixture
async def served(scenario: Scenario) -> AsyncIterator[Served]:
    async with serving(scenario) as running:
        yield running


async def test_live_polls_read_what_the_trace_holds(
    scenario: Scenario, served: Served, tmp_path: Path
) -> None:
    export_trace(scenario, tmp_path / "trace")
    trace_rows: dict[datetime, dict[tuple[str, str], float]] = {}
    for row in open_trace(tmp_path / "trace").meters():
        trace_rows.setdefault(row.ts, {})[(row.unit_id, row.kind)] = row.total

    config_path = tmp_path / "gateway.toml"
    config_path.write_text(
        gateway_config_toml(
            scenario,
            host="127.0.0.1",
            base_port=served.base_port,
            gateway_id="scenario-gw",
            timeout_s=0.3,  # an offline meter costs its timeout
        )
    )
    config = load_gateway_config(config_path)
    pollers = build_pollers(config, served.clock)  # type: ignore[arg-type]
    start = scenario.params.start
    instants = [
        start + timedelta(days=1, hours=8),
        start + timedelta(days=2),  # 0103's water meter offline
        start + timedelta(days=7, hours=19, minutes=45),  # 0301's water meter replaced
    ]
    resolution = {"electricity_kwh": 0.01, "water_m3": 0.001, "gas_m3": 0.01}
    try:
        for instant in instants:
            served.clock.moment = instant
            live = {
                (s.unit_id, s.kind): s.total
                for poller in pollers
                for s in await poller.poll_once()
                if isinstance(s, MeterSample)
            }
            exported = trace_rows[instant.astimezone(next(iter(trace_rows)).tzinfo)]
            assert live.keys() == exported.keys(), instant
            for key, total in exported.items():
                assert live[key] == pytest.approx(total, abs=resolution[key[1]] * 1.01), key
    finally:
        for poller in pollers:
            await poller.close()
    assert ("0103", "water_m3") not in {k for k, _ in trace_rows[instants[1]].items()}, (
        "the scenario no longer has 0103's water meter offline on day 5: pick another instant"
    )

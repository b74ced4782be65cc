"""A scenario served on loopback for a test: every converter of ``scenario_servers`` listening
on a block of free consecutive ports, on a clock the test steps (time is set, never slept), and
the gateway configuration that reads it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from firmware_sim.modbus_server import MeterServer, ModbusServerError
from firmware_sim.scenario_serving import gateway_config_toml, scenario_servers
from firmware_sim.scenarios import Scenario
from gateway.config.gateway_file import GatewayConfig, load_gateway_config
from tests.conftest import free_port_block
from tests.stepped_clock import SteppedClock


@dataclass
class Served:
    servers: list[MeterServer]
    base_port: int
    clock: SteppedClock


@contextlib.asynccontextmanager
async def serving(scenario: Scenario) -> AsyncIterator[Served]:
    """``scenario`` served on free loopback ports (its floors, then the machine room)."""
    clock = SteppedClock(scenario.params.start)
    for _ in range(20):
        base = free_port_block(scenario.floors + 1)
        servers = scenario_servers(scenario, clock, host="127.0.0.1", base_port=base)
        started: list[MeterServer] = []
        try:
            for server in servers:
                await server.start()
                started.append(server)
        except ModbusServerError:  # a port taken since it was found free: try another block
            for server in started:
                await server.stop()
            continue
        try:
            yield Served(servers, base, clock)
        finally:
            for server in servers:
                await server.stop()
        return
    pytest.fail("no block of free loopback ports found")


def gateway_config(scenario: Scenario, tmp_path: Path, base_port: int) -> GatewayConfig:
    """The gateway.toml ``firmware-sim scenario gateway-config`` writes for ``scenario`` served
    from ``base_port``, loaded as the daemon loads it."""
    path = tmp_path / "gateway.toml"
    path.write_text(
        gateway_config_toml(scenario, host="127.0.0.1", base_port=base_port, gateway_id="gw"),
        encoding="utf-8",
    )
    return load_gateway_config(path)

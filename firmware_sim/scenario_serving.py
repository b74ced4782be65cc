"""Serves a generated scenario live over Modbus TCP: the same building a trace export writes,
answering a gateway's polls at any moment of the simulated clock.

Layout. Chinese residential buildings keep the meters of a floor in that floor's meter cabinet,
so the simulated building has one RS485-to-TCP converter per floor: floor ``f`` listens on
``base_port + f - 1``, and behind it every flat of the floor has its meters at device ids
counted from 1, flat by flat in unit-id order, electricity then water then gas. (A real RS485
segment carries about 32 unit loads; a floor's meters stay well under that.) The same layout is
written as a gateway configuration by ``gateway_config_toml``, so a technician can point a
gateway at the served building and compare what it records with the scenario's export.

Values come from ``ScenarioReadings``: a register shows exactly what the exported trace shows
at the same instant (float32 resolution, odometer wrap, replaced meters), and a meter that is
offline in the scenario answers nothing, like a dead meter. Locks and lifts are not served
here: the gateway reads them over other paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from firmware_sim.building_config import DeviceModel, MeterKind, MeterSpec
from firmware_sim.modbus_server import MeterServer
from firmware_sim.register_encoding import MeterState
from firmware_sim.scenarios import Scenario, ScenarioReadings
from firmware_sim.simulated_devices import Clock, SimulatedMeter

__all__ = [
    "DEVICE_FOR_KIND",
    "PROFILE_FOR_DEVICE",
    "Converter",
    "ScenarioMeterSource",
    "gateway_config_toml",
    "scenario_converters",
    "scenario_servers",
]

KIND_ORDER: tuple[MeterKind, ...] = ("electricity_kwh", "water_m3", "gas_m3")
DEVICE_FOR_KIND: dict[str, DeviceModel] = {
    "electricity_kwh": "eastron_sdm120",
    "water_m3": "generic_water_u32",
    "gas_m3": "generic_gas_u32",
}
# The gateway's device profile (gateway/profiles/NAME.toml) that reads each simulated device.
PROFILE_FOR_DEVICE: dict[str, str] = {name: name for name in DEVICE_FOR_KIND.values()}


@dataclass(frozen=True, slots=True)
class ScenarioMeterSource:
    """One meter of one flat of a scenario, as ``simulated_devices.MeterSource``."""

    readings: ScenarioReadings
    unit_id: str
    kind: str

    @property
    def start(self) -> datetime:
        return self.readings.scenario.params.start

    def state_at(self, t: datetime) -> MeterState | None:
        total = self.readings.meter_total_at(self.unit_id, self.kind, t)
        if total is None:
            return None
        return MeterState(total, self.readings.rate_per_hour_at(self.unit_id, self.kind, t))

    def total_at(self, t: datetime) -> float:
        total = self.readings.meter_total_at(self.unit_id, self.kind, t)
        return 0.0 if total is None else total


@dataclass(frozen=True, slots=True)
class ConverterMeter:
    unit_id: str
    meter: MeterSpec


@dataclass(frozen=True, slots=True)
class Converter:
    """The RS485-to-TCP converter of one floor and the meters behind it."""

    name: str
    floor: int
    port: int
    meters: tuple[ConverterMeter, ...]


def scenario_converters(scenario: Scenario, base_port: int) -> list[Converter]:
    """The building's converters, one per floor with meters (pure: the layout only)."""
    converters = []
    for floor in range(1, scenario.floors + 1):
        meters: list[ConverterMeter] = []
        flats = sorted(
            (t.unit for t in scenario.timelines if t.unit.floor == floor), key=lambda u: u.unit_id
        )
        for unit in flats:
            for kind in KIND_ORDER:
                spec = unit.meter(kind)
                if spec is None:
                    continue
                device_id = len(meters) + 1
                meter = MeterSpec(
                    kind=kind,
                    device=DEVICE_FOR_KIND[kind],
                    device_id=device_id,
                    initial_total=spec.initial_total,
                )
                meters.append(ConverterMeter(unit.unit_id, meter))
        if meters:
            name = f"floor-{floor:02d}"
            converters.append(Converter(name, floor, base_port + floor - 1, tuple(meters)))
    return converters


def scenario_servers(
    scenario: Scenario, clock: Clock, *, host: str, base_port: int
) -> list[MeterServer]:
    """One Modbus TCP server per converter, all reading the same ``ScenarioReadings``."""
    readings = ScenarioReadings(scenario)
    return [
        MeterServer(
            [
                SimulatedMeter(
                    ScenarioMeterSource(readings, item.unit_id, item.meter.kind), item.meter, clock
                )
                for item in converter.meters
            ],
            host=host,
            port=converter.port,
        )
        for converter in scenario_converters(scenario, base_port)
    ]


def gateway_config_toml(
    scenario: Scenario,
    *,
    host: str,
    base_port: int,
    gateway_id: str,
    interval_s: int = 900,
    timeout_s: float = 1.0,
) -> str:
    """A gateway configuration that polls the served scenario (check it with
    ``gateway check-config``). Keys, store and MQTT are the demo's defaults: edit them."""
    params = scenario.params
    offset = params.start.strftime("%z")
    lines = [
        f"# Gateway for scenario {params.family}, seed {params.seed}: {params.units} flats"
        f" from {params.start.date().isoformat()}.",
        "# Written by `firmware-sim scenario gateway-config`; the layout matches",
        "# `firmware-sim scenario serve` with the same family, seed and --port.",
        "",
        "[gateway]",
        f'id = "{gateway_id}"',
        f'key_file = "keys/{gateway_id}.key.pem"',
        'store_path = "gateway.sqlite"',
        f'utc_offset = "{offset[:3]}:{offset[3:]}"',
        "",
        "[mqtt]",
        'host = "127.0.0.1"',
        "port = 1883",
        "",
        "[polling]",
        f"interval_s = {interval_s}",
        "",
        "[rules]",
        f"max_persons_per_room = {params.rule.max_persons_per_room}",
        f"min_area_m2_per_person = {params.rule.min_area_m2_per_person}",
    ]
    converters = scenario_converters(scenario, base_port)
    for converter in converters:
        lines += ["", "[[modbus_tcp]]", f'name = "{converter.name}"', f'host = "{host}"']
        lines += [f"port = {converter.port}", f"timeout_s = {timeout_s}", "retries = 1"]
    by_unit = {
        item.unit_id: (converter, [m for m in converter.meters if m.unit_id == item.unit_id])
        for converter in converters
        for item in converter.meters
    }
    for timeline in scenario.timelines:
        unit = timeline.unit
        if unit.unit_id not in by_unit:
            continue
        converter, meters = by_unit[unit.unit_id]
        lines += [
            "",
            "[[units]]",
            f'unit_id = "{unit.unit_id}"',
            f"floor = {unit.floor}",
            f"area_m2 = {unit.area_m2}",
            f"rooms = {unit.rooms}",
        ]
        for item in meters:
            lines += [
                "  [[units.meters]]",
                f'  kind = "{item.meter.kind}"',
                f'  bus = "{converter.name}"',
                f"  device_id = {item.meter.device_id}",
                f'  profile = "{PROFILE_FOR_DEVICE[item.meter.device]}"',
            ]
    return "\n".join(lines) + "\n"

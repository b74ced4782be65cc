"""Serves a generated scenario live over Modbus TCP: the same building a trace export writes,
answering a gateway's polls at any moment of the simulated clock.

Layout. Chinese residential buildings keep the meters of a floor in that floor's meter cabinet,
so the simulated building has one RS485-to-TCP converter per floor: floor ``f`` listens on
``base_port + f - 1``, and behind it every flat of the floor has its meters at device ids
counted from 1, flat by flat in unit-id order, electricity then water then gas. (A real RS485
segment carries about 32 unit loads; a floor's meters stay well under that.) The lifts'
monitoring terminals sit in the machine room on an RS485 line of their own, as they do in a
real building (the lift company wires them, not the meter installer): one more converter,
``machine-room``, on the port after the top floor's (``base_port + floors``), with lift ``L1``
at device id 1, ``L2`` at 2. The same layout is written as a gateway configuration by
``gateway_config_toml`` (its ``[[elevators]]`` in counters mode), so a technician can point a
gateway at the served building and compare what it records with the scenario's export.

Values come from ``ScenarioReadings``: a register shows exactly what the exported trace shows
at the same instant (float32 resolution, odometer wrap, replaced meters), and a meter that is
offline in the scenario answers nothing, like a dead meter. A lift terminal answers the
reference map (``gateway/modbus/profiles/elevator_floor_counters.toml``): its stop counters are the
``elevators.csv`` counts at that instant, every floor of the building up to the map's 32nd;
its car is where the lift last stopped, the door open for ``lift_model.DOOR_OPEN_S`` after each
stop (shorter if the lift stops again sooner), and at the ground floor, door closed, before its
first stop or when it has not stopped since the start of the day before. Locks are served over
an emulated Bluetooth radio by ``firmware_sim.scenario_locks``, on the port after the machine
room's (``scenario_radio_port``); ``gateway_config_toml`` configures them too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from firmware_sim.building_config import DeviceModel, MeterKind, MeterSpec
from firmware_sim.lift_model import DOOR_OPEN_S, CarPosition
from firmware_sim.modbus_server import MeterServer
from firmware_sim.register_encoding import LIFT_MAX_FLOOR, MeterState
from firmware_sim.scenario_locks import scenario_lock_layout
from firmware_sim.scenarios import Scenario, ScenarioReadings
from firmware_sim.simulated_devices import Clock, SimulatedDevice, SimulatedLift, SimulatedMeter

__all__ = [
    "DEVICE_FOR_KIND",
    "LIFT_PROFILE",
    "MACHINE_ROOM",
    "PROFILE_FOR_DEVICE",
    "Converter",
    "LiftLine",
    "LiftTerminal",
    "ScenarioLiftSource",
    "ScenarioMeterSource",
    "gateway_config_toml",
    "scenario_converters",
    "scenario_lift_line",
    "scenario_radio_port",
    "scenario_servers",
]

KIND_ORDER: tuple[MeterKind, ...] = ("electricity_kwh", "water_m3", "gas_m3")
DEVICE_FOR_KIND: dict[str, DeviceModel] = {
    "electricity_kwh": "eastron_sdm120",
    "water_m3": "generic_water_u32",
    "gas_m3": "generic_gas_u32",
}
# The gateway's device profile (gateway/modbus/profiles/NAME.toml) that reads each simulated device.
PROFILE_FOR_DEVICE: dict[str, str] = {name: name for name in DEVICE_FOR_KIND.values()}
LIFT_PROFILE = "elevator_floor_counters"  # the gateway's reference map of a lift terminal
MACHINE_ROOM = "machine-room"  # the converter of the lift terminals' RS485 line
GROUND_FLOOR = 1  # scenario buildings count floors from 1, the ground floor


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
class ScenarioLiftSource:
    """One lift of a scenario, as ``simulated_devices.LiftSource``: its counters are the
    ``elevators.csv`` counts (``ScenarioReadings.elevator_counts_at``), its car is where it
    last stopped (``ScenarioReadings.last_elevator_stop``)."""

    readings: ScenarioReadings
    index: int  # the lift's place in ``scenario.elevators``
    floors: tuple[int, ...]  # the floors its terminal keeps a counter for

    @property
    def start(self) -> datetime:
        return self.readings.scenario.params.start

    def stops(self, t: datetime) -> dict[int, int]:
        counts = self.readings.elevator_counts_at(t)
        return {floor: counts[(self.index, floor)] for floor in self.floors}

    def car_at(self, t: datetime) -> CarPosition:
        last = self.readings.last_elevator_stop(self.index, t)
        if last is None:
            return CarPosition(GROUND_FLOOR, door_open=False)
        at, floor = last
        return CarPosition(floor, door_open=(t - at).total_seconds() < DOOR_OPEN_S)


@dataclass(frozen=True, slots=True)
class LiftTerminal:
    """One lift's monitoring terminal on the machine-room line."""

    elevator_id: str
    index: int  # the lift's place in ``scenario.elevators``
    device_id: int
    floors: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class LiftLine:
    """The machine room's RS485-to-TCP converter and the lift terminals behind it."""

    name: str
    port: int
    lifts: tuple[LiftTerminal, ...]


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


def scenario_lift_line(scenario: Scenario, base_port: int) -> LiftLine | None:
    """The machine room's line, on the port after the top floor's converter, its lifts at device
    ids from 1 in the scenario's order; None for a building without lifts (pure: the layout
    only). A terminal keeps counters for floors 1 to 32 (the reference map's), so a taller
    building's lifts are served and configured for their 32 lowest floors."""
    if not scenario.elevators:
        return None
    floors = tuple(range(GROUND_FLOOR, min(scenario.floors, LIFT_MAX_FLOOR) + 1))
    lifts = tuple(
        LiftTerminal(elevator.elevator_id, index, index + 1, floors)
        for index, elevator in enumerate(scenario.elevators)
    )
    return LiftLine(MACHINE_ROOM, base_port + scenario.floors, lifts)


def scenario_radio_port(scenario: Scenario, base_port: int) -> int:
    """The port of the locks' radio (``firmware_sim.scenario_locks``): after the machine room's."""
    return base_port + scenario.floors + 1


def scenario_servers(
    scenario: Scenario,
    clock: Clock,
    *,
    host: str,
    base_port: int,
    readings: ScenarioReadings | None = None,
) -> list[MeterServer]:
    """One Modbus TCP server per converter (the floors', then the machine room's), all reading
    the same ``ScenarioReadings`` (``readings`` if given)."""
    readings = ScenarioReadings(scenario) if readings is None else readings
    servers = [
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
    line = scenario_lift_line(scenario, base_port)
    if line is not None:
        terminals: list[SimulatedDevice] = [
            SimulatedLift(
                ScenarioLiftSource(readings, lift.index, lift.floors), lift.device_id, clock
            )
            for lift in line.lifts
        ]
        servers.append(MeterServer(terminals, host=host, port=line.port))
    return servers


def gateway_config_toml(
    scenario: Scenario,
    *,
    host: str,
    base_port: int,
    gateway_id: str,
    interval_s: int = 900,
    timeout_s: float = 1.0,
    locks: bool = True,
) -> str:
    """A gateway configuration that polls the served scenario (check it with
    ``gateway check-config``): its meters, its lifts (counters mode) and, with ``locks``, its
    locks through the served radio. Keys, store and MQTT are the demo's defaults: edit them."""
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
    served_locks = scenario_lock_layout(scenario) if locks else ()
    if served_locks:
        lines += [
            "",
            "[ble]",
            'transport = "bumble"',
            f'bumble_transport = "tcp-client:{host}:{scenario_radio_port(scenario, base_port)}"',
            'pseudonym_key_file = "lock-pseudonyms.key"',
        ]
    converters = scenario_converters(scenario, base_port)
    line = scenario_lift_line(scenario, base_port)
    buses = [(c.name, c.port) for c in converters]
    buses += [] if line is None else [(line.name, line.port)]
    for name, port in buses:
        lines += ["", "[[modbus_tcp]]", f'name = "{name}"', f'host = "{host}"']
        lines += [f"port = {port}", f"timeout_s = {timeout_s}", "retries = 1"]
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
    if line is not None:
        lines += _lift_tables(line, scenario.floors)
    for lock in served_locks:
        lines += ["", "[[locks]]", f'unit_id = "{lock.unit_id}"', f'mac = "{lock.mac}"']
        lines += ['kind = "gatt"']
    return "\n".join(lines) + "\n"


def _lift_tables(line: LiftLine, building_floors: int) -> list[str]:
    """The ``[[elevators]]`` tables of the machine room's lifts, counters mode."""
    lines = []
    if building_floors > LIFT_MAX_FLOOR:
        lines += [
            "",
            f"# The building has {building_floors} floors; the reference lift map counts stops"
            f" at floors 1-{LIFT_MAX_FLOOR} only.",
        ]
    for lift in line.lifts:
        lines += [
            "",
            "[[elevators]]",
            f'elevator_id = "{lift.elevator_id}"',
            f'bus = "{line.name}"',
            f"device_id = {lift.device_id}",
            f'profile = "{LIFT_PROFILE}"',
            f"floors = [{', '.join(str(floor) for floor in lift.floors)}]",
            'mode = "counters"',
        ]
    return lines

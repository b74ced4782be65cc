"""A large simulated building for the edge benchmarks, written as files (never committed):
one ``firmware-sim`` building file per RS485-to-TCP converter, and the gateway configuration
that reads all of them, plus a store pre-filled with the day so far.

The building: ``floors`` x ``flats_per_floor`` flats, each with an electricity meter (Eastron
SDM120) and a water meter, every other flat also a gas meter; 1,000 flats make 2,500 meters.
Flats are packed, all meters of a flat together, onto converters of at most
``per_converter`` device ids (an RS485 line addresses 1-247). The lifts' monitoring terminals
(counters mode, every floor) sit on the last converter, whose households they count.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

METER_MODELS = {
    "electricity_kwh": "eastron_sdm120",
    "water_m3": "generic_water_u32",
    "gas_m3": "generic_gas_u32",
}
# Use a minute at the start-up totals, for the readings written before the run (m3 or kWh).
PREFILL_PER_MINUTE = {"electricity_kwh": 0.004, "water_m3": 0.0003, "gas_m3": 0.0002}
INITIAL_TOTAL = 500.0


@dataclass
class Flat:
    unit_id: str
    floor: int
    area_m2: float
    rooms: int
    occupants: int
    meters: list[tuple[str, int]] = field(default_factory=list)  # (kind, device id)


@dataclass
class Converter:
    name: str
    flats: list[Flat] = field(default_factory=list)
    lifts: list[tuple[str, int]] = field(default_factory=list)  # (elevator id, device id)
    port: int = 0

    @property
    def devices(self) -> int:
        return sum(len(f.meters) for f in self.flats) + len(self.lifts)


@dataclass
class Building:
    floors: int
    converters: list[Converter]

    @property
    def flats(self) -> list[Flat]:
        return [flat for c in self.converters for flat in c.flats]

    @property
    def meters(self) -> int:
        return sum(len(flat.meters) for flat in self.flats)


def plan_building(
    floors: int = 25, flats_per_floor: int = 40, lifts: int = 4, per_converter: int = 240
) -> Building:
    rng = random.Random(7)
    converters = [Converter("conv-01")]
    for floor in range(1, floors + 1):
        for n in range(1, flats_per_floor + 1):
            rooms = rng.choice((1, 2, 2, 3, 3, 4))
            flat = Flat(
                f"{floor:02d}{n:02d}",
                floor,
                round(25 + 18 * rooms + rng.uniform(-5, 15), 1),
                rooms,
                rng.randint(1, rooms + 1),
            )
            kinds = ["electricity_kwh", "water_m3"] + (["gas_m3"] if n % 2 == 0 else [])
            current = converters[-1]
            if current.devices + len(kinds) > per_converter:
                current = Converter(f"conv-{len(converters) + 1:02d}")
                converters.append(current)
            first = current.devices + 1
            flat.meters = [(kind, first + i) for i, kind in enumerate(kinds)]
            current.flats.append(flat)
    last = converters[-1]
    if last.devices + lifts > 247:
        last = Converter(f"conv-{len(converters) + 1:02d}")
        converters.append(last)
    for i in range(lifts):
        last.lifts.append((f"lift-{chr(ord('A') + i)}", 247 - lifts + 1 + i))
    return Building(floors, converters)


def write_simulator_files(building: Building, directory: Path) -> list[Path]:
    paths = []
    for converter in building.converters:
        lines = [
            "[building]",
            'id = "bench-tower"',
            'utc_offset = "+08:00"',
            "[modbus_tcp]",
            'host = "127.0.0.1"',
            "port = 0",
        ]
        for flat in converter.flats:
            lines += [
                "[[units]]",
                f'unit_id = "{flat.unit_id}"',
                f"floor = {flat.floor}",
                f"area_m2 = {flat.area_m2}",
                f"rooms = {flat.rooms}",
                f"occupants = {flat.occupants}",
            ]
            for kind, device_id in flat.meters:
                lines += [
                    "[[units.meters]]",
                    f'kind = "{kind}"',
                    f'device = "{METER_MODELS[kind]}"',
                    f"device_id = {device_id}",
                    f"initial_total = {INITIAL_TOTAL}",
                ]
        floors = ", ".join(str(f) for f in range(1, building.floors + 1))
        for elevator_id, device_id in converter.lifts:
            lines += [
                "[[elevators]]",
                f'elevator_id = "{elevator_id}"',
                f"device_id = {device_id}",
                f"floors = [{floors}]",
            ]
        path = directory / f"{converter.name}.toml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def write_gateway_config(
    building: Building,
    path: Path,
    *,
    mqtt_port: int,
    interval_s: float,
    day_close_delay_s: float,
) -> Path:
    lines = [
        "[gateway]",
        'id = "bench-gw"',
        'key_file = "bench-gw.key.pem"',
        'store_path = "gateway.sqlite"',
        'utc_offset = "+08:00"',
        "[mqtt]",
        'host = "127.0.0.1"',
        f"port = {mqtt_port}",
        "[polling]",
        f"interval_s = {interval_s}",
        f"day_close_delay_s = {day_close_delay_s}",
    ]
    for converter in building.converters:
        lines += [
            "[[modbus_tcp]]",
            f'name = "{converter.name}"',
            'host = "127.0.0.1"',
            f"port = {converter.port}",
            "timeout_s = 1.0",
            "retries = 1",
        ]
    for converter in building.converters:
        for flat in converter.flats:
            lines += [
                "[[units]]",
                f'unit_id = "{flat.unit_id}"',
                f"floor = {flat.floor}",
                f"area_m2 = {flat.area_m2}",
                f"rooms = {flat.rooms}",
            ]
            for kind, device_id in flat.meters:
                lines += [
                    "  [[units.meters]]",
                    f'  kind = "{kind}"',
                    f'  bus = "{converter.name}"',
                    f"  device_id = {device_id}",
                    f'  profile = "{METER_MODELS[kind]}"',
                ]
    floors = ", ".join(str(f) for f in range(1, building.floors + 1))
    for converter in building.converters:
        for elevator_id, device_id in converter.lifts:
            lines += [
                "[[elevators]]",
                f'elevator_id = "{elevator_id}"',
                f'bus = "{converter.name}"',
                f"device_id = {device_id}",
                f"floors = [{floors}]",
            ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def prefill_store(
    building: Building, store_path: Path, day_start: datetime, until: datetime, step_s: float
) -> int:
    """Write the readings the gateway would have stored from ``day_start`` up to ``until``
    (every ``step_s``), as totals that end at the simulators' start-up totals, so the day close
    works on a whole day. Uses the gateway's own schema (``gateway.store.GatewayStore``)."""
    from gateway.observations import ElevatorSample, MeterSample
    from gateway.store.gateway_store import GatewayStore

    times = []
    t = day_start
    while t < until:
        times.append(t)
        t += timedelta(seconds=step_s)
    end = until.timestamp()
    store = GatewayStore(store_path)  # the gateway's own tables, slots and all
    kept = 0
    for flat in building.flats:  # through the store's own API, a flat at a time
        kept += store.readings.add(
            MeterSample(
                flat.unit_id,
                kind,
                ts,
                INITIAL_TOTAL - PREFILL_PER_MINUTE[kind] / 60 * (end - ts.timestamp()),
            )
            for kind, _ in flat.meters
            for ts in times
        )
    store.lifts.add(
        ElevatorSample(
            elevator_id, floor, ts, 1000.0 + (ts.timestamp() - times[0].timestamp()) / 600
        )
        for converter in building.converters
        for elevator_id, _ in converter.lifts
        for floor in range(1, building.floors + 1)
        for ts in times
    )
    store.db.give_back_free_pages()  # the WAL checkpointed, as after a night's polling
    store.close()
    return kept

"""The live day closer uses the lifts' stored counters exactly as ``gateway backtest`` uses a
trace's ``elevators.csv``: the same readings give the same estimates, and a flat above the
ground floor gets an elevator head count."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from firmware_sim.building_config import load_building_config
from firmware_sim.households import HouseholdModel
from firmware_sim.lift_model import building_lifts
from gateway.config.gateway_file import load_gateway_config
from gateway.core.building_day import UnitDayResult
from gateway.core.occupancy import OccupancyEstimate
from gateway.observations import ElevatorSample, MeterSample
from gateway.replay.backtest import run_backtest
from gateway.replay.trace_reader import open_trace
from gateway.service.day_closer import DayCloser
from gateway.store.gateway_store import GatewayStore
from gateway.wire.keys import generate_key_pair, load_signing_key
from gateway.wire.signer import EnvelopeSigner

CST = timezone(timedelta(hours=8))
START = datetime(2026, 3, 1, tzinfo=CST)
DAYS = 3
FLOORS = (1, 2, 3, 4, 5)
# Two flats a floor; 0402 is crowded (eight people in 40 m2, legal cap 4).
UNITS = {
    f"0{floor}0{pos}": (floor, 40 if (floor, pos) == (4, 2) else 60, 8 if (floor, pos) == (4, 2)
                        else 2 + (floor + pos) % 2)
    for floor in FLOORS
    for pos in (1, 2)
}  # fmt: skip
KINDS = ("water_m3", "electricity_kwh")


def building_text() -> str:
    units = "".join(
        f'[[units]]\nunit_id = "{u}"\nfloor = {f}\narea_m2 = {a}\nrooms = 2\noccupants = {n}\n'
        f'  [[units.meters]]\n  kind = "water_m3"\n  device = "generic_water_u32"\n'
        f"  device_id = {2 * i + 1}\n  initial_total = 100.0\n"
        f'  [[units.meters]]\n  kind = "electricity_kwh"\n  device = "eastron_sdm120"\n'
        f"  device_id = {2 * i + 2}\n  initial_total = 2000.0\n"
        for i, (u, (f, a, n)) in enumerate(UNITS.items())
    )
    lift = f'[[elevators]]\nelevator_id = "L1"\ndevice_id = 200\nfloors = {list(FLOORS)}\n'
    return '[building]\nid = "lifted"\n' + units + lift


def simulated_samples(tmp_path: Path) -> tuple[list[MeterSample], list[ElevatorSample]]:
    """Every quarter hour of the run, as the gateway would poll the simulated building."""
    path = tmp_path / "building.toml"
    path.write_text(building_text(), encoding="utf-8")
    building = load_building_config(path)
    households = [HouseholdModel(u, START, 1, timedelta(hours=8)) for u in building.units]
    (lift,) = building_lifts(building, START, 1, timedelta(hours=8))
    meters, lifts = [], []
    for step in range(DAYS * 96 + 1):
        ts = START + timedelta(minutes=15 * step)
        for household in households:
            unit_id = household.unit.unit_id
            meters.extend(MeterSample(unit_id, k, ts, household.total_at(k, ts)) for k in KINDS)
        lifts.extend(ElevatorSample("L1", f, ts, float(lift.stops_at(f, ts))) for f in FLOORS)
    return meters, lifts


def write_trace(directory: Path, meters: list[MeterSample], lifts: list[ElevatorSample]) -> None:
    directory.mkdir()
    (directory / "units.csv").write_text(
        "unit_id,floor,area_m2,rooms\n"
        + "".join(f"{u},{f},{a},2\n" for u, (f, a, _) in UNITS.items()),
        encoding="utf-8",
    )
    (directory / "meters.csv").write_text(
        "ts,unit_id,kind,total\n"
        + "".join(f"{s.ts.isoformat()},{s.unit_id},{s.kind},{s.total!r}\n" for s in meters),
        encoding="utf-8",
    )
    (directory / "elevators.csv").write_text(
        "ts,elevator_id,floor,stops_total\n"
        + "".join(f"{s.ts.isoformat()},L1,{s.floor},{int(s.stops_total)}\n" for s in lifts),
        encoding="utf-8",
    )
    (directory / "trace.toml").write_text('timezone = "+08:00"\n', encoding="utf-8")


def gateway_config(tmp_path: Path) -> Path:
    units = "".join(
        f'[[units]]\nunit_id = "{u}"\nfloor = {f}\narea_m2 = {a}\nrooms = 2\n'
        for u, (f, a, _) in UNITS.items()
    )
    path = tmp_path / "gateway.toml"
    path.write_text(
        '[gateway]\nid = "gw"\nkey_file = "k.pem"\n'
        '[[modbus_tcp]]\nname = "conv"\nhost = "127.0.0.1"\n' + units
        + f'[[elevators]]\nelevator_id = "L1"\nbus = "conv"\ndevice_id = 200\n'
        f"floors = {list(FLOORS)}\n",
        encoding="utf-8",
    )  # fmt: skip
    return path


def estimates(results: list[UnitDayResult]) -> dict[str, OccupancyEstimate | None]:
    return {r.unit_id: r.assessment.estimate for r in results}


def test_live_day_close_uses_the_lifts_as_the_backtest_does(tmp_path: Path) -> None:
    meters, lifts = simulated_samples(tmp_path)
    write_trace(tmp_path / "trace", meters, lifts)
    replayed: dict[date, dict[str, OccupancyEstimate | None]] = {}
    config = load_gateway_config(gateway_config(tmp_path))
    run_backtest(
        open_trace(tmp_path / "trace"),
        config.detection,
        "gw",
        io.StringIO(),
        on_day=lambda day, _, results: replayed.__setitem__(day, estimates(results)),
    )

    generate_key_pair(tmp_path / "k.pem", tmp_path / "k.pub.pem")
    store = GatewayStore(tmp_path / "live.sqlite")
    store.readings.add(meters)
    store.lifts.add(lifts)
    closer = DayCloser(config, store, EnvelopeSigner("gw", load_signing_key(tmp_path / "k.pem")))
    live = {}
    for offset in range(DAYS):
        day = START.date() + timedelta(days=offset)
        report = closer.close_day(day, START + timedelta(days=offset + 1, minutes=10))
        live[day] = estimates(report.results)
        stops = closer.floor_stops(day, *_bounds(day))
        for floor in FLOORS:  # the day's stops, as the lift model counted them
            modelled = _modelled(lifts, floor, day)
            assert stops[floor] is not None and abs(stops[floor] - modelled) <= 1.0
    store.close()

    assert live == {day: replayed[day] for day in live}
    full_day = live[START.date() + timedelta(days=1)]
    for unit, (floor, _, _) in UNITS.items():
        estimate = full_day[unit]
        assert estimate is not None
        assert ("elevator" in estimate.by_signal) is (floor > 1), unit
    # The crowded flat's floor has more stops than its neighbour explains.
    crowded = full_day["0402"]
    assert crowded is not None and crowded.by_signal["elevator"] > 5


def _bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=CST)
    return start, start + timedelta(days=1)


def _modelled(lifts: list[ElevatorSample], floor: int, day: date) -> float:
    start, end = _bounds(day)
    at = {s.ts: s.stops_total for s in lifts if s.floor == floor}
    return at[end] - at[start]

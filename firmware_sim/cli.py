"""``firmware-sim``: serve a simulated building's meters over Modbus TCP, check and describe it.

``serve`` prints exactly one line on stdout once it listens, ``READY modbus-tcp HOST:PORT``, so a
script (or the demo) can start it with ``--port 0`` and learn the port; logs go to stderr.
SIGTERM or Ctrl-C stop it cleanly (exit 0). A broken building file is one message per problem on
stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import math
import signal
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from firmware_sim.building_config import (
    BuildingConfig,
    BuildingConfigError,
    UnitSpec,
    load_building_config,
)
from firmware_sim.modbus_server import BuildingServer, ModbusServerError, SerialLine
from firmware_sim.scenario_cli import scenario_app
from simclock import SimClock

app = typer.Typer(
    help="Simulated building meters (Eastron SDM120, 32-bit water meters) over Modbus TCP.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# soft_wrap: an error line stays one line, whatever the terminal width, so it can be grepped.
err_console = Console(stderr=True, soft_wrap=True, highlight=False)

app.add_typer(scenario_app, name="scenario")

BuildingPath = Annotated[Path, typer.Argument(help="The building's TOML file.")]
SimStart = Annotated[
    str | None,
    typer.Option(
        help="Simulated time at the start, ISO 8601 with offset (default: now; the real clock"
        " when --time-scale is 1)."
    ),
]
SimAnchor = Annotated[
    float | None,
    typer.Option(help="Wall-clock Unix time at which the simulated clock reads --sim-start."),
]
TimeScale = Annotated[
    float, typer.Option(help="Simulated seconds per wall second (3600: an hour a second).")
]


def _fail(lines: str, code: int = 2) -> typer.Exit:
    for line in lines.splitlines():
        err_console.print(f"error: {line}", markup=False)
    return typer.Exit(code)


def _load(path: Path) -> BuildingConfig:
    try:
        return load_building_config(path)
    except BuildingConfigError as err:
        raise _fail(str(err)) from err


def _clock(
    config: BuildingConfig, sim_start: str | None, sim_anchor: float | None, time_scale: float
) -> SimClock:
    if sim_start is None and time_scale != 1.0:
        # A faster clock needs a start; take now, in the building's own time.
        sim_start = datetime.now(config.building.timezone).isoformat()
    try:
        return SimClock.from_args(sim_start, sim_anchor, time_scale)
    except ValueError as err:  # the message names the flag
        raise _fail(str(err)) from err


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # pymodbus reports every client that hangs up; only its warnings matter here.
    if level.upper() != "DEBUG":
        logging.getLogger("pymodbus").setLevel(logging.WARNING)


@app.command()
def serve(
    building: BuildingPath,
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default: the file's modbus_tcp.host).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            min=0, max=65535, help="Port (default: the file's modbus_tcp.port; 0 picks a free one)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the households' variation.")] = 1,
    rtu: Annotated[
        str | None,
        typer.Option(help="Serve Modbus RTU on this serial port instead of TCP (/dev/ttyUSB0)."),
    ] = None,
    baudrate: Annotated[int, typer.Option(help="Baud rate of --rtu.")] = 9600,
    sim_start: SimStart = None,
    sim_anchor: SimAnchor = None,
    time_scale: TimeScale = 1.0,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")] = "INFO",
) -> None:
    """Serve every meter of BUILDING on one Modbus TCP listener (or one RTU line with --rtu)
    until SIGTERM or Ctrl-C."""
    _setup_logging(log_level)
    config = _load(building)
    clock = _clock(config, sim_start, sim_anchor, time_scale)
    server = BuildingServer(
        config,
        clock,
        seed=seed,
        host=host or config.modbus_tcp.host,
        port=config.modbus_tcp.port if port is None else port,
        serial=None if rtu is None else SerialLine(rtu, baudrate=baudrate),
    )
    try:
        asyncio.run(_serve_until_stopped(server))
    except ModbusServerError as err:
        raise _fail(str(err), code=1) from err


async def _serve_until_stopped(server: BuildingServer) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    stop_signals = (signal.SIGTERM, signal.SIGINT)
    for signum in stop_signals:
        loop.add_signal_handler(signum, stop.set)
    try:
        await server.start()
        try:
            print(f"READY {server.where}", flush=True)
            await stop.wait()
        finally:
            await server.stop()
    finally:
        for signum in stop_signals:
            loop.remove_signal_handler(signum)


@app.command("check-config")
def check_config(building: BuildingPath) -> None:
    """Validate BUILDING; print OK, or one line per problem on stderr (exit code 2)."""
    config = _load(building)
    meters = sum(len(unit.meters) for unit in config.units)
    typer.echo(f"OK {building.name}: {len(config.units)} units, {meters} meters")


def legal_cap(unit: UnitSpec, persons_per_room: int, area_per_person: float) -> int:
    """``min(persons_per_room x rooms, floor(area / area_per_person))``."""
    return min(persons_per_room * unit.rooms, math.floor(unit.area_m2 / area_per_person + 1e-9))


@app.command()
def describe(
    building: BuildingPath,
    persons_per_room: Annotated[
        int, typer.Option(min=1, help="The city's rule for the legal cap: persons per room.")
    ] = 2,
    area_per_person: Annotated[
        float, typer.Option(min=0.1, help="The city's rule for the legal cap: m2 per person.")
    ] = 5.0,
) -> None:
    """Show BUILDING as a table: units, households, meters with their device ids, changes."""
    config = _load(building)
    section = config.building
    units = Table(
        title=f"{section.id} {section.name}".strip() + f" (UTC{section.utc_offset})",
        caption=f"Modbus TCP {config.modbus_tcp.host}:{config.modbus_tcp.port};"
        f" reading at the simulated start; legal cap = min({persons_per_room} x rooms,"
        f" floor(area / {area_per_person:g}))",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=0,  # the box already puts one space between columns
    )
    for column in ("unit", "floor", "m2", "rooms", "cap", "people", "id", "meter", "device"):
        units.add_column(
            column,
            justify="left" if column in ("unit", "meter", "device") else "right",
            no_wrap=True,
            min_width=len(column),
        )
    units.add_column("reading", justify="right", min_width=7)
    changes = Table(title="household changes", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("unit", "at day", "people", "cap", "label"):
        changes.add_column(column, justify="left" if column in ("unit", "label") else "right")
    for unit in config.units:
        cap = legal_cap(unit, persons_per_room, area_per_person)
        for j, meter in enumerate(unit.meters):
            head = (unit.unit_id, unit.floor, f"{unit.area_m2:g}", unit.rooms, cap, unit.occupants)
            units.add_row(
                *(Text(str(cell) if j == 0 else "") for cell in head),
                Text(str(meter.device_id)),
                Text(meter.kind),
                Text(meter.device),
                Text(f"{meter.initial_total:g}"),
                end_section=j == len(unit.meters) - 1,
            )
        for change in unit.changes:
            over = " (over cap)" if change.occupants > cap else ""
            changes.add_row(
                Text(unit.unit_id),
                Text(f"{change.at_day:g}"),
                Text(f"{change.occupants}{over}"),
                Text(str(cap)),
                Text(change.label),
            )
    console = Console()
    console.print(units)
    if changes.row_count:
        console.print(changes)

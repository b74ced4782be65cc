"""``firmware-sim scenario``: list the scenario families, export one as a building trace, or
serve it live (meters and lifts over Modbus TCP, locks over an emulated Bluetooth radio).

``scenario_app`` is a Typer sub-app; the ``firmware-sim`` command mounts it as ``scenario``.
``list`` prints one family a line on stdout. ``export`` writes the trace and one summary line
on stderr (``wrote DIR: 12 units over 30 days from 2026-03-01, ...``); a bad argument is one
line on stderr and exit code 2, a directory that cannot be written exit code 1. ``serve``
answers for every meter and lift terminal of the scenario's building (one converter per floor
and one in the machine room, see ``firmware_sim.scenario_serving``) and, unless
``--no-locks``, every lock (``firmware_sim.scenario_locks``), and prints one line once all
listen: ``READY modbus-tcp HOST:FIRST-LAST ble tcp-client:HOST:PORT`` (the ``ble`` part only
with locks; ``tcp-client:...`` is what the gateway's ``[ble] bumble_transport`` names).
``gateway-config`` writes the gateway configuration that reads it all.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from firmware_sim import FirmwareSimError
from firmware_sim.scenario_locks import serving_locks
from firmware_sim.scenario_serving import (
    gateway_config_toml,
    scenario_radio_port,
    scenario_servers,
)
from firmware_sim.scenarios import (
    FAMILIES,
    Scenario,
    ScenarioError,
    ScenarioReadings,
    build_scenario,
    parse_start,
)
from firmware_sim.scenarios.trace_writer import export_trace
from simclock import SimClock

__all__ = ["scenario_app"]

scenario_app = typer.Typer(
    help="Whole simulated buildings over weeks (group rentals and confounders), as traces.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@scenario_app.command("list")
def list_families() -> None:
    """Print every scenario family: default size and a one-line description."""
    for name, family in FAMILIES.items():
        typer.echo(f"{name:<17} {family.units:>3} flats {family.days:>3} days  {family.summary}")


@scenario_app.command("export")
def export(
    family: Annotated[str, typer.Argument(help="Scenario family (see `list`).")],
    out: Annotated[Path, typer.Option(help="Directory to write the trace to (created).")],
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same files.")] = 1,
    units: Annotated[
        int | None, typer.Option(help="Number of flats (default: the family's).")
    ] = None,
    days: Annotated[
        int | None, typer.Option(help="Number of days (default: the family's).")
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            help="First day: 2026-03-01 (+08:00) or an ISO local midnight with offset"
            " (default: the family's).",
        ),
    ] = None,
    interval_min: Annotated[
        int, typer.Option(help="Minutes between two readings (must divide a day).")
    ] = 15,
) -> None:
    """Export FAMILY for SEED as a building trace with truth.csv in OUT."""
    began = time.perf_counter()
    scenario = _build(family, seed, units, days, start, interval_min)
    try:
        summary = export_trace(scenario, out)
    except OSError as err:
        typer.echo(f"error: cannot write {out}: {err.strerror or err}", err=True)
        raise typer.Exit(1) from err
    params = scenario.params
    typer.echo(
        f"wrote {out}: {params.units} units over {params.days} days from"
        f" {params.start.date().isoformat()} ({params.family}, seed {params.seed}),"
        f" {summary.meter_rows} meter readings, {summary.lock_rows} lock events,"
        f" {summary.elevator_rows} lift counter readings, {summary.truth_rows} truth rows,"
        f" in {time.perf_counter() - began:.1f} s",
        err=True,
    )


def _build(
    family: str,
    seed: int,
    units: int | None,
    days: int | None,
    start: str | None,
    interval_min: int = 15,
) -> Scenario:
    try:
        return build_scenario(
            family,
            seed,
            units=units,
            days=days,
            start=None if start is None else parse_start(start),
            interval_min=interval_min,
        )
    except ScenarioError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err


Family = Annotated[str, typer.Argument(help="Scenario family (see `list`).")]
Seed = Annotated[int, typer.Option(help="Seed: the same seed gives the same building.")]
Units = Annotated[int | None, typer.Option(help="Number of flats (default: the family's).")]
Days = Annotated[int | None, typer.Option(help="Number of days (default: the family's).")]
Start = Annotated[
    str | None, typer.Option(help="First day, as for `export` (default: the family's).")
]
Host = Annotated[str, typer.Option(help="Address the converters listen on.")]
BasePort = Annotated[
    int,
    typer.Option(
        min=1,
        max=65535,
        help="Port of floor 1's converter; floor f: PORT + f - 1; the lifts' machine room: the"
        " port after the top floor's; the locks' radio: the one after that.",
    ),
]
Locks = Annotated[
    bool, typer.Option(help="Serve (or configure) the flats' locks over the emulated radio.")
]


@scenario_app.command("serve")
def serve(
    family: Family,
    seed: Seed = 1,
    units: Units = None,
    days: Days = None,
    start: Start = None,
    host: Host = "127.0.0.1",
    port: BasePort = 5020,
    time_scale: Annotated[
        float, typer.Option(min=0.001, help="Simulated seconds per wall second.")
    ] = 1.0,
    sim_start: Annotated[
        str | None,
        typer.Option(
            help="Simulated time now, ISO 8601 with offset (default: the first day's midnight)."
        ),
    ] = None,
    sim_anchor: Annotated[
        float | None,
        typer.Option(help="Wall-clock Unix time at which the clock reads --sim-start."),
    ] = None,
    locks: Locks = True,
) -> None:
    """Serve every meter and lift of FAMILY for SEED over Modbus TCP (one converter per floor,
    one in the machine room) and its locks over an emulated Bluetooth radio, until SIGTERM or
    Ctrl-C. Registers and lock logs show what `export` writes for the same moment."""
    scenario = _build(family, seed, units, days, start)
    first_day = scenario.params.start.isoformat()
    try:
        clock = SimClock.from_args(sim_start or first_day, sim_anchor, time_scale)
    except ValueError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err
    try:
        asyncio.run(_serve_until_stopped(scenario, clock, host, port, with_locks=locks))
    except FirmwareSimError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from err


async def _serve_until_stopped(
    scenario: Scenario, clock: SimClock, host: str, base_port: int, *, with_locks: bool
) -> None:
    readings = ScenarioReadings(scenario)
    servers = scenario_servers(scenario, clock, host=host, base_port=base_port, readings=readings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with contextlib.AsyncExitStack() as running:
            for server in servers:
                await server.start()
                running.push_async_callback(server.stop)
            ports = [server.port for server in servers]
            ready = f"READY modbus-tcp {host}:{min(ports)}-{max(ports)}"
            replaying: asyncio.Task[None] | None = None
            if with_locks and any(t.unit.has_lock for t in scenario.timelines):
                radio_port = scenario_radio_port(scenario, base_port)
                served = await running.enter_async_context(
                    serving_locks(
                        scenario,
                        readings,
                        clock,
                        since=clock.start or clock.now(),  # the logs begin with the clock
                        host=host,
                        port=radio_port,
                    )
                )
                ready += f" ble {served.radio.transport_spec}"
                replaying = served.replaying
            print(ready, flush=True)
            stopping = asyncio.create_task(stop.wait(), name="until-stopped")
            watched: set[asyncio.Task[Any]] = {stopping}
            if replaying is not None:
                watched.add(replaying)
            done, _ = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if replaying is not None and replaying in done:
                replaying.result()  # the replay failed: its error ends serving
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


@scenario_app.command("gateway-config")
def gateway_config(
    family: Family,
    out: Annotated[Path, typer.Option(help="The gateway TOML file to write.")],
    seed: Seed = 1,
    units: Units = None,
    days: Days = None,
    start: Start = None,
    host: Host = "127.0.0.1",
    port: BasePort = 5020,
    gateway_id: Annotated[str, typer.Option(help="The gateway's id.")] = "scenario-gw",
    locks: Locks = True,
) -> None:
    """Write the gateway configuration that reads `serve` of the same FAMILY, SEED and --port:
    meters and lifts over Modbus TCP and (unless --no-locks) locks over the served radio."""
    scenario = _build(family, seed, units, days, start)
    text = gateway_config_toml(
        scenario, host=host, base_port=port, gateway_id=gateway_id, locks=locks
    )
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as err:
        typer.echo(f"error: cannot write {out}: {err.strerror or err}", err=True)
        raise typer.Exit(1) from err
    typer.echo(f"wrote {out}: {scenario.params.units} flats", err=True)

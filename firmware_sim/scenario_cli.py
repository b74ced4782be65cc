"""``firmware-sim scenario``: list the scenario families, export one as a building trace.

``scenario_app`` is a Typer sub-app; the ``firmware-sim`` command mounts it as ``scenario``.
``list`` prints one family a line on stdout. ``export`` writes the trace and one summary line
on stderr (``wrote DIR: 12 units over 30 days from 2026-03-01, ...``); a bad argument is one
line on stderr and exit code 2, a directory that cannot be written exit code 1.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from firmware_sim.scenarios import FAMILIES, ScenarioError, build_scenario, parse_start
from firmware_sim.scenarios.trace_writer import export_trace

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
    try:
        scenario = build_scenario(
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

"""The installer's commands, ``gateway scan tcp|rtu|ble`` and ``gateway doctor``: wiring only.

What they do lives in ``gateway.tools.scan``, ``gateway.tools.ble_survey`` and
``gateway.tools.doctor``; this module parses the options, shows progress and prints.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from gateway.ble.transport import Advert, BleError
from gateway.config.devices import BleSection
from gateway.errors import ConfigError
from gateway.modbus.device_profiles import load_profiles
from gateway.tools.doctor import exit_code, run_checks
from gateway.tools.doctor_checks import Verdict
from gateway.tools.scan import (
    FoundDevice,
    ScanError,
    describe_fit,
    parse_ids,
    scan_bus,
    scan_target,
    toml_fragment,
)

# soft_wrap: an error line stays one line, whatever the terminal width, so it can be grepped.
err_console = Console(stderr=True, soft_wrap=True)
ConfigPath = Annotated[Path, typer.Argument(help="The gateway's TOML configuration file.")]

scan_app = typer.Typer(
    help="Find the devices on a Modbus bus, or the locks in radio range, as config to paste.",
    no_args_is_help=True,
)


def doctor(
    config_path: ConfigPath,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of lines.")] = False,
) -> None:
    """Check everything a gateway needs, one line per check (pass, warn or fail, with a hint).
    Exits 1 when a check fails. It only reads; stop the gateway first if it has an RTU line."""
    logging.basicConfig(level="CRITICAL", stream=sys.stderr)
    checks = asyncio.run(run_checks(config_path))
    if as_json:
        typer.echo(json.dumps([check.as_dict() for check in checks], indent=2))
        raise typer.Exit(exit_code(checks))
    console = Console(soft_wrap=True, highlight=False)
    colour = {Verdict.PASS: "green", Verdict.WARN: "yellow", Verdict.FAIL: "red"}
    width = max(len(check.name) for check in checks)
    for check in checks:
        mark = f"[{colour[check.verdict]}]{check.verdict.value}[/]"
        console.print(f"{mark}  {escape(f'{check.name:<{width}}')}  {escape(check.detail)}")
        if check.hint and check.verdict is not Verdict.PASS:
            console.print(f"      {'':<{width}}  hint: {check.hint}", markup=False)
    raise typer.Exit(exit_code(checks))


ScanIds = Annotated[str, typer.Option("--ids", help="Device ids to probe: 1-247, or 11,12,20-29.")]
ScanTimeout = Annotated[
    float, typer.Option("--timeout", min=0.05, max=10.0, help="Seconds to wait for each answer.")
]
ProfileDirs = Annotated[
    list[Path] | None,
    typer.Option("--profile-dir", help="Also identify by the profiles in this directory."),
]


@scan_app.command("tcp")
def scan_tcp(
    where: Annotated[str, typer.Argument(help="The converter's HOST:PORT (port 502 if omitted).")],
    ids: ScanIds = "1-247",
    timeout: ScanTimeout = 0.3,
    profile_dir: ProfileDirs = None,
) -> None:
    """Probe the device ids behind a Modbus TCP converter; identify each meter."""
    _scan("tcp", where, ids, timeout, 9600, "N", 1, profile_dir or [])


@scan_app.command("rtu")
def scan_rtu(
    port: Annotated[str, typer.Argument(help="The serial port, e.g. /dev/ttyUSB0.")],
    baud: Annotated[int, typer.Option("--baud", help="Baud rate of the line.")] = 9600,
    parity: Annotated[str, typer.Option(help="N, E or O.")] = "N",
    stopbits: Annotated[int, typer.Option(help="1 or 2.")] = 1,
    ids: ScanIds = "1-247",
    timeout: ScanTimeout = 0.3,
    profile_dir: ProfileDirs = None,
) -> None:
    """Probe the device ids on an RS485 line on a local serial port; identify each meter."""
    _scan("rtu", port, ids, timeout, baud, parity, stopbits, profile_dir or [])


def _scan(
    kind: str,
    where: str,
    ids_text: str,
    timeout: float,
    baudrate: int,
    parity: str,
    stopbits: int,
    profile_dirs: list[Path],
) -> None:
    try:
        ids = parse_ids(ids_text)
        bus = scan_target(
            kind, where, timeout_s=timeout, baudrate=baudrate, parity=parity, stopbits=stopbits
        )
        profiles = load_profiles(profile_dirs)
    except (ValueError, ValidationError, ConfigError) as err:
        err_console.print(f"[red]cannot scan[/red] {err}", highlight=False)
        raise typer.Exit(2) from err
    logging.basicConfig(level="ERROR", stream=sys.stderr)
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    progress = Progress(
        TextColumn("scanning"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[found]} found"),
        console=err_console,
        transient=True,
    )
    found_so_far: list[FoundDevice] = []

    def advance(_device_id: int, device: FoundDevice | None) -> None:
        if device is not None:
            found_so_far.append(device)
        progress.update(task, advance=1, found=len(found_so_far))

    with progress:
        task = progress.add_task("scan", total=len(ids), found=0)
        try:
            found = asyncio.run(scan_bus(bus, ids, profiles.values(), advance))
        except ScanError as err:
            err_console.print(f"[red]cannot scan[/red] {err}", highlight=False)
            raise typer.Exit(1) from err
    table = Table("id", "device")
    for device in found:
        table.add_row(str(device.device_id), describe_fit(device))
    err_console.print(table)
    err_console.print(f"{len(found)} of {len(ids)} ids answered", highlight=False)
    typer.echo(toml_fragment(bus, found), nl=False)


@scan_app.command("ble")
def scan_ble(
    seconds: Annotated[float, typer.Option(min=1, max=300, help="How long to listen.")] = 10.0,
    adapter: Annotated[str, typer.Option(help="The BlueZ adapter (bleak).")] = "hci0",
    bumble: Annotated[
        str | None,
        typer.Option(help="Use bumble on this transport instead of BlueZ, e.g. usb:0."),
    ] = None,
) -> None:
    """Listen for smart locks nearby; print each one's format, signal and a [[locks]] table."""
    # Bluetooth libraries load only here, as in gateway.ble.lock_radio: the other commands
    # (and a gateway without locks) start without them.
    from gateway.ble.factory import open_ble_transport
    from gateway.tools.ble_survey import listen, locks_fragment, survey

    logging.basicConfig(level="ERROR", stream=sys.stderr)
    section = BleSection.model_validate(
        {"adapter": adapter}
        if bumble is None
        else {"transport": "bumble", "bumble_transport": bumble}
    )

    async def hear() -> list[Advert]:
        async with open_ble_transport(section) as transport:
            return await listen(transport, seconds)

    with err_console.status(f"listening for {seconds:g} s"):
        try:
            adverts = asyncio.run(hear())
        except BleError as err:
            err_console.print(f"[red]cannot listen[/red] {err}", highlight=False)
            raise typer.Exit(1) from err
    result = survey(adverts)
    table = Table("mac", "kind", "adverts", "best RSSI", "product")
    for lock in result.locks:
        rssi = "" if lock.best_rssi is None else f"{lock.best_rssi} dBm"
        table.add_row(lock.mac, lock.kind, str(lock.adverts), rssi, lock.product)
    err_console.print(table)
    err_console.print(
        f"{len(result.locks)} locks heard; {result.other_devices} other devices", highlight=False
    )
    typer.echo(locks_fragment(result), nl=False)

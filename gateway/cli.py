"""``gateway``: the building gateway's command line (run, record, backtest and tools)."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gateway.config.detection import load_detection_config
from gateway.config.gateway_file import GatewayConfig, load_gateway_config
from gateway.errors import ConfigError, GatewayError
from gateway.modbus.device_profiles import load_profiles
from gateway.modbus.read_plans import bind_elevators
from gateway.replay.backtest import run_backtest
from gateway.replay.trace_reader import TraceError, open_trace
from gateway.replay.trace_recorder import TraceRecorder
from gateway.service.daemon import GatewayDaemon, install_stop_signals, record_meters
from gateway.store.gateway_store import GatewayStore
from gateway.tools.commands import doctor, scan_app
from gateway.wire.keys import generate_key_pair
from gateway.wire.provisioning import provision as provision_gateway
from qunzu_common.logging_setup import LogFormat, configure_logging
from simclock import SimClock

app = typer.Typer(
    help=(
        "The building gateway: reads meters, estimates occupancy locally, publishes signed alerts."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# soft_wrap: an error line stays one line, whatever the terminal width, so it can be grepped.
err_console = Console(stderr=True, soft_wrap=True)

app.add_typer(scan_app, name="scan")
app.command()(doctor)

ConfigPath = Annotated[Path, typer.Argument(help="The gateway's TOML configuration file.")]
SimStart = Annotated[
    str | None,
    typer.Option(help="Run on a simulated clock starting at this ISO 8601 time (demo, tests)."),
]
SimAnchor = Annotated[
    float | None,
    typer.Option(help="Wall-clock Unix time at which the simulated clock reads --sim-start."),
]
TimeScale = Annotated[float, typer.Option(help="Simulated seconds per wall second.")]
LogLevel = Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")]
LogFormatOption = Annotated[
    LogFormat,
    typer.Option(help="auto (text on a terminal or journald, else JSON lines), text or json."),
]


def _load(config_path: Path) -> GatewayConfig:
    try:
        config = load_gateway_config(config_path)
        profiles = load_profiles(config.profile_dirs)
    except ConfigError as err:
        err_console.print(f"[red]invalid configuration[/red] {err}", highlight=False)
        raise typer.Exit(2) from err
    for i, unit in enumerate(config.units):
        for j, meter in enumerate(unit.meters):
            if meter.profile not in profiles:
                err_console.print(
                    f"[red]invalid configuration[/red] {config_path.name}: units[{i}].meters[{j}]"
                    f".profile: no device profile named {meter.profile!r}"
                    f" (known: {', '.join(sorted(profiles))})",
                    highlight=False,
                )
                raise typer.Exit(2)
    try:
        bind_elevators(config.elevators, profiles)
    except ConfigError as err:
        err_console.print(
            f"[red]invalid configuration[/red] {config_path.name}: {err}", highlight=False
        )
        raise typer.Exit(2) from err
    return config


@app.command()
def run(
    config_path: ConfigPath,
    sim_start: SimStart = None,
    sim_anchor: SimAnchor = None,
    time_scale: TimeScale = 1.0,
    log_level: LogLevel = "INFO",
    log_format: LogFormatOption = "auto",
    record: Annotated[
        Path | None, typer.Option(help="Also record every meter reading as a trace here.")
    ] = None,
) -> None:
    """Run the gateway daemon until SIGTERM or Ctrl-C."""
    _setup_logging(log_level, log_format)
    config = _load(config_path)
    try:
        clock = SimClock.from_args(sim_start, sim_anchor, time_scale)
        recorder = None if record is None else _recorder(record, config)
        daemon = GatewayDaemon(config, clock, recorder)
    except (ValueError, GatewayError) as err:
        err_console.print(f"[red]cannot start[/red] {err}", highlight=False)
        raise typer.Exit(2) from err

    async def main() -> None:
        stop = asyncio.Event()
        install_stop_signals(stop)
        await daemon.run(stop)

    try:
        asyncio.run(main())
    except GatewayError as err:  # e.g. the [metrics] port is taken
        err_console.print(f"[red]cannot start[/red] {err}", highlight=False)
        raise typer.Exit(2) from err


@app.command("record")
def record_command(
    config_path: ConfigPath,
    out: Annotated[Path, typer.Option(help="Trace directory to write (appended to if it exists).")],
    sim_start: SimStart = None,
    sim_anchor: SimAnchor = None,
    time_scale: TimeScale = 1.0,
    log_level: LogLevel = "INFO",
    log_format: LogFormatOption = "auto",
) -> None:
    """Record the building's meters as a trace, without raising or sending alerts (no key or
    broker needed). Replay it later with `gateway backtest`. Stops on SIGTERM or Ctrl-C."""
    _setup_logging(log_level, log_format)
    config = _load(config_path)
    try:
        clock = SimClock.from_args(sim_start, sim_anchor, time_scale)
        recorder = _recorder(out, config)
    except (ValueError, GatewayError) as err:
        err_console.print(f"[red]cannot start[/red] {err}", highlight=False)
        raise typer.Exit(2) from err

    async def main() -> None:
        stop = asyncio.Event()
        install_stop_signals(stop)
        await record_meters(config, clock, recorder, stop)

    asyncio.run(main())


def _recorder(directory: Path, config: GatewayConfig) -> TraceRecorder:
    # Hold rows back for one polling round, so concurrently polled buses write in time order.
    return TraceRecorder(directory, config, timedelta(seconds=config.polling.interval_s))


def _setup_logging(level: str, log_format: LogFormat = "auto") -> None:
    configure_logging(level, log_format)
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)  # failures are reported by us


@app.command("check-config")
def check_config(config_path: ConfigPath) -> None:
    """Validate a configuration file (and the device profiles it names); print OK or the errors."""
    config = _load(config_path)
    meters = sum(len(u.meters) for u in config.units)
    typer.echo(
        f"OK: gateway {config.gateway.id}, {len(config.units)} units, {meters} meters,"
        f" {len(config.elevators)} lifts,"
        f" {len(config.modbus_tcp)} Modbus TCP and {len(config.modbus_rtu)} Modbus RTU buses"
    )


@app.command()
def keygen(
    gateway_id: Annotated[str, typer.Option("--id", help="The gateway id the key is for.")],
    out_dir: Annotated[Path, typer.Option(help="Directory for the key files.")] = Path("keys"),
) -> None:
    """Create an Ed25519 key pair: <id>.key.pem (keep on the gateway) and <id>.pub.pem (give to
    the cloud bridge)."""
    private = out_dir / f"{gateway_id}.key.pem"
    public = out_dir / f"{gateway_id}.pub.pem"
    try:
        kid = generate_key_pair(private, public)
    except ConfigError as err:
        err_console.print(f"[red]error[/red] {err}", highlight=False)
        raise typer.Exit(2) from err
    typer.echo(f"wrote {private} and {public}; key id {kid}")


@app.command()
def provision(
    gateway_id: Annotated[str, typer.Option("--id", help="The gateway id (unique in the city).")],
    out_dir: Annotated[Path, typer.Option("--dir", help="Where the keys go.")] = Path("keys"),
    force: Annotated[
        bool, typer.Option("--force", help="Make a new identity even if one exists.")
    ] = False,
) -> None:
    """Make this gateway's identity: its signing key, TLS key and certificate request (private
    keys mode 600), and say what to hand to the operator."""
    try:
        made = provision_gateway(gateway_id, out_dir, force=force)
    except ConfigError as err:
        err_console.print(f"[red]error[/red] {err}", highlight=False)
        raise typer.Exit(2) from err
    typer.echo(f"signing key {made.signing_key} (key id {made.key_id}) and TLS key {made.tls_key}")
    typer.echo(f"hand to the operator: {made.public_key} and {made.csr}")
    typer.echo(
        "in gateway.toml: [gateway] key_file, and once the certificate is back,"
        f" [mqtt] tls_key_file = {str(made.tls_key)!r}, tls_cert_file, tls_ca_file"
    )


@app.command()
def outbox(
    config_path: ConfigPath,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Show the signed messages in the outbox and what the cloud answered."""
    config = _load(config_path)
    store = GatewayStore(config.gateway.store_path)
    rows = store.outbox.rows()
    store.close()
    for row in rows:
        row.pop("token", None)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("seq", "alert", "unit", "kind", "rev", "sent", "answer")
    for row in rows:
        table.add_row(
            f"{row['boot_epoch']}/{row['counter']}",
            row["alert_id"],
            row["unit_id"],
            row["kind"],
            str(row["revision"]),
            str(row["sent_count"]),
            row["ack_status"] or "waiting",
        )
    Console().print(table)


@app.command()
def backtest(
    trace_dir: Annotated[Path, typer.Argument(help="A trace directory (format v1).")],
    out: Annotated[Path, typer.Option(help="Where to write the alerts, one JSON per line.")],
    config_path: Annotated[
        Path | None,
        typer.Option(
            "--config",
            # Brackets escaped: Typer's help is Rich markup, where [rules] would vanish.
            help="TOML with \\[rules], \\[norms], \\[decision], \\[limits], \\[polling]"
            " (a gateway.toml works: other sections are ignored). Defaults when omitted.",
        ),
    ] = None,
    lenient: Annotated[
        bool, typer.Option(help="Skip malformed rows (and count them) instead of stopping.")
    ] = False,
    gateway_id: Annotated[
        str, typer.Option(help="Gateway id written into the alert bodies.")
    ] = "backtest",
) -> None:
    """Replay a recorded or simulated building through the live detector; write its alerts."""
    try:
        trace = open_trace(trace_dir, lenient=lenient)
        detection = load_detection_config(config_path, trace.meta.rules)
        partial = out.with_name(out.name + ".partial")
        with partial.open("w", encoding="utf-8") as sink:
            report = run_backtest(trace, detection, gateway_id, sink)
        partial.replace(out)
    except (TraceError, ConfigError) as err:
        err_console.print(f"[red]cannot replay[/red] {err}", highlight=False)
        raise typer.Exit(2) from err
    by_kind = ", ".join(f"{n} {k}" for k, n in sorted(report.alerts_by_kind.items())) or "none"
    skipped = ", ".join(f"{n} in {name}" for name, n in sorted(report.skipped.items()))
    err_console.print(
        f"replayed {report.units} units, {report.days} days ({report.first_day} to"
        f" {report.last_day}), {report.meter_rows} meter readings in {report.seconds:.1f} s;"
        f" alerts: {by_kind}" + (f"; skipped rows: {skipped}" if skipped else ""),
        highlight=False,
    )

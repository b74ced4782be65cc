"""``cloud-bridge``: the cloud bridge's command line (run, check-config, tickets, db, ca; users,
tokens, gateways and audit in :mod:`cloud_bridge.accounts_cli`)."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cloud_bridge import accounts_cli
from cloud_bridge.auth import mqtt_ca
from cloud_bridge.config import BridgeConfig, load_bridge_config
from cloud_bridge.errors import BridgeError, ConfigError
from cloud_bridge.ingest.ack_signing import generate_ack_key
from cloud_bridge.service import install_stop_signals, run_bridge
from cloud_bridge.store.tickets_db import TicketsDB
from qunzu_common.logging_setup import LogFormat, configure_logging
from simclock import SimClock

app = typer.Typer(
    help="The cloud bridge: verifies building alerts, keeps the tickets, serves the API and UI.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(
    help="The tickets database's schema: which revision it is at, and upgrading it.",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")

ca_app = typer.Typer(
    help="The MQTT broker's certificate authority: a CA, the broker's and every client's cert.",
    no_args_is_help=True,
)
app.add_typer(ca_app, name="ca")
app.add_typer(accounts_cli.users_app, name="users")
app.add_typer(accounts_cli.tokens_app, name="tokens")
app.add_typer(accounts_cli.gateways_app, name="gateways")
app.command("audit")(accounts_cli.audit)
# soft_wrap: an error line stays one line, whatever the terminal width, so it can be grepped.
err_console = Console(stderr=True, soft_wrap=True, highlight=False)

ConfigPath = Annotated[Path, typer.Argument(help="The bridge's TOML configuration file.")]
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


def _load(config_path: Path) -> BridgeConfig:
    try:
        return load_bridge_config(config_path)
    except ConfigError as err:
        for line in str(err).splitlines():
            err_console.print(f"[red]invalid configuration[/red] {line}", markup=True)
        raise typer.Exit(2) from err


def _fail(what: str, err: Exception) -> typer.Exit:
    err_console.print(f"[red]{what}[/red] {err}")
    return typer.Exit(2)


@app.command()
def run(
    config_path: ConfigPath,
    sim_start: SimStart = None,
    sim_anchor: SimAnchor = None,
    time_scale: TimeScale = 1.0,
    log_level: LogLevel = "INFO",
    log_format: LogFormatOption = "auto",
) -> None:
    """Run the bridge (MQTT ingest, tickets, HTTP API and web UI) until SIGTERM or Ctrl-C."""
    config = _load(config_path)
    try:
        _setup_logging(log_level, log_format)
        clock = SimClock.from_args(sim_start, sim_anchor, time_scale)
    except ValueError as err:
        raise _fail("cannot start", err) from err

    async def main() -> None:
        stop = asyncio.Event()
        install_stop_signals(stop)
        await run_bridge(config, clock, stop)

    try:
        asyncio.run(main())
    except BridgeError as err:
        raise _fail("cannot start", err) from err


@app.command("check-config")
def check_config(config_path: ConfigPath) -> None:
    """Validate a configuration file and the public keys it names; print OK or the errors."""
    config = _load(config_path)
    keys = sum(len(g.keys) for g in config.registry.values())
    typer.echo(
        f"OK: bridge {config.bridge.instance}; street offices: {len(config.street_offices)};"
        f" gateways: {len(config.gateways)} ({keys} public keys);"
        f" database {config.safe_database_url()}"
    )


@app.command()
def tickets(
    config_path: ConfigPath,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    open_only: Annotated[bool, typer.Option("--open", help="Only open tickets.")] = False,
) -> None:
    """Show the tickets in the bridge's database."""
    config = _load(config_path)
    db = TicketsDB(config.bridge.database_url, actor=config.bridge.instance)
    try:
        db.migrate()
        rows = db.list_tickets(open_only=open_only)
    except BridgeError as err:
        raise _fail("cannot read tickets", err) from err
    finally:
        db.close()
    if as_json:
        typer.echo(json.dumps([t.as_json() for t in rows], indent=2, ensure_ascii=False))
        return
    if not rows:
        typer.echo("no tickets")
        return
    table = Table("#", "state", "unit", "kind", "gateway", "street office", "estimate", "cap")
    for t in rows:
        table.add_row(
            str(t.id),
            t.state,
            t.unit_id,
            t.kind,
            t.gateway_id,
            config.office_name(t.street_office),
            f"{t.estimate_point:g} ({t.estimate_low:g}-{t.estimate_high:g})",
            str(t.legal_cap),
        )
    Console().print(table)


@db_app.command("upgrade")
def db_upgrade(config_path: ConfigPath) -> None:
    """Bring the tickets database to the newest schema revision (what `run` does at start).
    Back the database up first."""
    config = _load(config_path)
    db = TicketsDB(config.bridge.database_url, actor=config.bridge.instance)
    try:
        result = db.migrate()
    except BridgeError as err:
        raise _fail("cannot upgrade", err) from err
    finally:
        db.close()
    typer.echo(f"tickets database {db.safe_url}: {result.describe()}")


@db_app.command("current")
def db_current(config_path: ConfigPath) -> None:
    """Show the tickets database's schema revision and whether an upgrade is due (changes
    nothing)."""
    config = _load(config_path)
    db = TicketsDB(config.bridge.database_url, actor=config.bridge.instance)
    try:
        state = db.schema_state()
    except BridgeError as err:
        raise _fail("cannot read", err) from err
    finally:
        db.close()
    typer.echo(f"tickets database {db.safe_url}: {state.describe()}")


@app.command("ack-keygen")
def ack_keygen(
    private_key: Annotated[Path, typer.Argument(help="Where to write the private key (PEM).")],
    public_key: Annotated[Path, typer.Argument(help="Where to write the public key (PEM).")],
) -> None:
    """Create the key pair the bridge signs acks with ([bridge] ack_key_file); hand the public
    key to every gateway ([mqtt] bridge_public_key_files)."""
    try:
        kid = generate_ack_key(private_key, public_key)
    except ConfigError as err:
        raise _fail("cannot create the key", err) from err
    typer.echo(f"ack signing key {private_key} (mode 600), public key {public_key}, kid {kid}")


CaDir = Annotated[Path, typer.Argument(help="The CA's directory (ca.key.pem, ca.crt.pem).")]


@ca_app.command("init")
def ca_init(directory: CaDir) -> None:
    """Create a CA (EC P-256, ten years) in DIRECTORY; its key is readable by you only."""
    try:
        cert = mqtt_ca.init_ca(directory)
    except mqtt_ca.CAError as err:
        raise _fail("cannot create the CA", err) from err
    typer.echo(f"CA certificate {cert}; give it to the broker (cafile) and to every client")


@ca_app.command("issue")
def ca_issue(
    directory: CaDir,
    name: Annotated[
        str, typer.Option(help="CN: the gateway id, cloud-bridge-<n>, or the broker's name.")
    ],
    server: Annotated[
        bool, typer.Option("--server", help="A broker certificate (serverAuth, SAN).")
    ] = False,
    host: Annotated[
        list[str] | None,
        typer.Option(help="Extra SAN entry of a --server cert (localhost, 127.0.0.1 are in)."),
    ] = None,
    csr: Annotated[
        Path | None, typer.Option(help="Sign this PEM CSR; the key stays with its owner.")
    ] = None,
) -> None:
    """Issue a certificate signed by the CA in DIRECTORY: NAME.crt.pem (and NAME.key.pem)."""
    try:
        csr_pem = csr.read_bytes() if csr is not None else None
        issued = mqtt_ca.issue(
            directory, name, server=server, hosts=tuple(host or ()), csr_pem=csr_pem
        )
    except OSError as err:
        raise _fail("cannot read the CSR", err) from err
    except mqtt_ca.CAError as err:
        raise _fail("cannot issue", err) from err
    typer.echo(f"certificate {issued.cert_file}")
    if issued.key_file is not None:
        typer.echo(f"private key {issued.key_file} (mode 600; move it to its host, keep it there)")


def _setup_logging(level: str, log_format: LogFormat = "auto") -> None:
    if level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError(f"--log-level: must be DEBUG, INFO, WARNING or ERROR, not {level!r}")
    configure_logging(level, log_format)
    if level.upper() != "DEBUG":
        # Alembic narrates every start at INFO; the bridge logs one line when it migrates.
        logging.getLogger("alembic").setLevel(logging.WARNING)

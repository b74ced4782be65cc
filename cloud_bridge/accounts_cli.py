"""``cloud-bridge users | tokens | gateways | audit``: accounts, API tokens and the gateway
registry, from the command line of the bridge's host.

There is no default account and no default password: the first admin is created here
(``users add CONFIG --name N --role admin``). A password is read from a hidden prompt (asked
twice) or, with ``--password-stdin``, from the first line of standard input; never from the
command line, where other users of the host could read it. An API token is printed once, by
``tokens create``; the database keeps only its SHA-256. Every change is recorded in the audit
log as ``cli:<user of the host>``.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cloud_bridge.auth.audit import read_audit
from cloud_bridge.auth.gateways_db import parse_public_key
from cloud_bridge.auth.stores import accounts_store, gateways_store
from cloud_bridge.cases.roles import Role
from cloud_bridge.config import BridgeConfig, load_bridge_config
from cloud_bridge.errors import BridgeError, ConfigError
from cloud_bridge.store.engine import transaction
from cloud_bridge.store.tickets_db import TicketsDB

users_app = typer.Typer(help="Accounts of the HTTP API and web UI.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens for city platforms.", no_args_is_help=True)
gateways_app = typer.Typer(
    help="The gateway registry: gateways and their public keys.", no_args_is_help=True
)
err_console = Console(stderr=True, soft_wrap=True, highlight=False)

ConfigPath = Annotated[Path, typer.Argument(help="The bridge's TOML configuration file.")]
GatewayId = Annotated[str, typer.Argument(help="The gateway's id.")]
PublicKey = Annotated[Path, typer.Option("--public-key", help="The gateway's public key (PEM).")]


def _who() -> str:
    return f"cli:{getpass.getuser()}"


def _now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def _database(config_path: Path) -> Iterator[tuple[BridgeConfig, TicketsDB]]:
    try:
        config = load_bridge_config(config_path)
    except ConfigError as err:
        for line in str(err).splitlines():
            err_console.print(f"[red]invalid configuration[/red] {line}", markup=True)
        raise typer.Exit(2) from err
    db = TicketsDB(config.bridge.database_url, actor=config.bridge.instance)
    try:
        db.migrate()
        yield config, db
    except BridgeError as err:
        err_console.print(f"[red]refused[/red] {err}", markup=True)
        raise typer.Exit(2) from err
    finally:
        db.close()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    return password


# -- users -------------------------------------------------------------------------------------


@users_app.command("add")
def users_add(
    config_path: ConfigPath,
    name: Annotated[str, typer.Option(help="The account's name (shown in ticket histories).")],
    role: Annotated[Role, typer.Option(help="admin, dispatcher, inspector or api_client.")],
    street_office: Annotated[str | None, typer.Option(help="Scope: this street office.")] = None,
    district: Annotated[str | None, typer.Option(help="Scope: this district's offices.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create an account. An admin without a scope is city-wide; every other role needs
    --street-office or --district. An api_client has no password (it uses tokens)."""
    password = None if role is Role.API_CLIENT else _read_password(password_stdin)
    with _database(config_path) as (config, db):
        info = accounts_store(config, db).add_account(
            name,
            role,
            password=password,
            street_office=street_office,
            district=district,
            district_of=config.district_of,
            by=_who(),
            now=_now(),
        )
    typer.echo(f"account {info.name}: {info.role}, {info.scope}")


@users_app.command("list")
def users_list(config_path: ConfigPath) -> None:
    """Every account, its role, scope and state."""
    with _database(config_path) as (config, db):
        found = accounts_store(config, db).list_accounts()
    table = Table("name", "role", "scope", "state", "created")
    for a in found:
        state = "disabled" if a.disabled else "active"
        table.add_row(a.name, str(a.role), str(a.scope), state, f"{a.created_at:%Y-%m-%d}")
    Console().print(table)


@users_app.command("disable")
def users_disable(
    config_path: ConfigPath, name: Annotated[str, typer.Argument(help="The account.")]
) -> None:
    """Disable an account: its sessions end at once, its tokens stop working."""
    with _database(config_path) as (config, db):
        accounts_store(config, db).disable_account(name, by=_who(), now=_now())
    typer.echo(f"account {name}: disabled")


# -- tokens ------------------------------------------------------------------------------------


@tokens_app.command("create")
def tokens_create(
    config_path: ConfigPath,
    account: Annotated[str, typer.Option(help="The account the token acts as.")],
    label: Annotated[str, typer.Option(help="What it is for, e.g. the platform's name.")],
) -> None:
    """Create an API token and print it once (only its SHA-256 is stored)."""
    with _database(config_path) as (config, db):
        token = accounts_store(config, db).create_token(account, label, by=_who(), now=_now())
    typer.echo(token)
    err_console.print("store it now: it is shown only once")


@tokens_app.command("list")
def tokens_list(config_path: ConfigPath) -> None:
    """Every token by prefix (never the token itself)."""
    with _database(config_path) as (config, db):
        found = accounts_store(config, db).list_tokens()
    table = Table("prefix", "account", "label", "created", "last used", "state")
    for t in found:
        used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
        state = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "active"
        table.add_row(
            f"qzw_{t.prefix}", t.account, t.label, f"{t.created_at:%Y-%m-%d}", used, state
        )
    Console().print(table)


@tokens_app.command("revoke")
def tokens_revoke(
    config_path: ConfigPath,
    prefix: Annotated[str, typer.Argument(help="The token's prefix (qzw_xxxxxxxx).")],
) -> None:
    """Revoke a token: refused from its next request on."""
    with _database(config_path) as (config, db):
        accounts_store(config, db).revoke_token(prefix, by=_who(), now=_now())
    typer.echo(f"token {prefix}: revoked")


# -- gateways ----------------------------------------------------------------------------------


def _key(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        err_console.print(f"[red]cannot read[/red] {path}: {err.strerror}", markup=True)
        raise typer.Exit(2) from err


@gateways_app.command("add")
def gateways_add(
    config_path: ConfigPath,
    gateway_id: GatewayId,
    public_key: PublicKey,
    street_office: Annotated[str, typer.Option(help="The office its tickets go to.")],
    address: Annotated[str | None, typer.Option(help="The building's address.")] = None,
) -> None:
    """Register a gateway and its public key."""
    pem = _key(public_key)
    with _database(config_path) as (config, db):
        key = parse_public_key(pem, str(public_key))
        gateways_store(db).add(
            gateway_id,
            street_office,
            key,
            address=address,
            offices=config.district_of.keys(),
            by=_who(),
            now=_now(),
        )
    typer.echo(f"gateway {gateway_id}: key {key.thumbprint()}")


@gateways_app.command("rotate")
def gateways_rotate(
    config_path: ConfigPath,
    gateway_id: GatewayId,
    public_key: PublicKey,
    old_valid_until: Annotated[
        datetime, typer.Option(help="Until when the current key(s) still verify (ISO 8601, UTC).")
    ],
) -> None:
    """Add a new key; the current keys verify until --old-valid-until (the overlap)."""
    until = old_valid_until if old_valid_until.tzinfo else old_valid_until.replace(tzinfo=UTC)
    pem = _key(public_key)
    with _database(config_path) as (_config, db):
        key = parse_public_key(pem, str(public_key))
        gateways_store(db).rotate(gateway_id, key, old_valid_until=until, by=_who(), now=_now())
    typer.echo(f"gateway {gateway_id}: new key {key.thumbprint()}; old keys until {until}")


@gateways_app.command("revoke")
def gateways_revoke(
    config_path: ConfigPath,
    gateway_id: GatewayId,
    kid: Annotated[str | None, typer.Option(help="Only this key (default: every key).")] = None,
) -> None:
    """Revoke a key (or all of a gateway's keys) now; running bridges refuse it within
    [auth] gateway_registry_cache_s, without a restart."""
    with _database(config_path) as (_config, db):
        gateways_store(db).revoke(gateway_id, kid=kid, by=_who(), now=_now())
    typer.echo(f"gateway {gateway_id}: {'key ' + kid if kid else 'every key'} revoked")


@gateways_app.command("list")
def gateways_list(config_path: ConfigPath) -> None:
    """Every gateway and its keys with their validity."""
    with _database(config_path) as (_config, db):
        found = gateways_store(db).list_gateways()
    now = _now()
    table = Table("gateway", "street office", "key id", "from", "until", "state")
    for g in found:
        for k in g.keys or ():
            until = f"{k.not_after:%Y-%m-%d %H:%M}" if k.not_after else "-"
            state = "revoked" if k.revoked_at else ("valid" if k.valid_at(now) else "expired")
            table.add_row(g.id, g.street_office, k.kid, f"{k.not_before:%Y-%m-%d}", until, state)
    Console().print(table)


def audit(
    config_path: ConfigPath,
    subject: Annotated[
        str | None, typer.Option(help="Only this subject, e.g. gateway:gw-1, account:wang.")
    ] = None,
) -> None:
    """The audit log: who changed which account, token or gateway, when, before and after."""
    with (
        _database(config_path) as (_config, db),
        transaction(db.engine, write=False, database=db.safe_url) as conn,
    ):
        entries = read_audit(conn, subject)
    for e in entries:
        typer.echo(f"{e.at:%Y-%m-%d %H:%M:%S} {e.actor} {e.action} {e.subject}")
        typer.echo(f"  before: {e.before}\n  after:  {e.after}")

"""``cloud-bridge users | tokens | gateways | audit`` against a real database (SQLite and
PostgreSQL): the first admin from a prompt or stdin (never argv), tokens shown once, gateways
added, rotated and revoked with the audit log telling who did it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cloud_bridge.cli import app
from cloud_bridge.store.tickets_db import TicketsDB
from tests.cloud_bridge.signed_alerts import FakeGateway, make_gateway, write_bridge_config

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def config(tmp_path: Path, gateway: FakeGateway, db_url: str) -> str:
    return str(write_bridge_config(tmp_path, [gateway], database_url=db_url, name="cli.toml"))


def run(*args: str, stdin: str | None = None) -> str:
    result = CliRunner().invoke(app, list(args), input=stdin)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


def test_users_and_tokens(config: str, db: TicketsDB) -> None:
    added = run("users", "add", config, "--name", "chen", "--role", "admin", "--password-stdin",
                stdin="a long admin password\n")  # fmt: skip
    assert added.strip() == "account chen: admin, city-wide"
    prompted = run("users", "add", config, "--name", "wang", "--role", "inspector",
                   "--street-office", "linfen-road",
                   stdin="an inspector password\nan inspector password\n")  # fmt: skip
    assert "inspector, office linfen-road" in prompted
    # No way to pass a password on the command line.
    refused = CliRunner().invoke(
        app, ["users", "add", config, "--name", "x", "--role", "admin", "--password", "pw"]
    )
    assert refused.exit_code == 2
    short = CliRunner().invoke(
        app, ["users", "add", config, "--name", "y", "--role", "admin", "--password-stdin"],
        input="short\n",
    )  # fmt: skip
    assert short.exit_code == 2 and "at least 12 characters" in short.stderr
    scopeless = CliRunner().invoke(
        app, ["users", "add", config, "--name", "z", "--role", "dispatcher", "--password-stdin"],
        input="a long enough password\n",
    )  # fmt: skip
    assert scopeless.exit_code == 2 and "needs a street office or a district" in scopeless.stderr

    run("users", "add", config, "--name", "city", "--role", "api_client", "--street-office",
        "pengpu")  # fmt: skip
    token = run("tokens", "create", config, "--account", "city", "--label", "platform").strip()
    assert token.startswith("qzw_")
    listed = run("tokens", "list", config)
    prefix = token.split("_")[1]
    assert f"qzw_{prefix}" in listed and token not in listed
    run("tokens", "revoke", config, f"qzw_{prefix}")
    assert "revoked" in run("tokens", "list", config)
    run("users", "disable", config, "wang")
    users = run("users", "list", config)
    assert "disabled" in users and "chen" in users
    audit = run("audit", config)
    assert "account.add account:chen" in audit and "token.revoke" in audit


def test_gateways_add_rotate_revoke_list(config: str, tmp_path: Path, db: TicketsDB) -> None:
    other = make_gateway(tmp_path / "other", "gw-2")
    run("gateways", "add", config, "gw-2", "--public-key", str(other.public_key),
        "--street-office", "pengpu")  # fmt: skip
    listed = run("gateways", "list", config)
    assert "gw-2" in listed and "valid" in listed
    newer = make_gateway(tmp_path / "newer", "gw-2")
    run("gateways", "rotate", config, "gw-2", "--public-key", str(newer.public_key),
        "--old-valid-until", "2099-01-01T00:00:00")  # fmt: skip
    run("gateways", "revoke", config, "gw-2", "--kid", other.kid)
    audit = run("audit", config, "--subject", "gateway:gw-2")
    assert [line.split()[3] for line in audit.splitlines() if not line.startswith(" ")] == [
        "gateway.add",
        "gateway.rotate",
        "gateway.revoke",
    ]
    private = CliRunner().invoke(
        app, ["gateways", "add", config, "gw-3", "--public-key", str(other.private_key),
              "--street-office", "pengpu"],
    )  # fmt: skip
    assert private.exit_code == 2 and "private key" in private.stderr

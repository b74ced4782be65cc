"""``cloud-bridge check-config`` and ``cloud-bridge tickets``: clean answers, exit code 2 and
one line per problem on a broken file, never a traceback."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cloud_bridge.cli import app
from cloud_bridge.config import load_bridge_config
from cloud_bridge.ingest.verification import VerificationLimits, VerifiedAlert, verify_alert
from cloud_bridge.store.tickets_db import TicketsDB
from tests.cloud_bridge.signed_alerts import NOW, FakeGateway, write_bridge_config

runner = CliRunner()


def test_check_config_ok(tmp_path: Path, gateway: FakeGateway) -> None:
    config = write_bridge_config(
        tmp_path, [gateway], database_url="postgresql://bridge:s3cret@db/tickets"
    )
    result = runner.invoke(app, ["check-config", str(config)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("OK: bridge bridge-1; street offices: 2; gateways: 1")
    assert "s3cret" not in result.stdout


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (
            '[mqtt]\nport = "x"\n[[street_offices]]\nid = "a"\nname = "A"\n',
            "invalid configuration bridge.toml: mqtt.port: Input should be a valid integer",
        ),
        ("[[street_offices]\n", "invalid configuration bridge.toml: not valid TOML"),
    ],
)
def test_check_config_refuses_with_one_line_and_exit_2(
    tmp_path: Path, text: str, line: str
) -> None:
    (tmp_path / "bridge.toml").write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["check-config", str(tmp_path / "bridge.toml")])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(line)
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_missing_key_is_named_on_stderr(tmp_path: Path, gateway: FakeGateway) -> None:
    config = write_bridge_config(tmp_path, [gateway])
    gateway.public_key.unlink()
    for command in (["check-config"], ["run"], ["tickets"]):
        result = runner.invoke(app, [*command, str(config)])
        assert result.exit_code == 2
        assert "gateways[0].public_key_files[0]" in result.stderr
        assert "not found" in result.stderr


def test_run_refuses_a_bad_clock(tmp_path: Path, gateway: FakeGateway) -> None:
    config = write_bridge_config(tmp_path, [gateway])
    result = runner.invoke(app, ["run", str(config), "--time-scale", "60"])
    assert result.exit_code == 2
    assert "--time-scale needs --sim-start" in result.stderr


def test_tickets_as_json_and_as_a_table(tmp_path: Path, gateway: FakeGateway) -> None:
    path = write_bridge_config(tmp_path, [gateway])
    config = load_bridge_config(path)
    db = TicketsDB(config.bridge.database_url)
    db.migrate()
    verdict = verify_alert(
        gateway.topic, gateway.sign(), config.registry, NOW, VerificationLimits()
    )
    assert isinstance(verdict, VerifiedAlert)
    db.record_alert(verdict, "linfen-road", datetime(2026, 3, 4, tzinfo=UTC))
    db.close()

    as_json = runner.invoke(app, ["tickets", str(path), "--json"])
    assert as_json.exit_code == 0, as_json.output
    (ticket,) = json.loads(as_json.stdout)
    assert (ticket["id"], ticket["unit_id"], ticket["state"]) == (1, "0302", "dispatched")
    assert ticket["estimated_occupancy"]["point"] == 9.1
    assert ticket["created_at"] == "2026-03-04T00:00:00+00:00"

    table = runner.invoke(app, ["tickets", str(path)], env={"COLUMNS": "200"})
    assert table.exit_code == 0
    assert "0302" in table.stdout and "Linfen Road Street Office" in table.stdout

"""``firmware-sim scenario list`` and ``export`` as a user runs them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from firmware_sim.scenario_cli import scenario_app
from firmware_sim.scenarios import FAMILIES

pytestmark = pytest.mark.timeout(60)
runner = CliRunner()


def test_list_prints_every_family_with_a_description() -> None:
    result = runner.invoke(scenario_app, ["list"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == list(FAMILIES)
    for line, family in zip(lines, FAMILIES.values(), strict=True):
        assert family.summary in line
    assert {"mixed_city", "confounder_heavy", "hidden_rentals", "small_demo"} <= set(FAMILIES)


def test_export_writes_a_trace_and_says_so(tmp_path: Path) -> None:
    out = tmp_path / "trace"
    result = runner.invoke(
        scenario_app,
        ["export", "small_demo", "--seed", "5", "--out", str(out), "--days", "4"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    assert "12 units over 4 days from 2026-03-01" in result.stderr
    names = {"units.csv", "meters.csv", "locks.csv", "elevators.csv", "trace.toml", "truth.csv"}
    assert names <= {p.name for p in out.iterdir()}


def test_export_takes_a_start_units_and_interval(tmp_path: Path) -> None:
    result = runner.invoke(
        scenario_app,
        [
            "export",
            "mixed_city",
            "--seed",
            "2",
            "--out",
            str(tmp_path),
            "--units",
            "10",
            "--days",
            "2",
            "--start",
            "2026-07-01T00:00:00+08:00",
            "--interval-min",
            "30",
        ],
    )
    assert result.exit_code == 0, result.stderr
    first = (tmp_path / "meters.csv").read_text(encoding="utf-8").splitlines()[1]
    assert first.startswith("2026-07-01T00:00:00+08:00,")
    assert len((tmp_path / "units.csv").read_text(encoding="utf-8").splitlines()) == 11


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export", "castle"], "unknown family 'castle'"),
        (["export", "small_demo", "--start", "2026-03-01T00:00:00"], "has no UTC offset"),
        (["export", "small_demo", "--start", "2026-03-01T08:00:00+08:00"], "local midnight"),
        (["export", "small_demo", "--start", "March"], "not an ISO 8601"),
        (["export", "small_demo", "--interval-min", "7"], "must divide a day"),
        (["export", "small_demo", "--units", "1"], "units: must be between"),
        (["export", "small_demo", "--days", "0"], "days: must be between"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_code_2(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(scenario_app, [*args, "--out", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()

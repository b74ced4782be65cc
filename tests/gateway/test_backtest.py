"""Trace reader and backtest: clear errors naming file, line and column; a replay that raises
exactly the alerts the live day closer raises for the same readings."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from gateway.config.detection import load_detection_config
from gateway.config.gateway_file import load_gateway_config
from gateway.errors import ConfigError
from gateway.observations import MeterSample
from gateway.replay.backtest import run_backtest
from gateway.replay.trace_reader import TraceError, open_trace
from gateway.service.day_closer import DayCloser
from gateway.store.gateway_store import GatewayStore
from gateway.wire.contract import contract_errors
from gateway.wire.keys import generate_key_pair, load_signing_key
from gateway.wire.signer import EnvelopeSigner

CST = timezone(timedelta(hours=8))
START = datetime(2026, 3, 1, tzinfo=CST)

# unit -> (floor, area, rooms, people before, people after, from day)
UNITS = {
    "0101": (1, 44.0, 1, 2, 2, None),
    "0102": (1, 90.0, 3, 5, 5, None),  # a large legal family
    "0201": (2, 44.0, 1, 2, 9, 8),  # becomes a group rental on day 8
    "0202": (2, 60.0, 2, 3, 3, None),
}


def people(unit: str, day: int) -> int:
    _, _, _, before, after, from_day = UNITS[unit]
    return after if from_day is not None and day >= from_day else before


def write_trace(directory: Path, days: int = 16, step_min: int = 60) -> Path:
    """Hourly totals at the per-capita norms: 0.12 m3 water a day, drawn between 07:00 and
    23:00 (a flat at rest at night), and 2 + 1.5 kWh electricity a day, spread evenly."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "units.csv").write_text(
        "unit_id,floor,area_m2,rooms,registered_occupants\n"
        + "".join(f"{u},{f},{a},{r},{b}\n" for u, (f, a, r, b, _, _) in UNITS.items()),
        encoding="utf-8",
    )
    totals = {u: {"water_m3": 100.0, "electricity_kwh": 2000.0} for u in UNITS}
    lines = ["ts,unit_id,kind,total\n"]
    steps = days * 24 * 60 // step_min
    for i in range(steps + 1):
        ts = START + timedelta(minutes=step_min * i)
        day = i * step_min // (24 * 60)
        for unit in UNITS:
            for kind, total in totals[unit].items():
                lines.append(f"{ts.isoformat()},{unit},{kind},{total:.3f}\n")
            n = people(unit, day)
            share = step_min / (24 * 60)
            awake = 7 <= ts.hour < 23
            totals[unit]["water_m3"] += 0.12 * n * (step_min / (16 * 60)) * awake
            totals[unit]["electricity_kwh"] += (2.0 + 1.5 * n) * share
    (directory / "meters.csv").write_text("".join(lines), encoding="utf-8")
    (directory / "trace.toml").write_text(
        'timezone = "+08:00"\ndescription = "test building"\n', encoding="utf-8"
    )
    return directory


def write_locks(directory: Path, days: int, households: dict[str, list[str]]) -> None:
    """Everyone in ``households`` (unit -> credential per person) comes home twice a day."""
    lines = ["ts,unit_id,event,credential\n"]
    for day in range(days):
        for hour, minute in ((12, 0), (19, 0)):
            for unit, credentials in sorted(households.items()):
                for k, credential in enumerate(credentials):
                    ts = START + timedelta(days=day, hours=hour, minutes=minute + k)
                    lines.append(f"{ts.isoformat()},{unit},unlock,{credential}\n")
    rows = sorted(lines[1:], key=lambda line: datetime.fromisoformat(line.split(",")[0]))
    (directory / "locks.csv").write_text(lines[0] + "".join(rows), encoding="utf-8")


def replay(trace_dir: Path) -> list[dict[str, object]]:
    out = trace_dir / "alerts.jsonl"
    trace = open_trace(trace_dir)
    with out.open("w", encoding="utf-8") as sink:
        run_backtest(trace, load_detection_config(None, trace.meta.rules), "backtest", sink)
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def test_group_rental_raises_one_alert_as_soon_as_the_evidence_is_strong(tmp_path: Path) -> None:
    alerts = replay(write_trace(tmp_path / "trace"))
    raises = [a for a in alerts if a["revision"] == 0]
    assert [(a["unit_id"], a["kind"]) for a in raises] == [("0201", "overcrowding")]
    first = raises[0]
    assert contract_errors("alert", first) == []
    # Over the cap from day 8 (2026-03-09), while the baseline (14 days) is still being learned:
    # nobody knows the household yet, so each night's support counts 0.6 (the unlearned
    # weight); nine people in a flat for two are a night at the strongest (4 days' worth),
    # 2.4 a night: the threshold (4) is reached with the second night, 2026-03-10.
    assert first["window"] == {"from": "2026-03-09", "to": "2026-03-10"}
    assert first["raised_at"] == "2026-03-11T00:10:00+08:00"
    assert first["legal_cap"] == 2
    assert 8 <= first["estimated_occupancy"]["point"] <= 10  # type: ignore[index]
    # Later evidence updates the same case, it never opens a second one.
    assert {a["alert_id"] for a in alerts} == {first["alert_id"]}


def test_the_older_fixed_waits_remain_one_setting_away(tmp_path: Path) -> None:
    trace_dir = write_trace(tmp_path / "trace")
    config_path = tmp_path / "old.toml"
    config_path.write_text("[decision]\nsequential = false\n", encoding="utf-8")
    trace = open_trace(trace_dir)
    out = trace_dir / "alerts.jsonl"
    with out.open("w", encoding="utf-8") as sink:
        run_backtest(trace, load_detection_config(config_path, trace.meta.rules), "backtest", sink)
    alerts = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    first = next(a for a in alerts if a["revision"] == 0)
    # Seven over days while the baseline is learned, as before sequential evidence.
    assert first["window"] == {"from": "2026-03-09", "to": "2026-03-14"}


def test_the_alert_says_how_sure_it_was_from_the_first_day(tmp_path: Path) -> None:
    alerts = replay(write_trace(tmp_path / "trace"))
    first = next(a for a in alerts if a["revision"] == 0)
    evidence = first["evidence"]
    assert isinstance(evidence, dict)
    assert evidence["first_day_confidence"] >= 0.95
    assert "sure on the first day" in evidence["summary"]
    assert all("over_cap_confidence" in row["context"] for row in evidence["days"])


@pytest.mark.parametrize(
    "decision",
    [
        "strong_from = 0.7",  # under min_confidence
        "strongest_confidence = 0.9",  # under strong_from
        "cohort_strong_ratio = 0.5",
        "revise_min_confidence = 2.0",
    ],
)
def test_sequential_settings_are_validated(tmp_path: Path, decision: str) -> None:
    config_path = tmp_path / "bad.toml"
    config_path.write_text(f"[decision]\n{decision}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.toml"):
        load_detection_config(config_path)


def test_replay_equals_the_live_day_closer_on_the_same_readings(tmp_path: Path) -> None:
    trace_dir = write_trace(tmp_path / "trace", days=14)
    replayed = replay(trace_dir)

    config_path = tmp_path / "gateway.toml"
    config_path.write_text(
        '[gateway]\nid = "backtest"\nkey_file = "k.pem"\n'
        + "".join(
            f'[[units]]\nunit_id = "{u}"\nfloor = {f}\narea_m2 = {a}\nrooms = {r}\n'
            for u, (f, a, r, _, _, _) in UNITS.items()
        ),
        encoding="utf-8",
    )
    config = load_gateway_config(config_path)
    generate_key_pair(tmp_path / "k.pem", tmp_path / "k.pub.pem")
    store = GatewayStore(tmp_path / "live.sqlite")
    trace = open_trace(trace_dir)
    store.readings.add(MeterSample(r.unit_id, r.kind, r.ts, r.total) for r in trace.meters())
    signer = EnvelopeSigner("backtest", load_signing_key(config.gateway.key_file))
    closer = DayCloser(config, store, signer)
    for offset in range(14):
        day = date(2026, 3, 1) + timedelta(days=offset)
        closes_at = START + timedelta(days=offset + 1, minutes=10)  # as the daemon schedules it
        closer.close_day(day, closes_at)
    live = [signed_alert(row["token"]) for row in store.outbox.rows()]
    store.close()
    assert replayed and live == replayed


def signed_alert(token: str) -> object:
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims["alert"]


def test_guests_the_lock_does_not_know_raise_nothing_but_renters_it_knows_do(
    tmp_path: Path,
) -> None:
    trace_dir = write_trace(tmp_path / "trace", days=24)
    # 0101 has six guests for six days once its baseline is learned (its water says 8 people),
    # but only its two residents open the door; the nine renters of 0201 each have a
    # fingerprint.
    meters = (trace_dir / "meters.csv").read_text(encoding="utf-8").splitlines()
    extra = 0.0
    rows = [meters[0]]
    for line in meters[1:]:
        ts, unit, kind, total = line.split(",")
        stamp = datetime.fromisoformat(ts)
        if unit == "0101" and kind == "water_m3":
            rows.append(f"{ts},{unit},{kind},{float(total) + extra:.3f}")
            visit = START + timedelta(days=16) <= stamp < START + timedelta(days=22)
            if visit and 7 <= stamp.hour < 23:
                extra += 0.12 * 6 / 16
            continue
        rows.append(line)
    (trace_dir / "meters.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert {a["unit_id"] for a in replay(trace_dir)} == {"0101", "0201"}  # meters alone

    write_locks(trace_dir, 24, {"0101": ["fp-a", "fp-b"], "0201": [f"fp-{i}" for i in range(9)]})
    alerts = replay(trace_dir)
    assert {a["unit_id"] for a in alerts} == {"0201"}
    assert "locks" in alerts[0]["evidence"]["signals"]  # type: ignore[index]


def rewrite_meter(trace_dir: Path, unit: str, kind: str, change) -> None:  # type: ignore[no-untyped-def]
    """Replaces ``unit``'s ``kind`` totals with ``change(ts, total)``."""
    lines = (trace_dir / "meters.csv").read_text(encoding="utf-8").splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        ts, row_unit, row_kind, total = line.split(",")
        if (row_unit, row_kind) == (unit, kind):
            total = f"{change(datetime.fromisoformat(ts), float(total)):.3f}"
        out.append(",".join((ts, row_unit, row_kind, total)))
    (trace_dir / "meters.csv").write_text("\n".join(out) + "\n", encoding="utf-8")


def test_a_leak_raises_a_leak_alert_and_is_never_counted_as_people(tmp_path: Path) -> None:
    trace_dir = write_trace(tmp_path / "trace")
    leak_from = START + timedelta(days=5)
    # 0101 (2 people in 44 m2, cap 2): 15 L/h from day 5 on would read as 3 more people.
    rewrite_meter(
        trace_dir,
        "0101",
        "water_m3",
        lambda ts, total: total + max(0.0, (ts - leak_from).total_seconds() / 3600 * 0.015),
    )
    alerts = replay(trace_dir)
    assert {(a["unit_id"], a["kind"]) for a in alerts} == {
        ("0101", "leak"),
        ("0201", "overcrowding"),
    }
    leak = next(a for a in alerts if a["kind"] == "leak")
    assert leak["window"]["from"] == "2026-03-06"  # type: ignore[index]
    assert "at least 15 L in every hour" in leak["evidence"]["summary"]  # type: ignore[index]
    assert leak["evidence"]["days"][0]["water_min_lph"] == pytest.approx(15.0)  # type: ignore[index]
    assert "first_day_confidence" not in leak["evidence"]  # type: ignore[operator]


def test_an_electricity_meter_that_stops_while_water_runs_is_a_meter_fault(
    tmp_path: Path,
) -> None:
    trace_dir = write_trace(tmp_path / "trace")
    frozen_from = START + timedelta(days=6)
    frozen: dict[str, float] = {}

    def freeze(ts: datetime, total: float) -> float:
        if ts < frozen_from:
            return total
        return frozen.setdefault("total", total)

    rewrite_meter(trace_dir, "0202", "electricity_kwh", freeze)
    alerts = replay(trace_dir)
    faults = [a for a in alerts if a["kind"] == "meter_fault" and a["revision"] == 0]
    assert [(a["unit_id"], a["window"]["from"]) for a in faults] == [("0202", "2026-03-07")]  # type: ignore[index]
    assert "may be broken, bypassed or tampered with" in faults[0]["evidence"]["summary"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("file", "damage", "message"),
    [
        ("meters.csv", ("total", "abc"), "meters.csv:3: total: 'abc' is not a number"),
        ("meters.csv", ("unit_id", "9999"), "meters.csv:3: unit_id: '9999' is not in units.csv"),
        ("meters.csv", ("kind", "steam"), "meters.csv:3: kind: 'steam' is not one of"),
        ("meters.csv", ("ts", "yesterday"), "meters.csv:3: ts: 'yesterday' is not an ISO 8601"),
        (
            "meters.csv",
            ("ts", "2026-03-01T00:00:00"),
            "meters.csv:3: ts: '2026-03-01T00:00:00' has no UTC offset",
        ),
        (
            "meters.csv",
            ("ts", "2026-02-01T00:00:00+08:00"),
            "meters.csv:3: ts: 2026-02-01T00:00:00+08:00 is earlier than the row before it",
        ),
        ("units.csv", ("area_m2", "0"), "units.csv:3: area_m2: must be > 0, not 0"),
        ("units.csv", ("rooms", "two"), "units.csv:3: rooms: 'two' is not an integer"),
    ],
)
def test_bad_row_is_refused_with_file_line_and_column(
    tmp_path: Path, file: str, damage: tuple[str, str], message: str
) -> None:
    trace_dir = write_trace(tmp_path / "trace", days=2)
    damage_line(trace_dir / file, 3, *damage)
    with pytest.raises(TraceError) as caught:
        replay(trace_dir)
    assert message in str(caught.value)


def damage_line(path: Path, line: int, column: str, value: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = lines[line - 1].split(",")
    cells[header.index(column)] = value
    lines[line - 1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_missing_column_and_missing_file_are_named(tmp_path: Path) -> None:
    trace_dir = write_trace(tmp_path / "trace", days=1)
    text = (trace_dir / "meters.csv").read_text(encoding="utf-8")
    (trace_dir / "meters.csv").write_text(text.replace("total", "value", 1), encoding="utf-8")
    with pytest.raises(TraceError, match=r"meters\.csv:1: missing column\(s\) total"):
        replay(trace_dir)
    (trace_dir / "units.csv").unlink()
    with pytest.raises(TraceError, match=r"units\.csv is missing"):
        open_trace(trace_dir)


def test_lenient_replay_skips_and_counts_bad_rows_and_keeps_the_rest(tmp_path: Path) -> None:
    trace_dir = write_trace(tmp_path / "trace")
    damage_line(trace_dir / "meters.csv", 3, "total", "abc")
    damage_line(trace_dir / "meters.csv", 10, "unit_id", "9999")
    trace = open_trace(trace_dir, lenient=True)
    out = tmp_path / "alerts.jsonl"
    with out.open("w", encoding="utf-8") as sink:
        report = run_backtest(trace, load_detection_config(None), "backtest", sink)
    assert report.skipped == {"meters.csv": 2}
    assert report.alerts_by_kind["overcrowding"] >= 1


def test_trace_rules_override_the_occupancy_rule(tmp_path: Path) -> None:
    trace_dir = write_trace(tmp_path / "trace")
    # A city that allows 10 people per room and 4 m2 each: 9 people in 44 m2 are legal there.
    with (trace_dir / "trace.toml").open("a", encoding="utf-8") as meta:
        meta.write("[rules]\nmax_persons_per_room = 10\nmin_area_m2_per_person = 4.0\n")
    assert replay(trace_dir) == []


def test_backtest_cli_writes_alerts_and_reports_bad_input(tmp_path: Path) -> None:
    trace_dir = write_trace(tmp_path / "trace")
    out = tmp_path / "alerts.jsonl"
    command = [sys.executable, "-m", "gateway", "backtest", str(trace_dir), "--out", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "replayed 4 units, 17 days (2026-03-01 to 2026-03-17)" in result.stderr
    assert json.loads(out.read_text(encoding="utf-8").splitlines()[0])["unit_id"] == "0201"

    damage_line(trace_dir / "meters.csv", 5, "total", "x")
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert "meters.csv:5: total: 'x' is not a number" in result.stderr
    # The alerts of the last good run are still there: a failed replay never truncates them.
    assert out.read_text(encoding="utf-8").strip()


def test_a_water_meter_stuck_while_the_flat_is_lived_in_is_a_meter_fault(tmp_path: Path) -> None:
    trace_dir = write_trace(tmp_path / "trace")
    write_locks(trace_dir, 16, {"0202": ["fp-a", "fp-b", "fp-c"]})
    stuck_from = START + timedelta(days=6)
    frozen: dict[str, float] = {}

    def freeze(ts: datetime, total: float) -> float:
        return total if ts < stuck_from else frozen.setdefault("total", total)

    rewrite_meter(trace_dir, "0202", "water_m3", freeze)
    faults = [a for a in replay(trace_dir) if a["kind"] == "meter_fault" and a["revision"] == 0]
    assert [a["unit_id"] for a in faults] == ["0202"]
    assert "water meter did not move" in faults[0]["evidence"]["summary"]  # type: ignore[index]

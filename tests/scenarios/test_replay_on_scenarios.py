"""The detector on a simulated building, end to end: a scenario exported as a trace, replayed
through `gateway backtest`'s code path, finds its group rental and its leak and raises no
overcrowding alert on the confounders (small_demo, seed 1: a rental, guests, a holiday, a leak).
The benchmark in bench/detection does the same at scale, over families and seeds."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from firmware_sim.scenarios import export_scenario
from gateway.config.detection import load_detection_config
from gateway.replay.backtest import run_backtest
from gateway.replay.trace_reader import open_trace


def test_replay_finds_the_rental_and_the_leak_and_nothing_else(tmp_path: Path) -> None:
    trace_dir = tmp_path / "small_demo-1"
    export_scenario("small_demo", 1, trace_dir)
    trace = open_trace(trace_dir)
    out = trace_dir / "alerts.jsonl"
    with out.open("w", encoding="utf-8") as sink:
        run_backtest(trace, load_detection_config(None, trace.meta.rules), "test", sink)
    alerts = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    with (trace_dir / "truth.csv").open(encoding="utf-8") as handle:
        truth = list(csv.DictReader(handle))
    rentals = {r["unit_id"] for r in truth if r["label"] == "group_rental"}
    leaks = {r["unit_id"] for r in truth if r["label"] == "leak"}
    assert rentals and leaks
    assert {a["unit_id"] for a in alerts if a["kind"] == "overcrowding"} == rentals
    assert {a["unit_id"] for a in alerts if a["kind"] == "leak"} == leaks

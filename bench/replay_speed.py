"""How fast `gateway backtest` replays a 150-unit, 90-day building, on one core.

The requirement: a 150-unit, 90-day trace with hourly readings replays in under 60 seconds.
This exports `mixed_city` (seed 1) with hourly readings and with 15-minute readings (four times
the rows, what the scenarios use by default), replays each in this process (one core) and
reports the median of the runs, the rows per second and the machine.

    python bench/replay_speed.py [--runs 3]
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from firmware_sim.scenarios import export_scenario
from gateway.config.detection import load_detection_config
from gateway.replay.backtest import run_backtest
from gateway.replay.trace_reader import open_trace


def replay_seconds(trace_dir: Path) -> tuple[float, int, int]:
    trace = open_trace(trace_dir)
    started = time.perf_counter()
    report = run_backtest(
        trace, load_detection_config(None, trace.meta.rules), "bench", io.StringIO()
    )
    rows = report.meter_rows + report.lock_events + report.elevator_rows
    return time.perf_counter() - started, rows, report.alerts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cpus, Python"
        f" {platform.python_version()} ({platform.python_implementation()})"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for interval in (60, 15):
            trace_dir = Path(tmp) / f"mixed_city-1-{interval}min"
            started = time.perf_counter()
            export_scenario("mixed_city", 1, trace_dir, interval_min=interval)
            exported = time.perf_counter() - started
            runs = [replay_seconds(trace_dir) for _ in range(args.runs)]
            median = statistics.median(seconds for seconds, _, _ in runs)
            rows, alerts = runs[0][1], runs[0][2]
            print(
                f"readings every {interval:>2} min: {rows:>9} rows (meters, locks, elevators),"
                f" export {exported:5.1f} s, replay median {median:5.1f} s of {args.runs}"
                f" ({rows / median:,.0f} rows/s), {alerts} alerts;"
                f" {'within' if median < 60 else 'OVER'} the 60 s budget"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: export a whole building (default: mixed_city, 150 flats, 90 days) as a trace.

Prints what was written, how long building the scenario and writing the files took, the rate,
the peak memory of the process, and the machine. The export runs on one core; the target is
well under a minute for 150 flats over 90 days.

    python bench/scenario_export.py
    python bench/scenario_export.py --family hidden_rentals --units 150 --days 90 --seed 3
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from firmware_sim.scenarios import build_scenario, export_trace


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown cpu"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", default="mixed_city")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--units", type=int, default=150)
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="scenario-bench-") as tmp:
        began = time.perf_counter()
        scenario = build_scenario(args.family, args.seed, units=args.units, days=args.days)
        built = time.perf_counter()
        summary = export_trace(scenario, Path(tmp))
        done = time.perf_counter()
        sizes = {p.name: p.stat().st_size for p in sorted(Path(tmp).iterdir())}

    total_rows = summary.meter_rows + summary.lock_rows + summary.elevator_rows
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"scenario: {scenario.description}")
    print(
        f"rows: {summary.meter_rows:,} meter readings, {summary.lock_rows:,} lock events,"
        f" {summary.elevator_rows:,} lift counter readings, {summary.truth_rows} truth rows"
    )
    print("files: " + ", ".join(f"{name} {size / 2**20:.1f} MiB" for name, size in sizes.items()))
    print(
        f"time: build {built - began:.2f} s, export {done - built:.1f} s,"
        f" total {done - began:.1f} s ({total_rows / (done - built):,.0f} rows/s)"
    )
    print(f"peak memory: {peak_mib:.0f} MiB (max RSS of the process)")
    print(
        f"machine: {platform.machine()} {_cpu_model()}, {os.cpu_count()} cpus (one used),"
        f" {platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


if __name__ == "__main__":
    main()

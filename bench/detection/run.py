"""Detection benchmark: scenario families x seeds, the detector against the naive baseline.

For every (family, seed) the scenario generator exports a building trace with its ground truth;
the trace is replayed through the detector exactly as ``gateway backtest`` does, and the same
closed days are judged by the naive "digital whistle" rule (``baseline.py``). Both are scored
with ``score.py``. Seeds are split: tuning seeds (the ones anybody may look at while changing
the detector) and report seeds (the tables in docs/benchmarks.md come from these only). The
fresh report seeds were first run after the first report seeds had once been used to decide a
change (docs/benchmarks.md says which), so they are held out from every decision made so far.

    python bench/detection/run.py                       # report seeds, all families
    python bench/detection/run.py --seeds fresh         # the fresh report seeds 6-10
    python bench/detection/run.py --seeds fresh2        # report seeds 11-15 (since change 9)
    python bench/detection/run.py --seeds tune          # the tuning seeds
    python bench/detection/run.py --families small_demo --seeds 1 --markdown -

Writes a Markdown table (``--markdown``, default docs/benchmarks-detection.md is not touched
unless asked) and prints it. Timings are wall-clock on this machine, one core.
"""

from __future__ import annotations

import argparse
import io
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

from baseline import WhistleRule  # noqa: E402
from score import LEAK, Score, read_alerts, read_truth, score  # noqa: E402

from firmware_sim.scenarios import FAMILIES, export_scenario  # noqa: E402
from gateway.config.detection import load_detection_config  # noqa: E402
from gateway.replay.backtest import run_backtest  # noqa: E402
from gateway.replay.trace_reader import open_trace  # noqa: E402

TUNE_SEEDS = (101, 102, 103, 104, 105, 106)
REPORT_SEEDS = (1, 2, 3, 4, 5)
FRESH_REPORT_SEEDS = (6, 7, 8, 9, 10)
# Added with the sequential detector (change 9) and first generated after it was finished:
# held out from every decision made so far.
SEQUENTIAL_REPORT_SEEDS = (11, 12, 13, 14, 15)
# never opened to study the detector
HELD_OUT_SEEDS = REPORT_SEEDS + FRESH_REPORT_SEEDS + SEQUENTIAL_REPORT_SEEDS
NAMED_SEEDS = {
    "report": REPORT_SEEDS,
    "fresh": FRESH_REPORT_SEEDS,
    "fresh2": SEQUENTIAL_REPORT_SEEDS,
    "tune": TUNE_SEEDS,
}
BENCH_FAMILIES = ("mixed_city", "confounder_heavy", "hidden_rentals", "summer_city", "field_mix")


@dataclass
class RunResult:
    family: str
    seed: int
    detector: Score
    baseline: Score
    leak: Score
    replay_seconds: float
    meter_rows: int


def run_one(family: str, seed: int, workdir: Path, config: Path | None = None) -> RunResult:
    trace_dir = workdir / f"{family}-{seed}"
    export_scenario(family, seed, trace_dir)
    trace = open_trace(trace_dir)
    whistle = WhistleRule()
    alerts_path = trace_dir / "alerts.jsonl"
    with alerts_path.open("w", encoding="utf-8") as sink:
        report = run_backtest(
            trace, load_detection_config(config, trace.meta.rules), "bench", sink, whistle.observe
        )
    truth = read_truth(trace_dir / "truth.csv")
    days = float(report.days)
    units = len(trace.units)
    installed = FAMILIES[family].start
    return RunResult(
        family,
        seed,
        score(truth, read_alerts(alerts_path), units, days, trace_start=installed),
        score(truth, whistle.alerts, units, days, trace_start=installed),
        score(truth, read_alerts(alerts_path, LEAK), units, days, label=LEAK),
        report.seconds,
        report.meter_rows,
    )


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _days(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def table(results: list[RunResult]) -> str:
    lines = [
        "| family | rule | seeds | rentals | precision | recall | median delay (d) |"
        " p90 delay (d) | false alarms / 1000 unit-months | false alarms by confounder |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for family in dict.fromkeys(r.family for r in results):
        mine = [r for r in results if r.family == family]
        seeds = ",".join(str(r.seed) for r in mine)
        for rule in ("detector", "baseline"):
            total = mine[0].detector if rule == "detector" else mine[0].baseline
            for r in mine[1:]:
                total = total.add(r.detector if rule == "detector" else r.baseline)
            by_label = ", ".join(
                f"{label} {n}" for label, n in total.false_alarms_by_label.most_common()
            )
            name = "detector" if rule == "detector" else "whistle (k x standard)"
            lines.append(
                f"| {family} | {name} | {seeds} | {total.rentals} | {_pct(total.precision)} |"
                f" {_pct(total.recall)} | {_days(total.median_delay)} |"
                f" {_days(total.p90_delay)} | {total.false_alarms_per_1000_unit_months:.1f} |"
                f" {by_label or '-'} |"
            )
    return "\n".join(lines)


def _total(results: list[RunResult], rule: str) -> Score:
    scores = [r.detector if rule == "detector" else r.baseline for r in results]
    total = scores[0]
    for other in scores[1:]:
        total = total.add(other)
    return total


def histogram_text(total: Score) -> str:
    """E.g. ``1:5 2:12 3:4 7:1`` (detections by the day of their delay, see score.py)."""
    return " ".join(f"{day}:{n}" for day, n in total.delay_histogram.items()) or "-"


def timing_table(results: list[RunResult]) -> str:
    """Per family and pooled: the delay histogram, false-alarm episodes, and rentals present
    at installation (their delay is measured from the installation)."""
    lines = [
        "| family | rule | rentals | at installation: found / all | at installation: median"
        " delay (d) | false alarms: cases | false alarms: episodes | episodes / 1000"
        " unit-months | detections by day of delay (day:count) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    groups = [
        (f, [r for r in results if r.family == f]) for f in dict.fromkeys(r.family for r in results)
    ]
    if len(groups) > 1:
        groups.append(("all (pooled)", results))
    for family, mine in groups:
        for rule in ("detector", "baseline"):
            total = _total(mine, rule)
            name = "detector" if rule == "detector" else "whistle (k x standard)"
            lines.append(
                f"| {family} | {name} | {total.rentals} |"
                f" {len(total.at_install_delays_days)} / {total.at_install} |"
                f" {_days(total.at_install_median_delay)} | {total.false_alarms} |"
                f" {total.false_alarm_episodes} | {total.episodes_per_1000_unit_months:.1f} |"
                f" {histogram_text(total)} |"
            )
    return "\n".join(lines)


def leak_table(results: list[RunResult]) -> str:
    """The ``leak`` case against the ``leak`` intervals, per family."""
    lines = [
        "| family | seeds | leaks | precision | recall | median delay (d) | p90 delay (d) |"
        " false leak cases / 1000 unit-months | false leak cases by condition |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for family in dict.fromkeys(r.family for r in results):
        mine = [r for r in results if r.family == family]
        total = mine[0].leak
        for r in mine[1:]:
            total = total.add(r.leak)
        by_label = ", ".join(f"{k} {n}" for k, n in total.false_alarms_by_label.most_common())
        lines.append(
            f"| {family} | {','.join(str(r.seed) for r in mine)} | {total.rentals} |"
            f" {_pct(total.precision)} | {_pct(total.recall)} | {_days(total.median_delay)} |"
            f" {_days(total.p90_delay)} | {total.false_alarms_per_1000_unit_months:.1f} |"
            f" {by_label or '-'} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="+", default=list(BENCH_FAMILIES))
    parser.add_argument("--seeds", nargs="+", default=["report"])
    parser.add_argument("--markdown", type=Path, help="write the table here ('-' for stdout)")
    parser.add_argument(
        "--config", type=Path, help="detector settings to try (TOML, as gateway backtest --config)"
    )
    args = parser.parse_args(argv)
    seeds: list[int] = []
    for item in args.seeds:
        seeds.extend(NAMED_SEEDS[item] if item in NAMED_SEEDS else [int(item)])
    unknown = [f for f in args.families if f not in FAMILIES]
    if unknown:
        parser.error(f"unknown families {unknown}; known: {', '.join(FAMILIES)}")
    results = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for family in args.families:
            for seed in seeds:
                result = run_one(family, seed, Path(tmp), args.config)
                print(
                    f"{family} seed {seed}: replay {result.replay_seconds:.1f} s for"
                    f" {result.meter_rows} meter rows; detector P={_pct(result.detector.precision)}"
                    f" R={_pct(result.detector.recall)}"
                    f" FA={result.detector.false_alarms}"
                    f" episodes={result.detector.false_alarm_episodes}"
                    f" delays={histogram_text(result.detector)}",
                    file=sys.stderr,
                    flush=True,
                )
                results.append(result)
    out = io.StringIO()
    out.write(table(results) + "\n\n")
    out.write(timing_table(results) + "\n\n")
    out.write(leak_table(results) + "\n\n")
    out.write(
        f"Measured {datetime.now().astimezone():%Y-%m-%d} on {platform.machine()}"
        f" ({platform.processor() or 'unknown cpu'}), Python {platform.python_version()},"
        f" {time.perf_counter() - started:.0f} s in all.\n"
    )
    text = out.getvalue()
    if args.markdown is not None and str(args.markdown) != "-":
        args.markdown.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

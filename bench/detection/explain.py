"""Why the detector decided what it did: one scenario's misses and false alarms, day by day.

For studying the detector on the *tuning* seeds (never on report seeds, or they stop being
held out). Generates the scenario, replays it as ``run.py`` does, scores it, and for every
missed rental and every false alarm (or the units named with ``--units``) prints each day
around the event: the truth labels holding, the head count each signal implies, the estimate
and its half-width, the over-cap confidence and the case's phase.

    python bench/detection/explain.py hidden_rentals 102
    python bench/detection/explain.py confounder_heavy 101 --units 0304 0511 --days 20
    python bench/detection/explain.py hidden_rentals 104 --late 7   # and rentals found late
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

from run import HELD_OUT_SEEDS  # noqa: E402
from score import GROUP_RENTAL, Interval, RaisedAlert, read_alerts, read_truth  # noqa: E402

from firmware_sim.scenarios import export_scenario  # noqa: E402
from gateway.config.detection import load_detection_config  # noqa: E402
from gateway.core.alert_decision import OVERCROWDING, DecisionParams, observe  # noqa: E402
from gateway.core.building_day import UnitDayResult  # noqa: E402
from gateway.replay.backtest import run_backtest  # noqa: E402
from gateway.replay.trace_reader import open_trace  # noqa: E402

SIGNALS = ("water", "electricity", "gas", "locks", "elevator")


@dataclass(frozen=True)
class DayRow:
    day: date
    text: str


def _row(result: UnitDayResult, decision: DecisionParams) -> str:
    a = result.assessment
    estimate = a.estimate
    state = result.states[OVERCROWDING]
    if estimate is None:
        return f"cap {a.legal_cap:2d}  no estimate  {state.phase.value}/{state.streak}"
    _, confidence = observe(a, decision)
    signals = " ".join(
        f"{s[:4]}={estimate.by_signal[s]:4.1f}" if s in estimate.by_signal else f"{s[:4]}=  - "
        for s in SIGNALS
    )
    learned = result.baseline.residents.learned
    residents = "-" if learned is None else str(len(learned))
    return (
        f"cap {a.legal_cap:2d}  {signals}  known {estimate.at_least:2.0f}  est"
        f" {estimate.point:4.1f} ±{estimate.high - estimate.point:3.1f}  conf {confidence:4.2f}"
        f"  {state.phase.value}/{state.streak} ev {state.evidence:3.1f}  res {residents}"
        + "".join(
            f"  {key.split('_')[-1]} {a.context[key]:.1f}"
            for key in ("water_vs_cohort", "leak_litres_taken_off")
            if key in a.context
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("family")
    parser.add_argument("seed", type=int)
    parser.add_argument("--units", nargs="*", help="explain these units (default: the errors)")
    parser.add_argument("--days", type=int, default=12, help="days shown around each event")
    parser.add_argument("--config", type=Path, help="detector settings (TOML)")
    parser.add_argument(
        "--late", type=float, help="also explain rentals found more than this many days late"
    )
    args = parser.parse_args(argv)
    if args.seed in HELD_OUT_SEEDS:
        parser.error(f"seed {args.seed} is a report seed: study the tuning seeds instead")
    rows: dict[str, list[DayRow]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp:
        trace_dir = Path(tmp) / "trace"
        export_scenario(args.family, args.seed, trace_dir)
        trace = open_trace(trace_dir)
        config = load_detection_config(args.config, trace.meta.rules)
        decision = config.detector_settings("explain").decision

        def remember(day: date, closed_at: datetime, results: list[UnitDayResult]) -> None:
            for result in results:
                rows[result.unit_id].append(DayRow(day, _row(result, decision)))

        alerts_path = trace_dir / "alerts.jsonl"
        with alerts_path.open("w", encoding="utf-8") as sink:
            run_backtest(trace, config, "explain", sink, remember)
        truth = read_truth(trace_dir / "truth.csv")
        alerts = [a for a in read_alerts(alerts_path) if a.revision == 0]
    events = _events(truth, alerts, args.units, args.late)
    for unit_id, moment, what in events:
        labels = [i for i in truth if i.unit_id == unit_id]
        print(f"\n== unit {unit_id}: {what}")
        for interval in labels:
            print(f"   truth {interval.label} {interval.start:%m-%d %H:%M} -> {_end(interval)}")
        lo = moment.date() - timedelta(days=3)
        hi = moment.date() + timedelta(days=args.days)
        for row in rows[unit_id]:
            if lo <= row.day <= hi:
                holding = ",".join(
                    i.label
                    for i in labels
                    if i.holds_at(datetime.combine(row.day, datetime.min.time(), moment.tzinfo))
                )
                print(f"   {row.day:%m-%d} {holding[:14]:14s} {row.text}")
    return 0


def _end(interval: Interval) -> str:
    return "end" if interval.end is None else f"{interval.end:%m-%d %H:%M}"


def _events(
    truth: list[Interval],
    alerts: list[RaisedAlert],
    units: list[str] | None,
    late_days: float | None = None,
) -> list[tuple[str, datetime, str]]:
    rentals = [i for i in truth if i.label == GROUP_RENTAL]
    events: list[tuple[str, datetime, str]] = []
    if units:
        for unit_id in units:
            first = min((i.start for i in truth if i.unit_id == unit_id), default=None)
            if first is None:
                first = min(a.raised_at for a in alerts if a.unit_id == unit_id)
            events.append((unit_id, first, "asked for"))
        return events
    for rental in rentals:
        hits = [a for a in alerts if a.unit_id == rental.unit_id and rental.holds_at(a.raised_at)]
        if not hits:
            events.append((rental.unit_id, rental.start, "MISSED rental"))
            continue
        delay = (min(a.raised_at for a in hits) - rental.start).total_seconds() / 86400
        if late_days is not None and delay > late_days:
            events.append((rental.unit_id, rental.start, f"LATE rental, found after {delay:.1f} d"))
    for alert in alerts:
        if not any(r.unit_id == alert.unit_id and r.holds_at(alert.raised_at) for r in rentals):
            when = alert.raised_at - timedelta(days=3)
            events.append((alert.unit_id, when, f"FALSE alarm raised {alert.raised_at:%m-%d}"))
    return events


if __name__ == "__main__":
    raise SystemExit(main())

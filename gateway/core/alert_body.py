"""The alert body a gateway asserts about one unit (``config/schemas/alert.schema.json``).

Built from the case state and the decision that fired: the stable alert id of the case, the
revision, the evidence window, the legal cap, the latest over-cap estimate and its confidence,
the unit's facts, and the evidence itself: one row of daily aggregates per day plus a sentence
or two an inspector can read on a phone. Aggregates only: no reading, person or lock event
leaves the building. Numbers are rounded to what the meters can honestly tell, so the body is
small and stable. The shell validates it against the schema, signs it and publishes it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from gateway.core.alert_decision import (
    OVERCROWDING,
    CaseState,
    DayAssessment,
    Decision,
    DecisionAction,
)
from gateway.core.occupancy import SIGNAL_WEIGHTS, OccupancyEstimate

ALERT_SCHEMA = "bldg.alert/v1"
MAX_EVIDENCE_ROWS = 60  # the schema's limit on evidence.days
_ALERT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")

# signal -> (usage field, unit, decimals): how each meter reads in the summary and the rows.
_SIGNAL_FORMATS = {
    "water": ("water_m3", "m3", 2),
    "electricity": ("electricity_kwh", "kWh", 1),
    "gas": ("gas_m3", "m3", 2),
}
_ROW_DECIMALS = {"water_m3": 3, "electricity_kwh": 2, "gas_m3": 3}
# Signals that are head counts already, and how the summary names them.
_HEAD_COUNT_PHRASES = {"locks": "door-lock activity of", "elevator": "elevator stops of"}
CONFIDENCE_KEY = "over_cap_confidence"  # a day's context: how sure it was over the cap
LEAK_KEY = "leak_litres_taken_off"  # a day's context: water counted as a leak, not people


@dataclass(frozen=True, slots=True)
class UnitFacts:
    unit_id: str
    floor: int
    area_m2: float
    rooms: int


def alert_id_for(gateway_id: str, unit_id: str, kind: str, opened_on: date) -> str:
    """The id of one case, the same for every revision: ``gw.unit.kind.YYYYMMDD``."""
    alert_id = f"{gateway_id}.{unit_id}.{kind}.{opened_on:%Y%m%d}"
    if not _ALERT_ID.match(alert_id):
        raise ValueError(f"alert id {alert_id!r} does not match {_ALERT_ID.pattern}")
    return alert_id


def build_alert_body(
    *,
    gateway_id: str,
    unit: UnitFacts,
    state: CaseState,
    decision: Decision,
    raised_at: datetime,
) -> dict[str, object]:
    """The alert body for a RAISE or UPDATE decision of the case in ``state``."""
    if decision.action is DecisionAction.CLOSE:
        raise ValueError("a close decision has no alert body in bldg.alert/v1")
    if state.opened_on is None:
        raise ValueError("the case has no opened_on: it is not open")
    if raised_at.utcoffset() is None:
        raise ValueError("raised_at must carry a UTC offset")
    days = [day for day in decision.evidence if day.estimate is not None][-MAX_EVIDENCE_ROWS:]
    if not days:
        raise ValueError("the decision carries no day with an estimate")
    latest = days[-1]
    estimate = _estimate_of(latest)
    signals = [s for s in SIGNAL_WEIGHTS if any(s in _estimate_of(d).signals for d in days)]
    return {
        "schema": ALERT_SCHEMA,
        "alert_id": alert_id_for(gateway_id, unit.unit_id, decision.kind, state.opened_on),
        "revision": state.revision,
        "gateway_id": gateway_id,
        "unit_id": unit.unit_id,
        "kind": decision.kind,
        "raised_at": raised_at.isoformat(timespec="seconds"),
        "window": {"from": days[0].day.isoformat(), "to": latest.day.isoformat()},
        "legal_cap": latest.legal_cap,
        "estimated_occupancy": {
            "point": round(estimate.point, 1),
            "low": round(estimate.low, 1),
            "high": round(estimate.high, 1),
        },
        "confidence": round(decision.confidence, 3),
        "unit": {"floor": unit.floor, "area_m2": unit.area_m2, "rooms": unit.rooms},
        "evidence": {
            "summary": _SUMMARIES.get(decision.kind, evidence_summary)(days, signals, unit),
            "signals": signals,
            "days": [_evidence_row(day) for day in days],
            **(_first_day_confidence(days) if decision.kind == OVERCROWDING else {}),
        },
    }


def _first_day_confidence(days: Sequence[DayAssessment]) -> dict[str, object]:
    """How sure the gateway was on the case's first day (``over_cap_confidence`` in the day's
    context; absent for kinds that have none)."""
    first = days[0].context.get(CONFIDENCE_KEY)
    return {} if first is None else {"first_day_confidence": round(first, 3)}


def evidence_summary(days: Sequence[DayAssessment], signals: Sequence[str], unit: UnitFacts) -> str:
    """E.g. "Water 1.08 m3/day and electricity 15.6 kWh/day over 3 days suggest about 9
    occupants (7-11); the legal cap for 44 m2 with 1 room is 2." """
    latest = days[-1]
    estimate = _estimate_of(latest)
    averages = []
    for signal in (s for s in signals if s in _SIGNAL_FORMATS):
        field, unit_name, decimals = _SIGNAL_FORMATS[signal]
        amounts = [a for a in (day.usage.amount(field) for day in days) if a is not None]
        if amounts:
            average = sum(amounts) / len(amounts)
            averages.append(f"{signal} {average:.{decimals}f} {unit_name}/day")
    for signal, phrase in _HEAD_COUNT_PHRASES.items():
        counts = [
            n for n in (_estimate_of(day).by_signal.get(signal) for day in days) if n is not None
        ]
        if signal in signals and counts:
            averages.append(f"{phrase} about {sum(counts) / len(counts):.0f} people")
    usage_text = _join(averages) or "meter readings"
    span = f"{len(days)} day" if len(days) == 1 else f"{len(days)} days"
    rooms = "1 room" if unit.rooms == 1 else f"{unit.rooms} rooms"
    return (
        f"{usage_text[0].upper()}{usage_text[1:]} over {span} suggest about"
        f" {round(estimate.point)} occupants ({round(estimate.low)}-{round(estimate.high)});"
        f" the legal cap for {unit.area_m2:g} m2 with {rooms} is {latest.legal_cap}."
        + _known_present(days)
        + _comparison(days)
        + _leak_taken_off(days)
        + _how_sure(days)
    )


def _how_sure(days: Sequence[DayAssessment]) -> str:
    """E.g. " Over the cap since 2026-03-09: 97% sure on the first day, 99% now." """
    first, latest = days[0].context.get(CONFIDENCE_KEY), days[-1].context.get(CONFIDENCE_KEY)
    if first is None or latest is None:
        return ""
    return (
        f" Over the cap since {days[0].day.isoformat()}: {first:.0%} sure on the first day,"
        f" {latest:.0%} on the last."
    )


def _leak_taken_off(days: Sequence[DayAssessment]) -> str:
    """E.g. " A leak of about 410 L/day is not counted as people." """
    litres = [day.context[LEAK_KEY] for day in days if LEAK_KEY in day.context]
    if not litres:
        return ""
    return f" A leak of about {sum(litres) / len(litres):.0f} L/day is not counted as people."


def _known_present(days: Sequence[DayAssessment]) -> str:
    """E.g. " At least 8 different lock credentials opened the door on the same day, on 3 or
    more days of a week." (empty when the lock does not say so many)."""
    most = max(int(_estimate_of(day).at_least) for day in days)
    if most <= days[-1].legal_cap:
        return ""
    return (
        f" At least {most} different lock credentials opened the door on the same day, on"
        " several days of a week."
    )


def _comparison(days: Sequence[DayAssessment]) -> str:
    """E.g. " Water is 4.1 times the flat's own baseline and 3.6 times the building's median
    for its size." (empty when neither is known)."""

    def mean_of(key: str) -> float | None:
        values = [day.context[key] for day in days if key in day.context]
        return sum(values) / len(values) if values else None

    parts = []
    own, building = mean_of("water_vs_baseline"), mean_of("water_vs_building")
    cohort = mean_of("water_vs_cohort")
    if own is not None:
        parts.append(f"{own:.1f} times the flat's own baseline")
    if building is not None:
        parts.append(f"{building:.1f} times the building's median for its size")
    if cohort is not None:
        parts.append(f"{cohort:.1f} times the median of similar flats in the building")
    return f" Water is {_join(parts)}." if parts else ""


def leak_summary(days: Sequence[DayAssessment], signals: Sequence[str], unit: UnitFacts) -> str:
    """E.g. "Water never stopped for 3 days: at least 12 L in every hour, the quietest
    included (0.29 m3/day nobody uses); a leak or a running toilet is likely." """
    flows = [d.usage.quietest_hour["water_m3"] for d in days if "water_m3" in d.usage.quietest_hour]
    least = min(flows) * 1000 if flows else 0.0
    span = f"{len(days)} day" if len(days) == 1 else f"{len(days)} days"
    return (
        f"Water never stopped for {span}: at least {least:.0f} L in every hour, the quietest"
        f" included ({least * 24 / 1000:.2f} m3/day nobody uses); a leak or a running toilet is"
        " likely."
    )


def meter_fault_summary(
    days: Sequence[DayAssessment], signals: Sequence[str], unit: UnitFacts
) -> str:
    """E.g. "The electricity meter read 0.0 kWh/day for 2 days while 0.31 m3/day of water was
    used: it may be broken, bypassed or tampered with." """
    electricity = [a for a in (d.usage.electricity_kwh for d in days) if a is not None]
    water = [a for a in (d.usage.water_m3 for d in days) if a is not None]
    span = f"{len(days)} day" if len(days) == 1 else f"{len(days)} days"
    if water and not any(water) and electricity:
        return (
            f"The water meter did not move for {span} while the flat drew"
            f" {sum(electricity) / len(electricity):.1f} kWh/day and its door was used: the"
            " meter may be stuck, broken or bypassed."
        )
    used = f" while {sum(water) / len(water):.2f} m3/day of water was used" if water else ""
    return (
        f"The electricity meter read {sum(electricity) / max(1, len(electricity)):.1f} kWh/day"
        f" for {span}{used}, and the flat is lived in: the meter may be broken, bypassed or"
        " tampered with."
    )


_SUMMARIES = {"leak": leak_summary, "meter_fault": meter_fault_summary}


def _join(parts: Sequence[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return f"{', '.join(parts[:-1])} and {parts[-1]}"


def _evidence_row(day: DayAssessment) -> dict[str, object]:
    row: dict[str, object] = {"date": day.day.isoformat()}
    for field, decimals in _ROW_DECIMALS.items():
        amount = day.usage.amount(field)
        row[field] = None if amount is None else round(amount, decimals)
    quietest = day.usage.quietest_hour.get("water_m3")
    if quietest is not None:
        row["water_min_lph"] = round(quietest * 1000, 1)
    if day.context:
        row["context"] = {key: round(value, 2) for key, value in day.context.items()}
    estimate = _estimate_of(day)
    row["estimate"] = round(estimate.point, 1)
    if estimate.by_signal:
        row["by_signal"] = {signal: round(n, 1) for signal, n in estimate.by_signal.items()}
    if estimate.at_least >= 1:
        row["known_present"] = int(estimate.at_least)
    return row


def _estimate_of(day: DayAssessment) -> OccupancyEstimate:
    if day.estimate is None:
        raise ValueError(f"{day.day}: no estimate")
    return day.estimate

"""A case's state as JSON, so it survives restarts: :func:`case_state_to_dict` and its reverse
:func:`case_state_from_dict`, which names the field path of anything it cannot read back.

Fields added after version 1 (``evidence``, an estimate's ``at_least``, ``sent_point``,
``sent_confidence``, ``closed_on``) are optional on read: a state stored before them reads as
none.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from gateway.core.alert_decision import (
    CASE_STATE_VERSION,
    CasePhase,
    CaseState,
    DayAssessment,
)
from gateway.core.daily_usage import DailyUsage
from gateway.core.occupancy import OccupancyEstimate


class CaseStateError(ValueError):
    """A stored case state that cannot be read back; the message names the field path."""


def case_state_to_dict(state: CaseState) -> dict[str, object]:
    """A JSON-ready dict (dates as ISO strings) that :func:`case_state_from_dict` reverses."""
    return {
        "version": CASE_STATE_VERSION,
        "phase": state.phase.value,
        "streak": state.streak,
        "opened_on": _iso_or_none(state.opened_on),
        "revision": state.revision,
        "last_sent_on": _iso_or_none(state.last_sent_on),
        "recent": [_assessment_to_dict(assessment) for assessment in state.recent],
        "evidence": state.evidence,
        "sent_point": state.sent_point,
        "sent_confidence": state.sent_confidence,
        "closed_on": _iso_or_none(state.closed_on),
    }


def _iso_or_none(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _assessment_to_dict(assessment: DayAssessment) -> dict[str, object]:
    usage, estimate = assessment.usage, assessment.estimate
    return {
        "day": assessment.day.isoformat(),
        "legal_cap": assessment.legal_cap,
        "context": dict(assessment.context),
        "usage": {
            "unit_id": usage.unit_id,
            "day": usage.day.isoformat(),
            "water_m3": usage.water_m3,
            "electricity_kwh": usage.electricity_kwh,
            "gas_m3": usage.gas_m3,
            "coverage": dict(usage.coverage),
            "flags": list(usage.flags),
            "quietest_hour": dict(usage.quietest_hour),
        },
        "estimate": None
        if estimate is None
        else {
            "point": estimate.point,
            "low": estimate.low,
            "high": estimate.high,
            "signals": list(estimate.signals),
            "by_signal": dict(estimate.by_signal),
            "at_least": estimate.at_least,
        },
    }


class _Reader:
    """Typed reads from one JSON object, failing with ``case state: path: rule``."""

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, Mapping):
            raise CaseStateError(f"case state: {path or 'top level'}: must be an object")
        self.data: Mapping[str, object] = data
        self.path = path

    def _fail(self, key: str, rule: str) -> CaseStateError:
        return CaseStateError(f"case state: {self.where(key)}: {rule}")

    def where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def raw(self, key: str) -> object:
        if key not in self.data:
            raise self._fail(key, "is missing")
        return self.data[key]

    def integer(self, key: str) -> int:
        value = self.raw(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._fail(key, "must be an integer")
        return value

    def number(self, key: str) -> float:
        value = self.raw(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._fail(key, "must be a number")
        return float(value)

    def optional_number(self, key: str) -> float | None:
        return None if self.raw(key) is None else self.number(key)

    def text(self, key: str) -> str:
        value = self.raw(key)
        if not isinstance(value, str):
            raise self._fail(key, "must be a string")
        return value

    def day(self, key: str) -> date:
        try:
            return date.fromisoformat(self.text(key))
        except ValueError:
            raise self._fail(key, "must be a date like 2026-03-02") from None

    def optional_day(self, key: str) -> date | None:
        return None if self.raw(key) is None else self.day(key)

    def number_map(self, key: str) -> dict[str, float]:
        """An optional table of numbers (absent in states written before it existed)."""
        if key not in self.data:
            return {}
        table = _Reader(self.raw(key), self.where(key))
        return {str(name): table.number(str(name)) for name in table.data}

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.raw(key)
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self._fail(key, "must be a list of strings")
        return tuple(value)

    def items(self, key: str) -> list[object]:
        value = self.raw(key)
        if not isinstance(value, list):
            raise self._fail(key, "must be a list")
        return value


def case_state_from_dict(data: Mapping[str, object]) -> CaseState:
    """The state :func:`case_state_to_dict` wrote; :class:`CaseStateError` if it is not one."""
    top = _Reader(data, "")
    if top.integer("version") != CASE_STATE_VERSION:
        raise CaseStateError(f"case state: version: must be {CASE_STATE_VERSION}")
    try:
        phase = CasePhase(top.text("phase"))
    except ValueError:
        choices = ", ".join(phase.value for phase in CasePhase)
        raise CaseStateError(f"case state: phase: must be one of {choices}") from None
    recent = tuple(
        _assessment_from_dict(_Reader(item, f"recent[{i}]"))
        for i, item in enumerate(top.items("recent"))
    )
    return CaseState(
        phase=phase,
        streak=top.integer("streak"),
        opened_on=top.optional_day("opened_on"),
        revision=top.integer("revision"),
        last_sent_on=top.optional_day("last_sent_on"),
        recent=recent,
        evidence=top.number("evidence") if "evidence" in top.data else 0.0,
        sent_point=top.optional_number("sent_point") if "sent_point" in top.data else None,
        sent_confidence=(
            top.optional_number("sent_confidence") if "sent_confidence" in top.data else None
        ),
        closed_on=top.optional_day("closed_on") if "closed_on" in top.data else None,
    )


def _assessment_from_dict(item: _Reader) -> DayAssessment:
    usage = _Reader(item.raw("usage"), item.where("usage"))
    coverage = _Reader(usage.raw("coverage"), usage.where("coverage"))
    raw_estimate = item.raw("estimate")
    estimate = None
    if raw_estimate is not None:
        fields = _Reader(raw_estimate, item.where("estimate"))
        estimate = OccupancyEstimate(
            point=fields.number("point"),
            low=fields.number("low"),
            high=fields.number("high"),
            signals=fields.strings("signals"),
            by_signal=fields.number_map("by_signal"),
            at_least=fields.number("at_least") if "at_least" in fields.data else 0.0,
        )
    return DayAssessment(
        day=item.day("day"),
        usage=DailyUsage(
            unit_id=usage.text("unit_id"),
            day=usage.day("day"),
            water_m3=usage.optional_number("water_m3"),
            electricity_kwh=usage.optional_number("electricity_kwh"),
            gas_m3=usage.optional_number("gas_m3"),
            coverage={str(kind): coverage.number(str(kind)) for kind in coverage.data},
            flags=usage.strings("flags"),
            quietest_hour=usage.number_map("quietest_hour"),
        ),
        estimate=estimate,
        legal_cap=item.integer("legal_cap"),
        context=item.number_map("context"),
    )

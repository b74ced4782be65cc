"""Closes a building day: from the day's stored readings to decisions and signed alerts.

For every unit: daily usage from the raw totals (pure core); for a unit with a smart lock, its
lock window (the last ``window_days`` days of stored door events, summarised exactly as
``gateway backtest`` does, counted from the first day the lock was heard); for the building, the
day's stops at each floor from the lifts' stored counters (``floor_stops_day``, as in
``gateway backtest``), which the core weighs against the neighbours; an occupancy estimate
against the unit's legal cap; one step of the unit's alert decision; and, when the decision says
so, an alert body that is checked against the wire contract, given the next sequence number,
signed and put in the outbox.

Everything a day's close writes (case states and baselines, daily usage, the signed alerts in
the outbox, and the day as the last closed) is ONE transaction: a crash or a full disk in the
middle leaves the day unclosed with nothing of it kept, and the next close does it again from
the same states, so a raised alert is never lost between a saved state and its outbox row.
The outbox is what the uplink sends; nothing here touches the network. Runs synchronously (the
daemon calls it in a worker thread).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from gateway.config.gateway_file import GatewayConfig, UnitSpec
from gateway.core.alert_body import UnitFacts
from gateway.core.alert_decision import (
    OVERCROWDING,
    DayAssessment,
    DecisionAction,
    over_cap_confidence,
)
from gateway.core.baselines import UnitBaseline
from gateway.core.building_day import UnitDayInputs, UnitDayResult, close_building_day
from gateway.core.case_state_json import case_state_from_dict, case_state_to_dict
from gateway.core.floor_stops import floor_stops_day
from gateway.core.lock_activity import LockDay, summarise_lock_day
from gateway.core.other_cases import LEAK, METER_FAULT
from gateway.store.gateway_store import GatewayStore
from gateway.store.lift_counters import FloorCounters, by_floor
from gateway.store.outbox import OutboxMessage
from gateway.store.readings import Windows
from gateway.wire.contract import require_valid
from gateway.wire.signer import EnvelopeSigner

log = logging.getLogger(__name__)

CASE_KINDS = (OVERCROWDING, LEAK, METER_FAULT)
BASELINE = "baseline"  # stored beside the cases: what the unit learned about itself


@dataclass(frozen=True, slots=True)
class RaisedAlert:
    unit_id: str
    kind: str
    alert_id: str
    revision: int
    estimate: float
    legal_cap: int


@dataclass(slots=True)
class DayReport:
    day: date
    units_watched: int = 0
    units_with_data: int = 0
    units_over_cap: int = 0
    raised: list[RaisedAlert] = field(default_factory=list)
    results: list[UnitDayResult] = field(default_factory=list)  # every unit's, in config order


def local_day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=tz)
    return start, start + timedelta(days=1)


class DayCloser:
    def __init__(self, config: GatewayConfig, store: GatewayStore, signer: EnvelopeSigner) -> None:
        self._config = config
        self._store = store
        self._signer = signer
        self._tz = config.gateway.timezone
        self._settings = config.detector_settings

    def close_day(self, day: date, now: datetime) -> DayReport:
        report = DayReport(day=day, units_watched=len(self._config.units))
        start, end = local_day_bounds(day, self._tz)
        until = end + timedelta(seconds=self._config.polling.day_close_delay_s)
        windows = self._store.readings.day_window(start, end, min(until, now), self._tz)
        inputs = [self._inputs(unit, day, windows) for unit in self._config.units]
        lift_windows = self._store.lifts.day_window(start, end, min(until, now), self._tz)
        floor_stops = self._stops_by_floor(day, by_floor(lift_windows))
        results = close_building_day(inputs, day, self._tz, self._settings, now, floor_stops)
        report.results = results
        with self._store.transaction():
            self._keep(report, results, now)
            self._store.readings.keep_carry(end, windows)
            self._store.lifts.keep_carry(end, lift_windows)
            self._store.set_last_closed_day(day)
        return report

    def _keep(self, report: DayReport, results: list[UnitDayResult], now: datetime) -> None:
        """Write the day's results and alerts (inside the day's one transaction)."""
        usage_rows = []
        for unit, result in zip(self._config.units, results, strict=True):
            for kind, state in result.states.items():
                self._store.cases.save(unit.unit_id, kind, case_state_to_dict(state))
            self._store.cases.save(unit.unit_id, BASELINE, result.baseline.to_dict())
            assessment = result.assessment
            if assessment.estimate is not None:
                report.units_with_data += 1
                if over_cap_confidence(assessment.estimate, assessment.legal_cap) >= (
                    self._config.decision.min_confidence
                ):
                    report.units_over_cap += 1
            usage_rows.append(_usage_row(unit.unit_id, assessment))
            for decision in result.decisions:
                if decision.action is DecisionAction.CLOSE:
                    log.info("unit %s: %s case closed locally", unit.unit_id, decision.kind)
            report.raised.extend(self._send(unit, body, result, now) for body in result.alerts)
        self._store.usage.save(usage_rows)

    def _inputs(self, unit: UnitSpec, day: date, windows: Windows) -> UnitDayInputs:
        states = {}
        for kind in CASE_KINDS:
            stored = self._store.cases.get(unit.unit_id, kind)
            if stored is not None:
                states[kind] = case_state_from_dict(stored)
        stored_baseline = self._store.cases.get(unit.unit_id, BASELINE)
        return UnitDayInputs(
            facts=unit_facts(unit),
            baseline=UnitBaseline()
            if stored_baseline is None
            else UnitBaseline.from_dict(stored_baseline),
            readings=windows.get(unit.unit_id, {}),
            limits=self._config.counter_limits(unit),
            states=states,
            lock_days=self.lock_window(unit.unit_id, day),
        )

    def floor_stops(self, day: date, start: datetime, end: datetime) -> dict[int, float | None]:
        """The day's stops at each floor over all lifts, from the stored counters around the
        day (for tools and tests; the close reads them in its one pass)."""
        return self._stops_by_floor(day, self._store.lifts.between(start, end, self._tz))

    def _stops_by_floor(self, day: date, counters: FloorCounters) -> dict[int, float | None]:
        return {
            floor: floor_stops_day(by_elevator, floor, day, self._tz)
            for floor, by_elevator in counters.items()
        }

    def lock_window(self, unit_id: str, day: date) -> tuple[LockDay, ...] | None:
        """The lock window ending on ``day``; ``None`` for a unit whose lock was never heard
        (like backtest, a lock counts from its first event, and then every day counts)."""
        if unit_id not in self._config.lock_unit_ids:
            return None
        first = self._store.lock_events.first_time(unit_id, self._tz)
        if first is None or first.date() > day:
            return None
        oldest = max(first.date(), day - timedelta(days=self._settings.locks.window_days - 1))
        days = [oldest + timedelta(days=n) for n in range((day - oldest).days + 1)]
        start, _ = local_day_bounds(days[0], self._tz)
        _, end = local_day_bounds(day, self._tz)
        events = self._store.lock_events.between(unit_id, start, end, self._tz)
        return tuple(summarise_lock_day(events, d, self._tz) for d in days)

    def _send(
        self, unit: UnitSpec, body: dict[str, object], result: UnitDayResult, now: datetime
    ) -> RaisedAlert:
        require_valid("alert", body)
        kind, revision = str(body["kind"]), int(str(body["revision"]))
        topic = self._config.topic("alert")
        seq = self._store.sequence.next()
        token = self._signer.sign_alert(topic, int(now.timestamp()), seq, body)
        alert_id = str(body["alert_id"])
        self._store.outbox.enqueue(
            OutboxMessage(seq, topic, token, alert_id, unit.unit_id, kind, revision, 0, body),
            created_at=now,
        )
        estimate = body["estimated_occupancy"]
        assert isinstance(estimate, dict)
        legal_cap = result.assessment.legal_cap
        log.info(
            "unit %s: %s alert %s revision %d queued (estimate %.1f, legal cap %d)",
            unit.unit_id,
            kind,
            alert_id,
            revision,
            estimate["point"],
            legal_cap,
        )
        return RaisedAlert(
            unit.unit_id, kind, alert_id, revision, float(estimate["point"]), legal_cap
        )


def unit_facts(unit: UnitSpec) -> UnitFacts:
    return UnitFacts(unit.unit_id, unit.floor, unit.area_m2, unit.rooms)


def _usage_row(unit_id: str, assessment: DayAssessment) -> dict[str, object]:
    usage, estimate = assessment.usage, assessment.estimate
    return {
        "unit_id": unit_id,
        "day": assessment.day.isoformat(),
        "water_m3": usage.water_m3,
        "electricity_kwh": usage.electricity_kwh,
        "gas_m3": usage.gas_m3,
        "estimate_point": None if estimate is None else estimate.point,
        "estimate_low": None if estimate is None else estimate.low,
        "estimate_high": None if estimate is None else estimate.high,
        "legal_cap": assessment.legal_cap,
        "flags": ",".join(usage.flags),
    }

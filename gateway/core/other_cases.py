"""Cases other than overcrowding, judged on the same closed days with the same lifecycle.

- ``leak``: water that never rests, not even in the quietest hour of the day, at
  ``water_leak_lph`` or more, day after day. Useful to the household and the building manager
  on its own, and the reason a leak never counts as people (``core.occupancy``).
- ``meter_fault``: signals that contradict each other. An electricity meter that reads next to
  nothing while water runs or the door is used every day is broken, bypassed or tampered with
  (a flat that people live in always draws power: a fridge alone needs about 1 kWh a day). A
  water meter stuck on one value all day while the flat clearly draws power for people and the
  door is used is the same, the other way round.

Each is a judge for :func:`core.alert_decision.decide`: the day in, an observation and its
confidence out. Their decision parameters are fixed here: they describe the physics of pipes
and meters, not a city's policy.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.core.alert_decision import DayAssessment, DecisionParams, Observation
from gateway.core.occupancy import PerCapitaNorms, leak_flow_m3h

LEAK = "leak"
METER_FAULT = "meter_fault"

LEAK_PARAMS = DecisionParams(
    sustain_days=3, clear_days=2, min_confidence=0.5, update_every_days=7, max_evidence_days=14
)
FAULT_PARAMS = DecisionParams(
    sustain_days=2, clear_days=2, min_confidence=0.5, update_every_days=7, max_evidence_days=14
)
DEAD_ELECTRICITY_KWH_DAY = 0.2  # less than any lived-in flat draws in a day
ACTIVE_WATER_M3_DAY = 0.05  # 50 litres: someone is there


def leak_judge(
    norms: PerCapitaNorms,
) -> Callable[[DayAssessment, DecisionParams], tuple[Observation, float]]:
    def judge(assessment: DayAssessment, params: DecisionParams) -> tuple[Observation, float]:
        if "water_m3" not in assessment.usage.quietest_hour:
            return Observation.UNKNOWN, 0.0
        flow = leak_flow_m3h(assessment.usage, norms)
        if flow <= 0:
            return Observation.UNDER, 0.0
        # Twice the threshold or more leaves no doubt; just above it, a dripping tap might.
        return Observation.OVER, min(1.0, 0.5 + 0.25 * flow * 1000 / norms.water_leak_lph)

    return judge


def judge_meter_fault(
    assessment: DayAssessment, params: DecisionParams
) -> tuple[Observation, float]:
    usage = assessment.usage
    electricity, water = usage.electricity_kwh, usage.water_m3
    if electricity is None:
        return Observation.UNKNOWN, 0.0
    by_signal = {} if assessment.estimate is None else assessment.estimate.by_signal
    locks = by_signal.get("locks", 0.0)
    lived_in = (water is not None and water >= ACTIVE_WATER_M3_DAY) or locks >= 1.0
    if electricity < DEAD_ELECTRICITY_KWH_DAY and lived_in:
        return Observation.OVER, 0.9
    water_stuck = water is not None and water == 0.0
    if water_stuck and locks >= 1.0 and by_signal.get("electricity", 0.0) >= 1.0:
        return Observation.OVER, 0.8
    return Observation.UNDER, 0.0

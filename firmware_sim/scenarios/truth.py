"""Ground truth of a scenario: what held in which flat and when, as ``truth.csv`` rows.

One row per condition of every flat: ``unit_id,label,from,to,detail``. ``label`` is
``group_rental`` or a confounder (``large_family``, ``guests``, ``holiday``, ``vacancy``,
``leak``, ``home_business``, ``ev_charging``, ``meter_replaced``, ``meter_offline``,
``meter_rollover``); ``from`` and ``to`` are local times with their offset, ``to`` empty when
the condition lasts to the end; ``detail`` is ``key=value`` pairs joined by ``;`` (the variant
and head count of a group rental, the meter kind of a meter event, ...). Rows are sorted by
flat, then ``from``, then label. The gateway never reads this file; evaluators do.
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware_sim.scenarios.model import Scenario

__all__ = ["TRUTH_COLUMNS", "TruthRow", "truth_rows"]

TRUTH_COLUMNS = ("unit_id", "label", "from", "to", "detail")


@dataclass(frozen=True, slots=True, order=True)
class TruthRow:
    unit_id: str
    from_minute: int
    label: str
    to_minute: int | None
    detail: str

    def as_csv(self, scenario: Scenario) -> list[str]:
        end = "" if self.to_minute is None else scenario.moment(self.to_minute).isoformat()
        start = scenario.moment(self.from_minute).isoformat()
        return [self.unit_id, self.label, start, end, self.detail]


def truth_rows(scenario: Scenario) -> list[TruthRow]:
    """Every condition of every flat of ``scenario``, sorted."""
    rows = [
        TruthRow(
            timeline.unit.unit_id,
            condition.from_minute,
            condition.label,
            condition.to_minute,
            condition.detail(),
        )
        for timeline in scenario.timelines
        for condition in timeline.conditions
    ]
    return sorted(rows, key=lambda row: (row.unit_id, row.from_minute, row.label))

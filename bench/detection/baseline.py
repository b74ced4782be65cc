"""The naive baseline: the "digital whistle" rule, usage above k times the standard level.

A street office's first system flagged a flat when its water or electricity use "greatly
exceeded the standard level" for its type and size. Here the standard level is what the most
people the flat may legally hold would use (legal cap x per-capita norm; for electricity the
base load on top), and a flat is flagged when either meter exceeds ``k`` times that on
``sustain_days`` days in a row. One alert per flat; it never closes. It reads the same daily
usage as the detector (the backtest hands every closed day to the benchmark), so the two differ
only in the rule.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from score import RaisedAlert

from gateway.core.building_day import UnitDayResult
from gateway.core.occupancy import PerCapitaNorms


@dataclass
class WhistleRule:
    k: float = 1.5
    sustain_days: int = 2
    norms: PerCapitaNorms = field(default_factory=PerCapitaNorms)
    alerts: list[RaisedAlert] = field(default_factory=list)
    _streak: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    _flagged: set[str] = field(default_factory=set)

    def observe(self, day: date, closed_at: datetime, results: list[UnitDayResult]) -> None:
        """A backtest day observer: judge every unit's closed day by the whistle rule."""
        for result in results:
            unit_id, assessment = result.unit_id, result.assessment
            if unit_id in self._flagged:
                continue
            usage, cap = assessment.usage, max(1, assessment.legal_cap)
            water_standard = cap * self.norms.water_m3_per_person_day
            power_standard = (
                self.norms.electricity_base_kwh_day
                + cap * self.norms.electricity_kwh_per_person_day
            )
            over = (usage.water_m3 is not None and usage.water_m3 > self.k * water_standard) or (
                usage.electricity_kwh is not None
                and usage.electricity_kwh > self.k * power_standard
            )
            self._streak[unit_id] = self._streak[unit_id] + 1 if over else 0
            if self._streak[unit_id] >= self.sustain_days:
                self._flagged.add(unit_id)
                self.alerts.append(RaisedAlert(unit_id, f"whistle.{unit_id}", 0, closed_at))

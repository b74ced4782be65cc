"""Building time a test moves by hand: simulators and the gateway read the same instant, and
nobody sleeps. Satisfies the clock protocols of ``firmware_sim`` and ``gateway`` (``start``,
``now()``, ``wall_seconds()``: one building second is one wall second)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class SteppedClock:
    start: datetime
    moment: datetime = field(init=False)  # starts at ``start``; the test moves it

    def __post_init__(self) -> None:
        self.moment = self.start

    def now(self) -> datetime:
        return self.moment

    def wall_seconds(self, building_seconds: float) -> float:
        return building_seconds

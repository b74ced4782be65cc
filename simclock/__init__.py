"""One clock for every process of a building, real or simulated.

A deployment runs on the wall clock. A demo or a test runs a *simulated* clock: simulated time
``start`` corresponds to the wall instant ``anchor`` (Unix seconds) and advances ``scale`` times
faster than the wall clock. Every process started with the same three numbers agrees on the
simulated time without talking to the others, so the simulators, the gateway and the cloud bridge
can run as separate programs exactly as they would in production.

Time-outs and retry delays are wall-clock durations (the network does not speed up); schedules
that belong to the building (poll intervals, day boundaries) are simulated durations, converted
with :meth:`SimClock.wall_seconds`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = ["SimClock"]


@dataclass(frozen=True, slots=True)
class SimClock:
    """Maps the wall clock onto building time. ``scale == 1`` and no ``start`` is the real clock."""

    start: datetime | None = None
    anchor: float = 0.0
    scale: float = 1.0

    def __post_init__(self) -> None:
        if self.scale <= 0:
            raise ValueError(f"scale: must be > 0, got {self.scale}")
        if self.start is not None and self.start.tzinfo is None:
            raise ValueError("start: must carry a UTC offset")

    @classmethod
    def real(cls) -> SimClock:
        return cls()

    @property
    def simulated(self) -> bool:
        return self.start is not None

    def now(self) -> datetime:
        """The current building time, timezone-aware (UTC unless ``start`` says otherwise)."""
        return self.at_wall(time.time())

    def at_wall(self, wall: float) -> datetime:
        """The building time at wall-clock instant ``wall`` (Unix seconds)."""
        if self.start is None:
            return datetime.fromtimestamp(wall, tz=UTC)
        return self.start + timedelta(seconds=(wall - self.anchor) * self.scale)

    def timestamp(self) -> float:
        """The current building time as Unix seconds."""
        return self.now().timestamp()

    def wall_seconds(self, building_seconds: float) -> float:
        """How long ``building_seconds`` of building time last on the wall clock."""
        return building_seconds / self.scale

    def to_args(self) -> list[str]:
        """Command-line flags that recreate this clock in another process (see ``from_args``)."""
        if self.start is None:
            return []
        return [
            "--sim-start",
            self.start.isoformat(),
            "--sim-anchor",
            repr(self.anchor),
            "--time-scale",
            repr(self.scale),
        ]

    @classmethod
    def from_args(
        cls, sim_start: str | None, sim_anchor: float | None, time_scale: float
    ) -> SimClock:
        """Build a clock from the three command-line values every program accepts.

        With no ``sim_start`` the clock is real (and ``time_scale`` must be 1). With a start but
        no anchor, simulated time starts now.
        """
        if sim_start is None:
            if time_scale != 1.0:
                raise ValueError("--time-scale needs --sim-start (a simulated clock)")
            return cls.real()
        try:
            start = datetime.fromisoformat(sim_start)
        except ValueError as err:
            raise ValueError(f"--sim-start: not an ISO 8601 time: {sim_start!r}") from err
        if start.tzinfo is None:
            raise ValueError(f"--sim-start: needs a UTC offset, e.g. +08:00: {sim_start!r}")
        anchor = time.time() if sim_anchor is None else sim_anchor
        return cls(start=start, anchor=anchor, scale=time_scale)

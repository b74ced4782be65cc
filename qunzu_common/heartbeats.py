"""Progress of a daemon's loops, so its systemd watchdog pings only while every loop moves.

Each supervised loop holds a :class:`Heartbeat` and, before anything that may take a while,
beats with how long it may take until its next beat (``beat(within_s)``): a poller before a
round (the round's worst-case time-outs) and before its sleep (the sleep plus a margin). A loop
is *overdue* once that promise has passed without another beat: it is stuck in an await that
never ends (a missing time-out, a deadlock, a lost wake-up), which restarting the process
cures. A loop that is merely slow within its promise, or legitimately idle, stays fresh.

Pure bookkeeping on a monotonic clock that is passed in (tests advance it); no I/O, no asyncio.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Overdue:
    """A loop that promised to beat by ``due_at`` and has not: late by ``late_s``."""

    name: str
    late_s: float


class Heartbeat:
    """One loop's handle: ``beat(within_s)`` promises the next beat within ``within_s``."""

    def __init__(self, name: str, monotonic: Callable[[], float], within_s: float) -> None:
        self.name = name
        self._monotonic = monotonic
        self.due_at = monotonic() + within_s

    def beat(self, within_s: float) -> None:
        if within_s < 0:
            raise ValueError(f"{self.name}: a heartbeat cannot be due in the past ({within_s})")
        self.due_at = self._monotonic() + within_s


class _NoHeartbeat(Heartbeat):
    """For loops run outside a watched daemon (recording, tests): beats go nowhere."""

    def __init__(self) -> None:
        super().__init__("unwatched", lambda: 0.0, 0.0)

    def beat(self, within_s: float) -> None:
        return None


NO_HEARTBEAT: Heartbeat = _NoHeartbeat()


class Heartbeats:
    """The loops of one process and whether each has kept its last promise."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._loops: dict[str, Heartbeat] = {}

    def register(self, name: str, first_within_s: float) -> Heartbeat:
        """A new loop, due to beat first within ``first_within_s``; names are unique."""
        if name in self._loops:
            raise ValueError(f"a loop named {name!r} is already registered")
        heartbeat = Heartbeat(name, self._monotonic, first_within_s)
        self._loops[name] = heartbeat
        return heartbeat

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._loops)

    def overdue(self) -> list[Overdue]:
        """The loops past their promise, most late first."""
        now = self._monotonic()
        late = [
            Overdue(name, now - beat.due_at)
            for name, beat in self._loops.items()
            if now > beat.due_at
        ]
        return sorted(late, key=lambda o: (-o.late_s, o.name))


def describe_overdue(overdue: list[Overdue]) -> str:
    """``poll:converter-1 overdue by 12 s, uplink overdue by 3 s``."""
    return ", ".join(f"{o.name} overdue by {o.late_s:.0f} s" for o in overdue)

"""Counting and logging refused messages without letting a flood of them flood the log.

A peer (or an attacker) can send thousands of bad messages a second; each must cost a counter
increment and almost nothing else. :class:`RefusalLog` logs the first refusal of each kind at
once, then at most one summary line per ``interval_s`` with how many more were refused, and
keeps plain integer totals per kind in :attr:`counts` for whoever exports metrics later.
Time comes from a monotonic clock passed in, so tests advance it instead of sleeping.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable

__all__ = ["RefusalLog"]


class RefusalLog:
    def __init__(
        self,
        logger: logging.Logger,
        what: str,
        *,
        interval_s: float = 60.0,
        level: int = logging.WARNING,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = logger
        self._what = what
        self._interval_s = interval_s
        self._level = level
        self._monotonic = monotonic
        self.counts: Counter[str] = Counter()
        """Refusals since start, by kind (``depth``, ``bytes``, ``bad signature``, ...)."""
        self._unlogged = 0
        self._last_logged: float | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def refused(self, kind: str, detail: str) -> None:
        """Count one refusal; log it if it is the first of its kind, else fold it into the next
        summary line, written once ``interval_s`` has passed since the last one."""
        first_of_kind = kind not in self.counts
        self.counts[kind] += 1
        now = self._monotonic()
        if self._last_logged is None:
            self._last_logged = now
        if first_of_kind:
            self._log.log(self._level, "refused %s %s", self._what, detail)
            return
        if now - self._last_logged < self._interval_s:
            self._unlogged += 1
            return
        self._log.log(
            self._level,
            "refused %s %s (and %d more since the last report; totals %s)",
            self._what,
            detail,
            self._unlogged,
            dict(self.counts),
        )
        self._unlogged = 0
        self._last_logged = now

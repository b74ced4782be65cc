"""The one supervisor: runs a long-lived task, restarts it after a fault, logs state changes only.

Every long-running task of the gateway and of the cloud bridge (pollers, lift watches, the lock
listener, the uplink, the day loop, the bridge's ingest) runs under :func:`supervise`. A task
handles the failures it expects itself (a broker that is away, a meter that does not answer);
whatever else escapes it is a fault (a bug, a full disk, a malformed message nobody foresaw) and
must not take the process down. This is the one place in the project that catches every
exception.

Theory of operation:

- **Back-off.** The n-th failure in a row waits ``start_s * 2**(n-1)`` seconds, capped at
  ``max_s``, times a random factor in ``[1 - jitter, 1 + jitter]``, so tasks that fail together
  do not retry in lock step.
- **Health.** A run that has lasted ``healthy_after_s`` counts as healthy: the back-off starts
  over from ``start_s`` and, if the task was down, the supervisor says it is back up. A timer
  beside the run notices this while the run is still going, not only when it next fails.
- **Logging, one line per change of state.** *Down* (ERROR) when a task fails, with the
  traceback only the first time an error of that type and message is seen; while it stays down,
  another failure of a known kind is logged at DEBUG only, and every ``summary_every_s`` one
  WARNING line says it is still down and counts the failures; *back up* (INFO) once a run is
  healthy again. A task that returns is finished and not restarted.
- **Time is injected**: ``clock`` reads seconds, ``sleep`` waits them, ``rand`` draws the
  jitter, so tests advance time instead of sleeping.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

__all__ = ["RestartPolicy", "supervise"]

log = logging.getLogger(__name__)

SEEN_ERRORS_KEPT = 64  # distinct errors whose traceback was logged; the oldest is forgotten


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    """How :func:`supervise` waits between attempts and when it calls a run healthy."""

    start_s: float = 1.0
    max_s: float = 60.0
    jitter: float = 0.5
    healthy_after_s: float = 60.0
    summary_every_s: float = 600.0

    def __post_init__(self) -> None:
        if not 0 < self.start_s <= self.max_s:
            raise ValueError("start_s: must be > 0 and <= max_s")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter: must be in [0, 1)")
        if self.healthy_after_s <= 0 or self.summary_every_s <= 0:
            raise ValueError("healthy_after_s, summary_every_s: must be > 0")

    def delay(self, failures: int, rand: float) -> float:
        """The wait after the ``failures``-th failure in a row; ``rand`` is uniform in [0, 1)."""
        base = min(self.max_s, self.start_s * math.pow(2, min(failures - 1, 64)))
        return base * (1 - self.jitter + 2 * self.jitter * rand)


class _TaskHealth:
    """The supervised task's state (up or down) and the log line each change of it earns."""

    def __init__(self, name: str, policy: RestartPolicy) -> None:
        self.name = name
        self.policy = policy
        self.failures = 0  # in a row, since the last healthy run
        self.down_since: float | None = None
        self.summarised_at = 0.0
        self.failures_since_summary = 0
        self.seen: dict[tuple[str, str], None] = {}  # insertion-ordered, bounded

    def failed(self, err: Exception, now: float, retry_in: float) -> None:
        self.failures += 1
        cause = _innermost(err)
        kind = (_type_name(cause), str(cause))
        new = kind not in self.seen
        if new:
            self.seen[kind] = None
            if len(self.seen) > SEEN_ERRORS_KEPT:
                del self.seen[next(iter(self.seen))]
        what = f"{kind[0]}: {kind[1]}" if kind[1] else kind[0]
        if self.down_since is None:
            self.down_since = now
            self.summarised_at = now
            self.failures_since_summary = 0
            log.error(
                "task %s down: %s; restarting it in %.1f s%s",
                self.name,
                what,
                retry_in,
                "" if new else " (traceback logged before)",
                exc_info=err if new else None,
            )
            return
        self.failures_since_summary += 1
        if new:  # still down, but failing in a way not seen before: worth its traceback, once
            log.error("task %s still down, now with: %s", self.name, what, exc_info=err)
        elif now - self.summarised_at >= self.policy.summary_every_s:
            log.warning(
                "task %s still down after %.0f s: %d failures in the last %.0f s (last: %s)",
                self.name,
                now - self.down_since,
                self.failures_since_summary,
                now - self.summarised_at,
                what,
            )
            self.summarised_at = now
            self.failures_since_summary = 0
        else:
            log.debug(
                "task %s failed again: %s; restarting it in %.1f s", self.name, what, retry_in
            )

    def healthy(self, now: float) -> None:
        self.failures = 0
        if self.down_since is not None:
            log.info("task %s back up after %.0f s down", self.name, now - self.down_since)
            self.down_since = None


async def supervise(
    name: str,
    run: Callable[[], Awaitable[None]],
    *,
    policy: RestartPolicy | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rand: Callable[[], float] = random.random,
) -> None:
    """Run ``run()`` until it returns; after a fault, restart it with back-off, forever.

    Cancellation (and every other ``BaseException`` that is not an ``Exception``) passes
    through: stopping the supervisor stops the task."""
    policy = policy or RestartPolicy()
    health = _TaskHealth(name, policy)

    async def declare_healthy_in_time() -> None:
        await sleep(policy.healthy_after_s)
        health.healthy(clock())

    while True:
        started = clock()
        timer = asyncio.create_task(declare_healthy_in_time(), name=f"{name}:health-timer")
        fault: Exception | None = None
        try:
            await run()
        # The one supervisor: whatever a task did not handle is logged here (see the module
        # docstring for how), and the task is started again, the process never ends for it.
        except Exception as err:  # noqa: BLE001
            fault = err
        finally:
            timer.cancel()
            await asyncio.wait([timer])
        if fault is None:
            return
        now = clock()
        if now - started >= policy.healthy_after_s:
            health.healthy(now)  # the timer may not have had its turn yet
        retry_in = policy.delay(health.failures + 1, rand())
        health.failed(fault, now, retry_in)
        del fault  # the traceback holds the failed run's frames; do not keep them while waiting
        await sleep(retry_in)


def _innermost(err: BaseException) -> BaseException:
    """The first leaf of nested exception groups (a task group's failure names its cause)."""
    while isinstance(err, BaseExceptionGroup) and err.exceptions:
        err = err.exceptions[0]
    return err


def _type_name(err: BaseException) -> str:
    module = type(err).__module__
    return type(err).__qualname__ if module == "builtins" else f"{module}.{type(err).__qualname__}"

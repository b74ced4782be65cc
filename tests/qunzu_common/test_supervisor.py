"""The supervisor on virtual time: back-off that doubles and starts over after a healthy run,
one log line per change of state, a traceback only for an error not seen before, a periodic
"still down" summary, and cancellation that stops it. Nothing sleeps: the supervisor's clock and
sleep are a :class:`VirtualTime` the test advances."""

from __future__ import annotations

import asyncio
import heapq
import logging
import sqlite3
from collections.abc import Awaitable, Callable

import pytest

from qunzu_common.supervisor import RestartPolicy, supervise

pytestmark = pytest.mark.timeout(10)

POLICY = RestartPolicy(start_s=1.0, max_s=8.0, jitter=0.0, healthy_after_s=60.0)


class VirtualTime:
    """A clock and a sleep for the code under test; :meth:`run_until` lets every task run and
    jumps the clock from one sleeper's deadline to the next."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._count = 0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        wake = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + seconds, self._count, wake))
        self._count += 1
        await wake

    async def run_until(self, end: float) -> None:
        while True:
            for _ in range(10):  # let every runnable task reach its next sleep
                await asyncio.sleep(0)
            while self._sleepers and self._sleepers[0][2].done():  # cancelled sleeps
                heapq.heappop(self._sleepers)
            if not self._sleepers or self._sleepers[0][0] > end:
                self.now = end
                return
            deadline, _, wake = heapq.heappop(self._sleepers)
            self.now = deadline
            wake.set_result(None)


def scripted(
    time: VirtualTime, runs: list[tuple[float, Exception | None]], starts: list[float]
) -> Callable[[], Awaitable[None]]:
    """A task whose n-th run lasts ``runs[n][0]`` seconds, then raises ``runs[n][1]`` (or,
    ``None``, returns); after the script it runs until cancelled. Notes each start time."""
    script = iter(runs)

    async def run() -> None:
        starts.append(time.now)
        duration, error = next(script, (1e9, None))
        await time.sleep(duration)
        if error is not None:
            raise error

    return run


def start(
    time: VirtualTime, run: Callable[[], Awaitable[None]], **kw: object
) -> asyncio.Task[None]:
    return asyncio.create_task(
        supervise(
            "poll:bus-a",
            run,
            policy=kw.pop("policy", POLICY),  # type: ignore[arg-type]
            clock=time.clock,
            sleep=time.sleep,
            rand=lambda: 0.5,
        ),
        name="supervisor",
    )


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def lines(caplog: pytest.LogCaptureFixture, level: int = logging.INFO) -> list[str]:
    return [
        f"{r.levelname} {r.getMessage()}{' +traceback' if r.exc_info else ''}"
        for r in caplog.records
        if r.name == "qunzu_common.supervisor" and r.levelno >= level
    ]


async def test_backoff_doubles_up_to_its_cap_and_starts_over_after_a_healthy_run() -> None:
    time, starts = VirtualTime(), []
    boom = RuntimeError("boom")
    runs = [(0, boom)] * 5 + [(70, boom)] + [(0, boom)] * 2
    task = start(time, scripted(time, runs, starts))
    await time.run_until(200)
    # Waits 1, 2, 4, 8, 8 (the cap); a run of 70 s is healthy: back to 1, 2, 4; then it runs on.
    assert starts == [0, 1, 3, 7, 15, 23, 94, 96, 100]
    await stop(task)


async def test_a_run_shorter_than_the_healthy_period_does_not_reset_the_backoff() -> None:
    time, starts = VirtualTime(), []
    boom = RuntimeError("boom")
    task = start(time, scripted(time, [(0, boom), (59, boom), (0, boom)], starts))
    await time.run_until(200)
    assert starts == [0, 1, 62, 66]  # waits 1, then 59 s of running, then 2, then 4
    await stop(task)


async def test_one_line_per_change_of_state_and_a_traceback_once_per_kind_of_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="qunzu_common.supervisor")
    time, starts = VirtualTime(), []
    locked = sqlite3.OperationalError("database is locked")
    in_a_group = ExceptionGroup("unhandled errors in a TaskGroup", [locked])
    runs: list[tuple[float, Exception | None]] = [(0, in_a_group)] * 6  # down, five more tries
    runs += [(100, locked)]  # back up (at 60 s into the run), down again at 100 s
    runs += [(0, KeyError("seq"))]  # still down, a new kind of error: its traceback, once
    runs += [(0, locked)] * 3
    task = start(time, scripted(time, runs, starts))
    await time.run_until(500)
    assert lines(caplog) == [
        "ERROR task poll:bus-a down: sqlite3.OperationalError: database is locked;"
        " restarting it in 1.0 s +traceback",
        "INFO task poll:bus-a back up after 91 s down",
        "ERROR task poll:bus-a down: sqlite3.OperationalError: database is locked;"
        " restarting it in 1.0 s (traceback logged before)",
        "ERROR task poll:bus-a still down, now with: KeyError: 'seq' +traceback",
        "INFO task poll:bus-a back up after 83 s down",  # the script is over: it keeps running
    ]
    debug = [line for line in lines(caplog, logging.DEBUG) if line.startswith("DEBUG")]
    assert len(debug) == 5 + 3  # each further attempt: a debug line, never a traceback
    assert not any(line.endswith("+traceback") for line in debug)
    assert len(starts) == 12  # and it did keep trying
    await stop(task)


async def test_a_task_that_stays_down_is_summarised_every_period(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="qunzu_common.supervisor")
    time, starts = VirtualTime(), []
    policy = RestartPolicy(start_s=1.0, max_s=60.0, jitter=0.0, summary_every_s=600.0)
    boom = OSError("no route to host")
    task = start(time, scripted(time, [(0, boom)] * 100, starts), policy=policy)
    await time.run_until(1900)
    logged = lines(caplog)
    assert logged[0].startswith("ERROR task poll:bus-a down: OSError: no route to host")
    summaries = logged[1:]
    assert len(summaries) == 3, summaries  # near 600, 1200 and 1800 s
    assert all(s.startswith("WARNING task poll:bus-a still down after") for s in summaries)
    assert "failures in the last" in summaries[0]
    assert not any(s.endswith("+traceback") for s in summaries)
    await stop(task)


async def test_a_task_that_returns_is_finished_and_cancellation_stops_the_task() -> None:
    time, starts = VirtualTime(), []
    task = start(time, scripted(time, [(0, RuntimeError("x")), (5, None)], starts))
    await time.run_until(100)
    assert task.done() and task.exception() is None
    assert starts == [0, 1]

    cancelled = asyncio.Event()

    async def forever() -> None:
        try:
            await time.sleep(1e9)
        finally:
            cancelled.set()

    task = start(time, forever)
    await time.run_until(10)
    await stop(task)
    assert cancelled.is_set()
    await asyncio.sleep(0)
    assert [t.get_name() for t in asyncio.all_tasks() if "health-timer" in t.get_name()] == []


def test_policies_that_make_no_sense_are_refused() -> None:
    with pytest.raises(ValueError, match="start_s"):
        RestartPolicy(start_s=0)
    with pytest.raises(ValueError, match="jitter"):
        RestartPolicy(jitter=1.0)
    assert RestartPolicy(start_s=2, max_s=60, jitter=0.5).delay(3, 0.0) == 4.0
    assert RestartPolicy(start_s=2, max_s=60, jitter=0.5).delay(30, 0.999) < 90

"""Serves a generated scenario's smart locks live over Bluetooth LE on bumble's emulated radio:
the door events ``locks.csv`` holds, each in its lock's log once the simulated clock passes it.

Every flat with a lock in the scenario gets an event-log lock (our GATT profile,
docs/ble-locks.md; ``firmware_sim.ble.emulated_locks.EventLogLock``), the n-th in unit order at
MAC ``C0:51:5A`` followed by n in three bytes, each on its own emulated controller on one
``LocalLink``. Event-log locks because a record keeps the lock's own time, so the gateway
stores every event at its scenario time whatever the time scale, and resumes after a lost link
without loss or repeat (an advertising lock's event would get the time it was heard).

A lock's log starts at the simulated start; :class:`LockReplay` appends each event of
``ScenarioReadings.lock_events_between`` (the rows of ``locks.csv``) when the clock passes its
time. A credential name of the scenario (``fp-3a9c``, ``card-..``, ``pin-..``, ``app-..``)
becomes the opening method and a key id (the kind in the high 16 bits, the hex tag in the low
ones), so distinct credentials stay distinct; an unlock without one is a mechanical key.

A gateway reaches the locks through ``firmware_sim.ble.hci_over_tcp``: one more controller on
the link, whose host connects over TCP (``[ble] bumble_transport = "tcp-client:HOST:PORT"``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bumble.link import LocalLink

from firmware_sim import FirmwareSimError
from firmware_sim.ble.emulated_locks import EventLogLock, device_on_link
from firmware_sim.ble.hci_over_tcp import HciOverTcp
from firmware_sim.ble.lock_frames import LockAction
from firmware_sim.scenarios import LockRecord, Scenario, ScenarioReadings

__all__ = [
    "LOCK_MAC_PREFIX",
    "LockReplay",
    "ReplayClock",
    "ScenarioLock",
    "ScenarioLockError",
    "ServedLocks",
    "lock_action",
    "scenario_lock_layout",
    "scenario_locks_on_link",
    "serving_locks",
]

log = logging.getLogger(__name__)

LOCK_MAC_PREFIX = "C0:51:5A"
LOCK_ADVERTISING_INTERVAL_MS = 200.0  # a lock waiting for a gateway (real ones: 0.1 to 1 s)
METHOD_FOR_KIND = {"fp": "fingerprint", "card": "card", "pin": "pin", "app": "bluetooth"}
KIND_CODE = {"fp": 1, "card": 2, "pin": 3, "app": 4}
LOOK_AHEAD = timedelta(days=1)  # how far ahead the replay looks for the next event
MAX_WAIT_S = 60.0  # wall seconds the replay sleeps at most before looking again


class ScenarioLockError(FirmwareSimError):
    """A scenario lock event this simulator cannot put on a lock."""


class ReplayClock(Protocol):
    """What the replay needs of a clock (``simclock.SimClock``, or a clock a test steps)."""

    def now(self) -> datetime: ...

    def wall_seconds(self, building_seconds: float) -> float: ...


@dataclass(frozen=True, slots=True)
class ScenarioLock:
    """The lock on one flat's door."""

    unit_id: str
    mac: str


def scenario_lock_layout(scenario: Scenario) -> tuple[ScenarioLock, ...]:
    """Every flat's lock, in unit order, with its MAC (pure: the layout only)."""
    flats = [t.unit.unit_id for t in scenario.timelines if t.unit.has_lock]
    return tuple(
        ScenarioLock(
            unit_id, f"{LOCK_MAC_PREFIX}:{n >> 16:02X}:{(n >> 8) & 0xFF:02X}:{n & 0xFF:02X}"
        )
        for n, unit_id in enumerate(flats, start=1)
    )


def lock_action(record: LockRecord) -> LockAction:
    """What the lock logs for one row of ``locks.csv``."""
    if not record.credential:
        method = "key" if record.event == "unlock" else "unknown"
        return LockAction(record.ts, record.event, method, 0)
    kind, _, tag = record.credential.partition("-")
    if kind not in KIND_CODE or not 1 <= len(tag) <= 4:
        raise ScenarioLockError(
            f"lock of unit {record.unit_id}, {record.ts.isoformat()}: credential"
            f" {record.credential!r} is not KIND-HEX (KIND one of {', '.join(KIND_CODE)})"
        )
    try:
        number = int(tag, 16)
    except ValueError as err:
        raise ScenarioLockError(
            f"lock of unit {record.unit_id}, {record.ts.isoformat()}: credential"
            f" {record.credential!r} has no hex tag"
        ) from err
    return LockAction(
        record.ts, record.event, METHOD_FOR_KIND[kind], KIND_CODE[kind] << 16 | number
    )


class LockReplay:
    """Appends each scenario lock event to its lock's log once the clock has passed it."""

    def __init__(
        self, readings: ScenarioReadings, locks: Mapping[str, EventLogLock], since: datetime
    ) -> None:
        self.locks = dict(locks)  # by unit id
        self._readings = readings
        self.reported_until = since

    async def report_until(self, t: datetime) -> int:
        """Log every event from the last call's ``t`` (or ``since``) up to ``t`` excluded; how
        many."""
        if t <= self.reported_until:
            return 0
        records = self._readings.lock_events_between(self.reported_until, t)
        for record in records:
            await self.locks[record.unit_id].report(lock_action(record))
        self.reported_until = t
        return len(records)

    async def run(self, clock: ReplayClock) -> None:
        """Report events as the clock passes them, sleeping until the next one; until
        cancelled."""
        while True:
            now = clock.now()
            reported = await self.report_until(now)
            if reported:
                log.debug("%d lock events up to %s", reported, now.isoformat())
            upcoming = self._readings.lock_events_between(now, now + LOOK_AHEAD)
            wait = (upcoming[0].ts - now) if upcoming else LOOK_AHEAD
            await asyncio.sleep(min(clock.wall_seconds(wait.total_seconds()), MAX_WAIT_S))


async def scenario_locks_on_link(
    scenario: Scenario,
    readings: ScenarioReadings,
    link: LocalLink,
    since: datetime,
    *,
    advertising_interval_ms: float = LOCK_ADVERTISING_INTERVAL_MS,
) -> LockReplay:
    """Every lock of ``scenario`` on ``link``, powered on and advertising, their logs empty;
    the replay that fills them from ``since`` on."""
    locks: dict[str, EventLogLock] = {}
    for lock in scenario_lock_layout(scenario):
        device = device_on_link(link, lock.mac, f"lock-{lock.unit_id}")
        locks[lock.unit_id] = EventLogLock(device, advertising_interval_ms=advertising_interval_ms)
        await locks[lock.unit_id].start()
    return LockReplay(readings, locks, since)


@dataclass(frozen=True, slots=True)
class ServedLocks:
    """The locks being served: their replay, the radio a gateway connects to, and the task
    that runs the replay (it ends only by failing, or when serving stops)."""

    replay: LockReplay
    radio: HciOverTcp
    replaying: asyncio.Task[None]


@contextlib.asynccontextmanager
async def serving_locks(
    scenario: Scenario,
    readings: ScenarioReadings,
    clock: ReplayClock,
    *,
    since: datetime,
    host: str,
    port: int,
) -> AsyncIterator[ServedLocks]:
    """Every lock of ``scenario``, its log holding the events from ``since`` on as ``clock``
    passes them, their radio listening on ``host:port``; all stopped when the block ends.
    RadioError if the radio cannot listen."""
    link = LocalLink()  # type: ignore[no-untyped-call]
    replay = await scenario_locks_on_link(scenario, readings, link, since)
    radio = HciOverTcp(link, host=host, port=port)
    try:
        await radio.start()
        replaying = asyncio.create_task(replay.run(clock), name="lock-replay")
        try:
            yield ServedLocks(replay, radio, replaying)
        finally:
            replaying.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await replaying
            await radio.stop()
    finally:
        for lock in replay.locks.values():
            await lock.device.power_off()

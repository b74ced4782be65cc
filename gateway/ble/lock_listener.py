"""Listens to the building's smart locks and keeps their door events, pseudonymised.

One task group, every task named:

- ``ble-scan``: reads every advert; those of a configured MiBeacon or BTHome lock are decoded
  (pure core), each event let through once (:class:`RepeatFilter`), its credential
  pseudonymised, and kept;
- ``ble-log:<MAC>``: one per event-log (GATT) lock: connect, subscribe, ask for every record
  after the last one stored, keep them as they come; on a lost link reconnect with jittered
  back-off and resume, so nothing is lost or counted twice;
- ``ble-silence``: reports a lock unheard for ``silent_after_s`` (building time) once, and
  again when it is heard back.

This is the boundary where credentials are pseudonymised: a decoded event's raw key id, scoped
by its lock (:func:`lock_credential`), goes through :class:`CredentialPseudonymiser` before the
event leaves this module, so the store, traces and alerts only ever see pseudonyms.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

from gateway.ble.credentials import CredentialPseudonymiser
from gateway.ble.transport import BleError, BleTransport
from gateway.ble.xiaomi_products import xiaomi_product
from gateway.config.devices import LockSpec
from gateway.core.bthome_lock import decode_bthome
from gateway.core.lock_adverts import (
    ADVERT_SERVICE_UUIDS,
    Decoded,
    DecodedLockEvent,
    Refused,
    RepeatFilter,
)
from gateway.core.lock_log_record import (
    EVENT_LOG_UUID,
    RESUME_FROM_UUID,
    decode_log_record,
    resume_from_value,
)
from gateway.core.mibeacon import decode_mibeacon
from gateway.observations import StoredLockEvent
from simclock import SimClock

log = logging.getLogger(__name__)

MAX_ADVERT_CLOCK_SKEW = timedelta(days=1)
KeepEvents = Callable[[list[StoredLockEvent]], Awaitable[None]]
LogPosition = Callable[[str], Awaitable[int]]
MAX_BACKOFF_S = 60.0


def lock_credential(mac: str, key_id: str) -> str:
    """What is pseudonymised: a key id means something only on its own lock (slot 3 of one door
    is not slot 3 of the next), so the lock's MAC is part of it; no key id stays empty."""
    return f"{mac}/{key_id}" if key_id else ""


class LockListener:
    def __init__(
        self,
        locks: Sequence[LockSpec],
        transport: BleTransport,
        pseudonyms: CredentialPseudonymiser,
        clock: SimClock,
        keep: KeepEvents,
        log_position: LogPosition,
        silent_after_s: float,
        connect_timeout_s: float = 10.0,
    ) -> None:
        self._locks = {lock.mac: lock for lock in locks}
        self._transport = transport
        self._pseudonyms = pseudonyms
        self._clock = clock
        self._keep = keep
        self._log_position = log_position
        self._silent_after_s = silent_after_s
        self._connect_timeout_s = connect_timeout_s
        self._repeats = RepeatFilter()
        self._refusals: dict[str, str] = {}  # the last reason each lock was refused, logged once
        self._products: dict[str, int] = {}
        self._clock_warned: set[str] = set()  # advertising locks whose clock is off, logged once
        now = clock.now()
        self.last_heard: dict[str, datetime] = {mac: now for mac in self._locks}
        self.silent: set[str] = set()
        self.connected: set[str] = set()  # event-log locks on a live link count as heard
        self.adverts_heard: dict[str, int] = dict.fromkeys(self._locks, 0)  # repeats included

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            if any(lock.kind != "gatt" for lock in self._locks.values()):
                group.create_task(self._scan(), name="ble-scan")
            for lock in self._locks.values():
                if lock.kind == "gatt":
                    group.create_task(self._follow_log(lock), name=f"ble-log:{lock.mac}")
            group.create_task(self._watch_silence(), name="ble-silence")

    # -- adverts -------------------------------------------------------------------------------
    async def _scan(self) -> None:
        async for advert in self._transport.adverts():
            lock = self._locks.get(advert.mac)
            if lock is None or lock.kind == "gatt":
                continue
            payload = advert.service_data.get(ADVERT_SERVICE_UUIDS[lock.kind])
            if payload is None:
                continue
            self._heard(lock)
            self.adverts_heard[lock.mac] += 1
            if lock.kind == "mibeacon":
                outcome = decode_mibeacon(payload, lock.mac, lock.bind_key_bytes)
            else:
                outcome = decode_bthome(payload, lock.mac)
            if isinstance(outcome, Refused):
                self._refused(lock, outcome.reason)
                continue
            self._accepted(lock, outcome)
            fresh = [e for e in outcome.events if self._repeats.first_time(e)]
            if fresh:
                await self._keep([self._pseudonymised(lock, e) for e in fresh])

    def _accepted(self, lock: LockSpec, decoded: Decoded) -> None:
        if self._refusals.pop(lock.mac, None) is not None:
            log.info("lock %s (unit %s): adverts decode again", lock.mac, lock.unit_id)
        product = decoded.product_id
        if product is None or self._products.get(lock.mac) == product:
            return
        self._products[lock.mac] = product
        known = xiaomi_product(product)
        if known is None:
            log.info("lock %s: unknown MiBeacon product 0x%04x", lock.mac, product)
        elif known[1]:
            log.info("lock %s (unit %s) is a %s", lock.mac, lock.unit_id, known[0])
        else:
            log.warning("lock %s is a %s, not a door lock: check its MAC", lock.mac, known[0])

    def _refused(self, lock: LockSpec, reason: str) -> None:
        if self._refusals.get(lock.mac) == reason:
            return
        self._refusals[lock.mac] = reason
        log.warning("lock %s (unit %s): advert refused: %s", lock.mac, lock.unit_id, reason)

    def _pseudonymised(self, lock: LockSpec, event: DecodedLockEvent) -> StoredLockEvent:
        return StoredLockEvent(
            unit_id=lock.unit_id,
            lock_mac=lock.mac,
            source=lock.kind,
            seq=event.seq,
            ts=self._event_time(lock, event),
            event=event.event,
            method=event.method,
            credential=self._pseudonyms.pseudonym(lock_credential(lock.mac, event.key_id)),
        )

    def _event_time(self, lock: LockSpec, event: DecodedLockEvent) -> datetime:
        """The lock's own time of the event, unless it has none or an advertising lock's clock
        is off by more than a day (a reset lock counts from 1970): then the time heard."""
        now = self._clock.now()
        if event.device_ts is None:
            return now
        if lock.kind != "gatt" and abs(event.device_ts - now) > MAX_ADVERT_CLOCK_SKEW:
            if lock.mac not in self._clock_warned:
                self._clock_warned.add(lock.mac)
                log.warning(
                    "lock %s (unit %s): its clock says %s; using the time heard instead",
                    lock.mac,
                    lock.unit_id,
                    event.device_ts.isoformat(timespec="seconds"),
                )
            return now
        return event.device_ts  # an event-log record may rightly be days old

    # -- event-log locks -----------------------------------------------------------------------
    async def _follow_log(self, lock: LockSpec) -> None:
        backoff = 1.0
        while True:
            try:
                await self._stream_log(lock)
                backoff = 1.0
                log.info("lock %s (unit %s): link lost; reconnecting", lock.mac, lock.unit_id)
            except BleError as err:
                log.warning("lock %s (unit %s): %s", lock.mac, lock.unit_id, err)
                await asyncio.sleep(backoff * random.uniform(0.5, 1.5))
                backoff = min(backoff * 2, MAX_BACKOFF_S)

    async def _stream_log(self, lock: LockSpec) -> None:
        """One connection: resume after the last stored record, keep records until it drops."""
        link = await self._transport.connect(lock.mac, self._connect_timeout_s)
        self.connected.add(lock.mac)
        try:
            self._heard(lock)
            position = await self._log_position(lock.mac)
            records: asyncio.Queue[bytes] = asyncio.Queue()
            await link.subscribe(EVENT_LOG_UUID, records.put_nowait)
            await link.write(RESUME_FROM_UUID, resume_from_value(position))
            log.info("lock %s (unit %s): event log from #%d", lock.mac, lock.unit_id, position + 1)
            gone = asyncio.ensure_future(link.wait_disconnected())
            try:
                while True:
                    record = asyncio.ensure_future(records.get())
                    await asyncio.wait({record, gone}, return_when=asyncio.FIRST_COMPLETED)
                    if not record.done():
                        record.cancel()
                        return
                    position = await self._keep_record(lock, record.result(), position)
            finally:
                gone.cancel()
        finally:
            self.connected.discard(lock.mac)
            await link.disconnect()

    async def _keep_record(self, lock: LockSpec, value: bytes, position: int) -> int:
        self._heard(lock)
        outcome = decode_log_record(value, lock.mac)
        if isinstance(outcome, Refused):
            self._refused(lock, outcome.reason)
            return position
        if outcome.seq <= position:  # sent again after a reconnect: already kept
            return position
        await self._keep([self._pseudonymised(lock, outcome)])
        return outcome.seq

    # -- silence -------------------------------------------------------------------------------
    def _heard(self, lock: LockSpec) -> None:
        self.last_heard[lock.mac] = self._clock.now()
        if lock.mac in self.silent:
            self.silent.discard(lock.mac)
            log.info("lock %s (unit %s) is heard again", lock.mac, lock.unit_id)

    async def _watch_silence(self) -> None:
        while True:
            await asyncio.sleep(self._clock.wall_seconds(self._silent_after_s / 4))
            now = self._clock.now()
            for mac, heard in self.last_heard.items():
                if mac in self.silent or mac in self.connected:
                    continue
                if (now - heard).total_seconds() < self._silent_after_s:
                    continue
                self.silent.add(mac)
                lock = self._locks[mac]
                log.warning(
                    "lock %s (unit %s) silent since %s: battery, range or tampering?",
                    mac,
                    lock.unit_id,
                    heard.isoformat(timespec="seconds"),
                )

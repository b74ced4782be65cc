"""A radio without hardware: the gateway's bumble central and emulated locks, each on its own
emulated controller, on one in-process ``LocalLink``. Real HCI, ATT and GATT traffic; only RF
and link-layer timing are simulated (see docs/ble-locks.md)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from bumble.link import LocalLink

from firmware_sim.ble.emulated_locks import device_on_link
from gateway.ble.bumble_transport import BumbleTransport
from gateway.ble.credentials import CredentialPseudonymiser
from gateway.ble.lock_listener import LockListener
from gateway.config.devices import LockSpec
from gateway.observations import StoredLockEvent
from gateway.store.gateway_store import GatewayStore
from simclock import SimClock

GATEWAY_MAC = "F0:00:00:00:00:01"
PSEUDONYM_KEY = bytes(range(32))


@dataclass
class Radio:
    link: LocalLink
    transport: BumbleTransport
    store: GatewayStore
    pseudonyms: CredentialPseudonymiser = field(
        default_factory=lambda: CredentialPseudonymiser(PSEUDONYM_KEY)
    )
    kept: list[StoredLockEvent] = field(default_factory=list)

    async def keep(self, events: list[StoredLockEvent]) -> None:
        await asyncio.to_thread(self.store.lock_events.add, events)
        self.kept.extend(events)  # after the store: a test that sees them may read the store

    async def log_position(self, mac: str) -> int:
        return await asyncio.to_thread(self.store.lock_events.log_position, mac)

    def listener(self, locks: list[LockSpec], silent_after_s: float = 60.0) -> LockListener:
        return LockListener(
            locks,
            self.transport,
            self.pseudonyms,
            SimClock.real(),
            self.keep,
            self.log_position,
            silent_after_s=silent_after_s,
            connect_timeout_s=2.0,
        )

    def stored(self, unit_id: str) -> list[tuple[str, str]]:
        start = datetime(2000, 1, 1, tzinfo=UTC)
        events = self.store.lock_events.between(unit_id, start, start + timedelta(days=20000), UTC)
        return [(e.event, e.credential) for e in events]


@pytest.fixture
async def radio(tmp_path: Path) -> AsyncIterator[Radio]:
    link = LocalLink()
    transport = BumbleTransport(device_on_link(link, GATEWAY_MAC, "gateway"))
    await transport.start()
    store = GatewayStore(tmp_path / "gateway.sqlite")
    yield Radio(link, transport, store)
    store.close()


async def until(predicate: Callable[[], bool], within_s: float = 5.0) -> None:
    """Poll ``predicate`` every 10 ms until it holds; fail after ``within_s``. (Polling, since
    what it watches is state inside bumble and the listener, which signal nothing.)"""
    async with asyncio.timeout(within_s):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def listening(listener: LockListener) -> AsyncIterator[LockListener]:
    """``listener`` running in a task of its own for the block; stopped (cancelled) after it."""
    task = asyncio.create_task(listener.run(), name="lock-listener")
    try:
        yield listener
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

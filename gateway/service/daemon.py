"""The gateway daemon: one event loop, one task group, every task named.

Tasks:
- ``poll:<bus>``: one per Modbus bus, reads every meter and counting lift terminal each polling
  interval (building time);
- ``lift:<elevator id>``: one per lift in position mode, samples its car's floor and door every
  ``position_poll_s`` on its bus's link and hands on the stops counted from them each polling
  interval (``gateway.modbus.lift_position_poller``);
- ``day-closer``: after each local midnight, closes the day(s) just ended (catching up on days
  missed while the gateway was down) and prunes old raw readings and lift counters;
- ``uplink``: keeps the MQTT session and drains the outbox (it retries a lost broker itself);
- ``ble-locks``: only when ``[[locks]]`` lists smart locks: listens to them over Bluetooth and
  keeps their pseudonymised door events (``gateway.ble.lock_listener``);
- ``stop``: waits for SIGTERM/SIGINT and ends the group;
- ``systemd``: READY=1 once the others have started, then the watchdog while every poller,
  lift watch, the day closer and the uplink keep their heartbeats
  (``qunzu_common.systemd_watchdog``); a no-op outside systemd.

Every task but ``stop`` runs under :func:`qunzu_common.supervisor.supervise`: one that fails
unexpectedly (a SQLite error, a malformed message, a bug) is restarted with jittered back-off
that starts over after a healthy run, each change of state logged once; the process itself keeps
running, polling goes on. That supervisor is the one place allowed to catch every exception.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, timedelta
from functools import partial
from importlib.metadata import PackageNotFoundError, version

from gateway.ble.lock_radio import configured_pseudonymiser, listen_to_locks
from gateway.ble.transport import BleTransport
from gateway.config.gateway_file import GatewayConfig
from gateway.modbus.bus_poller import (
    ROUND_MARGIN_S,
    ModbusBusPoller,
    RoundOutcome,
    build_pollers,
    poll_forever,
)
from gateway.modbus.lift_position_poller import watch_lift_forever
from gateway.observations import ElevatorSample, MeterSample, Sample, StoredLockEvent
from gateway.replay.trace_recorder import TraceRecorder
from gateway.service.day_closer import DayCloser, DayReport, local_day_bounds
from gateway.service.metrics import GatewayMetrics
from gateway.store.database import StoreFull
from gateway.store.disk_budget import DiskBudget
from gateway.store.gateway_store import GatewayStore
from gateway.wire.keys import load_signing_key
from gateway.wire.signer import EnvelopeSigner
from gateway.wire.uplink import Uplink
from qunzu_common.heartbeats import Heartbeats
from qunzu_common.supervisor import supervise
from qunzu_common.systemd_notify import SystemdNotifier
from qunzu_common.systemd_watchdog import keep_systemd_informed
from simclock import SimClock

log = logging.getLogger(__name__)


# Heartbeat promises (``qunzu_common.heartbeats``): closing a day (with catching up, pruning and
# the summary) and the uplink's first connection attempt must each finish within these.
DAY_CLOSE_BUDGET_S = 1800.0
UPLINK_FIRST_BEAT_S = 120.0


class _StopRequested(Exception):
    pass


def package_version() -> str:
    try:
        return version("qunzu-watch")
    except PackageNotFoundError:
        return "unknown"


class GatewayDaemon:
    def __init__(
        self,
        config: GatewayConfig,
        clock: SimClock,
        recorder: TraceRecorder | None = None,
        ble_transport: BleTransport | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        # Checks the profiles now, so a bad configuration fails before anything starts; the
        # clients themselves are made in run(), inside the event loop pymodbus needs.
        build_pollers(config, clock, check_only=True)
        self.pollers: list[ModbusBusPoller] = []
        self.recorder = recorder
        self.store = GatewayStore(
            config.gateway.store_path, reading_interval_s=config.store.reading_interval_s
        )
        self.signer = EnvelopeSigner(config.gateway.id, load_signing_key(config.gateway.key_file))
        self.uplink = Uplink(config, self.store, self.signer, clock, package_version())
        self.budget = DiskBudget(self.store, config.store.max_bytes, config.store.reserve_bytes)
        self._telemetry_dropped = 0
        self.day_closer = DayCloser(config, self.store, self.signer)
        # Locks: the key is read (or made) now, so a bad one fails before anything starts.
        # ``ble_transport`` replaces the stack named in [ble] (tests hand in a bumble one).
        self.pseudonyms = configured_pseudonymiser(config)
        self.ble_transport = ble_transport
        self.heartbeats = Heartbeats()
        self.systemd = SystemdNotifier()
        self._day_progress = self.heartbeats.register("day-closer", DAY_CLOSE_BUDGET_S)
        self.metrics = None if config.metrics is None else GatewayMetrics(config.gateway.store_path)

    async def run(self, stop: asyncio.Event) -> None:
        self.pollers = build_pollers(self.config, self.clock)
        boot = await asyncio.to_thread(self.store.sequence.start_boot)
        await asyncio.to_thread(self.budget.ensure_reserve)
        log.info(
            "gateway %s starting (boot %s, epoch %d, key %s, %d units, %d buses)",
            self.config.gateway.id,
            boot.boot_id,
            boot.boot_epoch,
            self.signer.kid,
            len(self.config.units),
            len(self.pollers),
        )
        self.uplink.progress = self.heartbeats.register("uplink", UPLINK_FIRST_BEAT_S)
        try:
            if self.metrics is not None and self.config.metrics is not None:
                self.metrics.serve(self.config.metrics.host, self.config.metrics.port)
            async with asyncio.TaskGroup() as group:
                start_polling(
                    group,
                    self.pollers,
                    self.config.polling.interval_s,
                    self.clock,
                    self._keep,
                    self.heartbeats,
                    None if self.metrics is None else self.metrics.observe_round,
                )
                group.create_task(supervise("day-closer", self._day_loop), name="day-closer")
                group.create_task(supervise("uplink", self.uplink.run), name="uplink")
                group.create_task(supervise("disk-budget", self._budget_loop), name="disk-budget")
                if self.config.locks:
                    group.create_task(supervise("ble-locks", self._listen), name="ble-locks")
                group.create_task(_raise_when_set(stop), name="stop")
                group.create_task(
                    keep_systemd_informed(self.systemd, self.heartbeats, self._status),
                    name="systemd",
                )
        except* _StopRequested:
            log.info("gateway stopping")
            self.systemd.stopping(f"gateway {self.config.gateway.id} stopping")
        finally:
            for poller in self.pollers:
                await poller.close()
            if self.recorder is not None:
                self.recorder.close()
            if self.metrics is not None:
                self.metrics.close()
            self.store.close()

    def _status(self) -> str:
        """The unit's STATUS line once running (``systemctl status qunzu-gateway``)."""
        return (
            f"gateway {self.config.gateway.id}: polling {len(self.pollers)}"
            f" bus{'' if len(self.pollers) == 1 else 'es'} every"
            f" {self.config.polling.interval_s:g} s, {len(self.config.units)} units,"
            f" uplink to {self.config.mqtt.host}:{self.config.mqtt.port}"
        )

    async def _keep(self, samples: list[Sample]) -> None:
        meters = [s for s in samples if isinstance(s, MeterSample)]
        lifts = [s for s in samples if isinstance(s, ElevatorSample)]
        try:
            if meters:
                await asyncio.to_thread(self.store.readings.add, meters)
            if lifts:
                await asyncio.to_thread(self.store.lifts.add, lifts)
        except StoreFull as err:
            await self._telemetry_lost(len(samples), err)
        if self.recorder is not None:
            self.recorder.add(samples)

    async def _listen(self) -> None:
        assert self.pseudonyms is not None  # made in __init__ whenever locks are configured
        await listen_to_locks(
            self.config,
            self.ble_transport,
            self.pseudonyms,
            self.clock,
            self._keep_lock_events,
            self._log_position,
        )

    async def _keep_lock_events(self, events: list[StoredLockEvent]) -> None:
        try:
            added = await asyncio.to_thread(self.store.lock_events.add, events)
        except StoreFull as err:
            await self._telemetry_lost(len(events), err)
            return
        log.debug("kept %d new lock events of %d", added, len(events))
        if self.recorder is not None:
            self.recorder.add_lock_events(events)

    async def _log_position(self, lock_mac: str) -> int:
        return await asyncio.to_thread(self.store.lock_events.log_position, lock_mac)

    async def _day_loop(self) -> None:
        tz = self.config.gateway.timezone
        today = self.clock.now().astimezone(tz).date()
        last_closed = await asyncio.to_thread(self.store.last_closed_day)
        progress = self._day_progress
        if last_closed is None:  # first start: watch from today on
            last_closed = today - timedelta(days=1)
            await asyncio.to_thread(self.store.set_last_closed_day, last_closed)
        while True:
            now = self.clock.now().astimezone(tz)
            yesterday = now.date() - timedelta(days=1)
            day = last_closed + timedelta(days=1)
            while day <= yesterday:
                progress.beat(DAY_CLOSE_BUDGET_S)
                report = await self._close(day, now)
                await self._after_close(report, now)
                last_closed = day
                day += timedelta(days=1)
            await self._sleep_until_close_of(now.date())

    async def _after_close(self, report: DayReport, now: datetime) -> None:
        log.info(
            "closed %s: %d/%d units with data, %d over their legal cap, %d alerts queued",
            report.day,
            report.units_with_data,
            report.units_watched,
            report.units_over_cap,
            len(report.raised),
        )
        if report.raised:
            self.uplink.wake()
        retention = timedelta(days=self.config.gateway.raw_retention_days)
        await asyncio.to_thread(self.store.readings.prune, now - retention)
        await asyncio.to_thread(self.store.lifts.prune, now - retention)
        # Always, so the events of a lock taken out of the configuration do not linger either.
        await asyncio.to_thread(self.store.lock_events.prune, now - retention)
        await asyncio.to_thread(self.store.outbox.prune_acknowledged, now - retention)
        open_cases = await asyncio.to_thread(self.store.cases.open_count)
        await self.uplink.publish_summary(
            {
                "gateway_id": self.config.gateway.id,
                "date": report.day.isoformat(),
                "units_watched": report.units_watched,
                "units_with_data": report.units_with_data,
                "units_over_cap": report.units_over_cap,
                "open_cases": open_cases,
            }
        )

    async def _close(self, day: date, now: datetime) -> DayReport:
        """Close ``day`` in one transaction; on a full disk, make room (the reserve, then the
        oldest telemetry) and close it again: a day's alerts are worth more than readings."""
        try:
            return await asyncio.to_thread(self.day_closer.close_day, day, now)
        except StoreFull as err:
            log.error(  # noqa: TRY400 - SQLite's message says it all; no traceback
                "closing %s failed on a full disk (%s); making room and retrying", day, err
            )
            await asyncio.to_thread(self.budget.release_reserve)
            await asyncio.to_thread(self.budget.make_room)
            return await asyncio.to_thread(self.day_closer.close_day, day, now)

    async def _telemetry_lost(self, count: int, err: StoreFull) -> None:
        """Readings that could not be kept: say so once per episode, make room, carry on."""
        if self._telemetry_dropped == 0:
            log.error("store full, telemetry dropped until there is room again: %s", err)
        self._telemetry_dropped += count
        await asyncio.to_thread(self.budget.release_reserve)
        await asyncio.to_thread(self.budget.make_room)

    async def _budget_loop(self) -> None:
        """Keep the store within its disk budget, and the full-disk reserve in place."""
        while True:
            await asyncio.to_thread(self.budget.enforce)
            if await asyncio.to_thread(self.budget.ensure_reserve) and self._telemetry_dropped:
                log.warning(
                    "store has room again; %d telemetry records were dropped meanwhile",
                    self._telemetry_dropped,
                )
                self._telemetry_dropped = 0
            await asyncio.sleep(self.config.store.budget_check_s)

    async def _sleep_until_close_of(self, day: date) -> None:
        _, end = local_day_bounds(day, self.config.gateway.timezone)
        close_at = end + timedelta(seconds=self.config.polling.day_close_delay_s)
        remaining = (close_at - self.clock.now()).total_seconds()
        pause = max(0.0, self.clock.wall_seconds(remaining))
        self._day_progress.beat(pause + DAY_CLOSE_BUDGET_S)
        await asyncio.sleep(pause)


async def record_meters(
    config: GatewayConfig,
    clock: SimClock,
    recorder: TraceRecorder,
    stop: asyncio.Event,
    ble_transport: BleTransport | None = None,
) -> None:
    """Poll the meters and lifts (and listen to the locks) into a trace only: no store, no
    alerts, no network but the buses and the locks' radio."""
    pollers = build_pollers(config, clock)
    pseudonyms = configured_pseudonymiser(config)
    log_positions: dict[str, int] = {}  # no store: each recording resumes event logs from 0

    async def keep(samples: list[Sample]) -> None:
        recorder.add(samples)

    async def keep_lock_events(events: list[StoredLockEvent]) -> None:
        recorder.add_lock_events(events)
        for event in events:
            if event.source == "gatt":
                log_positions[event.lock_mac] = max(event.seq, log_positions.get(event.lock_mac, 0))

    async def log_position(lock_mac: str) -> int:
        return log_positions.get(lock_mac, 0)

    async def listen() -> None:
        assert pseudonyms is not None
        await listen_to_locks(
            config, ble_transport, pseudonyms, clock, keep_lock_events, log_position
        )

    log.info("recording %d buses into %s", len(pollers), recorder.directory)
    try:
        async with asyncio.TaskGroup() as group:
            start_polling(group, pollers, config.polling.interval_s, clock, keep)
            if config.locks:
                group.create_task(supervise("ble-locks", listen), name="ble-locks")
            group.create_task(_raise_when_set(stop), name="stop")
    except* _StopRequested:
        log.info(
            "recording stopped: %d readings, %d lift counters and %d lock events written",
            recorder.written,
            recorder.elevator_rows_written,
            recorder.lock_events_written,
        )
    finally:
        for poller in pollers:
            await poller.close()
        recorder.close()


def start_polling(
    group: asyncio.TaskGroup,
    pollers: Sequence[ModbusBusPoller],
    interval_s: float,
    clock: SimClock,
    keep: Callable[[list[Sample]], Awaitable[None]],
    heartbeats: Heartbeats | None = None,
    on_round: Callable[[RoundOutcome], None] | None = None,
) -> None:
    """A supervised task per bus with a polling round every ``interval_s`` building seconds,
    and one per lift in position mode; both hand their samples to ``keep``. With
    ``heartbeats``, each bus's polling loop keeps a heartbeat there; ``on_round`` hears each
    round's outcome."""
    for poller in pollers:
        if poller.has_rounds:
            name = f"poll:{poller.bus.name}"
            poll = partial(poll_forever, poller, interval_s, clock, keep)
            if heartbeats is not None:
                poll = partial(poll, heartbeats.register(name, poller.round_budget_s + 60.0))
            if on_round is not None:
                poll = partial(poll, on_round=on_round)
            group.create_task(supervise(name, poll), name=name)
        for lift in poller.positions:
            name = f"lift:{lift.lift.elevator_id}"
            watch = partial(watch_lift_forever, lift, clock, keep)
            if heartbeats is not None:
                busy = poller.round_budget_s + ROUND_MARGIN_S
                watch = partial(watch, heartbeats.register(name, busy), busy)
            group.create_task(supervise(name, watch), name=name)


async def _raise_when_set(stop: asyncio.Event) -> None:
    await stop.wait()
    raise _StopRequested


def install_stop_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

"""The ``systemd`` task of a daemon: READY once started, then the watchdog, only while alive.

Started as the last task of the daemon's task group, so by its first step every earlier task
has run its first step too; it then sends ``READY=1`` with a status line. When systemd asked for
a watchdog (``WatchdogSec=``), it wakes at half the interval and sends ``WATCHDOG=1`` only if
no loop in :class:`~qunzu_common.heartbeats.Heartbeats` is overdue. A stuck loop therefore stops
the pings and systemd restarts the service after ``WatchdogSec``; a blocked event loop stops
them too, since this task cannot run. A change between healthy and stalled is logged once and
shown as the unit's STATUS.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from qunzu_common.heartbeats import Heartbeats, describe_overdue
from qunzu_common.systemd_notify import SystemdNotifier

log = logging.getLogger(__name__)


async def keep_systemd_informed(
    notifier: SystemdNotifier, heartbeats: Heartbeats, status: Callable[[], str]
) -> None:
    """READY=1, then WATCHDOG=1 every half interval while no loop is overdue. Returns after
    READY when systemd asked for no watchdog (or did not start us)."""
    notifier.ready(status())
    if notifier.watchdog_s is None or not notifier.enabled:
        return
    period = notifier.watchdog_s / 2
    log.info(
        "systemd watchdog every %.1f s, watching %s",
        notifier.watchdog_s,
        ", ".join(heartbeats.names) or "the event loop only",
    )
    stalled = ""
    while True:
        overdue = heartbeats.overdue()
        now_stalled = describe_overdue(overdue)
        if not overdue:
            notifier.watchdog()
        if now_stalled and not stalled:
            log.error("withholding the systemd watchdog: %s", now_stalled)
            notifier.status(f"stalled: {now_stalled}")
        elif stalled and not now_stalled:
            log.info("every loop makes progress again; watchdog resumed")
            notifier.status(status())
        stalled = now_stalled
        await asyncio.sleep(period)

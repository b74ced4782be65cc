"""The uplink keeps its heartbeat both ways it legitimately waits: pumping the outbox of a
connected session (a beat every pump period), and backing off from a broker that is not there.
The tracker's clock is the test's, so "in time" is judged without sleeping through promises."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from building_demo.processes import free_port
from gateway.store.gateway_store import GatewayStore
from gateway.wire.uplink import PROGRESS_WITHIN_S, Uplink
from qunzu_common.heartbeats import Heartbeats
from simclock import SimClock
from tests.conftest import RunningBroker
from tests.gateway.test_uplink import SIGNER, config_for

pytestmark = pytest.mark.timeout(30)


@pytest.mark.parametrize("broker_up", [True, False], ids=["connected", "broker down"])
async def test_uplink_beats_while_connected_and_while_backing_off(
    tmp_path: Path, mosquitto: RunningBroker, broker_up: bool
) -> None:
    now = [0.0]
    heartbeats = Heartbeats(lambda: now[0])
    store = GatewayStore(tmp_path / "gateway.sqlite")
    port = mosquitto.port if broker_up else free_port()
    uplink = Uplink(config_for(tmp_path, port), store, SIGNER, SimClock.real(), "test")
    uplink.progress = heartbeats.register("uplink", 1.0)
    task = asyncio.create_task(uplink.run())
    try:
        for step in range(1, 4):
            now[0] = step * 100.0  # each promise in turn runs out ...
            renewed = now[0] + PROGRESS_WITHIN_S
            async with asyncio.timeout(5):  # ... and is renewed: a pump period, or a back-off
                while uplink.progress.due_at != renewed:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            assert heartbeats.overdue() == []
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        store.close()

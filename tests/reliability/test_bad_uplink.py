"""A bad uplink: every chunk between the gateway and its broker is late and every connection is
cut with a reset after a few seconds, while alerts keep being raised. Every alert arrives,
none twice, none refused, one ticket per case, once the link is good again."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from building_demo.processes import free_port
from tests.reliability.chain import Chain, wait_for
from tests.reliability.flaky_link import FlakyLink

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

BATCHES, PER_BATCH, CASES = 8, 10, 12
FLAKY_FOR_S = 40.0


def test_alerts_over_a_link_that_keeps_dying_all_arrive_once(tmp_path: Path) -> None:
    relay_port = free_port()
    chain = Chain(tmp_path, time_scale=3600.0, gateway_mqtt_port=relay_port)
    with chain, FlakyLink(relay_port, chain.mqtt_port, seed=7) as link:
        chain.start()
        chain.wait_bridge_subscribed("bridge-1", 1)
        for _ in range(BATCHES):
            chain.queue_alerts(PER_BATCH, CASES)
            time.sleep(FLAKY_FOR_S / BATCHES)
        assert link.cuts >= 5, "the link never died: the test proves nothing"
        assert chain.gateway is not None and chain.gateway.alive
        link.heal()
        assert wait_for(chain.drained, 120), chain.logs()
        verdict = chain.verdict()
    assert verdict.problems() == [], chain.logs()
    # The building's own alerts (its crowded flat) count too, so at least the queued ones.
    assert verdict.raised == verdict.delivered >= BATCHES * PER_BATCH
    assert len(verdict.tickets_per_case) >= CASES

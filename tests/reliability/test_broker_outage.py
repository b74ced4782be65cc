"""The broker is down for a whole simulated day while the building goes on: the gateway keeps
polling and closing days, alerts keep being raised into its outbox. When the broker is back,
every alert arrives, one ticket per case, and the backlog drains within a bound.

The broker is a mosquitto without persistence, killed outright: whatever it held is gone, and
only the gateway's outbox (kept until acknowledged) brings the alerts through.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.reliability.chain import Chain, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

TIME_SCALE = 7200.0  # a simulated day lasts 12 wall seconds
BATCHES, PER_BATCH, CASES = 6, 25, 30
# Reconnecting: both sides back off up to 30 s (x1.5 jitter); re-sends wait up to 8 s here.
DRAIN_BOUND_S = 90.0


def test_a_day_without_broker_loses_no_alert_and_drains_in_bounded_time(tmp_path: Path) -> None:
    with Chain(tmp_path, time_scale=TIME_SCALE) as chain:
        chain.start()
        chain.wait_bridge_subscribed("bridge-1", 1)
        chain.queue_alerts(PER_BATCH, CASES)
        assert wait_for(chain.drained, 60), chain.logs()

        chain.broker.kill()
        outage_start = chain.clock.now()
        for _ in range(BATCHES):
            chain.queue_alerts(PER_BATCH, CASES)
            time.sleep(chain.clock.wall_seconds(86400) / BATCHES)
        assert (chain.clock.now() - outage_start).total_seconds() >= 86400
        assert chain.gateway is not None and chain.gateway.alive
        assert "closed 2026-03" in chain.gateway.log_text(), "the building stopped meanwhile"
        pending = sum(1 for r in chain.outbox() if r["ack_status"] is None)
        assert pending == BATCHES * PER_BATCH

        back = time.monotonic()
        chain.broker.start()
        assert wait_for(chain.drained, DRAIN_BOUND_S + 30), chain.logs()
        drain_s = time.monotonic() - back
        verdict = chain.verdict()
        print(f"backlog of {pending} alerts drained in {drain_s:.1f} s")

    assert verdict.problems() == [], chain.logs()
    assert verdict.raised == verdict.delivered == (BATCHES + 1) * PER_BATCH
    assert len(verdict.tickets_per_case) >= CASES
    assert drain_s < DRAIN_BOUND_S

"""SIGKILL, the fault nothing can clean up after, aimed at the moments that matter.

- The gateway, again and again: right after a start (re-sending its backlog: between publish and
  ack; closing the days it missed), at a day close (the moment found on the shared simulated
  clock) and while polling. After each kill the store must pass ``PRAGMA quick_check``; at the
  end every alert of its outbox, acknowledged or not, is in the bridge's ``alerts_received``,
  none under two sequences, and every case has exactly one ticket.
- The bridge, while it works through a burst of alerts (killed once part of the burst is in its
  database, before all of it): the alerts it took but had not committed, or committed but not
  acknowledged, come again and are ticketed exactly once.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.reliability.chain import Chain, wait_for
from tests.reliability.faults import kill_bridge_during_bursts, kill_gateway_repeatedly

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def test_a_gateway_killed_at_any_moment_loses_and_doubles_nothing(tmp_path: Path) -> None:
    with Chain(tmp_path, time_scale=14400.0, poll_interval_s=1800) as chain:
        chain.start(gateway=False)
        chain.wait_bridge_subscribed("bridge-1", 1)
        moments = kill_gateway_repeatedly(chain, 12, random.Random(7), alerts_per_round=8, cases=12)
        chain.start_gateway()
        assert wait_for(chain.drained, 90), chain.logs()
        verdict = chain.verdict()
        closes = chain.gateway.log_text().count("closed 2026-") if chain.gateway else 0

    assert sum(moments.values()) == 12 and len(moments) == 3
    assert closes > 0, "no day was closed: the kills never met a day close"
    assert verdict.problems() == [], chain.logs()
    assert verdict.raised == verdict.delivered >= 12 * 8


def test_a_bridge_killed_mid_burst_tickets_each_alert_exactly_once(tmp_path: Path) -> None:
    with Chain(tmp_path, time_scale=3600.0, persistent_broker=True) as chain:
        chain.start()
        chain.wait_bridge_subscribed("bridge-1", 1)
        mid_burst = kill_bridge_during_bursts(chain, 6, random.Random(11), burst=60, cases=15)
        assert wait_for(chain.drained, 90), chain.logs()
        verdict = chain.verdict()

    assert mid_burst >= 3, "the kills did not land inside the bursts"
    assert verdict.problems() == [], chain.logs()
    assert verdict.raised == verdict.delivered == 6 * 60
    assert sum(verdict.tickets_per_case.values()) == len(verdict.cases) == 15

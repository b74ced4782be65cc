"""Fault loops shared by the tests and the soak (``bench/reliability/soak.py``): each kills a real
process at chosen moments and starts it again, and returns what it did."""

from __future__ import annotations

import random
import time
from collections import Counter
from datetime import timedelta

from tests.reliability.chain import Chain, wait_for

KILL_MOMENTS = ("publishing", "day-close", "polling")


def next_day_close_wall(chain: Chain) -> float:
    """Wall time (Unix) of the gateway's next day close: local midnight plus its delay."""
    now = chain.clock.now()
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    close = midnight + timedelta(seconds=600)
    return time.time() + chain.clock.wall_seconds((close - now).total_seconds())


def kill_gateway_repeatedly(
    chain: Chain, kills: int, rng: random.Random, *, alerts_per_round: int, cases: int
) -> Counter[str]:
    """``kills`` rounds of: queue alerts (the building goes on), start the gateway, SIGKILL it
    at a moment of one kind, check the store opens cleanly. Moments: right after start (the
    re-send burst: between publish and ack, and the catch-up day close), at the next day close
    (found on the shared clock), or at a random point of polling."""
    moments: Counter[str] = Counter()
    for round_no in range(kills):
        chain.queue_alerts(alerts_per_round, cases)
        moment = KILL_MOMENTS[round_no % len(KILL_MOMENTS)]
        proc = chain.start_gateway()
        if moment == "publishing":
            started = proc.log_text().count("starting (boot")
            wait_for(lambda p=proc, s=started: p.log_text().count("starting (boot") > s, 30, 0.02)
            time.sleep(rng.uniform(0.05, 0.6))
        elif moment == "day-close":
            time.sleep(1.0)
            time.sleep(max(0.0, next_day_close_wall(chain) - time.time()) + rng.uniform(0, 0.15))
        else:
            time.sleep(rng.uniform(0.5, 3.0))
        if not proc.alive:
            raise RuntimeError(f"the gateway died by itself:\n{proc.log_text()[-3000:]}")
        proc.kill()
        moments[moment] += 1
        check = chain.quick_check()
        if check != "ok":
            raise AssertionError(f"store damaged after kill {round_no + 1} ({moment}): {check}")
    return moments


def kill_bridge_during_bursts(
    chain: Chain, kills: int, rng: random.Random, *, burst: int, cases: int
) -> int:
    """``kills`` rounds of: queue a burst, and SIGKILL the bridge while it works through it
    (after a random share of the burst is in its database, before all of it), then start it
    again. Returns how many kills landed mid-burst."""
    mid_burst = 0
    for _ in range(kills):
        before = len(chain.received())
        chain.queue_alerts(burst, cases)
        target = before + int(burst * rng.uniform(0.1, 0.8))
        wait_for(lambda t=target: len(chain.received()) >= t, 60, 0.01)
        got = len(chain.received())
        chain.bridges["bridge-1"].kill()
        if before < got < before + burst:
            mid_burst += 1
        starts = chain.bridges["bridge-1"].log_text().count("subscribed to")
        chain.start_bridge("bridge-1")
        chain.wait_bridge_subscribed("bridge-1", starts + 1)
    return mid_burst

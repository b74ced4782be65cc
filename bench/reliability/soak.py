"""The reliability scenarios of ``tests/reliability`` as a longer soak, with real processes and
real faults (docs/reliability.md): many gateway SIGKILLs, many bridge SIGKILLs mid-burst, and
broker outages, each bounded in count and in time. Prints one table row per scenario: alerts
raised, delivered, received twice, lost, and the time the last backlog took to drain.

    .venv/bin/python -m bench.reliability.soak --gateway-kills 200 --bridge-kills 50 --outages 5
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.reliability.chain import Chain, Verdict, wait_for
from tests.reliability.faults import kill_bridge_during_bursts, kill_gateway_repeatedly


@dataclass(frozen=True)
class Row:
    scenario: str
    faults: int
    verdict: Verdict
    drain_s: float


def _drain(chain: Chain, timeout: float) -> float:
    started = time.monotonic()
    if not wait_for(chain.drained, timeout):
        raise SystemExit(f"not drained within {timeout:.0f} s; logs in {chain.workdir}")
    return time.monotonic() - started


def gateway_kills(workdir: Path, kills: int, rng: random.Random) -> Row:
    with Chain(workdir, time_scale=14400.0, poll_interval_s=1800) as chain:
        chain.start(gateway=False)
        chain.wait_bridge_subscribed("bridge-1", 1)
        kill_gateway_repeatedly(chain, kills, rng, alerts_per_round=5, cases=30)
        chain.start_gateway()
        drain = _drain(chain, 180)
        return Row("gateway SIGKILL", kills, chain.verdict(), drain)


def bridge_kills(workdir: Path, kills: int, rng: random.Random) -> Row:
    with Chain(workdir, persistent_broker=True, with_building=False) as chain:
        chain.start()
        chain.wait_bridge_subscribed("bridge-1", 1)
        kill_bridge_during_bursts(chain, kills, rng, burst=60, cases=30)
        drain = _drain(chain, 180)
        return Row("bridge SIGKILL mid-burst", kills, chain.verdict(), drain)


def broker_outages(workdir: Path, outages: int, rng: random.Random) -> Row:
    with Chain(workdir, time_scale=7200.0) as chain:
        chain.start()
        chain.wait_bridge_subscribed("bridge-1", 1)
        drains = []
        for _ in range(outages):
            chain.broker.kill()
            for _ in range(4):
                chain.queue_alerts(50, 30)
                time.sleep(chain.clock.wall_seconds(86400) / 4)
            chain.broker.start()
            drains.append(_drain(chain, 180))
        return Row("broker down a day", outages, chain.verdict(), max(drains))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gateway-kills", type=int, default=200)
    parser.add_argument("--bridge-kills", type=int, default=40)
    parser.add_argument("--outages", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    rows = []
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        base = Path(tmp)
        if args.gateway_kills:
            rows.append(gateway_kills(base / "gateway", args.gateway_kills, rng))
        if args.bridge_kills:
            rows.append(bridge_kills(base / "bridge", args.bridge_kills, rng))
        if args.outages:
            rows.append(broker_outages(base / "broker", args.outages, rng))
    print(f"{'scenario':26} {'faults':>6} {'raised':>6} {'delivered':>9} {'twice':>5}"
          f" {'lost':>4} {'drain s':>7}")  # fmt: skip
    failed = False
    for row in rows:
        v = row.verdict
        print(f"{row.scenario:26} {row.faults:6d} {v.raised:6d} {v.delivered:9d}"
              f" {len(v.twice):5d} {len(v.lost):4d} {row.drain_s:7.1f}")  # fmt: skip
        for problem in v.problems():
            failed = True
            print(f"  PROBLEM: {problem}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

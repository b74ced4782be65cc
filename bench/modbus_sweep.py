"""One polling sweep of a whole building through the gateway's own pollers, timed and counted,
with the read plans the gateway makes (neighbouring registers coalesced into one request) or
with bench-only plans (one request per value), without changing the gateway.

A sweep is what the daemon does each polling interval: every bus's
:meth:`gateway.modbus_poller.ModbusBusPoller.poll_once`, the buses concurrently. The plans are
swapped on the pollers' bindings (``dataclasses.replace``); requests are counted by wrapping
each link's ``read_block``. Variants:

- ``configured``: what the gateway reads today (each meter's one total; each lift's counters);
- ``per value``: the same values, one request per register;
- ``all values``: every quantity of each meter's profile (an SDM120's voltage, current, power
  and energy; a water meter's total and flow), coalesced as ``plan_reads`` does;
- ``all values, per value``: the same, one request per register (what a gateway without
  coalescing, such as the incumbent, sends).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from gateway.config.gateway_file import GatewayConfig
from gateway.core.registers import ReadBlock, plan_reads
from gateway.modbus.bus_poller import ModbusBusPoller, build_pollers
from simclock import SimClock

VARIANTS = ("configured", "per value", "all values", "all values, per value")


def _one_per_register(blocks: tuple[ReadBlock, ...]) -> tuple[ReadBlock, ...]:
    return tuple(
        ReadBlock(spec.function, spec.address, spec.count, (spec,))
        for block in blocks
        for spec in block.specs
    )


def _apply(poller: ModbusBusPoller, variant: str) -> None:
    meters = []
    for binding in poller.meters:
        blocks = binding.blocks
        if variant.startswith("all values"):
            quantities = {spec.quantity for spec in binding.profile.registers}
            blocks = plan_reads(binding.profile, quantities)
        if variant.endswith("per value"):
            blocks = _one_per_register(blocks)
        meters.append(replace(binding, blocks=blocks))
    poller.meters = tuple(meters)
    if variant.endswith("per value"):
        poller.elevators = tuple(
            replace(lift, blocks=_one_per_register(lift.blocks)) for lift in poller.elevators
        )


def _count_requests(poller: ModbusBusPoller, counter: list[int]) -> None:
    read = poller.link.read_block

    async def counted(device_id: int, block: ReadBlock) -> list[int]:
        counter[0] += 1
        return await read(device_id, block)

    poller.link.read_block = counted  # type: ignore[method-assign]


async def measure_sweeps(
    config: GatewayConfig, sweeps: int, variants: tuple[str, ...] = VARIANTS
) -> list[list[object]]:
    """Rows: variant, requests per sweep, samples per sweep, median and slowest bus, median
    whole sweep (seconds)."""
    rows: list[list[object]] = []
    for variant in variants:
        pollers = build_pollers(config, SimClock.from_args(None, None, 1.0))
        counter = [0]
        for poller in pollers:
            _apply(poller, variant)
            _count_requests(poller, counter)
        await asyncio.gather(*(p.poll_once() for p in pollers))  # connect, warm up
        totals, slowest, requests, samples = [], [], [], []
        for _ in range(sweeps):
            counter[0] = 0
            bus_times: list[float] = []

            def timed(
                poller: ModbusBusPoller, times: list[float] = bus_times
            ) -> Callable[[], Awaitable[int]]:
                async def run() -> int:
                    started = time.perf_counter()
                    got = await poller.poll_once()
                    times.append(time.perf_counter() - started)
                    return len(got)

                return run

            started = time.perf_counter()
            got = await asyncio.gather(*(timed(p)() for p in pollers))
            totals.append(time.perf_counter() - started)
            slowest.append(max(bus_times))
            requests.append(counter[0])
            samples.append(sum(got))
        for poller in pollers:
            await poller.close()
        rows.append(
            [
                variant,
                f"{statistics.median(requests):,.0f}",
                f"{statistics.median(samples):,.0f}",
                f"{statistics.median(slowest):.2f}",
                f"{statistics.median(totals):.2f}",
            ]
        )
    return rows


SWEEP_HEADER = [
    "read plan",
    "Modbus requests per sweep",
    "samples per sweep",
    "slowest bus, s",
    "whole sweep (buses in parallel), s",
]

"""The Prometheus endpoint, scraped over HTTP while the real polling loop reads a simulated
bus with a silent meter; and the ``[metrics]`` section's checks."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from firmware_sim.building_config import load_building_config
from firmware_sim.modbus_server import BuildingServer
from gateway.config.gateway_file import load_gateway_config
from gateway.errors import ConfigError
from gateway.modbus.bus_poller import RoundOutcome, Sample, build_pollers, poll_forever
from gateway.service.metrics import GatewayMetrics
from simclock import SimClock
from tests.gateway.mixed_building import building_file, gateway_file

pytestmark = pytest.mark.timeout(60)


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_rounds_and_backlog_are_scraped(tmp_path: Path) -> None:
    store = tmp_path / "gateway.sqlite"
    with contextlib.closing(sqlite3.connect(store)) as db, db:
        db.execute("CREATE TABLE outbox (ack_status TEXT, created_at TEXT)")
        db.executemany("INSERT INTO outbox VALUES (?, '2026-03-01T00:00:00+08:00')",
                       [(None,), (None,), ("accepted",)])  # fmt: skip
    server = BuildingServer(
        load_building_config(building_file(tmp_path, silent=(22,))),
        SimClock.real(),
        seed=1,
        host="127.0.0.1",
        port=0,
    )
    await server.start()
    metrics = GatewayMetrics(store)
    port = metrics.serve("127.0.0.1", 0)
    rounds: list[RoundOutcome] = []
    done = asyncio.Event()

    def observe(outcome: RoundOutcome) -> None:
        metrics.observe_round(outcome)
        rounds.append(outcome)
        if len(rounds) == 2:
            done.set()

    async def keep(samples: list[Sample]) -> None:
        return None

    (poller,) = build_pollers(
        load_gateway_config(gateway_file(tmp_path, server.port)), SimClock.real()
    )
    try:
        polling = asyncio.create_task(
            poll_forever(poller, 0.1, SimClock.real(), keep, on_round=observe)
        )
        await asyncio.wait_for(done.wait(), 20)
        polling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await polling
        got = await asyncio.to_thread(scrape, port)
    finally:
        metrics.close()
        await poller.close()
        await server.stop()
    assert rounds[0].answered == (11, 12, 13, 21) and rounds[0].failed == (22,)
    bus = ("bus", "conv-1")
    assert got[("qunzu_gateway_device_polls_total", (bus, ("device", "11")))] == 2
    assert got[("qunzu_gateway_device_polls_total", (bus, ("device", "22")))] == 2
    assert got[("qunzu_gateway_device_poll_errors_total", (bus, ("device", "22")))] == 2
    assert ("qunzu_gateway_device_poll_errors_total", (bus, ("device", "11"))) not in got
    assert got[("qunzu_gateway_round_seconds_count", (bus,))] == 2
    assert got[("qunzu_gateway_outbox_backlog", ())] == 2


def test_a_taken_port_is_a_config_error(tmp_path: Path) -> None:
    first = GatewayMetrics(tmp_path / "none.sqlite")
    port = first.serve("127.0.0.1", 0)
    try:
        with pytest.raises(ConfigError, match=r"metrics\.listen: cannot listen"):
            GatewayMetrics(tmp_path / "none.sqlite").serve("127.0.0.1", port)
    finally:
        first.close()


@pytest.mark.parametrize(
    ("listen", "ok"),
    [("127.0.0.1:9108", True), ("[::1]:9108", True), ("9108", False), ("host:99999", False)],
)
def test_metrics_section(tmp_path: Path, listen: str, ok: bool) -> None:
    path = gateway_file(tmp_path, 5020)
    path.write_text(path.read_text() + f'\n[metrics]\nlisten = "{listen}"\n')
    if ok:
        metrics = load_gateway_config(path).metrics
        assert metrics is not None and metrics.port == 9108
    else:
        with pytest.raises(ConfigError, match=r"metrics\.listen"):
            load_gateway_config(path)

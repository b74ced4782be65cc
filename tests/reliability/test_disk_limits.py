"""A long outage fills the gateway's store: first its disk budget (``[store] max_bytes``), then a
truly full filesystem (a small tmpfs, the store on it, the rest taken by other files). The real
``gateway run`` polls the real simulated building all along, with the broker down. Every alert
is kept and delivered once the broker is back, the oldest telemetry is what gives way, and the
daemon keeps running and keeps closing days.

The tmpfs needs root (``make test`` runs as root in CI); elsewhere that test skips and says so.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from gateway.observations import MeterSample
from gateway.store.gateway_store import GatewayStore
from tests.reliability.chain import Chain, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

OLD = datetime.fromisoformat("2026-02-01T00:00:00+08:00")  # a month before the outage
ALERTS, CASES = 60, 12
MiB = 1024 * 1024


def prefill_telemetry(store_path: Path, rows: int) -> None:
    """Old readings, as a gateway that ran for weeks before the outage holds them."""
    store = GatewayStore(store_path)
    try:
        for start in range(0, rows, 5000):
            store.readings.add(
                MeterSample(f"old{n % 50:02d}", "water_m3", OLD + timedelta(seconds=n), float(n))
                for n in range(start, min(rows, start + 5000))
            )
    finally:
        store.close()


def oldest_reading(store_path: Path) -> float:
    with sqlite3.connect(f"file:{store_path}?mode=ro", uri=True, timeout=10) as conn:
        return float(conn.execute("SELECT MIN(ts) FROM readings").fetchone()[0])


def deliver_after_outage(chain: Chain) -> None:
    """Broker and bridge back: all alerts arrive (acknowledged rows are history, which the
    budget may evict right after, so the bridge's count is the measure)."""
    chain.broker.start()
    chain.start_bridge("bridge-1")
    assert wait_for(chain.drained, 90), chain.logs()
    verdict = chain.verdict()
    assert verdict.problems() == [], chain.logs()
    received = chain.received()
    queued = [r for r in received if ".q" in str(r[3])]  # the building raises its own too
    assert len(received) == len({(r[3], r[4]) for r in received})
    assert len(queued) == ALERTS


def test_the_disk_budget_evicts_old_telemetry_and_keeps_every_alert(tmp_path: Path) -> None:
    with Chain(
        tmp_path, time_scale=14400.0, store_section={"max_bytes": MiB, "reserve_bytes": 0}
    ) as chain:
        prefill_telemetry(chain.store_path, 60_000)
        chain.queue_alerts(ALERTS, CASES)
        first = oldest_reading(chain.store_path)
        chain.start_building()
        gateway = chain.start_gateway()
        assert wait_for(lambda: "disk budget: evicted" in gateway.log_text(), 60), chain.logs()
        assert wait_for(lambda: gateway.log_text().count("closed 2026-") >= 2, 60), chain.logs()

        assert gateway.alive
        assert oldest_reading(chain.store_path) > first
        outbox = chain.outbox()
        queued = [r for r in outbox if r["unit_id"].startswith("q")]  # the building's own too
        assert len(queued) == ALERTS and all(r["ack_status"] is None for r in outbox)
        assert chain.quick_check() == "ok"
        deliver_after_outage(chain)


@pytest.fixture
def small_filesystem(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "card"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a size-limited tmpfs needs root; `make test` in CI runs as root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={8 * MiB}", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"this machine refuses a tmpfs mount ({done.stderr.strip()})")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill_filesystem(directory: Path, leave_bytes: int) -> None:
    """Other files take the filesystem until ``leave_bytes`` are free."""
    free = os.statvfs(directory).f_bavail * os.statvfs(directory).f_frsize
    with (directory / "other-files").open("wb") as f:
        f.write(b"\0" * max(0, free - leave_bytes))
        f.flush()
        os.fsync(f.fileno())


def test_a_full_filesystem_drops_old_telemetry_and_keeps_every_alert(
    tmp_path: Path, small_filesystem: Path
) -> None:
    with Chain(
        tmp_path,
        time_scale=14400.0,
        store_dir=small_filesystem,
        store_section={"reserve_bytes": 2 * MiB},
    ) as chain:
        prefill_telemetry(chain.store_path, 30_000)
        chain.queue_alerts(ALERTS, CASES)
        first = oldest_reading(chain.store_path)
        chain.start_building()
        gateway = chain.start_gateway()
        reserve = Path(f"{chain.store_path}.reserve")
        assert wait_for(reserve.exists, 30), chain.logs()
        fill_filesystem(small_filesystem, 16 * 1024)
        assert wait_for(lambda: "store full" in gateway.log_text(), 90), chain.logs()
        full_at = len(gateway.log_text())
        assert wait_for(lambda: gateway.log_text()[full_at:].count("closed 2026-") >= 4, 90), (
            chain.logs()
        )

        assert gateway.alive
        assert oldest_reading(chain.store_path) > first, "no old telemetry gave way"
        outbox = chain.outbox()
        queued = [r for r in outbox if r["unit_id"].startswith("q")]  # the building's own too
        assert len(queued) == ALERTS and all(r["ack_status"] is None for r in outbox)
        assert chain.quick_check() == "ok"
        (small_filesystem / "other-files").unlink()  # room again: the ack history can be kept
        deliver_after_outage(chain)

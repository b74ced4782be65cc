"""A truly full filesystem (a small tmpfs mounted for the test): the store says so with SQLite's
own error, keeps everything already committed, and after giving back its reserve and evicting
telemetry it keeps the day's alert.

Needs root to mount the tmpfs (``make test`` runs as root in CI); elsewhere it skips and says so.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from gateway.observations import MeterSample
from gateway.store.database import StoreFull
from gateway.store.disk_budget import DiskBudget
from gateway.store.gateway_store import GatewayStore
from gateway.store.outbox import OutboxMessage

pytestmark = pytest.mark.timeout(120)

CST = timezone(timedelta(hours=8))
START = datetime(2026, 3, 1, tzinfo=CST)
FS_BYTES = 8 * 1024 * 1024
RESERVE = 2 * 1024 * 1024


@pytest.fixture
def small_filesystem(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "card"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a size-limited tmpfs needs root; `make test` in CI runs as root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={FS_BYTES}", "tmpfs", str(mount_point)],
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


def test_a_full_disk_keeps_what_was_committed_and_still_takes_the_alert(
    small_filesystem: Path,
) -> None:
    store = GatewayStore(small_filesystem / "gateway.sqlite", reading_interval_s=0)
    boot = store.sequence.start_boot()
    budget = DiskBudget(store, max_bytes=FS_BYTES, reserve_bytes=RESERVE)
    assert budget.ensure_reserve()
    kept_batches = 0
    error: StoreFull | None = None
    for batch in range(200):  # bounded: the filesystem fills long before
        at = START + timedelta(hours=batch)
        try:
            store.readings.add(
                MeterSample(f"{u:04d}", "water_m3", at + timedelta(seconds=s), float(s))
                for u in range(50)
                for s in range(100)
            )
        except StoreFull as err:
            error = err
            break
        kept_batches += 1
    assert error is not None, "the filesystem never filled"
    assert "full" in str(error) and "no transaction is active" not in str(error)
    with store.db.reading() as conn:
        assert conn.execute("SELECT COUNT(*) FROM readings").fetchone()[0] == kept_batches * 5000

    # What the daemon does on a full disk: give back the reserve, evict the oldest telemetry,
    # then the day's close (states, alert, sequence) goes through.
    assert budget.release_reserve()
    budget.max_bytes = store.db.used_bytes() // 2
    assert budget.enforce().evicted
    with store.transaction():
        store.cases.save("0302", "overcrowding", {"phase": "open"})
        seq = store.sequence.next()
        store.outbox.enqueue(
            OutboxMessage(seq, "bldg/v1/gw/alert", "tok", "a-1", "0302", "overcrowding", 0, 0),
            START,
        )
    assert seq.boot_id == boot.boot_id
    assert [r["alert_id"] for r in store.outbox.rows()] == ["a-1"]
    with store.db.reading() as conn:
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    store.close()

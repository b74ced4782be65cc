"""The trace recorder writes what the trace reader accepts: in time order even when buses
report out of order, appending to an existing trace of the same building only."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from gateway.config.gateway_file import GatewayConfig, load_gateway_config
from gateway.errors import ConfigError
from gateway.observations import MeterSample
from gateway.replay.trace_reader import open_trace
from gateway.replay.trace_recorder import TraceRecorder

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=CST)


def config(tmp_path: Path, area: float = 44.0) -> GatewayConfig:
    path = tmp_path / "gateway.toml"
    path.write_text(
        '[gateway]\nid = "gw-1"\nkey_file = "k.pem"\n'
        f'[[units]]\nunit_id = "0101"\nfloor = 1\narea_m2 = {area}\nrooms = 1\n'
        '[[units]]\nunit_id = "0102"\nfloor = 1\narea_m2 = 60\nrooms = 2\n',
        encoding="utf-8",
    )
    return load_gateway_config(path)


def sample(unit: str, minutes: float, total: float) -> MeterSample:
    return MeterSample(unit, "water_m3", T0 + timedelta(minutes=minutes), total)


def test_batches_from_concurrent_buses_are_written_in_time_order(tmp_path: Path) -> None:
    recorder = TraceRecorder(tmp_path / "trace", config(tmp_path), timedelta(minutes=15))
    recorder.add([sample("0101", 0, 1.0), sample("0101", 15, 1.1)])
    recorder.add([sample("0102", 5, 7.0)])  # a slower bus reports an earlier reading
    recorder.add([sample("0101", 30, 1.2)])
    recorder.add([sample("0102", 1, 6.9)])  # later than the hold-back allows: dropped
    recorder.close()
    assert recorder.dropped == 1

    trace = open_trace(tmp_path / "trace")
    rows = [(r.ts, r.unit_id, r.total) for r in trace.meters()]
    assert rows == [
        (T0, "0101", 1.0),
        (T0 + timedelta(minutes=5), "0102", 7.0),
        (T0 + timedelta(minutes=15), "0101", 1.1),
        (T0 + timedelta(minutes=30), "0101", 1.2),
    ]
    assert trace.meta.timezone is not None
    assert trace.meta.rules == {"max_persons_per_room": 2, "min_area_m2_per_person": 5.0}
    assert [u.area_m2 for u in trace.units.values()] == [44.0, 60.0]


def test_reopening_appends_and_refuses_another_building(tmp_path: Path) -> None:
    first = TraceRecorder(tmp_path / "trace", config(tmp_path), timedelta(0))
    first.add([sample("0101", 0, 1.0)])
    first.close()
    again = TraceRecorder(tmp_path / "trace", config(tmp_path), timedelta(0))
    again.add([sample("0101", 15, 1.1)])
    again.close()
    assert [r.total for r in open_trace(tmp_path / "trace").meters()] == [1.0, 1.1]

    with pytest.raises(ConfigError, match="records different units"):
        TraceRecorder(tmp_path / "trace", config(tmp_path, area=50.0), timedelta(0))

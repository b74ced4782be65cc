"""The trace reader on arbitrary file contents: every file of a trace (trace.toml, units.csv,
meters.csv, locks.csv, elevators.csv) replaced by arbitrary bytes or by near-valid CSV; reading
the whole trace gives rows or TraceError, never another exception, strict or lenient."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.replay.trace_reader import TraceError, open_trace

VALID = {
    "trace.toml": b'description = "fuzz"\ntimezone = "+08:00"\n',
    "units.csv": b"unit_id,floor,area_m2,rooms,registered_occupants\n0101,1,40,1,2\n",
    "meters.csv": b"ts,unit_id,kind,total\n2026-03-01T00:00:00+08:00,0101,water_m3,1.5\n",
    "locks.csv": b"ts,unit_id,event,credential\n2026-03-01T00:00:00+08:00,0101,unlock,k1\n",
    "elevators.csv": b"ts,elevator_id,floor,stops_total\n2026-03-01T00:00:00+08:00,L1,1,3\n",
}
cells = st.sampled_from(
    [
        "0101",
        "1",
        "-1",
        "40",
        "nan",
        "inf",
        "1e400",
        "9" * 5000,
        "",
        "x",
        "\x00",
        "Asia",
        "2026-03-01T00:00:00+08:00",
        "2026-03-01T00:00:00",
        "water_m3",
        "unlock",
        "../../etc",
    ]
)
csv_lines = st.lists(st.lists(cells, max_size=6).map(",".join), max_size=5).map(
    lambda rows: "\n".join(rows).encode()
)
toml_values = st.sampled_from(
    [
        b'timezone = "Asia"',
        b'timezone = "../x"',
        b'timezone = "\\u0000"',
        b"timezone = 8",
        b"rules = 1",
        b"rules = {x = 1}",
        b"a = " + b"[" * 2000 + b"]" * 2000,
        b"description = []",
    ]
)


def read_everything(directory: Path, lenient: bool) -> None:
    try:
        trace = open_trace(directory, lenient=lenient)
        for rows in (trace.meters(), trace.locks(), trace.elevators()):
            for _ in rows:
                pass
    except TraceError:
        pass


@settings(max_examples=300)
@given(
    name=st.sampled_from(sorted(VALID)),
    content=st.binary(max_size=300) | csv_lines | toml_values,
    keep_header=st.booleans(),
    lenient=st.booleans(),
)
def test_any_file_content(name: str, content: bytes, keep_header: bool, lenient: bool) -> None:
    # Fails when reading raises anything but TraceError (read_everything checks the rows).
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        for file, valid in VALID.items():
            (directory / file).write_bytes(valid)
        if keep_header and name.endswith(".csv"):
            content = VALID[name].split(b"\n")[0] + b"\n" + content
        (directory / name).write_bytes(content)
        read_everything(directory, lenient)

"""Reads a building trace (format v1): the files a gateway observed, as plain CSV.

The format is specified in ``docs/trace-format.md``. This module is the edge where a trace
enters the system, so every value is checked here, once: a row that makes no sense stops the
read with an error naming the file, the line and the column (``meters.csv:17: total: 'abc' is
not a number``), or, with ``lenient=True``, is skipped and counted. Large files are streamed;
rows come out in file order, which the format requires to be time order.
"""

from __future__ import annotations

import csv
import math
import re
import tomllib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from qunzu_common.utc_offset import UTC_OFFSET_PATTERN, parse_utc_offset

UNIT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
METER_KINDS = frozenset({"water_m3", "electricity_kwh", "gas_m3"})
LOCK_EVENTS = frozenset({"unlock", "lock", "failed"})

_Parsed = TypeVar("_Parsed")


class TraceError(ValueError):
    """A trace that cannot be read; the message names file, line and column."""


class _Row:
    """One CSV row read by column name, without building a dict per row."""

    __slots__ = ("_at", "_values")

    def __init__(self, at: dict[str, int], values: list[str]) -> None:
        self._at = at
        self._values = values

    def __getitem__(self, column: str) -> str:
        return self._values[self._at[column]]

    def get(self, column: str, default: str = "") -> str:
        index = self._at.get(column)
        return default if index is None else self._values[index]


class _BadValue(ValueError):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(f"{column}: {message}")


@dataclass(frozen=True, slots=True)
class TraceUnit:
    unit_id: str
    floor: int
    area_m2: float
    rooms: int
    registered_occupants: int | None


@dataclass(frozen=True, slots=True)
class MeterRow:
    ts: datetime
    unit_id: str
    kind: str
    total: float


@dataclass(frozen=True, slots=True)
class LockRow:
    ts: datetime
    unit_id: str
    event: str
    credential: str


@dataclass(frozen=True, slots=True)
class ElevatorRow:
    ts: datetime
    elevator_id: str
    floor: int
    stops_total: float


@dataclass(frozen=True, slots=True)
class TraceMeta:
    timezone: tzinfo | None
    description: str
    rules: dict[str, Any]


@dataclass
class Trace:
    """An opened trace: metadata and units are read; the big files are streamed on demand."""

    directory: Path
    meta: TraceMeta
    units: dict[str, TraceUnit]
    lenient: bool = False
    skipped: Counter[str] = field(default_factory=Counter)

    def meters(self) -> Iterator[MeterRow]:
        return self._stream("meters.csv", ("ts", "unit_id", "kind", "total"), self._meter_row)

    def locks(self) -> Iterator[LockRow]:
        return self._stream("locks.csv", ("ts", "unit_id", "event", "credential"), self._lock_row)

    def elevators(self) -> Iterator[ElevatorRow]:
        columns = ("ts", "elevator_id", "floor", "stops_total")
        return self._stream("elevators.csv", columns, _elevator_row)

    def has(self, name: str) -> bool:
        return (self.directory / name).is_file()

    def _unit(self, value: str) -> str:
        if value not in self.units:
            raise _BadValue("unit_id", f"{value!r} is not in units.csv")
        return value

    def _meter_row(self, row: _Row) -> MeterRow:
        kind = row["kind"]
        if kind not in METER_KINDS:
            raise _BadValue("kind", f"{kind!r} is not one of {', '.join(sorted(METER_KINDS))}")
        total = _number(row, "total", allow_nan=True)
        return MeterRow(_timestamp(row), self._unit(row["unit_id"]), kind, total)

    def _lock_row(self, row: _Row) -> LockRow:
        event = row["event"]
        if event not in LOCK_EVENTS:
            raise _BadValue("event", f"{event!r} is not one of {', '.join(sorted(LOCK_EVENTS))}")
        return LockRow(_timestamp(row), self._unit(row["unit_id"]), event, row["credential"])

    def _stream(
        self, name: str, columns: tuple[str, ...], parse: Callable[[_Row], _Parsed]
    ) -> Iterator[_Parsed]:
        path = self.directory / name
        if not path.is_file():
            return
        previous: datetime | None = None
        for line, row in _csv_rows(path, columns):
            try:
                if isinstance(row, _BadValue):
                    raise row
                parsed = parse(row)
                ts: datetime = parsed.ts  # type: ignore[attr-defined]
                if previous is not None and ts < previous:
                    raise _BadValue("ts", f"{row['ts']} is earlier than the row before it")
            except _BadValue as err:
                if not self.lenient:
                    raise TraceError(f"{name}:{line}: {err}") from None
                self.skipped[name] += 1
                continue
            previous = ts
            yield parsed


def open_trace(directory: Path, *, lenient: bool = False) -> Trace:
    """Read ``trace.toml`` and ``units.csv`` of the trace in ``directory``."""
    if not directory.is_dir():
        raise TraceError(f"{directory}: not a directory")
    for required in ("units.csv", "meters.csv"):
        if not (directory / required).is_file():
            raise TraceError(f"{directory.name}: {required} is missing (a trace needs it)")
    trace = Trace(directory, _read_meta(directory / "trace.toml"), {}, lenient)
    for line, row in _csv_rows(directory / "units.csv", ("unit_id", "floor", "area_m2", "rooms")):
        try:
            if isinstance(row, _BadValue):
                raise row
            unit = _unit_row(row)
            if unit.unit_id in trace.units:
                raise _BadValue("unit_id", f"{unit.unit_id!r} is listed twice")
        except _BadValue as err:
            if not lenient:
                raise TraceError(f"units.csv:{line}: {err}") from None
            trace.skipped["units.csv"] += 1
            continue
        trace.units[unit.unit_id] = unit
    if not trace.units:
        raise TraceError("units.csv: no units")
    return trace


def parse_utc_offset_or_zone(value: str) -> tzinfo:
    """``+08:00`` or an IANA zone name such as ``Asia/Shanghai``."""
    if UTC_OFFSET_PATTERN.match(value):
        return parse_utc_offset(value)
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError) as err:  # "Asia" is a directory
        raise ValueError(f"{value!r} is neither a UTC offset like +08:00 nor a known zone") from err


def _read_meta(path: Path) -> TraceMeta:
    if not path.is_file():
        return TraceMeta(None, "", {})
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise TraceError(f"trace.toml: not valid TOML: {err}") from err
    except RecursionError as err:  # tomllib recurses into nested arrays and inline tables
        raise TraceError("trace.toml: not valid TOML: nested too deep") from err
    tz = None
    if "timezone" in data:
        try:
            tz = parse_utc_offset_or_zone(str(data["timezone"]))
        except ValueError as err:
            raise TraceError(f"trace.toml: timezone: {err}") from err
    rules = data.get("rules", {})
    if not isinstance(rules, dict):
        raise TraceError("trace.toml: rules: must be a table")
    allowed = {"max_persons_per_room", "min_area_m2_per_person"}
    for key in rules:
        if key not in allowed:
            raise TraceError(f"trace.toml: rules.{key}: unknown (known: {', '.join(allowed)})")
    return TraceMeta(tz, str(data.get("description", "")), dict(rules))


def _csv_rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, _Row | _BadValue]]:
    """(line number, row) pairs; a row of the wrong width comes as the error it is. Bytes that
    are not UTF-8 or not CSV (a field over the csv module's limit) stop the read: TraceError."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
            if header is None:
                raise TraceError(f"{path.name}:1: empty file (expected a header)")
            header = [column.strip() for column in header]
            missing = [column for column in required if column not in header]
            if missing:
                raise TraceError(f"{path.name}:1: missing column(s) {', '.join(missing)}")
            width = len(header)
            at = {column: i for i, column in enumerate(header)}
            for values in reader:
                if not values:
                    continue
                if len(values) != width:
                    message = f"{len(values)} values for {width} columns"
                    yield reader.line_num, _BadValue("row", message)
                    continue
                yield reader.line_num, _Row(at, values)
        except (UnicodeDecodeError, csv.Error) as err:
            raise TraceError(f"{path.name}:{reader.line_num + 1}: unreadable: {err}") from err


def _timestamp(row: _Row) -> datetime:
    value = row["ts"]
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        raise _BadValue("ts", f"{value!r} is not an ISO 8601 timestamp") from None
    if ts.tzinfo is None:
        raise _BadValue("ts", f"{value!r} has no UTC offset")
    return ts


def _number(row: _Row, column: str, *, allow_nan: bool = False) -> float:
    value = row[column]
    try:
        number = float(value)
    except ValueError:
        raise _BadValue(column, f"{value!r} is not a number") from None
    # A meter's float register may really read NaN or infinity; the core flags those readings.
    if not allow_nan and not math.isfinite(number):
        raise _BadValue(column, f"{value!r} is not a finite number")
    return number


def _integer(row: _Row, column: str) -> int:
    value = row[column]
    try:
        return int(value)
    except ValueError:
        raise _BadValue(column, f"{value!r} is not an integer") from None


def _unit_row(row: _Row) -> TraceUnit:
    unit_id = row["unit_id"]
    if not UNIT_ID.match(unit_id):
        raise _BadValue("unit_id", f"{unit_id!r} does not match {UNIT_ID.pattern}")
    area = _number(row, "area_m2")
    if area <= 0:
        raise _BadValue("area_m2", f"must be > 0, not {row['area_m2']}")
    rooms = _integer(row, "rooms")
    if rooms < 1:
        raise _BadValue("rooms", f"must be >= 1, not {rooms}")
    registered = None
    if row.get("registered_occupants", "").strip():
        registered = _integer(row, "registered_occupants")
        if registered < 0:
            raise _BadValue("registered_occupants", f"must be >= 0, not {registered}")
    return TraceUnit(unit_id, _integer(row, "floor"), area, rooms, registered)


def _elevator_row(row: _Row) -> ElevatorRow:
    elevator_id = row["elevator_id"]
    if not UNIT_ID.match(elevator_id):
        raise _BadValue("elevator_id", f"{elevator_id!r} does not match {UNIT_ID.pattern}")
    stops = _number(row, "stops_total")
    return ElevatorRow(_timestamp(row), elevator_id, _integer(row, "floor"), stops)

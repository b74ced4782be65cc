"""The schedule as text: CSV for a spreadsheet, iCalendar (RFC 5545) for a phone's calendar.

Both are built as strings here (no file, no stream); the shell serves or saves them.

iCalendar rules followed: every line ends in CRLF; a content line longer than 75 octets is
folded into a first line of at most 75 octets and continuation lines of a space plus at most 74
octets, never inside a UTF-8 sequence; TEXT values escape backslash, semicolon, comma and
newline (``\\\\ \\; \\, \\n``); each event has a stable ``UID`` (see
:attr:`~cloud_bridge.cases.schedule.ScheduleRow.uid`) and the ``DTSTAMP`` of generation, in
UTC. A booked visit is a timed event (UTC, ``visit_minutes`` long); everything else is an
all-day event (``VALUE=DATE``, end exclusive). No VTIMEZONE is needed: times are in UTC.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from cloud_bridge.cases.commands import require_aware
from cloud_bridge.cases.schedule import ScheduleRow

__all__ = ["CSV_COLUMNS", "escape_text", "fold_line", "schedule_csv", "schedule_ical"]

CSV_COLUMNS: Final = (
    "day",
    "kind",
    "unit_id",
    "address",
    "tier",
    "ticket_id",
    "starts_at",
    "due",
    "overdue",
    "inspector",
)
MAX_OCTETS: Final = 75
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_TITLES: Final = {"revisit": "Re-visit", "visit": "Visit", "routine": "Inspection"}


class _Lines:
    """What :func:`csv.writer` writes into: a list of strings."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)


def _local_iso(instant: datetime | None, tz: ZoneInfo) -> str:
    return "" if instant is None else instant.astimezone(tz).isoformat(timespec="minutes")


def schedule_csv(rows: Iterable[ScheduleRow], tz: ZoneInfo) -> str:
    """RFC 4180 CSV (CRLF), a header then one line per row; times in the building's zone."""
    out = _Lines()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        writer.writerow(
            [
                r.day.isoformat(),
                r.kind,
                r.unit_id,
                r.address,
                r.tier or "",
                "" if r.ticket_id is None else r.ticket_id,
                _local_iso(r.starts_at, tz),
                _local_iso(r.due, tz),
                "yes" if r.overdue else "no",
                r.inspector or "",
            ]
        )
    return "".join(out.parts)


def escape_text(value: str) -> str:
    """An RFC 5545 TEXT value: backslash, semicolon, comma and newlines escaped."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    value = value.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")
    return _CONTROL.sub("", value)


def fold_line(line: str) -> str:
    """``line`` folded at 75 octets, each physical line ending in CRLF."""
    out: list[str] = []
    current, size, limit = "", 0, MAX_OCTETS
    for char in line:
        octets = len(char.encode("utf-8"))
        if size + octets > limit:
            out.append(current)
            current, size, limit = " ", 1, MAX_OCTETS
        current += char
        size += octets
    out.append(current)
    return "".join(part + "\r\n" for part in out)


def _utc(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _event(row: ScheduleRow, stamp: str, visit: timedelta, tz: ZoneInfo) -> list[str]:
    ticket = f" (ticket #{row.ticket_id})" if row.ticket_id is not None else ""
    details = [f"{row.kind} of unit {row.unit_id}"]
    if row.tier:
        details.append(f"tier: {row.tier}")
    if row.due:
        details.append(f"due: {_local_iso(row.due, tz)}")
    if row.inspector:
        details.append(f"inspector: {row.inspector}")
    if row.overdue:
        details.append("OVERDUE")
    if row.starts_at is not None:
        when = [f"DTSTART:{_utc(row.starts_at)}", f"DTEND:{_utc(row.starts_at + visit)}"]
    else:
        end = row.day + timedelta(days=1)
        when = [f"DTSTART;VALUE=DATE:{row.day:%Y%m%d}", f"DTEND;VALUE=DATE:{end:%Y%m%d}"]
    return [
        "BEGIN:VEVENT",
        f"UID:{escape_text(row.uid)}",
        f"DTSTAMP:{stamp}",
        *when,
        f"SUMMARY:{escape_text(f'{_TITLES[row.kind]} {row.unit_id}{ticket}')}",
        f"LOCATION:{escape_text(row.address)}",
        f"DESCRIPTION:{escape_text(chr(10).join(details))}",
        f"CATEGORIES:{row.kind.upper()}",
        "END:VEVENT",
    ]


def schedule_ical(
    rows: Iterable[ScheduleRow],
    *,
    team: str,
    generated_at: datetime,
    tz: ZoneInfo,
    visit_minutes: int = 60,
) -> str:
    """A VCALENDAR with one VEVENT per row, generated at ``generated_at``."""
    require_aware("generated_at", generated_at)
    stamp, visit = _utc(generated_at), timedelta(minutes=visit_minutes)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//qunzu-watch//inspection schedule//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(f'{team} inspections')}",
    ]
    for row in rows:
        lines.extend(_event(row, stamp, visit, tz))
    lines.append("END:VCALENDAR")
    return "".join(fold_line(line) for line in lines)

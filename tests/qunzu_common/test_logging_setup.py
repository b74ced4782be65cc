"""Log lines as the entry points write them: text for a terminal or journald, JSON elsewhere."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest

from qunzu_common.logging_setup import JsonLineFormatter, LogFormat, uses_json


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("log_format", "stream", "env", "expected"),
    [
        ("auto", Terminal(), {}, False),
        ("auto", io.StringIO(), {}, True),
        ("auto", io.StringIO(), {"JOURNAL_STREAM": "8:1234"}, False),
        ("text", io.StringIO(), {}, False),
        ("json", Terminal(), {}, True),
    ],
)
def test_format_chosen(
    log_format: LogFormat, stream: io.StringIO, env: dict[str, str], expected: bool
) -> None:
    assert uses_json(log_format, stream, env) is expected


def test_json_line_has_the_fields_and_stays_one_line() -> None:
    record = logging.LogRecord(
        "gateway.modbus.bus_poller", logging.WARNING, __file__, 1, "%s device %d:\nsilent",
        ("conv-1", 22), None,
    )  # fmt: skip
    record.created = 1_772_323_200.5  # 2026-03-01T00:00:00.500Z
    line = JsonLineFormatter().format(record)
    assert "\n" not in line
    assert json.loads(line) == {
        "ts": "2026-03-01T00:00:00.500+00:00",
        "level": "WARNING",
        "logger": "gateway.modbus.bus_poller",
        "message": "conv-1 device 22:\nsilent",
    }


def test_json_line_carries_the_traceback() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), exc_info)
    entry = json.loads(JsonLineFormatter().format(record))
    assert entry["exception"].startswith("Traceback") and "ValueError: boom" in entry["exception"]

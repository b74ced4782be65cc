"""Logging for the daemons' entry points: text lines for people, JSON lines for machines.

``auto`` (the default) writes text on a terminal and under systemd's journal (which sets
``JOURNAL_STREAM`` and stamps every line itself), and one JSON object per line anywhere else
(a container's log driver, a file, a log shipper), so a fleet's logs can be searched by field:
``{"ts": ..., "level": "WARNING", "logger": "gateway.modbus.bus_poller", "message": ...}``, with
``exception`` holding a traceback. Only the entry points call :func:`configure_logging`.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Literal, TextIO

LogFormat = Literal["auto", "text", "json"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonLineFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines in messages stay escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, str] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def uses_json(log_format: LogFormat, stream: TextIO, env: Mapping[str, str]) -> bool:
    if log_format != "auto":
        return log_format == "json"
    return not stream.isatty() and "JOURNAL_STREAM" not in env


def configure_logging(
    level: str,
    log_format: LogFormat = "auto",
    stream: TextIO | None = None,
    env: Mapping[str, str] | None = None,
) -> None:
    """Send records of ``level`` and above to ``stream`` (standard error) in ``log_format``."""
    stream = sys.stderr if stream is None else stream
    handler = logging.StreamHandler(stream)
    if uses_json(log_format, stream, os.environ if env is None else env):
        handler.setFormatter(JsonLineFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler])

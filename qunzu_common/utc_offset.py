"""UTC offsets as configuration files and traces write them: ``+08:00``, ``-03:30``.

Gateway, simulator and traces all name a building's local time this way (a fixed offset, not a
zone name: Chinese cities keep one offset all year, and a fixed offset makes every local day
exactly 24 hours). One parser, so the three agree on what is valid.
"""

from __future__ import annotations

import re
from datetime import timedelta, timezone

__all__ = ["UTC_OFFSET_PATTERN", "parse_utc_offset"]

UTC_OFFSET_PATTERN = re.compile(r"^([+-])(\d{2}):(\d{2})$")


def parse_utc_offset(value: str) -> timezone:
    """``+08:00`` -> ``timezone(timedelta(hours=8))``. ValueError, naming the rule, otherwise."""
    match = UTC_OFFSET_PATTERN.match(value)
    if not match or int(match.group(2)) > 14 or int(match.group(3)) > 59:
        raise ValueError("must look like +08:00 (between -14:00 and +14:00)")
    sign = -1 if match.group(1) == "-" else 1
    return timezone(sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3))))

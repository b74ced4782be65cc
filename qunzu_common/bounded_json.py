"""JSON from an untrusted peer, with limits checked before the parser ever sees it.

``json.loads`` recurses once per nesting level, so a few kilobytes of ``[[[[...`` raise
``RecursionError`` (not ``ValueError``) and take down whatever task called it; a huge document
costs memory before any schema can refuse it. :func:`loads_bounded` checks, in this order and
each in linear time without recursion:

1. the size in bytes (before decoding anything);
2. strict UTF-8 (no lone surrogates, no BOM tricks: ``bytes.decode`` with ``strict``);
3. the nesting depth and the number of items in any one array or object, by one scan of the
   brackets and commas outside strings;
4. the length of every string (keys included), in the same scan;

and only then calls ``json.loads``, which here also refuses ``NaN``, ``Infinity``, numbers that
overflow to infinity (``1e999``) and integers outside 64 bits (no database column holds them;
``10**400`` would raise OverflowError wherever it is stored or compared with a float). Every
refusal is one :class:`JsonLimitError` whose ``limit`` names what was exceeded, so callers can
count refusals by kind. The scan is a cheap over-approximation of the real structure (it does
not validate the grammar; the parser does that afterwards).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["JsonLimitError", "JsonLimits", "loads_bounded"]

LimitName = Literal["bytes", "utf8", "depth", "items", "string", "number", "syntax"]
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True, slots=True)
class JsonLimits:
    """How much one document may hold. The defaults suit the wire contract's messages."""

    max_bytes: int = 64 * 1024
    max_depth: int = 32
    max_items: int = 4096
    max_string_chars: int = 16 * 1024

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_depth", "max_items", "max_string_chars"):
            if getattr(self, name) < 1:
                raise ValueError(f"JsonLimits.{name} must be at least 1")


class JsonLimitError(ValueError):
    """A document refused before or while parsing; ``limit`` says which rule it broke."""

    def __init__(self, limit: LimitName, detail: str) -> None:
        super().__init__(f"{limit}: {detail}")
        self.limit: LimitName = limit
        self.detail = detail


def loads_bounded(raw: bytes | bytearray | memoryview | str, limits: JsonLimits) -> Any:
    """The JSON value in ``raw``, or :class:`JsonLimitError`; never another exception."""
    if isinstance(raw, str):
        # Already text (e.g. a JWS payload decoded by a library): measure it as UTF-8.
        try:
            data = raw.encode("utf-8")
        except UnicodeEncodeError as err:
            raise JsonLimitError("utf8", "text holds a lone surrogate") from err
    else:
        data = bytes(raw)
    if len(data) > limits.max_bytes:
        raise JsonLimitError("bytes", f"{len(data)} bytes, more than {limits.max_bytes}")
    try:
        text = data.decode("utf-8", errors="strict")
    except UnicodeDecodeError as err:
        raise JsonLimitError("utf8", f"not UTF-8 at byte {err.start}") from err
    _check_shape(text, limits)
    try:
        return json.loads(
            text, parse_constant=_refuse_constant, parse_float=_finite, parse_int=_int64
        )
    except JsonLimitError:
        raise
    except (ValueError, RecursionError) as err:
        # ValueError covers JSONDecodeError and the constants refused below. RecursionError
        # cannot happen after the depth check, but if a limit is ever set above the
        # interpreter's, it must still end here.
        raise JsonLimitError("syntax", str(err)[:200]) from err


def _refuse_constant(name: str) -> Any:
    raise JsonLimitError("number", f"{name} is not JSON")


def _finite(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise JsonLimitError("number", f"{literal[:20]} overflows a 64-bit float")
    return value


def _int64(literal: str) -> int:
    # The size check bounds the literal; int() refuses over 4,300 digits (ValueError) anyway.
    value = int(literal)
    if not INT64_MIN <= value <= INT64_MAX:
        raise JsonLimitError("number", f"{literal[:20]}... is outside 64-bit integers")
    return value


def _check_shape(text: str, limits: JsonLimits) -> None:
    """One pass over the text: depth, items per container, string lengths; no recursion."""
    items: list[int] = []  # separators seen per open container, innermost last
    in_string = False
    escaped = False
    string_start = 0
    for index, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
                # Escapes make the scanned length an upper bound of the decoded one.
                if index - string_start - 1 > limits.max_string_chars:
                    raise JsonLimitError(
                        "string", f"a string of more than {limits.max_string_chars} characters"
                    )
            continue
        if char == '"':
            in_string = True
            string_start = index
        elif char in "[{":
            items.append(0)
            if len(items) > limits.max_depth:
                raise JsonLimitError("depth", f"nested deeper than {limits.max_depth}")
        elif char in "]}":
            if items:
                items.pop()
        elif char == "," and items:
            items[-1] += 1
            if items[-1] >= limits.max_items:
                raise JsonLimitError(
                    "items", f"an array or object of more than {limits.max_items} items"
                )
    if in_string and len(text) - string_start - 1 > limits.max_string_chars:
        raise JsonLimitError("string", f"a string of more than {limits.max_string_chars} chars")

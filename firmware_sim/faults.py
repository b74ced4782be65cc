"""Faults a technician can script into a simulated building, to see what the gateway does.

Each fault names one device, a kind, and when it holds (days after the simulated start, ``to``
open-ended when left out). Pure: which fault holds, and what a meter then shows; the server
(``modbus_server``) applies the rest on the wire.

| kind | on the wire |
|---|---|
| ``silent`` | no answer at all (a dead meter or a cut RS485 pair): the gateway times out |
| ``exception`` | a Modbus exception response (``exception_code``, 4 = device failure) |
| ``slow`` | the answer comes ``delay_s`` wall seconds late |
| ``stuck`` | the total stays at its value from the moment the fault began |
| ``reset`` | the meter was replaced: its total counts again from zero |
| ``rollover`` | the total wraps at ``rollover_at`` (the counter's capacity, in m3 or kWh) |
| ``nan`` | the float registers read NaN (an SDM120 in a bad state) |
| ``bad_crc`` | the answer's CRC is wrong (RTU only: noise on the RS485 pair; TCP has no CRC) |
| ``garbled`` | the answer's bytes after the device id are noise (RTU: so is the CRC) |

``bad_crc`` and ``garbled`` damage every ``every``-th answer of the device, from the first one
while the fault holds: ``every = 1`` is a line that never works, ``every = 2`` one the gateway's
retry gets through.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

FaultKind = Literal[
    "silent", "exception", "slow", "stuck", "reset", "rollover", "nan", "bad_crc", "garbled"
]
FRAME_FAULTS = frozenset({"bad_crc", "garbled"})
WIRE_FAULTS = frozenset({"silent", "exception", "slow"}) | FRAME_FAULTS
MBAP_HEADER_BYTES = 7  # Modbus TCP: transaction, protocol, length, unit id


class FaultSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    device_id: int = Field(ge=1, le=247)
    kind: FaultKind
    from_day: float = Field(default=0.0, ge=0)
    to_day: float | None = Field(default=None, gt=0)
    exception_code: int = Field(default=4, ge=1, le=255)
    delay_s: float = Field(default=2.0, gt=0, le=60)
    rollover_at: float | None = Field(default=None, gt=0)
    every: int = Field(default=1, ge=1, description="bad_crc, garbled: damage every n-th answer")

    @model_validator(mode="after")
    def _consistent(self) -> FaultSpec:
        if self.to_day is not None and self.to_day <= self.from_day:
            raise ValueError("to_day must be later than from_day")
        if self.kind == "rollover" and self.rollover_at is None:
            raise ValueError("a rollover fault needs rollover_at (the counter's capacity)")
        return self

    def holds(self, days: float) -> bool:
        return self.from_day <= days and (self.to_day is None or days < self.to_day)


def active_fault(faults: Iterable[FaultSpec], device_id: int, days: float) -> FaultSpec | None:
    """The first fault of ``device_id`` that holds ``days`` after the start."""
    for fault in faults:
        if fault.device_id == device_id and fault.holds(days):
            return fault
    return None


def shown_total(fault: FaultSpec | None, total: float, total_at_fault_start: float) -> float:
    """The total a meter shows under ``fault``, given the true total now and when it began.
    Faults that act on the wire (silent, exception, slow) leave the value alone."""
    if fault is None or fault.kind in WIRE_FAULTS:
        return total
    match fault.kind:
        case "stuck":
            return total_at_fault_start
        case "reset":
            return max(0.0, total - total_at_fault_start)
        case "rollover":
            assert fault.rollover_at is not None  # checked by the model
            # The counter was set to wrap a quarter of a day's use or so after the fault began:
            # it starts just below its capacity and runs over it.
            start = fault.rollover_at - min(fault.rollover_at / 2, 0.5)
            return (start + total - total_at_fault_start) % fault.rollover_at
        case "nan":
            return math.nan
    return total


def damaged_frame(fault: FaultSpec, frame: bytes, *, rtu: bool, answer_number: int) -> bytes:
    """``frame`` (an answer about to be sent) as ``fault`` damages it; ``answer_number`` counts
    the device's answers from 1. Frames of other faults, and undamaged answers, pass as they are.
    The noise is a hash of the frame, so a run can be repeated exactly."""
    if fault.kind not in FRAME_FAULTS or (answer_number - 1) % fault.every:
        return frame
    if fault.kind == "bad_crc":
        if not rtu or len(frame) < 4:
            return frame
        return frame[:-2] + bytes(b ^ 0xFF for b in frame[-2:])
    keep = 1 if rtu else MBAP_HEADER_BYTES
    noise = hashlib.blake2b(frame, digest_size=64).digest()
    body = bytes(noise[i % len(noise)] for i in range(len(frame) - keep))
    return frame[:keep] + body

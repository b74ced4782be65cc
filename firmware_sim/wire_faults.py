"""The faults of one simulated device as they act on the wire, shared by every device kind.

A device (meter, lift terminal) owns one ``DeviceFaults``: which fault holds now (days after
the simulated start), what to do before answering (an exception response, a slow answer), and
what happens to the answer frame on its way out (dropped when silent, damaged by a frame fault,
counting the device's answers for ``every``). What a fault does to the *value* stays with the
device that knows its value (``faults.shown_total`` for meters).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from pymodbus.constants import ExcCodes

from firmware_sim.faults import FRAME_FAULTS, FaultSpec, active_fault, damaged_frame

__all__ = ["DeviceFaults"]


class DeviceFaults:
    def __init__(
        self,
        device_id: int,
        faults: tuple[FaultSpec, ...],
        start: datetime,
        now: Callable[[], datetime],
    ) -> None:
        self.device_id = device_id
        self.faults = tuple(f for f in faults if f.device_id == device_id)
        self._start = start
        self._now = now
        self._answers = 0  # answers sent while a frame fault held

    def now(self) -> FaultSpec | None:
        """The fault that holds at the simulated time now, if any."""
        if not self.faults:
            return None
        days = (self._now() - self._start).total_seconds() / 86400
        return active_fault(self.faults, self.device_id, days)

    def silent(self) -> bool:
        fault = self.now()
        return fault is not None and fault.kind == "silent"

    async def before_answer(self) -> ExcCodes | None:
        """An exception code to answer with instead, or None; waits out a ``slow`` fault."""
        fault = self.now()
        if fault is not None and fault.kind == "exception":
            return _exception_code(fault.exception_code)
        if fault is not None and fault.kind == "slow":
            await asyncio.sleep(fault.delay_s)
        return None

    def damage(self, frame: bytes, *, rtu: bool) -> bytes:
        """The answer frame as a frame fault leaves it (as it was, without one)."""
        fault = self.now()
        if fault is None or fault.kind not in FRAME_FAULTS:
            return frame
        self._answers += 1
        return damaged_frame(fault, frame, rtu=rtu, answer_number=self._answers)


def _exception_code(code: int) -> ExcCodes:
    for member in ExcCodes:
        if int(member.value) == code:
            return member
    return ExcCodes.DEVICE_FAILURE

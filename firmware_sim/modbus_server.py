"""One Modbus TCP listener (or RTU line) answering for every device of a simulated building.

A building's meters usually sit on RS485 behind one RS485-to-TCP converter, each at its own
device id; this server plays that converter. The devices behind it, meters and lift monitoring
terminals, are pymodbus ``SimDevice``s that compute their values when read
(:mod:`firmware_sim.simulated_devices`); this module only serves them. A silent device's answer
is dropped before it is sent, and a frame fault damages it, on the way out.

A request for a device id the building does not have gets exception 0x0B (gateway target failed
to respond), as from a converter whose meter is silent. pymodbus stays inside this module and
``simulated_devices``: a server that cannot start raises :class:`ModbusServerError`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from pymodbus import FramerType
from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from firmware_sim import FirmwareSimError
from firmware_sim.building_config import BuildingConfig
from firmware_sim.simulated_devices import (
    Clock,
    SimulatedDevice,
    building_lifts_served,
    building_meters,
)

__all__ = ["BuildingServer", "MeterServer", "ModbusServerError", "SerialLine"]

log = logging.getLogger(__name__)

REGISTER_SPACE = 0x1_0000
CATCH_ALL_DEVICE_ID = 0  # pymodbus sends requests for unknown ids to device 0


@dataclass(frozen=True, slots=True)
class SerialLine:
    """A serial port to serve Modbus RTU on, instead of TCP (a USB-RS485 adapter, or one end
    of a pseudo-terminal pair in tests)."""

    port: str
    baudrate: int = 9600
    parity: str = "N"
    stopbits: int = 1


class ModbusServerError(FirmwareSimError):
    """The server cannot start (address in use, not allowed to bind)."""


async def _no_such_device(
    function_code: int,
    start_address: int,
    address: int,
    count: int,
    registers: list[int],
    set_values: list[int] | list[bool] | None,
) -> ExcCodes | None:
    return ExcCodes.GATEWAY_NO_RESPONSE


def _catch_all_device() -> SimDevice:
    everything = SimData(address=0, count=REGISTER_SPACE, values=0, datatype=DataType.REGISTERS)
    return SimDevice(id=CATCH_ALL_DEVICE_ID, simdata=[everything], action=_no_such_device)


class MeterServer:
    """One Modbus TCP listener (or RTU line) answering for ``meters``, as one RS485-to-TCP
    converter (or one RS485 line) does. ``await start()``, then ``await stop()``."""

    def __init__(
        self,
        meters: Sequence[SimulatedDevice],
        *,
        host: str,
        port: int,
        serial: SerialLine | None = None,
    ) -> None:
        self.meters = list(meters)
        self.host = host
        self.serial = serial
        self._requested_port = port
        self._server: ModbusTcpServer | ModbusSerialServer | None = None

    @property
    def where(self) -> str:
        """What the READY line names: ``modbus-tcp HOST:PORT`` or ``modbus-rtu DEVICE``."""
        if self.serial is not None:
            return f"modbus-rtu {self.serial.port}"
        return f"modbus-tcp {self.host}:{self.port}"

    @property
    def port(self) -> int:
        """The port listened on (the chosen one when started with port 0)."""
        if self._server is None or self.serial is not None:
            raise ModbusServerError("the server is not listening on TCP")
        sockets = self._server.transport.sockets  # type: ignore[attr-defined]
        return int(sockets[0].getsockname()[1])

    async def start(self) -> None:
        if self.serial is not None:
            await self._start_serial(self.serial)
            return
        devices = [meter.sim_device() for meter in self.meters]
        server = ModbusTcpServer(
            [*devices, _catch_all_device()],
            address=(self.host, self._requested_port),
            trace_packet=self._answer_as_faults_say,
        )
        if any(f.kind == "bad_crc" for m in self.meters for f in m.faults):
            log.warning("bad_crc faults act on Modbus RTU only: TCP frames carry no CRC")
        try:
            await server.serve_forever(background=True)
        except RuntimeError as err:
            await server.shutdown()  # type: ignore[no-untyped-call]
            raise ModbusServerError(
                f"cannot listen on {self.host}:{self._requested_port}"
                " (address in use, or not allowed)"
            ) from err
        self._server = server
        log.info(
            "serving %d meters on %s:%d (device ids %s)",
            len(self.meters),
            self.host,
            self.port,
            ", ".join(str(m.device_id) for m in self.meters),
        )

    async def _start_serial(self, line: SerialLine) -> None:
        # On an RS485 line a device id nobody has is simply silent: no catch-all device here.
        server = ModbusSerialServer(
            [meter.sim_device() for meter in self.meters],
            framer=FramerType.RTU,
            port=line.port,
            baudrate=line.baudrate,
            parity=line.parity,
            stopbits=line.stopbits,
            ignore_missing_devices=True,
            trace_packet=self._answer_as_faults_say,
        )
        try:
            await server.serve_forever(background=True)
        except (RuntimeError, OSError) as err:
            await server.shutdown()  # type: ignore[no-untyped-call]
            raise ModbusServerError(f"cannot open serial port {line.port}: {err}") from err
        self._server = server
        log.info("serving %d meters on %s", len(self.meters), self.where)

    def _answer_as_faults_say(self, sending: bool, packet: bytes) -> bytes:
        """A silent meter answers nothing: its response frame is dropped before it is sent,
        so the client times out as it would on a dead meter; a frame fault damages it. The
        device id is byte 6 of a Modbus TCP frame (after the MBAP header) and byte 0 of an RTU
        frame. On an RTU line the answer for an id no device has (pymodbus would send exception
        0x04) is dropped too: on a real line, nobody answers it."""
        rtu = self.serial is not None
        index = 0 if rtu else 6
        if sending and len(packet) > index:
            for meter in self.meters:
                if meter.device_id == packet[index]:
                    return meter.frame_to_send(packet, rtu=rtu)
            if rtu:
                return b""  # nobody on the line has that id: nobody answers
        return packet

    async def stop(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            listener = server.transport
            await server.shutdown()  # type: ignore[no-untyped-call]
            if isinstance(listener, asyncio.Server):
                await listener.wait_closed()
            await asyncio.sleep(0)  # let the closed connections' transports finish
            log.info("server stopped")


class BuildingServer(MeterServer):
    """Every meter and lift terminal of a building file behind one listener."""

    def __init__(
        self,
        config: BuildingConfig,
        clock: Clock,
        *,
        seed: int,
        host: str,
        port: int,
        serial: SerialLine | None = None,
    ) -> None:
        devices: list[SimulatedDevice] = [
            *building_meters(config, clock, seed),
            *building_lifts_served(config, clock, seed),
        ]
        super().__init__(devices, host=host, port=port, serial=serial)

"""One Modbus bus as its pollers share it: one client, and one request on the line at a time.

A bus is a Modbus TCP address (usually an RS485-to-TCP converter with many devices, each at its
own unit id) or a Modbus RTU line on a local serial port. Behind either sits one RS485 line that
carries one request at a time, so every request on a bus takes its turn on the bus's lock: the
polling round of its meters and counting lifts (``gateway.modbus.bus_poller``) and the lifts sampled
for their car's position (``gateway.modbus.lift_position_poller``) interleave request by request,
never overlap. A bus that cannot be reached is logged once when it goes and once when it comes back.
pymodbus exceptions end here, as :class:`DeviceError`.
"""

from __future__ import annotations

import asyncio
import logging

from pymodbus import FramerType
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient, ModbusBaseClient
from pymodbus.exceptions import ModbusException

from gateway.config.gateway_file import ModbusRtuBus, ModbusTcpBus
from gateway.core.registers import ReadBlock, RegisterFunction
from gateway.errors import DeviceError, DeviceRefusal

log = logging.getLogger(__name__)

ModbusBus = ModbusTcpBus | ModbusRtuBus


def describe_bus(bus: ModbusBus) -> str:
    if isinstance(bus, ModbusTcpBus):
        return f"{bus.name} (Modbus TCP {bus.host}:{bus.port})"
    line = f"{bus.baudrate} {bus.bytesize}{bus.parity}{bus.stopbits}"
    return f"{bus.name} (Modbus RTU {bus.port} {line})"


def _client_for(bus: ModbusBus) -> ModbusBaseClient:
    if isinstance(bus, ModbusTcpBus):
        return AsyncModbusTcpClient(
            bus.host,
            port=bus.port,
            timeout=bus.timeout_s,
            retries=bus.retries,
            reconnect_delay=0.5,
            reconnect_delay_max=30.0,
            name=bus.name,
        )
    return AsyncModbusSerialClient(
        bus.port,
        framer=FramerType.RTU,
        baudrate=bus.baudrate,
        parity=bus.parity,
        stopbits=bus.stopbits,
        bytesize=bus.bytesize,
        timeout=bus.timeout_s,
        retries=bus.retries,
        reconnect_delay=0.5,
        reconnect_delay_max=30.0,
        name=bus.name,
    )


class ModbusLink:
    """The one client of one bus; made inside the running event loop (pymodbus needs it)."""

    def __init__(self, bus: ModbusBus) -> None:
        self.bus = bus
        self._client = _client_for(bus)
        self._turn = asyncio.Lock()  # one request on the line at a time
        self._down = False

    def close(self) -> None:
        self._client.close()

    async def reachable(self) -> bool:
        """Whether the bus is connected, connecting it if it is not. A garbled answer makes
        pymodbus drop a TCP connection, so callers ask before each device: one bad frame costs
        one device's reading, not the rest of the bus."""
        async with self._turn:
            up = self._client.connected or await self._client.connect()
        if not up and not self._down:
            log.warning("%s: cannot connect", describe_bus(self.bus))
        elif up and self._down:
            log.info("%s: connected again", describe_bus(self.bus))
        self._down = not up
        return up

    async def read_block(self, device_id: int, block: ReadBlock) -> list[int]:
        """The words of one planned read of device ``device_id``, waiting for the bus's turn."""
        read = (
            self._client.read_input_registers
            if block.function is RegisterFunction.INPUT
            else self._client.read_holding_registers
        )
        name = self.bus.name
        # pymodbus bounds each try by the bus time-out; this bounds the whole request.
        budget = self.bus.timeout_s * (self.bus.retries + 1) + 1.0
        async with self._turn:
            try:
                async with asyncio.timeout(budget):
                    response = await read(block.address, count=block.count, device_id=device_id)
            except TimeoutError as err:
                raise DeviceError(name, device_id, f"no answer within {budget:.1f} s") from err
            except ModbusException as err:
                raise DeviceError(name, device_id, str(err)) from err
        if response.isError():
            raise DeviceRefusal(name, device_id, response.exception_code)
        if len(response.registers) != block.count:
            raise DeviceError(
                name, device_id, f"asked for {block.count} registers, got {len(response.registers)}"
            )
        return list(response.registers)

"""``gateway scan``: which devices answer on a Modbus bus, and which meter profile each is.

For an installer wiring a bus. Each device id in turn gets the probes of
:func:`gateway.core.identification.probes_for` over the gateway's own :class:`ModbusLink` (one
request at a time, each bounded by the bus time-out). An id whose first probes (one per
register table) go unanswered, or for which the converter answers "nobody there" (exception
0x0A/0x0B), is empty and costs at most two time-outs; a device that answers anything is
probed fully and identified by the pure core. The result renders as a ready-to-paste TOML
fragment: the bus, and one ``[[units.meters]]`` per meter, to move under its flat's
``[[units]]``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from gateway.config.gateway_file import ModbusRtuBus, ModbusTcpBus
from gateway.core.identification import Answers, Fit, Probe, identify, probes_for
from gateway.core.registers import DeviceProfile, ReadBlock
from gateway.errors import DeviceError, DeviceRefusal, GatewayError
from gateway.modbus.link import ModbusBus, ModbusLink, describe_bus

ALL_IDS = tuple(range(1, 248))


class ScanError(GatewayError):
    """The bus itself cannot be scanned (converter unreachable, serial port missing)."""


@dataclass(frozen=True, slots=True)
class FoundDevice:
    """A device id that answered, with the profiles that fit it (best first; none: it
    answered, but like no known profile)."""

    device_id: int
    fits: tuple[Fit, ...]

    @property
    def best(self) -> Fit | None:
        return self.fits[0] if self.fits else None


def parse_ids(text: str) -> tuple[int, ...]:
    """``1-247``, ``11,12,20-29``: the device ids to probe, in order, each once."""
    ids: list[int] = []
    for part in text.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if match is None:
            raise ValueError(f"--ids: {part.strip()!r} is not an id or a range like 1-247")
        low = int(match.group(1))
        high = int(match.group(2) or low)
        if not 1 <= low <= high <= 247:
            raise ValueError(f"--ids: {part.strip()} is outside 1-247 or runs backwards")
        ids.extend(i for i in range(low, high + 1) if i not in ids)
    return tuple(ids)


def parse_host_port(text: str, default_port: int = 502) -> tuple[str, int]:
    """``HOST:PORT`` or ``HOST`` (port 502); ``[::1]:502`` for IPv6."""
    match = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?|([^:]+)(?::(\d+))?", text)
    if match is None:
        raise ValueError(f"{text!r} is not HOST:PORT")
    host = match.group(1) or match.group(3)
    port = int(match.group(2) or match.group(4) or default_port)
    if not 1 <= port <= 65535:
        raise ValueError(f"{text!r}: port {port} is outside 1-65535")
    return host, port


async def probe_device(link: ModbusLink, device_id: int, probes: Sequence[Probe]) -> Answers | None:
    """The answers of ``device_id`` to ``probes``; None when nobody is at that id."""
    answers: dict[Probe, Sequence[int] | None] = {}
    present = False
    unanswered_tables = set()
    for probe in probes:
        if not present and probe.function in unanswered_tables:
            continue  # this table's first probe went unanswered: do not wait again
        block = ReadBlock(probe.function, probe.address, probe.count, ())
        try:
            answers[probe] = await link.read_block(device_id, block)
            present = True
        except DeviceRefusal as refusal:
            if refusal.nobody_there:
                return None
            answers[probe] = None
            present = True
        except DeviceError:
            answers[probe] = None
            if not present:
                unanswered_tables.add(probe.function)
    return answers if present else None


async def scan_bus(
    bus: ModbusBus,
    ids: Iterable[int],
    profiles: Iterable[DeviceProfile],
    progress: Callable[[int, FoundDevice | None], None] = lambda _id, _found: None,
) -> list[FoundDevice]:
    """Probe each of ``ids`` on ``bus``; ``progress`` hears after each id. Must run inside the
    event loop (pymodbus)."""
    known = tuple(profiles)
    probes = probes_for(known)
    found: list[FoundDevice] = []
    link = ModbusLink(bus)
    try:
        for device_id in ids:
            if not await link.reachable():
                raise ScanError(f"cannot reach {describe_bus(bus)}")
            answers = await probe_device(link, device_id, probes)
            device = None
            if answers is not None:
                device = FoundDevice(device_id, tuple(identify(known, answers)))
                found.append(device)
            progress(device_id, device)
    finally:
        link.close()
    return found


def scan_target(
    kind: str, where: str, *, timeout_s: float, baudrate: int, parity: str, stopbits: int
) -> ModbusBus:
    """The bus to scan, as a configuration section (named ``bus-1``, no retries)."""
    if kind == "tcp":
        host, port = parse_host_port(where)
        return ModbusTcpBus(name="bus-1", host=host, port=port, timeout_s=timeout_s, retries=0)
    return ModbusRtuBus.model_validate(
        {
            "name": "bus-1",
            "port": where,
            "baudrate": baudrate,
            "parity": parity,
            "stopbits": stopbits,
            "timeout_s": timeout_s,
            "retries": 0,
        }
    )


def describe_fit(device: FoundDevice) -> str:
    """One line for the table: what it is and how sure."""
    best = device.best
    if best is None:
        return "answers, but like no known profile"
    certainty = "confirmed" if best.confirmed else "likely" if len(device.fits) > 1 else "fits"
    text = f"{best.profile} ({certainty}: {best.evidence})"
    others = [fit.profile for fit in device.fits[1:]]
    return text + (f"; also fits {', '.join(others)}" if others else "")


def toml_fragment(bus: ModbusBus, devices: Sequence[FoundDevice]) -> str:
    """The bus and a ``[[units.meters]]`` per identified meter, ready to paste."""
    lines = [f"# Found by gateway scan on {describe_bus(bus)}", _bus_table(bus), ""]
    for device in devices:
        best = device.best
        if best is None:
            lines.append(f"# device {device.device_id}: answers, but like no known profile")
            continue
        note = "confirmed by its model code" if best.confirmed else "unconfirmed: check the label"
        others = [fit.profile for fit in device.fits[1:]]
        if others:
            note += f"; could also be {', '.join(others)}"
        lines += [
            f"# device {device.device_id}: {best.profile}, {note}; reads {best.total:g}",
            "# move under the [[units]] of its flat",
            "[[units.meters]]",
            f'kind = "{best.kind}"',
            f'bus = "{bus.name}"',
            f"device_id = {device.device_id}",
            f'profile = "{best.profile}"',
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


def _bus_table(bus: ModbusBus) -> str:
    if isinstance(bus, ModbusTcpBus):
        return (
            f'[[modbus_tcp]]\nname = "{bus.name}"\nhost = "{bus.host}"\nport = {bus.port}\n'
            f"timeout_s = 1.0\nretries = 1"
        )
    return (
        f'[[modbus_rtu]]\nname = "{bus.name}"\nport = "{bus.port}"\nbaudrate = {bus.baudrate}\n'
        f'parity = "{bus.parity}"\nstopbits = {bus.stopbits}\ntimeout_s = 1.0\nretries = 1'
    )

"""The gateway's few error types. Library exceptions become one of these at each seam."""

from __future__ import annotations


class GatewayError(Exception):
    """Base of every error the gateway raises on purpose."""


class ConfigError(GatewayError):
    """A configuration file is unusable; the message names the file, the field path and the rule."""


class DeviceError(GatewayError):
    """A device did not answer usefully (timeout, exception response, connection refused)."""

    def __init__(self, bus: str, device_id: int, reason: str) -> None:
        super().__init__(f"{bus} device {device_id}: {reason}")
        self.bus = bus
        self.device_id = device_id
        self.reason = reason


class DeviceRefusal(DeviceError):
    """The device, or the converter in front of it, answered with a Modbus exception ``code``
    (1 illegal function, 2 illegal address, 0x0A/0x0B: the converter found nobody there)."""

    NOBODY_THERE = frozenset({0x0A, 0x0B})

    def __init__(self, bus: str, device_id: int, code: int) -> None:
        super().__init__(bus, device_id, f"exception response {code:#04x}")
        self.code = code

    @property
    def nobody_there(self) -> bool:
        return self.code in self.NOBODY_THERE


class ContractError(GatewayError):
    """A message we built does not satisfy the wire contract (a bug, never sent)."""

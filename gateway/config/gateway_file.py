"""The gateway's configuration: one TOML file, validated once at start into frozen objects.

Everything past this module works with typed, immutable values; no raw dicts travel further.
A broken file is refused with one line naming the file, the field path and the rule broken,
for example ``gateway.toml: units[3].area_m2: Input should be greater than 0``.
Relative paths in the file are resolved against the file's own directory.
This module holds the whole file's model and its loader; the detector's sections live in
``gateway.config.detection``, the lock radio, locks and lifts in ``gateway.config.devices``.
"""

from __future__ import annotations

from datetime import timezone
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from gateway.config.base import Identifier, MeterKind, _Frozen
from gateway.config.detection import (
    CounterLimitsSection,
    DecisionSection,
    DetectionConfig,
    DoorSection,
    NormsSection,
    PollingSection,
    RulesSection,
    _default_limits,
)
from gateway.config.devices import (
    BleSection,
    ElevatorSpec,
    LockSpec,
    _check_elevators,
    _check_locks,
)
from gateway.core.alert_decision import DecisionParams
from gateway.core.building_day import DetectorSettings
from gateway.core.counters import CounterLimits
from gateway.core.occupancy import OccupancyRules
from gateway.errors import ConfigError
from gateway.wire.keys import load_bridge_keys
from qunzu_common.config_errors import format_validation_error, read_toml
from qunzu_common.mqtt_tls import TlsFiles, tls_file_problems
from qunzu_common.utc_offset import parse_utc_offset


class StoreSection(_Frozen):
    """The store's disk budget (``gateway.store.disk_budget``): telemetry is evicted oldest first
    past ``max_bytes``; ``reserve_bytes`` are held back in a file for a full disk."""

    max_bytes: int = Field(default=512 * 1024 * 1024, ge=1024 * 1024)
    reserve_bytes: int = Field(default=8 * 1024 * 1024, ge=0)
    budget_check_s: float = Field(default=300.0, gt=0, description="wall seconds between checks")
    reading_interval_s: float = Field(
        default=900.0,
        ge=0,
        le=3600,
        description="keep each meter's first total per slot this long (0: every poll)",
    )


class GatewaySection(_Frozen):
    id: Identifier
    key_file: Path
    store_path: Path = Path("gateway.sqlite")
    utc_offset: str = "+08:00"
    raw_retention_days: int = Field(default=35, ge=2)

    @field_validator("utc_offset")
    @classmethod
    def _offset(cls, value: str) -> str:
        parse_utc_offset(value)
        return value

    @property
    def timezone(self) -> timezone:
        """The building's local time: days start at its midnight."""
        return parse_utc_offset(self.utc_offset)


class MqttSection(_Frozen):
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    topic_prefix: str = Field(default="bldg/v1", pattern=r"^[A-Za-z0-9_/-]+[A-Za-z0-9_-]$")
    protocol: Literal["5", "3.1.1"] = "5"
    client_id: str = ""
    username: str | None = None
    password: str | None = None
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    resend_after_s: float = Field(
        default=30.0, gt=0, description="wall seconds without an ack before the first re-send"
    )
    resend_max_s: float = Field(
        default=900.0,
        gt=0,
        description="the longest wait between two re-sends (never less than resend_after_s)",
    )
    session_expiry_s: int = Field(
        default=86_400,
        ge=0,
        le=0xFFFF_FFFF,
        description="MQTT 5: how long the broker keeps the session (the ack subscription and"
        " the acks queued for it) after a connection ends",
    )

    max_downlink_bytes: int = Field(
        default=16 * 1024, ge=256, le=1024 * 1024, description="bigger acks are refused unread"
    )
    tls_ca_file: Path | None = None
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    bridge_public_key_files: tuple[Path, ...] = Field(
        default=(), description="when set, only acks signed by one of these keys count"
    )

    @property
    def tls(self) -> TlsFiles:
        return TlsFiles(self.tls_ca_file, self.tls_cert_file, self.tls_key_file)


class MetricsSection(_Frozen):
    """The Prometheus endpoint (``gateway.service.metrics``); without ``[metrics]``, none."""

    listen: str = "127.0.0.1:9108"

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError(f"{value!r} is not HOST:PORT (e.g. 127.0.0.1:9108)")
        return value

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])


class ModbusTcpBus(_Frozen):
    name: Identifier
    host: str
    port: int = Field(default=502, ge=1, le=65535)
    timeout_s: float = Field(default=1.0, gt=0, le=30)
    retries: int = Field(default=1, ge=0, le=5)


class ModbusRtuBus(_Frozen):
    """One RS485 line on a local serial port (a USB adapter or the Pi's UART)."""

    name: Identifier
    port: str = Field(min_length=1, description="serial device, e.g. /dev/ttyUSB0")
    baudrate: int = Field(default=9600, ge=1200, le=115200)
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    bytesize: Literal[7, 8] = 8
    timeout_s: float = Field(default=1.0, gt=0, le=30)
    retries: int = Field(default=1, ge=0, le=5)


class MeterSpec(_Frozen):
    kind: MeterKind
    bus: Identifier
    device_id: int = Field(ge=1, le=247)
    profile: Identifier
    rollover_at: float | None = Field(default=None, gt=0)


class UnitSpec(_Frozen):
    unit_id: Identifier
    floor: int
    area_m2: float = Field(gt=0)
    rooms: int = Field(ge=1)
    meters: tuple[MeterSpec, ...] = ()

    @model_validator(mode="after")
    def _one_meter_per_kind(self) -> UnitSpec:
        kinds = [m.kind for m in self.meters]
        for kind in kinds:
            if kinds.count(kind) > 1:
                raise ValueError(f"more than one {kind} meter")
        return self


class GatewayConfig(_Frozen):
    """The whole validated file. Build it with :func:`load_gateway_config`."""

    gateway: GatewaySection
    mqtt: MqttSection = MqttSection()
    store: StoreSection = StoreSection()
    polling: PollingSection = PollingSection()
    rules: RulesSection = RulesSection()
    norms: NormsSection = NormsSection()
    door: DoorSection = DoorSection()
    decision: DecisionSection = DecisionSection()
    limits: dict[MeterKind, CounterLimitsSection] = Field(default_factory=_default_limits)
    modbus_tcp: tuple[ModbusTcpBus, ...] = ()
    modbus_rtu: tuple[ModbusRtuBus, ...] = ()
    units: tuple[UnitSpec, ...] = Field(min_length=1)
    profile_dirs: tuple[Path, ...] = ()
    ble: BleSection = BleSection()
    locks: tuple[LockSpec, ...] = ()
    elevators: tuple[ElevatorSpec, ...] = ()
    metrics: MetricsSection | None = None

    @model_validator(mode="after")
    def _cross_references(self) -> GatewayConfig:
        buses: list[str] = []
        for section, group in (("modbus_tcp", self.modbus_tcp), ("modbus_rtu", self.modbus_rtu)):
            for i, bus in enumerate(group):
                if bus.name in buses:
                    raise ValueError(f"{section}[{i}].name: {bus.name!r} is used twice")
                buses.append(bus.name)
        ports = [bus.port for bus in self.modbus_rtu]
        for i, port in enumerate(ports):
            if port in ports[:i]:
                raise ValueError(f"modbus_rtu[{i}].port: {port!r} is already another bus")
        seen_units: dict[str, int] = {}
        seen_devices: dict[tuple[str, int], str] = {}
        for i, unit in enumerate(self.units):
            if unit.unit_id in seen_units:
                first = seen_units[unit.unit_id]
                raise ValueError(f"units[{i}].unit_id: {unit.unit_id!r} repeats units[{first}]")
            seen_units[unit.unit_id] = i
            for j, meter in enumerate(unit.meters):
                where = f"units[{i}].meters[{j}]"
                if meter.bus not in buses:
                    raise ValueError(
                        f"{where}.bus: no bus named {meter.bus!r} in [[modbus_tcp]]"
                        " or [[modbus_rtu]]"
                    )
                key = (meter.bus, meter.device_id)
                if key in seen_devices:
                    raise ValueError(
                        f"{where}.device_id: {meter.device_id} on {meter.bus} is already used by"
                        f" {seen_devices[key]}"
                    )
                seen_devices[key] = where
        _check_elevators(self.elevators, buses, seen_devices)
        _check_locks(self.locks, seen_units)
        return self

    @property
    def lock_unit_ids(self) -> frozenset[str]:
        return frozenset(lock.unit_id for lock in self.locks)

    # Core parameter objects, built from the validated sections.
    @property
    def detection(self) -> DetectionConfig:
        return DetectionConfig(
            rules=self.rules,
            norms=self.norms,
            door=self.door,
            decision=self.decision,
            limits=self.limits,
            polling=self.polling,
        )

    @property
    def occupancy_rules(self) -> OccupancyRules:
        return OccupancyRules(**self.rules.model_dump())

    @property
    def decision_params(self) -> DecisionParams:
        return DecisionParams(**self.decision.model_dump())

    @property
    def detector_settings(self) -> DetectorSettings:
        return self.detection.detector_settings(self.gateway.id)

    def counter_limits(self, unit: UnitSpec) -> dict[str, CounterLimits]:
        """Plausibility limits per meter kind for one unit, with each meter's own rollover."""
        return self.detection.counter_limits({m.kind: m.rollover_at for m in unit.meters})

    def topic(self, leaf: str) -> str:
        return f"{self.mqtt.topic_prefix}/{self.gateway.id}/{leaf}"


def load_gateway_config(path: Path) -> GatewayConfig:
    """Read, validate and resolve ``path``; raise :class:`ConfigError` with a readable message."""
    source = path.name
    raw = read_toml(path, ConfigError)
    try:
        config = GatewayConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(format_validation_error(source, err)) from err
    base = path.resolve().parent
    mqtt_keys = config.mqtt.bridge_public_key_files
    resolved = config.model_copy(
        update={
            "gateway": config.gateway.model_copy(
                update={
                    "key_file": base / config.gateway.key_file,
                    "store_path": base / config.gateway.store_path,
                }
            ),
            "profile_dirs": tuple(base / p for p in config.profile_dirs),
            "ble": config.ble.model_copy(
                update={"pseudonym_key_file": base / config.ble.pseudonym_key_file}
            ),
            "mqtt": config.mqtt.model_copy(
                update={
                    name: base / value
                    for name in ("tls_ca_file", "tls_cert_file", "tls_key_file")
                    if (value := getattr(config.mqtt, name)) is not None
                }
                | {"bridge_public_key_files": tuple(base / p for p in mqtt_keys)}
            ),
        }
    )
    problems = tls_file_problems(resolved.mqtt.tls)
    if problems:
        raise ConfigError("\n".join(f"{source}: {line}" for line in problems))
    load_bridge_keys(
        resolved.mqtt.bridge_public_key_files, f"{source}: mqtt.bridge_public_key_files"
    )
    return resolved

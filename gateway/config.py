"""The gateway's configuration: one TOML file, validated once at start into frozen objects.

Everything past this module works with typed, immutable values; no raw dicts travel further.
A broken file is refused with one line naming the file, the field path and the rule broken,
for example ``gateway.toml: units[3].area_m2: Input should be greater than 0``.
Relative paths in the file are resolved against the file's own directory.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from datetime import timezone
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gateway.core.alert_decision import DecisionParams
from gateway.core.building_day import DetectorSettings
from gateway.core.counters import CounterLimits
from gateway.core.daily_usage import METER_KINDS
from gateway.core.lock_adverts import normalise_mac
from gateway.core.occupancy import OccupancyRules, PerCapitaNorms
from gateway.errors import ConfigError
from qunzu_common.config_errors import format_validation_error
from qunzu_common.utc_offset import parse_utc_offset

Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
MeterKind = Literal["water_m3", "electricity_kwh", "gas_m3"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


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
    resend_after_s: float = Field(default=30.0, gt=0, description="wall seconds without an ack")


class PollingSection(_Frozen):
    interval_s: float = Field(default=900.0, gt=0, description="building seconds between polls")
    day_close_delay_s: float = Field(
        default=600.0, ge=0, description="building seconds after midnight before a day is closed"
    )


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


class ElevatorSpec(_Frozen):
    """One lift's monitoring terminal: per-floor stop counters read like a meter."""

    elevator_id: Identifier
    bus: Identifier
    device_id: int = Field(ge=1, le=247)
    profile: Identifier = "elevator_floor_counters"
    floors: tuple[int, ...] = Field(min_length=1, description="the floors the lift serves")

    @field_validator("floors")
    @classmethod
    def _distinct_floors(cls, floors: tuple[int, ...]) -> tuple[int, ...]:
        for i, floor in enumerate(floors):
            if floor in floors[:i]:
                raise ValueError(f"floor {floor} is listed twice")
        return floors

    def stops_quantity(self, floor: int) -> str:
        """The profile quantity holding the lift's stop counter at ``floor``."""
        return f"stops_floor_{floor}"


class BleSection(_Frozen):
    """The smart-lock radio (docs/ble-locks.md); used only when ``[[locks]]`` lists a lock."""

    transport: Literal["bleak", "bumble"] = "bleak"
    adapter: str = Field(default="hci0", pattern=r"^hci[0-9]{1,2}$", description="bleak only")
    bumble_transport: str = Field(default="usb:0", min_length=1, description="bumble only")
    pseudonym_key_file: Path = Path("lock-pseudonyms.key")
    silent_after_s: float = Field(
        default=6 * 3600.0, gt=0, description="building seconds unheard before a lock is silent"
    )
    connect_timeout_s: float = Field(default=10.0, gt=0, le=120)


class LockSpec(_Frozen):
    """One smart lock on a unit's door."""

    unit_id: Identifier
    mac: str
    kind: Literal["mibeacon", "bthome", "gatt"]
    bind_key: str | None = Field(default=None, description="MiBeacon: 32 hex digits")

    @field_validator("mac")
    @classmethod
    def _mac(cls, value: str) -> str:
        return normalise_mac(value)

    @field_validator("bind_key")
    @classmethod
    def _bind_key(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if len(value) != 32 or not re.fullmatch(r"[0-9A-Fa-f]*", value):
            raise ValueError(f"must be 32 hex digits (16 bytes), got {len(value)} characters")
        return value.lower()

    @property
    def bind_key_bytes(self) -> bytes:
        return bytes.fromhex(self.bind_key or "")


class RulesSection(_Frozen):
    max_persons_per_room: int = Field(default=2, ge=1)
    min_area_m2_per_person: float = Field(default=5.0, gt=0)


class NormsSection(_Frozen):
    water_m3_per_person_day: float = Field(default=0.12, gt=0)
    electricity_base_kwh_day: float = Field(default=2.0, ge=0)
    electricity_kwh_per_person_day: float = Field(default=1.5, gt=0)
    gas_m3_per_person_day: float = Field(default=0.3, gt=0)
    relative_uncertainty: float = Field(default=0.25, gt=0, lt=1)
    water_leak_lph: float = Field(default=4.0, gt=0)


class DecisionSection(_Frozen):
    sustain_days: int = Field(default=3, ge=1)
    clear_days: int = Field(default=5, ge=1)
    min_confidence: float = Field(default=0.75, gt=0, lt=1)
    update_every_days: int = Field(default=7, ge=1)
    max_evidence_days: int = Field(default=14, ge=1, le=60)
    excess_persons: int = Field(default=1, ge=0, le=10)
    # Days under min_confidence count partly above this confidence and against the case
    # below it (a CUSUM: lasting moderate evidence is raised later instead of never).
    partial_evidence_from: float | None = Field(default=0.65, gt=0, lt=1)
    # While the household's own lock credentials keep opening the door: guests leave in a week.
    resident_sustain_days: int = Field(default=7, ge=1)
    # While a unit's baseline is being learned (its first days under watch): same reason.
    unlearned_sustain_days: int = Field(default=7, ge=1)
    # When the household's credentials stopped opening the door and others took over.
    newcomer_sustain_days: int = Field(default=2, ge=1)

    @model_validator(mode="after")
    def _reference_below_threshold(self) -> DecisionSection:
        reference = self.partial_evidence_from
        if reference is not None and reference >= self.min_confidence:
            raise ValueError(
                f"partial_evidence_from ({reference}) must be below min_confidence"
                f" ({self.min_confidence})"
            )
        return self


class CounterLimitsSection(_Frozen):
    max_rate_per_hour: float = Field(gt=0)
    reset_below: float = Field(default=1.0, ge=0)


def _default_limits() -> dict[str, CounterLimitsSection]:
    return {
        "water_m3": CounterLimitsSection(max_rate_per_hour=3.0, reset_below=1.0),
        "electricity_kwh": CounterLimitsSection(max_rate_per_hour=12.0, reset_below=5.0),
        "gas_m3": CounterLimitsSection(max_rate_per_hour=4.0, reset_below=1.0),
    }


class GatewayConfig(_Frozen):
    """The whole validated file. Build it with :func:`load_gateway_config`."""

    gateway: GatewaySection
    mqtt: MqttSection = MqttSection()
    polling: PollingSection = PollingSection()
    rules: RulesSection = RulesSection()
    norms: NormsSection = NormsSection()
    decision: DecisionSection = DecisionSection()
    limits: dict[MeterKind, CounterLimitsSection] = Field(default_factory=_default_limits)
    modbus_tcp: tuple[ModbusTcpBus, ...] = ()
    modbus_rtu: tuple[ModbusRtuBus, ...] = ()
    units: tuple[UnitSpec, ...] = Field(min_length=1)
    profile_dirs: tuple[Path, ...] = ()
    ble: BleSection = BleSection()
    locks: tuple[LockSpec, ...] = ()
    elevators: tuple[ElevatorSpec, ...] = ()

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


def _check_elevators(
    elevators: tuple[ElevatorSpec, ...], buses: list[str], devices: dict[tuple[str, int], str]
) -> None:
    ids: dict[str, int] = {}
    for i, lift in enumerate(elevators):
        where = f"elevators[{i}]"
        if lift.elevator_id in ids:
            first = ids[lift.elevator_id]
            raise ValueError(
                f"{where}.elevator_id: {lift.elevator_id!r} repeats elevators[{first}]"
            )
        ids[lift.elevator_id] = i
        if lift.bus not in buses:
            raise ValueError(
                f"{where}.bus: no bus named {lift.bus!r} in [[modbus_tcp]] or [[modbus_rtu]]"
            )
        key = (lift.bus, lift.device_id)
        if key in devices:
            raise ValueError(
                f"{where}.device_id: {lift.device_id} on {lift.bus} is already used by"
                f" {devices[key]}"
            )
        devices[key] = where


def _check_locks(locks: tuple[LockSpec, ...], units: Mapping[str, int]) -> None:
    macs: dict[str, int] = {}
    for i, lock in enumerate(locks):
        where = f"locks[{i}]"
        if lock.unit_id not in units:
            raise ValueError(f"{where}.unit_id: no unit {lock.unit_id!r} in [[units]]")
        if lock.mac in macs:
            raise ValueError(f"{where}.mac: {lock.mac} is already locks[{macs[lock.mac]}]")
        macs[lock.mac] = i
        if lock.kind == "mibeacon" and lock.bind_key is None:
            raise ValueError(
                f"{where}.bind_key: a mibeacon lock needs its bind key (32 hex digits);"
                " see docs/ble-locks.md for how to get it"
            )
        if lock.kind != "mibeacon" and lock.bind_key is not None:
            raise ValueError(f"{where}.bind_key: only a mibeacon lock has a bind key")


DETECTION_SECTIONS = ("rules", "norms", "decision", "limits", "polling")


class DetectionConfig(_Frozen):
    """The detector's settings alone: the sections of a gateway.toml that decide what is an
    alert. ``gateway backtest --config`` reads these from any file and ignores the rest, so the
    gateway.toml of a live building replays a trace with exactly its own settings."""

    rules: RulesSection = RulesSection()
    norms: NormsSection = NormsSection()
    decision: DecisionSection = DecisionSection()
    limits: dict[MeterKind, CounterLimitsSection] = Field(default_factory=_default_limits)
    polling: PollingSection = PollingSection()

    def detector_settings(self, gateway_id: str) -> DetectorSettings:
        return DetectorSettings(
            gateway_id,
            OccupancyRules(**self.rules.model_dump()),
            PerCapitaNorms(**self.norms.model_dump()),
            DecisionParams(**self.decision.model_dump()),
        )

    def counter_limits(
        self, rollover_at: Mapping[str, float | None] | None = None
    ) -> dict[str, CounterLimits]:
        """Plausibility limits per meter kind; ``rollover_at`` by kind for meters that wrap."""
        limits = _default_limits() | dict(self.limits)
        rollover_at = rollover_at or {}
        return {
            kind: CounterLimits(
                max_rate_per_hour=limits[kind].max_rate_per_hour,
                rollover_at=rollover_at.get(kind),
                reset_below=limits[kind].reset_below,
            )
            for kind in METER_KINDS
        }


def load_detection_config(
    path: Path | None, rules_override: dict[str, object] | None = None
) -> DetectionConfig:
    """The detection sections of ``path`` (defaults when ``None``), with ``rules_override``
    (a trace's own occupancy rule) laid over the file's ``[rules]``."""
    raw: dict[str, object] = {}
    source = "defaults"
    if path is not None:
        source = path.name
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as err:
            raise ConfigError(f"{path}: file not found") from err
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{source}: not valid TOML: {err}") from err
        raw = {key: data[key] for key in DETECTION_SECTIONS if key in data}
    if rules_override:
        rules = raw.get("rules", {})
        raw["rules"] = {**(rules if isinstance(rules, dict) else {}), **rules_override}
    try:
        return DetectionConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(format_validation_error(source, err)) from err


def load_gateway_config(path: Path) -> GatewayConfig:
    """Read, validate and resolve ``path``; raise :class:`ConfigError` with a readable message."""
    source = path.name
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ConfigError(f"{path}: file not found") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{source}: not valid TOML: {err}") from err
    try:
        config = GatewayConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(format_validation_error(source, err)) from err
    base = path.resolve().parent
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
        }
    )
    return resolved

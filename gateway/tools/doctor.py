"""``gateway doctor``: is this gateway fit to run? One line per check, pass, warn or fail.

The checks, in order: the configuration (and its device profiles) is valid; each Modbus bus
can be reached and each configured meter answers like the profile it is configured with (the
probes and identification of ``gateway scan``); the Bluetooth adapter, when locks are
configured; the MQTT broker accepts a session (and the TLS client certificate's days left, when
TLS is configured); the clock is NTP-synchronised; the store passes SQLite's quick check; the
signing key is private to its owner; and the outbox has no alert waiting too long for the
cloud. A failed configuration stops there: the rest needs it. Local checks are in
``gateway.tools.doctor_checks``; this module adds those that talk to devices and the broker,
and runs them all. The doctor never writes: it can run next to a running gateway (it connects
to the broker under its own client id, so it does not take the gateway's session), except on a
Modbus RTU line, which has room for one master: stop the gateway before checking one.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import aiomqtt

from gateway.config.gateway_file import GatewayConfig, load_gateway_config
from gateway.core.identification import identify, probes_for
from gateway.core.registers import DeviceProfile
from gateway.errors import ConfigError
from gateway.modbus.device_profiles import load_profiles
from gateway.modbus.link import ModbusBus, ModbusLink, describe_bus
from gateway.modbus.read_plans import bind_elevators
from gateway.tools.doctor_checks import (
    Check,
    Verdict,
    check_ble,
    check_clock,
    check_key_file,
    check_outbox,
    check_store,
    check_tls_certificate,
    now_utc,
)
from gateway.tools.scan import probe_device

BROKER_TIMEOUT_S = 5.0


def check_config(path: Path) -> tuple[Check, GatewayConfig | None, dict[str, DeviceProfile]]:
    """The configuration and the profiles it names, as ``gateway check-config`` checks them."""
    try:
        config = load_gateway_config(path)
        profiles = load_profiles(config.profile_dirs)
        for i, unit in enumerate(config.units):
            for j, meter in enumerate(unit.meters):
                if meter.profile not in profiles:
                    raise ConfigError(
                        f"{path.name}: units[{i}].meters[{j}].profile: no device profile named"
                        f" {meter.profile!r}"
                    )
        bind_elevators(config.elevators, profiles)
    except ConfigError as err:
        return Check("config", Verdict.FAIL, str(err), "fix the field named"), None, {}
    meters = sum(len(unit.meters) for unit in config.units)
    buses = len(config.modbus_tcp) + len(config.modbus_rtu)
    detail = (
        f"{path.name}: gateway {config.gateway.id}, {len(config.units)} units, {meters} meters,"
        f" {buses} bus{'es' if buses != 1 else ''}"
    )
    return Check("config", Verdict.PASS, detail), config, profiles


async def check_bus(
    config: GatewayConfig, bus: ModbusBus, profiles: dict[str, DeviceProfile]
) -> list[Check]:
    """Whether ``bus`` can be reached, then one check per meter configured on it."""
    meters = [(unit.unit_id, m) for unit in config.units for m in unit.meters if m.bus == bus.name]
    if not meters:
        return []
    probes = probes_for(profiles.values())
    link = ModbusLink(bus)
    try:
        if not await link.reachable():
            return [
                Check(
                    f"bus {bus.name}",
                    Verdict.FAIL,
                    f"cannot connect to {describe_bus(bus)}",
                    "check the converter's power, address and cable (or the serial port)",
                )
            ]
        checks = [Check(f"bus {bus.name}", Verdict.PASS, f"{describe_bus(bus)} reachable")]
        for unit_id, meter in meters:
            name = f"{bus.name}/{meter.device_id}"
            what = f"unit {unit_id} {meter.kind}"
            if not await link.reachable():
                checks.append(Check(name, Verdict.FAIL, f"{what}: the bus went away"))
                continue
            answers = await probe_device(link, meter.device_id, probes)
            if answers is None:
                checks.append(
                    Check(
                        name,
                        Verdict.FAIL,
                        f"{what}: does not answer (waited {bus.timeout_s:g} s)",
                        "check its wiring, its Modbus address and the line's baud rate and"
                        " parity; gateway scan lists what answers",
                    )
                )
                continue
            fits = identify(profiles.values(), answers)
            mine = next((fit for fit in fits if fit.profile == meter.profile), None)
            if mine is not None and mine.kind == meter.kind:
                sure = "confirmed" if mine.confirmed else "fits"
                checks.append(
                    Check(
                        name, Verdict.PASS, f"{what}: {meter.profile} {sure}, reads {mine.total:g}"
                    )
                )
                continue
            like = f"answers like {fits[0].profile}" if fits else "answers like no known profile"
            checks.append(
                Check(
                    name,
                    Verdict.FAIL,
                    f"{what}: {like}, but is configured as {meter.profile}",
                    f"set its profile to {fits[0].profile} and kind to {fits[0].kind}"
                    if fits
                    else "check the device id: another device may answer there",
                )
            )
        return checks
    finally:
        link.close()


async def check_broker(config: GatewayConfig) -> Check:
    """An MQTT session opens and closes, under a client id of the doctor's own."""
    mqtt = config.mqtt
    where = f"{mqtt.host}:{mqtt.port}"
    client = aiomqtt.Client(
        mqtt.host,
        mqtt.port,
        identifier=f"gateway-{config.gateway.id}-doctor",
        username=mqtt.username,
        password=mqtt.password,
        timeout=BROKER_TIMEOUT_S,
        protocol=aiomqtt.ProtocolVersion.V5
        if mqtt.protocol == "5"
        else aiomqtt.ProtocolVersion.V311,
    )
    try:
        async with asyncio.timeout(BROKER_TIMEOUT_S * 2), client:
            pass
    except (aiomqtt.MqttError, TimeoutError) as err:
        return Check(
            "broker",
            Verdict.FAIL,
            f"{where}: no MQTT session: {err or 'timed out'}",
            "check [mqtt] host, port and credentials, and that the network reaches the broker",
        )
    return Check("broker", Verdict.PASS, f"{where}: MQTT session accepted")


async def run_checks(config_path: Path, now: datetime | None = None) -> list[Check]:
    """Every check, in the order of the report."""
    now = now or now_utc()
    config_check, config, profiles = check_config(config_path)
    if config is None:
        return [config_check]
    checks = [config_check]
    buses: list[ModbusBus] = [*config.modbus_tcp, *config.modbus_rtu]
    for found in await asyncio.gather(*(check_bus(config, bus, profiles) for bus in buses)):
        checks.extend(found)
    checks.append(check_ble(config))
    checks.append(await check_broker(config))
    tls = check_tls_certificate(config, now)
    if tls is not None:
        checks.append(tls)
    checks.append(await asyncio.to_thread(check_clock))
    checks.append(check_store(config.gateway.store_path))
    checks.append(check_key_file(config.gateway.key_file))
    checks.append(check_outbox(config.gateway.store_path, now))
    return checks


def exit_code(checks: list[Check]) -> int:
    """1 when any check failed, else 0 (warnings do not fail)."""
    return 1 if any(check.verdict is Verdict.FAIL for check in checks) else 0

"""A small simulated building with a mix of meter models, for the installer tools' tests.

Unit 0101: SDM120 at device 11, water meter at 12, gas meter at 13. Unit 0102: SDM120 at 21,
water meter at 22. ``silent`` lists device ids whose meters never answer (a ``silent`` fault).
The gateway file matches it, unless a test asks for a different profile at some id.
"""

from __future__ import annotations

from pathlib import Path

SIM_METERS = {
    11: ("0101", "electricity_kwh", "eastron_sdm120", 1000.0),
    12: ("0101", "water_m3", "generic_water_u32", 100.0),
    13: ("0101", "gas_m3", "generic_gas_u32", 50.0),
    21: ("0102", "electricity_kwh", "eastron_sdm120", 2000.0),
    22: ("0102", "water_m3", "generic_water_u32", 200.0),
}


def building_file(tmp_path: Path, *, silent: tuple[int, ...] = ()) -> Path:
    text = '[building]\nid = "mixed"\nname = "Mixed"\n'
    for unit in ("0101", "0102"):
        text += (
            f'\n[[units]]\nunit_id = "{unit}"\nfloor = 1\narea_m2 = 60\nrooms = 2\noccupants = 2\n'
        )
        for device_id, (owner, kind, model, total) in SIM_METERS.items():
            if owner == unit:
                text += (
                    f'  [[units.meters]]\n  kind = "{kind}"\n  device = "{model}"\n'
                    f"  device_id = {device_id}\n  initial_total = {total}\n"
                )
    for device_id in silent:
        text += f'\n[[faults]]\ndevice_id = {device_id}\nkind = "silent"\n'
    path = tmp_path / "building.toml"
    path.write_text(text, encoding="utf-8")
    return path


def gateway_file(
    tmp_path: Path,
    modbus_port: int,
    *,
    mqtt_port: int = 1883,
    profiles: dict[int, tuple[str, str]] | None = None,
    extra_ids: tuple[int, ...] = (),
    leave_out: tuple[int, ...] = (),
    interval_s: float = 900,
) -> Path:
    """``profiles`` overrides (kind, profile) configured at a device id; ``extra_ids`` adds water
    meters (unit 0103) at ids the building does not have; ``leave_out`` drops meters."""
    profiles = profiles or {}
    text = (
        '[gateway]\nid = "gw-test"\nkey_file = "keys/gw-test.key.pem"\n'
        f'store_path = "gateway.sqlite"\n\n[mqtt]\nhost = "127.0.0.1"\nport = {mqtt_port}\n'
        f"\n[polling]\ninterval_s = {interval_s}\n"
        f'\n[[modbus_tcp]]\nname = "conv-1"\nhost = "127.0.0.1"\nport = {modbus_port}\n'
        "timeout_s = 0.3\nretries = 0\n"
    )
    meters: dict[str, list[tuple[int, str, str]]] = {}
    for device_id, (unit, kind, model, _) in SIM_METERS.items():
        if device_id in leave_out:
            continue
        kind, model = profiles.get(device_id, (kind, model))
        meters.setdefault(unit, []).append((device_id, kind, model))
    for device_id in extra_ids:
        meters.setdefault("0103", []).append((device_id, "water_m3", "generic_water_u32"))
    for unit, rows in meters.items():
        text += f'\n[[units]]\nunit_id = "{unit}"\nfloor = 1\narea_m2 = 60\nrooms = 2\n'
        for device_id, kind, profile in rows:
            text += (
                f'  [[units.meters]]\n  kind = "{kind}"\n  bus = "conv-1"\n'
                f'  device_id = {device_id}\n  profile = "{profile}"\n'
            )
    path = tmp_path / "gateway.toml"
    path.write_text(text, encoding="utf-8")
    return path

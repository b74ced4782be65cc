"""A small simulated building with one lift, written as a ``firmware_sim`` building file, for
the tests of the gateway's lift paths (counters and position mode)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path


def lift_building_file(
    tmp_path: Path,
    units: Mapping[str, tuple[int, int, int]],
    floors: Sequence[int],
    lift_id: int,
    rooms: int,
    faults: str = "",
) -> Path:
    """``units``: unit id -> (floor, occupants, water meter device id); one lift ``L1`` at
    ``lift_id`` serving ``floors``; ``faults``: TOML appended as is."""
    tables = "".join(
        f'[[units]]\nunit_id = "{u}"\nfloor = {f}\narea_m2 = 60\nrooms = {rooms}\n'
        f"occupants = {n}\n"
        f'  [[units.meters]]\n  kind = "water_m3"\n  device = "generic_water_u32"\n'
        f"  device_id = {d}\n  initial_total = 100.0\n"
        for u, (f, n, d) in units.items()
    )
    lift = f'[[elevators]]\nelevator_id = "L1"\ndevice_id = {lift_id}\nfloors = {list(floors)}\n'
    path = tmp_path / "building.toml"
    path.write_text('[building]\nid = "lifted"\n' + tables + lift + faults, encoding="utf-8")
    return path


def lift_gateway_file(
    tmp_path: Path,
    port: int,
    units: Mapping[str, tuple[int, int, int]],
    floors: Sequence[int],
    lift_id: int,
    rooms: int,
    lift_options: str = "",
    sections: str = "",
) -> Path:
    """The gateway.toml that reads :func:`lift_building_file`'s building served on ``port``:
    each unit's water meter and lift ``L1`` on one converter. ``lift_options``: TOML lines added
    to the lift's table; ``sections``: whole sections (e.g. ``[polling]``) added after
    ``[gateway]``."""
    tables = "".join(
        f'[[units]]\nunit_id = "{u}"\nfloor = {f}\narea_m2 = 60\nrooms = {rooms}\n'
        f'  [[units.meters]]\n  kind = "water_m3"\n  bus = "conv"\n  device_id = {d}\n'
        '  profile = "generic_water_u32"\n'
        for u, (f, _, d) in units.items()
    )
    lift = (
        f'[[elevators]]\nelevator_id = "L1"\nbus = "conv"\ndevice_id = {lift_id}\n'
        f"floors = {list(floors)}\n{lift_options}"
    )
    path = tmp_path / "gateway.toml"
    path.write_text(
        '[gateway]\nid = "gw"\nkey_file = "k.pem"\n'
        + sections
        + f'[[modbus_tcp]]\nname = "conv"\nhost = "127.0.0.1"\nport = {port}\n'
        "timeout_s = 0.5\nretries = 0\n" + tables + lift,
        encoding="utf-8",
    )
    return path

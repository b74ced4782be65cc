"""The demo's example configurations describe one building: every flat and meter the simulator
serves is the one the gateway reads, at the same device id, with the matching profile."""

from __future__ import annotations

import tomllib
from pathlib import Path

from gateway.config.gateway_file import load_gateway_config

DEMO = Path(__file__).resolve().parents[1] / "config" / "demo"


def test_gateway_reads_exactly_the_meters_the_simulated_building_serves() -> None:
    building = tomllib.loads((DEMO / "building.toml").read_text(encoding="utf-8"))
    gateway = load_gateway_config(DEMO / "gateway.toml")
    served = {
        (u["unit_id"], u["floor"], u["area_m2"], u["rooms"]): sorted(
            (m["kind"], m["device_id"], m["device"]) for m in u["meters"]
        )
        for u in building["units"]
    }
    read = {
        (u.unit_id, u.floor, u.area_m2, u.rooms): sorted(
            (m.kind, m.device_id, m.profile) for m in u.meters
        )
        for u in gateway.units
    }
    assert read == served
    assert {m.bus for u in gateway.units for m in u.meters} == {gateway.modbus_tcp[0].name}


def test_the_demo_has_a_group_rental_to_find() -> None:
    building = tomllib.loads((DEMO / "building.toml").read_text(encoding="utf-8"))
    rentals = [
        u["unit_id"]
        for u in building["units"]
        if any(c.get("label") == "group_rental" for c in u.get("changes", []))
    ]
    assert rentals == ["0302"]

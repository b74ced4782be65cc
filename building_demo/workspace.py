"""The demo's working directory: configuration files and keys, written fresh for every run.

The example files in ``config/demo/`` are the source; the demo copies them with the ports and
paths of this run filled in, and creates the gateway's key pair with ``gateway keygen``, as an
installer would.
"""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from building_demo.processes import DemoError

EXAMPLES = Path(__file__).resolve().parents[1] / "config" / "demo"


@dataclass(frozen=True)
class DemoFiles:
    workdir: Path
    building: Path
    gateway: Path
    bridge: Path
    gateway_id: str
    group_rental_units: tuple[str, ...]
    street_office: str  # the demo gateway's (its tickets go there)


def _read(name: str) -> dict[str, Any]:
    path = EXAMPLES / name
    if not path.exists():
        raise DemoError(f"missing example configuration {path}")
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(
        "# Written by the demo from config/demo/; edit those, not this.\n" + tomli_w.dumps(data),
        encoding="utf-8",
    )
    return path


def prepare_workspace(
    workdir: Path, bin_dir: Path, *, mqtt_port: int, modbus_port: int, http_port: int
) -> DemoFiles:
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)

    building = _read("building.toml")
    building.setdefault("modbus_tcp", {}).update({"host": "127.0.0.1", "port": modbus_port})
    group_rentals = tuple(
        unit["unit_id"]
        for unit in building.get("units", [])
        if any(change.get("label") == "group_rental" for change in unit.get("changes", []))
    )

    gateway = _read("gateway.toml")
    gateway_id = gateway["gateway"]["id"]
    keys = workdir / "keys"
    result = subprocess.run(
        [str(bin_dir / "gateway"), "keygen", "--id", gateway_id, "--out-dir", str(keys)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise DemoError(f"gateway keygen failed: {result.stderr.strip()}")
    gateway["gateway"]["key_file"] = f"keys/{gateway_id}.key.pem"
    gateway["gateway"]["store_path"] = "gateway.sqlite"
    gateway.setdefault("mqtt", {}).update({"host": "127.0.0.1", "port": mqtt_port})
    for bus in gateway.get("modbus_tcp", []):
        bus.update({"host": "127.0.0.1", "port": modbus_port})

    bridge = _read("bridge.toml")
    bridge["bridge"]["database_url"] = "sqlite:///tickets.sqlite"
    bridge.setdefault("mqtt", {}).update({"host": "127.0.0.1", "port": mqtt_port})
    bridge.setdefault("http", {}).update({"enabled": True, "host": "127.0.0.1", "port": http_port})
    office = bridge["street_offices"][0]["id"]
    for entry in bridge.get("gateways", []):
        if entry["id"] == gateway_id:
            entry["public_key_files"] = [f"keys/{gateway_id}.pub.pem"]
            office = entry["street_office"]

    return DemoFiles(
        workdir=workdir,
        building=_write(workdir / "building.toml", building),
        gateway=_write(workdir / "gateway.toml", gateway),
        bridge=_write(workdir / "bridge.toml", bridge),
        gateway_id=gateway_id,
        group_rental_units=group_rentals,
        street_office=office,
    )

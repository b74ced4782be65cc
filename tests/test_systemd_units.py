"""The shipped systemd units: started as notify services with a watchdog, restarted on failure,
as an unprivileged user, hardened; and, where systemd-analyze is installed, its offline
security score stays low."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(60)

UNITS = Path(__file__).resolve().parents[1] / "config" / "systemd"
GATEWAY = UNITS / "qunzu-gateway.service"
BRIDGE = UNITS / "qunzu-cloud-bridge@.service"


def service_section(path: Path) -> dict[str, list[str]]:
    """Key -> every value it is given in [Service] (systemd keys may repeat)."""
    section = ""
    values: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]":
            key, _, value = line.partition("=")
            values.setdefault(key, []).append(value)
    return values


@pytest.mark.parametrize("unit", [GATEWAY, BRIDGE], ids=lambda p: p.name)
def test_notify_watchdog_restart_and_hardening(unit: Path) -> None:
    service = service_section(unit)
    for key, value in {
        "Type": "notify",
        "NotifyAccess": "main",
        "Restart": "on-failure",
        "ProtectSystem": "strict",
        "NoNewPrivileges": "yes",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectControlGroups": "yes",
        "LockPersonality": "yes",
        "MemoryDenyWriteExecute": "yes",
        "CapabilityBoundingSet": "",
    }.items():
        assert service.get(key) == [value], key
    assert re.fullmatch(r"\d+s", service["WatchdogSec"][0])
    assert "@system-service" in service["SystemCallFilter"]
    assert service["User"][0].startswith("qunzu-")
    assert service["StateDirectory"][0].startswith("qunzu-")
    assert " run " in service["ExecStart"][0]


def test_gateway_may_use_bluetooth_and_serial_ports_only() -> None:
    service = service_section(GATEWAY)
    assert service["RestrictAddressFamilies"] == ["AF_UNIX AF_INET AF_INET6 AF_BLUETOOTH"]
    assert service["DevicePolicy"] == ["closed"]
    assert "char-ttyUSB rw" in service["DeviceAllow"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze missing")
@pytest.mark.parametrize(
    ("unit", "name"),
    [(GATEWAY, "qunzu-gateway.service"), (BRIDGE, "qunzu-cloud-bridge@1.service")],
)
def test_offline_security_exposure_is_low(tmp_path: Path, unit: Path, name: str) -> None:
    copy = tmp_path / name
    shutil.copy(unit, copy)
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--no-pager", name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert found, result.stdout + result.stderr
    assert float(found.group(1)) <= 2.0, result.stdout

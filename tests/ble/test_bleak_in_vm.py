"""The gateway's bleak transport against a real BlueZ, inside a VM (about 100 s; skipped where
the VM cannot start).

The host kernel has no Bluetooth, so the test boots the distribution's kernel under QEMU with
virtme-ng, sharing this machine's root filesystem, and runs ``bleak_vm_guest.py`` there: BlueZ
adopts a bumble controller on ``/dev/vhci`` as ``hci0``, emulated locks sit on the same link,
and the gateway's lock listener runs on bleak exactly as on a Pi. Software emulation only
(nested KVM does not work on these machines).

Needs: ``apt-get install qemu-system-x86 linux-image-amd64 bluez busybox-static`` and the
``virtme-ng`` package (test extra).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VM_TIMEOUT_S = 240
INSTALL = (
    "apt-get install qemu-system-x86 linux-image-amd64 bluez busybox-static; pip install virtme-ng"
)
# Where this tier runs when it cannot run here, said by every skip.
RUNS_ELSEWHERE = (
    "it runs in `make test` as root on Debian, which installs what it needs"
    " (scripts/ensure-test-system-packages), as on the CI machine; the bumble tests in tests/ble"
    " cover the same decoders and lock listener without BlueZ"
)


def _kernel_with_vhci() -> Path | None:
    for kernel in sorted(Path("/boot").glob("vmlinuz-*"), reverse=True):
        release = kernel.name.removeprefix("vmlinuz-")
        modules = Path("/lib/modules") / release / "kernel" / "drivers" / "bluetooth"
        if any(modules.glob("hci_vhci.ko*")):
            return kernel
    return None


def _missing(bin_dir: Path) -> list[str]:
    path = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    tools = ["qemu-system-x86_64", "vng", "virtme-run", "busybox", "bluetoothctl", "dbus-daemon"]
    missing = [tool for tool in tools if shutil.which(tool, path=path) is None]
    if not any(
        Path(p).exists() for p in ("/usr/libexec/bluetooth/bluetoothd", "/usr/sbin/bluetoothd")
    ):
        missing.append("bluetoothd")
    if _kernel_with_vhci() is None:
        missing.append("a /boot/vmlinuz-* kernel with the hci_vhci module")
    return missing


@pytest.mark.timeout(VM_TIMEOUT_S + 60)
def test_bleak_hears_an_encrypted_advert_and_reads_an_event_log_through_bluez() -> None:
    bin_dir = Path(sys.executable).parent
    missing = _missing(bin_dir)
    if missing:
        what = ", ".join(missing)
        pytest.skip(f"BlueZ-in-a-VM tier: missing {what} ({INSTALL}); {RUNS_ELSEWHERE}")
    kernel = _kernel_with_vhci()
    assert kernel is not None
    command = [
        str(bin_dir / "vng"), "--run", str(kernel), "--disable-kvm", "--memory", "1G",
        "--cpus", "2", "--cwd", str(REPO),
        "--exec", f"{sys.executable} -m tests.ble.bleak_vm_guest",
    ]  # fmt: skip
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    try:
        run = subprocess.run(
            command, capture_output=True, text=True, timeout=VM_TIMEOUT_S, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.skip(
            f"BlueZ-in-a-VM tier: the VM did not finish within {VM_TIMEOUT_S} s; {RUNS_ELSEWHERE}"
        )
    output = run.stdout + run.stderr
    if "GUEST STARTED" not in output:
        pytest.skip(
            f"BlueZ-in-a-VM tier: the VM could not start ({RUNS_ELSEWHERE}):"
            f" {output.strip()[-500:]}"
        )
    results = [line for line in output.splitlines() if line.startswith("RESULT ")]
    assert results, f"the guest ran but reported nothing:\n{output[-3000:]}"
    result = json.loads(results[-1].removeprefix("RESULT "))
    assert result["kept"] == [
        ["0101", "mibeacon", "unlock", "fingerprint", 1],
        ["0102", "gatt", "unlock", "card", 1],
    ], output[-3000:]
    assert result["mibeacon_adverts_heard"] > 1  # repeats were heard, and the event kept once

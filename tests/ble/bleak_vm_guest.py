"""Runs inside the test VM (see test_bleak_in_vm.py): the gateway's lock listener on bleak, through
a real BlueZ, hearing emulated locks. Prints one JSON line of what it kept, then exits.

In the guest, as root: load ``hci_vhci``, start a system D-Bus and ``bluetoothd``, attach a bumble
controller to ``/dev/vhci`` (the kernel adopts it as ``hci0``) on a ``LocalLink`` shared with
the emulated locks' controllers, power the adapter on, and run the listener for a few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bumble import hci
from bumble.controller import Controller
from bumble.core import PhysicalTransport
from bumble.link import LocalLink
from bumble.transport import open_transport

from firmware_sim.ble.emulated_locks import EventLogLock, MiBeaconLock, device_on_link
from firmware_sim.ble.lock_frames import LockAction
from gateway.ble.bleak_transport import BleakTransport
from gateway.ble.credentials import CredentialPseudonymiser
from gateway.ble.lock_listener import LockListener
from gateway.config.devices import LockSpec
from gateway.observations import StoredLockEvent
from simclock import SimClock

BIND_KEY = bytes.fromhex("b0a1c2d3e4f5061728394a5b6c7d8e9f")
MIBEACON_MAC, GATT_MAC = "A4:C1:38:00:00:01", "A4:C1:38:00:00:03"
# bumble issue 841: BlueZ misbehaves with these bits of the emulated controller set.
BLUEZ_UNFRIENDLY = hci.LeFeatureMask.LL_PRIVACY | hci.LeFeatureMask.LE_EXTENDED_ADVERTISING


class ConnectionAddressedLink(LocalLink):
    """bumble's ``LocalLink`` sends LE data from the sender's *current* random address, but the
    kernel takes a fresh non-resolvable address for each active scan, also while connected; the
    peer then drops the data ("no connection for ..."). Send it from the connection's own
    address, as a real link layer does. (An emulator limitation, not the gateway's.)"""

    def send_acl_data(
        self,
        sender_controller: Controller,
        destination_address: hci.Address,
        transport: PhysicalTransport,
        data: bytes,
    ) -> None:
        connection = sender_controller.le_connections.get(destination_address)
        destination = self.find_le_controller(destination_address)
        if transport != PhysicalTransport.LE or connection is None or destination is None:
            super().send_acl_data(sender_controller, destination_address, transport, data)
            return
        source = connection.self_address
        asyncio.get_running_loop().call_soon(destination.on_link_acl_data, source, transport, data)


def start_bluez() -> list[subprocess.Popen[bytes]]:
    subprocess.run(["modprobe", "hci_vhci"], check=True)
    Path("/run/dbus").mkdir(parents=True, exist_ok=True)
    dbus = subprocess.Popen(["dbus-daemon", "--system", "--nofork", "--nopidfile"])
    socket = Path("/run/dbus/system_bus_socket")
    deadline = time.monotonic() + 10
    while not socket.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    daemon = next(
        p for p in ("/usr/libexec/bluetooth/bluetoothd", "/usr/sbin/bluetoothd") if Path(p).exists()
    )
    return [dbus, subprocess.Popen([daemon, "--nodetach", "--noplugin=*"])]


async def bluetoothctl(*args: str) -> str:
    """Never ``subprocess.run`` here: the emulated controller answers the kernel from this very
    event loop, and a blocked loop makes the kernel's HCI commands time out."""
    process = await asyncio.create_subprocess_exec(
        "bluetoothctl", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
    )
    out, _ = await process.communicate()
    return out.decode(errors="replace")


async def power_on() -> None:
    for _ in range(30):
        if "Powered: yes" in await bluetoothctl("show"):
            return
        await bluetoothctl("power", "on")
        await asyncio.sleep(0.5)
    raise RuntimeError("the adapter never powered on")


async def main() -> None:
    print("GUEST STARTED", flush=True)
    helpers = start_bluez()
    link = ConnectionAddressedLink()
    async with await open_transport("vhci") as vhci:
        adapter = Controller(
            "hci0", host_source=vhci.source, host_sink=vhci.sink, link=link,
            public_address="F0:F1:F2:F3:F4:F5",
        )  # fmt: skip
        adapter.le_features &= ~BLUEZ_UNFRIENDLY
        mibeacon = MiBeaconLock(device_on_link(link, MIBEACON_MAC, "lock-1"), bind_key=BIND_KEY)
        gatt = EventLogLock(device_on_link(link, GATT_MAC, "lock-2"))
        for lock in (mibeacon, gatt):
            await lock.start()
        await power_on()
        now = datetime.now(UTC).replace(microsecond=0)
        await gatt.report(LockAction(now, "unlock", "card", 0x0501))
        kept: list[StoredLockEvent] = []

        both_kept = asyncio.Event()

        async def keep(events: list[StoredLockEvent]) -> None:
            kept.extend(events)
            if len(kept) >= 2:
                both_kept.set()

        async def position(_mac: str) -> int:
            return 0

        locks = [
            LockSpec(unit_id="0101", mac=MIBEACON_MAC, kind="mibeacon", bind_key=BIND_KEY.hex()),
            LockSpec(unit_id="0102", mac=GATT_MAC, kind="gatt"),
        ]
        listener = LockListener(
            locks, BleakTransport("hci0"), CredentialPseudonymiser(bytes(32)), SimClock.real(),
            keep, position, silent_after_s=600, connect_timeout_s=20,
        )  # fmt: skip
        task = asyncio.create_task(listener.run(), name="lock-listener")
        await mibeacon.report(LockAction(now, "unlock", "fingerprint", 0x80010003))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(both_kept.wait(), 40)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        heard = listener.adverts_heard[MIBEACON_MAC]
    for helper in helpers:
        helper.terminate()
    result = {
        "kept": sorted([e.unit_id, e.source, e.event, e.method, e.seq] for e in kept),
        "mibeacon_adverts_heard": heard,
        "bluetoothctl": shutil.which("bluetoothctl") is not None,
    }
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)

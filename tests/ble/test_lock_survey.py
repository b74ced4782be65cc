"""``gateway scan ble`` over the bumble radio of the tests: emulated MiBeacon, BTHome and
event-log locks, and a device that is no lock, heard through the gateway's transport seam."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime

import pytest
from bumble.core import AdvertisingData

from firmware_sim.ble.emulated_locks import BthomeLock, EventLogLock, MiBeaconLock, device_on_link
from firmware_sim.ble.lock_frames import LockAction
from gateway.ble.transport import Advert
from gateway.core.lock_adverts import BTHOME_SERVICE_UUID, MIBEACON_SERVICE_UUID
from gateway.tools.ble_survey import listen, locks_fragment, survey
from tests.ble.conftest import Radio

pytestmark = pytest.mark.timeout(30)

MI, BT, LOG, OTHER = (
    "A4:C1:38:00:00:01",
    "A4:C1:38:00:00:02",
    "A4:C1:38:00:00:03",
    "C0:FF:EE:00:00:09",
)


async def test_each_lock_format_is_heard_and_listed(radio: Radio) -> None:
    mibeacon = MiBeaconLock(device_on_link(radio.link, MI, "lock"), bind_key=bytes(range(16)))
    bthome = BthomeLock(device_on_link(radio.link, BT, "lock"))
    event_log = EventLogLock(device_on_link(radio.link, LOG, "lock"))
    other = device_on_link(radio.link, OTHER, "thermometer")
    for lock in (mibeacon, bthome, event_log):
        await lock.start()
    await other.power_on()
    name = bytes(AdvertisingData([(AdvertisingData.COMPLETE_LOCAL_NAME, b"thermo")]))
    await other.start_advertising(
        advertising_data=name, advertising_interval_min=20, advertising_interval_max=20
    )
    action = LockAction(datetime.now(UTC).replace(microsecond=0), "unlock", "card", 1)
    await mibeacon.report(action)  # advertising locks advertise their last event
    await bthome.report(action)

    result = survey(await listen(radio.transport, 1.5))

    kinds = {lock.mac: lock.kind for lock in result.locks}
    assert kinds == {MI: "mibeacon", BT: "bthome", LOG: "gatt"}
    assert result.other_devices == 1
    heard = {lock.mac: lock for lock in result.locks}
    assert "Door Lock" in heard[MI].product
    assert all(lock.adverts > 3 for lock in result.locks)  # every 20 ms, for a second
    fragment = tomllib.loads(locks_fragment(result))
    assert {(t["mac"], t["kind"]) for t in fragment["locks"]} == set(kinds.items())
    assert next(t for t in fragment["locks"] if t["kind"] == "mibeacon")["bind_key"] == "FIXME"


@pytest.mark.parametrize(
    ("adverts", "expected"),
    [
        ([], []),
        ([Advert(BT, {BTHOME_SERVICE_UUID: b"\x40"}, (), -70),
          Advert(BT, {BTHOME_SERVICE_UUID: b"\x40"}, (), -60)], [(BT, "bthome", 2, -60)]),
        ([Advert(MI, {MIBEACON_SERVICE_UUID: b"\x00"}, (), None)], [(MI, "mibeacon", 1, None)]),
        ([Advert(MI, {MIBEACON_SERVICE_UUID: b""}, (), -80),
          Advert(BT, {BTHOME_SERVICE_UUID: b""}, (), -50)], [(BT, "bthome", 1, -50),
                                                             (MI, "mibeacon", 1, -80)]),
    ],
)  # fmt: skip
def test_survey_counts_and_sorts_by_signal(
    adverts: list[Advert], expected: list[tuple[str, str, int, int | None]]
) -> None:
    got = [(lock.mac, lock.kind, lock.adverts, lock.best_rssi) for lock in survey(adverts).locks]
    assert got == expected

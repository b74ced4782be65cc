"""Emulated locks to stored, pseudonymised lock events, through the gateway's bumble transport.

Every test runs the real stacks on both sides (bumble hosts and emulated controllers on one
in-process link); nothing is mocked. Locks advertise every 20 ms, so each event is heard many
times and must still be kept once.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest

from firmware_sim.ble.emulated_locks import (
    BthomeLock,
    EventLogLock,
    MiBeaconLock,
    device_on_link,
)
from firmware_sim.ble.lock_frames import LockAction, OversizedAdvertError
from gateway.config.devices import LockSpec
from tests.ble.conftest import Radio, listening, until

BIND_KEY = bytes.fromhex("b0a1c2d3e4f5061728394a5b6c7d8e9f")
OTHER_KEY = bytes.fromhex("00112233445566778899aabbccddeeff")
MIBEACON_MAC, BTHOME_MAC, GATT_MAC = "A4:C1:38:00:00:01", "A4:C1:38:00:00:02", "A4:C1:38:00:00:03"
FINGERPRINT_3, CARD_1 = 0x80010003, 0x80040001

pytestmark = pytest.mark.timeout(30)


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


async def test_encrypted_mibeacon_events_are_kept_once_each_and_pseudonymised(
    radio: Radio,
) -> None:
    lock = MiBeaconLock(device_on_link(radio.link, MIBEACON_MAC, "lock"), bind_key=BIND_KEY)
    await lock.start()
    spec = LockSpec(unit_id="0101", mac=MIBEACON_MAC, kind="mibeacon", bind_key=BIND_KEY.hex())
    async with listening(radio.listener([spec])) as listener:
        for action in (
            LockAction(now(), "unlock", "fingerprint", FINGERPRINT_3),
            LockAction(now(), "lock", "fingerprint", FINGERPRINT_3),
            LockAction(now(), "unlock_inside", "key", 0),  # leaving: not a sign of anyone
            LockAction(now(), "unlock", "card", CARD_1),
            LockAction(now(), "unlock", "key", 0),  # mechanical key: no credential
            LockAction(now(), "failed", "pin", 0),  # the lock's wrong-PIN alarm
        ):
            heard = listener.adverts_heard[MIBEACON_MAC]
            await lock.report(action)
            await until(lambda h=heard: listener.adverts_heard[MIBEACON_MAC] >= h + 5)
        await until(lambda: len(radio.kept) == 5)
        repeats = listener.adverts_heard[MIBEACON_MAC]

    fingerprint = radio.pseudonyms.pseudonym(f"{MIBEACON_MAC}/{FINGERPRINT_3:08x}")
    card = radio.pseudonyms.pseudonym(f"{MIBEACON_MAC}/{CARD_1:08x}")
    assert radio.stored("0101") == [
        ("unlock", fingerprint),
        ("lock", fingerprint),
        ("unlock", card),
        ("unlock", ""),
        ("failed", ""),
    ]
    assert repeats >= 30  # each event was heard at least five times, and kept once
    assert [e.method for e in radio.kept] == ["fingerprint", "fingerprint", "card", "key", "pin"]
    stored_text = repr(radio.kept)
    assert f"{FINGERPRINT_3:08x}" not in stored_text and f"{CARD_1:08x}" not in stored_text


async def test_a_wrong_bind_key_is_refused_with_one_logged_reason(
    radio: Radio, caplog: pytest.LogCaptureFixture
) -> None:
    lock = MiBeaconLock(device_on_link(radio.link, MIBEACON_MAC, "lock"), bind_key=BIND_KEY)
    await lock.start()
    spec = LockSpec(unit_id="0101", mac=MIBEACON_MAC, kind="mibeacon", bind_key=OTHER_KEY.hex())
    with caplog.at_level(logging.WARNING, logger="gateway.ble.lock_listener"):
        async with listening(radio.listener([spec])) as listener:
            await lock.report(LockAction(now(), "unlock", "fingerprint", FINGERPRINT_3))
            await until(lambda: listener.adverts_heard[MIBEACON_MAC] >= 10)
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert refusals == [
        f"lock {MIBEACON_MAC} (unit 0101): advert refused: MiBeacon MIC check failed:"
        " the configured bind key is not this lock's"
    ]
    assert radio.kept == []


async def test_bthome_lock_states_become_events_once_per_packet_id(radio: Radio) -> None:
    lock = BthomeLock(device_on_link(radio.link, BTHOME_MAC, "lock"))
    await lock.start()
    spec = LockSpec(unit_id="0102", mac=BTHOME_MAC, kind="bthome")
    async with listening(radio.listener([spec])) as listener:
        for action in (
            LockAction(now(), "unlock", "unknown", 1),
            LockAction(now(), "lock", "unknown", 0),
            LockAction(now(), "unlock", "unknown", 0),
        ):
            heard = listener.adverts_heard[BTHOME_MAC]
            await lock.report(action)
            await until(lambda h=heard: listener.adverts_heard[BTHOME_MAC] >= h + 5)
        await until(lambda: len(radio.kept) == 3)

    resident = radio.pseudonyms.pseudonym(f"{BTHOME_MAC}/00000001")
    assert radio.stored("0102") == [("unlock", resident), ("lock", ""), ("unlock", "")]
    assert [e.seq for e in radio.kept] == [1, 2, 3]


async def test_event_log_lock_resumes_after_a_lost_link_without_loss_or_repeat(
    radio: Radio,
) -> None:
    lock = EventLogLock(device_on_link(radio.link, GATT_MAC, "lock"))
    await lock.start()
    await lock.report(LockAction(now(), "unlock", "fingerprint", 7))  # before the gateway
    await lock.report(LockAction(now(), "lock", "key", 0))
    spec = LockSpec(unit_id="0103", mac=GATT_MAC, kind="gatt")
    async with listening(radio.listener([spec])) as listener:
        await until(lambda: len(radio.kept) == 2)
        await lock.report(LockAction(now(), "failed", "pin", 9))  # live, over the open link
        await until(lambda: len(radio.kept) == 3)
        await lock.go_silent()  # the link drops ...
        await until(lambda: GATT_MAC not in listener.connected)
        await lock.report(LockAction(now(), "unlock", "card", 11))  # ... the door is used ...
        await lock.come_back()  # ... and the gateway reconnects and resumes after #3
        await until(lambda: len(radio.kept) == 4, within_s=10)

    assert [e.seq for e in radio.kept] == [1, 2, 3, 4]
    assert radio.store.lock_events.log_position(GATT_MAC) == 4
    credentials = [e.credential for e in radio.kept]
    assert credentials == [
        radio.pseudonyms.pseudonym(f"{GATT_MAC}/00000007"),
        "",
        radio.pseudonyms.pseudonym(f"{GATT_MAC}/00000009"),
        radio.pseudonyms.pseudonym(f"{GATT_MAC}/0000000b"),
    ]
    assert [e.event for e in radio.kept] == ["unlock", "lock", "failed", "unlock"]


async def test_a_lock_that_goes_silent_is_reported_once_and_again_when_back(
    radio: Radio, caplog: pytest.LogCaptureFixture
) -> None:
    lock = MiBeaconLock(device_on_link(radio.link, MIBEACON_MAC, "lock"), bind_key=BIND_KEY)
    await lock.start()
    spec = LockSpec(unit_id="0101", mac=MIBEACON_MAC, kind="mibeacon", bind_key=BIND_KEY.hex())
    with caplog.at_level(logging.INFO, logger="gateway.ble.lock_listener"):
        async with listening(radio.listener([spec], silent_after_s=0.4)) as listener:
            await lock.report(LockAction(now(), "unlock", "fingerprint", FINGERPRINT_3))
            await until(lambda: len(radio.kept) == 1)
            await lock.go_silent()
            await until(lambda: MIBEACON_MAC in listener.silent)
            await asyncio.sleep(0.5)  # still silent: not reported again
            await lock.come_back()
            await lock.report(LockAction(now(), "lock", "fingerprint", FINGERPRINT_3))
            await until(lambda: MIBEACON_MAC not in listener.silent)
    messages = [r.getMessage() for r in caplog.records]
    assert sum("silent since" in m for m in messages) == 1
    assert sum("heard again" in m for m in messages) == 1


async def test_the_simulator_refuses_an_advert_over_31_bytes(radio: Radio) -> None:
    lock = MiBeaconLock(
        device_on_link(radio.link, MIBEACON_MAC, "lock"), bind_key=BIND_KEY, include_mac=True
    )
    await lock.start()
    with pytest.raises(OversizedAdvertError, match="37 bytes is over the 31-byte legacy limit"):
        await lock.report(LockAction(now(), "unlock", "fingerprint", FINGERPRINT_3))
    assert not lock.device.is_advertising


async def test_an_advertising_lock_with_a_wrong_clock_gets_the_time_heard(
    radio: Radio, caplog: pytest.LogCaptureFixture
) -> None:
    lock = MiBeaconLock(device_on_link(radio.link, MIBEACON_MAC, "lock"), bind_key=BIND_KEY)
    await lock.start()
    spec = LockSpec(unit_id="0101", mac=MIBEACON_MAC, kind="mibeacon", bind_key=BIND_KEY.hex())
    reset_clock = datetime(1970, 1, 2, tzinfo=UTC)  # a lock whose battery was changed
    with caplog.at_level(logging.WARNING, logger="gateway.ble.lock_listener"):
        async with listening(radio.listener([spec])):
            for kept, event in enumerate(("unlock", "lock"), start=1):
                await lock.report(LockAction(reset_clock, event, "fingerprint", FINGERPRINT_3))
                await until(lambda n=kept: len(radio.kept) == n)
    assert all(abs((e.ts - now()).total_seconds()) < 60 for e in radio.kept)
    assert sum("its clock says 1970-01-02" in r.getMessage() for r in caplog.records) == 1


async def test_several_event_log_locks_are_connected_one_after_the_other(
    radio: Radio, caplog: pytest.LogCaptureFixture
) -> None:
    """A controller makes one connection at a time: sessions starting together each connect on
    their first try, none refused (bumble's host would then mistake whose connection completed,
    and the refused ones wait out a back-off)."""
    macs = [f"A4:C1:38:00:01:{n:02X}" for n in range(1, 6)]
    locks = [EventLogLock(device_on_link(radio.link, mac, f"lock-{mac}")) for mac in macs]
    for lock in locks:
        await lock.start()
        await lock.report(LockAction(now(), "unlock", "fingerprint", 7))
    specs = [LockSpec(unit_id="0103", mac=mac, kind="gatt") for mac in macs]
    with caplog.at_level(logging.WARNING, logger="gateway.ble.lock_listener"):
        async with listening(radio.listener(specs)) as listener:
            await until(lambda: listener.connected == set(macs))
            await until(lambda: len(radio.kept) == len(macs))
    assert sorted(e.lock_mac for e in radio.kept) == macs
    refused = [r.getMessage() for r in caplog.records if r.name == "gateway.ble.lock_listener"]
    assert refused == []

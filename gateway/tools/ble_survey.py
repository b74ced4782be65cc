"""``gateway scan ble``: which smart locks can be heard from here, how well, in which format.

Listens to advertising reports for a while through the configured Bluetooth stack (the
:class:`~gateway.ble.transport.BleTransport` seam, so a bumble radio in the tests and BlueZ on
the Pi) and sorts what was heard by the lock formats the gateway reads: MiBeacon (service data
0xFE95; the product is named from its product id), BTHome v2 (0xFCD2) and our event-log GATT
profile (its service UUID advertised). Other devices are counted but not listed. The summary
is pure (:func:`survey`); only :func:`listen` touches the radio. Events are not decoded here:
a MiBeacon lock's events need its bind key, which a survey does not have.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

from gateway.ble.transport import Advert, BleTransport
from gateway.ble.xiaomi_products import xiaomi_product
from gateway.core.lock_adverts import BTHOME_SERVICE_UUID, MIBEACON_SERVICE_UUID
from gateway.core.lock_log_record import SERVICE_UUID as EVENT_LOG_SERVICE_UUID


@dataclass(frozen=True, slots=True)
class HeardLock:
    mac: str
    kind: str  # mibeacon, bthome or gatt, as in [[locks]] kind
    adverts: int
    best_rssi: int | None
    product: str  # what its adverts say it is, or ""


@dataclass(frozen=True, slots=True)
class Survey:
    locks: tuple[HeardLock, ...]
    other_devices: int


def lock_kind(advert: Advert) -> tuple[str, str] | None:
    """``(kind, product)`` when the advert is in a lock format the gateway reads."""
    mibeacon = advert.service_data.get(MIBEACON_SERVICE_UUID)
    if mibeacon is not None:
        product = ""
        if len(mibeacon) >= 4:
            known = xiaomi_product(int.from_bytes(mibeacon[2:4], "little"))
            if known is not None:
                product = known[0] if known[1] else f"{known[0]} (not a door lock)"
        return "mibeacon", product
    if BTHOME_SERVICE_UUID in advert.service_data:
        return "bthome", ""
    if EVENT_LOG_SERVICE_UUID in advert.service_uuids:
        return "gatt", "event-log profile"
    return None


def survey(adverts: Iterable[Advert]) -> Survey:
    """Locks heard (strongest first), and how many other devices advertised."""
    heard: dict[str, tuple[str, str, int, int | None]] = {}
    others: set[str] = set()
    for advert in adverts:
        found = lock_kind(advert)
        if found is None:
            others.add(advert.mac)
            continue
        kind, product = found
        _, old_product, count, rssi = heard.get(advert.mac, (kind, "", 0, None))
        if advert.rssi is not None and (rssi is None or advert.rssi > rssi):
            rssi = advert.rssi
        heard[advert.mac] = (kind, product or old_product, count + 1, rssi)
    locks = [
        HeardLock(mac, kind, n, rssi, product) for mac, (kind, product, n, rssi) in heard.items()
    ]
    locks.sort(
        key=lambda lock: (-(lock.best_rssi if lock.best_rssi is not None else -999), lock.mac)
    )
    return Survey(tuple(locks), len(others - set(heard)))


async def listen(transport: BleTransport, seconds: float) -> list[Advert]:
    """Every advertising report heard within ``seconds``."""
    heard: list[Advert] = []

    async def collect() -> None:
        async for advert in transport.adverts():
            heard.append(advert)

    try:
        async with asyncio.timeout(seconds):
            await collect()
    except TimeoutError:
        pass
    return heard


def locks_fragment(result: Survey) -> str:
    """A ``[[locks]]`` table per lock heard, with what only the installer knows left to fill."""
    lines = ["# Found by gateway scan ble; set each lock's flat (and a MiBeacon lock's bind key)"]
    for lock in result.locks:
        rssi = f"{lock.best_rssi} dBm" if lock.best_rssi is not None else "RSSI unknown"
        lines += [
            "",
            f"# {lock.product or lock.kind}, heard {lock.adverts} times, best {rssi}",
            "[[locks]]",
            'unit_id = "FIXME"',
            f'mac = "{lock.mac}"',
            f'kind = "{lock.kind}"',
        ]
        if lock.kind == "mibeacon":
            lines.append('bind_key = "FIXME"  # 32 hex digits, see docs/ble-locks.md')
    return "\n".join(lines) + "\n"

"""Names a MiBeacon lock's product from xiaomi-ble's product table (kept current upstream).

The gateway decodes lock events itself (``gateway.core.mibeacon`` says why); it takes from
xiaomi-ble the one thing that is data rather than code: which product number is which device.
A configured MiBeacon "lock" whose adverts name a product that is not a door lock is most likely
a wrong MAC in the configuration, and the listener says so.
"""

from __future__ import annotations

from xiaomi_ble.devices import DEVICE_TYPES

DOOR_LOCK = "Door Lock"


def xiaomi_product(product_id: int) -> tuple[str, bool] | None:
    """``(description, is_door_lock)`` for a MiBeacon product id; ``None`` if unknown."""
    entry = DEVICE_TYPES.get(product_id)
    if entry is None:
        return None
    return f"{entry.manufacturer} {entry.name} {entry.model}", entry.name == DOOR_LOCK

"""The gateway's smart-lock radio: a BLE transport seam, its bleak and bumble implementations,
and the lock listener that turns adverts and event-log notifications into pseudonymised lock
events (see docs/ble-locks.md)."""

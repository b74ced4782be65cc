"""Emulated smart locks on bumble's user-space Bluetooth stack (see docs/ble-locks.md).

``lock_frames`` builds what a lock puts on the air (pure: MiBeacon, BTHome v2, our event-log
records, legacy advertising data with its 31-byte limit); ``emulated_locks`` runs locks as
bumble devices that advertise those frames or serve the event-log GATT profile.
"""

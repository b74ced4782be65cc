"""Modbus: one link per bus, the bus poller, lift position sampling, read plans and device
profiles."""

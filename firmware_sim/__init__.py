"""firmware-sim: the meters of a whole residential building, simulated over real Modbus TCP.

A building file (``config/demo/building.toml`` is a commented example) lists the units, their
households and meters. ``firmware-sim serve`` answers for every meter of the building on one
Modbus TCP listener, as an RS485-to-TCP converter with the meters behind it would, with readings
that follow each household's modelled consumption on the shared simulated clock (``simclock``).

Modules: ``building_config`` (the file, validated), ``households`` (consumption model, pure),
``register_encoding`` (device register maps and word encoding, pure), ``simulated_devices``
(meters and lift terminals answering from the clock), ``modbus_server`` (the pymodbus server),
``wire_faults`` (faults a technician scripts), ``lift_model``, ``scenarios`` (whole generated
buildings and their traces), ``scenario_serving``, ``ble`` (smart locks over Bluetooth),
``cli`` (the ``firmware-sim`` command).
"""

from __future__ import annotations

__all__ = ["FirmwareSimError"]


class FirmwareSimError(Exception):
    """Base of every error the simulator raises on purpose; its message is for the user."""

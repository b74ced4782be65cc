"""A whole demo building on one machine: ``make demo``.

The demo is an orchestrator, not a shortcut: it writes configuration files and starts the real
programs as separate processes (``firmware-sim serve``, an MQTT broker, ``cloud-bridge run``,
``gateway run``), exactly as a deployment would, watches what they publish, and stops them all.
"""

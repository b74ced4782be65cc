"""MQTT brokers the demo and the tests can start: the embedded one, or mosquitto.

Embedded: iotcore, which compiles rumqttd into a wheel, so ``pip install`` is all it takes. It
speaks MQTT 5 with shared subscriptions, which the cloud bridge uses to scale out; amqtt, the
pure-Python alternative, speaks only MQTT 3.1.1 (see docs/embedded-broker.md). Its default
listener binds every interface, so we always hand it a config that binds 127.0.0.1 only.

mosquitto: the Debian package, started with a config of our own on a loopback port.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from building_demo.processes import DemoError

BROKERS = ("embedded", "mosquitto")


def embedded_broker_command(workdir: Path, port: int) -> list[str]:
    config = workdir / "rumqttd.toml"
    config.write_text(
        f"""# Written by the demo: the embedded broker (rumqttd via iotcore), loopback only.
id = 0

[router]
id = 0
max_connections = 1000
max_outgoing_packet_count = 200
max_segment_size = 104857600
max_segment_count = 10

[v5.1]
name = "v5-loopback"
listen = "127.0.0.1:{port}"
next_connection_delay_ms = 1
    [v5.1.connections]
    connection_timeout_ms = 60000
    max_payload_size = 262144
    max_inflight_count = 100
""",
        encoding="utf-8",
    )
    return [sys.executable, "-m", "iotcore", "--config", str(config), "--log-level", "WARNING"]


def mosquitto_executable() -> str:
    found = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if found is None:
        raise DemoError(
            "mosquitto is not installed (Debian/Ubuntu: apt-get install mosquitto);"
            " or use the embedded broker"
        )
    return found


def mosquitto_command(workdir: Path, port: int) -> list[str]:
    config = workdir / "mosquitto.conf"
    config.write_text(
        f"""# Written by the demo: a private mosquitto on a loopback port.
listener {port} 127.0.0.1
allow_anonymous true
persistence false
log_dest stdout
log_type error
log_type warning
log_type notice
""",
        encoding="utf-8",
    )
    return [mosquitto_executable(), "-c", str(config)]


def broker_command(kind: str, workdir: Path, port: int) -> list[str]:
    if kind == "embedded":
        return embedded_broker_command(workdir, port)
    if kind == "mosquitto":
        return mosquitto_command(workdir, port)
    raise DemoError(f"--broker: must be one of {', '.join(BROKERS)}, not {kind!r}")

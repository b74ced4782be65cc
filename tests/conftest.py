"""Fixtures shared by the whole suite: a private mosquitto on a free loopback port."""

from __future__ import annotations

import getpass
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from building_demo.brokers import mosquitto_command, mosquitto_executable
from building_demo.processes import free_port, wait_for_port
from gateway.config.gateway_file import GatewayConfig
from gateway.wire.keys import load_signing_key
from gateway.wire.signer import EnvelopeSigner

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class RunningBroker:
    host: str
    port: int
    process: subprocess.Popen[bytes]


def start_mosquitto(workdir: Path, port: int | None = None) -> RunningBroker:
    port = port or free_port()
    process = subprocess.Popen(
        mosquitto_command(workdir, port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    if not wait_for_port(port, 10):
        process.kill()
        process.wait()
        raise RuntimeError("mosquitto did not start listening")
    return RunningBroker("127.0.0.1", port, process)


def start_persistent_mosquitto(workdir: Path, port: int | None = None) -> RunningBroker:
    """A mosquitto that keeps client sessions and their queued messages in ``workdir`` and
    writes them out when it stops (SIGTERM), so a restart in the same ``workdir`` resumes them.
    ``user``: started as root, mosquitto would switch to user ``mosquitto``, who may not write
    the test's directory; as anyone else, it stays who it is."""
    port = port or free_port()
    config = workdir / "mosquitto-persistent.conf"
    config.write_text(
        f"""listener {port} 127.0.0.1
allow_anonymous true
user {getpass.getuser()}
persistence true
persistence_location {workdir}/
persistence_file mosquitto.db
log_dest stderr
log_type error
log_type warning
""",
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [mosquitto_executable(), "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if not wait_for_port(port, 10):
        process.kill()
        process.wait()
        raise RuntimeError("mosquitto did not start listening")
    return RunningBroker("127.0.0.1", port, process)


def stop_broker(broker: RunningBroker) -> None:
    broker.process.terminate()
    try:
        broker.process.wait(5)
    except subprocess.TimeoutExpired:
        broker.process.kill()
        broker.process.wait()


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[RunningBroker]:
    """A mosquitto of this test's own, with its own config, on a free loopback port."""
    broker = start_mosquitto(tmp_path)
    yield broker
    stop_broker(broker)


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


@pytest.fixture
def pty_pair(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two linked pseudo-terminals: what one side writes, the other reads, like a serial cable."""
    if shutil.which("socat") is None:
        pytest.fail(
            "socat is missing; `make test` installs it (scripts/ensure-test-system-packages)"
        )
    gateway_end, meter_end = tmp_path / "ttyGW", tmp_path / "ttyMETER"
    socat = subprocess.Popen(
        [
            "socat",
            f"pty,raw,echo=0,link={gateway_end}",
            f"pty,raw,echo=0,link={meter_end}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_until(lambda: gateway_end.exists() and meter_end.exists(), timeout=10)
        yield str(gateway_end), str(meter_end)
    finally:
        socat.terminate()
        socat.wait(timeout=10)


def free_port_block(count: int, attempts: int = 50) -> int:
    """The first of ``count`` consecutive loopback ports nobody listens on right now, below the
    kernel's ephemeral range (so outgoing connections of other tests do not take them)."""
    import random
    import socket

    for _ in range(attempts):
        base = random.randrange(20_000, 32_000 - count)
        sockets = []
        try:
            for port in range(base, base + count):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
        return base
    raise RuntimeError(f"no {count} consecutive free loopback ports found")


def gateway_signer(config: GatewayConfig) -> EnvelopeSigner:
    """The signer a gateway with ``config`` signs with (its key file)."""
    return EnvelopeSigner(config.gateway.id, load_signing_key(config.gateway.key_file))

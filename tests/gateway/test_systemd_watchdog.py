"""The systemd watchdog against the real programs.

- ``gateway run`` as systemd would start it (``NOTIFY_SOCKET`` on a datagram socket the test
  binds, ``WATCHDOG_USEC``), polling a simulated building (``firmware-sim serve``) and
  publishing to a mosquitto of the test's own: READY=1 with a status line once its tasks run,
  WATCHDOG=1 at half the interval, STOPPING=1 on SIGTERM; and its ``[metrics]`` endpoint.
- A polling loop that really is stuck: the production ``poll_forever`` over a real simulated bus,
  whose hand-off of samples never returns (a store write that hangs is what it stands for; no
  device behaviour can hang a poller, since every request is bounded by its time-out). Its
  heartbeat promise runs out and the pings stop, while a loop merely sleeping between rounds
  keeps them going. The tracker's clock is advanced, not slept.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from building_demo.processes import free_port
from firmware_sim.building_config import load_building_config
from firmware_sim.modbus_server import BuildingServer
from gateway.config.gateway_file import load_gateway_config
from gateway.modbus.bus_poller import ROUND_MARGIN_S, Sample, build_pollers, poll_forever
from qunzu_common.heartbeats import Heartbeats
from qunzu_common.systemd_notify import SystemdNotifier
from qunzu_common.systemd_watchdog import keep_systemd_informed
from simclock import SimClock
from tests.conftest import RunningBroker
from tests.gateway.mixed_building import building_file, gateway_file

pytestmark = pytest.mark.timeout(90)

BIN = Path(sys.executable).parent


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[str, socket.socket]]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = tmp_path / "notify.sock"
    sock.bind(str(path))
    yield str(path), sock
    sock.close()


def collect(sock: socket.socket, until: float, stop_when: str | None = None) -> list[str]:
    """Datagrams until the monotonic time ``until`` (or one containing ``stop_when``)."""
    messages: list[str] = []
    while (left := until - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            message = sock.recv(4096).decode()
        except TimeoutError:
            break
        messages.append(message)
        if stop_when is not None and stop_when in message:
            break
    return messages


def start_simulator(building: Path) -> tuple[subprocess.Popen[str], int]:
    sim = subprocess.Popen(
        [str(BIN / "firmware-sim"), "serve", str(building), "--port", "0", "--log-level", "ERROR"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert sim.stdout is not None
    ready = sim.stdout.readline().split()  # READY modbus-tcp HOST:PORT
    assert ready[:2] == ["READY", "modbus-tcp"], ready
    return sim, int(ready[2].rsplit(":", 1)[1])


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


def test_gateway_run_notifies_systemd(
    tmp_path: Path, mosquitto: RunningBroker, notify_socket: tuple[str, socket.socket]
) -> None:
    sim, modbus_port = start_simulator(building_file(tmp_path))
    try:
        config = gateway_file(tmp_path, modbus_port, mqtt_port=mosquitto.port)
        metrics_port = free_port()
        config.write_text(
            config.read_text() + f'\n[metrics]\nlisten = "127.0.0.1:{metrics_port}"\n'
        )
        subprocess.run(
            [str(BIN / "gateway"), "keygen", "--id", "gw-test", "--out-dir", "keys"],
            cwd=tmp_path,
            check=True,
            capture_output=True,
        )
        path, sock = notify_socket
        env = {**os.environ, "NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1000000"}
        log = (tmp_path / "gateway.log").open("w")
        gateway = subprocess.Popen(
            [str(BIN / "gateway"), "run", str(config)],
            env=env,
            stdout=log,
            stderr=log,
            text=True,
        )
        try:
            first = collect(sock, time.monotonic() + 30, stop_when="READY=1")
            assert first and first[-1].startswith(
                "READY=1\nSTATUS=gateway gw-test: polling 1 bus every"
            ), (
                first,
                (tmp_path / "gateway.log").read_text(),
            )
            # Half of WATCHDOG_USEC: a ping every 0.5 s, for as long as the loops beat.
            started = time.monotonic()
            pings = collect(sock, started + 2.6)
            assert 4 <= pings.count("WATCHDOG=1") <= 7, pings
            assert not [m for m in pings if m.startswith("STATUS=stalled")]
            # The first round ran at start: the metrics endpoint counted it.
            with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics") as answer:
                scraped = answer.read().decode()
            assert 'qunzu_gateway_device_polls_total{bus="conv-1",device="11"} 1.0' in scraped
        finally:
            stop(gateway)
            log.close()
        assert gateway.returncode == 0
        tail = collect(sock, time.monotonic() + 1)
        assert "STOPPING=1\nSTATUS=gateway gw-test stopping" in tail, tail
    finally:
        stop(sim)


async def test_a_stuck_poll_loop_stops_the_pings_a_sleeping_one_does_not(
    tmp_path: Path, notify_socket: tuple[str, socket.socket]
) -> None:
    server = BuildingServer(
        load_building_config(building_file(tmp_path)),
        SimClock.real(),
        seed=1,
        host="127.0.0.1",
        port=0,
    )
    await server.start()
    path, sock = notify_socket
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    tracker_now = [0.0]
    heartbeats = Heartbeats(lambda: tracker_now[0])
    handed_on: list[list[Sample]] = []
    hanging = asyncio.Event()
    never = asyncio.Event()

    async def keep_then_hang(samples: list[Sample]) -> None:
        handed_on.append(samples)
        if len(handed_on) > 1:
            hanging.set()
            await never.wait()  # the hand-off never returns: the loop is stuck

    def drain() -> None:
        with contextlib.suppress(BlockingIOError):
            while True:
                sock.recv(4096)

    async def pings_within(seconds: float) -> int:
        deadline = loop.time() + seconds
        messages = []
        while loop.time() < deadline:
            try:
                messages.append(sock.recv(4096).decode())
            except BlockingIOError:
                await asyncio.sleep(0.01)
        return messages.count("WATCHDOG=1")

    config = load_gateway_config(gateway_file(tmp_path, server.port, interval_s=0.2))
    (poller,) = build_pollers(config, SimClock.real())
    notifier = SystemdNotifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "100000"})
    try:
        async with asyncio.TaskGroup() as group:
            sleeper = build_pollers(
                load_gateway_config(gateway_file(tmp_path, server.port, interval_s=3600)),
                SimClock.real(),
            )[0]
            tasks = [
                group.create_task(
                    poll_forever(
                        poller, 0.2, SimClock.real(), keep_then_hang, heartbeats.register("a", 9)
                    )
                ),
                group.create_task(
                    poll_forever(
                        sleeper, 3600, SimClock.real(), _discard, heartbeats.register("b", 9)
                    )
                ),
                group.create_task(keep_systemd_informed(notifier, heartbeats, lambda: "ok")),
            ]
            await hanging.wait()  # the second round's hand-off hangs from now on
            assert await pings_within(0.3) >= 3
            # Past the stuck round's promise (its time-outs and margin), well within the
            # sleeper's (its hour's pause): only the stuck loop is overdue.
            tracker_now[0] += poller.round_budget_s + ROUND_MARGIN_S + 1
            await asyncio.sleep(0.12)  # one ping may have been on its way
            drain()
            assert await pings_within(0.4) == 0
            assert [o.name for o in heartbeats.overdue()] == ["a"]
            for task in tasks:
                task.cancel()
    finally:
        await poller.close()
        await sleeper.close()
        await server.stop()


async def _discard(samples: list[Sample]) -> None:
    return None

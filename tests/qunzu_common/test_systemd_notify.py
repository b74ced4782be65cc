"""sd_notify against a real Unix datagram socket the test binds, as systemd's would be: path
and abstract-namespace addresses, the watchdog variables, and the watchdog task's rule (ping
only while every loop keeps its heartbeat)."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from qunzu_common.heartbeats import Heartbeats
from qunzu_common.systemd_notify import SystemdNotifier, socket_address, watchdog_interval_s
from qunzu_common.systemd_watchdog import keep_systemd_informed

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[str, socket.socket]]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = tmp_path / "notify"
    sock.bind(str(path))
    sock.settimeout(5)
    yield str(path), sock
    sock.close()


def received(sock: socket.socket) -> list[str]:
    """Every datagram waiting on ``sock`` now."""
    sock.setblocking(False)
    messages = []
    try:
        while True:
            messages.append(sock.recv(4096).decode())
    except BlockingIOError:
        pass
    finally:
        sock.settimeout(5)
    return messages


@pytest.mark.parametrize(
    ("env", "pid", "expected"),
    [
        ({}, 7, None),
        ({"WATCHDOG_USEC": "30000000"}, 7, 30.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "7"}, 7, 30.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "8"}, 7, None),
        ({"WATCHDOG_USEC": "0"}, 7, None),
        ({"WATCHDOG_USEC": "soon"}, 7, None),
    ],
)
def test_watchdog_interval(env: dict[str, str], pid: int, expected: float | None) -> None:
    assert watchdog_interval_s(env, pid) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("/run/systemd/notify", "/run/systemd/notify"), ("@sd-notify", b"\0sd-notify"), ("", None)],
)
def test_socket_address(value: str, expected: str | bytes | None) -> None:
    assert socket_address(value) == expected


def test_messages_arrive_as_one_datagram_each(notify_socket: tuple[str, socket.socket]) -> None:
    path, sock = notify_socket
    notifier = SystemdNotifier({"NOTIFY_SOCKET": path})
    assert notifier.ready("polling 2 buses\nand more")
    assert notifier.watchdog()
    assert notifier.stopping()
    assert received(sock) == [
        "READY=1\nSTATUS=polling 2 buses and more",
        "WATCHDOG=1",
        "STOPPING=1\nSTATUS=stopping",
    ]


def test_abstract_namespace_socket() -> None:
    name = f"qunzu-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name.encode())
        sock.settimeout(5)
        assert SystemdNotifier({"NOTIFY_SOCKET": f"@{name}"}).status("hello")
        assert sock.recv(4096) == b"STATUS=hello"


def test_without_systemd_nothing_is_sent_and_a_vanished_socket_is_survived(
    tmp_path: Path,
) -> None:
    assert not SystemdNotifier({}).ready("x")
    assert not SystemdNotifier({"NOTIFY_SOCKET": str(tmp_path / "gone")}).watchdog()


async def test_pings_stop_while_a_loop_is_overdue_and_resume_when_it_beats(
    notify_socket: tuple[str, socket.socket],
) -> None:
    path, sock = notify_socket
    now = [0.0]
    beats = Heartbeats(lambda: now[0])
    poll = beats.register("poll:c1", 10.0)
    notifier = SystemdNotifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "100000"})
    task = asyncio.create_task(keep_systemd_informed(notifier, beats, lambda: "running"))
    try:
        await asyncio.sleep(0.3)
        healthy = received(sock)
        assert healthy[0] == "READY=1\nSTATUS=running"
        assert healthy[1:].count("WATCHDOG=1") >= 3  # every 50 ms: half the interval
        now[0] = 11.0  # the loop's promise has passed without a beat
        await asyncio.sleep(0.4)
        stalled = received(sock)
        # A ping or two were on their way; from the status change on, none.
        status_at = stalled.index("STATUS=stalled: poll:c1 overdue by 1 s")
        assert stalled[:status_at].count("WATCHDOG=1") <= 2
        assert stalled[status_at + 1 :] == []
        poll.beat(10.0)
        await asyncio.sleep(0.3)
        resumed = received(sock)
        assert resumed[0] in ("STATUS=running", "WATCHDOG=1")
        assert resumed.count("WATCHDOG=1") >= 3
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

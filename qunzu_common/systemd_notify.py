"""The sd_notify protocol, spoken directly: one datagram per message to ``$NOTIFY_SOCKET``.

systemd starts a ``Type=notify`` service with ``NOTIFY_SOCKET`` naming a Unix datagram socket
(a path, or ``@name`` for the Linux abstract namespace) and reads newline-separated
``KEY=value`` assignments from it: ``READY=1`` (start-up finished), ``STATUS=...`` (one line
shown by ``systemctl status``), ``WATCHDOG=1`` (still alive), ``STOPPING=1``. With
``WatchdogSec=`` set it also passes ``WATCHDOG_USEC`` (and ``WATCHDOG_PID``, the process meant)
and kills the service when no ``WATCHDOG=1`` arrives within that interval.

Outside systemd (no ``NOTIFY_SOCKET``) every call is a no-op, so the daemons call it
unconditionally. No dependency: a datagram socket is all the protocol needs.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


def watchdog_interval_s(env: Mapping[str, str], pid: int) -> float | None:
    """The watchdog interval systemd asks for, in seconds, or None when there is none or it is
    meant for another process (``WATCHDOG_PID`` names a different pid)."""
    usec = env.get("WATCHDOG_USEC", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    meant_for = env.get("WATCHDOG_PID", "")
    if meant_for and (not meant_for.isdigit() or int(meant_for) != pid):
        return None
    return int(usec) / 1_000_000


def socket_address(notify_socket: str) -> str | bytes | None:
    """What to ``sendto``: a filesystem path, or for ``@name`` the abstract address
    ``b"\\0name"``; None when the variable is empty or not a Unix socket."""
    if notify_socket.startswith("@"):
        return b"\0" + notify_socket[1:].encode()
    if notify_socket.startswith("/"):
        return notify_socket
    return None


def one_line(text: str) -> str:
    """A STATUS value: newlines would start a new assignment, so they become spaces."""
    return " ".join(text.split())


class SystemdNotifier:
    """Sends notifications to the service manager that started us, if any."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self.address = socket_address(env.get("NOTIFY_SOCKET", ""))
        self.watchdog_s = watchdog_interval_s(env, os.getpid())
        self._failed = False

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, *assignments: str) -> bool:
        """Send ``KEY=value`` lines as one datagram; True when it was sent. A failure is logged
        once (systemd gone away must not take the daemon down)."""
        if self.address is None:
            return False
        payload = "\n".join(assignments).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(payload, self.address)
        except OSError as err:
            if not self._failed:
                log.warning("cannot notify systemd on NOTIFY_SOCKET: %s", err)
                self._failed = True
            return False
        self._failed = False
        return True

    def ready(self, status: str) -> bool:
        return self.send("READY=1", f"STATUS={one_line(status)}")

    def status(self, status: str) -> bool:
        return self.send(f"STATUS={one_line(status)}")

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def stopping(self, status: str = "stopping") -> bool:
        return self.send("STOPPING=1", f"STATUS={one_line(status)}")

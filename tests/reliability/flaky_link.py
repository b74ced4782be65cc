"""A bad uplink between the gateway and its broker, in user space: a TCP relay on loopback that
delays every chunk and cuts every connection after a few seconds, with a reset (no FIN), as a
mobile link or a NAT that forgets its mapping does.

The kernel's own network emulator (``tc netem`` in a network namespace) would also drop single
packets; this machine's kernel has no ``sch_netem``, and TCP hides single losses from both ends
anyway (as retransmissions, i.e. delay), so what reaches the MQTT clients is the same: late
data and connections that die. The relay runs an asyncio loop in a thread of the test process
and is bounded by the test's own time-out.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
import threading
from dataclasses import dataclass, field


@dataclass
class FlakyLink:
    listen_port: int
    target_port: int
    delay_s: tuple[float, float] = (0.05, 0.4)
    cut_after_s: tuple[float, float] = (1.5, 6.0)
    seed: int = 1
    cuts: int = 0
    flaky: bool = True
    _loop: asyncio.AbstractEventLoop = field(init=False, default_factory=asyncio.new_event_loop)
    _thread: threading.Thread | None = field(init=False, default=None)
    _server: asyncio.Server | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def __enter__(self) -> FlakyLink:
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._relay, "127.0.0.1", self.listen_port)
            )
            started.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="flaky-link", daemon=True)
        self._thread.start()
        started.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        async def shut() -> None:
            if self._server is not None:
                self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(shut(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop.close()

    def heal(self) -> None:
        """From now on the link is good: no delay, no cuts."""
        self.flaky = False

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            broker_r, broker_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            _reset(client_w)
            return
        lifetime = self._rng.uniform(*self.cut_after_s)
        pipes = [
            asyncio.ensure_future(self._pipe(client_r, broker_w)),
            asyncio.ensure_future(self._pipe(broker_r, client_w)),
        ]
        try:
            if self.flaky:
                done, _ = await asyncio.wait(pipes, timeout=lifetime)
                if not done and self.flaky:
                    self.cuts += 1
            else:
                await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pipe in pipes:
                pipe.cancel()
            _reset(client_w)
            _reset(broker_w)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while chunk := await reader.read(4096):
            if self.flaky:
                await asyncio.sleep(self._rng.uniform(*self.delay_s))
            writer.write(chunk)
            await writer.drain()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a reset, as a link that dies does: no orderly goodbye reaches either end."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()

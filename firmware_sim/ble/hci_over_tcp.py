"""A radio for a gateway in another process: an emulated controller whose host connects over TCP.

bumble carries HCI over a TCP stream (H4 framing: a packet-type byte, then the packet). A
gateway whose ``[ble]`` says ``transport = "bumble"`` and ``bumble_transport =
"tcp-client:HOST:PORT"`` drives this controller as it would a USB dongle, and through it reaches
every emulated device on the same ``LocalLink``: no Bluetooth hardware or kernel support on
either side.

One host at a time: a host that connects takes over from the one before (a restarted gateway
may connect before its former connection is seen closed), which is disconnected. Each host gets
a fresh controller, so nothing a former host left behind (a connection it was making, scanning)
carries over. When a host goes away, its controller ends every connection it held, as a real
central would be timed out, and leaves the link: the locks see the link dropped and advertise
again, so a gateway that restarts reaches them as the first time.
"""

from __future__ import annotations

import asyncio
import logging

from bumble import hci
from bumble.controller import Controller
from bumble.core import InvalidPacketError
from bumble.link import LocalLink
from bumble.transport.common import PacketParser

from firmware_sim import FirmwareSimError

__all__ = ["HOST_RADIO_ADDRESS", "HciOverTcp", "RadioError"]

log = logging.getLogger(__name__)

HOST_RADIO_ADDRESS = "F0:51:5A:00:00:00"  # the public address of the host's controller


class RadioError(FirmwareSimError):
    """The radio's TCP listener cannot start (address in use, not allowed to bind)."""


class _StreamToHost:
    """The controller's packets to its host, written to the host's TCP connection."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport

    def on_packet(self, packet: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(packet)


class _HostConnection(asyncio.Protocol):
    """One TCP connection of a host: its bytes are HCI packets for the controller."""

    def __init__(self, radio: HciOverTcp) -> None:
        self._radio = radio
        self._parser: PacketParser | None = None
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._parser = PacketParser(self._radio.attach(self, transport))

    def close(self) -> None:
        """Taken over by another host: read nothing more, hang up."""
        self._parser = None
        if self._transport is not None:
            self._transport.close()

    def data_received(self, data: bytes) -> None:
        if self._parser is None:
            return
        try:
            self._parser.feed_data(data)
        except InvalidPacketError:
            log.warning("radio: the host sent a malformed HCI packet; closing its connection")
            assert self._transport is not None
            self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._radio.detach(self)


class HciOverTcp:
    """The controller of whichever host connects to ``host:port``, on ``link``. ``await
    start()``, then ``await stop()``."""

    def __init__(self, link: LocalLink, *, host: str, port: int) -> None:
        self.link = link
        self.host = host
        self._requested_port = port
        self._server: asyncio.Server | None = None
        self._attached: _HostConnection | None = None
        self._controller: Controller | None = None

    @property
    def port(self) -> int:
        """The port listened on (the chosen one when started with port 0)."""
        if self._server is None:
            raise RadioError("the radio is not listening")
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def transport_spec(self) -> str:
        """What a bumble host connects with: the gateway's ``[ble] bumble_transport``."""
        return f"tcp-client:{self.host}:{self.port}"

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(
                lambda: _HostConnection(self), self.host, self._requested_port
            )
        except OSError as err:
            raise RadioError(
                f"cannot listen on {self.host}:{self._requested_port}"
                f" ({err.strerror or err}) for the locks' radio"
            ) from err
        log.info("radio: a host may connect on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._server is None:
            return
        server, self._server = self._server, None
        server.close()
        if self._attached is not None:
            host = self._attached
            self.detach(host)
            host.close()
        await server.wait_closed()

    def attach(self, connection: _HostConnection, transport: asyncio.Transport) -> Controller:
        """A fresh controller for ``connection``'s host, which takes over from any other."""
        if self._attached is not None:
            log.info("radio: a new host takes over from the connected one")
            former = self._attached
            self.detach(former)
            former.close()
        self._attached = connection
        self._controller = Controller(
            "host-radio",
            host_sink=_StreamToHost(transport),
            link=self.link,
            public_address=HOST_RADIO_ADDRESS,
        )
        log.info("radio: host connected")
        return self._controller

    def detach(self, connection: _HostConnection) -> None:
        """The host is gone: end its connections and take its controller off the link."""
        if self._attached is not connection or self._controller is None:
            return
        controller, self._controller, self._attached = self._controller, None, None
        for link in list(controller.le_connections.values()):
            # What the host would have sent: the peers learn at once that the link is down.
            command = hci.HCI_Disconnect_Command(
                connection_handle=link.handle,
                reason=hci.HCI_ErrorCode.REMOTE_USER_TERMINATED_CONNECTION_ERROR,
            )
            controller.on_packet(bytes(command))
        # Off the link, a connection it was still making can never complete.
        self.link.remove_controller(controller)
        log.info("radio: host gone; its connections are dropped")

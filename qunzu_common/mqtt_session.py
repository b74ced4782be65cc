"""MQTT sessions that outlive their connections, and connections that end truthfully.

Both daemons connect with a stable client id and ask the broker to keep their session after the
connection ends: MQTT 5 *clean start* off with a *session expiry interval*, or MQTT 3.1.1
*clean session* off (which keeps the session until the broker's own expiry). The broker then
keeps the client's subscriptions and queues the QoS 1 messages that match them while it is away,
and delivers them as soon as it is back: an alert published while every cloud bridge is down
waits in the bridges' shared-subscription session, an ack published while the gateway is away
waits in the gateway's. A new ``aiomqtt.Client`` per connection is fine: the session belongs to
the client id, not to the object. Queued messages arrive right after the broker accepts the
connection, possibly before ``subscribe`` returns; aiomqtt holds them in the client's message
queue until ``client.messages`` is read, so nothing is lost as long as the caller reads it.

A connection held with :func:`will_on_fault` tells the broker how it ended. A clean stop
(cancellation, ``SystemExit``, ``KeyboardInterrupt``) sends DISCONNECT, which discards the will:
the caller announces itself offline first. Any fault (an exception) closes the socket without
DISCONNECT, so the broker publishes the will, exactly as if the process had died. A fault in the
program must not look to the world like a clean, deliberate stop, or like being alive.
"""

from __future__ import annotations

import contextlib
import socket
from types import TracebackType
from typing import Literal, TypedDict

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

__all__ = ["SessionOptions", "persistent_session", "will_on_fault"]

MAX_SESSION_EXPIRY_S = 0xFFFF_FFFF  # MQTT 5: four bytes; this value means "never expires"


class SessionOptions(TypedDict, total=False):
    """Keyword arguments of ``aiomqtt.Client`` that make its session persistent."""

    clean_start: bool
    clean_session: bool
    properties: Properties


def persistent_session(protocol: Literal["5", "3.1.1"], expiry_s: int) -> SessionOptions:
    """``aiomqtt.Client(..., **persistent_session(protocol, expiry_s))``: resume the client id's
    session on every connection and keep it ``expiry_s`` seconds after each one ends (MQTT 5;
    over 3.1.1 the broker decides how long)."""
    if protocol != "5":
        return {"clean_session": False}
    if not 0 <= expiry_s <= MAX_SESSION_EXPIRY_S:
        raise ValueError(f"session expiry: must be between 0 and {MAX_SESSION_EXPIRY_S} s")
    connect = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]  # paho: untyped
    connect.SessionExpiryInterval = expiry_s
    return {"clean_start": False, "properties": connect}


class will_on_fault:  # named like the context-manager function it stands for
    """``async with will_on_fault(client):`` connects like ``async with client:``; leaving the
    block by an exception drops the connection without DISCONNECT, so the broker publishes the
    client's will. Cancellation leaves it the ordinary way, with DISCONNECT."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self._client = client

    async def __aenter__(self) -> aiomqtt.Client:
        return await self._client.__aenter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if isinstance(exc, Exception):
            _drop_without_disconnect(self._client)
        await self._client.__aexit__(exc_type, exc, tb)


def _drop_without_disconnect(client: aiomqtt.Client) -> None:
    """Shut the socket down under paho: the broker sees the connection end with no DISCONNECT
    (and publishes the will). aiomqtt's exit, which comes next, still tries its DISCONNECT; that
    write fails on the dead socket, which paho treats as the end of a disconnection it asked
    for, so the exit returns quietly and the original exception goes on. aiomqtt 2.x offers no
    way to abort a connection; its paho client (``_client``) exposes the socket."""
    sock = client._client.socket()  # private: see the docstring
    if not isinstance(sock, socket.socket):  # None: already gone, and the broker knows it
        return  # (TLS sockets are ``socket.socket`` too; the project speaks no websockets)
    with contextlib.suppress(OSError):  # the peer may have reset it already
        sock.shutdown(socket.SHUT_RDWR)

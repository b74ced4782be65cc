"""What the demo shows on the terminal: events read off the real wire, not from logs.

A read-only MQTT client listens to every gateway's status, summary, alert and ack topics (the
alerts are shown as their claims; the cloud bridge is the one that verifies them), and the
bridge's HTTP API is polled for tickets. Each becomes one short line.
"""

from __future__ import annotations

import base64
import json
import queue
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from qunzu_common.bounded_json import JsonLimits, loads_bounded

LIMITS = JsonLimits(max_bytes=128 * 1024, max_depth=16)


@dataclass(frozen=True)
class WireEvent:
    kind: str  # status | summary | alert | ack | ticket
    text: str
    data: dict[str, Any]


def _claims_of(token: bytes) -> dict[str, Any]:
    payload = token.split(b".")[1]
    return dict(
        loads_bounded(base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4)), LIMITS)
    )


def describe(topic: str, payload: bytes) -> WireEvent | None:
    """One line for one message; whatever the bytes (anyone may publish), never an exception:
    this runs in paho's network thread, which an exception would end."""
    try:
        return _describe(topic, payload)
    # JsonLimitError is a ValueError; the others are fields missing or of the wrong type.
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return WireEvent("unreadable", f"unreadable message on {topic}", {})


def _describe(topic: str, payload: bytes) -> WireEvent | None:
    leaf = topic.rsplit("/", 1)[-1]
    if leaf == "alert":
        alert = _claims_of(payload)["alert"]
        est = alert["estimated_occupancy"]
        return WireEvent(
            "alert",
            f"ALERT {alert['kind']} on unit {alert['unit_id']} (rev {alert['revision']}):"
            f" about {est['point']:g} people ({est['low']:g}-{est['high']:g}),"
            f" legal cap {alert['legal_cap']}, confidence {alert['confidence']:.2f}",
            alert,
        )
    data = loads_bounded(payload, LIMITS)
    if leaf == "status":
        return WireEvent("status", f"gateway {data['gateway_id']} is {data['state']}", data)
    if leaf == "summary":
        return WireEvent(
            "summary",
            f"day {data['date']} closed: {data['units_with_data']}/{data['units_watched']} units"
            f" with data, {data['units_over_cap']} over their legal cap,"
            f" {data['open_cases']} open case(s)",
            data,
        )
    if leaf == "ack":
        ticket = f", ticket #{data['ticket_id']}" if data.get("ticket_id") else ""
        reason = f": {data['reason']}" if data.get("reason") else ""
        return WireEvent(
            "ack", f"bridge answered {data['alert_id']}: {data['status']}{ticket}{reason}", data
        )
    return None


class WireWatcher:
    """Background MQTT subscriber (paho's network thread) feeding a queue of events."""

    def __init__(self, host: str, port: int, prefix: str) -> None:
        self.events: queue.Queue[WireEvent] = queue.Queue()
        self._prefix = prefix
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="demo-watcher", protocol=mqtt.MQTTv5
        )
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.connect_async(host, port)
        self._client.loop_start()

    def _on_connect(self, client: mqtt.Client, *_: Any) -> None:
        for leaf in ("status", "summary", "alert", "ack"):
            client.subscribe(f"{self._prefix}/+/{leaf}", qos=1)

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        event = describe(message.topic, message.payload)
        if event is not None:
            self.events.put(event)

    def stop(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


def fetch_tickets(http_port: int, token: str = "") -> list[dict[str, Any]] | None:
    """The bridge's tickets (as the API token's account sees them), or None while its API is
    not answering."""
    url = f"http://127.0.0.1:{http_port}/api/v1/tickets"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return list(json.loads(response.read()))
    except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
        return None

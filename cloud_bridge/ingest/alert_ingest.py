"""MQTT ingest: receive signed alerts, verify them, record them, acknowledge them.

Subscribes at QoS 1 to ``$share/<group>/<prefix>/+/alert`` (MQTT 5; several bridge instances in
one group split the messages between them) or to ``<prefix>/+/alert`` over MQTT 3.1.1. Each
message is verified (:mod:`cloud_bridge.ingest.verification`), recorded
(:mod:`cloud_bridge.store.tickets_db`, in a worker thread so the event loop never waits on the
database) and answered on ``<prefix>/<gateway>/ack`` with ``accepted``, ``duplicate`` or
``rejected``.

Session: a stable client id per instance (``cloud-bridge-<instance>`` by default), clean start
off and a session expiry (``session_expiry_s``): the broker keeps the instance's shared
subscription while it is away and queues the alerts the group assigns to it, delivering them when
it reconnects, even if no bridge at all was connected when they were published
(:mod:`qunzu_common.mqtt_session`). Those queued alerts arrive right after the connection is
accepted, before the subscription is renewed; they wait in the client's message queue and are
answered like any other.

A refused message costs one count in :attr:`AlertIngest.refusals` and at most one WARNING line
a minute (the first of each kind at once), and the loop carries on; it is answered with a
``rejected`` ack only when its signature verified, so nobody can make the bridge speak for a
gateway, and never when only its signing time is outside the window (``stale``, ``future``: a
send that waited in a broker's queue, a gateway clock not yet set), so the gateway sends it
again, signed anew, instead of dropping the alert. A message that
could not be stored is not acknowledged: the gateway keeps it and sends it again. A lost broker
connection is retried with jittered exponential back-off; each change of state is logged once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiomqtt

from cloud_bridge.config import BridgeConfig
from cloud_bridge.errors import StorageError
from cloud_bridge.ingest.contract import contract_errors
from cloud_bridge.ingest.verification import GatewayRegistry, RejectedMessage, verify_alert
from cloud_bridge.store.tickets_db import TicketsDB
from qunzu_common.mqtt_session import persistent_session
from qunzu_common.mqtt_tls import tls_params
from qunzu_common.refusal_log import RefusalLog
from simclock import SimClock

log = logging.getLogger(__name__)

BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 30.0
# Past this many unprocessed messages aiomqtt drops new ones (with a warning): a flood costs
# bounded memory, and a dropped genuine alert is not acknowledged, so its gateway sends it again.
INCOMING_QUEUE_LIMIT = 1000
# Refusals of one send for its signing time, not of its alert: never acknowledged, so the
# gateway keeps the alert and its next send, signed anew, is judged on its own time.
SEND_TIME_REFUSALS = frozenset({"stale", "future"})


@dataclass(frozen=True, slots=True)
class Ack:
    """An answer to publish: ``body`` as in ``ack.schema.json``; ``payload`` the bytes sent,
    the body as JSON or, with ``bridge.ack_key_file``, signed
    (:mod:`cloud_bridge.ingest.ack_signing`)."""

    topic: str
    body: dict[str, Any]
    payload: bytes


class AlertIngest:
    """``registry``: the gateways and keys to verify against; the configuration file's when
    omitted (the bridge passes the database-backed
    :class:`~cloud_bridge.auth.gateway_registry.DbGatewayRegistry`)."""

    def __init__(
        self,
        config: BridgeConfig,
        db: TicketsDB,
        clock: SimClock,
        *,
        registry: GatewayRegistry | None = None,
    ) -> None:
        self._config = config
        self._registry = config.registry if registry is None else registry
        self._db = db
        self._clock = clock
        self._subscribed = asyncio.Event()
        self._broker_down = False
        self._db_down = False
        self._backoff = BACKOFF_START_S
        self.refusals = RefusalLog(log, "message")
        """Refused messages by kind (``signature``, ``json depth``, ...); logged rate-limited."""

    @property
    def connected(self) -> bool:
        """Subscribed to the alerts right now."""
        return self._subscribed.is_set()

    async def wait_subscribed(self) -> None:
        await self._subscribed.wait()

    async def run(self) -> None:
        """Receive and answer alerts until cancelled, reconnecting as long as it takes."""
        mqtt = self._config.mqtt
        try:
            while True:
                try:
                    await self._session()
                except aiomqtt.MqttError as err:
                    self._subscribed.clear()
                    log.log(
                        logging.DEBUG if self._broker_down else logging.WARNING,
                        "MQTT broker %s:%d unavailable (%s); retrying with back-off",
                        mqtt.host,
                        mqtt.port,
                        err,
                    )
                    self._broker_down = True
                    await asyncio.sleep(self._backoff * random.uniform(0.5, 1.5))
                    self._backoff = min(self._backoff * 2, BACKOFF_MAX_S)
        finally:
            self._subscribed.clear()

    async def _session(self) -> None:
        """One broker connection: subscribe, then answer every message until it drops."""
        mqtt = self._config.mqtt
        client = aiomqtt.Client(
            mqtt.host,
            mqtt.port,
            identifier=self._config.client_id,
            username=mqtt.username,
            password=mqtt.password,
            protocol=(
                aiomqtt.ProtocolVersion.V5 if mqtt.protocol == "5" else aiomqtt.ProtocolVersion.V311
            ),
            keepalive=mqtt.keepalive_s,
            **persistent_session(mqtt.protocol, mqtt.session_expiry_s),
            tls_params=tls_params(mqtt.tls),
            max_queued_incoming_messages=INCOMING_QUEUE_LIMIT,
        )
        async with client:
            await self._subscribe(client)
            self._backoff = BACKOFF_START_S
            async for message in client.messages:
                ack = await self.process(message.topic.value, _payload_bytes(message))
                if ack is not None:
                    await client.publish(ack.topic, ack.payload, qos=1)

    async def _subscribe(self, client: aiomqtt.Client) -> None:
        subscription = self._config.alert_subscription
        granted = await client.subscribe(subscription, qos=1)
        refused = [
            code
            for code in granted
            if (code >= 0x80 if isinstance(code, int) else getattr(code, "is_failure", False))
        ]
        if refused:
            raise aiomqtt.MqttError(
                f"the broker refused the subscription {subscription}: {refused[0]}"
            )
        self._subscribed.set()
        self._broker_down = False
        log.info(
            "connected to MQTT broker %s:%d as %s, subscribed to %s",
            self._config.mqtt.host,
            self._config.mqtt.port,
            self._config.client_id,
            subscription,
        )

    async def process(self, topic: str, payload: bytes) -> Ack | None:
        """Verify and record one message; the ack to publish, if any."""
        now = self._clock.now()
        verdict = verify_alert(topic, payload, self._registry, now.timestamp(), self._config.limits)
        if isinstance(verdict, RejectedMessage):
            self.refusals.refused(verdict.kind, f"on {topic}: {verdict.reason}")
            if verdict.kind in SEND_TIME_REFUSALS:
                return None
            return self._ack(
                verdict.gateway_id, verdict.alert_id, verdict.seq, "rejected", None, verdict.reason
            )
        known = self._registry.get(verdict.gateway_id)
        if known is None:  # removed between the check and now (a cache refresh)
            self.refusals.refused("unknown gateway", f"on {topic}: gateway no longer registered")
            return None
        office = known.street_office
        try:
            outcome = await asyncio.to_thread(self._db.record_alert, verdict, office, now)
        except StorageError as err:
            log.log(
                logging.DEBUG if self._db_down else logging.ERROR,
                "could not record %s (%s); not acknowledged, the gateway will send it again",
                verdict.alert_id,
                err,
            )
            self._db_down = True
            return None
        if self._db_down:
            log.info("tickets database reachable again")
            self._db_down = False
        seq = verdict.seq_text
        if outcome.status == "rejected":
            log.warning(
                "refused %s from %s (seq %s): %s",
                verdict.alert_id,
                verdict.gateway_id,
                seq,
                outcome.reason,
            )
        elif outcome.status == "duplicate":
            log.info(
                "duplicate of %s (seq %s): ticket #%s", verdict.alert_id, seq, outcome.ticket_id
            )
        else:
            log.info(
                "accepted %s revision %d from %s (seq %s): ticket #%s",
                verdict.alert_id,
                verdict.revision,
                verdict.gateway_id,
                seq,
                outcome.ticket_id,
            )
        return self._ack(
            verdict.gateway_id,
            verdict.alert_id,
            verdict.seq,
            outcome.status,
            outcome.ticket_id,
            outcome.reason,
        )

    def _ack(
        self,
        gateway_id: str | None,
        alert_id: str | None,
        seq: Mapping[str, int | str] | None,
        status: str,
        ticket_id: int | None,
        reason: str,
    ) -> Ack | None:
        """An ack for a registered gateway, when the message said which of its messages it is."""
        if gateway_id is None or alert_id is None or seq is None:
            return None
        body: dict[str, Any] = {
            "alert_id": alert_id,
            "seq": dict(seq),
            "status": status,
            "ticket_id": ticket_id,
        }
        if reason:
            body["reason"] = reason
        problems = contract_errors("ack", body)
        if problems:
            log.error("not sending an ack that breaks the contract: %s", "; ".join(problems))
            return None
        topic = self._config.topic(gateway_id, "ack")
        signer = self._config.ack_signer
        if signer is None:
            return Ack(topic, body, json.dumps(body).encode())
        return Ack(topic, body, signer.sign(topic, int(self._clock.now().timestamp()), body))


def _payload_bytes(message: aiomqtt.Message) -> bytes:
    payload = message.payload
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    if payload is None:
        return b""
    return str(payload).encode()

"""The MQTT uplink: drains the outbox to the broker and records the cloud's acknowledgements.

Delivery is at-least-once end to end. Each alert stays in the SQLite outbox until the cloud
bridge answers on ``.../ack``; the uplink publishes it at QoS 1 and publishes it again if no
answer comes in time, or after a reconnect. Each message waits for its own next attempt,
doubling from ``resend_after_s`` to ``resend_max_s`` with jitter. Every send is signed again
with the time of that send (same body, same sequence), so an alert that waited out a long outage
is still inside the bridge's age window; the bridge recognises a repeat by its sequence and body
and answers ``duplicate``.

Anyone on the broker may publish on ``.../ack``: each message is decoded by
:func:`gateway.wire.ack_decoding.decode_ack` (bounded, never raising; signed acks only when the
bridge's keys are configured) and a refused one costs a count in ``refused_downlinks``.

Presence: a retained ``online`` status on connect and a retained ``offline`` MQTT will. A clean
stop says ``offline`` itself before its DISCONNECT; any other end fires the will: a lost
connection, a killed process, and a fault in the uplink itself, whose connection is dropped
without DISCONNECT (:func:`qunzu_common.mqtt_session.will_on_fault`) before the fault goes on to
the supervisor that restarts the uplink.

Session: a stable client id, clean start off and a session expiry (``session_expiry_s``), so the
subscription to ``.../ack`` outlives the connection and the acks sent while the gateway is away
are queued by the broker and delivered on its return (:mod:`qunzu_common.mqtt_session`).
Connection loss is retried with jittered exponential back-off; the state change is logged once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Callable
from typing import Any

import aiomqtt

from gateway.config.gateway_file import GatewayConfig
from gateway.store.gateway_store import GatewayStore
from gateway.store.outbox import OutboxMessage, next_attempt_delay
from gateway.wire.ack_decoding import AckRefused, decode_ack
from gateway.wire.contract import contract_errors
from gateway.wire.keys import load_bridge_keys
from gateway.wire.signer import EnvelopeSigner, Sequence
from qunzu_common.heartbeats import NO_HEARTBEAT, Heartbeat
from qunzu_common.mqtt_session import persistent_session, will_on_fault
from qunzu_common.mqtt_tls import tls_params
from qunzu_common.refusal_log import RefusalLog
from simclock import SimClock

log = logging.getLogger(__name__)

PUMP_PERIOD_S = 1.0
BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 30.0
PROGRESS_WITHIN_S = 120.0  # heartbeat promise: a connection attempt, back-off, a pump round


class Uplink:
    def __init__(
        self,
        config: GatewayConfig,
        store: GatewayStore,
        signer: EnvelopeSigner,
        clock: SimClock,
        version: str,
        *,
        wall_clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self._config = config
        self._store = store
        self._signer = signer
        self._wall = wall_clock
        self._rng = rng or random.Random()
        self._clock = clock
        self._version = version
        self._wake = asyncio.Event()
        self._client: aiomqtt.Client | None = None
        self._broker_down = False
        self.progress: Heartbeat = NO_HEARTBEAT  # the daemon's watchdog (systemd) listens
        self._bridge_keys = load_bridge_keys(
            config.mqtt.bridge_public_key_files, "mqtt.bridge_public_key_files"
        )
        self.refused_downlinks = RefusalLog(log, "downlink message")
        """Acks refused (too big, not JSON, against the contract) by kind; logged rate-limited."""

    def wake(self) -> None:
        """Tell the pump that the outbox has something new."""
        self._wake.set()

    def _status(self, state: str) -> bytes:
        return json.dumps(
            {
                "gateway_id": self._config.gateway.id,
                "state": state,
                "since": self._clock.now().isoformat(),
                "version": self._version,
            }
        ).encode()

    async def run(self) -> None:
        backoff = BACKOFF_START_S
        mqtt = self._config.mqtt
        protocol = (
            aiomqtt.ProtocolVersion.V5 if mqtt.protocol == "5" else aiomqtt.ProtocolVersion.V311
        )
        while True:
            self.progress.beat(PROGRESS_WITHIN_S)
            client = aiomqtt.Client(
                mqtt.host,
                mqtt.port,
                identifier=mqtt.client_id or f"gateway-{self._config.gateway.id}",
                username=mqtt.username,
                password=mqtt.password,
                protocol=protocol,
                keepalive=mqtt.keepalive_s,
                tls_params=tls_params(mqtt.tls),
                will=aiomqtt.Will(
                    self._config.topic("status"), self._status("offline"), qos=1, retain=True
                ),
                **persistent_session(mqtt.protocol, mqtt.session_expiry_s),
            )
            try:
                async with will_on_fault(client):
                    self._client = client
                    backoff = BACKOFF_START_S
                    log.info("connected to MQTT broker %s:%d", mqtt.host, mqtt.port)
                    self._broker_down = False
                    await client.publish(
                        self._config.topic("status"), self._status("online"), qos=1, retain=True
                    )
                    await client.subscribe(self._config.topic("ack"), qos=1)
                    try:
                        async with asyncio.TaskGroup() as group:
                            group.create_task(self._receive_acks(client), name="uplink-acks")
                            group.create_task(
                                self._pump(client, resend_all=True), name="uplink-pump"
                            )
                    except asyncio.CancelledError:
                        # A clean stop: say so while the session is still open (the will
                        # only fires when the connection is lost).
                        await self._announce_offline(client)
                        raise
            except* aiomqtt.MqttError as errors:
                self._client = None
                delay = backoff * random.uniform(0.5, 1.5)
                log.log(
                    logging.DEBUG if self._broker_down else logging.WARNING,
                    "MQTT broker %s:%d unavailable (%s); retrying with back-off",
                    mqtt.host,
                    mqtt.port,
                    errors.exceptions[0],
                )
                self._broker_down = True
                await asyncio.sleep(delay)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
            finally:
                self._client = None  # whichever way the connection ended

    async def _announce_offline(self, client: aiomqtt.Client) -> None:
        """Best effort, within a second: the broker may be the reason we stop."""
        self._client = None
        try:
            async with asyncio.timeout(1.0):
                await client.publish(
                    self._config.topic("status"), self._status("offline"), qos=1, retain=True
                )
        except (aiomqtt.MqttError, TimeoutError):
            log.debug("could not announce offline status")

    async def publish_summary(self, summary: dict[str, Any]) -> None:
        """Dashboards only (QoS 0): dropped while the broker is unreachable."""
        client = self._client
        problems = contract_errors("summary", summary)
        if problems:
            log.error("summary breaks the contract, not sent: %s", "; ".join(problems))
            return
        if client is None:
            return
        try:
            await client.publish(self._config.topic("summary"), json.dumps(summary), qos=0)
        except aiomqtt.MqttError:
            log.debug("summary not sent: broker unavailable")

    async def _pump(self, client: aiomqtt.Client, *, resend_all: bool) -> None:
        every_pending = resend_all
        while True:
            self.progress.beat(PROGRESS_WITHIN_S)
            due = await asyncio.to_thread(
                self._store.outbox.due, self._wall(), every_pending=every_pending
            )
            for message in due:
                await self._send(client, message)
            every_pending = False
            self._wake.clear()
            try:
                async with asyncio.timeout(PUMP_PERIOD_S):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def _send(self, client: aiomqtt.Client, message: OutboxMessage) -> None:
        """Sign ``message`` for this send (its body and sequence unchanged), publish it, and
        note when it is due again should no ack come."""
        token = message.token
        if message.body is not None:  # rows queued before bodies were kept go as they were
            sent_at = int(self._clock.now().timestamp())
            token = self._signer.sign_alert(message.topic, sent_at, message.seq, message.body)
        await client.publish(message.topic, token, qos=1)
        now = self._wall()
        mqtt = self._config.mqtt
        wait = next_attempt_delay(
            message.sent_count + 1, mqtt.resend_after_s, mqtt.resend_max_s, self._rng
        )
        await asyncio.to_thread(self._store.outbox.mark_sent, message.seq, token, now, now + wait)
        if message.sent_count:
            log.debug(
                "re-sent %s (seq %d/%d, attempt %d, next in %.0f s)",
                message.alert_id,
                message.seq.boot_epoch,
                message.seq.counter,
                message.sent_count + 1,
                wait,
            )

    async def _receive_acks(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            decoded = decode_ack(
                message.payload,
                self._config.mqtt.max_downlink_bytes,
                topic=message.topic.value,
                bridge_keys=self._bridge_keys,
            )
            if isinstance(decoded, AckRefused):
                self.refused_downlinks.refused(decoded.kind, f"on {message.topic}: {decoded}")
                continue
            seq = Sequence(decoded.boot_epoch, decoded.counter, decoded.boot_id)
            status, reason = decoded.status, decoded.reason
            known = await asyncio.to_thread(
                self._store.outbox.mark_acked, seq, status, reason, self._clock.now()
            )
            if not known:
                continue
            if status == "rejected":
                log.error("cloud rejected %s: %s", decoded.alert_id, reason)
            else:
                log.info(
                    "cloud acknowledged %s (%s, ticket %s)",
                    decoded.alert_id,
                    status,
                    decoded.ticket_id,
                )

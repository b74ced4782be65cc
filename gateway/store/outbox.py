"""The outbox in the gateway's store: every signed message until the cloud acknowledges it.

``outbox`` keeps each message under its sequence (boot epoch, counter) with its topic and
token, how often it was sent and when last (wall clock), and the cloud's answer once it comes.
A message is never evicted: the uplink sends it, and sends it again byte for byte after
``resend_after_s`` or a reconnect, until an ack records ``accepted``, ``duplicate`` or
``rejected`` (``gateway.wire.uplink``).

:class:`OutboxTable` is a part of :class:`gateway.store.database.GatewayStore` (same SQLite
connection, same lock and transactions), kept in its own module so the store stays readable.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from gateway.wire.signer import Sequence as MessageSequence


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    seq: MessageSequence
    topic: str
    token: str
    alert_id: str
    unit_id: str
    kind: str
    revision: int
    sent_count: int


class OutboxTable:
    """The ``outbox`` table; mixed into the store, which provides the five below."""

    _conn: sqlite3.Connection
    _db: sqlite_utils.Database
    _lock: threading.Lock

    _transaction: Callable[[], AbstractContextManager[None]]
    _upsert: Callable[[str, Mapping[str, Any]], None]

    def _create_outbox_table(self) -> None:
        self._db["outbox"].create(
            {
                "boot_epoch": int,
                "counter": int,
                "topic": str,
                "token": str,
                "alert_id": str,
                "unit_id": str,
                "kind": str,
                "revision": int,
                "created_at": str,
                "sent_count": int,
                "last_sent_wall": float,
                "acked_at": str,
                "ack_status": str,
                "ack_reason": str,
            },
            pk=("boot_epoch", "counter"),
            not_null={"topic", "token", "alert_id"},
            if_not_exists=True,
        )

    def enqueue(self, message: OutboxMessage, created_at: datetime) -> None:
        row = {
            "boot_epoch": message.seq.boot_epoch,
            "counter": message.seq.counter,
            "topic": message.topic,
            "token": message.token,
            "alert_id": message.alert_id,
            "unit_id": message.unit_id,
            "kind": message.kind,
            "revision": message.revision,
            "created_at": created_at.isoformat(),
            "sent_count": 0,
        }
        with self._transaction():
            self._upsert("outbox", row)

    def due_messages(self, now_wall: float, resend_after_s: float) -> list[OutboxMessage]:
        """Unacknowledged messages never sent, or sent longer than ``resend_after_s`` ago."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT boot_epoch, counter, topic, token, alert_id, unit_id, kind, revision,"
                " sent_count FROM outbox WHERE ack_status IS NULL AND"
                " (last_sent_wall IS NULL OR last_sent_wall <= ?) ORDER BY boot_epoch, counter",
                (now_wall - resend_after_s,),
            ).fetchall()
        return [
            OutboxMessage(MessageSequence(r[0], r[1]), r[2], r[3], r[4], r[5], r[6], r[7], r[8])
            for r in rows
        ]

    def mark_sent(self, seq: MessageSequence, now_wall: float) -> None:
        with self._transaction():
            self._conn.execute(
                "UPDATE outbox SET sent_count = sent_count + 1, last_sent_wall = ?"
                " WHERE boot_epoch = ? AND counter = ?",
                (now_wall, seq.boot_epoch, seq.counter),
            )

    def mark_acked(self, seq: MessageSequence, status: str, reason: str, at: datetime) -> bool:
        """Record the cloud's answer; False if no such unacknowledged message exists."""
        with self._transaction():
            cursor = self._conn.execute(
                "UPDATE outbox SET ack_status = ?, ack_reason = ?, acked_at = ?"
                " WHERE boot_epoch = ? AND counter = ? AND ack_status IS NULL",
                (status, reason, at.isoformat(), seq.boot_epoch, seq.counter),
            )
            return cursor.rowcount == 1

    def outbox_rows(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                dict(row) for row in self._db["outbox"].rows_where(order_by="boot_epoch, counter")
            ]

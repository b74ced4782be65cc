"""The ``outbox`` table: every alert until the cloud acknowledges it.

Each message is kept under its sequence (boot id, boot epoch, counter) with its topic, the alert
body and the last token sent, how often it was sent and when the next attempt is due (wall
clock), and the cloud's answer once it comes. An unacknowledged message is never evicted.

Re-sends stay valid however long the outage: the body (with the time the alert was raised) and
the sequence never change, but each send is signed again with the time of that send
(``gateway.wire.uplink``), so the bridge's age window judges the send, not the wait. Each message
waits for its own next attempt, doubling from ``resend_after_s`` to ``resend_max_s`` with
jitter, so a long outage does not end in a burst of every message every 30 s.

Acknowledged rows are history for ``gateway outbox``: pruned after the raw-retention period and
evicted first when the store reaches its disk budget.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.store.database import StoreDatabase
from gateway.wire.signer import Sequence as MessageSequence

ACK_STATUSES = ("accepted", "duplicate", "rejected")
_ADDED_COLUMNS = {"boot_id": "TEXT", "body": "TEXT", "next_attempt_wall": "FLOAT"}


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
    body: dict[str, Any] | None = None  # None only for rows queued before bodies were kept


def next_attempt_delay(sent_count: int, first_s: float, max_s: float, rng: random.Random) -> float:
    """Seconds until the next attempt after the ``sent_count``-th send: doubling, capped,
    with +-20 % jitter so many gateways back from one outage do not send in step."""
    base = min(max(max_s, first_s), first_s * 2 ** max(0, sent_count - 1))
    return base * rng.uniform(0.8, 1.2)


class OutboxTable:
    def __init__(self, db: StoreDatabase) -> None:
        self._db = db
        with db.transaction() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS outbox(boot_epoch INTEGER, counter INTEGER,"
                " topic TEXT NOT NULL, token TEXT NOT NULL, alert_id TEXT NOT NULL, unit_id TEXT,"
                " kind TEXT, revision INTEGER, created_at TEXT, sent_count INTEGER,"
                " last_sent_wall FLOAT, acked_at TEXT, ack_status TEXT, ack_reason TEXT,"
                " PRIMARY KEY(boot_epoch, counter))"
            )
            have = {row[1] for row in conn.execute("PRAGMA table_info(outbox)")}
            for column, kind in _ADDED_COLUMNS.items():
                if column not in have:  # a store made before these columns
                    conn.execute(f"ALTER TABLE outbox ADD COLUMN {column} {kind}")
            conn.execute(
                "CREATE INDEX IF NOT EXISTS idx_outbox_pending ON outbox(ack_status,"
                " next_attempt_wall)"
            )

    def enqueue(self, message: OutboxMessage, created_at: datetime) -> None:
        body = None if message.body is None else json.dumps(message.body, sort_keys=True)
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO outbox(boot_epoch, counter, boot_id, topic, token,"
                " alert_id, unit_id, kind, revision, created_at, sent_count, body)"
                " VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
                (
                    message.seq.boot_epoch,
                    message.seq.counter,
                    message.seq.boot_id,
                    message.topic,
                    message.token,
                    message.alert_id,
                    message.unit_id,
                    message.kind,
                    message.revision,
                    created_at.isoformat(),
                    body,
                ),
            )

    def due(self, now_wall: float, *, every_pending: bool = False) -> list[OutboxMessage]:
        """Unacknowledged messages whose next attempt is due (all of them with
        ``every_pending``, as after a reconnect), oldest first."""
        with self._db.reading() as conn:
            rows = conn.execute(
                "SELECT boot_epoch, counter, boot_id, topic, token, alert_id, unit_id, kind,"
                " revision, sent_count, body FROM outbox WHERE ack_status IS NULL AND"
                " (? OR next_attempt_wall IS NULL OR next_attempt_wall <= ?)"
                " ORDER BY boot_epoch, counter",
                (every_pending, now_wall),
            ).fetchall()
        return [
            OutboxMessage(
                MessageSequence(r[0], r[1], r[2] or ""),
                r[3],
                r[4],
                r[5],
                r[6],
                r[7],
                r[8],
                r[9],
                None if r[10] is None else json.loads(r[10]),
            )
            for r in rows
        ]

    def mark_sent(
        self, seq: MessageSequence, token: str, now_wall: float, next_attempt_wall: float
    ) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "UPDATE outbox SET sent_count = sent_count + 1, last_sent_wall = ?, token = ?,"
                " next_attempt_wall = ? WHERE boot_epoch = ? AND counter = ?",
                (now_wall, token, next_attempt_wall, seq.boot_epoch, seq.counter),
            )

    def mark_acked(self, seq: MessageSequence, status: str, reason: str, at: datetime) -> bool:
        """Record the cloud's answer; False if no such unacknowledged message exists. An ack
        naming a boot id must name this message's (a stale ack of a restored store's lost
        future never matches); one without (an older bridge) matches by epoch and counter."""
        with self._db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE outbox SET ack_status = ?, ack_reason = ?, acked_at = ?"
                " WHERE boot_epoch = ? AND counter = ? AND ack_status IS NULL"
                " AND (? = '' OR COALESCE(boot_id, '') = ?)",
                (status, reason, at.isoformat(), seq.boot_epoch, seq.counter, seq.boot_id,
                 seq.boot_id),
            )  # fmt: skip
            return cursor.rowcount == 1

    def pending_count(self) -> int:
        with self._db.reading() as conn:
            return int(
                conn.execute("SELECT COUNT(*) FROM outbox WHERE ack_status IS NULL").fetchone()[0]
            )

    def oldest_pending_created_at(self) -> str | None:
        with self._db.reading() as conn:
            row = conn.execute(
                "SELECT MIN(created_at) FROM outbox WHERE ack_status IS NULL"
            ).fetchone()
        return None if row[0] is None else str(row[0])

    def prune_acknowledged(self, acked_before: datetime) -> int:
        with self._db.transaction() as conn:
            return conn.execute(
                "DELETE FROM outbox WHERE ack_status IS NOT NULL"
                " AND julianday(acked_at) < julianday(?)",
                (acked_before.isoformat(),),
            ).rowcount

    def evict_acknowledged(self, rows: int) -> int:
        """Drop the ``rows`` oldest acknowledged messages (the disk budget's last resort)."""
        with self._db.transaction() as conn:
            return conn.execute(
                "DELETE FROM outbox WHERE rowid IN (SELECT rowid FROM outbox WHERE ack_status"
                " IS NOT NULL ORDER BY boot_epoch, counter LIMIT ?)",
                (rows,),
            ).rowcount

    def rows(self) -> list[dict[str, Any]]:
        with self._db.reading() as conn:
            cursor = conn.execute("SELECT * FROM outbox ORDER BY boot_epoch, counter")
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

"""The audit log: one row per change to accounts, tokens and gateways, written in the same
transaction as the change (who, when, what, the subject before and after, as JSON)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from cloud_bridge.store.schema import audit_log

__all__ = ["AuditEntry", "read_audit", "record_change"]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str
    subject: str
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None


def record_change(
    conn: Connection,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> None:
    conn.execute(
        insert(audit_log).values(
            at=at,
            actor=actor,
            action=action,
            subject=subject,
            before=None if before is None else json.dumps(before, sort_keys=True, default=str),
            after=None if after is None else json.dumps(after, sort_keys=True, default=str),
        )
    )


def read_audit(conn: Connection, subject: str | None = None, limit: int = 200) -> list[AuditEntry]:
    """The newest ``limit`` entries (of ``subject`` only, when given), oldest first."""
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if subject is not None:
        query = query.where(audit_log.c.subject == subject)
    rows = list(conn.execute(query))
    return [
        AuditEntry(
            r.at,
            r.actor,
            r.action,
            r.subject,
            None if r.before is None else json.loads(r.before),
            None if r.after is None else json.loads(r.after),
        )
        for r in reversed(rows)
    ]

"""What the tickets database hands out: a ticket, its history, the outcome of recording an alert.

Frozen dataclasses, plus the two functions that turn a database row into one of them (the
evidence column is JSON text in the table, a mapping here). ``Ticket.as_json`` and
``Ticket.detail_json`` are the shapes the HTTP API and ``cloud-bridge tickets --json`` show.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.engine import Row

__all__ = ["HistoryEntry", "Outcome", "Ticket", "history_entry_from_row", "ticket_from_row"]


@dataclass(frozen=True, slots=True)
class Outcome:
    status: Literal["accepted", "duplicate", "rejected"]
    ticket_id: int | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One line of a ticket's case file: what happened, who did it, when."""

    at: datetime
    event: str
    from_state: str | None
    to_state: str
    actor: str
    note: str

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "at": self.at.isoformat()}


@dataclass(frozen=True, slots=True)
class Ticket:
    id: int
    gateway_id: str
    unit_id: str
    kind: str
    state: str
    street_office: str
    created_at: datetime
    updated_at: datetime
    alert_id: str
    revision: int
    legal_cap: int
    estimate_point: float
    estimate_low: float
    estimate_high: float
    confidence: float
    summary: str
    evidence: Mapping[str, Any]
    is_open: bool
    history: tuple[HistoryEntry, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The fields of ``GET /api/v1/tickets`` (and ``cloud-bridge tickets --json``)."""
        return {
            "id": self.id,
            "gateway_id": self.gateway_id,
            "unit_id": self.unit_id,
            "kind": self.kind,
            "state": self.state,
            "is_open": self.is_open,
            "street_office": self.street_office,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "alert_id": self.alert_id,
            "revision": self.revision,
            "legal_cap": self.legal_cap,
            "estimated_occupancy": {
                "point": self.estimate_point,
                "low": self.estimate_low,
                "high": self.estimate_high,
            },
            "confidence": self.confidence,
            "summary": self.summary,
        }

    def detail_json(self) -> dict[str, Any]:
        """``as_json`` plus the evidence and the event history (``GET /api/v1/tickets/{id}``)."""
        return {
            **self.as_json(),
            "evidence": dict(self.evidence),
            "events": [entry.as_json() for entry in self.history],
        }


def ticket_from_row(row: Row[Any], history: tuple[HistoryEntry, ...] = ()) -> Ticket:
    """A ``tickets`` row as a :class:`Ticket`, with ``history`` attached."""
    values = {f.name: row._mapping[f.name] for f in fields(Ticket) if f.name != "history"}
    values |= {"evidence": json.loads(row.evidence), "is_open": bool(row.is_open)}
    return Ticket(**values, history=history)


def history_entry_from_row(row: Row[Any]) -> HistoryEntry:
    """A ``ticket_events`` row as a :class:`HistoryEntry`."""
    return HistoryEntry(row.at, row.event, row.from_state, row.to_state, row.actor, row.note)

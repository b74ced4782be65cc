"""The tickets database: one ticket per case, every step of its life, every alert received.

SQLAlchemy Core on SQLite (the embedded default: WAL, foreign keys, a busy timeout, writes in
``BEGIN IMMEDIATE`` transactions) or PostgreSQL (``postgresql+psycopg://``), so several bridge
instances can share one database. Idempotency rests on unique keys, not on luck:

- ``alerts_received`` is unique per ``(gateway_id, boot_epoch, counter)``: a message delivered
  twice is recognised by its sequence and payload hash (``duplicate``); another message reusing a
  sequence is refused;
- a partial unique index allows one *open* ticket per ``(gateway_id, unit_id, kind)``: a new
  alert for a case with an open ticket adds its evidence to that ticket.

When two bridges race on the same message or the same case, the loser's transaction fails on
one of those keys, is rolled back and is run again, and then sees the winner's result.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, Engine, Row, make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.types import TypeDecorator

from cloud_bridge import ticket_states
from cloud_bridge.errors import StorageError, TicketConflict, TicketNotFound
from cloud_bridge.ticket_states import TicketEvent, TicketState
from cloud_bridge.verification import VerifiedAlert

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_S = 10.0
RACE_ATTEMPTS = 3
SCHEMA_LOCK_KEY = 0x71756E7A75  # any constant shared by every bridge: serialises create_schema
_WRITE = "cloud_bridge_write"  # execution option: this transaction writes (SQLite: IMMEDIATE)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes stored as UTC on every dialect (SQLite keeps no offset of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: the tickets database stores aware times only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

tickets = Table(
    "tickets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("gateway_id", String(64), nullable=False),
    Column("unit_id", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("state", String(32), nullable=False),
    Column("street_office", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("alert_id", String(200), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("legal_cap", Integer, nullable=False),
    Column("estimate_point", Float, nullable=False),
    Column("estimate_low", Float, nullable=False),
    Column("estimate_high", Float, nullable=False),
    Column("confidence", Float, nullable=False),
    Column("summary", Text, nullable=False),
    Column("evidence", Text, nullable=False),
    Column("is_open", Boolean, nullable=False),
)
Index(
    "tickets_one_open_per_case",
    tickets.c.gateway_id,
    tickets.c.unit_id,
    tickets.c.kind,
    unique=True,
    sqlite_where=tickets.c.is_open,
    postgresql_where=tickets.c.is_open,
)
Index("tickets_by_office", tickets.c.street_office, tickets.c.is_open)

ticket_events = Table(
    "ticket_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket_id", ForeignKey("tickets.id"), nullable=False, index=True),
    Column("at", UtcDateTime, nullable=False),
    Column("event", String(32), nullable=False),
    Column("from_state", String(32)),
    Column("to_state", String(32), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("note", Text, nullable=False),
)

alerts_received = Table(
    "alerts_received",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("gateway_id", String(64), nullable=False),
    Column("boot_epoch", BigInteger, nullable=False),
    Column("counter", BigInteger, nullable=False),
    Column("alert_id", String(200), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("payload_sha256", String(64), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("ticket_id", ForeignKey("tickets.id"), index=True),
    # The signed message itself: anyone with the gateway's public key can verify it again.
    Column("token", Text, nullable=False),
    UniqueConstraint("gateway_id", "boot_epoch", "counter", name="alerts_received_one_per_seq"),
)


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


class TicketsDB:
    """The bridge's storage. Every method is synchronous and runs one transaction; call them
    from a worker thread (``asyncio.to_thread``) in async code."""

    def __init__(self, url: str, *, actor: str = "cloud-bridge") -> None:
        self.safe_url = make_url(url).render_as_string(hide_password=True)
        self._engine = _create_engine(url)
        self._actor = actor

    def close(self) -> None:
        self._engine.dispose()

    def create_schema(self) -> None:
        """Create the tables and indexes that do not exist yet (safe to run on every start, from
        several bridges at once)."""
        with self._transaction(write=True) as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
            metadata.create_all(conn)

    def check(self) -> None:
        """Raise :class:`StorageError` unless the database answers."""
        with self._transaction(write=False) as conn:
            conn.execute(text("SELECT 1"))

    def record_alert(self, alert: VerifiedAlert, street_office: str, now: datetime) -> Outcome:
        """Record a verified alert: open a ticket (routed to ``street_office``), add the alert's
        evidence to the case's open ticket, or recognise a message seen before."""
        _require_aware(now)
        for attempt in range(1, RACE_ATTEMPTS + 1):
            try:
                with self._transaction(write=True) as conn:
                    return self._record(conn, alert, street_office, now)
            except IntegrityError:
                # Another bridge recorded this message or opened this case meanwhile; run again
                # to see its result.
                log.debug("race on %s (attempt %d); retrying", alert.alert_id, attempt)
        raise StorageError(f"could not record {alert.alert_id}: concurrent writers kept winning")

    def list_tickets(
        self, *, street_office: str | None = None, open_only: bool = False
    ) -> list[Ticket]:
        query = select(tickets).order_by(tickets.c.id)
        if street_office is not None:
            query = query.where(tickets.c.street_office == street_office)
        if open_only:
            query = query.where(tickets.c.is_open.is_(True))
        with self._transaction(write=False) as conn:
            return [_ticket(row) for row in conn.execute(query)]

    def get_ticket(self, ticket_id: int) -> Ticket:
        """The ticket with its history; :class:`TicketNotFound` if there is none."""
        with self._transaction(write=False) as conn:
            row = conn.execute(select(tickets).where(tickets.c.id == ticket_id)).first()
            if row is None:
                raise TicketNotFound(ticket_id)
            history = conn.execute(
                select(ticket_events)
                .where(ticket_events.c.ticket_id == ticket_id)
                .order_by(ticket_events.c.id)
            )
            return _ticket(row, tuple(_history_entry(h) for h in history))

    def apply_event(
        self,
        ticket_id: int,
        event: str,
        actor: str,
        note: str = "",
        now: datetime | None = None,
    ) -> Ticket:
        """Move a ticket through its lifecycle and record who did it. Raises
        :class:`TicketNotFound`, :class:`~cloud_bridge.errors.InvalidTransition`, or
        :class:`TicketConflict` when reopening would leave two open tickets for one case."""
        now = now or datetime.now(UTC)
        _require_aware(now)
        try:
            with self._transaction(write=True) as conn:
                row = conn.execute(
                    select(tickets).where(tickets.c.id == ticket_id).with_for_update()
                ).first()
                if row is None:
                    raise TicketNotFound(ticket_id)
                self._transition(conn, row.id, row.state, event, actor, note, now)
        except IntegrityError as err:
            raise TicketConflict(
                f"ticket #{ticket_id} cannot be reopened: another ticket is open for the same"
                " unit and kind; continue with that one"
            ) from err
        return self.get_ticket(ticket_id)

    # -- inside one transaction ------------------------------------------------------------

    def _record(
        self, conn: Connection, alert: VerifiedAlert, street_office: str, now: datetime
    ) -> Outcome:
        seen = conn.execute(
            select(alerts_received.c.payload_sha256, alerts_received.c.ticket_id).where(
                alerts_received.c.gateway_id == alert.gateway_id,
                alerts_received.c.boot_epoch == alert.boot_epoch,
                alerts_received.c.counter == alert.counter,
            )
        ).first()
        if seen is not None:
            if seen.payload_sha256 == alert.payload_sha256:
                return Outcome("duplicate", seen.ticket_id)
            return Outcome(
                "rejected",
                None,
                f"sequence reused: {alert.boot_epoch}/{alert.counter} already carried another"
                " message",
            )
        current = conn.execute(
            select(tickets)
            .where(
                tickets.c.gateway_id == alert.gateway_id,
                tickets.c.unit_id == alert.unit_id,
                tickets.c.kind == alert.kind,
                tickets.c.is_open.is_(True),
            )
            .with_for_update()
        ).first()
        if current is None:
            ticket_id = self._open_ticket(conn, alert, street_office, now)
        else:
            ticket_id = current.id
            self._add_evidence(conn, current, alert, now)
        conn.execute(
            insert(alerts_received).values(
                gateway_id=alert.gateway_id,
                boot_epoch=alert.boot_epoch,
                counter=alert.counter,
                alert_id=alert.alert_id,
                revision=alert.revision,
                payload_sha256=alert.payload_sha256,
                received_at=now,
                ticket_id=ticket_id,
                token=alert.token,
            )
        )
        return Outcome("accepted", ticket_id)

    def _open_ticket(
        self, conn: Connection, alert: VerifiedAlert, street_office: str, now: datetime
    ) -> int:
        result = conn.execute(
            insert(tickets).values(
                gateway_id=alert.gateway_id,
                unit_id=alert.unit_id,
                kind=alert.kind,
                state=str(TicketState.NEW),
                street_office=street_office,
                created_at=now,
                updated_at=now,
                is_open=True,
                evidence=json.dumps(_merge_evidence({}, alert.alert), sort_keys=True),
                **_case_values(alert.alert),
            )
        )
        primary_key = result.inserted_primary_key
        assert primary_key is not None  # a single-row INSERT
        ticket_id = int(primary_key[0])
        opened = (
            f"alert {alert.alert_id} revision {alert.revision} from gateway {alert.gateway_id}:"
            f" {_estimate_text(alert.alert)}"
        )
        self._log_event(
            conn,
            ticket_id,
            HistoryEntry(now, "open", None, str(TicketState.NEW), self._actor, opened),
        )
        routed = f"routed to street office {street_office}"
        self._transition(
            conn, ticket_id, TicketState.NEW, TicketEvent.DISPATCH, self._actor, routed, now
        )
        return ticket_id

    def _add_evidence(
        self, conn: Connection, current: Row[Any], alert: VerifiedAlert, now: datetime
    ) -> None:
        body = alert.alert
        # An older revision of the ticket's own case, delivered late, adds days but does not
        # replace the newer estimate.
        newer = alert.alert_id != current.alert_id or alert.revision >= current.revision
        evidence = _merge_evidence(json.loads(current.evidence), body, newer=newer)
        values: dict[str, Any] = {
            "evidence": json.dumps(evidence, sort_keys=True),
            "updated_at": now,
        }
        if newer:
            values |= _case_values(body)
        conn.execute(update(tickets).where(tickets.c.id == current.id).values(**values))
        note = f"alert {alert.alert_id} revision {alert.revision}: {_estimate_text(body)}"
        state = current.state
        self._log_event(
            conn, current.id, HistoryEntry(now, "evidence", state, state, self._actor, note)
        )

    def _transition(
        self,
        conn: Connection,
        ticket_id: int,
        state: str,
        event: str,
        actor: str,
        note: str,
        now: datetime,
    ) -> None:
        after = ticket_states.apply(state, event)
        conn.execute(
            update(tickets)
            .where(tickets.c.id == ticket_id)
            .values(state=str(after), is_open=ticket_states.is_open(after), updated_at=now)
        )
        entry = HistoryEntry(now, str(event), str(state), str(after), actor, note)
        self._log_event(conn, ticket_id, entry)

    @staticmethod
    def _log_event(conn: Connection, ticket_id: int, entry: HistoryEntry) -> None:
        conn.execute(insert(ticket_events).values(ticket_id=ticket_id, **asdict(entry)))

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Connection]:
        """One transaction; database failures become :class:`StorageError`, except unique-key
        violations, which the callers turn into answers."""
        try:
            with self._engine.connect() as conn:
                conn.execution_options(**{_WRITE: write})
                with conn.begin():
                    yield conn
        except IntegrityError:
            raise
        except SQLAlchemyError as err:
            raise StorageError(f"tickets database {self.safe_url}: {_first_line(err)}") from err


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("naive datetime: the tickets database stores aware times only")


def _create_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)
    engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # SQLAlchemy emits BEGIN itself (see _sqlite_begin); sqlite3's own handling is switched off.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # A writer takes the write lock up front, so two writers queue (busy timeout) instead of
    # one failing when it upgrades a read snapshot that the other has made stale.
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")


def _case_values(body: Mapping[str, Any]) -> dict[str, Any]:
    estimate = body["estimated_occupancy"]
    return {
        "alert_id": body["alert_id"],
        "revision": body["revision"],
        "legal_cap": body["legal_cap"],
        "estimate_point": estimate["point"],
        "estimate_low": estimate["low"],
        "estimate_high": estimate["high"],
        "confidence": body["confidence"],
        "summary": body["evidence"]["summary"],
    }


def _merge_evidence(
    old: Mapping[str, Any], body: Mapping[str, Any], *, newer: bool = True
) -> dict[str, Any]:
    """The case file's evidence: the daily figures of every alert, by date (a newer alert's
    figures win), the signals seen, and the window they cover."""
    incoming = body["evidence"]
    days = {day["date"]: day for day in old.get("days", [])}
    for day in incoming["days"]:
        if newer or day["date"] not in days:
            days[day["date"]] = day
    window = body["window"]
    old_window = old.get("window", window)
    latest = body if newer or not old else old
    return {
        "raised_at": latest["raised_at"],
        "unit": latest["unit"],
        "window": {
            "from": min(window["from"], old_window["from"]),
            "to": max(window["to"], old_window["to"]),
        },
        "signals": sorted(set(old.get("signals", [])) | set(incoming["signals"])),
        "days": [days[date] for date in sorted(days)],
    }


def _estimate_text(body: Mapping[str, Any]) -> str:
    estimate = body["estimated_occupancy"]
    return (
        f"about {estimate['point']:g} people ({estimate['low']:g}-{estimate['high']:g}),"
        f" legal cap {body['legal_cap']}, confidence {body['confidence']:.2f}"
    )


def _ticket(row: Row[Any], history: tuple[HistoryEntry, ...] = ()) -> Ticket:
    values = {f.name: row._mapping[f.name] for f in fields(Ticket) if f.name != "history"}
    values |= {"evidence": json.loads(row.evidence), "is_open": bool(row.is_open)}
    return Ticket(**values, history=history)


def _history_entry(row: Row[Any]) -> HistoryEntry:
    return HistoryEntry(row.at, row.event, row.from_state, row.to_state, row.actor, row.note)


def _first_line(err: SQLAlchemyError) -> str:
    cause = getattr(err, "orig", None) or err
    return str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__

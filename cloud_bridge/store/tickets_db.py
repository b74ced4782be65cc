"""The tickets database: one ticket per case, every step of its life, every alert received.

SQLAlchemy Core on SQLite (the embedded default: WAL, foreign keys, a busy timeout, writes in
``BEGIN IMMEDIATE`` transactions) or PostgreSQL (``postgresql+psycopg://``), so several bridge
instances can share one database. Idempotency rests on unique keys, not on luck:

- ``alerts_received`` is unique per sequence ``(gateway_id, boot_id, boot_epoch, counter)``: a
  message delivered twice, or re-sent (signed again, with a fresh ``iat``), is recognised by its
  sequence and the hash of its alert body (``duplicate``); another alert reusing a sequence is
  refused;
- a partial unique index allows one *open* ticket per ``(gateway_id, unit_id, kind)``: a new
  alert for a case with an open ticket adds its evidence to that ticket.

When two bridges race on the same message or the same case, the loser's transaction fails on
one of those keys, is rolled back and is run again, and then sees the winner's result.

This module holds the queries, one transaction per method. The tables are in
:mod:`~cloud_bridge.store.schema` (built by the migrations of
:mod:`~cloud_bridge.store.migrations_runner`, run by :meth:`TicketsDB.migrate`), engines and
transactions in :mod:`~cloud_bridge.store.engine`, what an alert adds to its case in
:mod:`~cloud_bridge.cases.evidence`, and the objects handed out in
:mod:`~cloud_bridge.store.ticket_records`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection
from contextlib import AbstractContextManager
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.engine import Connection, Engine, Row, make_url
from sqlalchemy.exc import IntegrityError

from cloud_bridge import ticket_states
from cloud_bridge.cases.evidence import case_values, estimate_text, merge_evidence
from cloud_bridge.errors import StorageError, TicketConflict, TicketNotFound
from cloud_bridge.ingest.verification import VerifiedAlert
from cloud_bridge.store import migrations_runner
from cloud_bridge.store.engine import create_tickets_engine, transaction
from cloud_bridge.store.migrations_runner import MigrationResult, SchemaState
from cloud_bridge.store.schema import alerts_received, ticket_events, tickets
from cloud_bridge.store.ticket_records import (
    HistoryEntry,
    Outcome,
    Ticket,
    history_entry_from_row,
    ticket_from_row,
)
from cloud_bridge.ticket_states import TicketEvent, TicketState

log = logging.getLogger(__name__)

RACE_ATTEMPTS = 3
MIGRATE_ATTEMPTS = 3
SCHEMA_LOCK_KEY = 0x71756E7A75  # any constant shared by every bridge: serialises migrate


class TicketsDB:
    """The bridge's storage. Every method is synchronous and runs one transaction; call them
    from a worker thread (``asyncio.to_thread``) in async code."""

    def __init__(self, url: str, *, actor: str = "cloud-bridge") -> None:
        self.safe_url = make_url(url).render_as_string(hide_password=True)
        self._engine = create_tickets_engine(url)
        self._actor = actor

    def close(self) -> None:
        self._engine.dispose()

    @property
    def engine(self) -> Engine:
        """The engine, shared by the other stores of this database (accounts, gateways)."""
        return self._engine

    def migrate(self) -> MigrationResult:
        """Bring the schema to the newest revision (:mod:`~cloud_bridge.store.migrations_runner`):
        create it in an empty database, adopt one made before migrations, upgrade an older one.
        Safe on every start, from several bridges at once: one transaction, which on PostgreSQL
        first takes an advisory lock (the one bridges before migrations took around
        ``create_all``) and on SQLite the write lock, so concurrent upgrades run one by one and
        the later ones find nothing to do. On SQLite a bridge that waited out the busy timeout
        behind the others' upgrades tries again, a bounded number of times."""
        for attempt in range(1, MIGRATE_ATTEMPTS + 1):
            try:
                result = self._migrate_once()
                break
            except StorageError as err:
                if "database is locked" not in str(err) or attempt == MIGRATE_ATTEMPTS:
                    raise
                log.info("tickets database busy with another bridge's upgrade; waiting")
        if result.changed:
            log.info("tickets database %s: %s", self.safe_url, result.describe())
        return result

    def _migrate_once(self) -> MigrationResult:
        with self._transaction(write=True) as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
            return migrations_runner.upgrade(conn)

    def create_schema(self) -> None:
        """The name of :meth:`migrate` before migrations existed."""
        self.migrate()

    def schema_state(self) -> SchemaState:
        """Where the schema stands (revision, head); changes nothing."""
        with self._transaction(write=False) as conn:
            return migrations_runner.schema_state(conn)

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
        self,
        *,
        street_office: str | None = None,
        open_only: bool = False,
        within_offices: Collection[str] | None = None,
    ) -> list[Ticket]:
        """The tickets, oldest first: of ``street_office`` only, and (``within_offices`` not
        None) only those routed to one of those offices (a caller's scope)."""
        query = select(tickets).order_by(tickets.c.id)
        if street_office is not None:
            query = query.where(tickets.c.street_office == street_office)
        if within_offices is not None:
            query = query.where(tickets.c.street_office.in_(list(within_offices)))
        if open_only:
            query = query.where(tickets.c.is_open.is_(True))
        with self._transaction(write=False) as conn:
            return [ticket_from_row(row) for row in conn.execute(query)]

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
            return ticket_from_row(row, tuple(history_entry_from_row(h) for h in history))

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
            select(
                alerts_received.c.payload_sha256,
                alerts_received.c.alert_sha256,
                alerts_received.c.ticket_id,
            ).where(
                alerts_received.c.gateway_id == alert.gateway_id,
                alerts_received.c.boot_id == alert.boot_id,
                alerts_received.c.boot_epoch == alert.boot_epoch,
                alerts_received.c.counter == alert.counter,
            )
        ).first()
        if seen is not None:
            # A re-send is signed again (another token, a fresh iat): the same sequence with the
            # same alert body is the same message. Rows stored before bodies were hashed, whose
            # token could not be read in the migration, compare the whole message instead.
            if seen.alert_sha256 is not None:
                same = seen.alert_sha256 == alert.alert_sha256
            else:
                same = seen.payload_sha256 == alert.payload_sha256
            if same:
                return Outcome("duplicate", seen.ticket_id)
            return Outcome(
                "rejected",
                None,
                f"sequence reused: {alert.seq_text} already carried another alert",
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
                boot_id=alert.boot_id,
                boot_epoch=alert.boot_epoch,
                counter=alert.counter,
                alert_id=alert.alert_id,
                revision=alert.revision,
                payload_sha256=alert.payload_sha256,
                alert_sha256=alert.alert_sha256,
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
                evidence=json.dumps(merge_evidence({}, alert.alert), sort_keys=True),
                **case_values(alert.alert),
            )
        )
        primary_key = result.inserted_primary_key
        assert primary_key is not None  # a single-row INSERT
        ticket_id = int(primary_key[0])
        opened = (
            f"alert {alert.alert_id} revision {alert.revision} from gateway {alert.gateway_id}:"
            f" {estimate_text(alert.alert)}"
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
        evidence = merge_evidence(json.loads(current.evidence), body, newer=newer)
        values: dict[str, Any] = {
            "evidence": json.dumps(evidence, sort_keys=True),
            "updated_at": now,
        }
        if newer:
            values |= case_values(body)
        conn.execute(update(tickets).where(tickets.c.id == current.id).values(**values))
        note = f"alert {alert.alert_id} revision {alert.revision}: {estimate_text(body)}"
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

    def _transaction(self, *, write: bool) -> AbstractContextManager[Connection]:
        return transaction(self._engine, write=write, database=self.safe_url)


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("naive datetime: the tickets database stores aware times only")

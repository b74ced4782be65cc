"""The tickets database's tables: SQLAlchemy Core definitions, the same on SQLite and PostgreSQL.

- ``tickets``: one row per case, with its lifecycle state, the latest estimate and the merged
  evidence (JSON); a partial unique index allows one *open* ticket per
  ``(gateway_id, unit_id, kind)``;
- ``ticket_events``: every step of a ticket's life (who, when, from which state to which);
- ``accounts``, ``sessions``, ``api_tokens``, ``login_throttle``: who may use the HTTP API and
  UI (revision 3; :mod:`cloud_bridge.auth.accounts_db`); sessions and tokens are kept as SHA-256
  digests only;
- ``gateways``, ``gateway_keys``, ``audit_log``: the gateway registry and every change made to it
  or to the accounts (revision 3; :mod:`cloud_bridge.auth.gateways_db`);
- ``alerts_received``: every signed alert received, unique per sequence ``(gateway_id, boot_id,
  boot_epoch, counter)``, with a hash of its alert body (a re-send is signed again, so only the
  body tells a re-send from another alert) and the token itself so anyone can verify it again.

These definitions are the schema *now*: the migrations in ``cloud_bridge/store/migrations/`` build
it step by step, and a test checks that the two agree. Change a table here only together with a new
migration revision.

Times are stored through :class:`UtcDateTime`, which accepts aware datetimes only and hands back
UTC. The queries live in :mod:`cloud_bridge.store.tickets_db`.
"""

from __future__ import annotations

from datetime import UTC, datetime

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
)
from sqlalchemy.types import TypeDecorator

__all__ = [
    "UtcDateTime",
    "accounts",
    "alerts_received",
    "api_tokens",
    "audit_log",
    "gateway_keys",
    "gateways",
    "login_throttle",
    "metadata",
    "sessions",
    "ticket_events",
    "tickets",
]


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
    # "" for gateways that predate boot ids (and for messages received before revision 2).
    Column("boot_id", String(32), nullable=False, server_default=""),
    Column("boot_epoch", BigInteger, nullable=False),
    Column("counter", BigInteger, nullable=False),
    Column("alert_id", String(200), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("payload_sha256", String(64), nullable=False),
    # SHA-256 of the alert body's canonical JSON; NULL only for old rows whose token could not
    # be read during the migration (their payload_sha256 is compared instead).
    Column("alert_sha256", String(64)),
    Column("received_at", UtcDateTime, nullable=False),
    Column("ticket_id", ForeignKey("tickets.id"), index=True),
    # The signed message itself: anyone with the gateway's public key can verify it again.
    Column("token", Text, nullable=False),
    UniqueConstraint(
        "gateway_id", "boot_id", "boot_epoch", "counter", name="alerts_received_one_per_seq"
    ),
)

# -- revision 3: accounts, sessions, API tokens, the gateway registry, the audit log -----------

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    # At most one of the two is set; neither: city-wide (admins only).
    Column("street_office", String(64)),
    Column("district", String(64)),
    # argon2id (PHC string); NULL: no password (an api_client signs in with tokens only).
    Column("password_hash", Text),
    Column("disabled", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("account_id", ForeignKey("accounts.id"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # The token's public beginning (``qzw_<prefix>``): shown in lists, never enough to use it.
    Column("prefix", String(16), nullable=False, unique=True),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("account_id", ForeignKey("accounts.id"), nullable=False, index=True),
    Column("label", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
    Column("last_used_at", UtcDateTime),
)

login_throttle = Table(
    "login_throttle",
    metadata,
    # "account:<name>" or "address:<client address>"
    Column("key", String(300), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("locked_until", UtcDateTime),
    Column("updated_at", UtcDateTime, nullable=False),
)

gateways = Table(
    "gateways",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("street_office", String(64), nullable=False),
    Column("address", Text),
    Column("created_at", UtcDateTime, nullable=False),
)

gateway_keys = Table(
    "gateway_keys",
    metadata,
    Column("gateway_id", ForeignKey("gateways.id"), primary_key=True),
    Column("kid", String(64), primary_key=True),  # RFC 7638 thumbprint
    Column("public_key_pem", Text, nullable=False),
    Column("not_before", UtcDateTime, nullable=False),
    Column("not_after", UtcDateTime),  # NULL: no end (until rotated or revoked)
    Column("revoked_at", UtcDateTime),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("before", Text),  # JSON, NULL when the subject did not exist
    Column("after", Text),  # JSON, NULL when the subject was removed
)
Index("audit_log_by_subject", audit_log.c.subject, audit_log.c.at)

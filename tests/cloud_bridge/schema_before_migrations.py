"""The tickets tables exactly as ``cloud_bridge.store.schema`` defined them before migrations
existed, frozen here, so the tests can make a database the way those bridges did
(``metadata.create_all``) and check that the migrations adopt and upgrade it. (``UtcDateTime``
is imported: its DDL is ``DateTime(timezone=True)``, and it stores times as those bridges did.)"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
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

from cloud_bridge.store.schema import UtcDateTime

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
    Column("token", Text, nullable=False),
    UniqueConstraint("gateway_id", "boot_epoch", "counter", name="alerts_received_one_per_seq"),
)

"""The tickets database as bridges created it before migrations existed.

Exactly what ``metadata.create_all`` made until then: ``tickets`` (with the partial unique index
that allows one open ticket per case), ``ticket_events`` and ``alerts_received`` (unique per
``(gateway_id, boot_epoch, counter)``). A database made that way has no ``alembic_version``
table; :mod:`cloud_bridge.store.migrations_runner` recognises it and stamps it at this revision.

Written out column by column, never derived from today's tables, so that it stays what it was.

Revision ID: 0001_initial
Revises: (none)
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("gateway_id", sa.String(64), nullable=False),
        sa.Column("unit_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("street_office", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("alert_id", sa.String(200), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("legal_cap", sa.Integer(), nullable=False),
        sa.Column("estimate_point", sa.Float(), nullable=False),
        sa.Column("estimate_low", sa.Float(), nullable=False),
        sa.Column("estimate_high", sa.Float(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=False),
    )
    op.create_index(
        "tickets_one_open_per_case",
        "tickets",
        ["gateway_id", "unit_id", "kind"],
        unique=True,
        sqlite_where=sa.text("is_open"),
        postgresql_where=sa.text("is_open"),
    )
    op.create_index("tickets_by_office", "tickets", ["street_office", "is_open"])

    op.create_table(
        "ticket_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("from_state", sa.String(32)),
        sa.Column("to_state", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
    )
    op.create_index("ix_ticket_events_ticket_id", "ticket_events", ["ticket_id"])

    op.create_table(
        "alerts_received",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("gateway_id", sa.String(64), nullable=False),
        sa.Column("boot_epoch", sa.BigInteger(), nullable=False),
        sa.Column("counter", sa.BigInteger(), nullable=False),
        sa.Column("alert_id", sa.String(200), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("payload_sha256", sa.String(64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id")),
        sa.Column("token", sa.Text(), nullable=False),
        sa.UniqueConstraint(
            "gateway_id", "boot_epoch", "counter", name="alerts_received_one_per_seq"
        ),
    )
    op.create_index("ix_alerts_received_ticket_id", "alerts_received", ["ticket_id"])


def downgrade() -> None:
    op.drop_table("alerts_received")
    op.drop_table("ticket_events")
    op.drop_table("tickets")

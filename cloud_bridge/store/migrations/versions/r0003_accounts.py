"""Accounts, sessions and API tokens for the HTTP API and UI; the gateway registry; an audit log.

- ``accounts``: a name, one role, a scope (a street office, a district, or neither: city-wide)
  and an argon2id password hash;
- ``sessions`` and ``api_tokens``: only the SHA-256 of each random token is stored;
- ``login_throttle``: failed logins per account and per client address (lockout);
- ``gateways`` and ``gateway_keys``: the registry that was TOML only (the TOML entries are
  imported at start), with each key's validity window and revocation;
- ``audit_log``: who changed what, when, before and after.

New tables only: nothing existing changes, so the upgrade of a populated database is additive.

Revision ID: 0003_accounts
Revises: 0002_boot_id
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_accounts"
down_revision: str | None = "0002_boot_id"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("street_office", sa.String(64)),
        sa.Column("district", sa.String(64)),
        sa.Column("password_hash", sa.Text()),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        _when("created_at"),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        _when("created_at"),
        _when("last_seen_at"),
    )
    op.create_index("ix_sessions_account_id", "sessions", ["account_id"])
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("prefix", sa.String(16), nullable=False, unique=True),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        _when("created_at"),
        _when("revoked_at", nullable=True),
        _when("last_used_at", nullable=True),
    )
    op.create_index("ix_api_tokens_account_id", "api_tokens", ["account_id"])
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        _when("locked_until", nullable=True),
        _when("updated_at"),
    )
    op.create_table(
        "gateways",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("street_office", sa.String(64), nullable=False),
        sa.Column("address", sa.Text()),
        _when("created_at"),
    )
    op.create_table(
        "gateway_keys",
        sa.Column("gateway_id", sa.String(64), sa.ForeignKey("gateways.id"), primary_key=True),
        sa.Column("kid", sa.String(64), primary_key=True),
        sa.Column("public_key_pem", sa.Text(), nullable=False),
        _when("not_before"),
        _when("not_after", nullable=True),
        _when("revoked_at", nullable=True),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _when("at"),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("before", sa.Text()),
        sa.Column("after", sa.Text()),
    )
    op.create_index("audit_log_by_subject", "audit_log", ["subject", "at"])


def downgrade() -> None:
    for table in (
        "audit_log",
        "gateway_keys",
        "gateways",
        "login_throttle",
        "api_tokens",
        "sessions",
        "accounts",
    ):
        op.drop_table(table)

"""Sequence identity with the gateway's boot id; re-sends recognised by their alert body.

- ``alerts_received.boot_id`` (``''`` for gateways without one, and for every row before this
  revision): the random id a gateway draws at every start, so a wiped, restored or replaced
  gateway store can never reuse a sequence the bridge has seen;
- ``alerts_received.alert_sha256``: SHA-256 of the alert body's canonical JSON. A gateway now
  signs every re-send again (fresh ``iat``), so a re-send has another token, and only the body
  tells it from another alert. Filled in here for the rows already stored, from the alert inside
  their token; a row whose token cannot be read keeps NULL (the bridge then compares
  ``payload_sha256``, the rule before this revision);
- the unique sequence becomes ``(gateway_id, boot_id, boot_epoch, counter)``.

SQLite cannot alter a constraint: batch mode copies the table (indexes and foreign key kept).

Revision ID: 0002_boot_id
Revises: 0001_initial
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_boot_id"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK_ROWS = 500

_alerts = sa.table(
    "alerts_received",
    sa.column("id", sa.Integer()),
    sa.column("token", sa.Text()),
    sa.column("alert_sha256", sa.String(64)),
)


def upgrade() -> None:
    with op.batch_alter_table("alerts_received") as batch:
        batch.add_column(sa.Column("boot_id", sa.String(32), nullable=False, server_default=""))
        batch.add_column(sa.Column("alert_sha256", sa.String(64)))
        batch.drop_constraint("alerts_received_one_per_seq", type_="unique")
        batch.create_unique_constraint(
            "alerts_received_one_per_seq", ["gateway_id", "boot_id", "boot_epoch", "counter"]
        )
    _fill_in_alert_sha256(op.get_bind())


def downgrade() -> None:
    # Fails on the unique key if two rows differ only in boot_id: such a database cannot go back.
    with op.batch_alter_table("alerts_received") as batch:
        batch.drop_constraint("alerts_received_one_per_seq", type_="unique")
        batch.create_unique_constraint(
            "alerts_received_one_per_seq", ["gateway_id", "boot_epoch", "counter"]
        )
        batch.drop_column("alert_sha256")
        batch.drop_column("boot_id")


def _fill_in_alert_sha256(bind: sa.Connection) -> None:
    """Read the stored tokens in chunks (the table can be large) and store their bodies' hash."""
    after = 0
    while True:
        rows = bind.execute(
            sa.select(_alerts.c.id, _alerts.c.token)
            .where(_alerts.c.id > after, _alerts.c.alert_sha256.is_(None))
            .order_by(_alerts.c.id)
            .limit(CHUNK_ROWS)
        ).all()
        if not rows:
            return
        after = rows[-1].id
        digests = [
            {"row_id": row.id, "digest": digest}
            for row in rows
            if (digest := _alert_sha256_of_token(row.token)) is not None
        ]
        if digests:
            bind.execute(
                sa.update(_alerts)
                .where(_alerts.c.id == sa.bindparam("row_id"))
                .values(alert_sha256=sa.bindparam("digest")),
                digests,
            )


def _alert_sha256_of_token(token: str) -> str | None:
    """The rule of this revision (kept here as it was, whatever the bridge does later): SHA-256
    of ``json.dumps(alert, sort_keys=True, separators=(",", ":"))``, where ``alert`` is the
    ``alert`` claim in the JWS payload (the middle, base64url part of the compact token)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(payload)
    except (binascii.Error, ValueError):
        return None
    alert = claims.get("alert") if isinstance(claims, dict) else None
    if not isinstance(alert, dict):
        return None
    canonical = json.dumps(alert, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()

"""Revision ``0003_accounts`` upgrades an existing database (at ``0002_boot_id``, with tickets)
in place, on SQLite and PostgreSQL: the rows stay, the new tables match the metadata, and the
accounts work at once; a downgrade removes only the new tables."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Engine

from cloud_bridge.auth.stores import accounts_store
from cloud_bridge.cases.roles import Role
from cloud_bridge.config import BridgeConfig
from cloud_bridge.store.migrations_runner import alembic_config
from cloud_bridge.store.schema import metadata
from cloud_bridge.store.tickets_db import TicketsDB
from tests.cloud_bridge.auth.web_session import T0, record_tickets
from tests.cloud_bridge.signed_alerts import FakeGateway
from tests.cloud_bridge.test_tickets_migrations import differences

pytestmark = pytest.mark.timeout(120)
NEW_TABLES = {
    "accounts", "sessions", "api_tokens", "login_throttle", "gateways", "gateway_keys",
    "audit_log",
}  # fmt: skip


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = create_engine(db_url)
    yield engine
    engine.dispose()


def test_a_database_at_revision_2_is_upgraded_with_its_tickets(
    db_url: str, engine: Engine, bridge_config: BridgeConfig, gateway: FakeGateway
) -> None:
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0002_boot_id")
    assert not NEW_TABLES & set(inspect(engine).get_table_names())
    # Tickets recorded at revision 2 (recording touches only the tables revision 2 has).
    old = TicketsDB(db_url)
    try:
        linfen, pengpu = record_tickets(old, bridge_config, gateway)
    finally:
        old.close()

    db = TicketsDB(db_url)
    try:
        result = db.migrate()
        assert result.describe() == "upgraded from revision 0002_boot_id to 0003_accounts (head)"
        assert [t.id for t in db.list_tickets()] == [linfen, pengpu]
        accounts = accounts_store(bridge_config, db)
        accounts.add_account(
            "chen", Role.ADMIN, password="a long admin password",
            district_of=bridge_config.district_of, by="test", now=T0,
        )  # fmt: skip
        assert [a.name for a in accounts.list_accounts()] == ["chen"]
    finally:
        db.close()
    assert differences(engine, metadata) == []

    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0002_boot_id")
    tables = set(inspect(engine).get_table_names())
    assert not NEW_TABLES & tables
    assert {"tickets", "ticket_events", "alerts_received"} <= tables

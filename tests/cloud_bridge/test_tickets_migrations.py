"""Migrations of the tickets database, on SQLite and on PostgreSQL: an empty database is built by
them; one made before migrations (``metadata.create_all``, no ``alembic_version``) is adopted and
upgraded in place with its rows intact; the result always equals the tables of
``cloud_bridge.store.schema`` (Alembic's ``compare_metadata`` finds nothing); bridges starting
at once upgrade once; a database from a newer bridge is refused; and the ``cloud-bridge db``
commands say where a database stands."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, Table, create_engine, insert, select, text
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from cloud_bridge.cli import app
from cloud_bridge.config import BridgeConfig
from cloud_bridge.errors import StorageError
from cloud_bridge.ingest.verification import (
    VerificationLimits,
    VerifiedAlert,
    alert_body_sha256,
    verify_alert,
)
from cloud_bridge.store.migrations_runner import BASELINE, MigrationResult, alembic_config
from cloud_bridge.store.schema import metadata
from cloud_bridge.store.ticket_records import Outcome
from cloud_bridge.store.tickets_db import TicketsDB
from tests.cloud_bridge import schema_before_migrations as before
from tests.cloud_bridge.signed_alerts import NOW, FakeGateway, alert_body, write_bridge_config

HEAD = "0003_accounts"
T0 = datetime(2026, 3, 4, 0, 10, tzinfo=UTC)
pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A plain engine on the test's database, to look at it from outside the bridge."""
    engine = create_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def verify(bridge_config: BridgeConfig, gateway: FakeGateway) -> Callable[..., VerifiedAlert]:
    def make(token: bytes, now: int = NOW) -> VerifiedAlert:
        result = verify_alert(
            gateway.topic, token, bridge_config.registry, now, VerificationLimits()
        )
        assert isinstance(result, VerifiedAlert), result
        return result

    return make


def differences(engine: Engine, target: MetaData) -> list[Any]:
    """What Alembic's autogenerate would change to make the database match ``target``."""
    with engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), target))


def rows(engine: Engine, table: Table) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        reflected = Table(table.name, MetaData(), autoload_with=conn)
        query = select(reflected).order_by(reflected.c.id)
        return [dict(row._mapping) for row in conn.execute(query)]


def make_database_before_migrations(engine: Engine, token: bytes) -> None:
    """A database as bridges made it before migrations: ``create_all``, then one alert."""
    with engine.begin() as conn:
        before.metadata.create_all(conn)
    add_an_accepted_alert(engine, token)


def add_an_accepted_alert(engine: Engine, token: bytes) -> None:
    """The rows an accepted alert left before revision 2: a ticket, its two history lines, and
    the alert received with its token."""
    with engine.begin() as conn:
        conn.execute(
            insert(before.tickets).values(
                id=1,
                gateway_id="gw-1",
                unit_id="0302",
                kind="overcrowding",
                state="dispatched",
                street_office="linfen-road",
                created_at=T0,
                updated_at=T0,
                alert_id="gw-1.0302.overcrowding.20260302",
                revision=0,
                legal_cap=2,
                estimate_point=9.1,
                estimate_low=7.1,
                estimate_high=11.1,
                confidence=0.97,
                summary="Water for about 9.1 people in a flat with a legal cap of 2.",
                evidence='{"days": []}',
                is_open=True,
            )
        )
        conn.execute(
            insert(before.ticket_events),
            [
                {"ticket_id": 1, "at": T0, "event": "open", "from_state": None,
                 "to_state": "new", "actor": "bridge-1", "note": "alert ..."},
                {"ticket_id": 1, "at": T0, "event": "dispatch", "from_state": "new",
                 "to_state": "dispatched", "actor": "bridge-1", "note": "routed to linfen-road"},
            ],
        )  # fmt: skip
        conn.execute(
            insert(before.alerts_received).values(
                gateway_id="gw-1",
                boot_epoch=1,
                counter=1,
                alert_id="gw-1.0302.overcrowding.20260302",
                revision=0,
                payload_sha256=hashlib.sha256(token).hexdigest(),
                received_at=T0,
                ticket_id=1,
                token=token.decode(),
            )
        )


def migrate_many(db_url: str, count: int) -> list[MigrationResult]:
    """``count`` bridges starting at the same moment, each migrating the database."""
    bridges = [TicketsDB(db_url, actor=f"bridge-{i}") for i in range(count)]
    barrier = threading.Barrier(count)
    results: list[MigrationResult] = []
    errors: list[BaseException] = []

    def start(bridge: TicketsDB) -> None:
        barrier.wait()
        try:
            results.append(bridge.migrate())
        except BaseException as err:  # reported in the test's thread
            errors.append(err)

    threads = [threading.Thread(target=start, args=(b,)) for b in bridges]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for bridge in bridges:
        bridge.close()
    assert not errors, errors
    return results


def test_an_empty_database_is_built_by_the_migrations(db_url: str, engine: Engine) -> None:
    db = TicketsDB(db_url)
    try:
        assert db.schema_state().describe() == (
            f"empty (no tickets tables yet); an upgrade creates revision {HEAD}"
        )
        result = db.migrate()
        assert result == MigrationResult(None, HEAD, stamped=False)
        assert result.describe() == f"created at revision {HEAD} (head)"
        assert db.schema_state().describe() == f"revision {HEAD} (head)"
        assert not db.migrate().changed
    finally:
        db.close()
    assert differences(engine, metadata) == []


def index_definition(engine: Engine, name: str) -> str:
    """The DDL of an index as the database keeps it (``compare_metadata`` ignores WHERE)."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            query = "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :name"
        else:
            query = "SELECT indexdef FROM pg_indexes WHERE indexname = :name"
        return str(conn.execute(text(query), {"name": name}).scalar_one())


@pytest.mark.parametrize("made_before_migrations", [False, True], ids=["new", "adopted"])
def test_one_open_ticket_per_case_stays_a_partial_unique_index(
    db_url: str, engine: Engine, gateway: FakeGateway, made_before_migrations: bool
) -> None:
    if made_before_migrations:
        make_database_before_migrations(engine, gateway.sign(counter=1))
    db = TicketsDB(db_url)
    try:
        db.migrate()
    finally:
        db.close()
    definition = index_definition(engine, "tickets_one_open_per_case")
    assert "UNIQUE INDEX" in definition
    assert definition.endswith("WHERE is_open"), definition


def test_revision_1_is_the_schema_from_before_migrations(engine: Engine) -> None:
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), BASELINE)
    assert differences(engine, before.metadata) == []


def test_downgrading_to_revision_1_gives_the_schema_from_before_migrations(
    db: TicketsDB, engine: Engine
) -> None:
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), BASELINE)
    assert differences(engine, before.metadata) == []


def test_a_database_from_before_migrations_is_upgraded_in_place(
    db_url: str, engine: Engine, gateway: FakeGateway, verify: Callable[..., VerifiedAlert]
) -> None:
    token = gateway.sign(counter=1)
    make_database_before_migrations(engine, token)
    tickets_before = rows(engine, before.tickets)
    events_before = rows(engine, before.ticket_events)
    (alert_before,) = rows(engine, before.alerts_received)

    db = TicketsDB(db_url, actor="bridge-1")
    try:
        assert db.schema_state().describe() == (
            f"created before migrations (no revision); an upgrade stamps it {BASELINE} and"
            f" brings it to {HEAD}"
        )
        result = db.migrate()
        assert result == MigrationResult(None, HEAD, stamped=True)
        assert result.describe() == (
            f"upgraded from revision {BASELINE} (stamped: created before migrations) to {HEAD}"
            " (head)"
        )
        assert differences(engine, metadata) == []
        assert rows(engine, before.tickets) == tickets_before
        assert rows(engine, before.ticket_events) == events_before
        (alert_after,) = rows(engine, before.alerts_received)
        assert alert_after == alert_before | {
            "boot_id": "",
            "alert_sha256": alert_body_sha256(alert_body("gw-1")),
        }
        ticket = db.get_ticket(1)
        assert (ticket.state, ticket.created_at, len(ticket.history)) == ("dispatched", T0, 2)
        # The stored alert, sent again now (signed again, a fresh iat): the same message.
        later = NOW + 3600
        resent = verify(gateway.sign(counter=1, iat=later), now=later)
        assert resent.token != token.decode()
        assert db.record_alert(resent, "linfen-road", T0 + timedelta(hours=1)) == Outcome(
            "duplicate", 1
        )
        # And the next one opens no second ticket for the case.
        nxt = verify(gateway.sign(alert_body(revision=1), counter=2))
        assert db.record_alert(nxt, "linfen-road", T0) == Outcome("accepted", 1)
    finally:
        db.close()


def test_a_database_at_revision_1_is_upgraded_with_its_rows(
    db_url: str, engine: Engine, gateway: FakeGateway
) -> None:
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), BASELINE)
    add_an_accepted_alert(engine, gateway.sign(counter=1))
    db = TicketsDB(db_url)
    try:
        assert db.schema_state().describe() == (
            f"revision {BASELINE}; head is {HEAD}: run `cloud-bridge db upgrade`"
        )
        result = db.migrate()
        assert result.describe() == f"upgraded from revision {BASELINE} to {HEAD} (head)"
        (row,) = rows(engine, before.alerts_received)
        assert (row["boot_id"], row["alert_sha256"]) == ("", alert_body_sha256(alert_body()))
    finally:
        db.close()
    assert differences(engine, metadata) == []


def test_old_rows_whose_token_cannot_be_read_compare_the_whole_message(
    db_url: str, engine: Engine, gateway: FakeGateway, verify: Callable[..., VerifiedAlert]
) -> None:
    token = gateway.sign(counter=1)
    make_database_before_migrations(engine, token)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alerts_received SET token = 'unreadable'"))
    db = TicketsDB(db_url)
    try:
        db.migrate()
        (row,) = rows(engine, before.alerts_received)
        assert row["alert_sha256"] is None
        assert db.record_alert(verify(token), "linfen-road", T0) == Outcome("duplicate", 1)
        resent = verify(gateway.sign(counter=1, iat=NOW + 60), now=NOW + 60)
        outcome = db.record_alert(resent, "linfen-road", T0)
        assert (outcome.status, outcome.reason) == (
            "rejected",
            "sequence reused: 1/1 already carried another alert",
        )
    finally:
        db.close()


def test_bridges_starting_at_once_build_the_schema_once(db_url: str, engine: Engine) -> None:
    results = migrate_many(db_url, 4)
    assert sorted(r.changed for r in results) == [False, False, False, True]
    assert differences(engine, metadata) == []


def test_bridges_starting_at_once_adopt_an_old_database_once(
    db_url: str, engine: Engine, gateway: FakeGateway
) -> None:
    make_database_before_migrations(engine, gateway.sign(counter=1))
    results = migrate_many(db_url, 4)
    assert sorted(r.stamped for r in results) == [False, False, False, True]
    assert len(rows(engine, before.alerts_received)) == 1
    assert differences(engine, metadata) == []


def test_a_database_upgraded_by_a_newer_bridge_is_refused(db: TicketsDB, engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099_future'"))
    assert db.schema_state().describe() == (
        f"revision 0099_future, unknown to this version of cloud-bridge (head {HEAD}): a newer"
        " version upgraded it"
    )
    with pytest.raises(StorageError, match="unknown to this version of cloud-bridge"):
        db.migrate()


def test_half_a_schema_without_a_revision_is_refused(db_url: str, engine: Engine) -> None:
    with engine.begin() as conn:
        before.tickets.create(conn)
    db = TicketsDB(db_url)
    try:
        with pytest.raises(StorageError, match="unversioned and incomplete"):
            db.migrate()
    finally:
        db.close()
    with engine.connect() as conn:  # rolled back: nothing stamped, nothing created
        assert not conn.dialect.has_table(conn, "alembic_version")
        assert not conn.dialect.has_table(conn, "alerts_received")


def test_db_current_and_db_upgrade_commands(
    tmp_path: Path, db_url: str, gateway: FakeGateway, engine: Engine
) -> None:
    make_database_before_migrations(engine, gateway.sign(counter=1))
    config = str(write_bridge_config(tmp_path, [gateway], database_url=db_url, name="db.toml"))
    runner = CliRunner()

    current = runner.invoke(app, ["db", "current", config])
    assert current.exit_code == 0, current.output
    assert "created before migrations (no revision)" in current.stdout

    upgraded = runner.invoke(app, ["db", "upgrade", config])
    assert upgraded.exit_code == 0, upgraded.output
    assert upgraded.stdout.strip().endswith(
        f"upgraded from revision {BASELINE} (stamped: created before migrations) to {HEAD} (head)"
    )
    again = runner.invoke(app, ["db", "upgrade", config])
    assert again.stdout.strip().endswith(f"already at revision {HEAD} (head)")
    current = runner.invoke(app, ["db", "current", config])
    assert current.stdout.strip().endswith(f"revision {HEAD} (head)")
    assert rows(engine, before.tickets)[0]["unit_id"] == "0302"


def test_db_upgrade_of_an_unreachable_database_fails_on_one_line(
    tmp_path: Path, gateway: FakeGateway
) -> None:
    url = "postgresql+psycopg://bridge:s3cret@127.0.0.1:1/tickets?connect_timeout=2"
    config = str(write_bridge_config(tmp_path, [gateway], database_url=url, name="db.toml"))
    result = CliRunner().invoke(app, ["db", "upgrade", config])
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "cannot upgrade tickets database postgresql+psycopg://bridge:***@"
    )
    assert len(result.stderr.strip().splitlines()) == 1
    assert "s3cret" not in result.stderr and "Traceback" not in result.stderr

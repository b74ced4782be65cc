"""Fixtures of the cloud bridge tests: a signing gateway, a loaded bridge configuration, and
a tickets database, on SQLite and (marked ``postgres``) on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from cloud_bridge.config import BridgeConfig, load_bridge_config
from cloud_bridge.store.tickets_db import TicketsDB
from tests.cloud_bridge.signed_alerts import FakeGateway, make_gateway, write_bridge_config


@pytest.fixture
def gateway(tmp_path: Path) -> FakeGateway:
    return make_gateway(tmp_path, "gw-1")


@pytest.fixture
def bridge_config(tmp_path: Path, gateway: FakeGateway) -> BridgeConfig:
    return load_bridge_config(write_bridge_config(tmp_path, [gateway]))


@pytest.fixture
def sqlite_db(bridge_config: BridgeConfig) -> Iterator[TicketsDB]:
    db = TicketsDB(bridge_config.bridge.database_url, actor="bridge-1")
    db.migrate()
    yield db
    db.close()


def _postgres_admin_dsn() -> str | None:
    for user in ("root", "postgres"):
        dsn = f"host=127.0.0.1 port=5432 dbname=test user={user} connect_timeout=3"
        try:
            with psycopg.connect(dsn):
                return dsn
        except psycopg.OperationalError:
            continue
    return None


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A database of this test's own on the PostgreSQL server at 127.0.0.1:5432, dropped after."""
    dsn = _postgres_admin_dsn()
    if dsn is None:
        pytest.skip(
            "no PostgreSQL server on 127.0.0.1:5432 (trust auth, database 'test'): the CI machine"
            " has one and runs these; start one locally to run them here"
        )
    name = f"cloud_bridge_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        user = admin.info.user
    try:
        yield f"postgresql+psycopg://{user}@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, bridge_config: BridgeConfig) -> str:
    """The tickets database URL, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return bridge_config.bridge.database_url
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def db(db_url: str) -> Iterator[TicketsDB]:
    database = TicketsDB(db_url, actor="bridge-1")
    database.migrate()
    yield database
    database.close()

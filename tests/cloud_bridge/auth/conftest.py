"""Fixtures of the auth tests: on SQLite and on PostgreSQL (``db`` of the cloud bridge tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from argon2 import PasswordHasher, Type
from fastapi import FastAPI

from cloud_bridge.auth.accounts_db import AccountsDB
from cloud_bridge.auth.stores import accounts_store
from cloud_bridge.config import BridgeConfig
from cloud_bridge.service import bootstrap_gateway_registry
from cloud_bridge.store.tickets_db import TicketsDB
from cloud_bridge.web.http_api import create_app
from simclock import SimClock
from tests.cloud_bridge.auth.web_session import (
    Office,
    WallClock,
    add_accounts,
    record_tickets,
)
from tests.cloud_bridge.signed_alerts import FakeGateway


@pytest.fixture
def wall() -> WallClock:
    return WallClock()


# argon2id with small parameters: the tests check the logic, not the cost.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1, type=Type.ID)


@pytest.fixture
def accounts(db: TicketsDB, bridge_config: BridgeConfig) -> AccountsDB:
    store = accounts_store(bridge_config, db)
    return AccountsDB(
        db.engine, db.safe_url, sessions_policy=store.sessions_policy, lockout=store.lockout,
        hasher=FAST_HASHER,
    )  # fmt: skip


@pytest.fixture
def offices(
    db: TicketsDB, bridge_config: BridgeConfig, gateway: FakeGateway, accounts: AccountsDB
) -> Office:
    linfen, pengpu = record_tickets(db, bridge_config, gateway)
    return Office(linfen, pengpu, add_accounts(accounts, bridge_config))


@pytest.fixture
def app(
    db: TicketsDB, bridge_config: BridgeConfig, accounts: AccountsDB, wall: WallClock
) -> FastAPI:
    registry = bootstrap_gateway_registry(bridge_config, db, SimClock.real())
    return create_app(db, bridge_config, accounts=accounts, wall_clock=wall.now, registry=registry)


@pytest.fixture
def new_client(app: FastAPI) -> Callable[..., httpx.AsyncClient]:
    def make(**kwargs: object) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
        return httpx.AsyncClient(transport=transport, base_url="http://bridge", **kwargs)  # type: ignore[arg-type]

    return make


@pytest.fixture
async def client(new_client: Callable[..., httpx.AsyncClient]) -> AsyncIterator[httpx.AsyncClient]:
    async with new_client() as client:
        yield client

"""Sessions expire (idle and absolute), logins are rate-limited per account and per address and
logged once without the password, passwords are rehashed when the parameters change, and API
tokens are kept hashed: on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest
from argon2 import PasswordHasher, Type
from sqlalchemy import select, update

from cloud_bridge.auth.accounts_db import AccountsDB
from cloud_bridge.auth.secret_tokens import digest
from cloud_bridge.store.schema import accounts as accounts_table
from cloud_bridge.store.schema import api_tokens, metadata
from cloud_bridge.store.tickets_db import TicketsDB
from tests.cloud_bridge.auth.conftest import FAST_HASHER
from tests.cloud_bridge.auth.web_session import PASSWORD, T0, Office, WallClock, sign_in

pytestmark = pytest.mark.timeout(120)


async def test_a_session_expires_after_the_idle_timeout(
    client: httpx.AsyncClient, offices: Office, accounts: AccountsDB, wall: WallClock
) -> None:
    await sign_in(client, "wang")
    wall.advance(accounts.sessions_policy.idle_s - 60)
    assert (await client.get("/api/v1/tickets")).status_code == 200  # a request: not idle
    wall.advance(accounts.sessions_policy.idle_s - 60)
    assert (await client.get("/api/v1/tickets")).status_code == 200
    wall.advance(accounts.sessions_policy.idle_s + 1)
    assert (await client.get("/api/v1/tickets")).status_code == 401
    page = await client.get("/")
    assert page.headers["location"] == "/login"


async def test_a_session_expires_after_the_absolute_timeout_however_busy(
    client: httpx.AsyncClient, offices: Office, accounts: AccountsDB, wall: WallClock
) -> None:
    await sign_in(client, "wang")
    step = accounts.sessions_policy.idle_s / 2
    elapsed = 0.0
    while elapsed + step < accounts.sessions_policy.absolute_s:
        wall.advance(step)
        elapsed += step
        assert (await client.get("/api/v1/tickets")).status_code == 200
    wall.advance(step)
    assert (await client.get("/api/v1/tickets")).status_code == 401


async def test_five_failures_lock_the_account_with_a_growing_lockout(
    client: httpx.AsyncClient,
    offices: Office,
    accounts: AccountsDB,
    wall: WallClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "cloud_bridge.auth")
    for _ in range(4):
        assert (await sign_in(client, "wang", "wrong password!")).status_code == 401
    assert (await sign_in(client, "wang", "wrong password!")).status_code == 401  # the 5th locks
    locked = await sign_in(client, "wang")  # even the right password
    assert locked.status_code == 429
    assert "qzw_session" not in locked.headers.get("set-cookie", "")
    wall.advance(accounts.lockout.base_s + 1)
    assert (await sign_in(client, "wang", "wrong password!")).status_code == 401  # 6th: 2 min
    wall.advance(accounts.lockout.base_s + 1)
    assert (await sign_in(client, "wang")).status_code == 429
    wall.advance(accounts.lockout.base_s + 1)
    assert (await sign_in(client, "wang")).status_code == 303
    failures = [r for r in caplog.records if "login failed" in r.getMessage()]
    assert len(failures) == 6  # once per failure
    assert all("wrong password" not in r.getMessage() for r in caplog.records)
    assert all("'wang'" in r.getMessage() and "203.0.113.7" in r.getMessage() for r in failures)


async def test_failures_from_one_address_lock_that_address_for_every_account(
    new_client: Callable[..., httpx.AsyncClient], offices: Office
) -> None:
    async with new_client() as client:
        for name in ("a1", "a2", "a3", "a4", "a5"):
            assert (await sign_in(client, name, "guess guess guess")).status_code == 401
        assert (await sign_in(client, "li")).status_code == 429


def test_the_password_is_rehashed_when_the_parameters_change(
    db: TicketsDB, accounts: AccountsDB, offices: Office, wall: WallClock
) -> None:
    old = PasswordHasher(time_cost=1, memory_cost=4 * 1024, parallelism=1, type=Type.ID)
    with db.engine.begin() as conn:
        conn.execute(
            update(accounts_table)
            .where(accounts_table.c.name == "wang")
            .values(password_hash=old.hash(PASSWORD))
        )
    accounts.login("wang", PASSWORD, "198.51.100.1", wall.now())
    with db.engine.connect() as conn:
        stored = conn.execute(
            select(accounts_table.c.password_hash).where(accounts_table.c.name == "wang")
        ).scalar_one()
    assert stored.startswith("$argon2id$")
    assert not FAST_HASHER.check_needs_rehash(stored)
    assert FAST_HASHER.verify(stored, PASSWORD)


def test_the_database_never_holds_a_session_or_api_token(
    db: TicketsDB, accounts: AccountsDB, offices: Office, wall: WallClock
) -> None:
    session, _identity = accounts.login("wang", PASSWORD, "198.51.100.1", wall.now())
    token = accounts.create_token("city", "platform", by="test", now=T0)
    assert token.startswith("qzw_")
    everything = []
    with db.engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)):
                everything.extend(str(v) for v in row)
        hashes = set(conn.execute(select(api_tokens.c.token_sha256)).scalars())
    assert not any(token in v or session in v for v in everything)
    assert not any(PASSWORD in v for v in everything)
    assert digest(token) in hashes
    # Listed by its prefix only; recognisable, useless.
    listed = {t.prefix for t in accounts.list_tokens()}
    assert token.split("_")[1] in listed


async def test_a_revoked_token_is_refused_on_its_next_request(
    client: httpx.AsyncClient, offices: Office, accounts: AccountsDB
) -> None:
    headers = {"Authorization": f"Bearer {offices.tokens['city']}"}
    assert (await client.get("/api/v1/tickets", headers=headers)).status_code == 200
    accounts.revoke_token(offices.tokens["city"].split("_")[1], by="test", now=T0)
    assert (await client.get("/api/v1/tickets", headers=headers)).status_code == 401

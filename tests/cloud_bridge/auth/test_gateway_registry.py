"""The gateway registry in the database, on SQLite and PostgreSQL: the TOML file bootstraps it
(the database wins afterwards), a revoked key is refused by the next alert without a restart
(at once in this process, after the cache's few seconds in another), a rotation accepts both
keys until its deadline, and every change is in the audit log."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from joserfc.jwk import OKPKey
from sqlalchemy import select

from cloud_bridge.auth.audit import read_audit
from cloud_bridge.auth.gateway_registry import DbGatewayRegistry
from cloud_bridge.auth.stores import gateways_store
from cloud_bridge.config import BridgeConfig
from cloud_bridge.ingest.alert_ingest import AlertIngest
from cloud_bridge.ingest.verification import (
    RejectedMessage,
    VerificationLimits,
    VerifiedAlert,
    verify_alert,
)
from cloud_bridge.service import bootstrap_gateway_registry
from cloud_bridge.store.schema import gateways
from cloud_bridge.store.tickets_db import TicketsDB
from cloud_bridge.web.http_api import create_app
from simclock import SimClock
from tests.cloud_bridge.auth.web_session import Office
from tests.cloud_bridge.signed_alerts import NOW, FakeGateway, make_gateway

pytestmark = pytest.mark.timeout(120)

T = datetime.fromtimestamp(NOW, UTC)


class Ticking:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> SimClock:
    return SimClock(start=T, anchor=time.time(), scale=1e-9)  # stands (nearly) still at T


@pytest.fixture
def registry(bridge_config: BridgeConfig, db: TicketsDB, clock: SimClock) -> DbGatewayRegistry:
    return bootstrap_gateway_registry(bridge_config, db, clock)


def verdict(
    registry: DbGatewayRegistry, token: bytes, gateway: FakeGateway, at: datetime = T
) -> VerifiedAlert | RejectedMessage:
    return verify_alert(gateway.topic, token, registry, at.timestamp(), VerificationLimits())


def public_key(gateway: FakeGateway) -> OKPKey:
    return OKPKey.import_key(gateway.public_key.read_bytes())


async def test_revoking_a_key_refuses_the_next_alert_without_a_restart(
    bridge_config: BridgeConfig, db: TicketsDB, clock: SimClock, registry: DbGatewayRegistry,
    gateway: FakeGateway,
) -> None:  # fmt: skip
    ingest = AlertIngest(bridge_config, db, clock, registry=registry)
    first = await ingest.process(gateway.topic, gateway.sign())
    assert first is not None and first.body["status"] == "accepted"
    # Another bridge instance, with its own cache of the registry.
    ticking = Ticking()
    other = DbGatewayRegistry(registry.store, clock.now, ttl_s=5.0, monotonic=ticking)
    assert isinstance(verdict(other, gateway.sign(), gateway), VerifiedAlert)

    registry.store.revoke("gw-1", kid=gateway.kid, by="admin:chen", now=clock.now())
    registry.invalidate()  # what the API does after a change in this process
    refused = await ingest.process(gateway.topic, gateway.sign())
    assert refused is None  # unverified: not even acknowledged
    assert ingest.refusals.counts["kid"] == 1
    # The other instance still has it cached, for at most its ttl.
    ticking.t = 4.9
    assert isinstance(verdict(other, gateway.sign(), gateway), VerifiedAlert)
    ticking.t = 5.0
    late = verdict(other, gateway.sign(), gateway)
    assert isinstance(late, RejectedMessage) and late.kind == "kid"


def test_a_rotation_accepts_both_keys_until_its_deadline(
    tmp_path: Path, registry: DbGatewayRegistry, gateway: FakeGateway
) -> None:
    new = make_gateway(tmp_path / "new", "gw-1")
    assert new.kid != gateway.kid
    deadline = T + timedelta(hours=1)
    registry.store.rotate("gw-1", public_key(new), old_valid_until=deadline, by="admin:chen", now=T)
    registry.invalidate()
    at = T + timedelta(minutes=59)
    rotated = DbGatewayRegistry(registry.store, lambda: at)
    assert isinstance(verdict(rotated, gateway.sign(iat=NOW), gateway, at), VerifiedAlert)
    assert isinstance(verdict(rotated, new.sign(iat=NOW), new, at), VerifiedAlert)
    after = deadline
    ended = DbGatewayRegistry(registry.store, lambda: after)
    old = verdict(ended, gateway.sign(iat=NOW), gateway, after)
    assert isinstance(old, RejectedMessage) and old.kind == "kid"
    assert isinstance(verdict(ended, new.sign(iat=NOW), new, after), VerifiedAlert)


def test_the_toml_file_bootstraps_and_then_the_database_wins(
    bridge_config: BridgeConfig, db: TicketsDB, clock: SimClock, registry: DbGatewayRegistry,
    gateway: FakeGateway,
) -> None:  # fmt: skip
    assert set(registry) == {"gw-1"}
    registry.store.revoke("gw-1", by="admin:chen", now=clock.now())
    # A restart imports nothing for gw-1: the TOML entry does not bring the key back.
    again = bootstrap_gateway_registry(bridge_config, db, clock)
    assert again["gw-1"].keys == {}
    with db.engine.connect() as conn:
        assert conn.execute(select(gateways.c.id)).scalars().all() == ["gw-1"]


def test_every_change_is_in_the_audit_log(
    tmp_path: Path, db: TicketsDB, registry: DbGatewayRegistry, gateway: FakeGateway,
    bridge_config: BridgeConfig,
) -> None:  # fmt: skip
    new = make_gateway(tmp_path / "new", "gw-1")
    store = gateways_store(db)
    store.rotate("gw-1", public_key(new), old_valid_until=T + timedelta(days=1), by="admin:chen",
                 now=T)  # fmt: skip
    store.revoke("gw-1", kid=gateway.kid, by="admin:chen", now=T + timedelta(minutes=5))
    with db.engine.connect() as conn:
        entries = read_audit(conn, "gateway:gw-1")
    assert [(e.actor, e.action) for e in entries] == [
        ("bootstrap:toml", "gateway.add"),
        ("admin:chen", "gateway.rotate"),
        ("admin:chen", "gateway.revoke"),
    ]
    revoke = entries[-1]
    assert revoke.before is not None and revoke.after is not None
    before = {k["kid"]: k["revoked_at"] for k in revoke.before["keys"]}  # type: ignore[index]
    after = {k["kid"]: k["revoked_at"] for k in revoke.after["keys"]}  # type: ignore[index]
    assert before[gateway.kid] is None and after[gateway.kid] is not None
    assert after[new.kid] is None


async def test_an_admin_revokes_through_the_api_and_ingest_refuses_at_once(
    bridge_config: BridgeConfig, db: TicketsDB, clock: SimClock, registry: DbGatewayRegistry,
    gateway: FakeGateway, offices: Office,
) -> None:  # fmt: skip
    app: FastAPI = create_app(db, bridge_config, clock=clock, registry=registry)
    ingest = AlertIngest(bridge_config, db, clock, registry=registry)
    assert (await ingest.process(gateway.topic, gateway.sign())) is not None
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bridge") as client:
        li = {"Authorization": f"Bearer {offices.tokens['li']}"}
        denied = await client.post("/api/v1/gateways/gw-1/revoke", json={}, headers=li)
        assert denied.status_code == 403
        chen = {"Authorization": f"Bearer {offices.tokens['chen']}"}
        done = await client.post("/api/v1/gateways/gw-1/revoke", json={}, headers=chen)
        assert done.status_code == 200, done.text
        assert all(k["revoked_at"] for k in done.json()["keys"])
    assert (await ingest.process(gateway.topic, gateway.sign())) is None
    assert ingest.refusals.counts["kid"] == 1

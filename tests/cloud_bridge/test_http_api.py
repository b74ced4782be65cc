"""The HTTP API and web UI over a real SQLite tickets database, called in-process through
httpx's ASGI transport."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from cloud_bridge.auth.stores import accounts_store
from cloud_bridge.cases.roles import Role
from cloud_bridge.config import BridgeConfig
from cloud_bridge.ingest.verification import VerificationLimits, VerifiedAlert, verify_alert
from cloud_bridge.store.tickets_db import TicketsDB
from cloud_bridge.web.http_api import create_app
from tests.cloud_bridge.signed_alerts import NOW, FakeGateway, alert_body

T0 = datetime(2026, 3, 4, 0, 10, tzinfo=UTC)

TICKET_FIELDS = {
    "id",
    "gateway_id",
    "unit_id",
    "kind",
    "state",
    "is_open",
    "street_office",
    "created_at",
    "updated_at",
    "alert_id",
    "revision",
    "legal_cap",
    "estimated_occupancy",
    "confidence",
    "summary",
}


@pytest.fixture
def admin_token(sqlite_db: TicketsDB, bridge_config: BridgeConfig) -> str:
    """An API token of a city-wide admin (tests/trust/ covers the other roles and scopes)."""
    accounts = accounts_store(bridge_config, sqlite_db)
    accounts.add_account(
        "chen",
        Role.ADMIN,
        password="a long admin password",
        district_of=bridge_config.district_of,
        by="test",
        now=T0,
    )
    return accounts.create_token("chen", "tests", by="test", now=T0)


@pytest.fixture
async def client(
    sqlite_db: TicketsDB, bridge_config: BridgeConfig, admin_token: str
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(sqlite_db, bridge_config, mqtt_connected=lambda: True)
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {admin_token}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://bridge", headers=headers
    ) as client:
        yield client


def record(
    db: TicketsDB, config: BridgeConfig, gateway: FakeGateway, body: dict[str, object]
) -> int:
    verdict = verify_alert(
        gateway.topic, gateway.sign(body), config.registry, NOW, VerificationLimits()
    )
    assert isinstance(verdict, VerifiedAlert)
    ticket_id = db.record_alert(verdict, "linfen-road", T0).ticket_id
    assert ticket_id is not None
    return ticket_id


@pytest.fixture
def ticket_id(sqlite_db: TicketsDB, bridge_config: BridgeConfig, gateway: FakeGateway) -> int:
    return record(sqlite_db, bridge_config, gateway, alert_body())


async def test_list_tickets(client: httpx.AsyncClient, ticket_id: int) -> None:
    response = await client.get("/api/v1/tickets")
    assert response.status_code == 200
    (ticket,) = response.json()
    assert set(ticket) == TICKET_FIELDS
    assert ticket["id"] == ticket_id
    assert ticket["state"] == "dispatched"
    assert ticket["street_office"] == "linfen-road"
    assert ticket["created_at"] == "2026-03-04T00:10:00+00:00"
    assert ticket["estimated_occupancy"] == {"point": 9.1, "low": 7.1, "high": 11.1}
    assert (await client.get("/api/v1/tickets", params={"street_office": "pengpu"})).json() == []
    assert len((await client.get("/api/v1/tickets", params={"open": "true"})).json()) == 1


async def test_one_ticket_with_evidence_and_events(
    client: httpx.AsyncClient, ticket_id: int
) -> None:
    ticket = (await client.get(f"/api/v1/tickets/{ticket_id}")).json()
    assert set(ticket) == TICKET_FIELDS | {"evidence", "events"}
    assert ticket["evidence"]["signals"] == ["electricity", "water"]
    assert [e["event"] for e in ticket["events"]] == ["open", "dispatch"]
    assert ticket["events"][1] == {
        "at": "2026-03-04T00:10:00+00:00",
        "event": "dispatch",
        "from_state": "new",
        "to_state": "dispatched",
        "actor": "bridge-1",
        "note": "routed to street office linfen-road",
    }


async def test_missing_ticket_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/tickets/42")).status_code == 404
    assert (await client.get("/api/v1/tickets/42")).json() == {"detail": "no ticket #42"}
    response = await client.post("/api/v1/tickets/42/events", json={"event": "visit"})
    assert response.status_code == 404
    assert (await client.get("/tickets/42")).status_code == 404


async def test_post_event_moves_the_ticket(client: httpx.AsyncClient, ticket_id: int) -> None:
    response = await client.post(
        f"/api/v1/tickets/{ticket_id}/events",
        json={"event": "visit", "note": "nine beds in one room"},
    )
    assert response.status_code == 200
    ticket = response.json()
    assert ticket["state"] == "visited"
    assert ticket["events"][-1]["actor"] == "admin:chen"
    assert ticket["events"][-1]["note"] == "nine beds in one room"


async def test_invalid_transition_is_409_with_the_reason(
    client: httpx.AsyncClient, ticket_id: int
) -> None:
    response = await client.post(f"/api/v1/tickets/{ticket_id}/events", json={"event": "close"})
    assert response.status_code == 409
    assert response.json()["detail"] == (
        "cannot apply 'close' to a ticket in state 'dispatched' (allowed: visit, dismiss)"
    )


@pytest.mark.parametrize(
    "body",
    [
        {"event": "visit", "actor": "wang"},  # who did it is the caller, never the body
        {"event": "fly"},
        {"event": "visit", "actor": ""},
        {"event": "visit", "extra": 1},
        ["visit"],
    ],
)
async def test_bad_body_is_422(client: httpx.AsyncClient, ticket_id: int, body: object) -> None:
    response = await client.post(f"/api/v1/tickets/{ticket_id}/events", json=body)
    assert response.status_code == 422


async def test_healthz_reports_database_and_broker(
    sqlite_db: TicketsDB, bridge_config: BridgeConfig, tmp_path: Path
) -> None:
    app = create_app(sqlite_db, bridge_config, mqtt_connected=lambda: False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b") as c:
        response = await c.get("/healthz")
    assert (response.status_code, response.json()["status"]) == (200, "degraded")
    assert response.json()["mqtt"] == "disconnected"
    broken = TicketsDB(f"sqlite:///{tmp_path}/no-such-dir/t.sqlite")
    app = create_app(broken, bridge_config)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b") as c:
        health = await c.get("/healthz")
        tickets = await c.get(
            "/api/v1/tickets", headers={"Authorization": f"Bearer qzw_00000000_{'x' * 43}"}
        )
    broken.close()
    assert (health.status_code, health.json()["mqtt"]) == (503, "n/a")
    assert "unable to open database file" in health.json()["database"]
    assert tickets.status_code == 503


async def test_healthz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {
        "status": "ok",
        "instance": "bridge-1",
        "database": "ok",
        "mqtt": "connected",
    }


async def test_openapi_describes_the_api(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert {"/api/v1/tickets", "/api/v1/tickets/{ticket_id}"} <= set(paths)
    assert "/api/v1/tickets/{ticket_id}/events" in paths


async def test_pages_list_and_show_tickets(client: httpx.AsyncClient, ticket_id: int) -> None:
    index = await client.get("/")
    assert index.status_code == 200
    assert '<meta http-equiv="refresh" content="5">' in index.text
    assert f'href="/tickets/{ticket_id}"' in index.text
    assert "Linfen Road Street Office" in index.text
    page = await client.get(f"/tickets/{ticket_id}")
    assert page.status_code == 200
    assert "Lane 3, No. 1 Linfen Road" in page.text
    assert "2026-03-03" in page.text  # a day of evidence
    assert "routed to street office linfen-road" in page.text  # history
    assert "visit, dismiss" in page.text  # next steps


async def test_empty_list_page(client: httpx.AsyncClient) -> None:
    assert "No tickets yet" in (await client.get("/")).text


async def test_everything_on_the_pages_is_escaped(
    client: httpx.AsyncClient,
    sqlite_db: TicketsDB,
    bridge_config: BridgeConfig,
    gateway: FakeGateway,
) -> None:
    body = alert_body()
    body["evidence"]["summary"] = "<script>alert('x')</script>"
    ticket_id = record(sqlite_db, bridge_config, gateway, body)
    await client.post(
        f"/api/v1/tickets/{ticket_id}/events",
        json={"event": "visit", "note": "<img src=x onerror=1>"},
    )
    page = (await client.get(f"/tickets/{ticket_id}")).text
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<img" not in page and "&lt;img" in page

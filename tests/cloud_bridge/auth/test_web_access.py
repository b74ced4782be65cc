"""Who may read and change which tickets, through the real app on SQLite and PostgreSQL:
scopes (another office's ticket is 404, as if it did not exist), roles (403), CSRF (403), the
actor recorded, and the pages' sign-in."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from cloud_bridge.auth.accounts_db import AccountsDB
from tests.cloud_bridge.auth.web_session import T0, Office, session_csrf, sign_in

pytestmark = pytest.mark.timeout(120)


def bearer(offices: Office, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {offices.tokens[name]}"}


async def test_an_inspector_neither_reads_nor_changes_another_offices_tickets(
    client: httpx.AsyncClient, offices: Office
) -> None:
    zhao = bearer(offices, "zhao")  # inspector of pengpu
    listed = (await client.get("/api/v1/tickets", headers=zhao)).json()
    assert [t["id"] for t in listed] == [offices.pengpu]
    # Even asking for the other office by name shows nothing of it.
    by_name = await client.get("/api/v1/tickets?street_office=linfen-road", headers=zhao)
    assert by_name.json() == []
    other = f"/api/v1/tickets/{offices.linfen}"
    assert (await client.get(other, headers=zhao)).status_code == 404
    assert (await client.get(other, headers=zhao)).json() == {
        "detail": f"no ticket #{offices.linfen}"
    }  # the same answer as for a ticket that does not exist
    change = await client.post(f"{other}/events", json={"event": "visit"}, headers=zhao)
    assert change.status_code == 404
    assert (await client.get(f"/tickets/{offices.linfen}", headers=zhao)).status_code == 404
    # Nothing changed.
    admin = bearer(offices, "chen")
    assert (await client.get(other, headers=admin)).json()["state"] == "dispatched"
    assert (await client.get(f"/api/v1/tickets/{offices.pengpu}", headers=zhao)).status_code == 200


async def test_a_city_wide_admin_sees_every_office(
    client: httpx.AsyncClient, offices: Office
) -> None:
    listed = (await client.get("/api/v1/tickets", headers=bearer(offices, "chen"))).json()
    assert sorted(t["id"] for t in listed) == sorted([offices.linfen, offices.pengpu])


@pytest.mark.parametrize(
    ("name", "event"),
    [
        ("city", "visit"),  # api_client: read-only
        ("li", "visit"),  # a dispatcher does not record visits
        ("wang", "reopen"),  # an inspector does not reopen cases
    ],
)
async def test_each_roles_forbidden_action_is_403(
    client: httpx.AsyncClient, offices: Office, name: str, event: str
) -> None:
    response = await client.post(
        f"/api/v1/tickets/{offices.linfen}/events",
        json={"event": event},
        headers=bearer(offices, name),
    )
    assert response.status_code == 403, response.text


async def test_the_gateway_registry_api_is_for_admins_only(
    client: httpx.AsyncClient, offices: Office
) -> None:
    for name in ("li", "wang", "city"):
        response = await client.get("/api/v1/gateways", headers=bearer(offices, name))
        assert response.status_code == 403, (name, response.status_code)
    listed = await client.get("/api/v1/gateways", headers=bearer(offices, "chen"))
    assert [g["id"] for g in listed.json()] == ["gw-1"]


async def test_no_credentials_is_401_and_pages_redirect_to_login(
    client: httpx.AsyncClient, offices: Office
) -> None:
    assert (await client.get("/api/v1/tickets")).status_code == 401
    assert (
        await client.get("/api/v1/tickets", headers={"Authorization": "Bearer nope"})
    ).status_code == 401
    page = await client.get("/")
    assert (page.status_code, page.headers["location"]) == (303, "/login")
    assert (await client.get("/healthz")).status_code == 200


async def test_the_actor_recorded_is_the_caller_and_a_body_actor_is_refused(
    client: httpx.AsyncClient, offices: Office
) -> None:
    url = f"/api/v1/tickets/{offices.linfen}/events"
    wang = bearer(offices, "wang")
    forged = await client.post(url, json={"event": "visit", "actor": "chen"}, headers=wang)
    assert forged.status_code == 422
    assert "authenticated account" in forged.text
    done = await client.post(url, json={"event": "visit", "note": "nine beds"}, headers=wang)
    assert done.status_code == 200
    assert done.json()["events"][-1]["actor"] == "inspector:wang"


async def test_a_session_needs_its_csrf_token_on_every_change(
    client: httpx.AsyncClient, offices: Office
) -> None:
    signed_in = await sign_in(client, "wang")
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/")
    cookie = signed_in.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    url = f"/api/v1/tickets/{offices.linfen}/events"
    assert (await client.post(url, json={"event": "visit"})).status_code == 403
    wrong = {"X-CSRF-Token": "not-the-token"}
    assert (await client.post(url, json={"event": "visit"}, headers=wrong)).status_code == 403
    csrf = await session_csrf(client)
    right = await client.post(url, json={"event": "visit"}, headers={"X-CSRF-Token": csrf})
    assert right.status_code == 200
    assert right.json()["events"][-1]["actor"] == "inspector:wang"
    # Logout is a form like any other: without the token it is refused.
    assert (await client.post("/logout", data={})).status_code == 403
    out = await client.post("/logout", data={"csrf_token": csrf})
    assert (out.status_code, out.headers["location"]) == (303, "/login")
    assert (await client.get("/api/v1/tickets")).status_code == 401


async def test_the_login_form_is_csrf_protected(client: httpx.AsyncClient, offices: Office) -> None:
    await client.get("/login")  # sets the login CSRF cookie
    response = await client.post(
        "/login", data={"name": "wang", "password": "correct horse battery staple"}
    )
    assert response.status_code == 403
    assert "qzw_session" not in response.headers.get("set-cookie", "")


async def test_a_disabled_account_is_refused_at_once(
    client: httpx.AsyncClient, offices: Office, accounts: AccountsDB
) -> None:
    await sign_in(client, "wang")
    assert (await client.get("/api/v1/tickets")).status_code == 200
    accounts.disable_account("wang", by="test", now=T0)
    assert (await client.get("/api/v1/tickets")).status_code == 401
    assert (await client.get("/api/v1/tickets", headers=bearer(offices, "wang"))).status_code == 401


async def test_login_redirects_only_to_local_paths(
    new_client: Callable[..., httpx.AsyncClient], offices: Office
) -> None:
    async with new_client() as client:
        form = await client.get("/login?next=//evil.example/")
        assert 'value="/"' in form.text

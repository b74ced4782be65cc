"""Test material for the auth tests: a movable wall clock, a bridge app with accounts of every
role in two street offices, and a browser-like sign-in through the real login form."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from cloud_bridge.auth.accounts_db import AccountsDB
from cloud_bridge.cases.roles import Role
from cloud_bridge.config import BridgeConfig
from cloud_bridge.ingest.verification import VerificationLimits, VerifiedAlert, verify_alert
from cloud_bridge.store.tickets_db import TicketsDB
from tests.cloud_bridge.signed_alerts import NOW, FakeGateway, alert_body

T0 = datetime(2026, 3, 4, 0, 10, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')

# name, role, street office (None: city-wide)
ACCOUNTS = (
    ("chen", Role.ADMIN, None),
    ("li", Role.DISPATCHER, "linfen-road"),
    ("wang", Role.INSPECTOR, "linfen-road"),
    ("zhao", Role.INSPECTOR, "pengpu"),
    ("city", Role.API_CLIENT, "linfen-road"),
)


@dataclass
class WallClock:
    at: datetime = T0

    def now(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


@dataclass
class Office:
    """One ticket of each street office."""

    linfen: int
    pengpu: int
    tokens: dict[str, str] = field(default_factory=dict)


def add_accounts(accounts: AccountsDB, config: BridgeConfig) -> dict[str, str]:
    """Every account of :data:`ACCOUNTS`, and an API token of each, by name."""
    tokens = {}
    for name, role, office in ACCOUNTS:
        password = None if role is Role.API_CLIENT else PASSWORD
        accounts.add_account(
            name, role, password=password, street_office=office,
            district_of=config.district_of, by="test", now=T0,
        )  # fmt: skip
        tokens[name] = accounts.create_token(name, "tests", by="test", now=T0)
    return tokens


def record_tickets(db: TicketsDB, config: BridgeConfig, gateway: FakeGateway) -> tuple[int, int]:
    """A ticket routed to linfen-road and one routed to pengpu."""
    ids = []
    for unit, office in (("0302", "linfen-road"), ("0501", "pengpu")):
        token = gateway.sign(alert_body(unit_id=unit))
        verdict = verify_alert(gateway.topic, token, config.registry, NOW, VerificationLimits())
        assert isinstance(verdict, VerifiedAlert)
        ticket_id = db.record_alert(verdict, office, T0).ticket_id
        assert ticket_id is not None
        ids.append(ticket_id)
    return ids[0], ids[1]


async def sign_in(client: httpx.AsyncClient, name: str, password: str = PASSWORD) -> httpx.Response:
    """Fill in and send the login form as a browser would (its CSRF cookie and field)."""
    form = await client.get("/login")
    match = CSRF_INPUT.search(form.text)
    assert match is not None
    return await client.post(
        "/login", data={"name": name, "password": password, "csrf_token": match.group(1)}
    )


async def session_csrf(client: httpx.AsyncClient) -> str:
    """The signed-in session's CSRF token, from the page's sign-out form."""
    page = await client.get("/")
    match = CSRF_INPUT.search(page.text)
    assert match is not None, page.text
    return match.group(1)

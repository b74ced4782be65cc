"""The HTTP side of the bridge: a JSON API (with OpenAPI at ``/docs``) and a small web UI.

API (``/api/v1``): list tickets, read one with its evidence and history, post a lifecycle event
(``409`` with the reason when the lifecycle does not allow it). UI: ``/`` lists the tickets and
refreshes itself; ``/tickets/{id}`` is the unit's case file; ``/login`` and ``/logout``
(:mod:`cloud_bridge.web.login_pages`). Pages are rendered server-side with Jinja2, every value
escaped. Handlers are plain functions: FastAPI runs them in worker threads, so database calls
never block the event loop.

Everything but ``/healthz`` needs an identity (:mod:`cloud_bridge.auth.web_identity`): a
session cookie (pages redirect to ``/login``) or an API token. A caller sees only the tickets of
its scope; a ticket outside it is ``404``, as if it did not exist. A lifecycle event is recorded
with the caller's :class:`~cloud_bridge.cases.roles.Actor` as who did it; a body that names an
``actor`` is refused (``422``), and a role that may not apply the event gets ``403``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydantic import BaseModel, ConfigDict, Field, model_validator

from cloud_bridge.auth.accounts_db import AccountsDB
from cloud_bridge.auth.gateway_registry import DbGatewayRegistry
from cloud_bridge.auth.identity import Identity, may_apply
from cloud_bridge.auth.stores import accounts_store
from cloud_bridge.auth.web_identity import (
    AuthContext,
    Authenticated,
    optional_identity,
    require_scope,
)
from cloud_bridge.config import BridgeConfig
from cloud_bridge.errors import InvalidTransition, StorageError, TicketConflict, TicketNotFound
from cloud_bridge.store.ticket_records import Ticket
from cloud_bridge.store.tickets_db import TicketsDB
from cloud_bridge.ticket_states import TicketEvent, allowed_events
from cloud_bridge.web import gateways_api, login_pages
from simclock import SimClock

TEMPLATES = Path(__file__).resolve().parent / "templates"
PageIdentity = Annotated[Identity | None, Depends(optional_identity)]
REFRESH_S = 5


class Estimate(BaseModel):
    point: float
    low: float
    high: float


class TicketOut(BaseModel):
    id: int
    gateway_id: str
    unit_id: str
    kind: str
    state: str
    is_open: bool
    street_office: str
    created_at: str = Field(description="ISO 8601, UTC")
    updated_at: str = Field(description="ISO 8601, UTC")
    alert_id: str
    revision: int
    legal_cap: int
    estimated_occupancy: Estimate
    confidence: float
    summary: str


class HistoryOut(BaseModel):
    at: str
    event: str
    from_state: str | None
    to_state: str
    actor: str
    note: str


class TicketDetailOut(TicketOut):
    evidence: dict[str, Any]
    events: list[HistoryOut]


class EventIn(BaseModel):
    """A lifecycle step. Who did it is the authenticated caller, never a field of the body."""

    model_config = ConfigDict(extra="forbid")

    event: TicketEvent
    note: str = Field(default="", max_length=4000)

    @model_validator(mode="before")
    @classmethod
    def _no_actor(cls, data: Any) -> Any:
        if isinstance(data, dict) and "actor" in data:
            raise ValueError(
                "actor: not accepted; the step is recorded as the authenticated account"
            )
        return data


def create_app(
    db: TicketsDB,
    config: BridgeConfig,
    *,
    clock: SimClock | None = None,
    mqtt_connected: Callable[[], bool] | None = None,
    accounts: AccountsDB | None = None,
    registry: DbGatewayRegistry | None = None,
    wall_clock: Callable[[], datetime] | None = None,
) -> FastAPI:
    """The bridge's web application over ``db``. ``clock`` stamps lifecycle events (the
    wall clock when omitted); ``mqtt_connected`` feeds ``/healthz``; ``accounts`` (built from
    ``config`` over ``db`` when omitted) authenticates callers, with sessions expiring by
    ``wall_clock``; ``registry``, when given, serves the admin gateway API."""
    clock = clock or SimClock.real()
    templates = _template_environment(config)
    app = FastAPI(
        title="qunzu-watch cloud bridge",
        version="1",
        description="Tickets opened from verified building alerts, and their lifecycle.",
    )
    app.state.auth = AuthContext(
        accounts or accounts_store(config, db),
        config.district_of,
        wall_clock or SimClock.real().now,
        config.auth.always_secure_cookies,
    )
    app.include_router(login_pages.router(templates))
    if registry is not None:
        app.include_router(gateways_api.router(registry, config, clock))

    def in_scope(request: Request, identity: Identity, ticket_id: int) -> Ticket:
        try:
            ticket = db.get_ticket(ticket_id)
        except TicketNotFound as err:
            raise HTTPException(404, str(err)) from err
        try:
            require_scope(request, identity, ticket.street_office)
        except HTTPException as err:
            raise HTTPException(404, str(TicketNotFound(ticket_id))) from err
        return ticket

    @app.exception_handler(StorageError)
    def storage_unavailable(_request: Request, err: StorageError) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=503)

    @app.get("/api/v1/tickets", response_model=list[TicketOut])
    def list_tickets(
        identity: Authenticated,
        street_office: Annotated[str | None, Query(description="only this office's")] = None,
        open_only: Annotated[bool, Query(alias="open", description="only open tickets")] = False,
    ) -> list[dict[str, Any]]:
        """The tickets inside the caller's scope."""
        within = identity.scope.offices(config.district_of)
        found = db.list_tickets(
            street_office=street_office, open_only=open_only, within_offices=within
        )
        return [t.as_json() for t in found]

    @app.get("/api/v1/tickets/{ticket_id}", response_model=TicketDetailOut)
    def get_ticket(ticket_id: int, request: Request, identity: Authenticated) -> dict[str, Any]:
        return in_scope(request, identity, ticket_id).detail_json()

    @app.post(
        "/api/v1/tickets/{ticket_id}/events",
        response_model=TicketDetailOut,
        responses={
            403: {"description": "the caller's role may not apply this event"},
            404: {"description": "no such ticket (or not in the caller's scope)"},
            409: {"description": "not allowed in the ticket's state"},
        },
    )
    def post_event(
        ticket_id: int, body: EventIn, request: Request, identity: Authenticated
    ) -> dict[str, Any]:
        in_scope(request, identity, ticket_id)
        if not may_apply(identity.role, body.event):
            raise HTTPException(403, f"{identity.role} may not '{body.event}'")
        actor = str(identity.actor)
        try:
            ticket = db.apply_event(ticket_id, body.event, actor, body.note, clock.now())
        except TicketNotFound as err:
            raise HTTPException(404, str(err)) from err
        except (InvalidTransition, TicketConflict) as err:
            raise HTTPException(409, str(err)) from err
        return ticket.detail_json()

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        """``ok``, or ``degraded`` while the broker is unreachable; ``503`` while the database
        does not answer (the bridge can then neither record alerts nor serve tickets)."""
        try:
            db.check()
            database = "ok"
        except StorageError as err:
            database = str(err)
        mqtt = "n/a"
        if mqtt_connected is not None:
            mqtt = "connected" if mqtt_connected() else "disconnected"
        healthy = database == "ok" and mqtt != "disconnected"
        body = {
            "status": "ok" if healthy else "degraded",
            "instance": config.bridge.instance,
            "database": database,
            "mqtt": mqtt,
        }
        return JSONResponse(body, status_code=200 if database == "ok" else 503)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def ticket_list_page(identity: PageIdentity) -> Response:
        if identity is None:
            return RedirectResponse("/login", status_code=303)
        within = identity.scope.offices(config.district_of)
        page = templates.get_template("tickets.html").render(
            tickets=db.list_tickets(within_offices=within), refresh_s=REFRESH_S, identity=identity
        )
        return HTMLResponse(page)

    @app.get("/tickets/{ticket_id}", response_class=HTMLResponse, include_in_schema=False)
    def ticket_page(ticket_id: int, request: Request, identity: PageIdentity) -> Response:
        if identity is None:
            return RedirectResponse(f"/login?next=/tickets/{ticket_id}", status_code=303)
        try:
            ticket = in_scope(request, identity, ticket_id)
        except HTTPException as err:
            page = templates.get_template("not_found.html").render(
                message=str(err.detail), identity=identity
            )
            return HTMLResponse(page, status_code=404)
        gateway = next((g for g in config.gateways if g.id == ticket.gateway_id), None)
        page = templates.get_template("ticket.html").render(
            ticket=ticket,
            address=gateway.address if gateway else None,
            next_events=[str(e) for e in allowed_events(ticket.state)],
            identity=identity,
        )
        return HTMLResponse(page)

    return app


def _template_environment(config: BridgeConfig) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined
    )
    env.filters["when"] = _when
    env.filters["office"] = config.office_name
    env.globals["instance"] = config.bridge.instance
    return env


def _when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")

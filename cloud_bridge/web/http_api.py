"""The HTTP side of the bridge: a JSON API (with OpenAPI at ``/docs``) and a small web UI.

API (``/api/v1``): list tickets, read one with its evidence and history, post a lifecycle event
(``409`` with the reason when the lifecycle does not allow it). UI: ``/`` lists the tickets and
refreshes itself; ``/tickets/{id}`` is the unit's case file. Pages are rendered server-side with
Jinja2, every value escaped. Handlers are plain functions: FastAPI runs them in worker threads,
so database calls never block the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydantic import BaseModel, ConfigDict, Field

from cloud_bridge.config import BridgeConfig
from cloud_bridge.errors import InvalidTransition, StorageError, TicketConflict, TicketNotFound
from cloud_bridge.store.tickets_db import TicketsDB
from cloud_bridge.ticket_states import TicketEvent, allowed_events
from simclock import SimClock

TEMPLATES = Path(__file__).resolve().parent / "templates"
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
    model_config = ConfigDict(extra="forbid")

    event: TicketEvent
    actor: str = Field(min_length=1, max_length=200, description="who did it (name or id)")
    note: str = Field(default="", max_length=4000)


def create_app(
    db: TicketsDB,
    config: BridgeConfig,
    *,
    clock: SimClock | None = None,
    mqtt_connected: Callable[[], bool] | None = None,
) -> FastAPI:
    """The bridge's web application over ``db``. ``clock`` stamps lifecycle events (the
    wall clock when omitted); ``mqtt_connected`` feeds ``/healthz``."""
    clock = clock or SimClock.real()
    templates = _template_environment(config)
    app = FastAPI(
        title="qunzu-watch cloud bridge",
        version="1",
        description="Tickets opened from verified building alerts, and their lifecycle.",
    )

    @app.exception_handler(StorageError)
    def storage_unavailable(_request: Request, err: StorageError) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=503)

    @app.get("/api/v1/tickets", response_model=list[TicketOut])
    def list_tickets(
        street_office: Annotated[str | None, Query(description="only this office's")] = None,
        open_only: Annotated[bool, Query(alias="open", description="only open tickets")] = False,
    ) -> list[dict[str, Any]]:
        return [
            t.as_json() for t in db.list_tickets(street_office=street_office, open_only=open_only)
        ]

    @app.get("/api/v1/tickets/{ticket_id}", response_model=TicketDetailOut)
    def get_ticket(ticket_id: int) -> dict[str, Any]:
        try:
            return db.get_ticket(ticket_id).detail_json()
        except TicketNotFound as err:
            raise HTTPException(404, str(err)) from err

    @app.post(
        "/api/v1/tickets/{ticket_id}/events",
        response_model=TicketDetailOut,
        responses={404: {"description": "no such ticket"}, 409: {"description": "not allowed"}},
    )
    def post_event(ticket_id: int, body: EventIn) -> dict[str, Any]:
        try:
            ticket = db.apply_event(ticket_id, body.event, body.actor, body.note, clock.now())
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
    def ticket_list_page() -> HTMLResponse:
        page = templates.get_template("tickets.html").render(
            tickets=db.list_tickets(), refresh_s=REFRESH_S
        )
        return HTMLResponse(page)

    @app.get("/tickets/{ticket_id}", response_class=HTMLResponse, include_in_schema=False)
    def ticket_page(ticket_id: int) -> HTMLResponse:
        try:
            ticket = db.get_ticket(ticket_id)
        except TicketNotFound as err:
            page = templates.get_template("not_found.html").render(message=str(err))
            return HTMLResponse(page, status_code=404)
        gateway = next((g for g in config.gateways if g.id == ticket.gateway_id), None)
        page = templates.get_template("ticket.html").render(
            ticket=ticket,
            address=gateway.address if gateway else None,
            next_events=[str(e) for e in allowed_events(ticket.state)],
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

"""Who is calling: FastAPI dependencies for every route of the bridge's API and UI.

Interface (what routers use)::

    from cloud_bridge.auth.web_identity import (
        Authenticated, current_identity, optional_identity, require_role, require_scope,
    )

    @router.get("/api/v1/things")
    def things(identity: Authenticated) -> ...:            # any signed-in account, else 401
        ...

    @router.post("/api/v1/things", dependencies=[Depends(require_role(Role.ADMIN))])
    def add(...) -> ...:                                   # 403 for every other role

    @router.get("/api/v1/tickets/{ticket_id}")
    def one(ticket_id: int, request: Request, identity: Authenticated) -> ...:
        ticket = db.get_ticket(ticket_id)
        require_scope(request, identity, ticket.street_office)   # 404 outside the scope
        ...

- :func:`current_identity` (``Authenticated``) returns an
  :class:`~cloud_bridge.auth.identity.Identity` (``.actor`` is the typed
  :class:`~cloud_bridge.cases.roles.Actor` to record as who did a step; ``.scope`` where it may
  look). It accepts ``Authorization: Bearer qzw_...`` (an API token; no CSRF token needed) or
  the ``qzw_session`` cookie. For a cookie on ``POST``/``PUT``/``PATCH``/``DELETE`` it requires
  the session's CSRF token, in the ``X-CSRF-Token`` header or the ``csrf_token`` form field
  (403 otherwise). An ``api_client`` is refused every state-changing method (403). No
  credentials, or ones that are unknown, revoked or expired: 401.
- :func:`optional_identity` is the same but returns None instead of 401 (pages that redirect to
  ``/login``).
- :func:`require_role` ``(*roles)`` builds a dependency: the identity, or 403.
- :func:`require_scope` ``(request, identity, office_id)``: nothing, or 404 when the office is
  outside the identity's scope. 404, not 403, so that nobody learns which tickets exist in
  other offices.

The app provides an :class:`AuthContext` as ``app.state.auth`` (see
:func:`cloud_bridge.web.http_api.create_app`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from cloud_bridge.auth.accounts_db import AccountsDB
from cloud_bridge.auth.identity import Identity
from cloud_bridge.auth.secret_tokens import same
from cloud_bridge.cases.roles import Role

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "AuthContext",
    "Authenticated",
    "current_identity",
    "optional_identity",
    "require_role",
    "require_scope",
]

SESSION_COOKIE = "qzw_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class AuthContext:
    """What the dependencies need, set once per app: the accounts, each office's district,
    the wall clock sessions expire by, and whether cookies are always ``Secure``."""

    accounts: AccountsDB
    district_of: Mapping[str, str | None]
    now: Callable[[], datetime]
    always_secure_cookies: bool = False

    def cookie_secure(self, request: Request) -> bool:
        return self.always_secure_cookies or request.url.scheme == "https"


def auth_context(request: Request) -> AuthContext:
    context: AuthContext = request.app.state.auth
    return context


async def optional_identity(request: Request) -> Identity | None:
    """The caller's identity, or None when it sent no usable credentials. Raises 403 for a
    state-changing request without the session's CSRF token, or from an ``api_client``."""
    context = auth_context(request)
    now = context.now()
    authorization = request.headers.get("authorization", "")
    identity: Identity | None
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        identity = await run_in_threadpool(context.accounts.token_identity, token.strip(), now)
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            return None
        identity = await run_in_threadpool(context.accounts.session_identity, cookie, now)
    if identity is None:
        return None
    if request.method not in SAFE_METHODS:
        if identity.role is Role.API_CLIENT:
            raise HTTPException(403, "an api_client account is read-only")
        if identity.via == "session":
            await _check_csrf(request, identity)
    return identity


async def current_identity(
    identity: Annotated[Identity | None, Depends(optional_identity)],
) -> Identity:
    """The caller's identity; 401 without one."""
    if identity is None:
        raise HTTPException(
            401,
            "sign in, or send Authorization: Bearer <token>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return identity


Authenticated = Annotated[Identity, Depends(current_identity)]


def require_role(*roles: Role) -> Callable[[Identity], Identity]:
    """A dependency: the identity if its role is one of ``roles``, else 403."""
    allowed = frozenset(roles)

    def dependency(identity: Authenticated) -> Identity:
        if identity.role not in allowed:
            names = ", ".join(sorted(str(r) for r in allowed))
            raise HTTPException(403, f"{identity.role} may not do this (roles allowed: {names})")
        return identity

    return dependency


def require_scope(request: Request, identity: Identity, office_id: str) -> None:
    """404 unless ``office_id`` is inside the identity's scope."""
    if not identity.scope.covers(office_id, auth_context(request).district_of):
        raise HTTPException(404, "not found")


async def _check_csrf(request: Request, identity: Identity) -> None:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not identity.csrf_token or not same(sent, identity.csrf_token):
        raise HTTPException(403, "missing or wrong CSRF token")

"""``/login`` and ``/logout``: the sign-in form and the session cookie.

The form is CSRF-protected before any session exists by a double-submit token: ``GET /login``
sets a random ``qzw_login_csrf`` cookie (HttpOnly, SameSite=Strict) and puts the same value in
the form; ``POST /login`` refuses (403) a form whose token does not match the cookie. A
successful login sets ``qzw_session`` (HttpOnly, SameSite=Strict, Secure on https or with
``[auth] always_secure_cookies``, expiring with the session's absolute timeout) and redirects to
``next`` (a local path only). ``POST /logout`` needs the session's CSRF token like every other
form, ends the session server-side and clears the cookie.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment
from starlette.concurrency import run_in_threadpool

from cloud_bridge.auth.errors import LockedOut, LoginRefused
from cloud_bridge.auth.secret_tokens import new_secret, same
from cloud_bridge.auth.web_identity import SESSION_COOKIE, Authenticated, auth_context

__all__ = ["LOGIN_CSRF_COOKIE", "router"]

LOGIN_CSRF_COOKIE = "qzw_login_csrf"


def _local(next_path: str) -> str:
    """``next_path`` if it is a path on this site, else ``/`` (no open redirect)."""
    ok = next_path.startswith("/") and not next_path.startswith(("//", "/\\"))
    return next_path if ok else "/"


def router(templates: Environment) -> APIRouter:
    routes = APIRouter(include_in_schema=False)

    def form(
        request: Request, message: str = "", status: int = 200, next_path: str = "/"
    ) -> Response:
        token = new_secret()
        page = templates.get_template("login.html").render(
            csrf_token=token, message=message, next=_local(next_path)
        )
        response = HTMLResponse(page, status_code=status)
        response.set_cookie(
            LOGIN_CSRF_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=auth_context(request).cookie_secure(request),
            max_age=3600,
        )
        return response

    @routes.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/") -> Response:
        return form(request, next_path=next)

    @routes.post("/login")
    async def login(
        request: Request,
        name: Annotated[str, Form(max_length=64)],
        password: Annotated[str, Form(max_length=1024)],
        csrf_token: Annotated[str, Form(max_length=200)] = "",
        next: Annotated[str, Form(max_length=2000)] = "/",
    ) -> Response:
        cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not cookie or not csrf_token or not same(cookie, csrf_token):
            return form(request, "The form expired; please sign in again.", 403, next)
        context = auth_context(request)
        address = request.client.host if request.client else "unknown"
        try:
            token, _identity = await run_in_threadpool(
                context.accounts.login, name, password, address, context.now()
            )
        except LockedOut as err:
            return form(request, str(err), 429, next)
        except LoginRefused as err:
            return form(request, str(err), 401, next)
        response = RedirectResponse(_local(next), status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=context.cookie_secure(request),
            max_age=int(context.accounts.sessions_policy.absolute_s),
        )
        response.delete_cookie(LOGIN_CSRF_COOKIE)
        return response

    @routes.post("/logout")
    async def logout(request: Request, identity: Authenticated) -> Response:
        cookie = request.cookies.get(SESSION_COOKIE)
        if identity.via == "session" and cookie:
            await run_in_threadpool(auth_context(request).accounts.logout, cookie)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    return routes

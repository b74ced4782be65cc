"""``/api/v1/gateways``: the gateway registry for admins (list, add, rotate, revoke).

Every route needs the ``admin`` role (403 otherwise). A change goes through
:class:`~cloud_bridge.auth.gateways_db.GatewaysDB` (one transaction, with its audit-log row,
the admin as actor) and then invalidates the ingest's registry cache, so a revoked key is
refused by the next alert this process verifies; other bridge instances notice within
``[auth] gateway_registry_cache_s``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from cloud_bridge.auth.errors import InvalidAccount, UnknownSubject
from cloud_bridge.auth.gateway_registry import DbGatewayRegistry
from cloud_bridge.auth.gateways_db import parse_public_key
from cloud_bridge.auth.identity import Identity
from cloud_bridge.auth.web_identity import require_role
from cloud_bridge.cases.roles import Role
from cloud_bridge.config import BridgeConfig
from simclock import SimClock

__all__ = ["router"]

Admin = Annotated[Identity, Depends(require_role(Role.ADMIN))]


class GatewayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    street_office: str = Field(min_length=1, max_length=64)
    address: str | None = Field(default=None, max_length=500)
    public_key_pem: str = Field(min_length=1, max_length=4000)


class RotateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    public_key_pem: str = Field(min_length=1, max_length=4000)
    old_valid_until: AwareDatetime


class RevokeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kid: str | None = Field(default=None, max_length=64, description="omit: every key")


def router(registry: DbGatewayRegistry, config: BridgeConfig, clock: SimClock) -> APIRouter:
    routes = APIRouter(prefix="/api/v1/gateways", tags=["gateways"])
    store = registry.store

    def now() -> datetime:
        return clock.now()

    def changed(result: Any) -> dict[str, Any]:
        registry.invalidate()
        out: dict[str, Any] = result.as_json()
        return out

    @routes.get("")
    def list_gateways(_admin: Admin) -> list[dict[str, Any]]:
        return [g.as_json() for g in store.list_gateways()]

    @routes.post("", status_code=201)
    def add_gateway(body: GatewayIn, admin: Admin) -> dict[str, Any]:
        try:
            key = parse_public_key(body.public_key_pem.encode(), "public_key_pem")
            info = store.add(
                body.id,
                body.street_office,
                key,
                address=body.address,
                offices=config.district_of.keys(),
                by=str(admin.actor),
                now=now(),
            )
        except InvalidAccount as err:
            raise HTTPException(422, str(err)) from err
        return changed(info)

    @routes.post("/{gateway_id}/rotate")
    def rotate_key(gateway_id: str, body: RotateIn, admin: Admin) -> dict[str, Any]:
        try:
            key = parse_public_key(body.public_key_pem.encode(), "public_key_pem")
            info = store.rotate(
                gateway_id,
                key,
                old_valid_until=body.old_valid_until,
                by=str(admin.actor),
                now=now(),
            )
        except UnknownSubject as err:
            raise HTTPException(404, str(err)) from err
        except InvalidAccount as err:
            raise HTTPException(422, str(err)) from err
        return changed(info)

    @routes.post("/{gateway_id}/revoke")
    def revoke_key(gateway_id: str, body: RevokeIn, admin: Admin) -> dict[str, Any]:
        try:
            info = store.revoke(gateway_id, kid=body.kid, by=str(admin.actor), now=now())
        except UnknownSubject as err:
            raise HTTPException(404, str(err)) from err
        return changed(info)

    return routes

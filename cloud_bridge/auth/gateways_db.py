"""The gateway registry in the tickets database: gateways, their public keys, rotation and
revocation, every change in the audit log; one transaction per method.

A key (``gateway_keys``) verifies alerts from ``not_before`` until ``not_after`` (open-ended
when NULL) unless ``revoked_at`` is set, which takes effect at once. :meth:`GatewaysDB.rotate`
adds the new key and ends the current ones at ``old_valid_until``: both verify during that
overlap, so a gateway can switch keys without losing an alert.

Bootstrap from the TOML file: :meth:`GatewaysDB.import_bootstrap` adds each ``[[gateways]]``
entry whose id is not in the database yet. Once a gateway is in the database, the database
wins: later edits of its TOML entry are ignored (and a revoked gateway stays revoked).
:mod:`cloud_bridge.auth.gateway_registry` serves these rows to the ingest.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

from joserfc.errors import JoseError
from joserfc.jwk import OKPKey
from sqlalchemy import insert, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from cloud_bridge.auth.audit import record_change
from cloud_bridge.auth.errors import InvalidAccount, UnknownSubject
from cloud_bridge.ingest.verification import KnownGateway
from cloud_bridge.store.engine import transaction
from cloud_bridge.store.schema import gateway_keys, gateways

__all__ = ["BOOTSTRAP_ACTOR", "GatewayInfo", "GatewayKey", "GatewaysDB", "parse_public_key"]

log = logging.getLogger(__name__)

GATEWAY_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
BOOTSTRAP_ACTOR = "bootstrap:toml"


@dataclass(frozen=True, slots=True)
class GatewayKey:
    kid: str
    key: OKPKey
    not_before: datetime
    not_after: datetime | None
    revoked_at: datetime | None

    def valid_at(self, now: datetime) -> bool:
        return (
            self.revoked_at is None
            and self.not_before <= now
            and (self.not_after is None or now < self.not_after)
        )

    def as_json(self) -> dict[str, object]:
        return {
            "kid": self.kid,
            "not_before": self.not_before.isoformat(),
            "not_after": None if self.not_after is None else self.not_after.isoformat(),
            "revoked_at": None if self.revoked_at is None else self.revoked_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class GatewayInfo:
    id: str
    street_office: str
    address: str | None
    keys: tuple[GatewayKey, ...]

    def known_at(self, now: datetime) -> KnownGateway:
        """The gateway as :func:`~cloud_bridge.ingest.verification.verify_alert` needs it:
        only the keys valid at ``now``."""
        valid = {k.kid: k.key for k in self.keys if k.valid_at(now)}
        return KnownGateway(self.id, self.street_office, valid)

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "street_office": self.street_office,
            "address": self.address,
            "keys": [k.as_json() for k in self.keys],
        }


def parse_public_key(pem: bytes, where: str = "public key") -> OKPKey:
    """An Ed25519 public key from PEM; :class:`InvalidAccount` for anything else."""
    try:
        key = OKPKey.import_key(pem)
    except (ValueError, JoseError) as err:
        raise InvalidAccount(where, "not an Ed25519 public key (PEM)") from err
    if key.curve_name != "Ed25519":
        raise InvalidAccount(where, f"not an Ed25519 key (curve {key.curve_name})")
    if key.is_private:
        raise InvalidAccount(where, "a private key; register the public key (.pub.pem) only")
    return key


class GatewaysDB:
    def __init__(self, engine: Engine, database: str) -> None:
        self._engine = engine
        self._database = database

    def add(
        self,
        gateway_id: str,
        street_office: str,
        key: OKPKey,
        *,
        address: str | None = None,
        offices: Iterable[str],
        by: str,
        now: datetime,
    ) -> GatewayInfo:
        if GATEWAY_ID.fullmatch(gateway_id) is None:
            raise InvalidAccount("gateway id", "1-64 letters, digits, '-' or '_'")
        if street_office not in set(offices):
            raise InvalidAccount("street_office", f"no [[street_offices]] entry {street_office!r}")
        try:
            with self._transaction(write=True) as conn:
                keys = {key.thumbprint(): key}
                info = self._insert(conn, gateway_id, street_office, address, keys, now)
                subject = f"gateway:{gateway_id}"
                record_change(conn, now, by, "gateway.add", subject, None, info.as_json())
        except IntegrityError as err:
            raise InvalidAccount("gateway id", f"{gateway_id!r} is registered already") from err
        return info

    def rotate(
        self,
        gateway_id: str,
        key: OKPKey,
        *,
        old_valid_until: datetime,
        by: str,
        now: datetime,
    ) -> GatewayInfo:
        """Add ``key`` (valid from now) and end every current key at ``old_valid_until``."""
        if old_valid_until < now:
            raise InvalidAccount("old_valid_until", "in the past; use revoke to end a key now")
        kid = key.thumbprint()
        with self._transaction(write=True) as conn:
            before = self._read(conn, gateway_id)
            if any(k.kid == kid for k in before.keys):
                raise InvalidAccount("public key", f"key {kid} is registered already")
            conn.execute(
                update(gateway_keys)
                .where(
                    gateway_keys.c.gateway_id == gateway_id,
                    gateway_keys.c.revoked_at.is_(None),
                    or_(
                        gateway_keys.c.not_after.is_(None),
                        gateway_keys.c.not_after > old_valid_until,
                    ),
                )
                .values(not_after=old_valid_until)
            )
            conn.execute(insert(gateway_keys).values(_key_row(gateway_id, kid, key, now)))
            after = self._read(conn, gateway_id)
            record_change(
                conn,
                now,
                by,
                "gateway.rotate",
                f"gateway:{gateway_id}",
                before.as_json(),
                after.as_json(),
            )
        return after

    def revoke(
        self, gateway_id: str, *, kid: str | None = None, by: str, now: datetime
    ) -> GatewayInfo:
        """Revoke key ``kid`` of the gateway, or every key of it (``kid`` None): at once."""
        with self._transaction(write=True) as conn:
            before = self._read(conn, gateway_id)
            if kid is not None and all(k.kid != kid for k in before.keys):
                raise UnknownSubject(f"gateway {gateway_id!r} has no key {kid!r}")
            query = update(gateway_keys).where(
                gateway_keys.c.gateway_id == gateway_id, gateway_keys.c.revoked_at.is_(None)
            )
            if kid is not None:
                query = query.where(gateway_keys.c.kid == kid)
            conn.execute(query.values(revoked_at=now))
            after = self._read(conn, gateway_id)
            record_change(
                conn,
                now,
                by,
                "gateway.revoke",
                f"gateway:{gateway_id}",
                before.as_json(),
                after.as_json(),
            )
        return after

    def list_gateways(self) -> list[GatewayInfo]:
        with self._transaction(write=False) as conn:
            return self._read_all(conn)

    def import_bootstrap(
        self, known: Mapping[str, tuple[KnownGateway, str | None]], now: datetime
    ) -> int:
        """Add the TOML file's gateways (``known``: gateway and address by id) that are not in
        the database; the number added."""
        added = 0
        with self._transaction(write=True) as conn:
            present = set(conn.execute(select(gateways.c.id)).scalars())
            for gateway_id, (gateway, address) in known.items():
                if gateway_id in present:
                    continue
                info = self._insert(
                    conn, gateway_id, gateway.street_office, address, dict(gateway.keys), now
                )
                record_change(
                    conn,
                    now,
                    BOOTSTRAP_ACTOR,
                    "gateway.add",
                    f"gateway:{gateway_id}",
                    None,
                    info.as_json(),
                )
                added += 1
        if added:
            log.info("imported %d gateway(s) from the configuration file into the database", added)
        return added

    # -- inside one transaction ----------------------------------------------------------------

    def _insert(
        self,
        conn: Connection,
        gateway_id: str,
        street_office: str,
        address: str | None,
        keys: Mapping[str, OKPKey],
        now: datetime,
    ) -> GatewayInfo:
        conn.execute(
            insert(gateways).values(
                id=gateway_id, street_office=street_office, address=address, created_at=now
            )
        )
        for kid, key in keys.items():
            conn.execute(insert(gateway_keys).values(_key_row(gateway_id, kid, key, now)))
        return self._read(conn, gateway_id)

    def _read(self, conn: Connection, gateway_id: str) -> GatewayInfo:
        found = [g for g in self._read_all(conn, gateway_id) if g.id == gateway_id]
        if not found:
            raise UnknownSubject(f"no gateway {gateway_id!r}")
        return found[0]

    @staticmethod
    def _read_all(conn: Connection, gateway_id: str | None = None) -> list[GatewayInfo]:
        query = select(gateways).order_by(gateways.c.id)
        keys_query = select(gateway_keys).order_by(gateway_keys.c.not_before, gateway_keys.c.kid)
        if gateway_id is not None:
            query = query.where(gateways.c.id == gateway_id)
            keys_query = keys_query.where(gateway_keys.c.gateway_id == gateway_id)
        by_gateway: dict[str, list[GatewayKey]] = {}
        for k in conn.execute(keys_query):
            by_gateway.setdefault(k.gateway_id, []).append(
                GatewayKey(
                    k.kid,
                    OKPKey.import_key(k.public_key_pem.encode()),
                    k.not_before,
                    k.not_after,
                    k.revoked_at,
                )
            )
        return [
            GatewayInfo(g.id, g.street_office, g.address, tuple(by_gateway.get(g.id, ())))
            for g in conn.execute(query)
        ]

    def _transaction(self, *, write: bool) -> AbstractContextManager[Connection]:
        return transaction(self._engine, write=write, database=self._database)


def _key_row(gateway_id: str, kid: str, key: OKPKey, now: datetime) -> dict[str, object]:
    return {
        "gateway_id": gateway_id,
        "kid": kid,
        "public_key_pem": key.as_pem(private=False).decode(),
        "not_before": now,
        "not_after": None,
        "revoked_at": None,
    }

"""Accounts, UI sessions and API tokens in the tickets database; one transaction per method.

- An account has a name, one role (:data:`~cloud_bridge.auth.identity.HUMAN_ROLES`), a scope
  (a street office or a district; admins may have none: city-wide) and an argon2id password
  hash (none for an ``api_client``, which uses tokens only). Accounts are disabled, never
  deleted, so the ticket history keeps naming them.
- :meth:`AccountsDB.login` checks the lockout (per account and per client address,
  :mod:`~cloud_bridge.auth.login_throttle`), the password (rehashing it when the parameters
  changed), and opens a session: a random token for the cookie, of which only its SHA-256 is
  stored, with a CSRF synchronizer token bound to it.
- A session ends at logout, after ``idle_s`` without a request, or ``absolute_s`` after login,
  whichever comes first (:class:`SessionPolicy`); an expired row is deleted when next seen.
- An API token (:mod:`~cloud_bridge.auth.secret_tokens`) is shown once by
  :meth:`AccountsDB.create_token`; the database keeps its prefix and SHA-256; revocation takes
  effect on the next request.

Every change to an account or a token is written to the audit log in its transaction.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import IntegrityError

from cloud_bridge.auth.audit import record_change
from cloud_bridge.auth.errors import InvalidAccount, LockedOut, LoginRefused, UnknownSubject
from cloud_bridge.auth.identity import HUMAN_ROLES, Identity, Scope, ScopeKind
from cloud_bridge.auth.login_throttle import LockoutPolicy, account_key, address_key
from cloud_bridge.auth.passwords import (
    HASHER,
    MIN_PASSWORD_CHARS,
    check_password,
    hash_password,
)
from cloud_bridge.auth.secret_tokens import API_TOKEN, digest, new_api_token, new_secret
from cloud_bridge.cases.roles import Actor, Role
from cloud_bridge.store.engine import transaction
from cloud_bridge.store.schema import accounts, api_tokens, login_throttle, sessions

__all__ = ["AccountInfo", "AccountsDB", "SessionPolicy", "TokenInfo"]

log = logging.getLogger(__name__)

NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
TOUCH_EVERY = timedelta(seconds=30)  # last_seen_at is written at most this often per session


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    idle_s: float = 30 * 60.0
    absolute_s: float = 12 * 3600.0


@dataclass(frozen=True, slots=True)
class AccountInfo:
    id: int
    name: str
    role: Role
    scope: Scope
    disabled: bool
    has_password: bool
    created_at: datetime

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "role": str(self.role),
            "scope": str(self.scope),
            "disabled": self.disabled,
            "has_password": self.has_password,
        }


@dataclass(frozen=True, slots=True)
class TokenInfo:
    prefix: str
    account: str
    label: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class AccountsDB:
    """Accounts, sessions and tokens on ``engine`` (the tickets database's)."""

    def __init__(
        self,
        engine: Engine,
        database: str,
        *,
        sessions_policy: SessionPolicy | None = None,
        lockout: LockoutPolicy | None = None,
        hasher: PasswordHasher = HASHER,
    ) -> None:
        self._engine = engine
        self._database = database
        self._hasher = hasher
        self.sessions_policy = sessions_policy or SessionPolicy()
        self.lockout = lockout or LockoutPolicy()

    # -- accounts ------------------------------------------------------------------------------

    def add_account(
        self,
        name: str,
        role: Role,
        *,
        password: str | None,
        street_office: str | None = None,
        district: str | None = None,
        district_of: Mapping[str, str | None],
        by: str,
        now: datetime,
    ) -> AccountInfo:
        """Create an account; :class:`InvalidAccount` names the field at fault.
        ``district_of`` maps every configured street office to its district."""
        _check_account(name, role, password, street_office, district, district_of)
        values = {
            "name": name,
            "role": str(role),
            "street_office": street_office,
            "district": district,
            "password_hash": None if password is None else hash_password(password, self._hasher),
            "disabled": False,
            "created_at": now,
        }
        try:
            with self._transaction(write=True) as conn:
                conn.execute(insert(accounts).values(**values))
                info = _account(_account_row(conn, name))
                record_change(conn, now, by, "account.add", f"account:{name}", None, info.as_json())
        except IntegrityError as err:
            raise InvalidAccount("name", f"an account {name!r} exists already") from err
        return info

    def list_accounts(self) -> list[AccountInfo]:
        with self._transaction(write=False) as conn:
            return [_account(r) for r in conn.execute(select(accounts).order_by(accounts.c.name))]

    def disable_account(self, name: str, *, by: str, now: datetime) -> AccountInfo:
        """Disable ``name``: its sessions end at once, its tokens stop working."""
        with self._transaction(write=True) as conn:
            row = _account_row(conn, name)
            before = _account(row)
            conn.execute(update(accounts).where(accounts.c.id == row.id).values(disabled=True))
            conn.execute(delete(sessions).where(sessions.c.account_id == row.id))
            after = _account(_account_row(conn, name))
            record_change(
                conn,
                now,
                by,
                "account.disable",
                f"account:{name}",
                before.as_json(),
                after.as_json(),
            )
        return after

    # -- sessions ------------------------------------------------------------------------------

    def login(self, name: str, password: str, address: str, now: datetime) -> tuple[str, Identity]:
        """Open a session: the cookie token and who it is. :class:`LockedOut` while the account
        or the address is locked; :class:`LoginRefused` for a wrong name or password."""
        keys = (account_key(name[:64]), address_key(address))
        with self._transaction(write=True) as conn:
            for key in keys:
                until = conn.execute(
                    select(login_throttle.c.locked_until).where(login_throttle.c.key == key)
                ).scalar()
                if until is not None and until > now:
                    raise LockedOut(until)
            row = conn.execute(select(accounts).where(accounts.c.name == name)).first()
            checked = check_password(
                None if row is None or row.disabled else row.password_hash, password, self._hasher
            )
            if row is None or not checked.ok:
                self._count_failure(conn, keys, now)
            else:
                if checked.new_hash is not None:
                    conn.execute(
                        update(accounts)
                        .where(accounts.c.id == row.id)
                        .values(password_hash=checked.new_hash)
                    )
                conn.execute(delete(login_throttle).where(login_throttle.c.key == keys[0]))
                token, csrf = new_secret(), new_secret()
                conn.execute(
                    insert(sessions).values(
                        token_sha256=digest(token),
                        account_id=row.id,
                        csrf_token=csrf,
                        created_at=now,
                        last_seen_at=now,
                    )
                )
                return token, _identity(row, "session", csrf)
        # The failure is committed above (a raise inside would roll it back).
        log.warning("login failed for account %r from %s", name[:64], address)
        raise LoginRefused

    def session_identity(self, token: str, now: datetime) -> Identity | None:
        """Who holds session ``token`` (None: no such session, expired, or account disabled)."""
        policy = self.sessions_policy
        with self._transaction(write=True) as conn:
            row = conn.execute(
                select(sessions, accounts)
                .join(accounts, accounts.c.id == sessions.c.account_id)
                .where(sessions.c.token_sha256 == digest(token))
            ).first()
            if row is None:
                return None
            expired = (
                now - row.last_seen_at > timedelta(seconds=policy.idle_s)
                or now - row._mapping[sessions.c.created_at] >= timedelta(seconds=policy.absolute_s)
                or row.disabled
            )
            session_id = row._mapping[sessions.c.id]
            if expired:
                conn.execute(delete(sessions).where(sessions.c.id == session_id))
                return None
            if now - row.last_seen_at >= TOUCH_EVERY:
                conn.execute(
                    update(sessions).where(sessions.c.id == session_id).values(last_seen_at=now)
                )
            return _identity(row, "session", row.csrf_token, row.account_id)

    def logout(self, token: str) -> None:
        with self._transaction(write=True) as conn:
            conn.execute(delete(sessions).where(sessions.c.token_sha256 == digest(token)))

    # -- API tokens ----------------------------------------------------------------------------

    def create_token(self, account: str, label: str, *, by: str, now: datetime) -> str:
        """A new token for ``account``; returned once, stored as its SHA-256 only."""
        if not 1 <= len(label) <= 200:
            raise InvalidAccount("label", "1-200 characters")
        token, prefix = new_api_token()
        with self._transaction(write=True) as conn:
            row = _account_row(conn, account)
            if row.disabled:
                raise InvalidAccount("account", f"{account!r} is disabled")
            conn.execute(
                insert(api_tokens).values(
                    prefix=prefix,
                    token_sha256=digest(token),
                    account_id=row.id,
                    label=label,
                    created_at=now,
                )
            )
            after = {"prefix": prefix, "account": account, "label": label}
            record_change(conn, now, by, "token.create", f"token:{prefix}", None, after)
        return token

    def list_tokens(self) -> list[TokenInfo]:
        query = (
            select(api_tokens, accounts.c.name)
            .join(accounts, accounts.c.id == api_tokens.c.account_id)
            .order_by(api_tokens.c.id)
        )
        with self._transaction(write=False) as conn:
            return [
                TokenInfo(r.prefix, r.name, r.label, r.created_at, r.revoked_at, r.last_used_at)
                for r in conn.execute(query)
            ]

    def revoke_token(self, prefix: str, *, by: str, now: datetime) -> None:
        prefix = prefix.removeprefix("qzw_").split("_")[0]
        with self._transaction(write=True) as conn:
            row = conn.execute(select(api_tokens).where(api_tokens.c.prefix == prefix)).first()
            if row is None:
                raise UnknownSubject(f"no API token with prefix {prefix!r}")
            if row.revoked_at is not None:
                return
            conn.execute(update(api_tokens).where(api_tokens.c.id == row.id).values(revoked_at=now))
            record_change(
                conn,
                now,
                by,
                "token.revoke",
                f"token:{prefix}",
                {"revoked_at": None},
                {"revoked_at": now.isoformat()},
            )

    def token_identity(self, token: str, now: datetime) -> Identity | None:
        """Who holds API ``token`` (None: unknown, revoked, or its account disabled)."""
        if API_TOKEN.fullmatch(token) is None:
            return None
        with self._transaction(write=True) as conn:
            row = conn.execute(
                select(api_tokens, accounts)
                .join(accounts, accounts.c.id == api_tokens.c.account_id)
                .where(api_tokens.c.token_sha256 == digest(token))
            ).first()
            if row is None or row.revoked_at is not None or row.disabled:
                return None
            if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
                conn.execute(
                    update(api_tokens)
                    .where(api_tokens.c.id == row._mapping[api_tokens.c.id])
                    .values(last_used_at=now)
                )
            return _identity(row, "token", "", row.account_id)

    # -- inside one transaction ----------------------------------------------------------------

    def _count_failure(self, conn: Connection, keys: tuple[str, ...], now: datetime) -> None:
        for key in keys:
            failures = conn.execute(
                select(login_throttle.c.failures).where(login_throttle.c.key == key)
            ).scalar()
            count = (failures or 0) + 1
            values = {
                "failures": count,
                "locked_until": self.lockout.locked_until(count, now),
                "updated_at": now,
            }
            if failures is None:
                conn.execute(insert(login_throttle).values(key=key, **values))
            else:
                conn.execute(
                    update(login_throttle).where(login_throttle.c.key == key).values(**values)
                )

    def _transaction(self, *, write: bool) -> AbstractContextManager[Connection]:
        return transaction(self._engine, write=write, database=self._database)


def _check_account(
    name: str,
    role: Role,
    password: str | None,
    street_office: str | None,
    district: str | None,
    district_of: Mapping[str, str | None],
) -> None:
    if NAME.fullmatch(name) is None:
        raise InvalidAccount("name", "1-64 letters, digits, '.', '-' or '_'")
    if role not in HUMAN_ROLES:
        raise InvalidAccount("role", f"one of {', '.join(HUMAN_ROLES)}")
    if street_office and district:
        raise InvalidAccount("scope", "a street office or a district, not both")
    if street_office and street_office not in district_of:
        raise InvalidAccount("street_office", f"no [[street_offices]] entry {street_office!r}")
    if district and district not in set(district_of.values()):
        raise InvalidAccount("district", f"no street office has district {district!r}")
    if role is not Role.ADMIN and not (street_office or district):
        raise InvalidAccount("scope", f"a {role} needs a street office or a district")
    if password is None and role is not Role.API_CLIENT:
        raise InvalidAccount("password", f"a {role} needs a password")
    if password is not None and len(password) < MIN_PASSWORD_CHARS:
        raise InvalidAccount("password", f"at least {MIN_PASSWORD_CHARS} characters")


def _account_row(conn: Connection, name: str) -> Row[Any]:
    row = conn.execute(select(accounts).where(accounts.c.name == name)).first()
    if row is None:
        raise UnknownSubject(f"no account {name!r}")
    return row


def _account(row: Row[Any]) -> AccountInfo:
    r = row._mapping
    return AccountInfo(
        id=int(r["id"]),
        name=str(r["name"]),
        role=Role(r["role"]),
        scope=Scope.of(r["street_office"], r["district"]),
        disabled=bool(r["disabled"]),
        has_password=r["password_hash"] is not None,
        created_at=r["created_at"],
    )


def _identity(row: Row[Any], via: str, csrf: str, account_id: int | None = None) -> Identity:
    r = row._mapping
    scope = Scope.of(r[accounts.c.street_office], r[accounts.c.district])
    if scope.kind is ScopeKind.CITY and r[accounts.c.role] != Role.ADMIN:
        scope = Scope(ScopeKind.OFFICE, "")  # never city-wide unless admin: sees nothing
    return Identity(
        actor=Actor(str(r[accounts.c.name]), Role(r[accounts.c.role])),
        scope=scope,
        via="session" if via == "session" else "token",
        account_id=int(account_id if account_id is not None else r[accounts.c.id]),
        csrf_token=csrf,
    )

"""The auth stores of a bridge, built from its configuration over the tickets database's
engine: accounts (with the ``[auth]`` session and lockout settings) and gateways."""

from __future__ import annotations

from cloud_bridge.auth.accounts_db import AccountsDB, SessionPolicy
from cloud_bridge.auth.gateways_db import GatewaysDB
from cloud_bridge.auth.login_throttle import LockoutPolicy
from cloud_bridge.config import BridgeConfig
from cloud_bridge.store.tickets_db import TicketsDB

__all__ = ["accounts_store", "gateways_store"]


def accounts_store(config: BridgeConfig, db: TicketsDB) -> AccountsDB:
    auth = config.auth
    return AccountsDB(
        db.engine,
        db.safe_url,
        sessions_policy=SessionPolicy(auth.session_idle_timeout_s, auth.session_absolute_timeout_s),
        lockout=LockoutPolicy(auth.max_login_failures, auth.lockout_base_s, auth.lockout_max_s),
    )


def gateways_store(db: TicketsDB) -> GatewaysDB:
    return GatewaysDB(db.engine, db.safe_url)

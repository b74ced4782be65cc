"""The ingest's view of the gateway registry, read from the database with a short cache.

:class:`DbGatewayRegistry` is the ``GatewayRegistry`` mapping that
:func:`~cloud_bridge.ingest.verification.verify_alert` takes: gateway id to
:class:`~cloud_bridge.ingest.verification.KnownGateway`, holding only the keys valid *now* (by
the bridge's clock, so a rotation's overlap ends on time). The rows are read again when they are
older than ``ttl_s`` (default 5 s); :meth:`DbGatewayRegistry.invalidate` drops them at once, and
every change made through this process (API, or :class:`~cloud_bridge.auth.gateways_db.GatewaysDB`
wrapped by this registry) calls it. So a revocation takes effect immediately in the process
that made it, and within ``ttl_s`` in every other bridge instance (and after a ``cloud-bridge
gateways revoke`` on the command line): no restart either way.

If the database does not answer, the last rows read are kept (logged once per outage): an
unreachable database must not make every gateway unknown, nor raise out of ``verify_alert``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime

from cloud_bridge.auth.gateways_db import GatewayInfo, GatewaysDB
from cloud_bridge.errors import StorageError
from cloud_bridge.ingest.verification import KnownGateway

__all__ = ["DEFAULT_TTL_S", "DbGatewayRegistry"]

log = logging.getLogger(__name__)

DEFAULT_TTL_S = 5.0


class DbGatewayRegistry(Mapping[str, KnownGateway]):
    def __init__(
        self,
        store: GatewaysDB,
        clock: Callable[[], datetime],
        *,
        ttl_s: float = DEFAULT_TTL_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self._clock = clock
        self._ttl_s = ttl_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._rows: dict[str, GatewayInfo] = {}
        self._loaded_at: float | None = None
        self._failing = False

    def invalidate(self) -> None:
        """Read the registry again on next use."""
        with self._lock:
            self._loaded_at = None

    def __getitem__(self, gateway_id: str) -> KnownGateway:
        return self._current()[gateway_id].known_at(self._clock())

    def __iter__(self) -> Iterator[str]:
        return iter(self._current())

    def __len__(self) -> int:
        return len(self._current())

    def _current(self) -> dict[str, GatewayInfo]:
        with self._lock:
            stale = self._loaded_at is None or self._monotonic() - self._loaded_at >= self._ttl_s
            if not stale:
                return self._rows
            try:
                rows = {g.id: g for g in self.store.list_gateways()}
            except StorageError as err:
                if not self._failing:
                    log.error(  # noqa: TRY400 (the error is one line; no traceback)
                        "gateway registry: cannot read it (%s); using the last read", err
                    )
                self._failing = True
                return self._rows
            if self._failing:
                log.info("gateway registry readable again")
            self._failing = False
            self._rows = rows
            self._loaded_at = self._monotonic()
            return rows

"""The bridge process: MQTT ingest and the HTTP server in one event loop, one task group.

Tasks (named): ``ingest`` (under :func:`qunzu_common.supervisor.supervise`: restarted with
back-off should it ever fail unexpectedly, each change of state logged once; the supervisor is
the one place that catches every exception) and ``http`` (uvicorn, on a socket bound before
the group starts, so a port in use is a clear start-up error). The stop event (set by SIGTERM
or SIGINT through :func:`install_stop_signals`) ends both: uvicorn finishes its open requests,
ingest is cancelled between messages, the database is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Iterator

import uvicorn

from cloud_bridge.auth.gateway_registry import DbGatewayRegistry
from cloud_bridge.auth.stores import gateways_store
from cloud_bridge.config import BridgeConfig
from cloud_bridge.errors import BridgeError
from cloud_bridge.ingest.alert_ingest import AlertIngest
from cloud_bridge.store.tickets_db import TicketsDB
from cloud_bridge.web.http_api import create_app
from qunzu_common.heartbeats import Heartbeats
from qunzu_common.supervisor import supervise
from qunzu_common.systemd_notify import SystemdNotifier
from qunzu_common.systemd_watchdog import keep_systemd_informed
from simclock import SimClock

log = logging.getLogger(__name__)


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling: the service owns SIGTERM and SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def install_stop_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket for the HTTP server; :class:`BridgeError` if the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise BridgeError(f"http: cannot listen on {host}:{port}: {err.strerror}") from err
    return sock


def bootstrap_gateway_registry(
    config: BridgeConfig, db: TicketsDB, clock: SimClock
) -> DbGatewayRegistry:
    """Import the configuration file's gateways that the database lacks (the database wins for
    the others), and the database-backed registry the ingest verifies against."""
    store = gateways_store(db)
    addresses = {g.id: g.address for g in config.gateways}
    store.import_bootstrap(
        {gid: (known, addresses.get(gid)) for gid, known in config.registry.items()}, clock.now()
    )
    return DbGatewayRegistry(store, clock.now, ttl_s=config.auth.gateway_registry_cache_s)


async def run_bridge(
    config: BridgeConfig, clock: SimClock, stop: asyncio.Event, *, db: TicketsDB | None = None
) -> None:
    """Run until ``stop`` is set. Raises :class:`BridgeError` when it cannot start (database
    unreachable, HTTP port taken)."""
    own_db = db is None
    db = db or TicketsDB(config.bridge.database_url, actor=config.bridge.instance)
    sockets: list[socket.socket] = []
    try:
        await asyncio.to_thread(db.migrate)
        registry = await asyncio.to_thread(bootstrap_gateway_registry, config, db, clock)
        ingest = AlertIngest(config, db, clock, registry=registry)
        server = None
        if config.http.enabled:
            sockets.append(listening_socket(config.http.host, config.http.port))
            app = create_app(
                db,
                config,
                clock=clock,
                mqtt_connected=lambda: ingest.connected,
                registry=registry,
            )
            server = _EmbeddedServer(
                uvicorn.Config(
                    app,
                    host=config.http.host,
                    port=config.http.port,
                    log_config=None,
                    access_log=False,
                    lifespan="off",
                )
            )
        log.info(
            "cloud bridge %s: gateways: %d, street offices: %d, database %s%s",
            config.bridge.instance,
            len(registry),
            len(config.street_offices),
            db.safe_url,
            f", HTTP on http://{config.http.host}:{config.http.port}/" if server else "",
        )
        async with asyncio.TaskGroup() as group:
            ingest_task = group.create_task(supervise("ingest", ingest.run), name="ingest")
            if server is not None:
                group.create_task(server.serve(sockets=sockets), name="http")
            # READY once ingest and HTTP have started; the watchdog then proves the event loop
            # runs (no loop keeps a heartbeat here yet).
            systemd = SystemdNotifier()
            status = f"cloud bridge {config.bridge.instance}: {len(config.gateways)} gateways"
            watchdog = group.create_task(
                keep_systemd_informed(systemd, Heartbeats(), lambda: status), name="systemd"
            )
            await stop.wait()
            log.info("cloud bridge %s stopping", config.bridge.instance)
            systemd.stopping(f"cloud bridge {config.bridge.instance} stopping")
            watchdog.cancel()
            ingest_task.cancel()
            if server is not None:
                server.should_exit = True
    finally:
        for sock in sockets:
            sock.close()
        if own_db:
            db.close()

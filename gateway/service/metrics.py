"""The gateway's Prometheus endpoint: polls and errors per device, round times, outbox backlog.

Enabled by a ``[metrics]`` section (``listen = "127.0.0.1:9108"``). Each bus's polling loop
reports its rounds (:class:`gateway.modbus.bus_poller.RoundOutcome`) to
:meth:`GatewayMetrics.observe_round`; the outbox backlog is counted when Prometheus scrapes,
from the store opened read-only. prometheus-client serves from a thread of its own, so a scrape
never waits for the event loop, nor the loop for a scrape. The registry is the daemon's own,
not the library's global one, so two daemons in one test process do not share counters.

Series (all prefixed ``qunzu_gateway_``): ``device_polls_total{bus,device}``,
``device_poll_errors_total{bus,device}``, ``round_seconds{bus}`` (a histogram of how long a
polling round of the bus took) and ``outbox_backlog`` (signed alerts not yet acknowledged).
"""

from __future__ import annotations

import logging
import math
import sqlite3
from contextlib import closing
from pathlib import Path
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from gateway.errors import ConfigError
from gateway.modbus.bus_poller import RoundOutcome

log = logging.getLogger(__name__)

ROUND_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


class GatewayMetrics:
    def __init__(self, store_path: Path) -> None:
        self.registry = CollectorRegistry()
        self._store_path = store_path
        labels = ["bus", "device"]
        self.polls = Counter(
            "qunzu_gateway_device_polls", "Readings asked of a device", labels,
            registry=self.registry,
        )  # fmt: skip
        self.errors = Counter(
            "qunzu_gateway_device_poll_errors", "Readings a device did not give", labels,
            registry=self.registry,
        )  # fmt: skip
        self.round_seconds = Histogram(
            "qunzu_gateway_round_seconds", "Time of one polling round of a bus", ["bus"],
            buckets=ROUND_BUCKETS, registry=self.registry,
        )  # fmt: skip
        backlog = Gauge(
            "qunzu_gateway_outbox_backlog", "Signed alerts the cloud has not acknowledged",
            registry=self.registry,
        )  # fmt: skip
        backlog.set_function(self._outbox_backlog)
        self._server: WSGIServer | None = None

    def observe_round(self, outcome: RoundOutcome) -> None:
        for device in outcome.answered:
            self.polls.labels(outcome.bus, str(device)).inc()
        for device in outcome.failed:
            self.polls.labels(outcome.bus, str(device)).inc()
            self.errors.labels(outcome.bus, str(device)).inc()
        self.round_seconds.labels(outcome.bus).observe(outcome.seconds)

    def _outbox_backlog(self) -> float:
        """Counted at scrape time, in the server's thread; NaN while there is no store yet."""
        uri = f"{self._store_path.resolve().as_uri()}?mode=ro"
        try:
            with closing(sqlite3.connect(uri, uri=True, timeout=2)) as db:
                (count,) = db.execute(
                    "SELECT COUNT(*) FROM outbox WHERE ack_status IS NULL"
                ).fetchone()
        except sqlite3.Error:
            return math.nan
        return float(count)

    def serve(self, host: str, port: int) -> int:
        """Listen on ``host:port`` (0: any free port); return the port."""
        try:
            server, _thread = start_http_server(port, addr=host, registry=self.registry)
        except OSError as err:
            raise ConfigError(f"metrics.listen: cannot listen on {host}:{port}: {err}") from err
        self._server = server
        bound = int(server.server_address[1])
        log.info("metrics on http://%s:%d/metrics", host, bound)
        return bound

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

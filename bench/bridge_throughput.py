"""How many verified alerts a second the cloud bridge turns into tickets and acks, and how long
one waits, from MQTT publish to the ack on its gateway's ``ack`` topic.

For each database (SQLite file, PostgreSQL on 127.0.0.1:5432) and each number of bridge
instances (one shared MQTT 5 subscription), this starts a private mosquitto on a free loopback
port and that many ``cloud-bridge run`` processes (HTTP off, log level INFO as deployed, logs to
a file), then publishes alerts signed with real gateway keys (QoS 1, 20 gateways; every other
message opens a ticket, the others add evidence to it) at fixed offered loads, each run bounded
in count (``--seconds`` x load) and time (``--drain-timeout``), plus a burst (``--burst``
messages at once) for the throughput ceiling. Per run: acks received, sustained ack rate, p50 /
p99 / max publish-to-ack latency, and the bridges' and the broker's CPU.

``--profile`` samples the one-instance bridge with py-spy during its burst and prints where its
CPU goes (all threads: the event loop and the database worker). ``--micro N`` times the steps of
one alert in this process, without MQTT (signature, schema, whole verification, recording on
each database, ack schema), and counts the SQL statements per alert.

    .venv/bin/python bench/bridge_throughput.py                       # everything, ~10 min
    .venv/bin/python bench/bridge_throughput.py --backends sqlite --instances 1 --loads 100
    .venv/bin/python bench/bridge_throughput.py --instances 1 --profile --micro 500

Needs ``pip install -e '.[bench]'`` (py-spy for ``--profile``, psycopg).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_processes import (
    Mosquitto,
    ProcessSamples,
    load_average,
    machine_facts,
    markdown_table,
    stop_process,
)
from bench.pyspy_profile import profile_report, start_profiler, stop_profiler
from bench.signed_alert_load import (
    PREFIX,
    LoadGateway,
    check_same_as_gateway,
    make_gateways,
    postgres_database,
    write_bridge_config,
)

Key = tuple[str, int]  # (gateway id, sequence counter)


@dataclass
class RunResult:
    label: str
    offered: str
    sent: int
    acked: int
    accepted: int
    rate: float
    latencies: list[float]
    bridge_cpu: float
    broker_cpu: float

    def row(self, backend: str, instances: int) -> list[object]:
        def pct(q: int) -> str:
            if len(self.latencies) < 2:
                return "-"
            cuts = statistics.quantiles(self.latencies, n=100, method="inclusive")
            return f"{cuts[q - 1] * 1000:,.0f}"

        return [
            backend,
            instances,
            self.offered,
            f"{self.acked}/{self.sent} ({self.accepted} accepted)",
            f"{self.rate:,.0f}",
            pct(50),
            pct(99),
            f"{max(self.latencies) * 1000:,.0f}" if self.latencies else "-",
            f"{self.bridge_cpu * 100:.0f}",
            f"{self.broker_cpu * 100:.0f}",
        ]


HEADER = [
    "database",
    "bridges",
    "offered /s",
    "acked/sent",
    "acks /s",
    "p50 ms",
    "p99 ms",
    "max ms",
    "bridges CPU % of a core",
    "mosquitto CPU %",
]


class AckClock:
    """Publishes alerts and times their acks: two paho clients (MQTT 5, QoS 1)."""

    def __init__(self, port: int) -> None:
        self.sent: dict[Key, float] = {}
        self.acks: dict[Key, tuple[float, str]] = {}
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.listener = paho.Client(
            CallbackAPIVersion.VERSION2, client_id="bench-acks", protocol=paho.MQTTv5
        )
        self.listener.on_message = self._on_ack
        self.listener.on_subscribe = lambda *_: self._subscribed.set()
        self.listener.on_connect = lambda client, *_: client.subscribe(f"{PREFIX}/+/ack", qos=1)
        self.publisher = paho.Client(
            CallbackAPIVersion.VERSION2, client_id="bench-alerts", protocol=paho.MQTTv5
        )
        self.publisher.max_inflight_messages_set(1000)
        self.publisher.max_queued_messages_set(0)
        for client in (self.listener, self.publisher):
            client.connect("127.0.0.1", port)
            client.loop_start()
        if not self._subscribed.wait(10):
            raise TimeoutError("the ack listener could not subscribe")

    def _on_ack(self, _client: object, _userdata: object, message: paho.MQTTMessage) -> None:
        received = time.perf_counter()
        gateway_id = message.topic.split("/")[-2]
        body = json.loads(message.payload)
        with self._lock:
            self.acks[(gateway_id, int(body["seq"]["counter"]))] = (received, body["status"])

    def publish(self, topic: str, key: Key, payload: bytes) -> None:
        with self._lock:
            self.sent[key] = time.perf_counter()
        self.publisher.publish(topic, payload, qos=1)

    def acked(self, keys: list[Key]) -> int:
        with self._lock:
            return sum(1 for key in keys if key in self.acks)

    def close(self) -> None:
        for client in (self.publisher, self.listener):
            client.loop_stop()
            client.disconnect()


def signed_batch(gateways: list[LoadGateway], count: int) -> list[tuple[str, Key, bytes]]:
    iat = int(time.time())
    batch = []
    for i in range(count):
        gateway = gateways[i % len(gateways)]
        counter, token = gateway.next_message(iat)
        batch.append((gateway.topic, (gateway.gateway_id, counter), token))
    return batch


def offer(
    clock: AckClock,
    batch: list[tuple[str, Key, bytes]],
    rate: float | None,
    drain_timeout_s: float,
    bridges: list[ProcessSamples],
    broker: ProcessSamples,
) -> tuple[int, int, float, list[float], float, float]:
    """Publish ``batch`` at ``rate`` a second (all at once when None), wait for the acks."""
    keys = [key for _, key, _ in batch]
    for samples in [*bridges, broker]:
        samples.sample()
    started = time.perf_counter()
    for i, (topic, key, payload) in enumerate(batch):
        if rate is not None:
            delay = started + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        clock.publish(topic, key, payload)
    deadline = time.perf_counter() + drain_timeout_s
    while clock.acked(keys) < len(keys) and time.perf_counter() < deadline:
        time.sleep(0.05)
    for samples in [*bridges, broker]:
        samples.sample()
    with clock._lock:
        answered = {key: clock.acks[key] for key in keys if key in clock.acks}
        sent = {key: clock.sent[key] for key in keys}
    latencies = [answered[key][0] - sent[key] for key in answered]
    accepted = sum(1 for _, status in answered.values() if status == "accepted")
    if answered:
        last = max(t for t, _ in answered.values())
        ack_rate = len(answered) / max(last - started, 1e-6)
    else:
        ack_rate = 0.0
    wall = max(s.times[-1] - s.times[-2] for s in bridges)
    bridge_cpu = sum(s.cpu[-1] - s.cpu[-2] for s in bridges) / wall
    broker_cpu = (broker.cpu[-1] - broker.cpu[-2]) / wall
    return len(answered), accepted, ack_rate, latencies, bridge_cpu, broker_cpu


def start_bridges(
    directory: Path, gateways: list[LoadGateway], port: int, url: str, count: int
) -> list[subprocess.Popen[bytes]]:
    procs = []
    logs = []
    for i in range(count):
        config = write_bridge_config(
            directory / f"bridge-{i + 1}.toml",
            gateways,
            mqtt_port=port,
            database_url=url,
            instance=f"bench-{i + 1}",
        )
        log_path = directory / f"bridge-{i + 1}.log"
        log_path.write_bytes(b"")
        logs.append(log_path)
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "cloud_bridge", "run", str(config)],
                stdout=subprocess.DEVNULL,
                stderr=log_path.open("ab"),
            )
        )
    deadline = time.monotonic() + 60
    for proc, log_path in zip(procs, logs, strict=True):
        while b"subscribed to" not in log_path.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"bridge did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.1)
    return procs


@contextlib.contextmanager
def database(backend: str, directory: Path, tag: str) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{directory / f'tickets-{tag}.sqlite'}"
    else:
        with postgres_database() as url:
            yield url


def run_setup(
    args: argparse.Namespace,
    directory: Path,
    broker: Mosquitto,
    backend: str,
    instances: int,
) -> list[RunResult]:
    gateways = make_gateways(directory / f"{backend}-{instances}", args.gateways)
    check_same_as_gateway(gateways[0], int(time.time()))
    results: list[RunResult] = []
    with database(backend, directory, f"{instances}") as url:
        procs = start_bridges(directory, gateways, broker.port, url, instances)
        clock = AckClock(broker.port)
        bridges = [ProcessSamples(proc.pid) for proc in procs]
        assert broker.proc is not None
        broker_samples = ProcessSamples(broker.proc.pid)
        try:
            # Warm-up (schemas compiled, connections opened), not measured.
            offer(clock, signed_batch(gateways, 20 * instances), 200, 30, bridges, broker_samples)
            for load in args.loads:
                batch = signed_batch(gateways, int(load * args.seconds))
                measured = offer(clock, batch, load, args.drain_timeout, bridges, broker_samples)
                results.append(RunResult("load", f"{load:g}", len(batch), *measured))
            if args.burst:
                batch = signed_batch(gateways, args.burst)
                profiler = None
                if args.profile and instances == 1:
                    profiler = start_profiler(procs[0].pid, directory / f"{backend}.pyspy")
                measured = offer(clock, batch, None, args.drain_timeout, bridges, broker_samples)
                results.append(RunResult("burst", f"burst {args.burst}", len(batch), *measured))
                if profiler is not None:
                    stop_profiler(profiler)
                    print(f"\n### Where the bridge's CPU goes ({backend}, burst)\n")
                    print(profile_report(directory / f"{backend}.pyspy", PROFILE_ROWS))
        finally:
            clock.close()
            for proc in procs:
                stop_process(proc)
    return results


# What one alert's work is made of: a sample counts for a row when one of its frames matches
# (nested rows: a frame matching the first pattern, and below it one matching another).
PROFILE_ROWS = [
    ("MQTT client (aiomqtt, paho)", ("aiomqtt/", "paho/")),
    ("verify_alert (all checks)", ("verify_alert (",)),
    (
        "  Ed25519 JWS verify (joserfc deserialize_compact)",
        ("verify_alert (", "deserialize_compact ("),
    ),
    (
        "  JSON Schema of the claims (jsonschema, referencing)",
        ("verify_alert (", "contract_errors ("),
    ),
    ("record_alert (database transaction)", ("record_alert (",)),
    ("  SQLAlchemy (Python side)", ("record_alert (", "sqlalchemy/")),
    (
        "  driver calls (do_execute, do_commit, psycopg)",
        ("record_alert (", "do_execute (", "do_commit (", "psycopg/"),
    ),
    ("  JSON of evidence (json.dumps/loads)", ("record_alert (", "json/")),
    ("  waiting on PostgreSQL (psycopg Connection.wait)", ("record_alert (", "Connection.wait (")),
    ("ack body schema check (_ack)", ("_ack (",)),
    ("logging", ("logging/",)),
    ("waking the event loop from the worker thread", ("_write_to_self (", "_read_from_self (")),
]

TICKETS_LATER = 50_000


def add_closed_tickets(db: object, count: int) -> None:
    """Closed tickets of other gateways, written in one statement (what years of cases leave)."""
    from sqlalchemy import insert

    from cloud_bridge.store.schema import tickets

    now = datetime.now(UTC)
    rows = [
        {
            "gateway_id": f"old-gw-{i % 500}",
            "unit_id": f"u{i}",
            "kind": "overcrowding",
            "state": "closed",
            "street_office": "bench-office",
            "created_at": now,
            "updated_at": now,
            "alert_id": f"old.{i}",
            "revision": 0,
            "legal_cap": 2,
            "estimate_point": 5.0,
            "estimate_low": 4.0,
            "estimate_high": 6.0,
            "confidence": 0.9,
            "summary": "closed long ago",
            "evidence": "{}",
            "is_open": False,
        }
        for i in range(count)
    ]
    with db._engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(insert(tickets), rows)


# -- micro breakdown ----------------------------------------------------------------------------


def micro(directory: Path, count: int, backends: list[str]) -> str:
    from joserfc import jws
    from sqlalchemy import event

    from cloud_bridge.config import load_bridge_config
    from cloud_bridge.ingest.contract import contract_errors
    from cloud_bridge.ingest.verification import VerifiedAlert, verify_alert
    from cloud_bridge.store.tickets_db import TicketsDB

    gateways = make_gateways(directory / "micro", 4)
    config_path = write_bridge_config(
        directory / "micro.toml",
        gateways,
        mqtt_port=1,
        database_url=f"sqlite:///{directory / 'micro.sqlite'}",
        instance="micro",
    )
    config = load_bridge_config(config_path)
    batch = signed_batch(gateways, count)
    now = datetime.now(UTC)
    contract_errors("ack", {})  # compile the schemas
    for topic, _, payload in batch[:50]:  # warm every code path before timing
        verify_alert(topic, payload, config.registry, now.timestamp(), config.limits)

    def per_alert(step: object, items: list[object] | None = None) -> tuple[float, float]:
        """Wall and CPU (this process) seconds per item: CPU is what a loaded machine does
        not inflate; the difference is waiting (for the database, or for a core)."""
        items = list(batch) if items is None else items
        wall, cpu = time.perf_counter(), time.process_time()
        for item in items:
            step(item)  # type: ignore[operator]
        n = len(items)
        return (time.perf_counter() - wall) / n, (time.process_time() - cpu) / n

    def key_of(topic: str) -> object:
        gateway = config.registry[topic.split("/")[-2]]
        return next(iter(gateway.keys.values()))

    claims = {key: json.loads(jws.extract_compact(p).payload) for _, key, p in batch}
    timings = [
        (
            "JWS parse, no verification (extract_compact)",
            per_alert(lambda b: jws.extract_compact(b[2])),
        ),
        (
            "Ed25519 JWS verification (deserialize_compact)",
            per_alert(
                lambda b: jws.deserialize_compact(b[2], key_of(b[0]), algorithms=["Ed25519"])
            ),
        ),
        (
            "claims JSON Schema (contract_errors envelope-claims)",
            per_alert(lambda b: contract_errors("envelope-claims", claims[b[1]])),
        ),
        (
            "verify_alert, all checks",
            per_alert(
                lambda b: verify_alert(b[0], b[2], config.registry, now.timestamp(), config.limits)
            ),
        ),
    ]

    def verified_batch(signed: list[tuple[str, Key, bytes]]) -> list[VerifiedAlert]:
        verified = []
        for topic, _, payload in signed:
            verdict = verify_alert(topic, payload, config.registry, now.timestamp(), config.limits)
            assert isinstance(verdict, VerifiedAlert), verdict
            verified.append(verdict)
        return verified

    verified = verified_batch(batch)
    later = verified_batch(signed_batch(gateways, count))
    statements = {}
    for backend in backends:
        with database(backend, directory, "micro") as url:
            db = TicketsDB(url, actor="micro")
            db.create_schema()
            executed: collections.Counter[str] = collections.Counter()
            event.listen(
                db._engine, "before_cursor_execute", lambda *_, c=executed: c.update(["sql"])
            )
            record = per_alert(lambda a, db=db: db.record_alert(a, "bench-office", now), verified)
            timings.append((f"record_alert on {backend}", record))
            statements[backend] = executed["sql"] / len(verified)
            # The same once the tickets table holds a city's worth of (closed) tickets.
            add_closed_tickets(db, TICKETS_LATER)
            record = per_alert(lambda a, db=db: db.record_alert(a, "bench-office", now), later)
            timings.append((f"record_alert on {backend}, {TICKETS_LATER:,} tickets", record))
            db.close()
    ack = {
        "alert_id": "a.b",
        "seq": {"boot_epoch": 1, "counter": 1},
        "status": "accepted",
        "ticket_id": 1,
    }
    timings.append(
        ("ack body schema (contract_errors ack)", per_alert(lambda _: contract_errors("ack", ack)))
    )
    rows = [
        [name, f"{wall * 1e6:,.0f}", f"{cpu * 1e6:,.0f}", f"{1 / max(cpu, 1e-9):,.0f}"]
        for name, (wall, cpu) in timings
    ]
    counts = ", ".join(f"{b}: {n:.1f}" for b, n in statements.items())
    return (
        f"{count} alerts in this process, no MQTT; SQL statements per alert: {counts}\n\n"
        + markdown_table(
            ["step", "wall µs per alert", "CPU µs per alert", "alerts/s per core (CPU)"], rows
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--instances", default="1,2,3")
    parser.add_argument("--loads", default="100,500,1000", help="offered alerts/s, comma-separated")
    parser.add_argument("--seconds", type=float, default=5.0, help="each load lasts this long")
    parser.add_argument("--burst", type=int, default=3000, help="messages at once; 0: none")
    parser.add_argument("--drain-timeout", type=float, default=60.0)
    parser.add_argument("--gateways", type=int, default=20)
    parser.add_argument("--profile", action="store_true", help="py-spy the 1-bridge burst")
    parser.add_argument("--micro", type=int, default=0, help="in-process breakdown of N alerts")
    args = parser.parse_args()
    args.loads = [float(x) for x in args.loads.split(",") if x]
    backends = [b for b in args.backends.split(",") if b]
    print(machine_facts())
    rows = []
    with tempfile.TemporaryDirectory(prefix="bridge-bench-") as tmp:
        directory = Path(tmp)
        if args.micro:
            print("\n### One alert's steps\n")
            print(micro(directory, args.micro, backends))
        broker = Mosquitto(directory).start()
        try:
            for backend in backends:
                for instances in (int(x) for x in args.instances.split(",") if x):
                    for result in run_setup(args, directory, broker, backend, instances):
                        rows.append(result.row(backend, instances))
                        print("  ", " | ".join(str(c) for c in rows[-1]), flush=True)
        finally:
            broker.stop()
    print(f"\n### Throughput and latency (load average at end {load_average()})\n")
    print(markdown_table(HEADER, rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

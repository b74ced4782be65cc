"""The whole chain as real processes, for fault injection: a mosquitto of its own, the demo
building played by ``firmware-sim serve``, ``gateway run`` and one or more ``cloud-bridge run``,
all on one simulated clock, with configs written into a work directory.

Faults are real: SIGKILL of a process, a broker killed and restarted on the same port, a store
deleted, a filesystem that is full. Alerts are either raised by the gateway itself or queued
into its outbox through its own store API (:meth:`Chain.queue_alerts`: the sequence and the
signature the day closer would give them), when the fault is about delivery, not detection.

Both stores are read directly (SQLite for the gateway; SQLAlchemy for the bridge, SQLite or
PostgreSQL), so every check compares what was raised with what was received.
"""

from __future__ import annotations

import ctypes
import getpass
import os
import signal
import sqlite3
import subprocess
import sys
import time
import tomllib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import tomli_w
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from building_demo.brokers import mosquitto_executable
from building_demo.processes import free_port, wait_for_port
from gateway.store.gateway_store import GatewayStore
from gateway.store.outbox import OutboxMessage
from gateway.wire.contract import require_valid
from gateway.wire.keys import load_signing_key
from gateway.wire.signer import EnvelopeSigner
from simclock import SimClock

BIN = Path(sys.executable).parent
EXAMPLES = Path(__file__).resolve().parents[2] / "config" / "demo"
SIM_START = "2026-03-01T00:00:00+08:00"
GATEWAY_ID = "rel-gw-0001"
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


@dataclass
class Proc:
    """One child process with its own log file (appended to across restarts)."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        if self.alive:
            self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(10)

    def stop(self, grace: float = 10.0) -> None:
        if self.alive:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""


def start_process(name: str, argv: list[str], log: Path, cwd: Path) -> Proc:
    with log.open("ab") as out:
        out.write(f"--- start {' '.join(argv[:2])}\n".encode())
        out.flush()
        popen = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_die_with_parent,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    return Proc(name, popen, log)


@dataclass
class Broker:
    """A mosquitto on a fixed loopback port that can be killed and started again on it. With
    ``persistent``, sessions and queued messages are saved (every ``autosave_s``, and on a
    clean stop) in the work directory and resumed by the next start."""

    workdir: Path
    port: int
    persistent: bool = False
    autosave_s: int = 1800
    proc: Proc | None = None

    def start(self) -> None:
        config = self.workdir / "mosquitto.conf"
        persistence = (
            f"persistence true\npersistence_location {self.workdir}/\n"
            f"autosave_interval {self.autosave_s}\n"
            if self.persistent
            else "persistence false\n"
        )
        config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\nuser {getpass.getuser()}\n"
            f"{persistence}max_queued_messages 100000\nmax_inflight_messages 100\n"
            "log_dest stdout\nlog_type error\nlog_type warning\n",
            encoding="utf-8",
        )
        self.proc = start_process(
            "mosquitto",
            [mosquitto_executable(), "-c", str(config)],
            self.workdir / "mosquitto.log",
            self.workdir,
        )
        if not wait_for_port(self.port, 15):
            raise RuntimeError(f"mosquitto did not listen on {self.port}:\n{self.proc.log_text()}")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()


def alert_body(unit_id: str, kind: str, revision: int, raised_at: datetime) -> dict[str, Any]:
    """A valid alert body for one case (``unit_id``, ``kind``): its ``revision``-th update."""
    point = 8.0 + revision % 5
    day = raised_at.date()
    body: dict[str, Any] = {
        "schema": "bldg.alert/v1",
        "alert_id": f"{GATEWAY_ID}.{unit_id}.{kind}.20260301",
        "revision": revision,
        "gateway_id": GATEWAY_ID,
        "unit_id": unit_id,
        "kind": kind,
        "raised_at": raised_at.isoformat(),
        "window": {"from": (day - timedelta(days=2)).isoformat(), "to": day.isoformat()},
        "legal_cap": 2,
        "estimated_occupancy": {"point": point, "low": point - 2, "high": point + 2},
        "confidence": 0.95,
        "unit": {"floor": 3, "area_m2": 44.0, "rooms": 1},
        "evidence": {
            "summary": f"Water for about {point:g} people in a flat with a legal cap of 2.",
            "signals": ["water", "electricity"],
            "days": [
                {"date": day.isoformat(), "water_m3": 1.1, "electricity_kwh": 15.0,
                 "estimate": point},
            ],
        },
    }  # fmt: skip
    require_valid("alert", body)
    return body


def case_of(index: int, cases: int) -> tuple[str, str]:
    """The (unit, kind) case the ``index``-th queued alert belongs to."""
    kinds = ("overcrowding", "leak", "meter_fault")
    case = index % cases
    return f"q{case // 3:03d}", kinds[case % 3]


@dataclass
class Chain:
    """Configs, processes and stores of one run. Use as a context manager: everything it
    started is stopped (and killed if need be) on exit."""

    workdir: Path
    time_scale: float = 3600.0
    persistent_broker: bool = False
    database_url: str | None = None
    max_message_age_s: float = 30 * 86400.0
    store_dir: Path | None = None
    store_section: dict[str, Any] = field(default_factory=dict)
    poll_interval_s: int = 900
    with_building: bool = True
    gateway_mqtt_port: int | None = None  # reach the broker through this port (a flaky link)
    clock: SimClock = field(init=False)
    broker: Broker = field(init=False)
    gateway: Proc | None = field(init=False, default=None)
    bridges: dict[str, Proc] = field(init=False, default_factory=dict)
    building: Proc | None = field(init=False, default=None)
    queued: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.clock = SimClock.from_args(SIM_START, time.time(), self.time_scale)
        self.mqtt_port, self.modbus_port = free_port(), free_port()
        self.broker = Broker(self.workdir, self.mqtt_port, persistent=self.persistent_broker)
        self.database_url = self.database_url or f"sqlite:///{self.workdir / 'tickets.sqlite'}"
        store_dir = self.store_dir or self.workdir
        self.store_path = store_dir / "gateway.sqlite"
        self._keygen()
        self.gateway_config = self._write_gateway_config()

    def __enter__(self) -> Chain:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()

    # -- configuration ----------------------------------------------------------------------

    def _keygen(self) -> None:
        keys = self.workdir / "keys"
        subprocess.run(
            [str(BIN / "gateway"), "keygen", "--id", GATEWAY_ID, "--out-dir", str(keys)],
            check=True,
            capture_output=True,
        )
        self.key_file = keys / f"{GATEWAY_ID}.key.pem"
        self.public_key_file = keys / f"{GATEWAY_ID}.pub.pem"

    def _write_gateway_config(self) -> Path:
        config = tomllib.loads((EXAMPLES / "gateway.toml").read_text(encoding="utf-8"))
        config["gateway"].update(
            {"id": GATEWAY_ID, "key_file": str(self.key_file), "store_path": str(self.store_path)}
        )
        config["mqtt"].update(
            {
                "port": self.gateway_mqtt_port or self.mqtt_port,
                "resend_after_s": 2.0,
                "resend_max_s": 8.0,
                "keepalive_s": 5,
            }
        )
        config["polling"]["interval_s"] = self.poll_interval_s
        config["store"] = {"budget_check_s": 1.0, **self.store_section}
        for bus in config["modbus_tcp"]:
            bus.update({"port": self.modbus_port, "timeout_s": 0.5, "retries": 0})
        path = self.workdir / "gateway.toml"
        path.write_text(tomli_w.dumps(config), encoding="utf-8")
        return path

    def bridge_config(self, instance: str) -> Path:
        config = tomllib.loads((EXAMPLES / "bridge.toml").read_text(encoding="utf-8"))
        config["bridge"].update(
            {
                "instance": instance,
                "database_url": self.database_url,
                "max_message_age_s": self.max_message_age_s,
            }
        )
        config["mqtt"].update({"port": self.mqtt_port, "keepalive_s": 5})
        config["http"] = {"enabled": False}
        config["gateways"] = [
            {
                "id": GATEWAY_ID,
                "public_key_files": [str(self.public_key_file)],
                "street_office": "linfen-road",
            }
        ]
        path = self.workdir / f"bridge-{instance}.toml"
        path.write_text(tomli_w.dumps(config), encoding="utf-8")
        return path

    # -- processes --------------------------------------------------------------------------

    def start_building(self) -> None:
        building = tomllib.loads((EXAMPLES / "building.toml").read_text(encoding="utf-8"))
        building["modbus_tcp"] = {"host": "127.0.0.1", "port": self.modbus_port}
        path = self.workdir / "building.toml"
        path.write_text(tomli_w.dumps(building), encoding="utf-8")
        self.building = start_process(
            "firmware-sim",
            [str(BIN / "firmware-sim"), "serve", str(path), *self.clock.to_args()],
            self.workdir / "firmware-sim.log",
            self.workdir,
        )
        if not wait_for(lambda: "READY" in self._building_log(), 60):
            raise RuntimeError(f"firmware-sim did not start:\n{self._building_log()}")

    def _building_log(self) -> str:
        assert self.building is not None
        if not self.building.alive:
            raise RuntimeError(f"firmware-sim exited:\n{self.building.log_text()}")
        return self.building.log_text()

    def start(self, *, bridges: Iterable[str] = ("bridge-1",), gateway: bool = True) -> None:
        """Broker, building, bridges, gateway: the order a deployment comes up in."""
        self.broker.start()
        if self.with_building:
            self.start_building()
        for instance in bridges:
            self.start_bridge(instance)
        if gateway:
            self.start_gateway()

    def start_gateway(self) -> Proc:
        self.gateway = start_process(
            "gateway",
            [str(BIN / "gateway"), "run", str(self.gateway_config), *self.clock.to_args(),
             "--log-format", "text"],
            self.workdir / "gateway.log",
            self.workdir,
        )  # fmt: skip
        return self.gateway

    def start_bridge(self, instance: str) -> Proc:
        config = self.bridge_config(instance)
        self.bridges[instance] = start_process(
            instance,
            [str(BIN / "cloud-bridge"), "run", str(config), *self.clock.to_args(),
             "--log-format", "text"],
            self.workdir / f"{instance}.log",
            self.workdir,
        )  # fmt: skip
        return self.bridges[instance]

    def wait_bridge_subscribed(self, instance: str, starts: int, timeout: float = 60) -> None:
        proc = self.bridges[instance]
        ok = wait_for(
            lambda: proc.log_text().count("subscribed to") >= starts or not proc.alive, timeout
        )
        if not ok or not proc.alive:
            raise RuntimeError(f"{instance} did not subscribe:\n{proc.log_text()[-3000:]}")

    def stop_all(self) -> None:
        procs = [self.gateway, *self.bridges.values(), self.building, self.broker.proc]
        for proc in procs:
            if proc is not None:
                proc.stop(5)

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}"
            for p in sorted(self.workdir.glob("*.log"))
        )

    # -- the gateway's store ----------------------------------------------------------------

    def queue_alerts(self, count: int, cases: int, *, new_boot: bool = False) -> None:
        """Put ``count`` alerts into the gateway's outbox, as a day close does: the next
        sequence of the store, signed, one transaction. Alert ``i`` updates case ``i % cases``
        (revision ``i // cases`` of it), numbered on from the alerts queued before."""
        store = GatewayStore(self.store_path)
        try:
            if new_boot or store.db.meta("boot_id") is None:
                store.sequence.start_boot()
            signer = EnvelopeSigner(GATEWAY_ID, load_signing_key(self.key_file))
            topic = f"bldg/v1/{GATEWAY_ID}/alert"
            now = self.clock.now()
            with store.transaction():
                for i in range(self.queued, self.queued + count):
                    unit, kind = case_of(i, cases)
                    body = alert_body(unit, kind, i // cases, now)
                    seq = store.sequence.next()
                    token = signer.sign_alert(topic, int(now.timestamp()), seq, body)
                    message = OutboxMessage(
                        seq, topic, token, body["alert_id"], unit, kind, i // cases, 0, body
                    )
                    store.outbox.enqueue(message, now)
        finally:
            store.close()
        self.queued += count

    def outbox(self) -> list[dict[str, Any]]:
        with sqlite3.connect(f"file:{self.store_path}?mode=ro", uri=True, timeout=10) as conn:
            conn.row_factory = sqlite3.Row
            return [
                dict(r)
                for r in conn.execute(
                    "SELECT boot_id, boot_epoch, counter, alert_id, revision, unit_id, kind,"
                    " ack_status, ack_reason, sent_count, created_at FROM outbox"
                )
            ]

    def quick_check(self) -> str:
        with sqlite3.connect(self.store_path, timeout=10) as conn:
            return str(conn.execute("PRAGMA quick_check").fetchone()[0])

    # -- the bridge's store -----------------------------------------------------------------

    def bridge_rows(self, query: str) -> list[tuple[Any, ...]]:
        assert self.database_url is not None
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.execute(text(query))]
        except SQLAlchemyError:  # the schema is not there yet: nothing received
            return []
        finally:
            engine.dispose()

    def received(self) -> list[tuple[Any, ...]]:
        return self.bridge_rows(
            "SELECT boot_id, boot_epoch, counter, alert_id, revision FROM alerts_received"
        )

    def drained(self) -> bool:
        """Every alert in the outbox acknowledged, and the bridge holds every one of them."""
        rows = self.outbox()
        if not rows or any(r["ack_status"] is None for r in rows):
            return False
        got = {(r[3], r[4]) for r in self.received()}
        return all((r["alert_id"], r["revision"]) in got for r in rows)

    def verdict(self) -> Verdict:
        """What was raised against what was received and ticketed."""
        rows = self.outbox()
        raised = {(r["alert_id"], r["revision"]) for r in rows}
        received = self.received()
        by_alert = Counter((r[3], r[4]) for r in received)
        tickets = Counter(
            (r[0], r[1]) for r in self.bridge_rows("SELECT unit_id, kind FROM tickets")
        )
        cases = {(r["unit_id"], r["kind"]) for r in rows}
        return Verdict(
            raised=len(raised),
            delivered=len(raised & set(by_alert)),
            lost=sorted(raised - set(by_alert)),
            twice=sorted(a for a, n in by_alert.items() if n > 1),
            rejected=sorted(
                (r["alert_id"], r["revision"], r["ack_reason"])
                for r in rows
                if r["ack_status"] == "rejected"
            ),
            duplicate_acks=sum(1 for r in rows if r["ack_status"] == "duplicate"),
            tickets_per_case=dict(tickets),
            cases=cases,
        )


@dataclass(frozen=True)
class Verdict:
    raised: int
    delivered: int
    lost: list[tuple[str, int]]
    twice: list[tuple[str, int]]
    rejected: list[tuple[str, int, str]]
    duplicate_acks: int
    tickets_per_case: dict[tuple[str, str], int]
    cases: set[tuple[str, str]]

    def problems(self) -> list[str]:
        """Empty when nothing was lost, nothing received twice and one ticket per case."""
        found = []
        if self.lost:
            found.append(f"{len(self.lost)} raised alerts never received: {self.lost[:5]}")
        if self.twice:
            found.append(f"alerts received under two sequences: {self.twice[:5]}")
        if self.rejected:
            found.append(f"alerts rejected: {self.rejected[:5]}")
        extra = {c: n for c, n in self.tickets_per_case.items() if n != 1}
        if extra:
            found.append(f"cases with more than one ticket: {extra}")
        missing = self.cases - set(self.tickets_per_case)
        if missing:
            found.append(f"cases without a ticket: {sorted(missing)[:5]}")
        return found

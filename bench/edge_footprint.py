"""The gateway's footprint on a 1,000-flat building: CPU, memory, disk writes, sweep, day close.

A simulated tower (25 floors x 40 flats: an electricity and a water meter in every flat, gas in
every other one, 2,500 meters; 4 lifts counting stops at every floor) is served by
``firmware-sim serve`` processes over Modbus TCP, one per RS485-to-TCP converter (up to 240
device ids each, 11 converters), on one simulated clock running at real speed from
23:55 building time. One ``gateway run`` polls it every 60 s and publishes to a private
mosquitto on a free loopback port. Before the gateway starts, its store is filled with the
readings it would have taken since midnight (same schema, written by the bench), so the day
close a few minutes into the run (``day_close_delay_s`` 60) works on a whole day of 1,000
flats, as it does every night.

Measured from ``/proc/<pid>`` once a second over ``--minutes`` (at least 10 for the report):
CPU seconds per hour and share of one core (steady: outside the start-up and the day close;
and the day close itself), steady and peak RSS, bytes written (``/proc/<pid>/io``
``write_bytes``) and the growth of the SQLite files, per hour and per day; the day close's
duration (midnight + delay to the gateway's "closed" log line) and the latency from that
moment to the daily summary's arrival over MQTT. ``--profile`` samples the gateway with py-spy
(non-blocking: the gateway is never paused) for the whole run. Afterwards, ``--sweeps N``
times N sweeps of the building through the gateway's own pollers with each read plan
(``bench/modbus_sweep.py``): Modbus requests per sweep and sweep time, coalesced or not.

    .venv/bin/python bench/edge_footprint.py --minutes 12 --profile --sweeps 3
    .venv/bin/python bench/edge_footprint.py --minutes 3 --floors 5       # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
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
    mib,
    stop_process,
)
from bench.edge_building import (
    plan_building,
    prefill_store,
    write_gateway_config,
    write_simulator_files,
)
from bench.modbus_sweep import SWEEP_HEADER, measure_sweeps
from bench.pyspy_profile import profile_report, start_profiler, stop_profiler

BUILDING_TZ = "+08:00"
SIM_START = datetime.fromisoformat(f"2026-03-01T23:55:00{BUILDING_TZ}")
MIDNIGHT = datetime.fromisoformat(f"2026-03-02T00:00:00{BUILDING_TZ}")

PROFILE_ROWS = [
    ("polling (ModbusBusPoller.poll_once)", ("poll_once (",)),
    ("  pymodbus client (framing, transactions)", ("poll_once (", "pymodbus/")),
    ("  asyncio.timeout and the bus lock", ("poll_once (", "timeouts.py", "locks.py")),
    ("  register decoding (decode_blocks)", ("poll_once (", "decode_blocks (")),
    ("  MeterSample / clock.now()", ("poll_once (", "now (")),
    ("storing samples (add_samples, add_elevator_samples)", ("add_samples (", "add_elevator_")),
    ("day close (DayCloser.close_day)", ("close_day (",)),
    ("  readings_between (SQLite reads)", ("close_day (", "readings_between (")),
    ("  case_state / save_case_state (a transaction each)", ("close_day (", "case_state (")),
    ("  detector core (close_building_day)", ("close_day (", "close_building_day (")),
    ("  lift counters (floor_stops)", ("close_day (", "floor_stops (")),
    ("pruning (prune_readings, ...)", ("prune_",)),
    ("uplink and MQTT (aiomqtt, paho)", ("uplink.py", "aiomqtt/", "paho/")),
    ("logging", ("logging/",)),
]


class MqttWatch:
    """Arrival times of everything the gateway publishes."""

    def __init__(self, port: int) -> None:
        self.arrivals: list[tuple[float, str, dict[str, object]]] = []
        self._lock = threading.Lock()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-watch")
        self.client.on_connect = lambda client, *_: client.subscribe("bldg/v1/#", qos=1)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, _c: object, _u: object, message: paho.MQTTMessage) -> None:
        try:
            body = json.loads(message.payload)
        except ValueError:
            body = {}
        with self._lock:
            self.arrivals.append((time.time(), message.topic, body))

    def first(self, leaf: str) -> float | None:
        with self._lock:
            return next((t for t, topic, _ in self.arrivals if topic.endswith(leaf)), None)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def start_simulators(
    paths: list[Path], anchor: float, log_dir: Path
) -> list[tuple[subprocess.Popen[bytes], int]]:
    clock = ["--sim-start", SIM_START.isoformat(), "--sim-anchor", f"{anchor:.3f}"]
    started = []
    for path in paths:
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "firmware_sim", "serve", str(path), "--port", "0"),
                *(*clock, "--time-scale", "1", "--log-level", "WARNING"),
            ],
            stdout=subprocess.PIPE,
            stderr=(log_dir / f"{path.stem}.log").open("wb"),
        )
        started.append(proc)
    served = []
    for proc, path in zip(started, paths, strict=True):
        assert proc.stdout is not None
        line = proc.stdout.readline().decode().strip()  # READY modbus-tcp 127.0.0.1:PORT
        if not line.startswith("READY"):
            raise RuntimeError(f"{path.name}: simulator did not start: {line!r}")
        served.append((proc, int(line.rsplit(":", 1)[1])))
    return served


def store_bytes(store: Path) -> int:
    """The database file's size once its WAL is checkpointed into it (the gateway stopped)."""
    conn = sqlite3.connect(store)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return store.stat().st_size


def rows_since(store: Path, since: datetime) -> tuple[int, int]:
    """Readings and lift-counter rows stored from ``since`` on."""
    conn = sqlite3.connect(store)
    try:
        ts = since.timestamp()
        readings = conn.execute("SELECT COUNT(*) FROM readings WHERE ts >= ?", (ts,)).fetchone()
        lifts = conn.execute("SELECT COUNT(*) FROM elevator_stops WHERE ts >= ?", (ts,)).fetchone()
        return int(readings[0]), int(lifts[0])
    finally:
        conn.close()


def log_time(line: str) -> float:
    """The wall time of a log line written with logging's default ``asctime`` (local time)."""
    return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").astimezone().timestamp()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=12.0)
    parser.add_argument("--floors", type=int, default=25)
    parser.add_argument("--flats-per-floor", type=int, default=40)
    parser.add_argument("--interval", type=float, default=60.0, help="polling, building seconds")
    parser.add_argument("--day-close-delay", type=float, default=60.0)
    parser.add_argument("--no-prefill", action="store_true")
    parser.add_argument("--profile", action="store_true", help="py-spy the gateway")
    parser.add_argument("--sweeps", type=int, default=0, help="then time N sweeps per plan")
    args = parser.parse_args()
    print(machine_facts())
    building = plan_building(args.floors, args.flats_per_floor)
    with tempfile.TemporaryDirectory(prefix="edge-bench-") as tmp:
        directory = Path(tmp)
        store = directory / "gateway.sqlite"
        prefilled = 0
        if not args.no_prefill:
            day_start = MIDNIGHT - timedelta(days=1)
            prefilled = prefill_store(building, store, day_start, SIM_START, args.interval)
        print(
            f"building: {len(building.flats)} flats, {building.meters} meters, 4 lifts on"
            f" {len(building.converters)} converters; {prefilled:,} readings pre-filled"
        )
        anchor = time.time() + 20  # building time 23:55 this many seconds from now
        sims = start_simulators(write_simulator_files(building, directory), anchor, directory)
        broker = Mosquitto(directory).start()
        watch = MqttWatch(broker.port)
        gateway = profiler = None
        try:
            for converter, (_, port) in zip(building.converters, sims, strict=True):
                converter.port = port
            config_path = write_gateway_config(
                building,
                directory / "gateway.toml",
                mqtt_port=broker.port,
                interval_s=args.interval,
                day_close_delay_s=args.day_close_delay,
            )
            from gateway.config.gateway_file import load_gateway_config
            from gateway.wire.keys import generate_key_pair

            generate_key_pair(directory / "bench-gw.key.pem", directory / "bench-gw.pub.pem")
            if time.time() > anchor - 2:
                raise RuntimeError("preparing took too long; the simulated clock ran ahead")
            time.sleep(max(0.0, anchor - time.time()))
            store_at_start = store_bytes(store) if store.exists() else 0
            gateway_log = directory / "gateway.log"
            gateway = subprocess.Popen(
                [
                    *(sys.executable, "-m", "gateway", "run", str(config_path)),
                    *("--sim-start", SIM_START.isoformat(), "--sim-anchor", f"{anchor:.3f}"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=gateway_log.open("wb"),
            )
            if args.profile:
                profiler = start_profiler(
                    gateway.pid, directory / "gateway.pyspy", rate=50, nonblocking=True
                )
            samples = ProcessSamples(gateway.pid)
            started = time.monotonic()
            wall_at = time.time() - time.monotonic()  # monotonic -> wall
            while time.monotonic() - started < args.minutes * 60 and gateway.poll() is None:
                samples.sample()
                time.sleep(1.0)
            samples.sample()
            if profiler is not None:
                stop_profiler(profiler)
            rc = stop_process(gateway)
            store_at_end = store_bytes(store)
            readings_added, lift_rows_added = rows_since(store, SIM_START)
        finally:
            watch.close()
            if gateway is not None:
                stop_process(gateway)
            for proc, _ in sims:
                stop_process(proc)
            broker.stop()
        log_lines = gateway_log.read_text(errors="replace").splitlines()
        warnings = [line for line in log_lines if " WARNING " in line or " ERROR " in line]
        closed = next((log_time(line) for line in log_lines if " closed 2026-03-01:" in line), None)
        close_at = anchor + (MIDNIGHT - SIM_START).total_seconds() + args.day_close_delay
        summary_at = watch.first("/summary")

        def monotonic(wall: float) -> float:
            return wall - wall_at

        startup_end = monotonic(anchor) + args.interval + 15
        close_end = monotonic(closed + 15) if closed else monotonic(close_at + 120)
        steady_a = samples.window(startup_end, monotonic(close_at) - 2)
        after = samples.window(close_end)
        during = samples.window(monotonic(close_at) - 2, close_end)
        steady_cpu = steady_a.cpu_used_s + after.cpu_used_s
        steady_wall = steady_a.elapsed_s + after.elapsed_s
        steady_written = steady_a.written_bytes + after.written_bytes
        hours = samples.elapsed_s / 3600
        grown = store_at_end - store_at_start
        rows = [
            ["gateway exit code", rc],
            ["run (wall = building time)", f"{samples.elapsed_s / 60:.1f} min"],
            ["CPU, whole run", f"{samples.cpu_used_s:.1f} s ({100 * samples.core_share:.2f} %)"],
            [
                "CPU, steady polling (outside start-up and day close)",
                f"{3600 * steady_cpu / steady_wall:.1f} s per hour"
                f" ({100 * steady_cpu / steady_wall:.2f} % of one core)"
                if steady_wall
                else "-",
            ],
            ["CPU, day close (1 day, all flats)", f"{during.cpu_used_s:.1f} s"],
            [
                "day close: midnight + delay to 'closed' log line",
                f"{closed - close_at:.1f} s" if closed else "not seen",
            ],
            [
                "midnight + delay to daily summary received over MQTT",
                f"{summary_at - close_at:.1f} s" if summary_at else "not received",
            ],
            ["RSS, steady median", f"{mib(steady_a.rss_median)} MiB"],
            ["RSS, peak", f"{mib(samples.rss_peak)} MiB"],
            [
                "disk writes (/proc io write_bytes), steady",
                f"{mib(3600 * steady_written / steady_wall)} MiB/h,"
                f" {mib(86400 * steady_written / steady_wall)} MiB/day"
                if steady_wall
                else "-",
            ],
            ["disk writes, day close", f"{mib(during.written_bytes)} MiB"],
            [
                "SQLite file growth (WAL checkpointed)",
                f"{mib(grown)} MiB in the run, {mib(grown / hours)} MiB/h,"
                f" {mib(24 * grown / hours)} MiB/day",
            ],
            [
                "rows stored in the run (readings, lift counters)",
                f"{readings_added:,}, {lift_rows_added:,}"
                f" ({grown / max(1, readings_added + lift_rows_added):.0f} B per row)",
            ],
            ["warnings and errors logged", len(warnings)],
        ]
        print(f"\n### Gateway footprint (load average at end {load_average()})\n")
        print(markdown_table(["measure", "value"], rows))
        for line in warnings[:5]:
            print("   ", line[:200])
        if args.profile:
            print("\n### Where the gateway's CPU goes (whole run)\n")
            print(profile_report(directory / "gateway.pyspy", PROFILE_ROWS))
        if args.sweeps:
            sweep_sims = start_simulators(
                write_simulator_files(building, directory), time.time(), directory
            )
            try:
                for converter, (_, port) in zip(building.converters, sweep_sims, strict=True):
                    converter.port = port
                config = load_gateway_config(
                    write_gateway_config(
                        building,
                        directory / "gateway.toml",
                        mqtt_port=1883,
                        interval_s=args.interval,
                        day_close_delay_s=args.day_close_delay,
                    )
                )
                sweep_rows = asyncio.run(measure_sweeps(config, args.sweeps))
            finally:
                for proc, _ in sweep_sims:
                    stop_process(proc)
            print(f"\n### One sweep of the building, median of {args.sweeps}\n")
            print(markdown_table(SWEEP_HEADER, sweep_rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

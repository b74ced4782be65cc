"""Our gateway and the incumbent (ThingsBoard IoT Gateway 3.8.x) polling the same meters at the
same interval, at the same time: CPU and memory of each, and their ratio.

The meters: ``--meters`` simulated Eastron SDM120s (device ids 1..N) behind one Modbus TCP
converter, played by ``firmware-sim serve`` (one simulator per gateway, same building file and
seed, so neither waits for the other's requests). The broker: a private mosquitto on a free
loopback port, which both gateways publish to (the incumbent treats it as its ThingsBoard
platform: it connects with an access token as user name and publishes telemetry; nothing
answers its requests but a stand-in for its platform's session-limits RPC).

- ours: ``gateway run`` with one unit per meter (an ``electricity_kwh`` meter, profile
  ``eastron_sdm120``), ``[polling] interval_s`` = the interval; it reads the energy total, one
  request per meter per poll, and stores it in its SQLite store (it publishes only alerts);
- the incumbent: its shipped ``tb_gateway.json`` with the broker's host and port, memory
  storage, ``remoteConfiguration`` off (no platform to configure it), everything else as
  shipped (statistics on, report strategy ON_RECEIVED, its ``logs.json`` levels, files in the
  run's directory); one Modbus connector with one slave per meter (type tcp, ``pollPeriod`` the
  interval in ms, big-endian bytes and words), reading ``--tb-values`` time series per meter
  (4: voltage, current, active power, total energy, float32 input registers; 1: the energy
  total only, the same work as ours) and publishing them.

Both start together; each interval runs ``--minutes`` after a warm-up (the incumbent takes
several seconds to start), with /proc sampled once a second. Telemetry messages the incumbent
publishes are counted, to show it was polling.

    sh bench/incumbent/setup_venv.sh                      # once: its own venv, gitignored
    .venv/bin/python bench/incumbent/side_by_side.py --intervals 1,60 --minutes 5
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.bench_processes import (
    Mosquitto,
    ProcessSamples,
    load_average,
    machine_facts,
    markdown_table,
    mib,
    stop_process,
)

HERE = Path(__file__).resolve().parent
TB_VENV = HERE / ".venv-tb"
TB_PACKAGE_CONFIG = "lib/python3.11/site-packages/thingsboard_gateway/config"
# The platform's answer to getSessionLimits: no rate limits.
SESSION_LIMITS = {
    "rateLimits": {"messages": "0:0,"},
    "maxInflightMessages": 100,
    "maxPayloadSize": 65536,
}
NO_INTERNET = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
SDM120_SERIES = [  # (tag, input register address): float32, 2 registers, high word first
    ("voltage", 0x0000),
    ("current", 0x0006),
    ("power", 0x000C),
    ("energy", 0x0156),
]


def write_building(path: Path, meters: int) -> Path:
    lines = ["[building]", 'id = "bench-100"', "[modbus_tcp]", 'host = "127.0.0.1"', "port = 0"]
    for i in range(1, meters + 1):
        lines += [
            "[[units]]",
            f'unit_id = "u{i:03d}"',
            "floor = 1",
            "area_m2 = 60.0",
            "rooms = 2",
            "occupants = 2",
            "[[units.meters]]",
            'kind = "electricity_kwh"',
            'device = "eastron_sdm120"',
            f"device_id = {i}",
            "initial_total = 1000.0",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_our_config(directory: Path, meters: int, sim_port: int, mqtt_port: int, interval: float):
    from gateway.wire.keys import generate_key_pair

    key = directory / "ours.key.pem"
    if not key.exists():
        generate_key_pair(key, directory / "ours.pub.pem")
    lines = [
        "[gateway]",
        'id = "bench-ours"',
        f'key_file = "{key.name}"',
        'store_path = "ours.sqlite"',
        "[mqtt]",
        'host = "127.0.0.1"',
        f"port = {mqtt_port}",
        "[polling]",
        f"interval_s = {interval}",
        "[[modbus_tcp]]",
        'name = "converter"',
        'host = "127.0.0.1"',
        f"port = {sim_port}",
    ]
    for i in range(1, meters + 1):
        lines += [
            "[[units]]",
            f'unit_id = "u{i:03d}"',
            "floor = 1",
            "area_m2 = 60.0",
            "rooms = 2",
            "  [[units.meters]]",
            '  kind = "electricity_kwh"',
            '  bus = "converter"',
            f"  device_id = {i}",
            '  profile = "eastron_sdm120"',
        ]
    path = directory / "ours.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_tb_config(
    directory: Path, meters: int, sim_port: int, mqtt_port: int, interval: float, values: int
) -> Path:
    """The incumbent's config directory: tb_gateway.json, logs.json, modbus.json."""
    shipped = TB_VENV / TB_PACKAGE_CONFIG
    config_dir = directory / "tb-config"
    (directory / "tb-logs").mkdir(exist_ok=True)
    config_dir.mkdir(exist_ok=True)
    gateway = json.loads((shipped / "tb_gateway.json").read_text())
    gateway["thingsboard"].update(host="127.0.0.1", port=mqtt_port, remoteConfiguration=False)
    gateway["thingsboard"]["security"] = {"type": "accessToken", "accessToken": "bench-token"}
    gateway["storage"] = {"type": "memory", "read_records_count": 100, "max_records_count": 100000}
    gateway["connectors"] = [{"type": "modbus", "name": "Modbus", "configuration": "modbus.json"}]
    (config_dir / "tb_gateway.json").write_text(json.dumps(gateway, indent=2))
    logs = (shipped / "logs.json").read_text().replace("./logs/", f"{directory / 'tb-logs'}/")
    (config_dir / "logs.json").write_text(logs)
    series = [
        {
            "tag": tag,
            "type": "32float",
            "functionCode": 4,
            "objectsCount": 2,
            "address": address,
        }
        for tag, address in SDM120_SERIES[-values:]
    ]
    slaves = [
        {
            "host": "127.0.0.1",
            "port": sim_port,
            "type": "tcp",
            "method": "socket",
            "unitId": i,
            "deviceName": f"SDM120 {i:03d}",
            "deviceType": "default",
            "timeout": 1,
            "byteOrder": "BIG",
            "wordOrder": "BIG",
            "retries": 1,
            "pollPeriod": int(interval * 1000),
            "attributes": [],
            "timeseries": series,
            "attributeUpdates": [],
            "rpc": [],
        }
        for i in range(1, meters + 1)
    ]
    (config_dir / "modbus.json").write_text(json.dumps({"master": {"slaves": slaves}}, indent=2))
    return config_dir


class PlatformStandIn:
    """What the incumbent needs of its platform, on the private broker: an answer to its
    ``getSessionLimits`` RPC (no rate limits; without it, it never publishes telemetry), and
    a count of the telemetry messages it publishes."""

    def __init__(self, port: int) -> None:
        self.count = 0
        self._lock = threading.Lock()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-platform")
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    @staticmethod
    def _on_connect(client: paho.Client, *_: object) -> None:
        client.subscribe([("v1/gateway/telemetry", 0), ("v1/devices/me/rpc/request/+", 1)])

    def _on_message(self, client: paho.Client, _u: object, message: paho.MQTTMessage) -> None:
        if message.topic.startswith("v1/devices/me/rpc/request/"):
            request_id = message.topic.rsplit("/", 1)[1]
            body = json.loads(message.payload or b"{}")
            answer = SESSION_LIMITS if body.get("method") == "getSessionLimits" else {}
            client.publish(f"v1/devices/me/rpc/response/{request_id}", json.dumps(answer), qos=1)
            return
        with self._lock:
            self.count += 1

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def serve(building: Path, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "firmware_sim", "serve", str(building)),
            *("--port", "0", "--log-level", "WARNING"),
        ],
        stdout=subprocess.PIPE,
        stderr=log.open("wb"),
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().decode().strip()
    if not line.startswith("READY"):
        raise RuntimeError(f"simulator did not start: {line!r}")
    return proc, int(line.rsplit(":", 1)[1])


def run_interval(args: argparse.Namespace, directory: Path, interval: float) -> list[list[object]]:
    run_dir = directory / f"interval-{interval:g}"
    run_dir.mkdir()
    building = write_building(run_dir / "building.toml", args.meters)
    broker = Mosquitto(run_dir).start()
    procs: list[subprocess.Popen[bytes]] = []
    telemetry = PlatformStandIn(broker.port)
    try:
        sim_ours, port_ours = serve(building, run_dir / "sim-ours.log")
        sim_tb, port_tb = serve(building, run_dir / "sim-tb.log")
        procs += [sim_ours, sim_tb]
        ours_config = write_our_config(run_dir, args.meters, port_ours, broker.port, interval)
        tb_config = write_tb_config(
            run_dir, args.meters, port_tb, broker.port, interval, args.tb_values
        )
        ours = subprocess.Popen(
            [sys.executable, "-m", "gateway", "run", str(ours_config)],
            stdout=subprocess.DEVNULL,
            stderr=(run_dir / "ours.log").open("wb"),
        )
        procs.append(ours)
        tb = subprocess.Popen(
            [str(TB_VENV / "bin" / "thingsboard-gateway")],
            cwd=run_dir,
            # Its update check (HTTPS to its vendor) goes to a closed loopback port instead.
            env={**os.environ, "TB_GW_CONFIG_DIR": str(tb_config)} | NO_INTERNET,
            stdout=(run_dir / "tb-stdout.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        procs.append(tb)
        time.sleep(args.warmup)
        ours_samples, tb_samples = ProcessSamples(ours.pid), ProcessSamples(tb.pid)
        telemetry_start = telemetry.count
        started = time.monotonic()
        while time.monotonic() - started < args.minutes * 60:
            ours_samples.sample()
            tb_samples.sample()
            time.sleep(1.0)
        ours_samples.sample()
        tb_samples.sample()
        telemetry_rate = (telemetry.count - telemetry_start) / (time.monotonic() - started)
        alive = ours.poll() is None, tb.poll() is None
    finally:
        telemetry.close()
        for proc in reversed(procs):
            stop_process(proc)
        broker.stop()
    rows = []
    for name, samples, up in (
        ("ours", ours_samples, alive[0]),
        ("incumbent", tb_samples, alive[1]),
    ):
        rows.append(
            [
                f"{interval:g} s",
                name,
                "yes" if up else "NO",
                f"{100 * samples.core_share:.2f}",
                f"{3600 * samples.core_share:.0f}",
                mib(samples.rss_median),
                mib(samples.rss_peak),
                f"{telemetry_rate:.1f}" if name == "incumbent" else "-",
            ]
        )
    ratio = tb_samples.core_share / max(ours_samples.core_share, 1e-9)
    rss_ratio = tb_samples.rss_median / max(ours_samples.rss_median, 1)
    rows.append(
        [f"{interval:g} s", "incumbent / ours", "", f"{ratio:.1f}x", "", f"{rss_ratio:.2f}x"]
    )
    rows[-1] += ["", ""]
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intervals", default="1,60", help="poll intervals, seconds")
    parser.add_argument("--minutes", type=float, default=5.0, help="measured, per interval")
    parser.add_argument("--warmup", type=float, default=30.0, help="seconds before measuring")
    parser.add_argument("--meters", type=int, default=100)
    parser.add_argument("--tb-values", type=int, choices=(1, 4), default=4)
    args = parser.parse_args()
    if not (TB_VENV / "bin" / "thingsboard-gateway").exists():
        print("run `sh bench/incumbent/setup_venv.sh` first", file=sys.stderr)
        return 2
    version = subprocess.run(
        [str(TB_VENV / "bin" / "python"), "-m", "pip", "show", "thingsboard-gateway"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    tb_version = next((x.split()[1] for x in version.splitlines() if x.startswith("Version")), "?")
    print(machine_facts())
    print(
        f"{args.meters} SDM120 meters; incumbent thingsboard-gateway {tb_version} reading"
        f" {args.tb_values} value(s) per meter; ours reading 1 (the energy total)"
    )
    rows = []
    with tempfile.TemporaryDirectory(prefix="incumbent-bench-") as tmp:
        for interval in (float(x) for x in args.intervals.split(",") if x):
            rows += run_interval(args, Path(tmp), interval)
            print("  ", rows[-3:], flush=True)
    header = [
        "poll",
        "gateway",
        "still running",
        "CPU % of one core",
        "CPU s per hour",
        "RSS median MiB",
        "RSS peak MiB",
        "telemetry msgs/s",
    ]
    print(f"\n### Side by side (load average at end {load_average()})\n")
    print(markdown_table(header, rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

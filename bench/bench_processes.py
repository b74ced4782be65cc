"""What every performance benchmark needs: the machine's facts, free loopback ports, a private
mosquitto, child processes started and stopped by PID, and their CPU, memory and disk writes
read from ``/proc``.

Only loopback addresses are used. A process started here is stopped here, by its own PID
(SIGTERM, then SIGKILL after a grace period), never by name.
"""

from __future__ import annotations

import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def machine_facts() -> str:
    """One Markdown line: CPUs, CPU model, Python, the load when the run started."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"machine: {os.cpu_count()} CPUs ({model}), {platform.machine()},"
        f" Python {platform.python_version()}; load average at start {load}"
    )


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout_s:.0f} s")


def stop_process(proc: subprocess.Popen[bytes], grace_s: float = 10.0) -> int | None:
    """SIGTERM the process by its PID, then SIGKILL it if it has not ended within ``grace_s``."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return proc.returncode


@dataclass
class Mosquitto:
    """A private broker on a free loopback port, with queues deep enough that a slow consumer
    falls behind instead of losing messages (mosquitto's default drops past 1,000 queued)."""

    directory: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Mosquitto:
        self.port = self.port or free_port()
        conf = self.directory / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence false\n"
            "max_queued_messages 1000000\n"
            "max_inflight_messages 100\n"
            "log_dest stderr\n"
            "log_type error\n"
            "log_type warning\n",
            encoding="utf-8",
        )
        log = (self.directory / "mosquitto.log").open("wb")
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT
        )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_bytes(pid: int) -> int:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE


def write_bytes(pid: int) -> int:
    """Bytes the process has caused to be written to storage (``/proc/<pid>/io``)."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    return 0


@dataclass
class ProcessSamples:
    """CPU, RSS and disk writes of one process, sampled on demand."""

    pid: int
    times: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)
    written: list[int] = field(default_factory=list)

    def sample(self) -> None:
        try:
            cpu, rss, written = cpu_seconds(self.pid), rss_bytes(self.pid), write_bytes(self.pid)
        except (OSError, ValueError):
            return  # the process has ended
        self.times.append(time.monotonic())
        self.cpu.append(cpu)
        self.rss.append(rss)
        self.written.append(written)

    def window(self, start: float, end: float = float("inf")) -> ProcessSamples:
        """The samples taken from ``start`` to ``end`` (``time.monotonic()`` values)."""
        keep = [i for i, t in enumerate(self.times) if start <= t <= end]
        return ProcessSamples(
            self.pid,
            [self.times[i] for i in keep],
            [self.cpu[i] for i in keep],
            [self.rss[i] for i in keep],
            [self.written[i] for i in keep],
        )

    @property
    def elapsed_s(self) -> float:
        return self.times[-1] - self.times[0] if len(self.times) > 1 else 0.0

    @property
    def core_share(self) -> float:
        """CPU seconds per wall second over the samples (1.0 is one core)."""
        if self.elapsed_s <= 0:
            return 0.0
        return (self.cpu[-1] - self.cpu[0]) / self.elapsed_s

    @property
    def cpu_used_s(self) -> float:
        return self.cpu[-1] - self.cpu[0] if self.cpu else 0.0

    @property
    def written_bytes(self) -> int:
        return self.written[-1] - self.written[0] if self.written else 0

    @property
    def rss_median(self) -> float:
        return statistics.median(self.rss) if self.rss else 0.0

    @property
    def rss_peak(self) -> int:
        return max(self.rss) if self.rss else 0


def mib(n: float) -> str:
    return f"{n / 2**20:.1f}"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)

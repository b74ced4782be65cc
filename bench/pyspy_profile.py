"""Sampling a running benchmark process with py-spy, and reading its samples back as tables.

py-spy (``pip install -e '.[bench]'``) attaches to a PID and samples every thread's Python
stack without changing the program. Its ``raw`` output is one line per distinct stack,
``frame;frame;...;leaf count``, each frame ``function (file:line)``. :func:`profile_report`
turns that into two tables: the share of busy samples inside each named part of the program
(a row matches a sample when one of its frames contains the row's pattern; an indented row
counts only below a frame matching its first pattern), and the functions where the samples
were taken (self time). Stacks whose leaf is a known wait (a selector, an idle worker thread)
are left out, so the shares are of CPU, not of waiting.
"""

from __future__ import annotations

import collections
import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bench.bench_processes import markdown_table, stop_process

ProfileRows = Sequence[tuple[str, tuple[str, ...]]]

# Leaf frames of a thread that waits (py-spy cannot always tell waiting threads from busy ones).
IDLE_LEAVES = (
    "Selector.select (selectors.py",
    "_worker (concurrent/futures/thread.py:81)",
    "Condition.wait (threading.py",
)


def start_profiler(
    pid: int, out: Path, *, rate: int = 100, nonblocking: bool = False
) -> subprocess.Popen[bytes]:
    """py-spy sampling ``pid`` into ``out`` until :func:`stop_profiler`."""
    py_spy = Path(sys.executable).with_name("py-spy")
    command = [str(py_spy), "record", "--pid", str(pid), "--rate", str(rate)]
    command += ["--format", "raw", "--output", str(out)]
    if nonblocking:
        command.append("--nonblocking")  # never pauses the target: its CPU stays its own
    proc = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=out.with_suffix(".log").open("wb")
    )
    time.sleep(1.0)  # py-spy attaches
    return proc


def stop_profiler(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT (SIGTERM loses it)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(30)
    stop_process(proc)


def profile_report(path: Path, rows: ProfileRows, top: int = 15) -> str:
    if not path.exists():
        log = path.with_suffix(".log")
        return "(py-spy wrote no profile: " + (log.read_text() if log.exists() else "") + ")"
    stacks: list[tuple[list[str], int]] = []
    idle = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not (stack and count.isdigit()):
            continue
        frames = stack.split(";")
        if any(leaf in frames[-1] for leaf in IDLE_LEAVES):
            idle += int(count)
        else:
            stacks.append((frames, int(count)))
    total = sum(count for _, count in stacks) or 1
    table = []
    for label, needles in rows:
        hit = 0
        nested = label.startswith("  ")
        for frames, count in stacks:
            if nested:
                inside = [i for i, f in enumerate(frames) if needles[0] in f]
                below = frames[inside[0] :] if inside else []
                if any(n in f for f in below for n in needles[1:]):
                    hit += count
            elif any(n in f for f in frames for n in needles):
                hit += count
        table.append([label, f"{100 * hit / total:.1f}"])
    leaf: collections.Counter[str] = collections.Counter()
    for frames, count in stacks:
        leaf[frames[-1]] += count
    leaves = [[name, f"{100 * count / total:.1f}"] for name, count in leaf.most_common(top)]
    return (
        f"{total} busy samples (py-spy, all threads; {idle} waiting samples left out)\n\n"
        + markdown_table(["inclusive", "% of busy samples"], table)
        + "\n\n"
        + markdown_table(["self (top frames)", "% of busy samples"], leaves)
    )

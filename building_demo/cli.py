"""``building-demo`` (what ``make demo`` runs): a whole demo building on this machine.

Interactive by default: it prints what happens until Ctrl-C. With ``--until-tickets N`` it runs
headless and exits 0 after printing the first ticket as JSON on stdout once N tickets exist, or
exits 1 with a clear message when ``--timeout`` passes first. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from datetime import datetime
from pathlib import Path
from types import FrameType

from rich.console import Console

from building_demo.brokers import BROKERS, broker_command
from building_demo.demo_accounts import create_demo_accounts
from building_demo.processes import (
    DemoError,
    ProcessGroup,
    free_port,
    port_is_free,
    wait_for_port,
)
from building_demo.progress import WireWatcher, fetch_tickets
from building_demo.workspace import prepare_workspace
from simclock import SimClock

DEFAULT_START = "2026-03-01T00:00:00+08:00"
STARTUP_LEAD_S = 4.0  # wall seconds before the simulated first day begins


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="building-demo",
        description="Run a demo building (meters, broker, gateway, cloud bridge, web UI) locally.",
    )
    parser.add_argument("--broker", choices=BROKERS, default="embedded", help="MQTT broker to run")
    parser.add_argument(
        "--time-scale", type=float, default=3600.0, help="simulated seconds per wall second"
    )
    parser.add_argument("--sim-start", default=DEFAULT_START, help="simulated start (ISO 8601)")
    parser.add_argument("--http-port", type=int, default=8080, help="web UI and API port")
    parser.add_argument("--workdir", type=Path, default=Path(".demo"), help="files of this run")
    parser.add_argument(
        "--until-tickets", type=int, default=0, help="exit 0 once this many tickets exist"
    )
    parser.add_argument("--timeout", type=float, default=0.0, help="give up after N wall seconds")
    return parser.parse_args(argv)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(stderr=True, highlight=False)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    group = ProcessGroup(args.workdir.resolve() / "logs")
    watcher: WireWatcher | None = None
    try:
        watcher, code = _run(args, console, group)
        return code
    except DemoError as err:
        console.print(f"[red]demo failed:[/red] {err}")
        return 1
    except KeyboardInterrupt:
        console.print("stopping...")
        return 0
    finally:
        if watcher is not None:
            watcher.stop()
        group.stop_all()
        if group.log_dir.exists():
            console.print(f"logs of this run: {group.log_dir}")


def _run(
    args: argparse.Namespace, console: Console, group: ProcessGroup
) -> tuple[WireWatcher | None, int]:
    if not port_is_free(args.http_port):
        raise DemoError(f"port {args.http_port} is in use; choose another with --http-port")
    bin_dir = Path(sys.executable).parent
    mqtt_port, modbus_port = free_port(), free_port()
    files = prepare_workspace(
        args.workdir.resolve(),
        bin_dir,
        mqtt_port=mqtt_port,
        modbus_port=modbus_port,
        http_port=args.http_port,
    )
    try:
        clock = SimClock.from_args(
            args.sim_start, time.time() + STARTUP_LEAD_S / 1.0, args.time_scale
        )
    except ValueError as err:
        raise DemoError(str(err)) from err
    clock_args = clock.to_args()
    console.print(
        f"[bold]demo building[/bold]: simulated clock from {args.sim_start},"
        f" {args.time_scale:g}x (one simulated day every {86400 / args.time_scale:.0f} s)"
    )

    group.start("broker", broker_command(args.broker, files.workdir, mqtt_port), files.workdir)
    if not wait_for_port(mqtt_port, 15):
        group.check_alive()
        raise DemoError(f"the {args.broker} MQTT broker did not listen on port {mqtt_port}")
    console.print(f"  MQTT broker ({args.broker}) on 127.0.0.1:{mqtt_port}")

    sim = group.start(
        "firmware-sim",
        [
            str(bin_dir / "firmware-sim"),
            "serve",
            str(files.building),
            "--port",
            str(modbus_port),
            *clock_args,
        ],
        files.workdir,
    )
    group.wait_for_line(sim, "READY", 30)
    console.print(f"  simulated meters (Modbus TCP) on 127.0.0.1:{modbus_port}")

    accounts = create_demo_accounts(bin_dir, files.bridge, files.street_office)
    group.start(
        "cloud-bridge",
        [str(bin_dir / "cloud-bridge"), "run", str(files.bridge), *clock_args],
        files.workdir,
    )
    deadline = time.monotonic() + 30
    while fetch_tickets(args.http_port, accounts.watch_token) is None:
        group.check_alive()
        if time.monotonic() > deadline:
            raise DemoError("the cloud bridge's HTTP API did not answer within 30 s")
        time.sleep(0.2)
    console.print(f"  cloud bridge, web UI at [bold]http://127.0.0.1:{args.http_port}/[/bold]")
    for name, role, password in accounts.logins:
        console.print(f"    sign in as {role} [bold]{name}[/bold], password {password}")

    watcher = WireWatcher("127.0.0.1", mqtt_port, "bldg/v1")
    group.start(
        "gateway", [str(bin_dir / "gateway"), "run", str(files.gateway), *clock_args], files.workdir
    )
    console.print(f"  gateway {files.gateway_id} polling the meters")
    if files.group_rental_units:
        console.print(
            f"  scenario: unit(s) {', '.join(files.group_rental_units)} will turn into a group"
            " rental; watch for the alert and the ticket"
            + ("" if args.until_tickets else " (Ctrl-C stops everything)")
        )
    return watcher, _watch(args, console, group, watcher, clock, accounts.watch_token)


def _watch(
    args: argparse.Namespace,
    console: Console,
    group: ProcessGroup,
    watcher: WireWatcher,
    clock: SimClock,
    token: str,
) -> int:
    started = time.monotonic()
    seen_tickets: set[int] = set()
    next_ticket_poll = 0.0
    while True:
        group.check_alive()
        now = clock.now()
        while not watcher.events.empty():
            event = watcher.events.get_nowait()
            style = {"alert": "bold yellow", "ack": "green"}.get(event.kind, "")
            _say(console, now, event.text, style)
        if time.monotonic() >= next_ticket_poll:
            next_ticket_poll = time.monotonic() + 1.0
            tickets = fetch_tickets(args.http_port, token) or []
            for ticket in tickets:
                if ticket["id"] not in seen_tickets:
                    seen_tickets.add(ticket["id"])
                    _say(
                        console,
                        now,
                        f"TICKET #{ticket['id']} {ticket['state']}: {ticket['kind']} at unit"
                        f" {ticket['unit_id']}, routed to {ticket.get('street_office', '?')}",
                        "bold red",
                    )
            if args.until_tickets and len(tickets) >= args.until_tickets:
                print(json.dumps(tickets[0], indent=2, ensure_ascii=False), flush=True)
                return 0
        if args.timeout and time.monotonic() - started > args.timeout:
            raise DemoError(
                f"no {args.until_tickets or 1} ticket(s) within {args.timeout:.0f} s"
                f" (simulated time reached {now:%Y-%m-%d %H:%M}); see the logs"
            )
        time.sleep(0.2)


def _say(console: Console, now: datetime, text: str, style: str = "") -> None:
    stamp = f"[dim]{now:%Y-%m-%d %H:%M} (simulated)[/dim]"
    console.print(f"{stamp} [{style}]{text}[/{style}]" if style else f"{stamp} {text}")


if __name__ == "__main__":
    raise SystemExit(main())

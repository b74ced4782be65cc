"""The demo's accounts: a dispatcher and an inspector of the demo building's street office, with
random passwords the demo prints at start, and a read-only token the demo itself uses to watch
the tickets. Created with ``cloud-bridge users add`` and ``tokens create``, as an operator
would (the password goes through standard input, never the command line)."""

from __future__ import annotations

import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

from building_demo.processes import DemoError


@dataclass(frozen=True)
class DemoAccounts:
    logins: tuple[tuple[str, str, str], ...]  # (name, role, password)
    watch_token: str  # the demo's own api_client token


def _cloud_bridge(bin_dir: Path, args: list[str], stdin: str = "") -> str:
    result = subprocess.run(
        [str(bin_dir / "cloud-bridge"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise DemoError(f"cloud-bridge {args[0]} {args[1]} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def create_demo_accounts(bin_dir: Path, bridge_config: Path, street_office: str) -> DemoAccounts:
    config = str(bridge_config)
    logins = []
    for name, role in (("demo-dispatcher", "dispatcher"), ("demo-inspector", "inspector")):
        password = secrets.token_urlsafe(12)
        _cloud_bridge(
            bin_dir,
            ["users", "add", config, "--name", name, "--role", role,
             "--street-office", street_office, "--password-stdin"],
            password + "\n",
        )  # fmt: skip
        logins.append((name, role, password))
    _cloud_bridge(
        bin_dir,
        ["users", "add", config, "--name", "demo-watch", "--role", "api_client",
         "--street-office", street_office],
    )  # fmt: skip
    token = _cloud_bridge(
        bin_dir, ["tokens", "create", config, "--account", "demo-watch", "--label", "demo"]
    )
    return DemoAccounts(tuple(logins), token.splitlines()[-1])

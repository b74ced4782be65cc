"""The local checks of ``gateway doctor``: files, store, clock, radio; one small function each.

Each returns :class:`Check` rows (pass, warn or fail, what was found, and a hint for what to do)
and never raises for what it is checking: a missing file is a failed check, not a traceback.
The store is opened read-only (``mode=ro``), so a doctor can run beside a running gateway. The
checks that talk to devices and the broker live in ``gateway.tools.doctor``.
"""

from __future__ import annotations

import shutil
import sqlite3
import stat
import subprocess
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from cryptography import x509

from gateway.config.gateway_file import GatewayConfig
from gateway.errors import ConfigError
from gateway.wire.keys import key_id, load_signing_key

OUTBOX_WARN_AGE_S = 3600.0  # an alert unacknowledged for an hour: the uplink or bridge lags
OUTBOX_FAIL_AGE_S = 24 * 3600.0
CERT_WARN_DAYS = 30
SYS_BLUETOOTH = Path("/sys/class/bluetooth")


class Verdict(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the report."""

    name: str
    verdict: Verdict
    detail: str
    hint: str = ""

    def as_dict(self) -> dict[str, str]:
        return {key: str(value) for key, value in asdict(self).items()}


def check_key_file(path: Path) -> Check:
    """The signing key exists, is an Ed25519 private key, and only its owner may read it."""
    name = "signing key"
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return Check(name, Verdict.FAIL, f"{path} not found", "create it: gateway keygen --id ...")
    if mode & 0o077:  # the daemon refuses such a key at start, so this is a fail
        what = "readable" if mode & 0o044 else "writable"
        return Check(
            name,
            Verdict.FAIL,
            f"{path} is {what} by others (mode {mode:04o})",
            f"chmod 600 {path}",
        )
    try:
        kid = key_id(load_signing_key(path))
    except ConfigError as err:
        return Check(name, Verdict.FAIL, str(err), "create a new one with gateway keygen")
    return Check(name, Verdict.PASS, f"{path.name}, mode {mode:04o}, key id {kid}")


def _query(path: Path, sql: str) -> list[tuple[object, ...]]:
    """The rows of ``sql`` on the store opened read-only; :class:`sqlite3.Error` if it fails."""
    uri = f"{path.resolve().as_uri()}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True, timeout=5)) as db:
        return db.execute(sql).fetchall()


def check_store(path: Path) -> Check:
    """The store passes SQLite's quick check; its size is reported."""
    name = "store"
    if not path.exists():
        return Check(name, Verdict.WARN, f"{path} does not exist yet", "gateway run creates it")
    try:
        result = [str(row[0]) for row in _query(path, "PRAGMA quick_check")]
    except sqlite3.Error as err:
        return Check(name, Verdict.FAIL, f"{path}: cannot be read: {err}", "check its owner")
    size = sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    if result != ["ok"]:
        return Check(
            name,
            Verdict.FAIL,
            f"{path}: {'; '.join(result[:3])}",
            "stop the gateway and restore the store from a backup",
        )
    return Check(name, Verdict.PASS, f"{path.name}: integrity ok, {size / 1e6:.1f} MB")


def check_outbox(path: Path, now: datetime) -> Check:
    """How many signed alerts wait for the cloud's answer, and since when."""
    name = "outbox"
    if not path.exists():
        return Check(name, Verdict.PASS, "no store yet, so nothing waiting")
    try:
        ((count, oldest),) = _query(
            path, "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE ack_status IS NULL"
        )
    except sqlite3.Error as err:
        return Check(name, Verdict.FAIL, f"cannot read the outbox: {err}")
    if not count:
        return Check(name, Verdict.PASS, "every alert acknowledged by the cloud")
    age = (now - datetime.fromisoformat(str(oldest))).total_seconds()
    detail = f"{count} waiting for the cloud, oldest for {_duration(age)}"
    if age > OUTBOX_FAIL_AGE_S:
        verdict = Verdict.FAIL
    elif age > OUTBOX_WARN_AGE_S:
        verdict = Verdict.WARN
    else:
        return Check(name, Verdict.PASS, detail)
    return Check(name, verdict, detail, "check the broker check above and the cloud bridge")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


Runner = Callable[[Sequence[str]], subprocess.CompletedProcess[str]]


def _run(command: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=5, check=False)


def check_clock(run: Runner = _run, which: Callable[[str], str | None] = shutil.which) -> Check:
    """The system clock is NTP-synchronised (days close at local midnight; alerts carry times)."""
    name = "clock"
    if which("timedatectl") is None:
        return Check(
            name,
            Verdict.WARN,
            "cannot tell: no timedatectl here",
            "make sure an NTP client (systemd-timesyncd, chrony) runs",
        )
    try:
        answer = run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"])
    except (OSError, subprocess.TimeoutExpired) as err:
        return Check(name, Verdict.WARN, f"cannot tell: timedatectl: {err}")
    value = answer.stdout.strip()
    if answer.returncode != 0 or value not in ("yes", "no"):
        return Check(
            name,
            Verdict.WARN,
            "cannot tell: timedatectl has no answer (no systemd?)",
            "make sure an NTP client runs",
        )
    if value == "no":
        return Check(
            name,
            Verdict.WARN,
            "not synchronised to NTP",
            "sudo timedatectl set-ntp true; check the network reaches an NTP server",
        )
    return Check(name, Verdict.PASS, "synchronised to NTP")


def check_ble(config: GatewayConfig, sys_bluetooth: Path = SYS_BLUETOOTH) -> Check:
    """The Bluetooth adapter named in ``[ble]`` exists (only when locks are configured). Whether
    the locks are heard needs a scan: ``gateway scan ble``."""
    name = "bluetooth"
    if not config.locks:
        return Check(name, Verdict.PASS, "no [[locks]] configured: not needed")
    if config.ble.transport == "bumble":
        return Check(
            name,
            Verdict.WARN,
            f"bumble transport {config.ble.bumble_transport}: not checkable here",
            "watch the log of gateway run for lock events",
        )
    adapter = sys_bluetooth / config.ble.adapter
    if not adapter.exists():
        return Check(
            name,
            Verdict.FAIL,
            f"no Bluetooth adapter {config.ble.adapter}",
            "check the adapter is fitted and bluetooth.service runs",
        )
    return Check(
        name,
        Verdict.WARN,
        f"adapter {config.ble.adapter} present; whether the"
        f" {len(config.locks)} locks are heard is not checked",
        "watch the log of gateway run for lock events",
    )


def check_tls_certificate(config: GatewayConfig, now: datetime) -> Check | None:
    """Days left on the client certificate in ``[mqtt] tls_cert_file``, when TLS is set up.
    Those settings may be absent from this version of the configuration: then None."""
    cert_file = getattr(config.mqtt, "tls_cert_file", None)
    if cert_file is None:
        return None
    name = "tls certificate"
    try:
        cert = x509.load_pem_x509_certificate(Path(cert_file).read_bytes())
    except (OSError, ValueError) as err:
        return Check(name, Verdict.FAIL, f"{cert_file}: cannot be read: {err}")
    days = (cert.not_valid_after_utc - now.astimezone(UTC)).days
    detail = f"{Path(cert_file).name}: {days} days left"
    if days < 0:
        return Check(name, Verdict.FAIL, detail, "the broker refuses it: install a new one")
    if days < CERT_WARN_DAYS:
        return Check(name, Verdict.WARN, detail, "renew it before it expires")
    return Check(name, Verdict.PASS, detail)


def now_utc() -> datetime:
    return datetime.now(UTC)

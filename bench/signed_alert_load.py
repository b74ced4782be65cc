"""Load for the cloud bridge: gateways with real key files, alerts signed as the gateway signs
them, a bridge configuration that registers them, and throw-away PostgreSQL databases.

Alerts are signed here with joserfc directly (the gateway's header and canonical claims), which
is several times faster than ``gateway.signer.EnvelopeSigner`` because it skips the gateway's
own schema check; :func:`check_same_as_gateway` proves the tokens are byte for byte the ones the
gateway would send (Ed25519 signatures are deterministic).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc import jws
from joserfc.jwk import OKPKey

from gateway.wire.keys import generate_key_pair, load_signing_key
from gateway.wire.signer import ALGORITHM, TOKEN_TYPE, EnvelopeSigner, Sequence

PREFIX = "bldg/v1"
POSTGRES_ADMIN = "host=127.0.0.1 port=5432 dbname=test connect_timeout=3"


def alert_body(gateway_id: str, unit_id: str, revision: int) -> dict[str, Any]:
    """An overcrowding alert as the detector raises it: a week of evidence days."""
    days = [
        {
            "date": f"2026-03-{day:02d}",
            "water_m3": 1.1 + day / 100,
            "electricity_kwh": 15.0 + day / 10,
            "gas_m3": 0.9,
            "estimate": 9.0,
            "context": {"water_vs_baseline": 3.9, "water_vs_building": 4.2},
            "by_signal": {"water": 9.2, "electricity": 8.1, "elevator": 7.5},
        }
        for day in range(1, 8 + revision)
    ]
    return {
        "schema": "bldg.alert/v1",
        "alert_id": f"{gateway_id}.{unit_id}.overcrowding.20260301",
        "revision": revision,
        "gateway_id": gateway_id,
        "unit_id": unit_id,
        "kind": "overcrowding",
        "raised_at": "2026-03-08T00:10:00+08:00",
        "window": {"from": "2026-03-01", "to": f"2026-03-{7 + revision:02d}"},
        "legal_cap": 2,
        "estimated_occupancy": {"point": 9.1, "low": 7.1, "high": 11.1},
        "confidence": 0.97,
        "unit": {"floor": 3, "area_m2": 44.0, "rooms": 1},
        "evidence": {
            "summary": "Water for about 9 people in a flat with a legal cap of 2.",
            "signals": ["water", "electricity", "elevator"],
            "days": days,
        },
    }


@dataclass
class LoadGateway:
    """One gateway's signing side. Messages alternate: a new case (revision 0, a new ticket),
    then an update of it (revision 1, evidence added to that ticket)."""

    gateway_id: str
    key: OKPKey
    public_key: Path
    counter: int = 0

    @property
    def topic(self) -> str:
        return f"{PREFIX}/{self.gateway_id}/alert"

    def next_message(self, iat: int) -> tuple[int, bytes]:
        """The next sequence counter and its signed message."""
        self.counter += 1
        case, revision = divmod(self.counter - 1, 2)
        claims = {
            "iss": self.gateway_id,
            "topic": self.topic,
            "iat": iat,
            "seq": {"boot_epoch": 1, "counter": self.counter},
            "alert": alert_body(self.gateway_id, f"u{case:06d}", revision),
        }
        header = {"alg": ALGORITHM, "kid": self.key.thumbprint(), "typ": TOKEN_TYPE}
        payload = json.dumps(claims, separators=(",", ":"), sort_keys=True).encode()
        token = jws.serialize_compact(header, payload, self.key, algorithms=[ALGORITHM])
        return self.counter, token.encode()


def make_gateways(directory: Path, count: int) -> list[LoadGateway]:
    gateways = []
    for i in range(count):
        gateway_id = f"bench-gw-{i:04d}"
        private = directory / "keys" / f"{gateway_id}.key.pem"
        public = directory / "keys" / f"{gateway_id}.pub.pem"
        generate_key_pair(private, public)
        gateways.append(LoadGateway(gateway_id, load_signing_key(private), public))
    return gateways


def check_same_as_gateway(gateway: LoadGateway, iat: int) -> None:
    """Raise unless this module signs exactly as the gateway does (schema-valid, same bytes)."""
    saved = gateway.counter
    counter, token = gateway.next_message(iat)
    gateway.counter = saved
    case, revision = divmod(counter - 1, 2)
    expected = EnvelopeSigner(gateway.gateway_id, gateway.key).sign_alert(
        gateway.topic,
        iat,
        Sequence(1, counter),
        alert_body(gateway.gateway_id, f"u{case:06d}", revision),
    )
    if expected.encode() != token:
        raise AssertionError("the bench signs differently from gateway.signer")


def write_bridge_config(
    path: Path, gateways: list[LoadGateway], *, mqtt_port: int, database_url: str, instance: str
) -> Path:
    lines = [
        "[bridge]",
        f'instance = "{instance}"',
        f'database_url = "{database_url}"',
        "[mqtt]",
        'host = "127.0.0.1"',
        f"port = {mqtt_port}",
        'protocol = "5"',
        'shared_group = "bench"',
        "[http]",
        "enabled = false",
        "[[street_offices]]",
        'id = "bench-office"',
        'name = "Bench Street Office"',
    ]
    for gateway in gateways:
        lines += [
            "[[gateways]]",
            f'id = "{gateway.gateway_id}"',
            f'public_key_files = ["{gateway.public_key}"]',
            'street_office = "bench-office"',
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database on 127.0.0.1:5432 (trust auth), its SQLAlchemy URL; dropped after."""
    import psycopg

    name = f"qunzu_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        user = admin.info.user
    try:
        yield f"postgresql+psycopg://{user}@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

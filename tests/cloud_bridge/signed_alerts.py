"""Test material for the cloud bridge: alert bodies, gateways that sign them with the real
gateway code, and bridge configuration files. Tests may import both packages; the packages
themselves never import each other."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from joserfc import jws

from gateway.wire.contract import require_valid
from gateway.wire.keys import generate_key_pair, load_signing_key
from gateway.wire.signer import ALGORITHM, TOKEN_TYPE, EnvelopeSigner, Sequence

NOW = 1_772_600_000  # 2026-03-04, building time of the tests' messages


def alert_body(
    gateway_id: str = "gw-1",
    unit_id: str = "0302",
    *,
    kind: str = "overcrowding",
    case_day: str = "20260302",
    revision: int = 0,
    point: float = 9.1,
    days: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "schema": "bldg.alert/v1",
        "alert_id": f"{gateway_id}.{unit_id}.{kind}.{case_day}",
        "revision": revision,
        "gateway_id": gateway_id,
        "unit_id": unit_id,
        "kind": kind,
        "raised_at": "2026-03-04T00:10:00+08:00",
        "window": {"from": "2026-03-02", "to": "2026-03-03"},
        "legal_cap": 2,
        "estimated_occupancy": {"point": point, "low": point - 2, "high": point + 2},
        "confidence": 0.97,
        "unit": {"floor": 3, "area_m2": 44.0, "rooms": 1},
        "evidence": {
            "summary": f"Water for about {point:g} people in a flat with a legal cap of 2.",
            "signals": ["water", "electricity"],
            "days": days
            if days is not None
            else [
                {"date": "2026-03-02", "water_m3": 1.1, "electricity_kwh": 15.0, "estimate": 9.0},
                {"date": "2026-03-03", "water_m3": 1.2, "electricity_kwh": 16.0, "estimate": 9.2},
            ],
        },
    }


@dataclass
class FakeGateway:
    """A gateway's signing side: the real key files and the real signer."""

    gateway_id: str
    private_key: Path
    public_key: Path
    kid: str
    prefix: str = "bldg/v1"
    boot_epoch: int = 1
    counter: int = 0
    # The gateway's boot id ("" signs without one, as gateways before boot ids did).
    boot_id: str = ""
    signer: EnvelopeSigner = field(init=False)

    def __post_init__(self) -> None:
        self.signer = EnvelopeSigner(self.gateway_id, load_signing_key(self.private_key))

    @property
    def topic(self) -> str:
        return f"{self.prefix}/{self.gateway_id}/alert"

    def sign(
        self,
        alert: dict[str, Any] | None = None,
        *,
        iat: int = NOW,
        topic: str | None = None,
        counter: int | None = None,
        boot_id: str | None = None,
    ) -> bytes:
        """A signed alert at the next sequence number (or at ``counter``), in this gateway's
        boot (or in boot ``boot_id``; ``""`` for none)."""
        if counter is None:
            self.counter += 1
            counter = self.counter
        body = copy.deepcopy(alert) if alert is not None else alert_body(self.gateway_id)
        boot_id = self.boot_id if boot_id is None else boot_id
        if not boot_id:
            token = self.signer.sign_alert(
                topic or self.topic, iat, Sequence(self.boot_epoch, counter), body
            )
            return token.encode()
        seq = {"boot_id": boot_id, "boot_epoch": self.boot_epoch, "counter": counter}
        claims = {"iss": self.gateway_id, "topic": topic or self.topic, "iat": iat, "seq": seq}
        return self._sign_claims(claims | {"alert": body})

    def _sign_claims(self, claims: dict[str, Any]) -> bytes:
        """Sign claims as the gateway's signer does (same header, key and serialization), for a
        sequence with a boot id, which the gateway's ``Sequence`` here does not carry yet."""
        require_valid("envelope-claims", claims)
        header = {"alg": ALGORITHM, "kid": self.kid, "typ": TOKEN_TYPE}
        payload = json.dumps(claims, separators=(",", ":"), sort_keys=True).encode()
        key = load_signing_key(self.private_key)
        return jws.serialize_compact(header, payload, key, algorithms=[ALGORITHM]).encode()


def make_gateway(directory: Path, gateway_id: str = "gw-1") -> FakeGateway:
    private = directory / "keys" / f"{gateway_id}.key.pem"
    public = directory / "keys" / f"{gateway_id}.pub.pem"
    if not private.exists():
        generate_key_pair(private, public)
    kid = EnvelopeSigner(gateway_id, load_signing_key(private)).kid
    return FakeGateway(gateway_id, private, public, kid)


def write_bridge_config(
    directory: Path,
    gateways: list[FakeGateway],
    *,
    mqtt_port: int = 1883,
    http_port: int = 8080,
    http_enabled: bool = False,
    database_url: str = "sqlite:///tickets.sqlite",
    instance: str = "bridge-1",
    protocol: str = "5",
    name: str = "bridge.toml",
) -> Path:
    lines = [
        "[bridge]",
        f'instance = "{instance}"',
        f'database_url = "{database_url}"',
        "[mqtt]",
        'host = "127.0.0.1"',
        f"port = {mqtt_port}",
        f'protocol = "{protocol}"',
        "[http]",
        f"enabled = {'true' if http_enabled else 'false'}",
        f"port = {http_port}",
        "[[street_offices]]",
        'id = "linfen-road"',
        'name = "Linfen Road Street Office"',
        "[[street_offices]]",
        'id = "pengpu"',
        'name = "Pengpu Town"',
    ]
    for gateway in gateways:
        lines += [
            "[[gateways]]",
            f'id = "{gateway.gateway_id}"',
            f'public_key_files = ["{gateway.public_key.relative_to(directory)}"]',
            'street_office = "linfen-road"',
            'address = "Lane 3, No. 1 Linfen Road"',
        ]
    path = directory / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path

"""Signed envelopes verify with a stock JOSE library and the public key alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from joserfc import jws
from joserfc.errors import BadSignatureError
from joserfc.jwk import OKPKey

from gateway.errors import ConfigError, ContractError
from gateway.wire.keys import generate_key_pair, load_signing_key
from gateway.wire.signer import EnvelopeSigner, Sequence

ALERT = {
    "schema": "bldg.alert/v1",
    "alert_id": "gw-1.0302.overcrowding.20260302",
    "revision": 0,
    "gateway_id": "gw-1",
    "unit_id": "0302",
    "kind": "overcrowding",
    "raised_at": "2026-03-04T00:10:00+08:00",
    "window": {"from": "2026-03-02", "to": "2026-03-03"},
    "legal_cap": 2,
    "estimated_occupancy": {"point": 9.1, "low": 7.0, "high": 11.2},
    "confidence": 0.99,
    "unit": {"floor": 3, "area_m2": 44.0, "rooms": 1},
    "evidence": {
        "summary": "Water 1.1 m3/day over 2 days suggests about 9 occupants; the cap is 2.",
        "signals": ["water", "electricity"],
        "days": [{"date": "2026-03-02", "water_m3": 1.1, "electricity_kwh": 15.0, "estimate": 9.1}],
    },
}


@pytest.fixture
def key_files(tmp_path: Path) -> tuple[Path, Path, str]:
    private, public = tmp_path / "k" / "gw-1.key.pem", tmp_path / "k" / "gw-1.pub.pem"
    kid = generate_key_pair(private, public)
    return private, public, kid


def test_token_verifies_with_public_key_and_carries_claims(
    key_files: tuple[Path, Path, str],
) -> None:
    private, public, kid = key_files
    assert private.stat().st_mode & 0o777 == 0o600
    signer = EnvelopeSigner("gw-1", load_signing_key(private))
    token = signer.sign_alert("bldg/v1/gw-1/alert", 1_772_000_000, Sequence(3, 7), ALERT)

    verified = jws.deserialize_compact(
        token, OKPKey.import_key(public.read_bytes()), algorithms=["Ed25519"]
    )
    assert verified.protected == {"alg": "Ed25519", "kid": kid, "typ": "bldg-alert+jws"}
    claims = json.loads(verified.payload)
    assert claims["iss"] == "gw-1"
    assert claims["topic"] == "bldg/v1/gw-1/alert"
    assert claims["seq"] == {"boot_epoch": 3, "counter": 7}
    assert claims["alert"] == ALERT


def test_tampered_token_and_other_key_fail(
    key_files: tuple[Path, Path, str], tmp_path: Path
) -> None:
    private, public, _ = key_files
    token = EnvelopeSigner("gw-1", load_signing_key(private)).sign_alert(
        "bldg/v1/gw-1/alert", 1, Sequence(1, 1), ALERT
    )
    header, payload, signature = token.split(".")
    forged = ".".join(
        [header, payload[:-4] + ("AAAA" if payload[-4:] != "AAAA" else "BBBB"), signature]
    )
    with pytest.raises(BadSignatureError):
        jws.deserialize_compact(
            forged, OKPKey.import_key(public.read_bytes()), algorithms=["Ed25519"]
        )
    other = OKPKey.generate_key("Ed25519")
    with pytest.raises(BadSignatureError):
        jws.deserialize_compact(token, other, algorithms=["Ed25519"])


def test_invalid_alert_is_never_signed(key_files: tuple[Path, Path, str]) -> None:
    signer = EnvelopeSigner("gw-1", load_signing_key(key_files[0]))
    with pytest.raises(ContractError, match=r"alert\.legal_cap"):
        signer.sign_alert("bldg/v1/gw-1/alert", 1, Sequence(1, 1), {**ALERT, "legal_cap": -1})


def test_keygen_refuses_to_overwrite_and_bad_key_file_is_clear(
    key_files: tuple[Path, Path, str], tmp_path: Path
) -> None:
    private, public, _ = key_files
    with pytest.raises(ConfigError, match="refusing to overwrite"):
        generate_key_pair(private, public)
    with pytest.raises(ConfigError, match="not found"):
        load_signing_key(tmp_path / "missing.pem")
    with pytest.raises(ConfigError, match="not an Ed25519 private key"):
        load_signing_key(public)

"""Signed acks: the bridge's answers to a gateway as a JWS compact serialization.

An ack tells a gateway it may drop an alert from its outbox, so a forged ``accepted`` would make
a genuine alert vanish. With ``[bridge] ack_key_file`` set, every ack is signed with the bridge's
Ed25519 key: protected header ``{"alg": "Ed25519", "kid": <thumbprint>, "typ": "bldg-ack+jws"}``,
payload the claims of ``ack-claims.schema.json`` (the ack topic, the signing time, the ack body),
so an ack for one gateway cannot be replayed to another. Gateways configured with the bridge's
public key(s) accept nothing else. Without the key file, acks go out as plain JSON, as before.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

from cloud_bridge.errors import ConfigError
from cloud_bridge.ingest.contract import contract_errors

ALGORITHM = "Ed25519"
TOKEN_TYPE = "bldg-ack+jws"


class AckSigner:
    def __init__(self, key: OKPKey) -> None:
        self._key = key
        self.kid = key.thumbprint()
        self._header = {"alg": ALGORITHM, "kid": self.kid, "typ": TOKEN_TYPE}

    def sign(self, topic: str, iat: int, ack: dict[str, Any]) -> bytes:
        claims = {"topic": topic, "iat": iat, "ack": ack}
        problems = contract_errors("ack-claims", claims)
        if problems:
            raise ValueError("ack claims break the wire contract: " + "; ".join(problems))
        payload = json.dumps(claims, separators=(",", ":"), sort_keys=True).encode()
        token = jws.serialize_compact(self._header, payload, self._key, algorithms=[ALGORITHM])
        return token.encode()


def load_ack_signer(path: Path, where: str = "bridge.ack_key_file") -> AckSigner:
    """The signer for the private key at ``path``; ConfigError naming the field otherwise."""
    try:
        mode = path.stat().st_mode
        key = OKPKey.import_key(path.read_bytes())
    except FileNotFoundError as err:
        raise ConfigError(f"{where}: {path}: not found (create it with 'ack-keygen')") from err
    except OSError as err:
        raise ConfigError(f"{where}: {path}: cannot be read: {err.strerror}") from err
    except (ValueError, JoseError) as err:
        raise ConfigError(f"{where}: {path}: not an Ed25519 private key (PEM)") from err
    if key.curve_name != "Ed25519" or not key.is_private:
        raise ConfigError(f"{where}: {path}: not an Ed25519 private key")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{where}: {path}: readable by group or others; chmod 600 it")
    return AckSigner(key)


def generate_ack_key(private_path: Path, public_path: Path) -> str:
    """Write a new key pair (refusing to overwrite); the key id gateways will see."""
    for path in (private_path, public_path):
        if path.exists():
            raise ConfigError(f"{path}: already exists; refusing to overwrite a key")
    private = Ed25519PrivateKey.generate()
    private_path.parent.mkdir(parents=True, exist_ok=True)
    public_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(
            private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    public_path.write_bytes(public_pem)
    return str(OKPKey.import_key(public_pem).thumbprint())

"""The gateway's Ed25519 signing key: generation, loading, and its key id.

The private key never leaves the gateway; it is a PKCS#8 PEM file readable by the daemon's user
only. The public key is handed to the cloud bridge (PEM, SubjectPublicKeyInfo). The key id
(``kid`` in every signed message) is the RFC 7638 JWK thumbprint of the public key, so the
bridge can hold several keys per gateway during a rotation and pick the right one. The bridge's
own public keys, which sign its acks, are loaded here too.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc.jwk import OKPKey

from gateway.errors import ConfigError


def generate_key_pair(private_path: Path, public_path: Path) -> str:
    """Write a new key pair (refusing to overwrite) and return its key id."""
    for path in (private_path, public_path):
        if path.exists():
            raise ConfigError(f"{path}: already exists; refusing to overwrite a key")
    private = Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private_path.parent.mkdir(parents=True, exist_ok=True)
    public_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_pem)
    public_path.write_bytes(public_pem)
    return key_id(OKPKey.import_key(public_pem))


def load_signing_key(path: Path) -> OKPKey:
    """Load the gateway's private key; a clear :class:`ConfigError` if it is missing, wrong, or
    readable or writable by anyone but its owner (a key others can read signs for them too)."""
    try:
        key = OKPKey.import_key(path.read_bytes())
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError as err:
        raise ConfigError(
            f"gateway.key_file: {path}: not found (create one with 'gateway provision')"
        ) from err
    except ValueError as err:
        raise ConfigError(f"gateway.key_file: {path}: not an Ed25519 private key") from err
    if key.curve_name != "Ed25519" or not key.is_private:
        raise ConfigError(f"gateway.key_file: {path}: not an Ed25519 private key")
    if mode & 0o077:
        raise ConfigError(
            f"gateway.key_file: {path}: readable or writable by others (mode {mode:o});"
            " chmod 600 it, and make a new key if it may have been copied"
        )
    return key


def key_id(key: OKPKey) -> str:
    """RFC 7638 thumbprint of the public part, base64url without padding."""
    return key.thumbprint()


def load_bridge_keys(paths: tuple[Path, ...], where: str) -> dict[str, OKPKey]:
    """The cloud bridge's public ack keys by key id; ConfigError naming the file otherwise."""
    keys: dict[str, OKPKey] = {}
    for i, path in enumerate(paths):
        at = f"{where}[{i}]: {path}"
        try:
            key = OKPKey.import_key(path.read_bytes())
        except FileNotFoundError as err:
            raise ConfigError(f"{at}: not found") from err
        except OSError as err:
            raise ConfigError(f"{at}: cannot be read: {err.strerror}") from err
        except ValueError as err:
            raise ConfigError(f"{at}: not an Ed25519 public key (PEM)") from err
        if key.curve_name != "Ed25519" or key.is_private:
            raise ConfigError(f"{at}: not an Ed25519 public key (a private key does not go here)")
        keys[key_id(key)] = key
    return keys

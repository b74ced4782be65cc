"""Provisioning a gateway: the keys it makes for itself, and what it hands to the operator.

``gateway provision --id GW --dir DIR`` writes, for gateway ``GW``:

- ``GW.key.pem``: the Ed25519 signing key of its alerts (mode 600; never leaves the box);
- ``GW.pub.pem``: its public key, for the operator's ``cloud-bridge gateways add``;
- ``GW.tls.key.pem``: its TLS client key (EC P-256, mode 600);
- ``GW.csr.pem``: a certificate signing request with CN = GW, for the operator's
  ``cloud-bridge ca issue DIR --name GW --csr GW.csr.pem``; the certificate that comes back is
  the gateway's ``[mqtt] tls_cert_file``, and the broker's ACL reads its CN as the username.

An existing file is never overwritten unless ``force`` is given (then all four are made anew:
a new identity, which the operator must register again). Private keys are created with mode
600 from the start (``O_EXCL``), not chmod-ed afterwards.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gateway.errors import ConfigError
from gateway.wire.keys import generate_key_pair


@dataclass(frozen=True, slots=True)
class Provisioned:
    signing_key: Path
    public_key: Path
    tls_key: Path
    csr: Path
    key_id: str


def provision(gateway_id: str, directory: Path, *, force: bool = False) -> Provisioned:
    files = Provisioned(
        directory / f"{gateway_id}.key.pem",
        directory / f"{gateway_id}.pub.pem",
        directory / f"{gateway_id}.tls.key.pem",
        directory / f"{gateway_id}.csr.pem",
        "",
    )
    paths = (files.signing_key, files.public_key, files.tls_key, files.csr)
    existing = [p for p in paths if p.exists()]
    if existing and not force:
        raise ConfigError(
            f"{existing[0]}: already exists; refusing to overwrite this gateway's identity"
            " (--force makes a new one, which the operator must register again)"
        )
    directory.mkdir(parents=True, exist_ok=True)
    for path in existing:
        path.unlink()
    kid = generate_key_pair(files.signing_key, files.public_key)
    tls_key = ec.generate_private_key(ec.SECP256R1())
    _write_private(
        files.tls_key,
        tls_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, gateway_id)]))
        .sign(tls_key, hashes.SHA256())
    )
    files.csr.write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    return Provisioned(files.signing_key, files.public_key, files.tls_key, files.csr, kid)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)

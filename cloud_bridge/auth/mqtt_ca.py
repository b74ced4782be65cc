"""A small certificate authority for the MQTT broker's mutual TLS: one CA, a server certificate
for the broker, and one client certificate per gateway and per bridge instance.

The broker (``config/mosquitto/``) trusts this CA only, requires a client certificate and takes
its Common Name as the MQTT user name, so the ACL confines gateway ``X`` (CN ``X``) to
``bldg/v1/X/`` and lets only ``cloud-bridge-<n>`` read every alert. Issuing a certificate is
therefore granting access: names are checked like gateway ids (letters, digits, ``-``, ``_``;
no MQTT wildcard or ``/`` can reach an ACL pattern).

The ``build_*`` and ``sign_*`` functions are pure (keys and names in, certificates out); the
``init_ca``/``issue`` pair keep the files: ``ca.key.pem`` (mode 600) and ``ca.crt.pem``, and
``<name>.crt.pem`` with ``<name>.key.pem`` (mode 600) per issued certificate, or only the
certificate when the key stays with its owner and a CSR was sent instead.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from cloud_bridge.errors import BridgeError

NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CA_KEY, CA_CERT = "ca.key.pem", "ca.crt.pem"
CA_DAYS, LEAF_DAYS = 3650, 825
PrivateKey = ec.EllipticCurvePrivateKey
PublicKey = ec.EllipticCurvePublicKey


class CAError(BridgeError):
    """The CA directory, a name or a CSR cannot be used; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Authority:
    key: PrivateKey
    cert: x509.Certificate


@dataclass(frozen=True, slots=True)
class Issued:
    cert_file: Path
    key_file: Path | None  # None when issued for a CSR: the key never came here


def new_key() -> PrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def build_ca(key: PrivateKey, common_name: str, now: dt.datetime) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def sign_leaf(
    ca: Authority,
    public_key: PublicKey,
    name: str,
    now: dt.datetime,
    *,
    server: bool = False,
    hosts: tuple[str, ...] = (),
) -> x509.Certificate:
    """A client certificate with CN ``name``; with ``server``, a broker certificate whose SAN
    holds ``localhost``, ``127.0.0.1`` and ``hosts`` (names or IP addresses)."""
    check_name(name)
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca.cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=LEAF_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(_alt_names(("localhost", "127.0.0.1", *hosts))),
            critical=False,
        )
    return builder.sign(ca.key, hashes.SHA256())


def check_name(name: str) -> None:
    if not NAME.match(name):
        raise CAError(
            f"--name: {name!r} must be 1-64 letters, digits, '-' or '_' (it becomes the MQTT"
            " user name the broker's ACL is written for)"
        )


def _alt_names(hosts: tuple[str, ...]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys(hosts):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            if not re.fullmatch(r"[A-Za-z0-9.-]{1,253}", host):
                raise CAError(f"--host: {host!r} is neither an IP address nor a DNS name") from None
            names.append(x509.DNSName(host))
    return names


def public_key_of_csr(pem: bytes, name: str) -> PublicKey:
    """The key of a certificate signing request, once its signature and name check out."""
    try:
        csr = x509.load_pem_x509_csr(pem)
    except ValueError as err:
        raise CAError(f"--csr: not a PEM certificate signing request ({err})") from err
    if not csr.is_signature_valid:
        raise CAError("--csr: its signature does not verify")
    names = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if names and names[0].value != name:
        raise CAError(f"--csr: its CN {names[0].value!r} is not --name {name!r}")
    key = csr.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise CAError("--csr: only EC keys (P-256) are issued certificates here")
    return key


# --- files -----------------------------------------------------------------------------------


def init_ca(directory: Path, common_name: str = "qunzu-watch MQTT CA") -> Path:
    """Create the CA in ``directory`` (refusing to overwrite one); the CA certificate's path."""
    key_path, cert_path = directory / CA_KEY, directory / CA_CERT
    for path in (key_path, cert_path):
        if path.exists():
            raise CAError(f"{path}: already exists; refusing to overwrite a CA")
    key = new_key()
    cert = build_ca(key, common_name, dt.datetime.now(dt.UTC))
    directory.mkdir(parents=True, exist_ok=True)
    _write_private(key_path, key)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path


def load_ca(directory: Path) -> Authority:
    try:
        key = serialization.load_pem_private_key((directory / CA_KEY).read_bytes(), None)
        cert = x509.load_pem_x509_certificate((directory / CA_CERT).read_bytes())
    except FileNotFoundError as err:
        raise CAError(f"{err.filename}: not found (create the CA with 'ca init')") from err
    except (OSError, ValueError, TypeError) as err:
        raise CAError(f"{directory}: not a CA directory ({err})") from err
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CAError(f"{directory / CA_KEY}: not an EC private key")
    return Authority(key, cert)


def issue(
    directory: Path,
    name: str,
    *,
    server: bool = False,
    hosts: tuple[str, ...] = (),
    csr_pem: bytes | None = None,
) -> Issued:
    """Issue ``<name>.crt.pem`` (and ``<name>.key.pem`` unless a CSR brought the key)."""
    check_name(name)
    ca = load_ca(directory)
    cert_path, key_path = directory / f"{name}.crt.pem", directory / f"{name}.key.pem"
    if cert_path.exists():
        raise CAError(f"{cert_path}: already exists; refusing to overwrite a certificate")
    key: PrivateKey | None = None
    if csr_pem is None:
        if key_path.exists():
            raise CAError(f"{key_path}: already exists; refusing to overwrite a key")
        key = new_key()
        public_key = key.public_key()
    else:
        public_key = public_key_of_csr(csr_pem, name)
    cert = sign_leaf(ca, public_key, name, dt.datetime.now(dt.UTC), server=server, hosts=hosts)
    if key is not None:
        _write_private(key_path, key)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Issued(cert_path, key_path if key is not None else None)


def _write_private(path: Path, key: PrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)

"""``cloud-bridge ca init``, ``ca issue`` (own key, CSR, server) and ``ack-keygen``: the files
they write, what is in the certificates, and clean refusals (exit code 2, one line)."""

from __future__ import annotations

import stat
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from typer.testing import CliRunner

from cloud_bridge.cli import app

runner = CliRunner()


def run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def refused(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return result.output


def certificate(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_a_ca_issues_broker_and_client_certificates(tmp_path: Path) -> None:
    directory = tmp_path / "ca"
    run("ca", "init", str(directory))
    assert stat.S_IMODE((directory / "ca.key.pem").stat().st_mode) == 0o600
    authority = certificate(directory / "ca.crt.pem")
    assert authority.extensions.get_extension_for_class(x509.BasicConstraints).value.ca

    run("ca", "issue", str(directory), "--name", "broker", "--server", "--host", "mqtt.example")
    broker = certificate(directory / "broker.crt.pem")
    san = broker.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost", "mqtt.example"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    usage = broker.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]

    run("ca", "issue", str(directory), "--name", "gw-1")
    client = certificate(directory / "gw-1.crt.pem")
    assert client.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "gw-1"
    assert client.issuer == authority.subject
    client.verify_directly_issued_by(authority)
    assert stat.S_IMODE((directory / "gw-1.key.pem").stat().st_mode) == 0o600

    # From a CSR: the key never leaves its owner.
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gw-2")]))
        .sign(key, hashes.SHA256())
    )
    csr_file = tmp_path / "gw-2.csr"
    csr_file.write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    run("ca", "issue", str(directory), "--name", "gw-2", "--csr", str(csr_file))
    assert certificate(directory / "gw-2.crt.pem").public_key() == key.public_key()
    assert not (directory / "gw-2.key.pem").exists()

    assert "already exists" in refused("ca", "init", str(directory))
    assert "already exists" in refused("ca", "issue", str(directory), "--name", "gw-1")
    assert "must be 1-64 letters" in refused("ca", "issue", str(directory), "--name", "gw/+")
    assert "is not --name" in refused(
        "ca", "issue", str(directory), "--name", "gw-3", "--csr", str(csr_file)
    )
    assert "not found" in refused("ca", "issue", str(tmp_path / "none"), "--name", "gw-4")


def test_ack_keygen(tmp_path: Path) -> None:
    output = run("ack-keygen", str(tmp_path / "ack.key.pem"), str(tmp_path / "ack.pub.pem"))
    assert "kid " in output
    assert stat.S_IMODE((tmp_path / "ack.key.pem").stat().st_mode) == 0o600
    assert "already exists" in refused(
        "ack-keygen", str(tmp_path / "ack.key.pem"), str(tmp_path / "x.pem")
    )

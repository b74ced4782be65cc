"""`gateway provision` makes the gateway's identity once, with private keys only its owner can
read; the operator's CA signs its request; a key others can read is refused at start."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from cloud_bridge.auth import mqtt_ca
from gateway.errors import ConfigError
from gateway.wire.keys import load_signing_key
from gateway.wire.provisioning import provision

GATEWAY = Path(sys.executable).parent / "gateway"


def test_provision_makes_private_keys_600_and_a_request_the_ca_signs(tmp_path: Path) -> None:
    made = provision("gw-7", tmp_path / "keys")
    for private in (made.signing_key, made.tls_key):
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
    load_signing_key(made.signing_key)
    request = x509.load_pem_x509_csr(made.csr.read_bytes())
    assert request.is_signature_valid
    assert request.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "gw-7"
    mqtt_ca.init_ca(tmp_path / "ca")
    issued = mqtt_ca.issue(tmp_path / "ca", "gw-7", csr_pem=made.csr.read_bytes())
    assert issued.key_file is None  # the key never left the gateway
    cert = x509.load_pem_x509_certificate(issued.cert_file.read_bytes())
    assert cert.public_key().public_numbers() == request.public_key().public_numbers()


def test_an_identity_is_never_overwritten_without_force(tmp_path: Path) -> None:
    first = provision("gw-7", tmp_path)
    before = first.signing_key.read_bytes()
    with pytest.raises(ConfigError, match="refusing to overwrite"):
        provision("gw-7", tmp_path)
    assert first.signing_key.read_bytes() == before
    again = provision("gw-7", tmp_path, force=True)
    assert again.signing_key.read_bytes() != before and again.key_id != first.key_id


def test_the_command_says_what_to_hand_over_and_refuses_a_second_run(tmp_path: Path) -> None:
    run = [str(GATEWAY), "provision", "--id", "gw-9", "--dir", str(tmp_path)]
    done = subprocess.run(run, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "gw-9.pub.pem" in done.stdout and "gw-9.csr.pem" in done.stdout
    again = subprocess.run(run, capture_output=True, text=True, timeout=60, check=False)
    assert again.returncode == 2 and "refusing to overwrite" in again.stderr


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620])
def test_a_signing_key_others_can_read_or_write_is_refused(tmp_path: Path, mode: int) -> None:
    made = provision("gw-7", tmp_path)
    made.signing_key.chmod(mode)
    with pytest.raises(ConfigError, match=f"mode {mode:o}"):
        load_signing_key(made.signing_key)

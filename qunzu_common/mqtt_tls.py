"""Mutual TLS to the MQTT broker, the same way for the gateway and the cloud bridge.

Each [mqtt] section may name three PEM files: ``tls_ca_file`` (the CA that signed the broker's
certificate; set it to use TLS at all), ``tls_cert_file`` and ``tls_key_file`` (this client's
certificate and key; the broker takes the certificate's CN as the MQTT user name and applies
its ACL to it, see ``config/mosquitto/``). :func:`tls_file_problems` checks them while the
configuration loads (files exist and load, the key is private to its owner, cert and key come
together); :func:`tls_params` turns them into aiomqtt's parameters, which verify the broker's
certificate and host name (paho's default with ``CERT_REQUIRED``).
"""

from __future__ import annotations

import ssl
import stat
from dataclasses import dataclass
from pathlib import Path

import aiomqtt

__all__ = ["TlsFiles", "tls_file_problems", "tls_params"]


@dataclass(frozen=True, slots=True)
class TlsFiles:
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    @property
    def enabled(self) -> bool:
        return self.ca_file is not None


def tls_file_problems(files: TlsFiles, section: str = "mqtt") -> list[str]:
    """Every reason these files cannot be used, as ``mqtt.tls_key_file: rule`` lines."""
    problems: list[str] = []
    if (files.cert_file is None) != (files.key_file is None):
        problems.append(f"{section}.tls_cert_file: tls_cert_file and tls_key_file go together")
    if files.cert_file is not None and files.ca_file is None:
        problems.append(
            f"{section}.tls_ca_file: required with a client certificate (to verify the broker)"
        )
    for field, path in (
        ("tls_ca_file", files.ca_file),
        ("tls_cert_file", files.cert_file),
        ("tls_key_file", files.key_file),
    ):
        if path is not None and not path.is_file():
            problems.append(f"{section}.{field}: {path}: not found")
    if problems:
        return problems
    if files.key_file is not None:
        mode = files.key_file.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            problems.append(
                f"{section}.tls_key_file: {files.key_file}: readable by group or others"
                f" (mode {stat.S_IMODE(mode):o}); chmod 600 it"
            )
    if files.ca_file is not None:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        try:
            context.load_verify_locations(cafile=str(files.ca_file))
        except (ssl.SSLError, ValueError) as err:
            problems.append(f"{section}.tls_ca_file: {files.ca_file}: not a PEM CA ({err})")
        if files.cert_file is not None and files.key_file is not None:
            try:
                context.load_cert_chain(str(files.cert_file), str(files.key_file))
            except (ssl.SSLError, ValueError) as err:
                problems.append(
                    f"{section}.tls_cert_file: {files.cert_file}: not a PEM certificate matching"
                    f" tls_key_file ({err})"
                )
    return problems


def tls_params(files: TlsFiles) -> aiomqtt.TLSParameters | None:
    """aiomqtt's TLS parameters for these (checked) files; ``None`` for a plain connection."""
    if files.ca_file is None:
        return None
    return aiomqtt.TLSParameters(
        ca_certs=str(files.ca_file),
        certfile=None if files.cert_file is None else str(files.cert_file),
        keyfile=None if files.key_file is None else str(files.key_file),
        cert_reqs=ssl.CERT_REQUIRED,
        tls_version=ssl.PROTOCOL_TLS_CLIENT,
    )

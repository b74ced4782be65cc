"""The gateway's and the bridge's TOML loaders on arbitrary text and on valid files with one
value replaced: a config or the package's ConfigError, never another exception (a broken file
must be reported as one readable line, not a traceback)."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from cloud_bridge.config import load_bridge_config
from cloud_bridge.errors import ConfigError as BridgeConfigError
from gateway.config.gateway_file import load_gateway_config
from gateway.errors import ConfigError as GatewayConfigError

GATEWAY = """[gateway]
id = "gw-1"
key_file = "gw-1.key.pem"
[mqtt]
port = 1883
[[units]]
unit_id = "0101"
floor = 1
area_m2 = 40
rooms = 1
"""
BRIDGE = """[bridge]
database_url = "sqlite:///tickets.sqlite"
[mqtt]
port = 1883
[[street_offices]]
id = "office"
name = "Office"
[[gateways]]
id = "gw-1"
public_key_files = ["gw-1.pub.pem"]
street_office = "office"
"""
GATEWAY_KEYS = [
    ("gateway", "id"),
    ("gateway", "key_file"),
    ("gateway", "utc_offset"),
    ("gateway", "store_path"),
    ("mqtt", "port"),
    ("mqtt", "max_downlink_bytes"),
    ("mqtt", "tls_ca_file"),
    ("mqtt", "tls_cert_file"),
    ("mqtt", "tls_key_file"),
    ("mqtt", "topic_prefix"),
    ("ble", "pseudonym_key_file"),
    ("polling", "interval_s"),
]
BRIDGE_KEYS = [
    ("bridge", "database_url"),
    ("bridge", "instance"),
    ("mqtt", "max_message_bytes"),
    ("mqtt", "tls_ca_file"),
    ("mqtt", "tls_cert_file"),
    ("mqtt", "tls_key_file"),
    ("mqtt", "port"),
    ("http", "port"),
    ("bridge", "max_message_age_s"),
]
toml_values = st.sampled_from(
    [
        '""',
        '"x"',
        '"."',
        '"/"',
        '"\\u0000"',
        '"a\\u0000b"',
        "0",
        "-1",
        "1e400",
        "inf",
        "nan",
        "true",
        "[]",
        "{}",
        '["a"]',
        "9" * 30,
        '"sqlite://"',
        '"sqlite:///:memory:"',
        '"postgresql://u@h:abc/d"',
        '"mysql://x"',
        '"sqlite:///%"',
        '"+99:99"',
        '"Asia"',
        "[" * 3000 + "]" * 3000,
    ]
) | st.text(max_size=20).map(lambda t: '"' + t.replace("\\", "").replace('"', "") + '"')


def replaced(document: str, section: str, key: str, value: str) -> str:
    """``document`` with ``section.key`` set to ``value`` (the first such key, else added)."""
    lines = document.splitlines()
    start = lines.index(f"[{section}]") if f"[{section}]" in lines else None
    if start is None:
        return f"{document}[{section}]\n{key} = {value}\n"
    for i in range(start + 1, len(lines)):
        if lines[i].startswith("["):
            break
        if lines[i].split(" = ")[0] == key:
            lines[i] = f"{key} = {value}"
            return "\n".join(lines) + "\n"
    lines.insert(start + 1, f"{key} = {value}")
    return "\n".join(lines) + "\n"


def load_both(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        for name, load, error in (
            ("gateway.toml", load_gateway_config, GatewayConfigError),
            ("bridge.toml", load_bridge_config, BridgeConfigError),
        ):
            path = Path(scratch) / name
            path.write_bytes(raw)
            with contextlib.suppress(error):
                load(path)  # type: ignore[operator]


@settings(max_examples=300)
@given(st.binary(max_size=200) | st.text(max_size=200).map(lambda t: t.encode("utf-8", "replace")))
def test_arbitrary_files(raw: bytes) -> None:
    # Fails when a loader raises anything but its package's ConfigError.
    load_both(raw)


@settings(max_examples=250)
@given(where=st.sampled_from(GATEWAY_KEYS), value=toml_values)
def test_gateway_file_with_one_value_replaced(where: tuple[str, str], value: str) -> None:
    # Fails when the loader raises anything but ConfigError.
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "gateway.toml"
        path.write_text(replaced(GATEWAY, *where, value), encoding="utf-8")
        with contextlib.suppress(GatewayConfigError):
            load_gateway_config(path)


@settings(max_examples=250)
@given(where=st.sampled_from(BRIDGE_KEYS), value=toml_values)
def test_bridge_file_with_one_value_replaced(where: tuple[str, str], value: str) -> None:
    # Fails when the loader raises anything but ConfigError.
    with tempfile.TemporaryDirectory() as scratch:
        (Path(scratch) / "gw-1.pub.pem").write_bytes(PUBLIC_KEY)
        path = Path(scratch) / "bridge.toml"
        path.write_text(replaced(BRIDGE, *where, value), encoding="utf-8")
        with contextlib.suppress(BridgeConfigError):
            load_bridge_config(path)


PUBLIC_KEY = b"""-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=
-----END PUBLIC KEY-----
"""

"""The bridge's configuration: defaults, resolved paths, loaded keys, and refusals that name
the file, the field and the rule."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cloud_bridge.config import load_bridge_config
from cloud_bridge.errors import ConfigError
from tests.cloud_bridge.signed_alerts import FakeGateway, make_gateway, write_bridge_config

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo" / "bridge.toml"

MINIMAL = """
[[street_offices]]
id = "linfen-road"
name = "Linfen Road Street Office"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bridge.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults(tmp_path: Path) -> None:
    config = load_bridge_config(write(tmp_path, MINIMAL))
    assert config.bridge.instance == "bridge-1"
    assert config.bridge.database_url == f"sqlite:///{tmp_path.resolve()}/tickets.sqlite"
    assert (config.bridge.max_clock_skew_s, config.bridge.max_message_age_s) == (300, 2592000)
    assert (config.mqtt.host, config.mqtt.port, config.mqtt.protocol) == ("127.0.0.1", 1883, "5")
    assert config.client_id == "cloud-bridge-bridge-1"
    assert config.alert_subscription == "$share/cloud-bridge/bldg/v1/+/alert"
    assert (config.http.enabled, config.http.host, config.http.port) == (True, "127.0.0.1", 8080)
    assert config.registry == {}


def test_gateways_keys_are_loaded_by_key_id(tmp_path: Path, gateway: FakeGateway) -> None:
    second = make_gateway(tmp_path, "gw-2")
    config = load_bridge_config(write_bridge_config(tmp_path, [gateway, second]))
    assert set(config.registry) == {"gw-1", "gw-2"}
    known = config.registry["gw-1"]
    assert known.street_office == "linfen-road"
    assert list(known.keys) == [gateway.kid]
    assert config.gateways[0].public_key_files == (gateway.public_key,)
    assert config.office_name("linfen-road") == "Linfen Road Street Office"


def test_mqtt_3_uses_a_plain_subscription(tmp_path: Path) -> None:
    config = load_bridge_config(
        write(tmp_path, '[mqtt]\nprotocol = "3.1.1"\nclient_id = "b7"\n' + MINIMAL)
    )
    assert config.alert_subscription == "bldg/v1/+/alert"
    assert config.client_id == "b7"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://qunzu@db.internal/tickets",
            "postgresql+psycopg://qunzu@db.internal/tickets",
        ),
        ("postgresql+psycopg://u:pw@h:5433/t", "postgresql+psycopg://u:pw@h:5433/t"),
        ("sqlite:////var/lib/bridge/t.sqlite", "sqlite:////var/lib/bridge/t.sqlite"),
    ],
)
def test_database_urls(tmp_path: Path, url: str, expected: str) -> None:
    config = load_bridge_config(write(tmp_path, f'[bridge]\ndatabase_url = "{url}"\n' + MINIMAL))
    assert config.bridge.database_url == expected


def test_password_is_masked_for_display(tmp_path: Path) -> None:
    config = load_bridge_config(
        write(tmp_path, '[bridge]\ndatabase_url = "postgresql://u:secret@h/t"\n' + MINIMAL)
    )
    assert "secret" not in config.safe_database_url()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "bridge.toml: street_offices: Field required"),
        ('[mqtt]\nprotocol = "4"\n' + MINIMAL, "bridge.toml: mqtt.protocol: Input should be '5'"),
        ("[mqtt]\nhots = 1\n" + MINIMAL, "bridge.toml: mqtt.hots: Extra inputs are not permitted"),
        ("[http]\nport = 0\n" + MINIMAL, "bridge.toml: http.port: Input should be greater than"),
        (
            '[mqtt]\nshared_group = "a/b"\n' + MINIMAL,
            "bridge.toml: mqtt.shared_group: String should match pattern",
        ),
        (
            "[bridge]\nmax_message_age_s = 0\n" + MINIMAL,
            "bridge.toml: bridge.max_message_age_s: Input should be greater than 0",
        ),
        (
            '[bridge]\ndatabase_url = "mysql://h/db"\n' + MINIMAL,
            "bridge.toml: bridge.database_url: must be a sqlite:/// or postgresql+psycopg:// URL",
        ),
        (
            '[bridge]\ndatabase_url = "sqlite://"\n' + MINIMAL,
            "bridge.toml: bridge.database_url: an in-memory database would lose every ticket",
        ),
        (
            MINIMAL + MINIMAL.replace("[[street_offices]]", "[[street_offices]]"),
            "bridge.toml: street_offices[1].id: 'linfen-road' is used twice",
        ),
        (
            MINIMAL
            + '[[gateways]]\nid = "gw-1"\npublic_key_files = ["k.pem"]\nstreet_office = "xuhui"\n',
            "bridge.toml: gateways[0].street_office: no [[street_offices]] entry with id 'xuhui'",
        ),
        (
            MINIMAL + '[[gateways]]\nid = "gw-1"\npublic_key_files = []\nstreet_office = "x"\n',
            "bridge.toml: gateways[0].public_key_files: Tuple should have at least 1 item",
        ),
        (
            MINIMAL + '[[gateways]]\nid = "gw 1"\npublic_key_files = ["k"]\nstreet_office = "x"\n',
            "bridge.toml: gateways[0].id: String should match pattern",
        ),
        ("[bridge\n", "bridge.toml: not valid TOML"),
    ],
)
def test_invalid_file_is_refused_with_field_path(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_bridge_config(write(tmp_path, text))
    assert str(caught.value).startswith(message), str(caught.value)


def test_duplicate_gateway_is_refused(tmp_path: Path, gateway: FakeGateway) -> None:
    path = write_bridge_config(tmp_path, [gateway, gateway])
    with pytest.raises(ConfigError, match=r"gateways\[1\]\.id: 'gw-1' is registered twice"):
        load_bridge_config(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_bridge_config(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("key_text", "message"),
    [
        (None, "not found"),
        ("not a key", "not an Ed25519 public key"),
        ("private", "is a private key"),
        ("ec", "not an Ed25519 public key"),
    ],
)
def test_bad_public_key_names_its_field(
    tmp_path: Path, gateway: FakeGateway, key_text: str | None, message: str
) -> None:
    path = write_bridge_config(tmp_path, [gateway])
    if key_text is None:
        gateway.public_key.unlink()
    elif key_text == "private":
        shutil.copy(gateway.private_key, gateway.public_key)
    elif key_text == "ec":
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        pem = (
            ec.generate_private_key(ec.SECP256R1())
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        gateway.public_key.write_bytes(pem)
    else:
        gateway.public_key.write_text(key_text)
    with pytest.raises(ConfigError) as caught:
        load_bridge_config(path)
    text = str(caught.value)
    assert text.startswith("bridge.toml: gateways[0].public_key_files[0]: "), text
    assert message in text


def test_demo_configuration_loads_once_its_key_exists(tmp_path: Path) -> None:
    shutil.copy(DEMO, tmp_path / "bridge.toml")
    make_gateway(tmp_path, "demo-gw-0001")
    config = load_bridge_config(tmp_path / "bridge.toml")
    assert config.bridge.instance == "bridge-1"
    assert config.bridge.database_url == f"sqlite:///{tmp_path.resolve()}/tickets.sqlite"
    assert config.registry["demo-gw-0001"].street_office == "linfen-road"
    assert len(config.street_offices) >= 2
    assert config.alert_subscription == "$share/cloud-bridge/bldg/v1/+/alert"

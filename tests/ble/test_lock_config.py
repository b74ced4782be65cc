"""The ``[ble]`` and ``[[locks]]`` sections: a good file loads into typed values, each broken one
is refused with the file, the field path and the rule; a file without locks is unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.ble.pseudonym_key import load_or_create_pseudonymiser
from gateway.config.gateway_file import load_gateway_config
from gateway.errors import ConfigError

BASE = """
[gateway]
id = "gw-1"
key_file = "gw.key.pem"

[[units]]
unit_id = "0101"
floor = 1
area_m2 = 44.0
rooms = 1

[[units]]
unit_id = "0102"
floor = 1
area_m2 = 60.0
rooms = 2
"""
KEY = "B0A1C2D3E4F5061728394A5B6C7D8E9F"


def load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "gateway.toml"
    path.write_text(BASE + text, encoding="utf-8")
    return load_gateway_config(path)


def test_locks_load_with_normalised_mac_key_bytes_and_resolved_key_file(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        '[ble]\ntransport = "bumble"\npseudonym_key_file = "keys/locks.key"\n'
        f'[[locks]]\nunit_id = "0101"\nmac = "a4-c1-38-12-34-56"\nkind = "mibeacon"\n'
        f'bind_key = "{KEY}"\n'
        '[[locks]]\nunit_id = "0102"\nmac = "A4:C1:38:12:34:57"\nkind = "gatt"\n',
    )
    mibeacon, gatt = config.locks
    assert mibeacon.mac == "A4:C1:38:12:34:56"
    assert mibeacon.bind_key_bytes == bytes.fromhex(KEY)
    assert gatt.bind_key is None
    assert config.ble.transport == "bumble"
    assert config.ble.pseudonym_key_file == tmp_path / "keys" / "locks.key"
    assert config.lock_unit_ids == {"0101", "0102"}


def test_a_file_without_locks_has_none(tmp_path: Path) -> None:
    config = load(tmp_path, "")
    assert config.locks == ()
    assert config.lock_unit_ids == frozenset()


LOCK = '[[locks]]\nunit_id = "0101"\nmac = "A4:C1:38:12:34:56"\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            LOCK + 'kind = "mibeacon"\nbind_key = "abc"\n',
            "gateway.toml: locks[0].bind_key: must be 32 hex digits (16 bytes), got 3 characters",
        ),
        (
            LOCK + f'kind = "mibeacon"\nbind_key = "{KEY[:-1]}X"\n',
            "gateway.toml: locks[0].bind_key: must be 32 hex digits",
        ),
        (LOCK + 'kind = "mibeacon"\n', "locks[0].bind_key: a mibeacon lock needs its bind key"),
        (
            LOCK + f'kind = "bthome"\nbind_key = "{KEY}"\n',
            "locks[0].bind_key: only a mibeacon lock has a bind key",
        ),
        (LOCK + 'kind = "zigbee"\n', "gateway.toml: locks[0].kind: Input should be 'mibeacon'"),
        (
            '[[locks]]\nunit_id = "0101"\nmac = "A4:C1:38:12:34"\nkind = "gatt"\n',
            "gateway.toml: locks[0].mac: 'A4:C1:38:12:34' is not a MAC address",
        ),
        (LOCK.replace("0101", "0999") + 'kind = "gatt"\n', "locks[0].unit_id: no unit '0999'"),
        (
            LOCK + 'kind = "gatt"\n' + LOCK.replace("0101", "0102") + 'kind = "bthome"\n',
            "locks[1].mac: A4:C1:38:12:34:56 is already locks[0]",
        ),
        ('[ble]\ntransport = "bluez"\n', "gateway.toml: ble.transport: Input should be"),
    ],
)
def test_broken_lock_sections_are_refused_with_the_field_path(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        load(tmp_path, text)
    assert message in str(refused.value)


def test_the_pseudonym_key_is_made_once_then_reused_and_a_bad_one_refused(
    tmp_path: Path,
) -> None:
    path = tmp_path / "keys" / "locks.key"
    first = load_or_create_pseudonymiser(path)
    assert path.stat().st_mode & 0o777 == 0o600
    again = load_or_create_pseudonymiser(path)
    assert first.pseudonym("80010003") == again.pseudonym("80010003")
    path.write_text("not hex\n", encoding="ascii")
    with pytest.raises(ConfigError, match=r"ble.pseudonym_key_file: .*locks.key: not a key"):
        load_or_create_pseudonymiser(path)

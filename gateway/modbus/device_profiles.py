"""Device profiles (register maps) are data: TOML files, one per device model.

The gateway ships profiles in ``gateway/modbus/profiles/``; an installer adds a model by dropping a
file into a directory named in ``profile_dirs`` of the gateway config. A file there with the
same profile name overrides the shipped one. Parsing and checking happen in the pure core
(:func:`gateway.core.registers.parse_profile`); this module only finds and reads files.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path

from gateway.core.registers import DeviceProfile, ProfileError, parse_profile
from gateway.errors import ConfigError

SHIPPED_PROFILES = Path(__file__).with_name("profiles")


def load_profiles(extra_dirs: Iterable[Path] = ()) -> dict[str, DeviceProfile]:
    """All profiles by name: the shipped ones, then each extra directory in order."""
    profiles: dict[str, DeviceProfile] = {}
    for directory in (SHIPPED_PROFILES, *extra_dirs):
        if not directory.is_dir():
            raise ConfigError(f"profile_dirs: not a directory: {directory}")
        for path in sorted(directory.glob("*.toml")):
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
                profile = parse_profile(data, path.name)
            except tomllib.TOMLDecodeError as err:
                raise ConfigError(f"{path.name}: not valid TOML: {err}") from err
            except ProfileError as err:
                raise ConfigError(str(err)) from err
            profiles[profile.name] = profile
    return profiles

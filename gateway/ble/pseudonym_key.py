"""The gateway's credential-pseudonymisation key: made once, kept beside the signing key.

A hex file of 32 random bytes, readable by the daemon's user only. It must outlive restarts,
or every resident's credential gets a new pseudonym and the lock window counts them twice; so
it is created only when missing, with a warning, and never rewritten.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from gateway.ble.credentials import CredentialPseudonymiser, new_pseudonym_key
from gateway.errors import ConfigError

log = logging.getLogger(__name__)

FIELD = "ble.pseudonym_key_file"


def load_or_create_pseudonymiser(path: Path) -> CredentialPseudonymiser:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(new_pseudonym_key().hex() + "\n")
        log.warning("%s: %s did not exist; created a new pseudonymisation key", FIELD, path)
    text = path.read_text(encoding="ascii", errors="replace").strip()
    try:
        return CredentialPseudonymiser(bytes.fromhex(text))
    except ValueError as err:
        raise ConfigError(f"{FIELD}: {path}: not a key of at least 16 bytes in hex") from err

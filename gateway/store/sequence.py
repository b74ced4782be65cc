"""Message sequences that never repeat, kept in ``meta``.

Every signed message carries ``(boot_id, boot_epoch, counter)``. At each start the gateway draws
a new random ``boot_id`` (64 bits), increments and persists ``boot_epoch``, and restarts
``counter`` at 0; each message takes the next counter, persisted in the same transaction as the
message itself. The bridge refuses a sequence it has seen carry another message, so the identity
must never be reused: the epoch and counter alone would be reused by a wiped store (back to 1/1),
a store restored from an old backup (back to that backup's epoch) or a gateway replaced with the
same key. The random ``boot_id`` makes every start's identities new in all three cases
(docs/wire-contract.md, "Sequences").
"""

from __future__ import annotations

import secrets

from gateway.store.database import StoreDatabase
from gateway.wire.signer import Sequence

BOOT_ID_BYTES = 8


def new_boot_id() -> str:
    return secrets.token_hex(BOOT_ID_BYTES)


class SequenceTable:
    def __init__(self, db: StoreDatabase) -> None:
        self._db = db

    def start_boot(self) -> Sequence:
        """Begin a new boot: a fresh boot id, the next epoch, the counter at 0."""
        with self._db.transaction():
            epoch = int(self._db.meta("boot_epoch") or "0") + 1
            boot_id = new_boot_id()
            self._db.set_meta("boot_epoch", str(epoch))
            self._db.set_meta("boot_id", boot_id)
            self._db.set_meta("counter", "0")
            return Sequence(epoch, 0, boot_id)

    def next(self) -> Sequence:
        """The next sequence of this boot (call inside the transaction that keeps the message)."""
        with self._db.transaction():
            epoch = int(self._db.meta("boot_epoch") or "0")
            counter = int(self._db.meta("counter") or "0") + 1
            self._db.set_meta("counter", str(counter))
            return Sequence(epoch, counter, self._db.meta("boot_id") or "")

"""The one database object of the gateway's store: the SQLite connection, its lock, transactions.

One SQLite file in WAL mode (``synchronous=NORMAL``: a power cut may lose the last commits but
never corrupts the file). Every table module (``readings``, ``outbox``, ...) works through this
object and never opens a connection of its own.

Transactions are re-entrant: a table method opens ``with db.transaction():`` for its own write,
and when it is called inside a larger unit of work (closing a day writes case states, daily
usage, the signed alerts and the last closed day) it joins that transaction instead, so the
unit commits or rolls back whole. The lock is held for the whole transaction; reads take it
too (``with db.reading():``). Methods are synchronous; the asyncio shell calls them through
``asyncio.to_thread``.

SQLite's own errors become :class:`StoreError` with SQLite's message; a full disk becomes
:class:`StoreFull`, so the shell can degrade (drop telemetry, keep alerts) and say why.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gateway.errors import GatewayError

WAL_CHECKPOINT_PAGES = 256
WAL_LIMIT_BYTES = 1024 * 1024


class StoreError(GatewayError):
    """The store could not do what was asked; the message carries SQLite's own error."""


class StoreFull(StoreError):
    """The disk (or the database's size limit) is full: nothing of this transaction was kept."""


class StoreDatabase:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            # Before the first table exists: lets evicted telemetry give its pages back.
            self.conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            # A small write-ahead log: checkpointed every 1 MiB and truncated back to it, so a
            # nearly full disk needs little room to evict telemetry (``disk_budget``).
            self.conn.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
            self.conn.execute(f"PRAGMA journal_size_limit={WAL_LIMIT_BYTES}")
        except sqlite3.Error as err:
            raise _store_error(err, f"cannot open the store {path}") from err
        self._lock = threading.RLock()
        self._depth = 0

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run the block as one transaction, or as part of the one already open."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self.conn
                finally:
                    self._depth -= 1
                return
            self._depth = 1
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                yield self.conn
                self.conn.execute("COMMIT")
            except sqlite3.Error as err:
                self._rollback()
                raise _store_error(err, "store transaction failed") from err
            except BaseException:
                self._rollback()
                raise
            finally:
                self._depth = 0

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock for a read (or a statement that needs no transaction of its own)."""
        with self._lock:
            try:
                yield self.conn
            except sqlite3.Error as err:
                raise _store_error(err, "store read failed") from err

    def _rollback(self) -> None:
        # SQLite rolls back by itself on some errors (a full disk among them); rolling back
        # again would hide the real error behind "no transaction is active".
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def meta(self, key: str) -> str | None:
        with self.reading() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO meta(key, value) VALUES(?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def create_meta_table(self) -> None:
        with self.transaction() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT)")

    def used_bytes(self) -> int:
        """Bytes the database holds in live pages (free pages are reused before the file grows)."""
        with self.reading() as conn:
            page_size = conn.execute("PRAGMA page_size").fetchone()[0]
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        return int(page_size) * (int(pages) - int(free))

    def give_back_free_pages(self) -> bool:
        """Empty the write-ahead log into the file and shrink the file by its free pages (stores
        made with auto_vacuum; older ones keep them for reuse). False when the disk is too full
        even for that: the freed pages are then reused by the next writes all the same."""
        try:
            with self.reading() as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                conn.execute("PRAGMA incremental_vacuum").fetchall()
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except StoreFull:
            return False
        return True

    def close(self) -> None:
        with self._lock:
            self.conn.close()


def _store_error(err: sqlite3.Error, doing: str) -> StoreError:
    name = getattr(err, "sqlite_errorname", "")
    if name == "SQLITE_FULL" or "database or disk is full" in str(err):
        return StoreFull(f"{doing}: the disk is full ({err})")
    return StoreError(f"{doing}: {err}")

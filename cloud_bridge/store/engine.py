"""Connections to the tickets database: the engine for each dialect, and one transaction.

SQLite (the embedded default) gets WAL, foreign keys, a busy timeout and ``synchronous=NORMAL``
on every connection; SQLAlchemy emits ``BEGIN`` itself, and a transaction that will write
begins with ``BEGIN IMMEDIATE``, so two writers queue on the busy timeout instead of one failing
when it upgrades a stale read snapshot. PostgreSQL gets a connection pool with pre-ping.

:func:`transaction` turns every database failure into :class:`StorageError`, except unique-key
violations (``IntegrityError``), which :mod:`cloud_bridge.store.tickets_db` turns into answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from cloud_bridge.errors import StorageError

__all__ = ["SQLITE_BUSY_TIMEOUT_S", "create_tickets_engine", "transaction"]

SQLITE_BUSY_TIMEOUT_S = 10.0
_WRITE = "cloud_bridge_write"  # execution option: this transaction writes (SQLite: IMMEDIATE)


def create_tickets_engine(url: str) -> Engine:
    """The engine for ``url``: SQLite set up as above, anything else with pre-ping."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)
    engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


@contextmanager
def transaction(engine: Engine, *, write: bool, database: str) -> Iterator[Connection]:
    """One transaction; database failures become :class:`StorageError` naming ``database``,
    except unique-key violations, which the callers turn into answers."""
    try:
        with engine.connect() as conn:
            conn.execution_options(**{_WRITE: write})
            with conn.begin():
                yield conn
    except IntegrityError:
        raise
    except SQLAlchemyError as err:
        raise StorageError(f"tickets database {database}: {_first_line(err)}") from err


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # SQLAlchemy emits BEGIN itself (see _sqlite_begin); sqlite3's own handling is switched off.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # A writer takes the write lock up front, so two writers queue (busy timeout) instead of
    # one failing when it upgrades a read snapshot that the other has made stale.
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")


def _first_line(err: SQLAlchemyError) -> str:
    cause = getattr(err, "orig", None) or err
    return str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__

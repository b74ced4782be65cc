"""Alembic's environment for the tickets database.

The bridge runs the migrations through :mod:`cloud_bridge.store.migrations_runner`, which hands over
one connection, already inside its transaction (and, on PostgreSQL, holding the schema lock), as
``config.attributes["connection"]``; everything runs in that one transaction. Without it (a
developer running the ``alembic`` command with the repository's ``alembic.ini``, for example
``alembic revision --autogenerate -m "..."``), it connects to ``sqlalchemy.url`` itself.

Offline mode (``--sql``) is not supported: revision 2 reads the stored tokens to fill in a column.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection

from cloud_bridge.store.schema import metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,  # SQLite alters a table by copying it: autogenerate batch blocks
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("the tickets database migrations do not support offline (--sql) mode")

_given = context.config.attributes.get("connection")
if _given is not None:
    run_migrations(_given)
else:
    _url = context.config.get_main_option("sqlalchemy.url")
    if not _url:
        raise SystemExit("set sqlalchemy.url (alembic.ini or -x) to the tickets database")
    _engine = create_engine(_url)
    try:
        with _engine.begin() as _connection:
            run_migrations(_connection)
    finally:
        _engine.dispose()

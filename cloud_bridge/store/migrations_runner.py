"""Schema migrations of the tickets database: Alembic, configured here, shipped in the package.

The revisions live in ``cloud_bridge/store/migrations/versions/`` (found as the package resource
``cloud_bridge.store:migrations``, so an installed wheel carries them; no ``alembic.ini`` is read).
Revision ``0001_initial`` is the schema that bridges created with ``metadata.create_all`` before
migrations existed; each later revision changes it one step.

:func:`upgrade` brings a database to the newest revision (``head``) on one connection, inside the
caller's transaction, whatever it finds:

- no tickets tables: every revision runs, creating them;
- the tickets tables but no ``alembic_version``: a database from before migrations; it is
  stamped at ``0001_initial`` (which it is), then upgraded;
- a revision: upgraded from there (nothing to do at ``head``);
- a revision this code does not know (a newer bridge upgraded the database): refused.

The caller serialises concurrent upgrades (see
:meth:`cloud_bridge.store.tickets_db.TicketsDB.migrate`); a failed upgrade rolls back with the
transaction and leaves the database as it was.
"""

from __future__ import annotations

from dataclasses import dataclass

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from cloud_bridge.errors import StorageError

__all__ = ["BASELINE", "MigrationResult", "SchemaState", "head_revision", "schema_state", "upgrade"]

SCRIPT_LOCATION = "cloud_bridge.store:migrations"
BASELINE = "0001_initial"
TABLES = ("tickets", "ticket_events", "alerts_received")  # what revision 0001 creates
VERSION_TABLE = "alembic_version"


@dataclass(frozen=True, slots=True)
class SchemaState:
    """Where a database stands: its ``revision`` (None: unversioned), the ``head`` this code
    brings it to, and whether the tickets tables exist at all."""

    revision: str | None
    head: str
    has_tables: bool
    known: bool  # the revision is one of this code's (or there is none)

    @property
    def at_head(self) -> bool:
        return self.revision == self.head

    def describe(self) -> str:
        """One line for an operator."""
        if self.revision is None and not self.has_tables:
            return f"empty (no tickets tables yet); an upgrade creates revision {self.head}"
        if self.revision is None:
            return (
                f"created before migrations (no revision); an upgrade stamps it {BASELINE}"
                f" and brings it to {self.head}"
            )
        if not self.known:
            return (
                f"revision {self.revision}, unknown to this version of cloud-bridge (head"
                f" {self.head}): a newer version upgraded it"
            )
        if self.at_head:
            return f"revision {self.revision} (head)"
        return f"revision {self.revision}; head is {self.head}: run `cloud-bridge db upgrade`"


@dataclass(frozen=True, slots=True)
class MigrationResult:
    before: str | None
    after: str
    stamped: bool  # an unversioned database from before migrations was stamped at BASELINE

    @property
    def changed(self) -> bool:
        return self.stamped or self.before != self.after

    def describe(self) -> str:
        if not self.changed:
            return f"already at revision {self.after} (head)"
        if self.before is None and not self.stamped:
            return f"created at revision {self.after} (head)"
        start = f"{BASELINE} (stamped: created before migrations)" if self.stamped else self.before
        return f"upgraded from revision {start} to {self.after} (head)"


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, built here instead of read from a file; ``connection`` is the
    one ``env.py`` runs the migrations on."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the migrations have a single head"
    return head


def schema_state(conn: Connection) -> SchemaState:
    """Where the database on ``conn`` stands; reads only."""
    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_current_head()
    assert head is not None, "the migrations have a single head"
    revision = MigrationContext.configure(conn).get_current_revision()
    known = revision is None or _is_known(script, revision)
    present = set(inspect(conn).get_table_names())
    return SchemaState(revision, head, bool(present & set(TABLES)), known)


def upgrade(conn: Connection) -> MigrationResult:
    """Bring the database on ``conn`` to ``head`` inside the caller's transaction; raises
    :class:`StorageError` for a database it cannot upgrade (unknown revision, half a schema)."""
    state = schema_state(conn)
    if not state.known:
        raise StorageError(f"tickets database: {state.describe()}; upgrade cloud-bridge")
    if state.at_head:
        return MigrationResult(state.revision, state.head, stamped=False)
    config = alembic_config(conn)
    stamped = False
    if state.revision is None and state.has_tables:
        missing = sorted(set(TABLES) - set(inspect(conn).get_table_names()))
        if missing:
            raise StorageError(
                f"tickets database: unversioned and incomplete (no {', '.join(missing)});"
                " not a database this bridge made, refusing to migrate it"
            )
        command.stamp(config, BASELINE)
        stamped = True
    try:
        command.upgrade(config, "head")
    except CommandError as err:
        raise StorageError(f"tickets database: cannot upgrade: {err}") from err
    return MigrationResult(state.revision, state.head, stamped)


def _is_known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except CommandError:
        return False

"""Open the store (SQLite in WAL mode, or PostgreSQL) and bring its schema up to date.

The models are bound late through ``engine.models.db`` (a ``DatabaseProxy``), so the app
factory, the CLI and the tests each pick their own database with one call to ``open_store``.
"""
from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

from peewee import PostgresqlDatabase, SqliteDatabase
from playhouse.db_url import connect
from playhouse.migrations import Runner

from engine.errors import ConfigError
from engine.models import ALL_MODELS, db

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
STARTUP_LOCK_KEY = 7_305_119  # any constant: the advisory lock id ruledesk start-ups share
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "busy_timeout": 5000,
    "foreign_keys": 1,
    "synchronous": "normal",
}


def open_database(url: str):
    """Return an unconnected peewee database for ``url`` (sqlite:///path or postgresql://…)."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if path not in ("", ":memory:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # IMMEDIATE: a transaction takes the write lock when it begins (waiting up to
        # busy_timeout), instead of failing when a read turns into a write under another
        # process's commit (SQLITE_BUSY_SNAPSHOT)
        return SqliteDatabase(path or ":memory:", pragmas=SQLITE_PRAGMAS, check_same_thread=False,
                              lock_type="IMMEDIATE")
    if url.startswith(("postgresql://", "postgres://")):
        return connect(url.replace("postgres://", "postgresql://", 1))
    raise ConfigError("DATABASE_URL must start with sqlite:/// or postgresql:// (got %(url)s)", url=url)


def open_store(url: str, migrate: bool = True):
    """Bind the models to ``url`` and apply pending migrations; return the database."""
    database = open_database(url)
    db.initialize(database)
    if migrate:
        with database.connection_context(), startup_lock(database):
            migrate_store(database)
    return database


@contextmanager
def startup_lock(database):
    """Serialise start-up work (migrations, first-start data) between processes.

    Two app processes starting together must not both create tables or both load the demo
    data: PostgreSQL takes a session advisory lock, SQLite an exclusive lock file beside the
    database file.
    """
    if isinstance(database, PostgresqlDatabase):
        database.execute_sql("SELECT pg_advisory_lock(%s)", (STARTUP_LOCK_KEY,))
        try:
            yield
        finally:
            database.execute_sql("SELECT pg_advisory_unlock(%s)", (STARTUP_LOCK_KEY,))
        return
    path = database.database
    if path in ("", ":memory:"):
        yield
        return
    with open(f"{path}.startup-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def migrate_store(database) -> list[str]:
    """Apply every pending numbered migration in ``engine/migrations``; return their names."""
    return Runner(database, directory=str(MIGRATIONS_DIR)).up()


def is_postgres(database=None) -> bool:
    return isinstance(database or db.obj, PostgresqlDatabase)


def default_url(instance_path: str) -> str:
    return os.environ.get("DATABASE_URL") or f"sqlite:///{Path(instance_path) / 'ruledesk.db'}"


def wipe(database) -> None:
    """Delete every row and reset sequences: what the test suite does between tests."""
    tables = [m._meta.table_name for m in reversed(ALL_MODELS)]
    with database.atomic():
        if isinstance(database, PostgresqlDatabase):
            database.execute_sql(
                "TRUNCATE %s RESTART IDENTITY CASCADE" % ", ".join(f'"{t}"' for t in tables))
        else:
            for t in tables:
                database.execute_sql(f'DELETE FROM "{t}"')
            if database.table_exists("sqlite_sequence"):
                database.execute_sql("DELETE FROM sqlite_sequence")

"""Opening the service's database and bringing its schema up to date.

The embedded default is a SQLite file in the working folder (:data:`DEFAULT_URL`); production
uses PostgreSQL by URL (``postgresql://user@host/db``, through psycopg 3). The URL comes from
``--db``, else the environment variable ``TANLU_DATABASE_URL``, never from a file in the
project, so that a password in it stays out of version control.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from tanlu.errors import StoreError
from tanlu.store import DEFAULT_URL, URL_VARIABLE

MIGRATIONS = Path(__file__).parent / "migrations"


def database_url(given: str | None = None) -> str:
    """The database URL: ``given``, else ``$TANLU_DATABASE_URL``, else :data:`DEFAULT_URL`."""
    return given or os.environ.get(URL_VARIABLE) or DEFAULT_URL


def now() -> str:
    """The current time in UTC as ISO 8601 text (what every ``*_at`` column holds)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _driver_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` go through psycopg 3 (the installed driver)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(f"'{_safe(url)}' is not a database URL") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername not in ("sqlite", "postgresql+psycopg"):
        raise StoreError(
            f"database '{parsed.drivername}' is not supported: use sqlite:///FILE or "
            "postgresql://USER@HOST/DATABASE"
        )
    return parsed.render_as_string(hide_password=False)


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unreadable URL)"


# How long a SQLite connection waits for another's write to end before it fails as "locked"
# [s] (pysqlite's default is 5): an upload of a GiB stores its bytes in a few seconds.
SQLITE_BUSY_TIMEOUT_S = 30.0


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # foreign keys enforced; write-ahead logging, so that readers (dashboards, a job copying a
    # revision) neither wait for a writer nor hold one up; and transactions left to
    # SQLAlchemy (pysqlite would otherwise run DDL and reads outside any transaction: a
    # migration could half-apply)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()
    dbapi_connection.isolation_level = None


def _sqlite_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN")


def _cannot_open(engine: Engine, error: DBAPIError) -> StoreError:
    text = str(error.orig).strip()
    return StoreError(
        f"cannot open the database {engine.url.render_as_string(hide_password=True)}: "
        f"{text.splitlines()[0] if text else type(error.orig).__name__}"
    )


def open_engine(url: str | None = None) -> Engine:
    """A SQLAlchemy engine on the database (SQLite with its foreign keys enforced)."""
    resolved = _driver_url(database_url(url))
    # a server's connections can drop while pooled (a restart, an idle timeout): each is
    # checked as it is taken; a SQLite file's cannot
    sqlite = resolved.startswith("sqlite")
    engine = create_engine(
        resolved,
        pool_pre_ping=not sqlite,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S} if sqlite else {},
    )
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back (nothing written) when it
    raises."""
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session, session.begin():
        yield session


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """The newest migration's revision id."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at (``None``: no schema yet).

    Raises
    ------
    StoreError
        When the database cannot be opened or read.
    """
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except DBAPIError as error:
        raise _cannot_open(engine, error) from None


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Run every migration the database has not had, in one transaction each; returns the
    revision before and after. Running it again changes nothing."""
    config = _alembic_config()
    try:
        before = current_revision(engine)
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except DBAPIError as error:
        raise _cannot_open(engine, error) from None
    return before, head_revision()


def require_current(engine: Engine) -> None:
    """Raise :class:`StoreError` unless the database's schema is the newest (``tanlu db
    upgrade`` first)."""
    revision = current_revision(engine)
    if revision != head_revision():
        raise StoreError(
            f"the database {engine.url.render_as_string(hide_password=True)} is at schema "
            f"{revision or '(none)'}, not {head_revision()}: run `tanlu db upgrade` first"
        )

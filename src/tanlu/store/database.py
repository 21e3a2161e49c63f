"""Opening the service's database and bringing its schema up to date.

The embedded default is a SQLite file in the working folder (:data:`DEFAULT_URL`); production
uses PostgreSQL by URL (``postgresql://user@host/db``, through psycopg 3). The URL comes from
``--db``, else the environment variable ``TANLU_DATABASE_URL``, never from a file in the
project, so that a password in it stays out of version control.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, DisconnectionError
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


# A server's pooled connection can drop while it lies in the pool (a restart, an idle timeout).
# One that has lain idle this long is pinged as it is taken, and replaced if dead; one in use a
# moment ago is not, so that a busy service spends no round trip on it (a connection that drops
# while in use fails its request whatever is pinged, and SQLAlchemy then renews the whole pool).
PING_AFTER_IDLE_S = 10.0


def _returned(_dbapi_connection: Any, record: Any) -> None:
    record.info["returned_at"] = time.monotonic()


def _ping_idle(engine: Engine) -> Callable[[Any, Any, Any], None]:
    def ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < PING_AFTER_IDLE_S:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error:
            # the server's answer was an error (psycopg's AdminShutdown after a restart)
            alive = False
        if not alive:
            # the pool closes it and takes (or opens) another
            raise DisconnectionError("the pooled connection had dropped")

    return ping


# Connections an engine keeps open for reuse: at least one for every thread of a service's
# worker process that may use the database at once (its request threads, heavy threads and job
# threads; tanlu.service.app sizes it so). SQLAlchemy's default of 5 made each request beyond
# the fifth at once open a connection and close it when done: on PostgreSQL a server process
# started and signed in each time, which put p99 of a dashboard read at 50 clients at 0.6-1.2 s
# with a C load generator, against 74-230 ms with a pool large enough for the threads
# (docs/performance.md). Connections are opened only as they are needed.
POOL_SIZE = 12
# Connections beyond the pool for a burst (SQLAlchemy's default), closed when returned.
POOL_OVERFLOW = 10


def open_engine(url: str | None = None, pool_size: int = POOL_SIZE) -> Engine:
    """A SQLAlchemy engine on the database (SQLite with its foreign keys enforced) that keeps
    up to ``pool_size`` connections open for reuse."""
    if pool_size < 1:
        raise ValueError(f"an engine needs room for at least one connection, not {pool_size}")
    resolved = _driver_url(database_url(url))
    sqlite = resolved.startswith("sqlite")
    # an in-memory SQLite database lives in its one connection: no pool to size
    in_memory = sqlite and make_url(resolved).database in (None, "", ":memory:")
    engine = create_engine(
        resolved,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S} if sqlite else {},
        **({} if in_memory else {"pool_size": pool_size, "max_overflow": POOL_OVERFLOW}),
    )
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        event.listen(engine.pool, "checkin", _returned)
        event.listen(engine.pool, "checkout", _ping_idle(engine))
    return engine


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    """A connection for a read of one statement: on PostgreSQL in autocommit, so that the read
    costs one round trip, not three (BEGIN, the query, ROLLBACK), and sees one snapshot of the
    database on its own. SQLite's reads stay in their transaction (its BEGIN is no round
    trip)."""
    with engine.connect() as connection:
        if engine.dialect.name != "sqlite":
            # client-side on psycopg; SQLAlchemy restores the isolation level on return
            connection.execution_options(isolation_level="AUTOCOMMIT")
        yield connection


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

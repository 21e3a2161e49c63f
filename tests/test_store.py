"""The service's database (tanlu.store) on SQLite and on a real PostgreSQL: the schema and its
migrations, users and roles with Argon2id hashes, API tokens, and the hash-chained audit log
with `tanlu audit verify` failing on a tampered database."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, event, func, inspect, select, text
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from tanlu.cli import app
from tanlu.errors import AuditError, StoreError
from tanlu.store import database
from tanlu.store.accounts import (
    authenticate,
    create_token,
    create_user,
    revoke_token,
    token_account,
)
from tanlu.store.audit import (
    GENESIS,
    AuditRecord,
    append,
    append_in,
    entry_hash,
    verify_chain,
    write,
)
from tanlu.store.database import open_engine, read_connection, require_current, upgrade
from tanlu.store.models import AuditEntry, Base
from tanlu.store.roles import Role

PASSWORD = "correct horse battery"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = open_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def test_upgrade_creates_the_schema_the_models_describe_and_repeating_it_changes_nothing(
    database_url: str,
) -> None:
    engine = open_engine(database_url)
    with pytest.raises(StoreError, match=r"schema \(none\), not 0007: run `tanlu db upgrade`"):
        require_current(engine)
    assert upgrade(engine) == (None, "0007")
    assert upgrade(engine) == ("0007", "0007")
    require_current(engine)
    tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
    assert tables == set(Base.metadata.tables)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
    engine.dispose()


def test_a_user_is_stored_with_an_argon2id_hash_and_signs_in(engine: Engine) -> None:
    account = create_user(engine, " Ana@Example.COM ", PASSWORD, "Tanlu Co", "admin", "cli:test")
    assert (account.email, account.organisation, account.role) == (
        "ana@example.com",
        "Tanlu Co",
        Role.ADMIN,
    )
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT password_hash FROM users")).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert authenticate(engine, "ana@example.com", PASSWORD) == [account]
    assert authenticate(engine, "ANA@example.com", PASSWORD) == [account]
    assert authenticate(engine, "ana@example.com", PASSWORD + "x") == []
    assert authenticate(engine, "nobody@example.com", PASSWORD) == []


@pytest.mark.parametrize(
    ("email", "password", "role", "message"),
    [
        ("not-an-email", PASSWORD, "admin", "'not-an-email' is not an e-mail address"),
        ("b@example.com", "short", "admin", "the password has 5 characters: at least 12"),
        ("b@example.com", PASSWORD, "owner", "role 'owner' is not one of viewer, contributor"),
        ("a@example.com", PASSWORD, "viewer", "a user with the e-mail a@example.com already"),
    ],
)
def test_bad_users_are_refused_and_nothing_is_written(
    engine: Engine, email: str, password: str, role: str, message: str
) -> None:
    create_user(engine, "a@example.com", PASSWORD, "Tanlu Co", "admin", "cli:test")
    before = verify_chain(engine)
    with pytest.raises(StoreError, match=message):
        create_user(engine, email, password, "Other Co", role, "cli:test")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM users")).scalar_one() == 1
        assert connection.execute(text("SELECT count(*) FROM organisations")).scalar_one() == 1
    assert verify_chain(engine) == before


def test_a_token_acts_as_its_member_until_revoked(engine: Engine) -> None:
    create_user(engine, "a@example.com", PASSWORD, "Tanlu Co", "reviewer", "cli:test")
    token = create_token(engine, "a@example.com", "Tanlu Co", "nightly upload", "cli:test")
    assert token.startswith("tanlu_") and len(token) > 40
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT token_sha256 FROM api_tokens")).scalar_one()
    assert token not in stored
    account = token_account(engine, token)
    assert account is not None and account.role is Role.REVIEWER
    assert token_account(engine, token + "x") is None
    assert token_account(engine, "Bearer " + token) is None
    with pytest.raises(StoreError, match="is not a member of 'Other Co'"):
        create_token(engine, "a@example.com", "Other Co", "x", "cli:test")
    revoke_token(engine, token, "cli:test", "laptop lost")
    assert token_account(engine, token) is None
    with pytest.raises(StoreError, match="was already revoked"):
        revoke_token(engine, token, "cli:test", "again")


def test_the_audit_log_chains_every_change_by_hand(engine: Engine) -> None:
    create_user(engine, "a@example.com", PASSWORD, "Tanlu Co", "admin", "cli:test")
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM audit_log ORDER BY id")).mappings().all()
    # a new organisation, then its first user: two entries, the first after the genesis hash
    assert [r["action"] for r in rows] == ["organisation.create", "user.create"]
    assert rows[0]["previous_hash"] == GENESIS
    assert rows[1]["previous_hash"] == rows[0]["entry_hash"]
    for row in rows:
        assert entry_hash(dict(row)) == row["entry_hash"]
    report = verify_chain(engine)
    assert (report.entries, report.last_id, report.last_hash) == (2, 2, rows[1]["entry_hash"])


def _three_entries(engine: Engine) -> None:
    for n in range(3):
        append(engine, AuditRecord(actor="cli:test", action="note", target=f"thing {n}"))


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        ("UPDATE audit_log SET reason = 'nothing to see' WHERE id = 2", "entry 2 .* was edited"),
        ("DELETE FROM audit_log WHERE id = 2", "audit entry 2 is missing"),
        (
            "DELETE FROM audit_log WHERE id = 3",
            "head points at entry 3 but the chain ends at entry 2",
        ),
        ("DELETE FROM audit_log", "head points at entry 3 but the chain ends at entry 0"),
        ("DELETE FROM audit_head", "the audit log's head is missing"),
        (
            f"UPDATE audit_log SET previous_hash = '{'f' * 64}' WHERE id = 2",
            "entry 2 does not follow entry 1",
        ),
    ],
)
def test_audit_verify_fails_on_a_tampered_database(
    engine: Engine, database_url: str, tamper: str, message: str
) -> None:
    _three_entries(engine)
    runner = CliRunner()
    intact = runner.invoke(app, ["audit", "verify", "--db", database_url])
    assert intact.exit_code == 0, intact.output
    assert "audit log intact: 3 entries" in intact.output
    with engine.begin() as connection:
        connection.execute(text(tamper))
    with pytest.raises(AuditError, match=message):
        verify_chain(engine)
    failed = runner.invoke(app, ["audit", "verify", "--db", database_url])
    assert failed.exit_code == 1
    assert "error:" in failed.output


def test_writers_appending_at_once_keep_one_chain(engine: Engine) -> None:
    def write(who: str) -> None:
        for n in range(15):
            append(engine, AuditRecord(actor=who, action="note", target=f"{who} {n}"))

    threads = [threading.Thread(target=write, args=(f"w{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert verify_chain(engine).entries == 45


def test_a_second_writer_waits_for_the_first_and_follows_it(
    engine: Engine, database_url: str
) -> None:
    # a chain of one entry (the very first entry has no head row to wait on: its writers race)
    append(engine, AuditRecord(actor="a", action="note", target="start"))
    # the first writer holds its transaction open with its entry written, not committed
    first = sessionmaker(engine)()
    first.begin()
    append_in(first, AuditRecord(actor="a", action="note", target="first"))
    runs: list[int] = []

    def second_work(session: Session) -> AuditEntry:
        # what the work checks before it writes: the entries there are
        runs.append(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)
        return append_in(session, AuditRecord(actor="b", action="note", target="second"))

    done: list[AuditEntry] = []
    second = threading.Thread(target=lambda: done.append(write(engine, second_work)))
    second.start()
    second.join(0.5)
    assert second.is_alive()  # waiting for the first
    first.commit()
    first.close()
    second.join(30)
    assert not second.is_alive() and done[0].id == 3
    assert verify_chain(engine).entries == 3
    # the work that landed saw the first writer's entry (2 before its own); on PostgreSQL it
    # waited on the head row's lock before it read anything and ran once; on SQLite it may have
    # found the file locked and run again
    assert runs[-1] == 2
    if database_url.startswith("postgresql"):
        assert runs == [2]


def test_changes_made_at_once_all_land_with_their_audit_entries(engine: Engine) -> None:
    """Users and tokens created from several threads at once: each change and its audit entry
    land (the writers retry when another one committed first), in one chain."""
    create_user(engine, "a@example.com", PASSWORD, "Tanlu Co", "admin", "cli:test")
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            create_user(engine, f"u{n}@example.com", PASSWORD, f"Org {n % 2}", "viewer", "t")
            create_token(engine, "a@example.com", "Tanlu Co", f"token {n}", "t")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    # 2 first entries, then per thread a user (and its organisation for the first of each)
    # and a token
    assert verify_chain(engine).entries == 2 + 6 + 2 + 6
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM users")).scalar_one() == 7
        assert connection.execute(text("SELECT count(*) FROM api_tokens")).scalar_one() == 6


def test_cli_upgrade_create_user_and_token(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["db", "upgrade", "--db", database_url])
    assert first.exit_code == 0, first.output
    assert "schema (none) -> 0007" in first.output
    again = runner.invoke(app, ["db", "upgrade", "--db", database_url])
    assert "schema 0007, already the newest" in again.output
    monkeypatch.delenv("TANLU_PASSWORD", raising=False)
    create = ["users", "create", "ana@example.com", "--organisation", "Tanlu Co", "--role", "admin"]
    no_password = runner.invoke(app, [*create, "--db", database_url])
    assert no_password.exit_code == 2
    assert "set TANLU_PASSWORD" in no_password.output
    monkeypatch.setenv("TANLU_PASSWORD", PASSWORD)
    made = runner.invoke(app, [*create, "--db", database_url])
    assert made.exit_code == 0, made.output
    assert "user ana@example.com added to Tanlu Co as admin" in made.output
    twice = runner.invoke(app, [*create, "--db", database_url])
    assert twice.exit_code == 2
    assert "already exists" in twice.output
    token = runner.invoke(
        app,
        [
            "users",
            "token",
            "ana@example.com",
            "--organisation",
            "Tanlu Co",
            "--name",
            "ci",
            "--db",
            database_url,
        ],
    )
    assert token.exit_code == 0, token.output
    engine = open_engine(database_url)
    account = token_account(engine, token.stdout.strip())
    assert account is not None and account.email == "ana@example.com"
    revoke = ["users", "revoke-token", "--reason", "leaked", "--db", database_url]
    revoked = runner.invoke(app, revoke, input=token.stdout)
    assert revoked.exit_code == 0, revoked.output
    assert token_account(engine, token.stdout.strip()) is None
    again = runner.invoke(app, revoke, input=token.stdout)
    assert again.exit_code == 2
    assert "already revoked" in again.output
    engine.dispose()


def test_the_database_url_comes_from_the_environment_and_bad_ones_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    monkeypatch.setenv("TANLU_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert (tmp_path / "env.db").is_file()
    monkeypatch.delenv("TANLU_DATABASE_URL")
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert (tmp_path / "tanlu.db").is_file()
    for url, message in [
        ("mysql://u@h/db", "database 'mysql' is not supported"),
        ("not a url", "is not a database URL"),
        ("postgresql://u:secret@/db?host=/nonexistent", "cannot open the database"),
    ]:
        result = runner.invoke(app, ["db", "upgrade", "--db", url])
        assert result.exit_code == 2, result.output
        assert message in result.output
        assert "secret" not in result.output
    stale = runner.invoke(app, ["audit", "verify", "--db", f"sqlite:///{tmp_path / 'new.db'}"])
    assert stale.exit_code == 2
    assert "run `tanlu db upgrade` first" in stale.output


def test_a_read_connection_is_in_autocommit_on_postgresql_and_restored_after(
    engine: Engine,
) -> None:
    postgresql = engine.dialect.name == "postgresql"
    with read_connection(engine) as connection:
        assert connection.execute(text("SELECT 1")).scalar() == 1
        driver = connection.connection.driver_connection
        # psycopg's connection in autocommit; SQLite's in its transactions
        assert getattr(driver, "autocommit", False) is postgresql
    # the pooled connection goes back to transactions for the next user
    with engine.connect() as connection:
        assert connection.connection.driver_connection is driver
        assert getattr(driver, "autocommit", False) is False


def test_a_pooled_connection_that_dropped_while_idle_is_replaced(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine.dialect.name == "sqlite":
        pytest.skip("a SQLite file's connections cannot drop")
    with engine.connect() as connection:
        backend = connection.execute(text("SELECT pg_backend_pid()")).scalar()
    # the server ends the pooled connection (as a restart or an idle timeout would)
    admin = open_engine(engine.url.render_as_string(hide_password=False))
    with admin.connect() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
    admin.dispose()
    # idle long enough to be pinged: the dead connection is found and replaced, no error
    monkeypatch.setattr(database, "PING_AFTER_IDLE_S", 0.0)
    with read_connection(engine) as connection:
        assert connection.execute(text("SELECT pg_backend_pid()")).scalar() != backend


def test_a_connection_in_use_a_moment_ago_is_not_pinged(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite's connections are not pinged")
    with engine.connect():
        pass
    pings: list[object] = []
    original = engine.dialect.do_ping
    engine.dialect.do_ping = lambda c: pings.append(c) or original(c)  # type: ignore[method-assign]
    try:
        for _ in range(3):
            with read_connection(engine) as connection:
                connection.execute(text("SELECT 1"))
    finally:
        del engine.dialect.do_ping
    assert pings == []


def test_as_many_threads_at_once_as_the_pool_holds_reuse_its_connections(
    database_url: str,
) -> None:
    # 10 threads, as a worker process of the service has (8 for requests, 2 for heavy work):
    # with SQLAlchemy's default pool of 5, every round opened 5 connections and closed them
    engine = open_engine(database_url, pool_size=10)
    opened: list[object] = []
    event.listen(engine, "connect", lambda connection, _record: opened.append(connection))
    together = threading.Barrier(10)

    def hold() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            together.wait(timeout=30)

    try:
        for _round in range(3):
            threads = [threading.Thread(target=hold) for _ in range(10)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        assert len(opened) == 10
    finally:
        engine.dispose()


def test_the_pool_is_sized_to_the_threads_of_a_service_process() -> None:
    from tanlu.service.app import pool_size
    from tanlu.service.threads import HEAVY_THREADS, REQUEST_THREADS

    # 8 request threads + 2 heavy + 1 job thread + 1 to spare: the engines' default
    assert pool_size(REQUEST_THREADS, HEAVY_THREADS, 1) == 8 + 2 + 1 + 1 == database.POOL_SIZE
    assert pool_size(4, 1, 0) == 6
    with pytest.raises(ValueError, match="at least one connection"):
        open_engine("sqlite://", pool_size=0)
    # an in-memory SQLite database has its one connection, no pool to size
    memory = open_engine("sqlite://")
    with memory.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar() == 1
    memory.dispose()

"""The sign-in limit counted in the service's database, on SQLite and on a real PostgreSQL:
shared by two applications on one database (as two worker processes are), failures only, an
attempt under way counted until it ends, old rows deleted; and `tanlu serve --workers 2` really
started."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from fastapi import HTTPException
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from tanlu.service import DatabaseLoginLimiter, create_app
from tanlu.store.accounts import create_user
from tanlu.store.database import open_engine, upgrade
from tanlu.store.models import LoginFailure
from tests.serving import free_port, start_serve

PASSWORD = "correct horse battery"
EMAIL = "ana@limit.example.com"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = open_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def _rows(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(LoginFailure)).scalar_one())


def test_two_applications_on_one_database_share_the_count(engine: Engine) -> None:
    create_user(engine, EMAIL, PASSWORD, "Limit Co", "admin", "test")
    # two applications, as two worker processes of `tanlu serve --workers 2` are, each with the
    # default limit: 5 failures an e-mail in 15 minutes
    first, second = (TestClient(create_app(engine, job_threads=0)) for _ in range(2))
    wrong = {"email": EMAIL, "password": PASSWORD + "x"}
    answers = [
        (first if n % 2 else second).post("/api/session", json=wrong).status_code for n in range(5)
    ]
    assert answers == [401] * 5
    # the 6th attempt, whichever process takes it: refused, even with the right password
    right = first.post("/api/session", json={"email": EMAIL, "password": PASSWORD})
    assert right.status_code == 429
    assert 1 <= int(right.headers["Retry-After"]) <= 901
    assert second.post("/api/session", json=wrong).status_code == 429
    # the refused attempts are not counted: 5 failures, each counted against the e-mail and
    # the client address
    assert _rows(engine) == 10


def test_a_success_clears_the_emails_failures_not_the_clients(engine: Engine) -> None:
    limiter = DatabaseLoginLimiter(engine, per_email=2, per_client=3)
    limiter.check(EMAIL, "1.1.1.1")
    limiter.failed(EMAIL, "1.1.1.1")
    limiter.check(EMAIL, "1.1.1.1")
    limiter.succeeded(EMAIL, "1.1.1.1")
    # the e-mail's failure is gone (two more allowed), the client's stays (one of three)
    limiter.check(EMAIL, "2.2.2.2")
    limiter.failed(EMAIL, "2.2.2.2")
    limiter.check(EMAIL, "1.1.1.1")
    limiter.failed(EMAIL, "1.1.1.1")
    with pytest.raises(HTTPException) as refused:
        limiter.check(EMAIL, "3.3.3.3")  # 2 of 2 for the e-mail
    assert refused.value.status_code == 429
    limiter.check("other@limit.example.com", "1.1.1.1")
    limiter.failed("other@limit.example.com", "1.1.1.1")
    with pytest.raises(HTTPException):
        limiter.check("third@limit.example.com", "1.1.1.1")  # 3 of 3 for the client


def test_attempts_under_way_count_in_every_process_until_settled(engine: Engine) -> None:
    # two limiters on one database: two processes
    one, two = (DatabaseLoginLimiter(engine, per_email=2, per_client=10**6) for _ in range(2))
    one.check(EMAIL, "1.1.1.1")  # two attempts hashing their passwords, in two processes
    two.check(EMAIL, "2.2.2.2")
    with pytest.raises(HTTPException):
        one.check(EMAIL, "3.3.3.3")
    one.succeeded(EMAIL, "1.1.1.1")
    two.failed(EMAIL, "2.2.2.2")  # both settled: one failure, under the limit
    two.check(EMAIL, "3.3.3.3")
    two.failed(EMAIL, "3.3.3.3")
    with pytest.raises(HTTPException):
        one.check(EMAIL, "4.4.4.4")
    assert one._reserved == {} and two._reserved == {}


def test_rows_that_left_the_window_are_deleted(engine: Engine) -> None:
    # a clock of the test's own, so that a slow machine cannot move the window
    now = [1_000_000.0]
    limiter = DatabaseLoginLimiter(
        engine, per_email=2, per_client=10**6, window_s=60.0, clock=lambda: now[0]
    )
    for n in range(20):
        limiter.check(f"user{n}@limit.example.com", "1.2.3.4")
        limiter.failed(f"user{n}@limit.example.com", "1.2.3.4")
    assert _rows(engine) == 40
    now[0] += 61.0
    limiter.check(EMAIL, "5.6.7.8")  # a new attempt deletes the old rows
    assert _rows(engine) == 2
    limiter.failed(EMAIL, "5.6.7.8")
    limiter.check(EMAIL, "5.6.7.8")
    limiter.failed(EMAIL, "5.6.7.8")
    with pytest.raises(HTTPException):
        limiter.check(EMAIL, "5.6.7.8")
    now[0] += 59.0  # still inside the window of the last failure
    with pytest.raises(HTTPException):
        limiter.check(EMAIL, "5.6.7.8")
    now[0] += 2.0  # the window has passed: allowed again
    limiter.check(EMAIL, "5.6.7.8")


def test_tanlu_serve_with_two_workers_answers_and_shares_the_limit(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'tanlu.db'}"
    engine = open_engine(database)
    upgrade(engine)
    create_user(engine, EMAIL, PASSWORD, "Limit Co", "admin", "test")
    port = free_port()
    process = start_serve(database, port, "--workers", "2", "--job-threads", "0")
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"{base}/api/health", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline, "tanlu serve did not answer in 60 s"
                time.sleep(0.2)
        assert health.json()["status"] == "ok"
        wrong = {"email": EMAIL, "password": PASSWORD + "x"}
        # a new connection each: the two workers take them in turn, as the kernel gives them
        answers = [httpx.post(f"{base}/api/session", json=wrong).status_code for _ in range(6)]
        assert answers == [401] * 5 + [429]
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0].decode()
    assert output.count("Started server process") == 2, output
    engine.dispose()

"""The web service on SQLite and on a real PostgreSQL: every route of the application's route
table called without credentials, under every role and from another organisation, against the
access its OpenAPI entry states; sign-in with a session cookie and CSRF; the rate limit; hostile
input; `tanlu serve` really started."""

from __future__ import annotations

import hashlib
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import pytest
from fastapi import FastAPI, HTTPException
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tanlu.service import (
    ACCESS_KEY,
    CSRF_HEADER,
    SESSION_COOKIE,
    TOKEN_KEY,
    LoginLimiter,
    create_app,
)
from tanlu.store.accounts import create_token, create_user
from tanlu.store.audit import verify_chain
from tanlu.store.citizens import create_link_code
from tanlu.store.database import open_engine, upgrade
from tanlu.store.jobs import JobKind, create_job
from tanlu.store.projects import create_project, put_file
from tanlu.store.roles import Role
from tests.serving import free_port, start_serve

PASSWORD = "correct horse battery"
ALPHA, BETA = "Alpha Co", "Beta Co"
BETA_PROJECT = "Beta's secret project"
PROJECT_FILE = "data/x.csv"
# The 404s of a caller outside the organisation or project: an allowed caller never gets them
# (a 404 of a file or year that is not there is an answer, not a refusal)
REFUSED = ({"detail": "no such organisation"}, {"detail": "no such project"})


@dataclass
class Service:
    engine: Engine
    app: FastAPI
    client: TestClient
    alpha_id: int
    beta_id: int
    tokens: dict[str, str]  # "alpha-viewer", ..., "beta-admin"
    alpha_project: int
    beta_project: int
    alpha_job: int
    # a one-time code a citizen signs in with (their own account: access "citizen")
    citizen_code: str

    def fill(self, template: str, organisation: int, project: int | None = None) -> str:
        """A route's path with its parameters filled: the organisation and project given, and
        a revision, year and file that Alpha's project has."""
        return (
            template.replace("{organisation_id}", str(organisation))
            .replace("{project_id}", str(self.alpha_project if project is None else project))
            .replace("{number}", "1")
            .replace("{year}", "2021")
            .replace("{path:path}", PROJECT_FILE)
            .replace("{job_id}", str(self.alpha_job))
            .replace("{name:path}", "results.json")
            # a share that is not there: its routes answer 404 "no such share" to those allowed
            .replace("{share_id}", "1")
            # a ledger's user (a pseudonym) that no ledger of Alpha's holds
            .replace("{user}", "p-a")
        )

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@pytest.fixture(scope="module")
def service(module_database_url: str) -> Iterator[Service]:
    """Two organisations: Alpha with a member of every role, Beta with an admin; each member
    with an API token. Shared by the module's tests (Argon2id takes about 0.3 s a hash here),
    which add only members of their own."""
    engine = open_engine(module_database_url)
    upgrade(engine)
    tokens, ids = {}, {}
    for organisation, prefix, roles in [(ALPHA, "alpha", list(Role)), (BETA, "beta", [Role.ADMIN])]:
        for role in roles:
            email = f"{role.value}@{prefix}.example.com"
            account = create_user(engine, email, PASSWORD, organisation, role.value, "test")
            ids[prefix] = account.organisation_id
            tokens[f"{prefix}-{role.value}"] = create_token(
                engine, email, organisation, "t", "test"
            )
    alpha_project = create_project(engine, ids["alpha"], "Alpha's project", "test")
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "x.csv"
        source.write_bytes(b"site\ngz\n")
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
        put_file(engine, ids["alpha"], alpha_project.id, PROJECT_FILE, source, digest, "test")
    alpha_job = create_job(
        engine, ids["alpha"], alpha_project.id, 1, JobKind.INVENTORY, {"year": 2021}, "test"
    )
    beta_project = create_project(engine, ids["beta"], BETA_PROJECT, "test")
    citizen_code = create_link_code(engine, ids["alpha"], ids["alpha"], "p-a", "test").code
    # no job threads: the jobs the test queues stay queued
    app = create_app(engine, limiter=LoginLimiter(per_email=3, per_client=1000), job_threads=0)
    with TestClient(app, base_url="https://testserver") as client:
        yield Service(
            engine,
            app,
            client,
            ids["alpha"],
            ids["beta"],
            tokens,
            alpha_project.id,
            beta_project.id,
            alpha_job.id,
            citizen_code,
        )
    engine.dispose()


def _routes(service: Service) -> list[APIRoute]:
    return [r for r in service.app.routes if isinstance(r, APIRoute)]


def _alpha_strings() -> list[str]:
    return [ALPHA, *(f"{role.value}@alpha.example.com" for role in Role)]


def _sign_in(client: TestClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return client.post("/api/session", json={"email": email, "password": password})


def test_every_route_answers_only_whom_its_access_allows(service: Service) -> None:
    routes = _routes(service)
    assert len(routes) >= 8

    def sessions() -> dict[Role, tuple[TestClient, str]]:
        """A browser session per role."""
        signed = {}
        for role in Role:
            client = TestClient(service.app, base_url="https://testserver")
            signed_in = _sign_in(client, f"{role.value}@alpha.example.com")
            assert signed_in.status_code == 200, signed_in.text
            signed[role] = (client, signed_in.json()["csrf_token"])
        return signed

    # signing out ends the session it is called in: those routes come last
    sign_outs = ("/api/session", "/api/citizen/session")
    routes.sort(key=lambda r: r.path in sign_outs and "DELETE" in r.methods)
    signed = sessions()
    # a citizen signed in with a code: their own routes only, 401 on every other
    citizen = TestClient(service.app, base_url="https://testserver")
    citizen_in = citizen.post("/api/citizen/session", json={"code": service.citizen_code})
    assert citizen_in.status_code == 200, citizen_in.text
    citizen_csrf = citizen_in.json()["csrf_token"]
    beta_client = TestClient(service.app, base_url="https://testserver")
    beta_csrf = _sign_in(beta_client, "admin@beta.example.com").json()["csrf_token"]
    checked = 0
    for route in routes:
        extra = route.openapi_extra or {}
        level = extra.get(ACCESS_KEY)
        assert level in {"public", "user", "citizen", *(r.value for r in Role)}, route.path
        for method in sorted(route.methods):
            path = service.fill(route.path, service.alpha_id)
            anonymous = service.client.request(method, path, json={})
            if level == "public":
                assert anonymous.status_code not in (401, 403, 404), (method, path)
            else:
                assert anonymous.status_code == 401, (method, path, anonymous.text)
            by_citizen = citizen.request(method, path, json={}, headers={CSRF_HEADER: citizen_csrf})
            if level == "citizen":
                assert by_citizen.status_code not in (401, 403), (method, path, by_citizen.text)
                assert by_citizen.status_code < 500, (method, path, by_citizen.text)
            elif level != "public":
                assert by_citizen.status_code == 401, (method, path, by_citizen.text)
                assert not any(s in by_citizen.text for s in _alpha_strings())
            for role in Role:
                if level == "citizen":
                    # a member of an organisation is no citizen: 401 by token and by session
                    client, csrf = signed[role]
                    for answer in (
                        service.client.request(
                            method, path, json={}, headers=service.as_(f"alpha-{role.value}")
                        ),
                        client.request(method, path, json={}, headers={CSRF_HEADER: csrf}),
                    ):
                        assert answer.status_code == 401, (method, path, role, answer.text)
                    continue
                allowed = level in ("public", "user") or role.rank >= Role(level).rank
                by_token = service.client.request(
                    method, path, json={}, headers=service.as_(f"alpha-{role.value}")
                )
                client, csrf = signed[role]
                by_session = client.request(method, path, json={}, headers={CSRF_HEADER: csrf})
                for answer, token in ((by_token, True), (by_session, False)):
                    if allowed and (extra.get(TOKEN_KEY, True) or not token):
                        assert answer.status_code not in (401, 403), (
                            method,
                            path,
                            role,
                            token,
                            answer.text,
                        )
                        assert answer.status_code != 404 or answer.json() not in REFUSED, (
                            method,
                            path,
                            role,
                            token,
                        )
                        assert answer.status_code < 500, (method, path, role, answer.text)
                    elif level not in ("public", "user"):
                        assert answer.status_code == 403, (method, path, role, answer.text)
            if "{organisation_id}" in route.path:
                # another organisation's admin, and anyone on an id that does not exist: the
                # same 404, with nothing of the organisation in it
                for who, target in (("beta-admin", service.alpha_id), ("alpha-admin", 999_999)):
                    path = service.fill(route.path, target)
                    answer = service.client.request(method, path, json={}, headers=service.as_(who))
                    assert answer.status_code == 404, (method, path, who, answer.text)
                    assert answer.json() == {"detail": "no such organisation"}
                    assert not any(s in answer.text for s in _alpha_strings())
                # and Beta's admin signed in with a browser session
                path = service.fill(route.path, service.alpha_id)
                answer = beta_client.request(
                    method, path, json={}, headers={CSRF_HEADER: beta_csrf}
                )
                assert answer.status_code == 404, (method, path, answer.text)
                assert not any(s in answer.text for s in _alpha_strings())
            checked += 1
    assert checked == sum(len(r.methods) for r in routes)


def test_no_route_reaches_another_organisations_project(service: Service) -> None:
    """Every route of a project, called by Alpha's admin in Alpha's organisation with Beta's
    project id, or one that does not exist: the same 404, with nothing of Beta's project. The body
    is one every project route takes (the fields a route does not read are ignored), so that
    the project is looked up rather than the body refused."""
    body = {"kind": "inventory", "year": 2021, "reason": "r", "version": 0, "revision": 1}
    routes = [r for r in _routes(service) if "{project_id}" in r.path]
    assert len(routes) >= 12
    for route in routes:
        for method in sorted(route.methods):
            for project in (service.beta_project, 999_999):
                path = service.fill(route.path, service.alpha_id, project)
                answer = service.client.request(
                    method, path, json=body, headers=service.as_("alpha-admin")
                )
                assert answer.status_code == 404, (method, path, answer.text)
                assert answer.json() == {"detail": "no such project"}, (method, path)
                assert BETA_PROJECT not in answer.text


def test_every_route_states_its_access_in_the_openapi_document(service: Service) -> None:
    spec = service.client.get("/openapi.json").json()
    operations = [op for path in spec["paths"].values() for op in path.values()]
    assert len(operations) == sum(len(r.methods) for r in _routes(service))
    assert all(ACCESS_KEY in op and TOKEN_KEY in op for op in operations)


def test_a_browser_session_signs_in_changes_with_csrf_and_signs_out(service: Service) -> None:
    client = TestClient(service.app, base_url="https://testserver")
    signed_in = _sign_in(client, " ADMIN@alpha.example.com ")
    assert signed_in.status_code == 200
    cookie = signed_in.headers["set-cookie"]
    assert f"{SESSION_COOKIE}=" in cookie
    assert all(flag in cookie.lower() for flag in ("httponly", "secure", "samesite=strict"))
    body = signed_in.json()
    assert body["accounts"] == [
        {
            "organisation_id": service.alpha_id,
            "organisation": ALPHA,
            "role": "admin",
            "kind": "company",
        }
    ]
    new = {"email": "new@alpha.example.com", "password": PASSWORD, "role": "contributor"}
    members = f"/api/organisations/{service.alpha_id}/members"
    refused = client.post(members, json=new)
    assert refused.status_code == 403
    assert CSRF_HEADER in refused.json()["detail"]
    wrong = client.post(members, json=new, headers={CSRF_HEADER: "guess"})
    assert wrong.status_code == 403
    added = client.post(members, json=new, headers={CSRF_HEADER: body["csrf_token"]})
    assert added.status_code == 201, added.text
    assert added.json() == {"email": "new@alpha.example.com", "role": "contributor", "active": True}
    # the change is on the record, by whom, in Alpha's audit log only
    audit = client.get(f"/api/organisations/{service.alpha_id}/audit").json()
    assert audit[-1]["action"] == "user.create"
    assert audit[-1]["actor"] == "admin@alpha.example.com"
    beta_audit = service.client.get(
        f"/api/organisations/{service.beta_id}/audit", headers=service.as_("beta-admin")
    ).json()
    assert all(entry["organisation_id"] == service.beta_id for entry in beta_audit)
    assert verify_chain(service.engine).entries > 0
    token = client.post(
        f"/api/organisations/{service.alpha_id}/tokens",
        json={"name": "script"},
        headers={CSRF_HEADER: body["csrf_token"]},
    )
    assert token.status_code == 201
    assert token.json()["token"].startswith("tanlu_")
    out = client.delete("/api/session", headers={CSRF_HEADER: body["csrf_token"]})
    assert out.status_code == 204
    assert client.get("/api/me").status_code == 401


def test_failed_sign_ins_say_the_same_and_are_limited(service: Service) -> None:
    app = create_app(service.engine, limiter=LoginLimiter(per_email=3, per_client=1000))
    client = TestClient(app, base_url="https://testserver")
    wrong = _sign_in(client, "admin@alpha.example.com", "not the password")
    unknown = _sign_in(client, "nobody@alpha.example.com", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "wrong e-mail or password"}
    _sign_in(client, "admin@alpha.example.com", "still not it")
    _sign_in(client, "admin@alpha.example.com", "nor this")
    limited = _sign_in(client, "admin@alpha.example.com")  # right password, too late
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    # another account is not held back by this one's failures
    assert _sign_in(client, "viewer@alpha.example.com").status_code == 200


def test_the_sign_in_limit_forgets_failures_out_of_its_window() -> None:
    limiter = LoginLimiter(per_email=2, per_client=10**6, window_s=0.2)
    limiter.max_keys = 10
    for n in range(10):
        limiter.check(f"user{n}@example.com", "1.2.3.4")
        limiter.failed(f"user{n}@example.com", "1.2.3.4")
    time.sleep(0.25)
    limiter.check("last@example.com", "5.6.7.8")
    limiter.failed("last@example.com", "5.6.7.8")  # over the cap: the stale keys go
    assert len(limiter._failures) == 2
    limiter.check("user1@example.com", "1.2.3.4")  # their failures are forgotten
    limiter.succeeded("user1@example.com", "1.2.3.4")
    limiter.check("last@example.com", "5.6.7.8")
    limiter.failed("last@example.com", "5.6.7.8")
    for _ in range(100):  # refused attempts keep nothing
        with pytest.raises(HTTPException) as refused:
            limiter.check("last@example.com", f"client {_}")
        assert refused.value.status_code == 429
    assert len(limiter._failures) == 2 and limiter._pending == {}


def test_sign_ins_under_way_count_against_the_limit() -> None:
    limiter = LoginLimiter(per_email=2, per_client=10**6)
    limiter.check("a@example.com", "1.1.1.1")  # two attempts hashing their passwords
    limiter.check("a@example.com", "2.2.2.2")
    with pytest.raises(HTTPException):
        limiter.check("a@example.com", "3.3.3.3")
    limiter.succeeded("a@example.com", "1.1.1.1")
    limiter.failed("a@example.com", "2.2.2.2")  # both settled: one failure, under the limit
    limiter.check("a@example.com", "3.3.3.3")


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/api/session", {"email": "x" * 300, "password": "p"}, 422),
        ("POST", "/api/session", {"email": "' OR 1=1 --", "password": "' OR 1=1 --"}, 401),
        ("POST", "/api/session", {"email": "a@b.c"}, 422),
        ("POST", "/api/session", ["not", "an", "object"], 422),
        ("GET", "/api/organisations/abc", None, 422),
        ("GET", "/api/organisations/-1", None, 404),
        ("GET", f"/api/organisations/{2**70}", None, 404),
        ("GET", "/api/organisations/1%20OR%201=1", None, 422),
        ("GET", "/api/organisations/{alpha}/audit?limit=100000", None, 422),
        ("GET", "/api/organisations/{alpha}/audit?after=-5", None, 422),
        ("GET", f"/api/organisations/{{alpha}}/audit?after={2**63}", None, 422),
        ("POST", "/api/session", {"email": "a\u0000@b.c", "password": "p"}, 422),
        ("POST", "/api/organisations/{alpha}/tokens", {"name": "x\u0000"}, 403),
    ],
)
def test_hostile_input_is_refused_cleanly(
    service: Service, method: str, path: str, body: object, status: int
) -> None:
    path = path.replace("{alpha}", str(service.alpha_id))
    answer = service.client.request(method, path, json=body, headers=service.as_("alpha-admin"))
    assert answer.status_code == status, answer.text
    assert "Traceback" not in answer.text


def test_bad_tokens_and_a_bad_new_member_are_refused(service: Service) -> None:
    client = service.client
    for header in ("Bearer tanlu_forged", "Bearer ", "Basic abc", "Bearer " + "x" * 5000):
        assert client.get("/api/me", headers={"Authorization": header}).status_code == 401
    members = f"/api/organisations/{service.alpha_id}/members"
    short = {"email": "b@alpha.example.com", "password": "short", "role": "viewer"}
    answer = client.post(members, json=short, headers=service.as_("alpha-admin"))
    assert answer.status_code == 422
    assert "at least 12" in answer.json()["detail"]
    taken = {"email": "admin@beta.example.com", "password": PASSWORD, "role": "viewer"}
    answer = client.post(members, json=taken, headers=service.as_("alpha-admin"))
    assert answer.status_code == 409
    assert answer.json() == {"detail": "a user with this e-mail cannot be added"}
    bad_role = {"email": "b@alpha.example.com", "password": PASSWORD, "role": "owner"}
    assert (
        client.post(members, json=bad_role, headers=service.as_("alpha-admin")).status_code == 422
    )


def test_tanlu_serve_starts_a_new_database_and_answers(tmp_path: Path) -> None:
    port = free_port()
    database = f"sqlite:///{tmp_path / 'tanlu.db'}"
    process = start_serve(database, port)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline, "tanlu serve did not answer in 60 s"
                time.sleep(0.2)
        assert health.json()["status"] == "ok"
        assert httpx.get(f"http://127.0.0.1:{port}/api/me").status_code == 401
        assert (tmp_path / "tanlu.db").is_file()
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0].decode()
    assert "new database, schema" in output


def test_the_routes_run_on_the_request_threads_given(tmp_path: Path) -> None:
    import anyio.to_thread

    engine = open_engine(f"sqlite:///{tmp_path / 'tanlu.db'}")
    upgrade(engine)
    with TestClient(create_app(engine, job_threads=0, request_threads=3)) as client:
        tokens = client.portal.call(
            lambda: anyio.to_thread.current_default_thread_limiter().total_tokens
        )
        assert client.get("/api/health").status_code == 200
    engine.dispose()
    assert tokens == 3
    with pytest.raises(ValueError, match="at least one thread"):
        create_app(engine, request_threads=0)


def test_heavy_work_runs_on_at_most_its_threads_and_passes_errors_on() -> None:
    import anyio

    from tanlu.service.threads import HeavyThreads

    heavy = HeavyThreads(2)
    running, most = [0], [0]
    lock = threading.Lock()

    def work(seconds: float) -> float:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(seconds)
        with lock:
            running[0] -= 1
        return seconds

    def fail() -> None:
        raise HTTPException(409, "refused")

    async def main() -> list[float]:
        answers: list[float] = []

        async def one() -> None:
            answers.append(await heavy.run(work, 0.05))

        async with anyio.create_task_group() as group:
            for _ in range(6):
                group.start_soon(one)
        with pytest.raises(HTTPException, match="refused"):
            await heavy.run(fail)
        return answers

    # two event loops one after the other (as test clients make them): each has its limiter
    for _ in range(2):
        assert anyio.run(main) == [0.05] * 6
    assert most[0] == 2
    with pytest.raises(ValueError, match="at least one thread"):
        HeavyThreads(0)

"""The web application: a FastAPI app over the service's database (docs/service.md).

Every route states who may call it in its OpenAPI entry (``x-tanlu-access``: ``public``, ``user``
(any signed-in caller) or the lowest role in the organisation of its path), and
tests/test_service.py calls every route of :func:`create_app`'s route table under every role and
from another organisation against that statement.
"""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from tanlu import __version__
from tanlu.app.ledger_service import LEDGER_DIR_VARIABLE, ledger_root
from tanlu.app.project_jobs import JobLimits, JobWorker
from tanlu.app.projects import MAX_UPLOAD_BYTES
from tanlu.errors import StoreError
from tanlu.service.deps import (
    PRINTABLE,
    Admin,
    Body,
    Caller,
    Reviewer,
    SignedInCaller,
    Viewer,
    access,
)
from tanlu.service.footprint import add_footprint_routes
from tanlu.service.ledger import add_ledger_routes
from tanlu.service.ledger_accounts import add_ledger_account_routes
from tanlu.service.openapi import declare_answers
from tanlu.service.pages import add_pages
from tanlu.service.projects import add_error_answers, add_project_routes
from tanlu.service.rollups import MIN_CELL_VARIABLE, P_SHARE_VARIABLE, add_rollup_routes
from tanlu.service.security import SESSION_COOKIE, DatabaseLoginLimiter, Principal, SignInLimit
from tanlu.service.threads import (
    HEAVY_THREADS,
    REQUEST_THREADS,
    HeavyThreads,
    use_request_threads,
)
from tanlu.store import URL_VARIABLE
from tanlu.store.accounts import (
    SESSION_HOURS,
    authenticate,
    create_token,
    create_user,
    end_session,
    list_members,
    organisation_info,
    start_session,
    warm_up,
)
from tanlu.store.audit import organisation_entries
from tanlu.store.database import database_url, open_engine
from tanlu.store.roles import OrganisationKind, Role

# The application factory that `tanlu serve --workers N` gives uvicorn, and the environment
# variables it reads the service's settings from (set by the command for its worker processes)
FACTORY = "tanlu.service.app:app_from_environment"
MAX_UPLOAD_VARIABLE = "TANLU_MAX_UPLOAD_BYTES"
JOB_THREADS_VARIABLE = "TANLU_JOB_THREADS"
JOB_TIMEOUT_VARIABLE = "TANLU_JOB_TIMEOUT_S"
JOB_MEMORY_VARIABLE = "TANLU_JOB_MEMORY_GIB"
JOBS_PER_ORGANISATION_VARIABLE = "TANLU_JOBS_PER_ORGANISATION"
REQUEST_THREADS_VARIABLE = "TANLU_REQUEST_THREADS"
HEAVY_THREADS_VARIABLE = "TANLU_HEAVY_THREADS"


def freeze_start_up() -> None:
    """Move what start-up made (the modules, the application, warmed caches) out of the garbage
    collector's sight (Python's ``gc.freeze``), in a process about to serve: a full collection
    walked all of it and held every request of the process for tens of ms, which was most of
    the p99 of dashboard reads at 50 clients (docs/performance.md). What is made afterwards is
    collected as before. Called by ``tanlu serve`` for each worker process once its
    application is built, not by :func:`create_app`: a test builds many applications in one
    process."""
    gc.collect()
    gc.freeze()


def pool_size(request_threads: int, heavy_threads: int, job_threads: int) -> int:
    """Connections a worker process keeps open: one for each of its threads that may use the
    database at once, and one to spare (:data:`tanlu.store.database.POOL_SIZE` says why no
    fewer)."""
    return request_threads + heavy_threads + job_threads + 1


class SignIn(Body):
    email: str = Field(min_length=3, max_length=254, pattern=PRINTABLE)
    password: str = Field(min_length=1, max_length=1024)


class AccountOut(BaseModel):
    organisation_id: int
    organisation: str
    role: Role
    # company, parent, regulator, city (a carbon-inclusion scheme) or operator
    kind: OrganisationKind


class SessionOut(BaseModel):
    email: str
    accounts: list[AccountOut]
    csrf_token: str | None = None


class NewMember(Body):
    email: str = Field(min_length=3, max_length=254, pattern=PRINTABLE)
    password: str = Field(min_length=1, max_length=1024)
    role: Role


class MemberOut(BaseModel):
    email: str
    role: Role
    active: bool


class OrganisationOut(BaseModel):
    id: int
    name: str
    kind: str
    parent_id: int | None


class NewToken(Body):
    name: str = Field(min_length=1, max_length=100, pattern=PRINTABLE)


class TokenOut(BaseModel):
    token: str


class AuditEntryOut(BaseModel):
    id: int
    at: str
    actor: str
    organisation_id: int | None
    action: str
    target: str
    reason: str
    before_digest: str | None
    after_digest: str | None
    previous_hash: str
    entry_hash: str


def create_app(
    engine: Engine,
    *,
    limiter: SignInLimit | None = None,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
    job_threads: int = 1,
    job_limits: JobLimits | None = None,
    request_threads: int = REQUEST_THREADS,
    heavy_threads: int = HEAVY_THREADS,
    ledger_dir: Path | None = None,
) -> FastAPI:
    """The application on a database already at the newest schema (``tanlu db upgrade``);
    sign-ins are limited by ``limiter`` (by default counted in the database, shared by every
    process of the service); uploads larger than ``max_upload_bytes`` are refused (413);
    ``job_threads`` run the queued jobs while the application runs (none: jobs wait in the
    queue for another process), each job in a process of its own within ``job_limits`` (its
    time and memory, and how many jobs an organisation may have queued or running). Routes
    run on ``request_threads`` threads, uploads, submissions and sign-ins on ``heavy_threads``
    more (:mod:`tanlu.service.threads`). The cities' carbon-inclusion ledgers are folders under
    ``ledger_dir`` (:func:`tanlu.app.ledger_service.ledger_root`)."""
    if request_threads < 1:
        raise ValueError(f"the routes need at least one thread, not {request_threads}")
    heavy = HeavyThreads(heavy_threads)
    limits = limiter or DatabaseLoginLimiter(engine)
    warm_up()
    job_limits = job_limits or JobLimits()
    worker = JobWorker(engine, job_threads, job_limits)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        use_request_threads(request_threads)
        worker.start()
        try:
            yield
        finally:
            await run_in_threadpool(worker.stop)

    app = FastAPI(
        lifespan=lifespan,
        title="tanlu",
        version=__version__,
        description="The tanlu service: organisations, users and their roles, projects with "
        "their uploaded files and the workflow of each reporting year, and the audit log "
        "(docs/service.md).",
    )
    app.state.engine = engine
    add_error_answers(app)

    def _accounts(principal: Principal) -> list[AccountOut]:
        return [
            AccountOut(
                organisation_id=a.organisation_id,
                organisation=a.organisation,
                role=a.role,
                kind=OrganisationKind(a.kind),
            )
            for a in principal.accounts
        ]

    @app.get("/api/health", openapi_extra=access("public"))
    def health() -> dict[str, str]:
        """The service is up."""
        return {"status": "ok", "version": __version__}

    @app.post("/api/session", openapi_extra=access("public"))
    async def sign_in(body: SignIn, request: Request, response: Response) -> SessionOut:
        """Sign in with e-mail and password: sets the session cookie and returns the CSRF
        token that the page sends back on every change."""
        client = request.client.host if request.client else "unknown"
        # the password's hash takes a while: on the heavy threads
        return await heavy.run(check_password, body, client, response)

    def check_password(body: SignIn, client: str, response: Response) -> SessionOut:
        email = body.email.strip().lower()
        limits.check(email, client)
        try:
            accounts = authenticate(engine, email, body.password)
        except BaseException:
            limits.failed(email, client)
            raise
        if not accounts:
            limits.failed(email, client)
            raise HTTPException(401, "wrong e-mail or password")
        limits.succeeded(email, client)
        cookie, csrf = start_session(engine, email)
        response.set_cookie(
            SESSION_COOKIE,
            cookie,
            httponly=True,
            secure=True,
            samesite="strict",
            max_age=SESSION_HOURS * 3600,
            path="/",
        )
        principal = Principal(email, tuple(accounts), by_token=False)
        return SessionOut(email=email, accounts=_accounts(principal), csrf_token=csrf)

    @app.delete("/api/session", status_code=204, openapi_extra=access("user"))
    def sign_out(principal: Caller, request: Request, response: Response) -> None:
        """Sign out of this browser session."""
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            end_session(engine, cookie)
        response.delete_cookie(SESSION_COOKIE, path="/")

    @app.get("/api/me", openapi_extra=access("user"))
    async def me(principal: Caller) -> SessionOut:
        """The caller and the organisations they act in; for a browser session, also its CSRF
        token, so that a page opened later in the session can make changes (no other site's
        page can read this answer: the service allows no cross-origin reads)."""
        # async: no I/O of its own (the caller is read by the dependency), so no thread
        return SessionOut(
            email=principal.email,
            accounts=_accounts(principal),
            csrf_token=principal.csrf_token,
        )

    @app.get("/api/organisations/{organisation_id}", openapi_extra=access(Role.VIEWER.value))
    def organisation(organisation_id: int, account: Viewer) -> OrganisationOut:
        """One organisation the caller belongs to."""
        info = organisation_info(engine, organisation_id)
        if info is None:
            raise HTTPException(404, "no such organisation")
        return OrganisationOut(id=info.id, name=info.name, kind=info.kind, parent_id=info.parent_id)

    @app.get(
        "/api/organisations/{organisation_id}/members", openapi_extra=access(Role.REVIEWER.value)
    )
    def members(organisation_id: int, account: Reviewer) -> list[MemberOut]:
        """The organisation's members and their roles."""
        return [
            MemberOut(email=m.email, role=m.role, active=m.active)
            for m in list_members(engine, organisation_id)
        ]

    @app.post(
        "/api/organisations/{organisation_id}/members",
        status_code=201,
        openapi_extra=access(Role.ADMIN.value),
    )
    def add_member(organisation_id: int, body: NewMember, account: Admin) -> MemberOut:
        """Add a new user to the organisation with a role (recorded in the audit log)."""
        try:
            added = create_user(
                engine,
                body.email,
                body.password,
                account.organisation,
                body.role.value,
                account.email,
            )
        except StoreError as error:
            if "already exists" in str(error):
                # one answer whoever holds the e-mail, so that no organisation learns of
                # another's users
                raise HTTPException(409, "a user with this e-mail cannot be added") from None
            raise HTTPException(422, str(error)) from None
        return MemberOut(email=added.email, role=added.role, active=True)

    @app.post(
        "/api/organisations/{organisation_id}/tokens",
        status_code=201,
        openapi_extra=access(Role.VIEWER.value, tokens=False),
    )
    def new_token(
        organisation_id: int, body: NewToken, account: Viewer, principal: SignedInCaller
    ) -> TokenOut:
        """A new API token acting as the caller in this organisation, shown once. A token
        cannot make further tokens."""
        try:
            token = create_token(
                engine, account.email, account.organisation, body.name, principal.email
            )
        except StoreError as error:
            raise HTTPException(422, str(error)) from None
        return TokenOut(token=token)

    @app.get(
        "/api/organisations/{organisation_id}/audit", openapi_extra=access(Role.REVIEWER.value)
    )
    def audit(
        organisation_id: int,
        account: Reviewer,
        after: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[AuditEntryOut]:
        """The organisation's audit entries after ``after``, oldest first."""
        return [
            AuditEntryOut(**entry)
            for entry in organisation_entries(engine, organisation_id, after, limit)
        ]

    add_project_routes(app, engine, max_upload_bytes, job_limits, heavy)
    add_rollup_routes(app, engine)
    add_footprint_routes(app)
    add_ledger_routes(app, engine, max_upload_bytes, heavy, ledger_dir)
    add_ledger_account_routes(app, engine, limits, ledger_dir)
    add_pages(app)
    # last: the answers of every route above, wherever it was added
    declare_answers(app)
    return app


def service_environment(
    database: str | None,
    max_upload_bytes: int,
    job_threads: int,
    job_limits: JobLimits,
    request_threads: int = REQUEST_THREADS,
    heavy_threads: int = HEAVY_THREADS,
    ledger_dir: Path | None = None,
) -> dict[str, str]:
    """The environment that :func:`app_from_environment` reads its settings from."""
    settings = {
        LEDGER_DIR_VARIABLE: str(ledger_root(ledger_dir).resolve()),
        REQUEST_THREADS_VARIABLE: str(request_threads),
        HEAVY_THREADS_VARIABLE: str(heavy_threads),
        URL_VARIABLE: database_url(database),
        MAX_UPLOAD_VARIABLE: str(max_upload_bytes),
        JOB_THREADS_VARIABLE: str(job_threads),
        JOB_TIMEOUT_VARIABLE: repr(job_limits.timeout_s),
        JOBS_PER_ORGANISATION_VARIABLE: str(job_limits.jobs_per_organisation),
    }
    if job_limits.memory_gib is not None:
        settings[JOB_MEMORY_VARIABLE] = repr(job_limits.memory_gib)
    return settings


def app_from_environment() -> FastAPI:
    """The application of one worker process of ``tanlu serve --workers N``, on the database
    of ``$TANLU_DATABASE_URL`` with the settings of :func:`service_environment`. Every worker
    runs its own job threads: a job is claimed by one worker of all processes (its claim is a
    transaction), and the sign-in limit, sessions and everything else live in the database."""
    job_threads = int(os.environ.get(JOB_THREADS_VARIABLE, 1))
    request_threads = int(os.environ.get(REQUEST_THREADS_VARIABLE, REQUEST_THREADS))
    heavy_threads = int(os.environ.get(HEAVY_THREADS_VARIABLE, HEAVY_THREADS))
    application = create_app(
        open_engine(
            os.environ.get(URL_VARIABLE), pool_size(request_threads, heavy_threads, job_threads)
        ),
        max_upload_bytes=int(os.environ.get(MAX_UPLOAD_VARIABLE, MAX_UPLOAD_BYTES)),
        job_threads=job_threads,
        request_threads=request_threads,
        heavy_threads=heavy_threads,
        job_limits=JobLimits(
            timeout_s=float(os.environ.get(JOB_TIMEOUT_VARIABLE, JobLimits.timeout_s)),
            memory_gib=float(memory) if (memory := os.environ.get(JOB_MEMORY_VARIABLE)) else None,
            jobs_per_organisation=int(
                os.environ.get(JOBS_PER_ORGANISATION_VARIABLE, JobLimits.jobs_per_organisation)
            ),
        ),
    )
    freeze_start_up()
    return application


def run_service(
    database: str | None,
    host: str,
    port: int,
    *,
    workers: int = 1,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
    job_threads: int = 1,
    job_limits: JobLimits | None = None,
    request_threads: int = REQUEST_THREADS,
    heavy_threads: int = HEAVY_THREADS,
    ledger_dir: Path | None = None,
    min_cell_organisations: int | None = None,
    cell_p_share: float | None = None,
) -> None:
    """Serve (``tanlu serve``) on ``host:port`` with uvicorn until stopped: one application in
    this process, or ``workers`` processes that each build theirs from the environment set
    here, each on its own socket (:mod:`tanlu.service.workers`). A job's memory left unset
    (``job_limits.memory_gib``) is its share of half the machine among every job thread of
    every worker. The regulators' disclosure settings are read by each worker's application
    as it is built (:mod:`tanlu.service.rollups`)."""
    import uvicorn

    from tanlu.service.workers import serve_workers, spreads_connections

    if cell_p_share is not None:
        os.environ[P_SHARE_VARIABLE] = repr(cell_p_share)
    if min_cell_organisations is not None:
        os.environ[MIN_CELL_VARIABLE] = str(min_cell_organisations)
    limits = job_limits or JobLimits()
    if limits.memory_gib is None:
        share = limits.memory_bytes(job_threads * workers)
        memory_gib = share / 2**30 if share is not None else None
        limits = JobLimits(limits.timeout_s, memory_gib, limits.jobs_per_organisation)
    if workers == 1:
        application = create_app(
            open_engine(database, pool_size(request_threads, heavy_threads, job_threads)),
            max_upload_bytes=max_upload_bytes,
            job_threads=job_threads,
            job_limits=limits,
            request_threads=request_threads,
            heavy_threads=heavy_threads,
            ledger_dir=ledger_dir,
        )
        freeze_start_up()
        uvicorn.run(application, host=host, port=port, log_level="info")
        return
    # each worker process builds its own application from the settings in its environment
    os.environ.update(
        service_environment(
            database,
            max_upload_bytes,
            job_threads,
            limits,
            request_threads,
            heavy_threads,
            ledger_dir,
        )
    )
    if not spreads_connections():
        uvicorn.run(FACTORY, factory=True, workers=workers, host=host, port=port, log_level="info")
        return
    config = uvicorn.Config(
        FACTORY, factory=True, workers=workers, host=host, port=port, log_level="info"
    )
    serve_workers(config, workers)

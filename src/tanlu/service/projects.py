"""The project routes: projects, their files (uploads streamed into revisions and checked by
the same validators as ``tanlu validate``, downloads), and the workflow of each reporting year
(docs/service.md). Each route calls one use case of :mod:`tanlu.app.projects` or one read of
the store; a use case's errors answer as :func:`add_error_answers` maps them."""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, BeforeValidator, Field
from sqlalchemy import Engine

from tanlu.app.project_jobs import JobLimits, start_job
from tanlu.app.projects import (
    Spool,
    step_year,
    submit_year,
    too_large,
    upload_file,
    validate_revision,
)
from tanlu.errors import BusyError, ConflictError, NotFoundError, StoreError, TooLargeError
from tanlu.service.deps import (
    PRINTABLE,
    Admin,
    Body,
    Contributor,
    Reviewer,
    Viewer,
    access,
    json_number,
)
from tanlu.service.threads import HeavyThreads
from tanlu.store.jobs import JobInfo, JobKind, get_job, job_files, list_jobs, read_job_file
from tanlu.store.projects import (
    FileInfo,
    ProjectInfo,
    RevisionInfo,
    check_file_path,
    create_project,
    get_project,
    get_revision,
    list_projects,
    list_revisions,
    read_file,
    remove_file,
)
from tanlu.store.roles import Role
from tanlu.store.workflow import (
    MAX_REASON_LENGTH,
    InventoryCache,
    YearAction,
    YearEventInfo,
    YearState,
    year_detail,
    year_inventory,
    year_states,
)

PROJECTS = "/api/organisations/{organisation_id}/projects"
# How much of an upload is gathered before it is written to the scratch file [bytes].
SPOOL_WRITE_BYTES = 1024 * 1024
ProjectId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
Year = Annotated[int, PathParam(ge=1990, le=2100)]
Number = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
JobId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
FilePath = Annotated[str, PathParam(min_length=1, max_length=200)]


class NewProject(Body):
    name: str = Field(min_length=1, max_length=100, pattern=PRINTABLE)


class ProjectOut(BaseModel):
    id: int
    name: str
    revision: int
    created_at: str
    created_by: str


class FileOut(BaseModel):
    path: str
    sha256: str
    size_bytes: int


class RevisionOut(BaseModel):
    number: int
    created_at: str
    created_by: str
    change: str
    path: str
    valid: bool | None


class RevisionDetail(RevisionOut):
    files: list[FileOut]
    validation: dict[str, Any] | None


class UploadOut(BaseModel):
    revision: RevisionOut
    changed: bool
    validation: dict[str, Any]


# text of several lines: no control characters but tab and line ends (PostgreSQL's text cannot
# hold NUL)
LINES = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


class Step(Body):
    """A step of the workflow: the year's ``version`` the caller saw (``GET …/years/{year}``),
    so that a step decided on what has since changed is refused (409), and why."""

    version: int = Field(ge=0, le=2**31 - 1)
    reason: str = Field(default="", max_length=MAX_REASON_LENGTH, pattern=LINES)


class Submit(Body):
    """A submission: the revision the caller checked, which must still be the newest."""

    revision: int = Field(ge=1, le=2**31 - 1)


class YearOut(BaseModel):
    year: int
    status: str
    version: int
    revision: int | None
    total_tco2e: float | None
    submitted_by: str | None
    approved_total_tco2e: float | None
    restatement: dict[str, Any] | None
    updated_at: str | None


class YearEventOut(BaseModel):
    id: int
    action: str
    actor: str
    at: str
    reason: str
    revision: int | None
    detail: dict[str, Any] | None


class YearDetail(YearOut):
    events: list[YearEventOut]


class NewJob(Body):
    """A job: its kind and the parameters of the CLI command of the same name that it takes
    (``year`` for an inventory; ``year``, ``hourly`` for electricity; ``site``, ``year``,
    ``cfe``, ``annual``, ``curve`` and the capacity limits for procurement; ``scenario``,
    ``from_year``, ``macc``, ``samples``, ``sweep_path`` and ``sweep_values`` for the roadmap;
    ``language``, ``pdf`` for a run)."""

    kind: JobKind
    year: int | None = Field(default=None, ge=1990, le=2100)
    hourly: bool = False
    site: str | None = Field(default=None, min_length=1, max_length=100, pattern=PRINTABLE)
    cfe: float | None = Field(default=None, ge=0.0, le=1.0)
    annual: bool = False
    # `tanlu procure --curve 0.8,0.9,1`: also solve these targets
    curve: list[Annotated[float, Field(ge=0.0, le=1.0), BeforeValidator(json_number)]] | None = (
        Field(default=None, max_length=20)
    )
    # `tanlu procure --pv-max-kw` ...: the most that may be built or contracted
    pv_max_kw: float | None = Field(default=None, ge=0.0, le=1e9)
    wind_max_mw: float | None = Field(default=None, ge=0.0, le=1e9)
    solar_max_mw: float | None = Field(default=None, ge=0.0, le=1e9)
    battery_max_mwh: float | None = Field(default=None, ge=0.0, le=1e9)
    scenario: str | None = Field(default=None, min_length=1, max_length=100, pattern=PRINTABLE)
    from_year: int | None = Field(default=None, ge=1990, le=2100)
    macc: bool = False
    samples: int | None = Field(default=None, ge=1, le=10_000)
    # `tanlu roadmap --sweep PATH=V1,V2`: one plan per value of the setting at PATH
    sweep_path: str | None = Field(
        default=None, min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.]+$"
    )
    sweep_values: (
        list[Annotated[float, Field(ge=-1e12, le=1e12), BeforeValidator(json_number)]] | None
    ) = Field(default=None, min_length=1, max_length=50)
    language: Literal["zh", "en"] = "zh"
    pdf: bool = True


class JobOut(BaseModel):
    id: int
    kind: str
    revision: int
    parameters: dict[str, Any]
    status: str
    step: str
    steps_done: int
    steps_total: int
    attempts: int
    error: str | None
    created_by: str
    created_at: str
    started_at: str | None
    finished_at: str | None
    files: list[FileOut]


def _project(info: ProjectInfo) -> ProjectOut:
    return ProjectOut(
        id=info.id,
        name=info.name,
        revision=info.revision,
        created_at=info.created_at,
        created_by=info.created_by,
    )


def _revision(info: RevisionInfo) -> RevisionOut:
    valid = None if info.validation is None else bool(json.loads(info.validation).get("valid"))
    return RevisionOut(
        number=info.number,
        created_at=info.created_at,
        created_by=info.created_by,
        change=info.change,
        path=info.path,
        valid=valid,
    )


def _file(info: FileInfo) -> FileOut:
    return FileOut(path=info.path, sha256=info.sha256, size_bytes=info.size_bytes)


def _year(state: YearState) -> YearOut:
    return YearOut(
        year=state.year,
        status=state.status.value,
        version=state.version,
        revision=state.revision_number,
        total_tco2e=state.total_tco2e,
        submitted_by=state.submitted_by,
        approved_total_tco2e=state.approved_total_tco2e,
        restatement=state.restatement,
        updated_at=state.updated_at,
    )


def _event(event: YearEventInfo) -> YearEventOut:
    return YearEventOut(
        id=event.id,
        action=event.action,
        actor=event.actor,
        at=event.at,
        reason=event.reason,
        revision=event.revision_number,
        detail=event.detail,
    )


def _job(info: JobInfo, files: list[FileInfo]) -> JobOut:
    return JobOut(
        id=info.id,
        kind=info.kind.value,
        revision=info.revision_number,
        parameters=info.parameters,
        status=info.status.value,
        step=info.step,
        steps_done=info.steps_done,
        steps_total=info.steps_total,
        attempts=info.attempts,
        error=info.error,
        created_by=info.created_by,
        created_at=info.created_at,
        started_at=info.started_at,
        finished_at=info.finished_at,
        files=[_file(f) for f in files],
    )


def _download(info: FileInfo, chunks: Iterator[bytes]) -> StreamingResponse:
    name = PurePosixPath(info.path).name
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return StreamingResponse(
        chunks,
        media_type=kind,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}",
            "Content-Length": str(info.size_bytes),
            "ETag": f'"{info.sha256}"',
        },
    )


def _checked_path(path: str) -> str:
    try:
        return check_file_path(path)
    except StoreError as error:
        raise HTTPException(422, str(error)) from None


def add_error_answers(app: FastAPI) -> None:
    """Answer the store's refusals: a missing or foreign thing 404, a step that does not fit
    the state 409, an upload too large 413, a change that kept meeting other writers' 503 with
    ``Retry-After``, any other refused change 422; the message is the error's, which names
    nothing of another organisation."""

    def answer(status: int) -> Any:
        async def handler(_request: Request, error: Exception) -> JSONResponse:
            return JSONResponse({"detail": str(error)}, status_code=status)

        return handler

    async def busy(_request: Request, error: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=503, headers={"Retry-After": "1"})

    app.add_exception_handler(BusyError, busy)
    app.add_exception_handler(NotFoundError, answer(404))
    app.add_exception_handler(ConflictError, answer(409))
    app.add_exception_handler(TooLargeError, answer(413))
    app.add_exception_handler(StoreError, answer(422))


def add_project_routes(
    app: FastAPI,
    engine: Engine,
    max_upload_bytes: int,
    job_limits: JobLimits | None = None,
    heavy: HeavyThreads | None = None,
) -> None:
    """The project routes, on ``app``; uploads and submissions on the ``heavy`` threads."""
    heavy = heavy or HeavyThreads()
    # the inventories of years read lately (a dashboard reads one on every view)
    inventories = InventoryCache()

    @app.get(PROJECTS, openapi_extra=access(Role.VIEWER.value))
    def projects(organisation_id: int, account: Viewer) -> list[ProjectOut]:
        """The organisation's projects."""
        return [_project(p) for p in list_projects(engine, organisation_id)]

    @app.post(PROJECTS, status_code=201, openapi_extra=access(Role.ADMIN.value))
    def new_project(organisation_id: int, body: NewProject, account: Admin) -> ProjectOut:
        """A new project, without files yet (recorded in the audit log)."""
        return _project(create_project(engine, organisation_id, body.name, account.email))

    @app.get(PROJECTS + "/{project_id}", openapi_extra=access(Role.VIEWER.value))
    def project(organisation_id: int, project_id: ProjectId, account: Viewer) -> ProjectOut:
        """One project and its newest revision's number."""
        return _project(get_project(engine, organisation_id, project_id))

    @app.get(PROJECTS + "/{project_id}/revisions", openapi_extra=access(Role.VIEWER.value))
    def revisions(
        organisation_id: int,
        project_id: ProjectId,
        account: Viewer,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[RevisionOut]:
        """The project's revisions, newest first."""
        return [_revision(r) for r in list_revisions(engine, organisation_id, project_id, limit)]

    @app.get(PROJECTS + "/{project_id}/revisions/{number}", openapi_extra=access(Role.VIEWER.value))
    def revision(
        organisation_id: int, project_id: ProjectId, number: Number, account: Viewer
    ) -> RevisionDetail:
        """A revision: its files and what validating it found (every bad row with file, line,
        column and reason, as ``tanlu validate --json``; checked now if it was not yet)."""
        info, document = validate_revision(engine, organisation_id, project_id, number)
        _, files = get_revision(engine, organisation_id, project_id, number)
        return RevisionDetail(
            **_revision(info).model_dump() | {"valid": bool(document.get("valid"))},
            files=[_file(f) for f in files],
            validation=document,
        )

    @app.put(
        PROJECTS + "/{project_id}/files/{path:path}",
        openapi_extra=access(Role.CONTRIBUTOR.value)
        | {
            # an empty body is an empty file
            "requestBody": {
                "required": False,
                "content": {"application/octet-stream": {"schema": {"type": "string"}}},
            }
        },
        responses={201: {"model": UploadOut}, 413: {"description": "the file is too large"}},
    )
    async def put_file(
        organisation_id: int,
        project_id: ProjectId,
        path: FilePath,
        request: Request,
        response: Response,
        account: Contributor,
    ) -> UploadOut:
        """Upload a file (``tanlu.toml``, or a .csv, .xlsx or .parquet data file) to ``path``
        in the project, as the request's body: streamed to disk, stored with a new revision
        and validated. The same content at the same path again changes nothing (200 instead
        of 201). Every bad row found is in ``validation``."""
        checked = _checked_path(path)
        # a project that is not there answers before the body is read
        await run_in_threadpool(get_project, engine, organisation_id, project_id)
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_upload_bytes:
            raise TooLargeError(too_large(max_upload_bytes))
        # the disk is written on the thread pool, a MiB at a time, so that the event loop
        # that serves every other request never waits on it
        spool = await run_in_threadpool(Spool, max_upload_bytes)
        try:
            pending = bytearray()
            async for piece in request.stream():
                pending += piece
                if len(pending) >= SPOOL_WRITE_BYTES:
                    await run_in_threadpool(spool.write, bytes(pending))
                    pending.clear()
            await run_in_threadpool(spool.write, bytes(pending))
            done = await heavy.run(
                upload_file, engine, organisation_id, project_id, checked, spool, account.email
            )
        finally:
            await run_in_threadpool(spool.close)
        response.status_code = 201 if done.changed else 200
        return UploadOut(
            revision=_revision(done.revision), changed=done.changed, validation=done.validation
        )

    @app.delete(
        PROJECTS + "/{project_id}/files/{path:path}",
        openapi_extra=access(Role.CONTRIBUTOR.value),
    )
    def delete_file(
        organisation_id: int, project_id: ProjectId, path: FilePath, account: Contributor
    ) -> RevisionOut:
        """Remove a file from the project: a new revision without it."""
        return _revision(
            remove_file(engine, organisation_id, project_id, _checked_path(path), account.email)
        )

    @app.get(
        PROJECTS + "/{project_id}/files/{path:path}",
        openapi_extra=access(Role.VIEWER.value),
        response_class=StreamingResponse,
        responses={200: {"content": {"application/octet-stream": {}}}},
    )
    def download_file(
        organisation_id: int,
        project_id: ProjectId,
        path: FilePath,
        account: Viewer,
        revision: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    ) -> StreamingResponse:
        """A file of the newest revision (or of ``revision``), as it was uploaded."""
        return _download(
            *read_file(engine, organisation_id, project_id, revision, _checked_path(path))
        )

    @app.get(PROJECTS + "/{project_id}/years", openapi_extra=access(Role.VIEWER.value))
    def years(organisation_id: int, project_id: ProjectId, account: Viewer) -> list[YearOut]:
        """Every year of the project that has taken a step of the workflow."""
        return [_year(s) for s in year_states(engine, organisation_id, project_id)]

    @app.get(
        PROJECTS + "/{project_id}/years/{year}",
        openapi_extra=access(Role.VIEWER.value),
        response_model=YearDetail,
    )
    def year(organisation_id: int, project_id: ProjectId, year: Year, account: Viewer) -> Response:
        """A year's status and every step it has taken."""
        state, events = year_detail(engine, organisation_id, project_id, year)
        detail = YearDetail(**_year(state).__dict__, events=[_event(e) for e in events])
        # serialised once by its model, not validated again by the framework (a dashboard's
        # most frequent read)
        return Response(content=detail.model_dump_json(), media_type="application/json")

    @app.get(
        PROJECTS + "/{project_id}/years/{year}/inventory",
        openapi_extra=access(Role.VIEWER.value),
        response_model=dict[str, Any],
    )
    def inventory(
        organisation_id: int, project_id: ProjectId, year: Year, account: Viewer
    ) -> Response:
        """The inventory the year was submitted with (``tanlu inventory --json`` of the
        submitted revision); 404 while the year is collecting."""
        text = year_inventory(engine, organisation_id, project_id, year, inventories)
        if text is None:
            raise NotFoundError(f"{year} has no submitted inventory")
        # the JSON as it was pinned, sent as it is: a dashboard reads it on every view
        return Response(content=text, media_type="application/json")

    @app.post(
        PROJECTS + "/{project_id}/years/{year}/submit",
        openapi_extra=access(Role.CONTRIBUTOR.value),
    )
    async def submit(
        organisation_id: int, project_id: ProjectId, year: Year, body: Submit, account: Contributor
    ) -> YearOut:
        """Submit the year with ``revision``, which must be the project's newest and valid: the
        year's inventory is computed from it and pinned with it for review."""
        submitted = await heavy.run(
            submit_year, engine, organisation_id, project_id, year, account.email, body.revision
        )
        return _year(submitted)

    jobs_path = PROJECTS + "/{project_id}/jobs"

    @app.post(jobs_path, status_code=202, openapi_extra=access(Role.CONTRIBUTOR.value))
    def new_job(
        organisation_id: int, project_id: ProjectId, body: NewJob, account: Contributor
    ) -> JobOut:
        """Queue a job on the project's newest revision, which must be valid: ``inventory``
        (``tanlu inventory --out``'s files), ``electricity``, ``procure``, ``roadmap`` (the
        files of the CLI command of the same name) or ``run`` (``tanlu run``: the report in
        ``language``, with ``report.pdf`` unless ``pdf`` is false, and the results). Its
        progress and files are at ``GET …/jobs/{job_id}``."""
        parameters = body.model_dump(exclude={"kind"}, exclude_none=True)
        job = start_job(
            engine, organisation_id, project_id, body.kind, parameters, account.email, job_limits
        )
        return _job(job, [])

    @app.get(jobs_path, openapi_extra=access(Role.VIEWER.value))
    def jobs(
        organisation_id: int,
        project_id: ProjectId,
        account: Viewer,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[JobOut]:
        """The project's jobs, newest first (without their files)."""
        return [_job(j, []) for j in list_jobs(engine, organisation_id, project_id, limit)]

    @app.get(jobs_path + "/{job_id}", openapi_extra=access(Role.VIEWER.value))
    def job(organisation_id: int, project_id: ProjectId, job_id: JobId, account: Viewer) -> JobOut:
        """A job: its status, the step it is at (``steps_done`` of ``steps_total``), and once
        done the files it wrote."""
        info = get_job(engine, organisation_id, project_id, job_id)
        return _job(info, job_files(engine, organisation_id, project_id, job_id))

    @app.get(
        jobs_path + "/{job_id}/files/{name:path}",
        openapi_extra=access(Role.VIEWER.value),
        response_class=StreamingResponse,
        responses={200: {"content": {"application/octet-stream": {}}}},
    )
    def job_file(
        organisation_id: int, project_id: ProjectId, job_id: JobId, name: FilePath, account: Viewer
    ) -> StreamingResponse:
        """A file the job wrote (``report.html``, ``report.pdf``, ``results.xlsx``,
        ``results.json``, ``inventory_2022.json``, ...)."""
        return _download(*read_job_file(engine, organisation_id, project_id, job_id, name))

    def step(
        organisation_id: int, project_id: int, year: int, action: YearAction, email: str, body: Step
    ) -> YearOut:
        return _year(
            step_year(
                engine,
                organisation_id,
                project_id,
                year,
                action,
                email,
                expected_version=body.version,
                reason=body.reason,
            )
        )

    years_path = PROJECTS + "/{project_id}/years/{year}"

    @app.post(years_path + "/review", openapi_extra=access(Role.REVIEWER.value))
    def review(
        organisation_id: int, project_id: ProjectId, year: Year, body: Step, account: Reviewer
    ) -> YearOut:
        """Mark the submitted year reviewed (not by its submitter)."""
        return step(organisation_id, project_id, year, YearAction.REVIEW, account.email, body)

    @app.post(years_path + "/approve", openapi_extra=access(Role.ADMIN.value))
    def approve(
        organisation_id: int, project_id: ProjectId, year: Year, body: Step, account: Admin
    ) -> YearOut:
        """Approve the reviewed year (not by its submitter): it is locked."""
        return step(organisation_id, project_id, year, YearAction.APPROVE, account.email, body)

    @app.post(years_path + "/return", openapi_extra=access(Role.REVIEWER.value))
    def send_back(
        organisation_id: int, project_id: ProjectId, year: Year, body: Step, account: Reviewer
    ) -> YearOut:
        """Send a submitted or reviewed year back to collecting, with the reason."""
        return step(organisation_id, project_id, year, YearAction.RETURN, account.email, body)

    @app.post(years_path + "/restate", openapi_extra=access(Role.ADMIN.value))
    def restate(
        organisation_id: int, project_id: ProjectId, year: Year, body: Step, account: Admin
    ) -> YearOut:
        """Reopen an approved year for a restatement, with the reason; its next submission
        carries the restatement's check (the change from the approved total and the base-year
        recalculation check)."""
        return step(organisation_id, project_id, year, YearAction.RESTATE, account.email, body)

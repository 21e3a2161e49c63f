"""Jobs: long computations on one revision of a project, run by workers in the service's
processes (docs/service.md "Jobs").

A job is queued, claimed by one worker (a conditional update: of two workers that claim the
same job, one does), reports its steps, and ends done with every file it wrote, stored with its
status in one transaction, or failed with the reason: a worker killed in the middle leaves the
job running with no files, and the next worker on the machine queues it again when the killed
process no longer runs (or any worker, when its heartbeat is older than :data:`STALE_AFTER_S`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import CursorResult, Engine, func, select, update
from sqlalchemy.orm import Session

from tanlu.errors import ConflictError, NotFoundError
from tanlu.store.audit import AuditRecord, append_in, write
from tanlu.store.database import now, session_scope
from tanlu.store.models import Blob, Job, JobFile
from tanlu.store.projects import FileInfo, blob_chunks, owned_project, refer_blob, save_blob

# A job whose worker died is queued again this many times in all, then failed.
MAX_ATTEMPTS = 3
# A running job whose heartbeat is older than this is taken to have lost its worker, whatever
# machine the worker ran on [s]; each step renews the heartbeat, and no step of a run takes an
# hour on the projects tanlu is measured on (docs/performance.md).
STALE_AFTER_S = 3600.0


class JobKind(StrEnum):
    """What a job computes, as the CLI command of the same name: one year's inventory
    (``tanlu inventory --out``), green electricity (``tanlu electricity --json``), one site's
    least-cost procurement (``tanlu procure --out``), the roadmap (``tanlu roadmap --out``), or
    the main job with its report (``tanlu run``)."""

    INVENTORY = "inventory"
    ELECTRICITY = "electricity"
    PROCURE = "procure"
    ROADMAP = "roadmap"
    RUN = "run"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class JobInfo:
    """A job, its progress and its outcome."""

    id: int
    organisation_id: int
    project_id: int
    revision_number: int
    kind: JobKind
    parameters: dict[str, Any]
    status: JobStatus
    step: str
    steps_done: int
    steps_total: int
    attempts: int
    worker: str | None
    error: str | None
    created_by: str
    created_at: str
    started_at: str | None
    finished_at: str | None


def _info(row: Job) -> JobInfo:
    return JobInfo(
        row.id,
        row.organisation_id,
        row.project_id,
        row.revision_number,
        JobKind(row.kind),
        json.loads(row.parameters),
        JobStatus(row.status),
        row.step,
        row.steps_done,
        row.steps_total,
        row.attempts,
        row.worker,
        row.error,
        row.created_by,
        row.created_at,
        row.started_at,
        row.finished_at,
    )


def create_job(
    engine: Engine,
    organisation_id: int,
    project_id: int,
    revision_number: int,
    kind: JobKind,
    parameters: dict[str, Any],
    actor: str,
    most_unfinished: int | None = None,
) -> JobInfo:
    """Queue a job (recorded in the audit log); refused (:class:`ConflictError`) when the
    organisation already has ``most_unfinished`` jobs queued or running."""

    def work(session: Session) -> JobInfo:
        owned_project(session, organisation_id, project_id)
        if most_unfinished is not None:
            unfinished = session.scalar(
                select(func.count())
                .select_from(Job)
                .where(
                    Job.organisation_id == organisation_id,
                    Job.status.in_([JobStatus.QUEUED.value, JobStatus.RUNNING.value]),
                )
            )
            if (unfinished or 0) >= most_unfinished:
                raise ConflictError(
                    f"the organisation has {unfinished} jobs queued or running, the most it "
                    "may have (tanlu serve --jobs-per-organisation): start this one when one "
                    "of them has ended"
                )
        job = Job(
            organisation_id=organisation_id,
            project_id=project_id,
            revision_number=revision_number,
            kind=kind.value,
            parameters=json.dumps(parameters, sort_keys=True),
            status=JobStatus.QUEUED.value,
            step="",
            steps_done=0,
            steps_total=0,
            attempts=0,
            created_by=actor,
            created_at=now(),
        )
        session.add(job)
        session.flush()
        append_in(
            session,
            AuditRecord(
                actor=actor,
                action="job.create",
                target=f"project {project_id} job {job.id}",
                organisation_id=organisation_id,
                after={"kind": kind.value, "revision": revision_number, **parameters},
            ),
        )
        return _info(job)

    return write(engine, work)


def _changed(session: Session, statement: Any) -> bool:
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        statement.execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def claim_job(engine: Engine, worker: str) -> JobInfo | None:
    """The oldest queued job, now running in ``worker``; ``None`` when none is queued (or
    another worker claimed each one first)."""
    with session_scope(engine) as session:
        candidates = session.scalars(
            select(Job.id).where(Job.status == JobStatus.QUEUED.value).order_by(Job.id).limit(5)
        ).all()
    for job_id in candidates:
        at = now()
        with session_scope(engine) as session:
            claimed = _changed(
                session,
                update(Job)
                .where(Job.id == job_id, Job.status == JobStatus.QUEUED.value)
                .values(
                    status=JobStatus.RUNNING.value,
                    worker=worker,
                    attempts=Job.attempts + 1,
                    started_at=at,
                    heartbeat_at=at,
                    step="",
                    steps_done=0,
                ),
            )
            if claimed:
                row = session.get(Job, job_id, populate_existing=True)
                assert row is not None
                return _info(row)
    return None


def report_progress(
    engine: Engine, job_id: int, worker: str, step: str, done: int, total: int
) -> bool:
    """Record the step a job is at (and renew its heartbeat); ``False`` when the job is no
    longer this worker's (it was queued again)."""
    with session_scope(engine) as session:
        return _changed(
            session,
            update(Job)
            .where(Job.id == job_id, Job.worker == worker, Job.status == JobStatus.RUNNING.value)
            .values(step=step[:200], steps_done=done, steps_total=total, heartbeat_at=now()),
        )


def finish_job(engine: Engine, job_id: int, worker: str, files: dict[str, Path]) -> bool:
    """Store every file the job wrote (by its name in the job's output; the bytes first, each
    in its own transaction) and, in one transaction, refer the job to them and mark it done;
    ``False`` when the job is no longer this worker's (its blobs, unused, are removed later by
    :func:`tanlu.store.projects.remove_unused_blobs`)."""
    with session_scope(engine) as session:
        found = session.get(Job, job_id)
        if found is None:
            return False
        organisation_id = found.organisation_id
    digests = {name: _sha256(path) for name, path in files.items()}
    blobs = {
        name: save_blob(engine, organisation_id, path, digests[name])
        for name, path in sorted(files.items())
    }

    def work(session: Session) -> bool:
        # done only if still this worker's: a conditional update, so that a job queued again
        # and claimed by another worker meanwhile is left to it
        if not _changed(
            session,
            update(Job)
            .where(Job.id == job_id, Job.worker == worker, Job.status == JobStatus.RUNNING.value)
            .values(
                status=JobStatus.DONE.value, finished_at=now(), step="", steps_done=Job.steps_total
            ),
        ):
            return False
        for name, blob_id in blobs.items():
            kept = refer_blob(session, organisation_id, blob_id, files[name], digests[name])
            session.add(JobFile(job_id=job_id, name=name, blob_id=kept))
        session.flush()
        return True

    return write(engine, work)


def fail_job(engine: Engine, job_id: int, worker: str, reason: str) -> None:
    """Mark a job failed with the reason (when it is still this worker's), trying again while
    other writers hold the database (:func:`tanlu.store.audit.write`)."""
    write(
        engine,
        lambda session: _changed(
            session,
            update(Job)
            .where(Job.id == job_id, Job.worker == worker, Job.status == JobStatus.RUNNING.value)
            .values(status=JobStatus.FAILED.value, error=reason, finished_at=now()),
        ),
    )


def requeue_orphans(
    engine: Engine,
    gone: Callable[[str], bool],
    stale_after_s: float = STALE_AFTER_S,
) -> list[int]:
    """Queue again the running jobs whose worker is gone: ``gone(worker)`` says so (a process
    of this machine that no longer runs), or the heartbeat is older than ``stale_after_s``; a
    job that has run :data:`MAX_ATTEMPTS` times fails instead. Returns the jobs queued again or
    failed."""
    cutoff = (datetime.now(UTC) - timedelta(seconds=stale_after_s)).isoformat(
        timespec="microseconds"
    )
    with session_scope(engine) as session:
        running = session.execute(
            select(Job.id, Job.worker, Job.heartbeat_at, Job.attempts).where(
                Job.status == JobStatus.RUNNING.value
            )
        ).all()
    orphans = []
    for job_id, worker, heartbeat, attempts in running:
        if not gone(worker or "") and (heartbeat or "") >= cutoff:
            continue
        last = attempts >= MAX_ATTEMPTS
        with session_scope(engine) as session:
            values: dict[str, Any] = (
                {
                    "status": JobStatus.FAILED.value,
                    "error": f"its worker stopped {attempts} times before it ended",
                    "finished_at": now(),
                }
                if last
                else {"status": JobStatus.QUEUED.value, "worker": None}
            )
            if _changed(
                session,
                update(Job)
                .where(
                    Job.id == job_id, Job.worker == worker, Job.status == JobStatus.RUNNING.value
                )
                .values(**values),
            ):
                orphans.append(job_id)
    return orphans


def _job(session: Session, organisation_id: int, project_id: int, job_id: int) -> Job:
    owned_project(session, organisation_id, project_id)
    job = session.get(Job, job_id)
    if job is None or job.project_id != project_id:
        raise NotFoundError("no such job")
    return job


def get_job(engine: Engine, organisation_id: int, project_id: int, job_id: int) -> JobInfo:
    """A job of the project, with its files' names when done."""
    with session_scope(engine) as session:
        return _info(_job(session, organisation_id, project_id, job_id))


def list_jobs(
    engine: Engine, organisation_id: int, project_id: int, limit: int = 100
) -> list[JobInfo]:
    """The project's newest jobs, newest first."""
    with session_scope(engine) as session:
        owned_project(session, organisation_id, project_id)
        rows = session.scalars(
            select(Job).where(Job.project_id == project_id).order_by(Job.id.desc()).limit(limit)
        ).all()
        return [_info(row) for row in rows]


def job_files(engine: Engine, organisation_id: int, project_id: int, job_id: int) -> list[FileInfo]:
    """The files a job wrote, by name."""
    with session_scope(engine) as session:
        _job(session, organisation_id, project_id, job_id)
        rows = session.execute(
            select(JobFile.name, Blob)
            .join(Blob, Blob.id == JobFile.blob_id)
            .where(JobFile.job_id == job_id)
            .order_by(JobFile.name)
        ).all()
        return [FileInfo(name, blob.sha256, blob.size_bytes) for name, blob in rows]


def read_job_file(
    engine: Engine, organisation_id: int, project_id: int, job_id: int, name: str
) -> tuple[FileInfo, Iterator[bytes]]:
    """A file a job wrote, and its bytes a chunk at a time."""
    with session_scope(engine) as session:
        _job(session, organisation_id, project_id, job_id)
        found = session.execute(
            select(Blob)
            .join(JobFile, JobFile.blob_id == Blob.id)
            .where(JobFile.job_id == job_id, JobFile.name == name)
        ).scalar_one_or_none()
        if found is None:
            raise NotFoundError(f"job {job_id} wrote no file '{name}'")
        info, blob_id = FileInfo(name, found.sha256, found.size_bytes), found.id
    return info, blob_chunks(engine, blob_id)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()

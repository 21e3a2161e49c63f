"""A job computes in a process of its own, which its worker stops past the job's time or
memory; a job's process killed from outside fails the job and not the worker; an organisation
may have only so many jobs queued or running at once."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tanlu.app.project_jobs import JobLimits, run_job, start_job
from tanlu.errors import ConflictError
from tanlu.store.accounts import create_user
from tanlu.store.database import open_engine, upgrade
from tanlu.store.jobs import JobInfo, JobKind, claim_job, fail_job, get_job, job_files
from tanlu.store.projects import create_project, put_file

from .conftest import ACTIVITY_HEADER, BASIC_TOML

ROWS = "gz,2021-01-01,2021-12-31,electricity,400,MWh\n"
WORKER = "limits-1-1-0"


@dataclass
class Project:
    engine: Engine
    organisation_id: int
    project_id: int

    def job(self, kind: JobKind = JobKind.RUN, limits: JobLimits | None = None) -> JobInfo:
        parameters = {"year": 2021} if kind is JobKind.INVENTORY else {"pdf": False}
        return start_job(
            self.engine, self.organisation_id, self.project_id, kind, parameters, "t", limits
        )

    def claimed(self) -> JobInfo:
        job = claim_job(self.engine, WORKER)
        assert job is not None
        return job

    def state(self, job: JobInfo) -> tuple[str, str | None, list[str]]:
        info = get_job(self.engine, self.organisation_id, self.project_id, job.id)
        files = job_files(self.engine, self.organisation_id, self.project_id, job.id)
        return info.status, info.error, [f.path for f in files]


def _project(url: str, folder: Path) -> Iterator[Project]:
    engine = open_engine(url)
    upgrade(engine)
    account = create_user(engine, "admin@limits.example.com", "correct horse", "L", "admin", "t")
    made = create_project(engine, account.organisation_id, "p", "t")
    for path, text in (("tanlu.toml", BASIC_TOML), ("data/activities.csv", ACTIVITY_HEADER + ROWS)):
        source = folder / path.replace("/", "_")
        source.write_text(text, encoding="utf-8")
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
        put_file(engine, account.organisation_id, made.id, path, source, digest, "t")
    yield Project(engine, account.organisation_id, made.id)
    engine.dispose()


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    yield from _project(f"sqlite:///{tmp_path / 'tanlu.db'}", tmp_path)


def _job_processes() -> list[multiprocessing.Process]:
    """The job processes this test's worker started (another module's service may have its
    own in the same test process)."""
    return [p for p in multiprocessing.active_children() if p.name.endswith(f"-{WORKER}")]


def test_a_job_computes_in_a_process_of_its_own_and_stores_its_files(project: Project) -> None:
    project.job(JobKind.INVENTORY)
    job = project.claimed()
    run_job(project.engine, job, WORKER)
    status, error, files = project.state(job)
    assert (status, error) == ("done", None)
    assert "inventory_2021.json" in files
    assert _job_processes() == []  # the process ended with the job


def test_a_job_past_its_time_is_stopped_and_leaves_no_files(project: Project) -> None:
    limits = JobLimits(timeout_s=1.0)
    project.job(limits=limits)
    job = project.claimed()
    started = time.monotonic()
    run_job(project.engine, job, WORKER, limits)
    # stopped at its limit, not at the end of the run (about 10 s here); the fork server's
    # first start is inside the time
    assert time.monotonic() - started < 8
    status, error, files = project.state(job)
    assert status == "failed"
    assert error == "stopped after 1 s, the most a job may run (tanlu serve --job-timeout-s)"
    assert files == []
    assert _job_processes() == []


def test_a_job_past_its_memory_is_stopped_and_says_how_much_it_used(project: Project) -> None:
    # 50 MiB: less than a process of tanlu holds once it has imported pandas
    limits = JobLimits(memory_gib=50 / 1024)
    project.job(limits=limits)
    job = project.claimed()
    run_job(project.engine, job, WORKER, limits)
    status, error, files = project.state(job)
    assert status == "failed" and files == []
    assert error is not None
    assert error.startswith("stopped when its process used ")
    assert error.endswith("more than the 0.05 GiB a job may use (tanlu serve --job-memory-gib)")
    assert _job_processes() == []


def test_a_job_whose_process_is_killed_fails_and_the_worker_goes_on(project: Project) -> None:
    project.job()
    job = project.claimed()
    raised: list[BaseException] = []

    def work() -> None:
        try:
            run_job(project.engine, job, WORKER)
        except BaseException as error:  # a fault is raised to the worker's loop, which logs it
            raised.append(error)

    thread = threading.Thread(target=work)
    thread.start()
    deadline = time.monotonic() + 60
    while not _job_processes():
        assert time.monotonic() < deadline, "the job's process did not start"
        time.sleep(0.02)
    [process] = _job_processes()
    assert process.pid is not None and process.pid != os.getpid()
    os.kill(process.pid, signal.SIGKILL)  # as the kernel's out-of-memory killer would
    thread.join(60)
    status, error, files = project.state(job)
    assert status == "failed" and files == []
    assert error == "internal error (the job's process ended with exit code -9); see the log"
    assert [type(e) for e in raised] == [RuntimeError]
    # the worker runs the next job
    project.job(JobKind.INVENTORY)
    following = project.claimed()
    run_job(project.engine, following, WORKER)
    assert project.state(following)[0] == "done"


def test_an_organisation_has_at_most_its_number_of_unfinished_jobs(
    database_url: str, tmp_path: Path
) -> None:
    for project in _project(database_url, tmp_path):
        limits = JobLimits(jobs_per_organisation=2)
        first = project.job(limits=limits)
        project.job(limits=limits)
        with pytest.raises(ConflictError, match="has 2 jobs queued or running, the most it may"):
            project.job(limits=limits)
        # a job that has ended makes room for another
        claimed = claim_job(project.engine, WORKER)
        assert claimed is not None and claimed.id == first.id
        fail_job(project.engine, first.id, WORKER, "ended")
        assert project.job(limits=limits).status == "queued"


def test_job_memory_by_default_is_half_the_machine_shared_by_the_worker_threads() -> None:
    machine = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert JobLimits().memory_bytes(1) == machine // 2
    assert JobLimits().memory_bytes(4) == machine // 8
    assert JobLimits(memory_gib=1.5).memory_bytes(4) == int(1.5 * 2**30)

"""The service's jobs: the inventory of a year, or the main job with its report, computed by the
same use cases as ``tanlu inventory --out`` and ``tanlu run`` on a copy of one revision of a
project, by worker threads of the service (:class:`JobWorker`), with each step recorded for the
page's progress bar and every file written stored with the job when it ends.

Each job computes in a process of its own (forked from a server process that has imported
tanlu once, so a job starts in milliseconds), which the worker thread stops when the job runs
past its time or its process past its memory (:class:`JobLimits`), and which never touches the
database: the worker stores what it wrote. A job's computation therefore neither holds the
service's interpreter from answering requests nor takes the service down when it fails."""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import logging
import multiprocessing
import os
import re
import shutil
import signal
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from multiprocessing import forkserver
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from tanlu.app.files import electricity_files, inventory_files, procurement_files, roadmap_files
from tanlu.app.inputs import open_project, read_inputs
from tanlu.app.jobs import run_electricity, run_inventory, run_procurement
from tanlu.app.projects import revision_copy, validate_revision
from tanlu.app.roadmap import RoadmapOptions, run_roadmap
from tanlu.app.run import count_steps, run_project
from tanlu.electricity.procurement import ProcurementLimits
from tanlu.errors import ConflictError, NotFoundError, StoreError, TanluError
from tanlu.output import Writer, write_files
from tanlu.project import EngineSettings, Project
from tanlu.report.text import LANGUAGES
from tanlu.report.write import write_run
from tanlu.scratch import (
    host_name,
    make_scratch_folder,
    process_alive,
    process_start,
    remove_scratch_folder,
)
from tanlu.store.jobs import (
    JobInfo,
    JobKind,
    claim_job,
    create_job,
    fail_job,
    finish_job,
    report_progress,
    requeue_orphans,
)
from tanlu.store.projects import remove_unused_blobs

LOG = logging.getLogger("tanlu.jobs")
OUTPUT_PREFIX = "tanlu-job-"
# How long an idle worker waits before it looks for a queued job again [s].
POLL_S = 0.5
# How often a worker looks for jobs whose worker died [s].
ORPHAN_CHECK_S = 30.0
# How often a running job's heartbeat is renewed between its steps [s]; a job whose heartbeat
# is older than tanlu.store.jobs.STALE_AFTER_S is taken to have lost its worker.
HEARTBEAT_S = 60.0
_WORKER = re.compile(r"([A-Za-z0-9_]+)-(\d+)-(\d+)-\d+")
# How often a worker looks at its job's process: a message, its time, its memory [s].
WATCH_S = 0.5
# The share of a job's memory limit given to DuckDB, which spills to disk past it; the rest is
# for pandas, the solver and the report.
ENGINE_MEMORY_SHARE = 0.5


def machine_memory_bytes() -> int | None:
    """The machine's physical memory, or None where the system does not say."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


@dataclass(frozen=True)
class JobLimits:
    """What a job may take (``tanlu serve --job-timeout-s``, ``--job-memory-gib``,
    ``--jobs-per-organisation``): its wall-clock seconds; its process's memory [GiB] (None:
    half the machine's memory shared among the worker threads); how many jobs an organisation
    may have queued or running at once."""

    timeout_s: float = 3600.0
    memory_gib: float | None = None
    jobs_per_organisation: int = 20

    def memory_bytes(self, threads: int = 1) -> int | None:
        """The memory one job's process may use [bytes]; None where it cannot be known."""
        if self.memory_gib is not None:
            return int(self.memory_gib * 2**30)
        machine = machine_memory_bytes()
        return machine // (2 * max(threads, 1)) if machine else None


def _year(parameters: dict[str, Any], kind: JobKind) -> int:
    year = parameters.get("year")
    if not isinstance(year, int) or isinstance(year, bool):
        raise StoreError(f"a job of kind {kind.value} needs the year")
    return year


# The capacity limits of `tanlu procure` (tanlu.electricity.procurement.ProcurementLimits).
PROCUREMENT_LIMITS = ("pv_max_kw", "wind_max_mw", "solar_max_mw", "battery_max_mwh")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_share(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1


def check_parameters(kind: JobKind, parameters: dict[str, Any]) -> dict[str, Any]:
    """The parameters a job of ``kind`` takes, checked and with their defaults (those of the
    CLI command of the same name); :class:`StoreError` naming what is missing or wrong."""
    if kind is JobKind.INVENTORY:
        return {"year": _year(parameters, kind)}
    if kind is JobKind.ELECTRICITY:
        return {"year": _year(parameters, kind), "hourly": bool(parameters.get("hourly", False))}
    if kind is JobKind.PROCURE:
        site, cfe = parameters.get("site"), parameters.get("cfe")
        if not isinstance(site, str) or not site:
            raise StoreError("a procure job needs the site")
        if not isinstance(cfe, int | float) or not _is_share(cfe):
            raise StoreError("a procure job needs the target cfe, from 0 to 1")
        curve = parameters.get("curve") or []
        if not isinstance(curve, list) or not all(_is_share(c) for c in curve):
            raise StoreError("a procure job's curve is a list of targets, each from 0 to 1")
        limits: dict[str, float | None] = {}
        for name in PROCUREMENT_LIMITS:
            value = parameters.get(name)
            if value is not None and (not _is_number(value) or value < 0):
                raise StoreError(f"a procure job's {name} is a number of 0 or more")
            limits[name] = None if value is None else float(value)
        return {
            "site": site,
            "year": _year(parameters, kind),
            "cfe": float(cfe),
            "annual": bool(parameters.get("annual", False)),
            "curve": [float(c) for c in curve],
            **limits,
        }
    if kind is JobKind.ROADMAP:
        sweep_path = parameters.get("sweep_path") or ""
        sweep_values = parameters.get("sweep_values") or []
        if not isinstance(sweep_values, list) or not all(_is_number(v) for v in sweep_values):
            raise StoreError("a roadmap job's sweep_values is a list of numbers")
        if bool(sweep_path) != bool(sweep_values):
            raise StoreError("a roadmap job's sweep needs both sweep_path and sweep_values")
        return {
            "scenario": parameters.get("scenario"),
            "from_year": parameters.get("from_year"),
            "macc": bool(parameters.get("macc", False)),
            "samples": parameters.get("samples"),
            "sweep_path": sweep_path,
            "sweep_values": [float(v) for v in sweep_values],
        }
    language = parameters.get("language", "zh")
    if language not in LANGUAGES:
        raise StoreError(f"the report's language is one of {', '.join(LANGUAGES)}")
    return {"language": language, "pdf": bool(parameters.get("pdf", True))}


def start_job(
    engine: Engine,
    organisation_id: int,
    project_id: int,
    kind: JobKind,
    parameters: dict[str, Any],
    actor: str,
    limits: JobLimits | None = None,
) -> JobInfo:
    """Queue a job on the project's newest revision, which must be valid, if the organisation
    has fewer than ``limits.jobs_per_organisation`` jobs queued or running.

    ``parameters``: as :func:`check_parameters` takes them: for an inventory, ``year``; for
    electricity, ``year`` and ``hourly``; for procurement, ``site``, ``year``, ``cfe`` and
    ``annual``; for the roadmap, ``scenario``, ``from_year``, ``macc`` and ``samples``; for a
    run, ``language`` (``zh`` or ``en``) and ``pdf`` (also print ``report.pdf``)."""
    limits = limits or JobLimits()
    checked = check_parameters(kind, parameters)
    try:
        revision, document = validate_revision(engine, organisation_id, project_id)
    except NotFoundError as error:
        if str(error) == "no such project":
            raise
        raise ConflictError("the project has no files to compute") from None
    if not document.get("valid"):
        raise ConflictError(
            f"revision {revision.number} has {document.get('problem_count', 0):,} problems: "
            "mend them first"
        )
    return create_job(
        engine,
        organisation_id,
        project_id,
        revision.number,
        kind,
        checked,
        actor,
        most_unfinished=limits.jobs_per_organisation,
    )


def _outputs(folder: Path) -> dict[str, Path]:
    """Every file under ``folder``, by its path relative to it."""
    return {
        path.relative_to(folder).as_posix(): path
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


class JobLost(Exception):
    """The job was queued again (its heartbeat went stale) and is no longer this worker's."""


def worker_name(index: int) -> str:
    """A worker thread's name as jobs record it: machine, process id, when the process started
    (so that a new process given the same id is not taken for it) and thread."""
    pid = os.getpid()
    return f"{host_name()}-{pid}-{process_start(pid) or 0}-{index}"


def worker_gone(worker: str) -> bool:
    """Whether the worker named ``worker`` (:func:`worker_name`) was a process of this machine
    that no longer runs; a worker of another machine is not known to be gone."""
    match = _WORKER.fullmatch(worker)
    if match is None or match.group(1) != host_name():
        return False
    pid, started = int(match.group(2)), int(match.group(3))
    if not process_alive(pid):
        return True
    now_started = process_start(pid)
    return now_started is not None and started != 0 and now_started != started


def _heartbeat(
    engine: Engine, job_id: int, worker: str, state: dict[str, Any], stop: threading.Event
) -> None:
    """Renew the job's heartbeat every :data:`HEARTBEAT_S` while a long step runs, so that
    only a worker that is gone loses its job; notes in ``state`` when the job was lost."""
    while not stop.wait(HEARTBEAT_S):
        try:
            kept = report_progress(
                engine, job_id, worker, state["step"], state["done"], state["total"]
            )
        except Exception:  # the database busy: the next beat tries again
            LOG.warning("job %s: heartbeat not written", job_id, exc_info=True)
            continue
        if not kept:
            state["lost"] = True
            return


def _computed(
    project: Project, job: JobInfo, step: Callable[[str, int], None]
) -> dict[str, Writer]:
    """The files of an electricity, procurement or roadmap job, computed as the CLI does."""
    given = job.parameters
    step("reading and checking the input files", 3)
    inputs = read_inputs(project)
    if job.kind is JobKind.ELECTRICITY:
        step("green electricity", 3)
        electricity = run_electricity(project, given["year"], given["hourly"], inputs=inputs)
        step("writing the files", 3)
        return electricity_files(electricity, given["year"])
    if job.kind is JobKind.PROCURE:
        step("the procurement model (HiGHS)", 3)
        limits = ProcurementLimits(*(given.get(name) for name in PROCUREMENT_LIMITS))
        plan = run_procurement(
            project,
            given["site"],
            given["year"],
            given["cfe"],
            given["annual"],
            limits,
            given.get("curve") or [],
            inputs=inputs,
        )
        step("writing the files", 3)
        return procurement_files(plan, given["site"], given["year"])
    options = RoadmapOptions(
        given["scenario"],
        given["from_year"],
        given["macc"],
        given["samples"],
        given.get("sweep_path") or "",
        tuple(given.get("sweep_values") or ()),
    )
    step("the roadmap (linopy and HiGHS)", 3)
    document = run_roadmap(project, options, inputs)
    step("writing the files", 3)
    return roadmap_files(document)


def _compute(
    project: Project, job: JobInfo, output: Path, step: Callable[[str, int], None]
) -> None:
    """Compute a job's files into ``output`` as the CLI command of its kind does."""
    if job.kind is JobKind.INVENTORY:
        year = int(job.parameters["year"])
        organisation = project.config.organisation
        if year not in {organisation.base_year, *organisation.reporting_years}:
            raise ConflictError(
                f"{year} is neither the base year nor a reporting year of tanlu.toml"
            )
        step("reading and checking the input files", 3)
        result = run_inventory(project, year, on_step=lambda name: step(name, 3))
        step("writing the files", 3)
        write_files(output, inventory_files(result))
    elif job.kind is JobKind.RUN:
        total = count_steps(project, validate=True) + 1
        step("reading and checking the input files", total)
        inputs = read_inputs(project)
        run = run_project(project, inputs, step=lambda name: step(name, total))
        step("writing the report", total)
        write_run(run, output, job.parameters["language"], bool(job.parameters["pdf"]))
    else:
        write_files(output, _computed(project, job, step))


def _die_with_parent() -> None:
    """Ask Linux to kill this process when the process that forked it ends (so that a job's
    process does not outlive a killed service); nothing elsewhere."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _job_process(
    root: str, output: str, job: JobInfo, engine_memory_gib: float | None, channel: Connection
) -> None:
    """A job's process: compute the job on the revision's copy at ``root`` into ``output``,
    telling the worker each step (``("step", name, total)``) and how it ended (``("done",)``,
    ``("failed", message)`` for a problem of the project, ``("internal", kind, traceback)``)."""
    _die_with_parent()

    def step(name: str, total: int) -> None:
        channel.send(("step", name, total))

    try:
        project = open_project(Path(root), confined=True)
        if engine_memory_gib is not None:
            engine = EngineSettings(memory_limit_gib=engine_memory_gib)
            project = replace(project, config=project.config.model_copy(update={"engine": engine}))
        _compute(project, job, Path(output), step)
        channel.send(("done",))
    except TanluError as error:
        channel.send(("failed", str(error)))
    except BaseException as error:
        channel.send(("internal", type(error).__name__, traceback.format_exc()))
    finally:
        channel.close()


_CONTEXT: ForkServerContext | None = None
_CONTEXT_LOCK = threading.Lock()


# The longest temporary folder the fork server's socket fits under: a Unix socket's path has at
# most 107 bytes on Linux, and Python 3.11 puts it at TMPDIR/pymp-<8 random>/listener-<8 random>
# (Python 3.12 falls back to /tmp itself).
SOCKET_FOLDER_ROOM = 70


def _short_socket_folder() -> None:
    """Give multiprocessing a folder under /tmp for its sockets when the temporary folder is too
    deep for a socket's path (a service run with a long TMPDIR)."""
    config: dict[str, Any] | None = getattr(multiprocessing.current_process(), "_config", None)
    deep = len(tempfile.gettempdir()) > SOCKET_FOLDER_ROOM
    if config is None or config.get("tempdir") is not None or not deep:
        return
    if not os.path.isdir("/tmp"):
        return
    folder = tempfile.mkdtemp(prefix="pymp-", dir="/tmp")
    atexit.register(shutil.rmtree, folder, True)
    config["tempdir"] = folder


def _context() -> ForkServerContext:
    """The processes' context: forked from a server process that has imported this module."""
    global _CONTEXT
    with _CONTEXT_LOCK:
        if _CONTEXT is None:
            _short_socket_folder()
            context = multiprocessing.get_context("forkserver")
            assert isinstance(context, ForkServerContext)
            context.set_forkserver_preload([__name__])
            _CONTEXT = context
        return _CONTEXT


def _start_forkserver() -> None:
    """Start the server process jobs are forked from, if it is not running yet."""
    _context()
    try:
        forkserver.ensure_running()
    except Exception:  # the first job starts it, or says why it cannot
        LOG.warning("the jobs' fork server did not start", exc_info=True)


def _resident_bytes(pid: int) -> int | None:
    """A process's resident memory (Linux's /proc), or None."""
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * int(os.sysconf("SC_PAGE_SIZE"))


class JobStopped(TanluError):
    """A job stopped by its worker: past its time or its memory."""


def _watch(
    root: Path,
    output: Path,
    job: JobInfo,
    limits: JobLimits,
    memory_bytes: int | None,
    step: Callable[[str, int], None],
) -> None:
    """Run a job in a process of its own and watch it until it ends: its steps go to ``step``
    (which raises :class:`JobLost` when the job is no longer this worker's), and the process is
    killed past ``limits.timeout_s`` or ``memory_bytes``.

    Raises
    ------
    TanluError
        The job's own problem (as the CLI would say it), or :class:`JobStopped`.
    RuntimeError
        A fault of tanlu's in the job's process (its traceback is logged).
    """
    engine_gib = memory_bytes * ENGINE_MEMORY_SHARE / 2**30 if memory_bytes else None
    receive, send = _context().Pipe(duplex=False)
    process = _context().Process(
        target=_job_process,
        args=(str(root), str(output), job, engine_gib, send),
        name=f"tanlu-job-{job.id}-{job.worker}",
    )
    process.start()
    send.close()
    started = time.monotonic()
    try:
        while True:
            if receive.poll(WATCH_S):
                try:
                    message = receive.recv()
                except EOFError:  # the process ended without a word: killed from outside
                    process.join(5)
                    raise RuntimeError(
                        f"the job's process ended with exit code {process.exitcode}"
                    ) from None
                if message[0] == "step":
                    step(message[1], message[2])
                    continue
                if message[0] == "done":
                    return
                if message[0] == "failed":
                    raise TanluError(message[1])
                LOG.error("job %s failed in its process:\n%s", job.id, message[2])
                raise RuntimeError(message[1])
            if time.monotonic() - started > limits.timeout_s:
                raise JobStopped(
                    f"stopped after {limits.timeout_s:,.0f} s, the most a job may run "
                    "(tanlu serve --job-timeout-s)"
                )
            resident = _resident_bytes(process.pid) if process.pid else None
            if memory_bytes is not None and resident is not None and resident > memory_bytes:
                raise JobStopped(
                    f"stopped when its process used {resident / 2**30:.2f} GiB of memory, more "
                    f"than the {memory_bytes / 2**30:.2f} GiB a job may use "
                    "(tanlu serve --job-memory-gib)"
                )
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        receive.close()


def run_job(
    engine: Engine,
    job: JobInfo,
    worker: str,
    limits: JobLimits | None = None,
    memory_bytes: int | None = None,
) -> None:
    """Compute a claimed job in a process of its own and store its files, or record why it
    failed. A job that is no longer this worker's (queued again after its heartbeat went
    stale) is given up at its next step and left to the worker that has it. ``limits``: its
    time and memory (``memory_bytes`` when given, else ``limits.memory_bytes()``)."""
    limits = limits or JobLimits()
    memory = memory_bytes if memory_bytes is not None else limits.memory_bytes()
    state: dict[str, Any] = {"step": "", "done": 0, "total": 0, "lost": False}

    def step(name: str, total: int) -> None:
        if state["lost"]:
            raise JobLost
        state.update(step=name, total=total)
        try:
            kept = report_progress(engine, job.id, worker, name, state["done"], total)
        except Exception:  # progress is shown, not needed: a busy database does not stop it
            LOG.warning("job %s: progress not written", job.id, exc_info=True)
            kept = True
        if not kept:
            raise JobLost
        state["done"] += 1

    output = make_scratch_folder(OUTPUT_PREFIX)
    copy: list[Path] = []
    stop = threading.Event()
    beat = threading.Thread(
        target=_heartbeat, args=(engine, job.id, worker, state, stop), daemon=True
    )
    beat.start()
    try:
        with revision_copy(
            engine, job.organisation_id, job.project_id, job.revision_number
        ) as root:
            copy.append(root)
            _watch(root, output, job, limits, memory, step)
        if state["lost"]:
            raise JobLost
        finish_job(engine, job.id, worker, _outputs(output))
    except JobLost:
        LOG.info("job %s was queued again elsewhere: %s gave it up", job.id, worker)
    except TanluError as error:
        message = str(error).replace(f"{output}/", "")
        for root in copy:  # the revision's copy: named as the project's files
            message = message.replace(f"{root}/", "").replace(f"{root.parent}/", "")
        fail_job(engine, job.id, worker, message)
    except Exception as error:
        # a fault of tanlu's: recorded on the job, and the traceback goes to the log
        fail_job(engine, job.id, worker, f"internal error ({error}); see the log")
        raise
    finally:
        stop.set()
        beat.join()
        remove_scratch_folder(output)


class JobWorker:
    """Threads of the service process that run queued jobs one at a time each. Every
    :data:`ORPHAN_CHECK_S` a thread queues again the jobs whose worker process died (on this
    machine; on any, once their heartbeat is stale) and removes the blobs nothing refers to
    (:func:`tanlu.store.projects.remove_unused_blobs`)."""

    def __init__(self, engine: Engine, threads: int = 1, limits: JobLimits | None = None) -> None:
        self.engine = engine
        self.count = threads
        self.limits = limits or JobLimits()
        # each thread's job gets its share of the memory
        self.memory_bytes = self.limits.memory_bytes(threads)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start the threads (a worker of no threads does nothing), and the server process the
        jobs' processes are forked from, in the background (it imports tanlu once)."""
        self._stop.clear()
        if self.count:
            threading.Thread(target=_start_forkserver, name="tanlu-forkserver", daemon=True).start()
        for index in range(self.count):
            thread = threading.Thread(
                target=self._loop,
                args=(worker_name(index),),
                name=f"tanlu-job-{index}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask the threads to stop after their current job, and wait up to ``timeout_s``."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout_s)
        self._threads.clear()

    def _loop(self, worker: str) -> None:
        last_check = -ORPHAN_CHECK_S
        while not self._stop.is_set():
            try:
                if time.monotonic() - last_check >= ORPHAN_CHECK_S:
                    requeue_orphans(self.engine, worker_gone)
                    remove_unused_blobs(self.engine)
                    last_check = time.monotonic()
                job = claim_job(self.engine, worker)
                if job is None:
                    self._stop.wait(POLL_S)
                    continue
                run_job(self.engine, job, worker, self.limits, self.memory_bytes)
            except Exception:
                # the database away, or a fault of tanlu's in a job (which records it): the
                # worker logs it and goes on with the next job
                LOG.exception("job worker %s", worker)
                self._stop.wait(POLL_S)

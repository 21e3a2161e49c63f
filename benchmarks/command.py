"""The user's path: ``tanlu inventory DIR --year Y --json > /dev/null`` as a whole process.

A seeded synthetic project is written to disk once per size and format (``tanlu.toml`` with its
entities, its sites in a site register file or in tanlu.toml (:data:`SITE_LAYOUTS`), one activity
file in Parquet or CSV, an instrument file) under a cache folder
(the system temp dir, or ``--data-dir``) and reused by later runs. The activity file is written
in chunks of :data:`CHUNK_ROWS` rows, each drawn from its own seed, so that a hundred million
rows are generated holding one chunk in memory. Each timed run starts ``python -m tanlu.cli
inventory DIR --year Y --json`` (with ``--engine spark`` on Spark) as a separate process in a
session of its own, with its standard output thrown away, and records its wall time, its peak
resident memory (``ru_maxrss`` of ``os.wait4``: that process alone, started from a small
launcher so that the benchmark's own memory is not counted) and the peak of the resident memory
of every process of its session summed (sampled from ``/proc``; Spark's JVM is a second process
the command starts, which ``ru_maxrss`` does not count).

The project holds every kind of row the example has (:data:`benchmarks.synthetic.ACTIVITY_MIX`):
electricity in kWh, MWh and 度, heat, stationary and mobile fuels (their well-to-tank scope 3
rows derived), refrigerants (HCFC-22 reported outside the scopes), business travel and spend;
15% of the meter series start on the 15th, so their December period is split by days; leased
sites outside the boundary (scope 3 category 8), acquisitions and divestments during the year,
and green-power contracts and certificates for market-based scope 2.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

import tanlu
from benchmarks import synthetic
from tanlu.factors import FactorLibrary, load_factor_library
from tanlu.ingest.readers import REQUIRED_COLUMNS
from tanlu.project import EngineBackend

DEFAULT_ROWS = 1_000_000
DEFAULT_SITES = 2_000
DEFAULT_YEAR = 2021
FORMATS: tuple[str, ...] = ("parquet", "csv")
ENGINES: tuple[str, ...] = tuple(backend.value for backend in EngineBackend)
DEFAULT_ENGINE = EngineBackend.DUCKDB.value
DEFAULT_REPEAT = 3
RESULTS = Path(__file__).parent / "data" / "command.json"
# Share of sites with a green-power contract of their own, and the share of such a site's
# electricity it covers; plus pooled certificates (synthetic volumes, seeded).
CONTRACT_SITE_SHARE = 0.05
POOLED_GEC_LOTS = 10
SYNTHETIC_YEAR = 2021  # the year benchmarks.synthetic.make_sites writes ownership dates in
# Rows generated and written at a time: 100,000 whole twelve-month series, one Parquet row group
# (about 1 M rows, as DuckDB and Spark read a row group per task).
CHUNK_ROWS = 100_000 * synthetic.MONTHS
# The columns of the activity file, in order (``meter`` last, added to each chunk).
ACTIVITY_COLUMNS: tuple[str, ...] = REQUIRED_COLUMNS
# Where the generated project lists its sites: a site register file, data/sites.csv, named by
# [data] sites (how a group with thousands of sites keeps them; the default), or one [[sites]]
# table each in tanlu.toml.
SITE_LAYOUTS: tuple[str, ...] = ("register", "toml")
DEFAULT_SITE_LAYOUT = "register"
SITE_REGISTER = "data/sites.csv"
# How often the resident memory of the child's session is summed [s]: a scan of /proc takes
# about 1.5 ms with 70 processes on the benchmark machine, 1.5% of one CPU at this interval.
SAMPLE_INTERVAL_S = 0.1


@dataclass(frozen=True)
class CommandProject:
    """One synthetic project on disk."""

    root: Path
    rows: int
    sites: int
    year: int
    file_format: str

    @property
    def activity_file(self) -> Path:
        return self.root / "data" / f"activities.{self.file_format}"


@dataclass(frozen=True)
class CommandRun:
    """One run of the command.

    Attributes
    ----------
    wall_s
        Wall time from start to exit [s].
    peak_rss_mib
        Peak resident memory of the command's process alone (``ru_maxrss``; forked from
        :data:`LAUNCHER`, so at least its 9 MiB) [MiB].
    peak_session_rss_mib
        Peak of the resident memory of every process of the child's session summed (the child
        and what it started: Spark's JVM), sampled every :data:`SAMPLE_INTERVAL_S`, and never
        less than ``peak_rss_mib`` [MiB].
    """

    wall_s: float
    peak_rss_mib: float
    peak_session_rss_mib: float


def default_data_dir() -> Path:
    """Where generated projects are cached: ``<system temp dir>/tanlu-bench``."""
    return Path(tempfile.gettempdir()) / "tanlu-bench"


def project_root(
    data_dir: Path,
    rows: int,
    sites: int,
    year: int,
    file_format: str,
    chunk_rows: int = CHUNK_ROWS,
) -> Path:
    """The folder of the project of this size, chunking and format under ``data_dir``."""
    name = f"inventory_{rows}rows_{sites}sites_{year}_seed{synthetic.SEED}c{chunk_rows}"
    return data_dir / f"{name}_{file_format}"


def make_sites_and_instruments(n_sites: int, year: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The sites and instruments of the synthetic project (seeded with :data:`SEED` alone).

    Returns
    -------
    sites
        :func:`benchmarks.synthetic.make_sites`, ownership dates moved into ``year``.
    instruments
        ``instrument_id, kind, vintage_year, energy_mwh, technology, site, market,
        commissioning_date``.
    """
    rng = np.random.default_rng(synthetic.SEED)
    sites = synthetic.make_sites(n_sites, rng)
    shift = pd.DateOffset(years=year - SYNTHETIC_YEAR)
    sites["owned_from"] = sites["owned_from"] + shift
    sites["owned_until"] = sites["owned_until"] + shift
    contract_sites = sites.loc[rng.random(len(sites)) < CONTRACT_SITE_SHARE, "site"]
    # a contract covers between a tenth and the whole of a typical site's year of electricity
    # in kWh rows (log-mean 10 a month: about 0.26 GWh a year); volumes are synthetic
    contracts = pd.DataFrame(
        {
            "instrument_id": [f"GPT-{year}-{i:05d}" for i in range(len(contract_sites))],
            "kind": "green_power_contract",
            "vintage_year": year,
            "energy_mwh": np.round(rng.uniform(26.0, 260.0, len(contract_sites)), 1),
            "technology": rng.choice(["wind", "solar"], len(contract_sites)),
            "site": contract_sites.to_numpy(),
            "market": "China",
            "commissioning_date": f"{year - 2}-06-30",
        }
    )
    pooled = pd.DataFrame(
        {
            "instrument_id": [f"GEC-{year}-POOL-{i:02d}" for i in range(POOLED_GEC_LOTS)],
            "kind": "gec",
            "vintage_year": year,
            "energy_mwh": np.round(rng.uniform(100.0, 1_000.0, POOLED_GEC_LOTS), 1),
            "technology": "wind",
            "site": "",
            "market": "China",
            "commissioning_date": f"{year - 3}-01-31",
        }
    )
    return sites, pd.concat([contracts, pooled], ignore_index=True)


def make_activity_chunks(
    rows: int,
    sites: pd.DataFrame,
    library: FactorLibrary,
    year: int,
    chunk_rows: int = CHUNK_ROWS,
) -> Iterator[pa.Table]:
    """The raw activity rows of the synthetic project, ``chunk_rows`` at a time (seeded).

    Chunk ``i`` holds rows ``i * chunk_rows`` onwards, drawn by
    :func:`benchmarks.synthetic.make_activities` from the generator seeded with
    ``(SEED, i)``: the rows depend on ``rows``, ``sites``, ``year`` and ``chunk_rows`` only, and
    one chunk at a time is held in memory. A chunk holds whole twelve-month series (only the
    last series of the last chunk may be cut short), one meter each. The first series of the
    first chunk take each kind of :data:`benchmarks.synthetic.ACTIVITY_MIX` in turn, so that a
    small project too holds every kind of row.

    Parameters
    ----------
    rows
        Activity rows in all.
    sites
        :func:`make_sites_and_instruments`'s sites.
    library
        The factor library (the activities' catalogue).
    year
        The reporting year the periods fall in.
    chunk_rows
        Rows of each chunk but the last; a whole number of series (a multiple of
        :data:`benchmarks.synthetic.MONTHS`).

    Yields
    ------
    pyarrow.Table
        ``site, period_start, period_end, activity, quantity, unit, meter``: what a user's
        file holds; ``site``, ``activity`` and ``unit`` dictionary-encoded, the periods as
        timestamps, the meter ``M`` and the series' number (``M0000000`` onwards).
    """
    if rows < 0:
        raise ValueError(f"rows must not be negative, not {rows}")
    if chunk_rows <= 0 or chunk_rows % synthetic.MONTHS:
        raise ValueError(
            f"chunk_rows must be a positive multiple of {synthetic.MONTHS} (whole meter series), "
            f"not {chunk_rows}"
        )
    for index, first_row in enumerate(range(0, rows, chunk_rows)):
        n_rows = min(chunk_rows, rows - first_row)
        rng = np.random.default_rng((synthetic.SEED, index))
        checked = synthetic.make_activities(
            n_rows, sites, library, year, rng, every_kind_first=index == 0
        )
        table = pa.Table.from_pandas(checked[list(ACTIVITY_COLUMNS)], preserve_index=False)
        del checked  # one chunk in memory at a time: nothing of this one is held past its turn
        first_series = first_row // synthetic.MONTHS
        series = np.arange(n_rows) // synthetic.MONTHS
        meters = np.char.mod("M%07d", np.arange(first_series, first_series + series[-1] + 1))
        table = table.append_column("meter", pa.array(meters).take(pa.array(series)))
        del series, meters
        yield table
        del table


def write_activity_file(chunks: Iterable[pa.Table], path: Path, file_format: str) -> int:
    """Stream ``chunks`` into one activity file; returns the rows written.

    Parquet: one row group per chunk, the columns as :func:`make_activity_chunks` types them.
    CSV: a header line, then each chunk appended, text as text, dates as ``YYYY-MM-DD``,
    nothing quoted (no generated value holds a comma, a quote or a line break).
    """
    if file_format not in FORMATS:
        raise ValueError(f"format '{file_format}' is not one of {', '.join(FORMATS)}")
    rows = 0
    with contextlib.ExitStack() as stack:
        parquet: pq.ParquetWriter | None = None
        csv: pa_csv.CSVWriter | None = None
        for chunk in chunks:
            if file_format == "parquet":
                if parquet is None:
                    parquet = stack.enter_context(pq.ParquetWriter(path, chunk.schema))
                parquet.write_table(chunk, row_group_size=max(chunk.num_rows, 1))
            else:
                plain = _csv_columns(chunk)
                if csv is None:
                    sink = stack.enter_context(path.open("wb"))
                    sink.write((",".join(plain.column_names) + "\n").encode("utf-8"))
                    options = pa_csv.WriteOptions(include_header=False, quoting_style="none")
                    csv = stack.enter_context(
                        pa_csv.CSVWriter(sink, plain.schema, write_options=options)
                    )
                csv.write_table(plain)
                del plain
            rows += chunk.num_rows
            del chunk  # before the next chunk is made, not after
    return rows


def _csv_columns(chunk: pa.Table) -> pa.Table:
    """The chunk as a CSV file holds it: dictionary columns as text, timestamps as dates."""
    columns = []
    for column in chunk.columns:
        if pa.types.is_dictionary(column.type):
            column = column.cast(pa.string())
        elif pa.types.is_timestamp(column.type):
            column = column.cast(pa.date32())
        columns.append(column)
    return pa.table(columns, names=chunk.column_names)


def write_project(
    root: Path,
    rows: int,
    n_sites: int,
    year: int,
    file_format: str,
    library: FactorLibrary,
    chunk_rows: int = CHUNK_ROWS,
    site_layout: str = DEFAULT_SITE_LAYOUT,
) -> CommandProject:
    """Write the synthetic project to ``root`` (replaced atomically: written beside, renamed).

    The activity file is streamed chunk by chunk (:func:`make_activity_chunks`); a failed
    write leaves no half-written folder behind. The sites are listed as ``site_layout`` says
    (:data:`SITE_LAYOUTS`).
    """
    if file_format not in FORMATS:
        raise ValueError(f"format '{file_format}' is not one of {', '.join(FORMATS)}")
    if rows <= 0 or n_sites <= 0:
        raise ValueError(f"a project needs rows and sites, not {rows} rows and {n_sites} sites")
    sites, instruments = make_sites_and_instruments(n_sites, year)
    staging = root.with_name(root.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        (staging / "data").mkdir(parents=True)
        project = CommandProject(staging, rows, n_sites, year, file_format)
        chunks = make_activity_chunks(rows, sites, library, year, chunk_rows)
        written = write_activity_file(chunks, project.activity_file, file_format)
        if written != rows:
            raise AssertionError(f"wrote {written:,} activity rows, not {rows:,}")
        instruments.to_csv(staging / "data" / "instruments.csv", index=False)
        _write_sites(staging, sites, year, file_format, site_layout)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(root, ignore_errors=True)
    staging.replace(root)
    return CommandProject(root, rows, n_sites, year, file_format)


def _write_sites(
    root: Path, sites: pd.DataFrame, year: int, file_format: str, site_layout: str
) -> None:
    """tanlu.toml, and the site register when ``site_layout`` is ``"register"``."""
    if site_layout not in SITE_LAYOUTS:
        raise ValueError(f"site layout '{site_layout}' is not one of {', '.join(SITE_LAYOUTS)}")
    register = root / SITE_REGISTER
    if site_layout == "register":
        table = pd.DataFrame(
            {
                "id": sites["site"],
                "name": "Site " + sites["site"],
                "entity": sites["entity"],
                "province": sites["province"],
                "leased": np.where(sites["leased"], "true", "false"),
                "owned_from": sites["owned_from"].dt.strftime("%Y-%m-%d"),
                "owned_until": sites["owned_until"].dt.strftime("%Y-%m-%d"),
            }
        )
        table.to_csv(register, index=False)
    else:
        register.unlink(missing_ok=True)
    text = _toml_text(sites, year, file_format, listed=site_layout == "toml")
    (root / "tanlu.toml").write_text(text, encoding="utf-8")


def set_site_layout(project: CommandProject, site_layout: str) -> None:
    """List a generated project's sites as ``site_layout`` says (:data:`SITE_LAYOUTS`),
    rewriting its tanlu.toml (``[engine]`` settings go: :func:`set_engine_memory` after), so
    that one generated project serves both layouts."""
    sites, _ = make_sites_and_instruments(project.sites, project.year)
    _write_sites(project.root, sites, project.year, project.file_format, site_layout)


def _toml_text(sites: pd.DataFrame, year: int, file_format: str, listed: bool) -> str:
    entities = sites.groupby("entity", sort=True)["ownership_share"].first()
    lines = [
        "# Synthetic project of benchmarks/command.py (seeded; figures are not real).",
        "[organisation]",
        'name = "Synthetic benchmark group"',
        f"base_year = {year}",
        f"reporting_years = [{year}]",
        'consolidation_approach = "equity_share"',
        'gwp_set = "AR5"',
        "",
        "[data]",
        f'activities = ["data/activities.{file_format}"]',
        'instruments = ["data/instruments.csv"]',
        *([] if listed else [f'sites = ["{SITE_REGISTER}"]']),
        "",
    ]
    for entity, share in entities.items():
        lines += [
            "[[entities]]",
            f'id = "{entity}"',
            f'name = "Entity {entity}"',
            f"ownership_share = {float(share)}",
            f"operational_control = {'true' if share > 0.5 else 'false'}",
            f"financial_control = {'true' if share > 0.5 else 'false'}",
            "",
        ]
    for site in sites.itertuples(index=False) if listed else ():
        lines += [
            "[[sites]]",
            f'id = "{site.site}"',
            f'name = "Site {site.site}"',
            f'entity = "{site.entity}"',
            f'province = "{site.province}"',
            f"leased = {'true' if site.leased else 'false'}",
        ]
        for key in ("owned_from", "owned_until"):
            value = getattr(site, key)
            if pd.notna(value):
                lines.append(f"{key} = {value.date().isoformat()}")
        lines.append("")
    return "\n".join(lines)


def ensure_project(
    rows: int,
    n_sites: int,
    year: int,
    file_format: str,
    data_dir: Path | None = None,
    library: FactorLibrary | None = None,
    log: Callable[[str], Any] = print,
    chunk_rows: int = CHUNK_ROWS,
    site_layout: str = DEFAULT_SITE_LAYOUT,
) -> CommandProject:
    """The project of this size and format, generated once and reused from ``data_dir``, its
    sites listed as ``site_layout`` says (:func:`set_site_layout`)."""
    root = project_root(
        data_dir or default_data_dir(), rows, n_sites, year, file_format, chunk_rows
    )
    project = CommandProject(root, rows, n_sites, year, file_format)
    if (root / "tanlu.toml").exists() and project.activity_file.exists():
        log(f"reusing {root}")
        set_site_layout(project, site_layout)
        return project
    log(f"generating {rows:,} rows for {n_sites:,} sites ({file_format}) in {root} ...")
    began = time.perf_counter()
    written = write_project(
        root,
        rows,
        n_sites,
        year,
        file_format,
        library or load_factor_library(),
        chunk_rows,
        site_layout,
    )
    log(f"generated in {time.perf_counter() - began:.1f} s")
    return written


ENGINE_SECTION = "\n# set by the benchmark (set_engine_memory)\n[engine]\n"


def set_engine_memory(root: Path, memory_limit_gib: float | None) -> None:
    """Set (or, with None, remove) ``[engine] memory_limit_gib`` in a generated project's
    tanlu.toml, so that one generated project serves runs with and without a limit."""
    path = root / "tanlu.toml"
    text = path.read_text(encoding="utf-8").split(ENGINE_SECTION)[0]
    if memory_limit_gib is not None:
        text += f"{ENGINE_SECTION}memory_limit_gib = {float(memory_limit_gib)}\n"
    path.write_text(text, encoding="utf-8")


def inventory_command(project: CommandProject, engine: str = DEFAULT_ENGINE) -> list[str]:
    """The command timed: ``python -m tanlu.cli inventory DIR --year Y --json``.

    On DuckDB (the default engine) the command is the user's plain command; on Spark it adds
    ``--engine spark`` (Spark's default master, ``local[*]``: docs/engines.md).
    """
    if engine not in ENGINES:
        raise ValueError(f"engine '{engine}' is not one of {', '.join(ENGINES)}")
    argv = [
        sys.executable,
        "-m",
        "tanlu.cli",
        "inventory",
        str(project.root),
        "--year",
        str(project.year),
        "--json",
    ]
    return argv if engine == DEFAULT_ENGINE else [*argv, "--engine", engine]


def default_tanlu_src() -> Path:
    """The folder the running ``tanlu`` package is imported from (its ``src``)."""
    return Path(tanlu.__file__).resolve().parents[1]


def session_rss_bytes(session_id: int, skip: Collection[int] = ()) -> int:
    """The resident memory of every process of a session but ``skip``, summed [bytes].

    Read from Linux's ``/proc`` (0 where it is absent); a process that ends during the scan is
    skipped.
    """
    page_bytes = os.sysconf("SC_PAGE_SIZE")
    total = 0
    try:
        entries = list(os.scandir("/proc"))
    except OSError:
        return 0
    for entry in entries:
        if not entry.name.isdigit() or int(entry.name) in skip:
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                # after the command name in parentheses: state, ppid, pgrp, session, ...
                fields = stat.read().rsplit(b")", 1)[1].split()
            if int(fields[3]) != session_id:
                continue
            with open(f"/proc/{entry.name}/statm", "rb") as statm:
                total += int(statm.read().split()[1]) * page_bytes
        except (OSError, IndexError, ValueError):
            continue
    return total


# The small process that starts the timed command and reports its wall time [s] and peak
# resident memory [KiB]. Linux keeps a process's peak across exec, so a command forked from the
# benchmark itself would report at least the benchmark's own peak (its generated chunks, its
# imports: hundreds of MiB); forked from this launcher (python -I -S, about 9 MiB) it reports
# its own. The launcher exits as the command did, by the same signal if it was killed.
LAUNCHER = """
import os, signal, sys, time
report, argv = int(sys.argv[1]), sys.argv[2:]
began = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.close(report)
    try:
        os.execvp(argv[0], argv)
    except OSError as error:
        os.write(2, f"{argv[0]}: {error}\\n".encode())
    os._exit(127)
_, status, usage = os.wait4(pid, 0)
os.write(report, f"{time.perf_counter() - began!r} {usage.ru_maxrss}".encode())
os.close(report)
if os.WIFSIGNALED(status):
    signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
    os.kill(os.getpid(), os.WTERMSIG(status))
os._exit(os.waitstatus_to_exitcode(status))
"""


def run_command(
    argv: list[str],
    tanlu_src: Path | None = None,
    stdout: IO[Any] | int = subprocess.DEVNULL,
    memory_limit_mib: float | None = None,
) -> CommandRun:
    """Run ``argv`` as a child process with ``tanlu_src`` first on its path; time it.

    The command is started by :data:`LAUNCHER` in a session of its own, so that its peak
    resident memory is its own (not the benchmark's, as a process forked from the benchmark
    would report); the resident memory of the session's processes (the command and what it
    starts, the launcher left out) is summed every :data:`SAMPLE_INTERVAL_S` while it runs.

    Parameters
    ----------
    argv
        The command.
    tanlu_src
        The ``src`` folder put first on the child's ``PYTHONPATH`` (default: the imported one).
    stdout
        Where the child's standard output goes (default: thrown away).
    memory_limit_mib
        When the session's resident memory passes this [MiB], every process of the session is
        killed and the run fails, before the machine runs out of memory (default: no limit).

    Raises
    ------
    RuntimeError
        When the command fails (with the end of its standard error), or passed the memory
        limit.
    """
    env = dict(os.environ)
    src = str(tanlu_src or default_tanlu_src())
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    done = threading.Event()
    peak_bytes = [0]
    killed_at_bytes: list[int] = []

    def sample(session_id: int) -> None:
        while not done.is_set():
            total = session_rss_bytes(session_id, skip=(session_id,))
            peak_bytes[0] = max(peak_bytes[0], total)
            if memory_limit_mib is not None and total > memory_limit_mib * 2**20:
                killed_at_bytes.append(total)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(session_id, signal.SIGKILL)
                return
            done.wait(SAMPLE_INTERVAL_S)

    read_end, write_end = os.pipe()
    launcher = [sys.executable, "-I", "-S", "-c", LAUNCHER, str(write_end), *argv]
    with tempfile.TemporaryFile() as stderr, open(read_end, "rb") as report:
        began = time.perf_counter()
        try:
            child = subprocess.Popen(
                launcher,
                stdout=stdout,
                stderr=stderr,
                env=env,
                start_new_session=True,
                pass_fds=(write_end,),
            )
        finally:
            os.close(write_end)
        sampler = threading.Thread(target=sample, args=(child.pid,), daemon=True)
        sampler.start()
        try:
            _, status, _ = os.wait4(child.pid, 0)
        except BaseException:
            # interrupted (Ctrl-C reaches this process only: the child has its own session)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            raise
        finally:
            done.set()
            sampler.join()
        wall_s = time.perf_counter() - began
        child.returncode = os.waitstatus_to_exitcode(status)
        if killed_at_bytes:
            raise RuntimeError(
                f"{' '.join(argv)} was killed after {wall_s:.0f} s: its processes held "
                f"{killed_at_bytes[0] / 2**20:,.0f} MiB, over the limit of "
                f"{memory_limit_mib:,.0f} MiB"
            )
        if child.returncode != 0:
            stderr.seek(0)
            tail = stderr.read().decode("utf-8", "replace")[-2000:]
            raise RuntimeError(f"{' '.join(argv)} exited with {child.returncode}:\n{tail}")
        reported = report.read().split()
    if len(reported) != 2:
        raise RuntimeError(f"{' '.join(argv)}: the launcher reported no time and memory")
    # the launcher's wall time, from fork to exit (without its own start); ru_maxrss in KiB
    wall_s, peak_rss_mib = float(reported[0]), int(reported[1]) / 1024
    return CommandRun(
        wall_s=wall_s,
        peak_rss_mib=peak_rss_mib,
        peak_session_rss_mib=max(peak_rss_mib, peak_bytes[0] / 2**20),
    )


def measure(
    project: CommandProject,
    repeat: int = DEFAULT_REPEAT,
    tanlu_src: Path | None = None,
    engine: str = DEFAULT_ENGINE,
    memory_limit_mib: float | None = None,
) -> dict[str, Any]:
    """``repeat`` timed runs of the command on ``engine``: each run, and the medians."""
    argv = inventory_command(project, engine)
    runs = [run_command(argv, tanlu_src, memory_limit_mib=memory_limit_mib) for _ in range(repeat)]
    wall_s = statistics.median(r.wall_s for r in runs)
    return {
        "engine": engine,
        "format": project.file_format,
        "rows": project.rows,
        "sites": project.sites,
        "year": project.year,
        "file_mib": project.activity_file.stat().st_size / 2**20,
        "runs": [asdict(r) for r in runs],
        "wall_s": wall_s,
        "rows_per_s": project.rows / wall_s,
        "peak_rss_mib": statistics.median(r.peak_rss_mib for r in runs),
        "peak_session_rss_mib": statistics.median(r.peak_session_rss_mib for r in runs),
    }


def run(
    print_line: Callable[[Any], Any],
    rows: int = DEFAULT_ROWS,
    n_sites: int = DEFAULT_SITES,
    formats: tuple[str, ...] = FORMATS,
    year: int = DEFAULT_YEAR,
    repeat: int = DEFAULT_REPEAT,
    data_dir: Path | None = None,
    results: Path = RESULTS,
    tanlu_src: Path | None = None,
    machine: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Measure every format, print a table and write the figures as JSON to ``results``."""
    from rich.table import Table

    library = load_factor_library()
    src = tanlu_src or default_tanlu_src()
    figures = []
    for file_format in formats:
        project = ensure_project(rows, n_sites, year, file_format, data_dir, library, print_line)
        print_line(f"timing {' '.join(inventory_command(project)[1:])} x {repeat} ...")
        figures.append(measure(project, repeat, src))
    table = Table(title=f"tanlu inventory DIR --year {year} --json > /dev/null: median of {repeat}")
    for column in ("format", "rows", "sites", "file MiB", "wall s", "rows/s", "peak RSS MiB"):
        table.add_column(column, justify="left" if column == "format" else "right")
    for f in figures:
        table.add_row(
            f["format"],
            f"{f['rows']:,}",
            f"{f['sites']:,}",
            f"{f['file_mib']:.1f}",
            f"{f['wall_s']:.2f}",
            f"{f['rows_per_s']:,.0f}",
            f"{f['peak_rss_mib']:,.0f}",
        )
    print_line(table)
    results.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "benchmark": "command",
        "command": f"tanlu inventory DIR --year {year} --json > /dev/null",
        "tanlu_src": str(src),
        "repeat": repeat,
        "machine": machine or {},
        "results": figures,
    }
    results.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print_line(f"figures written to {results}")
    return figures

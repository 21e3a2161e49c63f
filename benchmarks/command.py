"""The user's path: ``tanlu inventory DIR --year Y --json > /dev/null`` as a whole process.

A seeded synthetic project is written to disk once per size and format (``tanlu.toml`` with its
entities and sites, one activity file in Parquet or CSV, an instrument file) under a cache folder
(the system temp dir, or ``--data-dir``) and reused by later runs. Each timed run starts
``python -m tanlu.cli inventory DIR --year Y --json`` as a separate process with its standard
output thrown away, and records its wall time and the child's peak resident memory
(``ru_maxrss`` of ``os.wait4``: that process alone, not every child waited for so far).

The project holds every kind of row the example has (:data:`benchmarks.synthetic.ACTIVITY_MIX`):
electricity in kWh, MWh and 度, heat, stationary and mobile fuels (their well-to-tank scope 3
rows derived), refrigerants (HCFC-22 reported outside the scopes), business travel and spend;
15% of the meter series start on the 15th, so their December period is split by days; leased
sites outside the boundary (scope 3 category 8), acquisitions and divestments during the year,
and green-power contracts and certificates for market-based scope 2.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

import tanlu
from benchmarks import synthetic
from tanlu.factors import FactorLibrary, load_factor_library

DEFAULT_ROWS = 1_000_000
DEFAULT_SITES = 2_000
DEFAULT_YEAR = 2021
FORMATS: tuple[str, ...] = ("parquet", "csv")
DEFAULT_REPEAT = 3
RESULTS = Path(__file__).parent / "data" / "command.json"
# Share of sites with a green-power contract of their own, and the share of such a site's
# electricity it covers; plus pooled certificates (synthetic volumes, seeded).
CONTRACT_SITE_SHARE = 0.05
POOLED_GEC_LOTS = 10
SYNTHETIC_YEAR = 2021  # the year benchmarks.synthetic.make_sites writes ownership dates in


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
    """One run of the command: wall time [s] and the child's peak resident memory [MiB]."""

    wall_s: float
    peak_rss_mib: float


def default_data_dir() -> Path:
    """Where generated projects are cached: ``<system temp dir>/tanlu-bench``."""
    return Path(tempfile.gettempdir()) / "tanlu-bench"


def project_root(data_dir: Path, rows: int, sites: int, year: int, file_format: str) -> Path:
    """The folder of the project of this size and format under ``data_dir``."""
    return data_dir / f"inventory_{rows}rows_{sites}sites_{year}_seed{synthetic.SEED}_{file_format}"


def make_project_tables(
    rows: int, n_sites: int, year: int, library: FactorLibrary
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The sites, raw activity rows and instruments of the synthetic project (seeded).

    Returns
    -------
    sites
        :func:`benchmarks.synthetic.make_sites`, ownership dates moved into ``year``.
    activities
        ``site, period_start, period_end, activity, quantity, unit, meter``: what a user's file
        holds; one meter per twelve-month series, so no two periods of a meter overlap.
    instruments
        ``instrument_id, kind, vintage_year, energy_mwh, technology, site, market,
        commissioning_date``.
    """
    rng = np.random.default_rng(synthetic.SEED)
    sites = synthetic.make_sites(n_sites, rng)
    shift = pd.DateOffset(years=year - SYNTHETIC_YEAR)
    sites["owned_from"] = sites["owned_from"] + shift
    sites["owned_until"] = sites["owned_until"] + shift
    checked = synthetic.make_activities(rows, sites, library, year, rng)
    activities = checked[["site", "period_start", "period_end", "activity", "quantity", "unit"]]
    activities = activities.assign(
        meter=pd.Series(np.arange(rows) // synthetic.MONTHS).map("M{:07d}".format)
    )
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
    return sites, activities, pd.concat([contracts, pooled], ignore_index=True)


def _toml_text(sites: pd.DataFrame, year: int, file_format: str) -> str:
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
    for site in sites.itertuples(index=False):
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


def write_project(
    root: Path, rows: int, n_sites: int, year: int, file_format: str, library: FactorLibrary
) -> CommandProject:
    """Write the synthetic project to ``root`` (replaced atomically: written beside, renamed)."""
    if file_format not in FORMATS:
        raise ValueError(f"format '{file_format}' is not one of {', '.join(FORMATS)}")
    sites, activities, instruments = make_project_tables(rows, n_sites, year, library)
    staging = root.with_name(root.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "data").mkdir(parents=True)
    project = CommandProject(staging, rows, n_sites, year, file_format)
    if file_format == "parquet":
        activities.to_parquet(project.activity_file, index=False)
    else:
        activities.assign(
            period_start=activities["period_start"].dt.strftime("%Y-%m-%d"),
            period_end=activities["period_end"].dt.strftime("%Y-%m-%d"),
        ).to_csv(project.activity_file, index=False)
    instruments.to_csv(staging / "data" / "instruments.csv", index=False)
    (staging / "tanlu.toml").write_text(_toml_text(sites, year, file_format), encoding="utf-8")
    shutil.rmtree(root, ignore_errors=True)
    staging.replace(root)
    return CommandProject(root, rows, n_sites, year, file_format)


def ensure_project(
    rows: int,
    n_sites: int,
    year: int,
    file_format: str,
    data_dir: Path | None = None,
    library: FactorLibrary | None = None,
    log: Callable[[str], Any] = print,
) -> CommandProject:
    """The project of this size and format, generated once and reused from ``data_dir``."""
    root = project_root(data_dir or default_data_dir(), rows, n_sites, year, file_format)
    project = CommandProject(root, rows, n_sites, year, file_format)
    if (root / "tanlu.toml").exists() and project.activity_file.exists():
        log(f"reusing {root}")
        return project
    log(f"generating {rows:,} rows for {n_sites:,} sites ({file_format}) in {root} ...")
    began = time.perf_counter()
    written = write_project(
        root, rows, n_sites, year, file_format, library or load_factor_library()
    )
    log(f"generated in {time.perf_counter() - began:.1f} s")
    return written


def inventory_command(project: CommandProject) -> list[str]:
    """The command timed: ``python -m tanlu.cli inventory DIR --year Y --json``."""
    return [
        sys.executable,
        "-m",
        "tanlu.cli",
        "inventory",
        str(project.root),
        "--year",
        str(project.year),
        "--json",
    ]


def default_tanlu_src() -> Path:
    """The folder the running ``tanlu`` package is imported from (its ``src``)."""
    return Path(tanlu.__file__).resolve().parents[1]


def run_command(
    argv: list[str], tanlu_src: Path | None = None, stdout: IO[Any] | int = subprocess.DEVNULL
) -> CommandRun:
    """Run ``argv`` as a child process with ``tanlu_src`` first on its path; time it.

    Raises
    ------
    RuntimeError
        When the command fails (with the end of its standard error).
    """
    env = dict(os.environ)
    src = str(tanlu_src or default_tanlu_src())
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    with tempfile.TemporaryFile() as stderr:
        began = time.perf_counter()
        child = subprocess.Popen(argv, stdout=stdout, stderr=stderr, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        wall_s = time.perf_counter() - began
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            stderr.seek(0)
            tail = stderr.read().decode("utf-8", "replace")[-2000:]
            raise RuntimeError(f"{' '.join(argv)} exited with {child.returncode}:\n{tail}")
    # ru_maxrss is in KiB on Linux
    return CommandRun(wall_s=wall_s, peak_rss_mib=usage.ru_maxrss / 1024)


def measure(
    project: CommandProject, repeat: int = DEFAULT_REPEAT, tanlu_src: Path | None = None
) -> dict[str, Any]:
    """``repeat`` timed runs of the command: each run, and the medians."""
    runs = [run_command(inventory_command(project), tanlu_src) for _ in range(repeat)]
    wall_s = statistics.median(r.wall_s for r in runs)
    return {
        "format": project.file_format,
        "rows": project.rows,
        "sites": project.sites,
        "year": project.year,
        "file_mib": project.activity_file.stat().st_size / 2**20,
        "runs": [asdict(r) for r in runs],
        "wall_s": wall_s,
        "rows_per_s": project.rows / wall_s,
        "peak_rss_mib": statistics.median(r.peak_rss_mib for r in runs),
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

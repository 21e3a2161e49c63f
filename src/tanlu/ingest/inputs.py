"""A project's input files read and checked into one bundle: :class:`ProjectInputs`.

Every file a project names (activities, instruments, hourly series, its factor files and
exchange-rate overrides) is read here, once; the inventory, electricity, roadmap and report take
the bundle (the readers of each format live beside this module in :mod:`tanlu.ingest`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from tanlu.errors import FactorError, InputError, InputIssue
from tanlu.factors.library import FactorLibrary, load_factor_library
from tanlu.factors.regions import resolve_region
from tanlu.ingest.activities import PreparedActivities, prepare_activities
from tanlu.ingest.hourly import empty_hourly_table, read_hourly_files
from tanlu.ingest.instruments import read_instruments
from tanlu.ingest.readers import read_activity_file
from tanlu.project import Project
from tanlu.tables import Progress


@dataclass(frozen=True)
class ProjectInputs:
    """Everything read from a project's files, checked.

    Attributes
    ----------
    library
        The factor library with the project's overrides.
    activities
        The checked activity table (:data:`tanlu.ingest.CANONICAL_COLUMNS`).
    unit_conversions
        ``activity, unit, canonical_unit, multiplier`` for every pair in the data.
    instruments
        Contractual instruments for market-based scope 2.
    rows_read
        Activity rows read from all files.
    meter_hourly, delivery_hourly, grid_cfe_hourly, pv_hourly
        Hourly series (:mod:`tanlu.ingest.hourly`): metered site load and contract deliveries
        [MWh], the grid's carbon-free share by region [0..1] (series named by canonical
        region: ``China``, a province or a regional grid) and PV systems' generation [MWh],
        ``series, hour_start, value, source_line``.
    """

    library: FactorLibrary
    activities: pd.DataFrame
    unit_conversions: pd.DataFrame
    instruments: pd.DataFrame
    rows_read: int
    meter_hourly: pd.DataFrame = field(default_factory=empty_hourly_table)
    delivery_hourly: pd.DataFrame = field(default_factory=empty_hourly_table)
    grid_cfe_hourly: pd.DataFrame = field(default_factory=empty_hourly_table)
    pv_hourly: pd.DataFrame = field(default_factory=empty_hourly_table)


def project_years(project: Project) -> list[int]:
    """Base year and reporting years, sorted."""
    organisation = project.config.organisation
    return sorted({organisation.base_year, *organisation.reporting_years})


def check_inputs(project: Project, progress: Progress | None = None) -> list[InputIssue]:
    """Every problem in a project's input files (empty when they are all good)."""
    try:
        load_inputs(project, progress)
    except InputError as error:
        return error.issues
    return []


def load_project_library(project: Project) -> FactorLibrary:
    """The bundled library with the project's factor files and exchange rates.

    Raises
    ------
    InputError
        Naming every bad row of the project's factor files, or a bad exchange-rate override.
    """
    library = load_factor_library(
        project.factor_files, [project.display_path(p) for p in project.factor_files]
    ).with_cn_fuel_table(project.config.accounting.cn_fuel_parameter_table.value)
    try:
        return library.with_exchange_rates(dict(project.config.accounting.cny_per_usd))
    except FactorError as error:
        raise InputError(
            [
                InputIssue(
                    str(project.root / "tanlu.toml"), None, "accounting.cny_per_usd", str(error)
                )
            ]
        ) from None


def _canonical_region(name: str) -> str | None:
    resolved = resolve_region(name)
    return None if resolved is None else resolved[1]


def load_inputs(project: Project, progress: Progress | None = None) -> ProjectInputs:
    """Read and check all of a project's input files.

    Raises
    ------
    InputError
        Listing every bad row of every file (nothing is computed from a project with bad rows).
    """
    issues: list[InputIssue] = []
    try:
        library = load_project_library(project)
    except InputError as error:
        # Report the project library's problems, and go on checking the data against the
        # bundled library so that every problem is reported in one pass.
        issues.extend(error.issues)
        library = load_factor_library()
    frames = []
    if not project.activity_files:
        issues.append(
            InputIssue(
                str(project.root / "tanlu.toml"),
                None,
                "data.activities",
                "no activity files match the configured patterns",
            )
        )
    for path in project.activity_files:
        frame, file_issues = read_activity_file(path, project.display_path(path), progress)
        issues.extend(file_issues)
        if not frame.empty:
            frames.append(frame)
    raw = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    prepared: PreparedActivities = prepare_activities(
        raw, library, project.sites["site"], project_years(project)
    )
    issues.extend(prepared.issues)
    instruments, instrument_issues = read_instruments(
        list(project.instrument_files),
        [project.display_path(p) for p in project.instrument_files],
        set(project.sites["site"]),
    )
    issues.extend(instrument_issues)
    if project.config.accounting.derive_fuel_upstream and not prepared.table.empty:
        derived = set(library.activities["upstream_activity"]) - {""}
        entered = prepared.table.loc[prepared.table["activity"].isin(derived)]
        issues.extend(
            InputIssue(
                str(row.source_file),
                int(row.source_line),
                "activity",
                f"'{row.activity}' is derived from scope 1 fuel rows; entering it too would "
                "count it twice (set accounting.derive_fuel_upstream = false to enter it yourself)",
                None if pd.isna(row.source_sheet) else str(row.source_sheet),
            )
            for row in entered.itertuples(index=False)
        )
    meter_hourly, meter_issues = read_hourly_files(
        project.meter_files,
        [project.display_path(p) for p in project.meter_files],
        "meter",
        set(project.sites["site"]),
    )
    issues.extend(meter_issues)
    grid_hourly, grid_issues = read_hourly_files(
        project.grid_cfe_files,
        [project.display_path(p) for p in project.grid_cfe_files],
        "grid",
        canonical=_canonical_region,
    )
    issues.extend(grid_issues)
    pv_hourly, pv_issues = read_hourly_files(
        project.pv_files,
        [project.display_path(p) for p in project.pv_files],
        "pv",
        {system.id for system in project.config.pv_systems},
    )
    issues.extend(pv_issues)
    delivery_hourly, delivery_issues = read_hourly_files(
        project.delivery_files,
        [project.display_path(p) for p in project.delivery_files],
        "delivery",
        set(instruments["instrument_id"]) if not instruments.empty else set(),
    )
    issues.extend(delivery_issues)
    if issues:
        raise InputError(sorted(issues, key=lambda i: (i.file, i.sheet or "", i.line or 0)))
    return ProjectInputs(
        library,
        prepared.table,
        prepared.unit_conversions,
        instruments,
        prepared.rows_read,
        meter_hourly,
        delivery_hourly,
        grid_hourly,
        pv_hourly,
    )

"""A project's inputs read and checked into one bundle: :class:`ProjectInputs`.

Every input a project has (activities, instruments, hourly series, its factor files, price files
and exchange-rate overrides) is read here, once; the inventory, electricity, roadmap and report
take the bundle (the readers of each format live beside this module in :mod:`tanlu.ingest`).

The inputs come from the project's files (:func:`load_inputs`) or as tables given in memory
(:class:`InputTables`, :func:`check_input_tables`), so that a test or a service need not write
a project to disk. Both run the same checks: reading a file gives its raw table
(:func:`read_input_tables`), and every check runs on tables.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tanlu import engine
from tanlu.errors import FactorError, InputError, InputIssue, ResourceError
from tanlu.factors.library import (
    FactorLibrary,
    factor_library_from_tables,
    load_factor_library,
)
from tanlu.factors.regions import resolve_region
from tanlu.ingest.activities import PreparedActivities, check_sources, raw_sources
from tanlu.ingest.activity_checks import LISTED_PER_KIND, ActivitySource, IssueFile, issue_frame
from tanlu.ingest.activity_store import ActivityStore
from tanlu.ingest.hourly import check_hourly_tables, empty_hourly_table
from tanlu.ingest.instruments import check_instrument_tables
from tanlu.ingest.prices import check_price_tables, empty_price_table
from tanlu.ingest.readers import (
    activity_rows,
    count_activity_rows,
    csv_header_issues,
    read_activity_table,
)
from tanlu.project import Project
from tanlu.tables import Progress, drop_blank_rows, read_csv_table, text_cells


@dataclass(frozen=True)
class InputTables:
    """A project's raw input tables, one mapping per kind of input file.

    Each mapping goes from a table's name (shown in messages as a file's name is) to a table
    with the columns of that kind of file (docs/file-formats.md); header names are read as a
    file's are (spaces trimmed, any case). Cells may be text, as read from a CSV file, or typed:
    numbers, dates (``datetime.date``, ``pandas.Timestamp``; a moment with a UTC offset in
    the hourly tables), booleans, missing values.

    Rows are numbered from 1 and named "row N" in messages, as in a Parquet file. A table read
    from a file (:func:`read_input_tables`) carries ``source_line``, where each row is in the
    file (and, for a workbook of activities, ``source_sheet``), and is named by line as the
    file is.

    Attributes
    ----------
    activities
        ``site, period_start, period_end, activity, quantity, unit`` and, optionally,
        ``meter, category, source_document, note``; or the path of a Parquet file with those
        columns, which the engine reads itself (rows named "row N").
    instruments
        ``instrument_id, kind, vintage_year, energy_mwh`` and the optional instrument columns.
    factors
        The project's own factor tables (``factor_id, activity, gas, value, unit, source`` and
        the optional factor columns) and activity catalogues (a header with ``canonical_unit``
        and no ``value``), as docs/file-formats.md gives them.
    meter_hourly, delivery_hourly, grid_cfe_hourly, pv_hourly
        ``site, hour_start, energy_mwh``; ``instrument_id, hour_start, energy_mwh``; ``region,
        hour_start, cfe_share``; ``pv_system, hour_start, energy_mwh``.
    prices
        The project's procurement prices: ``parameter, region, year, value, unit, status,
        source, note``.
    """

    activities: Mapping[str, pd.DataFrame | Path] = field(default_factory=dict)
    instruments: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    factors: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    meter_hourly: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    delivery_hourly: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    grid_cfe_hourly: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    pv_hourly: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    prices: Mapping[str, pd.DataFrame] = field(default_factory=dict)


# The kinds of InputTables, each with the Project attribute of its files.
TABLE_KINDS: dict[str, str] = {
    "activities": "activity_files",
    "instruments": "instrument_files",
    "factors": "factor_files",
    "meter_hourly": "meter_files",
    "delivery_hourly": "delivery_files",
    "grid_cfe_hourly": "grid_cfe_files",
    "pv_hourly": "pv_files",
    "prices": "price_files",
}
# The columns of each kind whose numbers and dates the checks take as they are (as they take
# a Parquet file's): converting a large table's numbers to text and back would only cost time.
TYPED_COLUMNS: dict[str, tuple[str, ...]] = {
    "activities": ("quantity", "period_start", "period_end"),
    "meter_hourly": ("hour_start", "energy_mwh"),
    "delivery_hourly": ("hour_start", "energy_mwh"),
    "grid_cfe_hourly": ("hour_start", "cfe_share"),
    "pv_hourly": ("hour_start", "energy_mwh"),
}
# Where each row of a table is in its file; never a column of an input file.
_PLACE_COLUMNS = ("source_line", "source_sheet")


@dataclass(frozen=True)
class ProjectInputs:
    """Everything a project's inputs hold, checked: read from its files (:func:`load_inputs`)
    or given as tables (:func:`check_input_tables`).

    Attributes
    ----------
    library
        The factor library with the project's overrides.
    activities
        The checked activity rows, kept on the engine where the checks ran
        (:class:`tanlu.ingest.activity_store.ActivityStore`; ``activities.frame()`` brings them
        to pandas as :data:`tanlu.ingest.CANONICAL_COLUMNS`).
    unit_conversions
        ``activity, unit, canonical_unit, multiplier`` for every pair in the data.
    instruments
        Contractual instruments for market-based scope 2.
    rows_read
        Activity rows read from all files (tables).
    meter_hourly, delivery_hourly, grid_cfe_hourly, pv_hourly
        Hourly series (:mod:`tanlu.ingest.hourly`): metered site load and contract deliveries
        [MWh], the grid's carbon-free share by region [0..1] (series named by canonical
        region: ``China``, a province or a regional grid) and PV systems' generation [MWh],
        ``series, hour_start, value, source_line``.
    prices
        The project's own procurement prices (:mod:`tanlu.ingest.prices`), checked: ``parameter,
        region, year, value, unit, status, source, note, origin``; empty when it has none.
        :func:`tanlu.electricity.prices.procurement_prices` lays them over the bundled ones.
    """

    library: FactorLibrary
    activities: ActivityStore
    unit_conversions: pd.DataFrame
    instruments: pd.DataFrame
    rows_read: int
    meter_hourly: pd.DataFrame = field(default_factory=empty_hourly_table)
    delivery_hourly: pd.DataFrame = field(default_factory=empty_hourly_table)
    grid_cfe_hourly: pd.DataFrame = field(default_factory=empty_hourly_table)
    pv_hourly: pd.DataFrame = field(default_factory=empty_hourly_table)
    prices: pd.DataFrame = field(default_factory=empty_price_table)


def engine_temp_directory(project: Project) -> Path | None:
    """``[engine] temp_directory`` as a path (a relative one from the project's folder)."""
    folder = project.config.engine.temp_directory
    if folder is None:
        return None
    path = Path(folder).expanduser()
    if not path.is_absolute() and project.root is not None:
        path = project.root / path
    return path


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


def _with_project_settings(project: Project, library: FactorLibrary) -> FactorLibrary:
    """The library with the project's Chinese fuel table and exchange rates."""
    library = library.with_cn_fuel_table(project.config.accounting.cn_fuel_parameter_table.value)
    try:
        return library.with_exchange_rates(dict(project.config.accounting.cny_per_usd))
    except FactorError as error:
        raise InputError(
            [InputIssue(project.config_file, None, "accounting.cny_per_usd", str(error))]
        ) from None


def load_project_library(project: Project) -> FactorLibrary:
    """The bundled library with the project's factor files and exchange rates.

    Raises
    ------
    InputError
        Naming every bad row of the project's factor files, or a bad exchange-rate override.
    """
    library = load_factor_library(
        project.factor_files, [project.display_path(p) for p in project.factor_files]
    )
    return _with_project_settings(project, library)


def project_library_from_tables(
    project: Project, tables: Mapping[str, pd.DataFrame], in_memory: Collection[str] = ()
) -> FactorLibrary:
    """The bundled library with the project's factor tables (:attr:`InputTables.factors`, as
    text with ``source_line``; ``in_memory``: the names of tables given in memory) and its
    exchange rates.

    Raises
    ------
    InputError
        Naming every bad row of the project's factor tables, or a bad exchange-rate override.
    """
    return _with_project_settings(project, factor_library_from_tables(tables, in_memory))


def _canonical_region(name: str) -> str | None:
    resolved = resolve_region(name)
    return None if resolved is None else resolved[1]


def _sorted(issues: list[InputIssue]) -> list[InputIssue]:
    return sorted(issues, key=lambda i: (i.file, i.sheet or "", i.line or 0))


def count_project_rows(project: Project) -> int | None:
    """The activity rows of a project's files, counted cheaply (a progress bar's total);
    ``None`` when a file's count is not known in advance (a workbook)."""
    total = 0
    for path in project.activity_files:
        rows = count_activity_rows(path)
        if rows is None:
            return None
        total += rows
    return total


def _parquet_header_issues(path: Path, display: str) -> list[InputIssue]:
    """The problems of a Parquet activity file's header (or of the file, when it cannot be
    read), as :func:`activity_rows` finds them in a table read whole."""
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
    except Exception as error:  # pyarrow raises ArrowInvalid, OSError ... for a bad file
        return [InputIssue(display, None, None, f"cannot read Parquet: {error}")]
    _, issues = activity_rows(pd.DataFrame(columns=names), display)
    return issues


def _file_header_issues(path: Path, display: str) -> list[InputIssue]:
    """The problems of the header of an activity file the engine reads (Parquet or CSV)."""
    if path.suffix.lower() == ".csv":
        return csv_header_issues(path, display)
    return _parquet_header_issues(path, display)


def read_input_tables(
    project: Project, progress: Progress | None = None, engine_reads_files: bool = False
) -> tuple[InputTables, list[InputIssue]]:
    """Read a project's input files into raw tables, checking nothing but that each file can
    be read (and, for a workbook, each sheet's header).

    Each table is named as the file is in messages and carries ``source_line`` (and
    ``source_sheet``), so that :func:`check_input_tables` names lines as the file has them.

    Parameters
    ----------
    project
        A project loaded from its folder.
    progress
        Told the number of activity rows as they are read.
    engine_reads_files
        Leave a Parquet or CSV activity file for the engine to read (its path in the tables,
        its header checked here), rather than reading it into a table: DuckDB reads a Parquet
        file itself and takes a CSV file a chunk at a time
        (:func:`tanlu.ingest.activities.check_sources`).

    Returns
    -------
    tables, issues
        The tables of the files that could be read, and one issue per file (or sheet) that
        could not.
    """
    issues: list[InputIssue] = []
    activities: dict[str, pd.DataFrame | Path] = {}
    rows_read = [0]

    def counted(rows: int) -> None:
        rows_read[0] += rows
        if progress is not None:
            progress(rows)

    for path in project.activity_files:
        display = project.display_path(path)
        if engine_reads_files and path.suffix.lower() in (".parquet", ".csv"):
            header_issues = _file_header_issues(path, display)
            issues.extend(header_issues)
            if not header_issues:
                activities[display] = path
                if path.suffix.lower() == ".parquet":  # a CSV file's lines count as read
                    counted(count_activity_rows(path) or 0)
            continue
        try:
            frame, file_issues = read_activity_table(path, display, counted)
        except MemoryError:
            raise ResourceError(
                f"{display}: out of memory after reading {rows_read[0]:,} activity rows "
                f"(of all files so far); nothing was computed or written. Split the data into "
                "smaller files or run on a machine with more memory (docs/performance.md)"
            ) from None
        issues.extend(file_issues)
        if len(frame.columns) > 0:
            activities[display] = frame
    others: dict[str, dict[str, pd.DataFrame]] = {}
    for kind, attribute in TABLE_KINDS.items():
        if kind == "activities":
            continue
        others[kind] = {}
        for path in getattr(project, attribute):
            display = project.display_path(path)
            frame, file_issues = read_csv_table(path, display)
            issues.extend(file_issues)
            if not file_issues:
                others[kind][display] = frame
    return InputTables(activities=activities, **others), issues


def _as_read(
    name: str, frame: pd.DataFrame, typed: Collection[str] = ()
) -> tuple[pd.DataFrame, bool, list[InputIssue]]:
    """A table given in memory as the readers give a file's: header names trimmed and
    lower-cased, cells as text (but ``typed`` columns of numbers or dates), blank rows dropped,
    and ``source_line`` numbering the rows from 1 unless the table has it.

    Returns the table, whether its rows are numbered by row (no ``source_line`` given) and the
    problems of the table as a whole.
    """
    table = frame.reset_index(drop=True)
    table.columns = [str(c).strip().lower() for c in table.columns]
    twice = sorted({c for c in table.columns if list(table.columns).count(c) > 1})
    if twice:
        reason = f"column(s) given twice: {', '.join(twice)}"
        return pd.DataFrame(), True, [InputIssue(name, None, None, reason)]
    data_columns = [c for c in table.columns if c not in _PLACE_COLUMNS]
    out = text_cells(table[data_columns], typed)
    by_row = "source_line" not in table.columns
    if by_row:
        out["source_line"] = np.arange(1, len(out) + 1, dtype="int64")
    else:
        lines = pd.to_numeric(table["source_line"], errors="coerce")
        if lines.isna().any() or (lines % 1 != 0).any():
            reason = "source_line must be a whole number on every row (where it is in its file)"
            return pd.DataFrame(), False, [InputIssue(name, None, "source_line", reason)]
        out["source_line"] = lines.astype("int64")
    if "source_sheet" in table.columns:
        out["source_sheet"] = table["source_sheet"]
    if data_columns:
        out = drop_blank_rows(out, data_columns)
    return out, by_row, []


def _check_tables(
    project: Project,
    tables: InputTables,
    in_memory: Collection[str],
    issue_file: IssueFile | None = None,
    progress: Progress | None = None,
) -> tuple[ProjectInputs | None, list[InputIssue], PreparedActivities]:
    """The checks of :func:`check_input_tables` on tables as the readers give them (text, with
    ``source_line``): the inputs (None when there is a problem), the problems other than the
    activity rows', and the checked activity rows (with theirs, also streamed to
    ``issue_file``); ``progress`` is told the lines of a CSV file the engine reads."""
    issues: list[InputIssue] = []
    try:
        library = project_library_from_tables(project, tables.factors, in_memory)
    except InputError as error:
        # Report the project library's problems, and go on checking the data against the
        # bundled library so that every problem is reported in one pass.
        issues.extend(error.issues)
        library = load_factor_library()
    sources: list[tuple[ActivitySource, pd.DataFrame | Path]] = []
    for name, table in tables.activities.items():
        if isinstance(table, Path):
            header_issues = _file_header_issues(table, name)
            issues.extend(header_issues)
            if not header_issues:
                sources.append((ActivitySource(name), table))
            continue
        rows, table_issues = activity_rows(
            table, name, header_line=None if name in in_memory else 1
        )
        issues.extend(table_issues)
        if not rows.empty:
            sources.extend(raw_sources(rows, in_memory))
    site_ids = set(project.sites["site"])
    settings = project.config.engine
    prepared: PreparedActivities = check_sources(
        sources,
        library,
        project.sites["site"],
        project_years(project),
        settings.backend.value,
        settings.spark_master,
        issue_file,
        memory_limit_gib=settings.memory_limit_gib,
        temp_directory=engine_temp_directory(project),
        progress=progress,
    )
    issues.extend(prepared.file_issues)
    instruments, instrument_issues = check_instrument_tables(
        tables.instruments, site_ids, in_memory
    )
    issues.extend(instrument_issues)
    if project.config.accounting.derive_fuel_upstream and prepared.store is not None:
        entered, unlisted = _entered_upstream_issues(prepared.store, library, in_memory, issue_file)
        issues.extend(entered)
        if unlisted:
            prepared.unlisted["activity"] = prepared.unlisted.get("activity", 0) + unlisted
    meter_hourly, meter_issues = check_hourly_tables(
        tables.meter_hourly, "meter", site_ids, in_memory=in_memory
    )
    issues.extend(meter_issues)
    grid_hourly, grid_issues = check_hourly_tables(
        tables.grid_cfe_hourly, "grid", canonical=_canonical_region, in_memory=in_memory
    )
    issues.extend(grid_issues)
    pv_hourly, pv_issues = check_hourly_tables(
        tables.pv_hourly,
        "pv",
        {system.id for system in project.config.pv_systems},
        in_memory=in_memory,
    )
    issues.extend(pv_issues)
    delivery_hourly, delivery_issues = check_hourly_tables(
        tables.delivery_hourly,
        "delivery",
        set(instruments["instrument_id"]) if not instruments.empty else set(),
        in_memory=in_memory,
    )
    issues.extend(delivery_issues)
    prices, price_issues = check_price_tables(tables.prices, in_memory)
    issues.extend(price_issues)
    if issues or prepared.issues:
        return None, issues, prepared
    assert prepared.store is not None  # no activity row is bad
    inputs = ProjectInputs(
        library,
        prepared.store,
        prepared.unit_conversions,
        instruments,
        prepared.rows_read,
        meter_hourly,
        delivery_hourly,
        grid_hourly,
        pv_hourly,
        prices,
    )
    return inputs, [], prepared


def _entered_upstream_issues(
    store: ActivityStore,
    library: FactorLibrary,
    in_memory: Collection[str],
    issue_file: IssueFile | None,
) -> tuple[list[InputIssue], int]:
    """Rows that enter an activity tanlu derives from scope 1 fuel rows, found on the engine:
    the first :data:`LISTED_PER_KIND` as issues, and how many more there are (those streamed
    to ``issue_file`` when given)."""
    derived = sorted(set(library.activities["upstream_activity"]) - {""})
    if not derived:
        return [], 0
    table = store.table
    entered = (
        table.filter(table.activity.isin(derived))
        .select("row_id", "source_id", "source_line", "activity")
        .order_by("row_id")
    )

    def issues_of(rows: pd.DataFrame) -> list[InputIssue]:
        found = []
        for source_id, line, activity in zip(
            rows["source_id"], rows["source_line"], rows["activity"], strict=True
        ):
            file, sheet = store.sources[int(source_id)]
            found.append(
                InputIssue(
                    file,
                    int(line),
                    "activity",
                    f"'{activity}' is derived from scope 1 fuel rows; entering it too would "
                    "count it twice (set accounting.derive_fuel_upstream = false to enter it "
                    "yourself)",
                    sheet,
                    by_row=file in in_memory,
                )
            )
        return found

    listed = issues_of(engine.to_pandas(entered.limit(LISTED_PER_KIND)))
    if len(listed) < LISTED_PER_KIND:
        return listed, 0
    unlisted = int(entered.count().to_pyarrow().as_py()) - len(listed)
    if issue_file is not None and unlisted:
        for batch in engine.to_batches(entered.limit(None, offset=LISTED_PER_KIND)):
            issue_file.write(issue_frame(issues_of(batch)))
    return listed, unlisted


@contextmanager
def _discarded_on_failure(issue_file: IssueFile | None) -> Iterator[None]:
    """Remove an errors file being written when the checks fail for another reason (memory,
    disk, an engine error): nothing half-written is left."""
    try:
        yield
    except BaseException:
        if issue_file is not None:
            issue_file.discard()
        raise


def _raise_issues(
    issues: list[InputIssue], prepared: PreparedActivities, issue_file: IssueFile | None
) -> None:
    """Raise :class:`InputError` with every problem (the activity rows' listed, the rest
    counted) after finishing ``issue_file`` with the problems of other files; or discard it
    when there is none."""
    if not issues and not prepared.issues:
        if issue_file is not None:
            issue_file.discard()
        return
    if issue_file is not None:
        issue_file.write(issue_frame(_sorted(issues)))
        issue_file.close()
    raise InputError(_sorted([*issues, *prepared.issues]), prepared.unlisted)


def check_input_tables(
    project: Project,
    tables: InputTables,
    progress: Progress | None = None,
    errors_out: Path | None = None,
) -> ProjectInputs:
    """Check a project's input tables, given in memory, into the bundle every later step takes.

    The same checks as :func:`load_inputs` runs on a project's files: each bad row is named by
    its table, row ("row N", the first record is row 1), column and reason, and nothing is
    computed from a project with any bad row.

    Parameters
    ----------
    project
        The project (:func:`tanlu.project.project_from_config`, or one loaded from a folder).
    tables
        The raw tables (:class:`InputTables`); at least one activity table.
    progress
        Told the number of rows of each activity table as it is checked.
    errors_out
        A CSV or Parquet file to write every problem to (:class:`IssueFile`), when there are
        any: the activity rows' in file and line order, then the other tables'.

    Raises
    ------
    InputError
        Listing the problems of every table (the first :data:`LISTED_PER_KIND` of each kind
        of the activity rows', with the count of the rest).

    Examples
    --------
    >>> project = project_from_config(toml_text)  # doctest: +SKIP
    >>> tables = InputTables(activities={"energy": pd.DataFrame(rows)})  # doctest: +SKIP
    >>> inputs = check_input_tables(project, tables)  # doctest: +SKIP
    """
    issues: list[InputIssue] = []
    in_memory: set[str] = set()
    read: dict[str, dict[str, Any]] = {}
    for kind in TABLE_KINDS:
        read[kind] = {}
        typed = TYPED_COLUMNS.get(kind, ())
        for name, frame in getattr(tables, kind).items():
            if isinstance(frame, Path):  # a Parquet or CSV file the engine reads
                read[kind][name] = frame
                continue
            table, by_row, table_issues = _as_read(name, frame, typed)
            issues.extend(table_issues)
            if by_row:
                in_memory.add(name)
            if not table_issues:
                read[kind][name] = table
            if kind == "activities" and progress is not None:
                progress(len(frame))
    if not tables.activities:
        issues.append(
            InputIssue(project.config_file, None, None, "no activity table is given (activities)")
        )
    issue_file = IssueFile(errors_out) if errors_out is not None else None
    with _discarded_on_failure(issue_file):
        inputs, check_issues, prepared = _check_tables(
            project, InputTables(**read), in_memory, issue_file
        )
    _raise_issues([*issues, *check_issues], prepared, issue_file)
    assert inputs is not None  # no problem was found
    return inputs


def load_inputs(
    project: Project, progress: Progress | None = None, errors_out: Path | None = None
) -> ProjectInputs:
    """Read and check all of a project's input files: :func:`read_input_tables`, then the
    checks of :func:`check_input_tables` (``errors_out``: where every problem is written,
    as there).

    Raises
    ------
    InputError
        Listing every bad row of every file (nothing is computed from a project with bad rows),
        or saying that a project made in memory has no files to read.
    """
    if project.root is None:
        raise InputError(
            [
                InputIssue(
                    project.config_file,
                    None,
                    None,
                    "a project made from its configuration has no folder to read files from: "
                    "give its inputs as tables (tanlu.ingest.check_input_tables)",
                )
            ]
        )
    engine_reads_files = project.config.engine.backend.value == "duckdb"
    tables, issues = read_input_tables(project, progress, engine_reads_files)
    if not project.activity_files:
        issues.append(
            InputIssue(
                project.config_file,
                None,
                "data.activities",
                "no activity files match the configured patterns",
            )
        )
    issue_file = IssueFile(errors_out) if errors_out is not None else None
    with _discarded_on_failure(issue_file):
        inputs, check_issues, prepared = _check_tables(project, tables, (), issue_file, progress)
    _raise_issues([*issues, *check_issues], prepared, issue_file)
    assert inputs is not None  # no problem was found
    return inputs

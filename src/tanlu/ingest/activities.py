"""Raw activity rows -> the canonical activity table, with every bad row reported.

Checks, in order, each reported with file, line, column and reason: unknown site, activity or
unit; a unit of the wrong dimension; a quantity that is missing, not a number or negative; dates
that do not parse or end before they start; a period outside every project year; duplicate rows;
overlapping periods for the same site, activity and meter (double counting, checked for scope 1
and scope 2 activities, whose rows are meter or invoice periods rather than transactions).

The checks run on the engine (:mod:`tanlu.ingest.activity_checks`); this module puts raw tables
read by :mod:`tanlu.ingest.readers` (or given in memory) into the engine's normal form.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tanlu import engine
from tanlu.engine import duckdb as duckdb_engine
from tanlu.errors import InputError, InputIssue, ResourceError
from tanlu.factors.library import FactorLibrary
from tanlu.ingest.activity_checks import (
    LISTED_PER_KIND,
    NORMAL_COLUMNS,
    POSITION_BASE,
    ActivitySource,
    IssueFile,
    PreparedActivities,
    check_activities,
    unit_conversion_table,
)
from tanlu.ingest.activity_store import (
    CANONICAL_COLUMNS,
    ActivityStore,
    empty_activities,
    unique_name,
)
from tanlu.ingest.readers import (
    CSV_CHUNK_ROWS,
    RAW_COLUMNS,
    csv_activity_chunks,
    read_activity_file,
)
from tanlu.tables import Progress, cell_text

# Lines of a CSV activity file read at a time when it goes into DuckDB (_streamed_csv): one
# chunk is all of the file that Python holds.
CSV_STREAM_ROWS = CSV_CHUNK_ROWS
_TEXT_COLUMNS = ("site", "activity", "unit", "meter", "category", "source_document", "note")
_DATE_COLUMNS = ("period_start", "period_end")


def _text_array(values: pd.Series) -> pa.Array:
    """A column of cells as Arrow text (missing stays missing)."""
    if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        values = values.astype(object).map(cell_text)
    return pa.array(values, type=pa.string(), from_pandas=True)


def _is_typed_number(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _day_array(values: pd.Series) -> pa.Array:
    """Typed moments as the day they are (a moment with a UTC offset: its day in China)."""
    if values.dt.tz is not None:
        values = values.dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
    days = values.dt.normalize().astype("datetime64[ns]")
    return pa.array(days, from_pandas=True).cast(pa.date32())


def normal_form(frame: pd.DataFrame, source_id: int, first: int = 0) -> pa.Table:
    """One source's raw rows (:data:`tanlu.ingest.readers.RAW_COLUMNS` and ``source_line``) in
    the engine's normal form (:data:`tanlu.ingest.activity_checks.NORMAL_COLUMNS`): typed
    quantities and dates kept, everything else as text. ``first``: how many rows of the
    source came before (a source read in chunks)."""
    n = len(frame)
    columns: dict[str, pa.Array] = {
        "position": pa.array(
            np.arange(first, first + n, dtype="int64") + np.int64(source_id) * POSITION_BASE,
            pa.int64(),
        ),
        "source_id": pa.array(np.full(n, source_id, dtype="int64"), pa.int64()),
        "source_line": pa.array(frame["source_line"].to_numpy(dtype="int64"), pa.int64()),
    }
    for column in _TEXT_COLUMNS:
        columns[column] = _text_array(frame[column])
    quantity = frame["quantity"]
    if _is_typed_number(quantity):
        columns["quantity_number"] = pa.array(quantity.astype("float64"), from_pandas=True)
        columns["quantity_text"] = pa.nulls(n, pa.string())
    else:
        columns["quantity_number"] = pa.nulls(n, pa.float64())
        columns["quantity_text"] = _text_array(quantity)
    for column in _DATE_COLUMNS:
        values = frame[column]
        if pd.api.types.is_datetime64_any_dtype(values):
            columns[f"{column}_date"] = _day_array(values)
            columns[f"{column}_text"] = pa.nulls(n, pa.string())
        else:
            columns[f"{column}_date"] = pa.nulls(n, pa.date32())
            columns[f"{column}_text"] = _text_array(values)
    return pa.table({name: columns[name] for name in NORMAL_COLUMNS})


def parquet_normal_form(con: Any, path: Path, source_id: int) -> ir.Table | None:
    """A Parquet activity file read by the engine itself, in normal form (DuckDB only: its
    reader numbers the rows); ``None`` when the file needs the Python reader (a moment with a
    UTC offset, whose day in China pandas works out)."""
    table = con.read_parquet(path, table_name=f"activity_file_{source_id}", file_row_number=True)
    names = {str(c).strip().lower(): c for c in table.columns if c != "file_row_number"}
    schema = table.schema()

    def text(name: str) -> ir.StringValue:
        if name not in names:
            return ibis.null("string")
        return table[names[name]].cast("string")

    columns: dict[str, Any] = {
        "position": (table.file_row_number + source_id * POSITION_BASE).cast("int64"),
        "source_id": ibis.literal(source_id, "int64"),
        "source_line": (table.file_row_number + 1).cast("int64"),
    }
    for column in _TEXT_COLUMNS:
        columns[column] = text(column)
    quantity_type = schema[names["quantity"]]
    if quantity_type.is_numeric() and not quantity_type.is_boolean():
        columns["quantity_number"] = table[names["quantity"]].cast("float64")
        columns["quantity_text"] = ibis.null("string")
    else:
        columns["quantity_number"] = ibis.null("float64")
        columns["quantity_text"] = text("quantity")
    for column in _DATE_COLUMNS:
        kind = schema[names[column]]
        if kind.is_timestamp() and kind.timezone is not None:
            return None
        if kind.is_date() or kind.is_timestamp():
            columns[f"{column}_date"] = table[names[column]].cast("date")
            columns[f"{column}_text"] = ibis.null("string")
        else:
            columns[f"{column}_date"] = ibis.null("date")
            columns[f"{column}_text"] = text(column)
    return table.select(**{name: columns[name] for name in NORMAL_COLUMNS})


def _streamed_csv(
    con: Any,
    path: Path,
    display: str,
    source_id: int,
    name: str,
    progress: Progress | None,
    read_before: int = 0,
) -> tuple[ir.Table, int]:
    """A CSV activity file put into the table ``name`` on DuckDB a chunk at a time
    (:func:`tanlu.ingest.readers.csv_activity_chunks`), in normal form, so that its rows are
    never all in Python's memory; with the number of its rows (blank ones dropped).

    Raises
    ------
    InputError
        When the file cannot be read (the table is dropped).
    ResourceError
        When memory runs out: naming the file and the rows read (``read_before`` of the files
        before it, and its own).
    """
    rows = 0
    lines = [0]

    def counted(read: int) -> None:
        lines[0] += read
        if progress is not None:
            progress(read)

    table: ir.Table | None = None
    chunks = csv_activity_chunks(path, display, counted, CSV_STREAM_ROWS)
    try:
        for chunk in chunks:
            arrow = normal_form(chunk, source_id, first=rows)
            if table is None:
                table = engine.to_table(con, arrow, name)
            else:
                duckdb_engine.append(con, arrow, name)
            rows += len(chunk)
    except InputError:
        con.drop_table(name, force=True)
        raise
    except MemoryError:
        raise ResourceError(
            f"{display}: out of memory after reading {read_before + lines[0]:,} activity rows "
            "(of all files so far); nothing was computed or written. Split the data into "
            "smaller files or run on a machine with more memory (docs/performance.md)"
        ) from None
    except duckdb.OutOfMemoryException as error:
        raise ResourceError(
            f"{display}: DuckDB ran out of memory after reading {read_before + lines[0]:,} "
            f"activity rows (of all files so far): {error}; nothing was computed or written. "
            "Set [engine] memory_limit_gib below the machine's free memory and temp_directory "
            "on a disk with room, so that DuckDB spills to disk (docs/engines.md)"
        ) from None
    finally:
        chunks.close()  # the file closes now, not when the generator is collected
    assert table is not None  # a readable file gives at least its header's empty chunk
    return table, rows


def _python_read(path: Path, display: str) -> pd.DataFrame:
    """A Parquet activity file the engine does not read itself, through the Python reader
    (:func:`tanlu.ingest.readers.read_activity_file`; its header was checked already)."""
    rows, issues = read_activity_file(path, display)
    if issues:
        raise InputError(issues)
    return rows


def _no_rows() -> pd.DataFrame:
    """Raw rows of no file (the engine still needs a typed table to check)."""
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in RAW_COLUMNS})
    frame["source_line"] = pd.Series(dtype="int64")
    return frame


def raw_sources(
    raw: pd.DataFrame, in_memory: Collection[str] = ()
) -> list[tuple[ActivitySource, pd.DataFrame]]:
    """Raw rows split into their sources (file, or file and sheet), in order of appearance."""
    if raw.empty:
        return []
    files = raw["source_file"].astype(str)
    sheets = raw["source_sheet"].astype(object).where(raw["source_sheet"].notna(), "")
    if files.nunique() == 1 and (sheets == "").all():
        file = str(files.iloc[0])
        return [(ActivitySource(file, None, file in in_memory), raw)]
    groups = raw.groupby([files, sheets], sort=False).indices
    return [
        (
            ActivitySource(str(file), str(sheet) or None, str(file) in in_memory),
            raw.iloc[np.sort(indices)],
        )
        for (file, sheet), indices in groups.items()
    ]


def check_sources(
    sources: Sequence[tuple[ActivitySource, pd.DataFrame | Path]],
    library: FactorLibrary,
    site_ids: Iterable[str],
    project_years: Iterable[int],
    backend: str = engine.DEFAULT_BACKEND,
    master: str | None = None,
    issue_file: IssueFile | None = None,
    listed_per_kind: int = LISTED_PER_KIND,
    memory_limit_gib: float | None = None,
    temp_directory: Path | None = None,
    progress: Progress | None = None,
) -> PreparedActivities:
    """Check raw activity tables on the engine (:func:`check_activities`).

    Each source is a raw table (from a reader, or given in memory) or the path of a Parquet or
    CSV file. On DuckDB the engine reads a Parquet file itself (:func:`parquet_normal_form`),
    and a CSV file goes into it a chunk at a time (``progress`` told the lines of each), so
    that no file's rows are all in Python's memory; on Spark a file is read whole. A file that
    cannot be read is one problem in ``file_issues`` and its rows are not checked. The good rows
    stay on the engine connection, in the returned store (``memory_limit_gib``,
    ``temp_directory``: DuckDB's, :func:`tanlu.engine.connect`).
    """
    if not sources:
        return PreparedActivities(
            ActivityStore.from_frame(empty_activities(), backend, master),
            unit_conversion_table({}, library),
            [],
            0,
        )
    con = engine.connect(backend, master, memory_limit_gib, temp_directory)
    prefix = unique_name("activity")
    prepared: PreparedActivities | None = None
    try:
        parts: list[ir.Table] = []
        frames: list[pa.Table] = []
        # rows of each source as they reach the engine (the row ids count them): the readers
        # drop blank rows, a Parquet file DuckDB reads itself keeps them
        sizes: list[int] = []
        file_issues: list[InputIssue] = []
        for index, (described, source) in enumerate(sources):
            engine_reads = isinstance(source, Path) and backend == "duckdb"
            if engine_reads and source.suffix.lower() == ".csv":
                try:
                    table, rows = _streamed_csv(
                        con,
                        source,
                        described.file,
                        index,
                        f"{prefix}_csv_{index}",
                        progress,
                        sum(sizes),
                    )
                except InputError as error:
                    file_issues.extend(error.issues)
                    sizes.append(0)
                    continue
                parts.append(table)
                sizes.append(rows)
                continue
            read = parquet_normal_form(con, source, index) if engine_reads else None
            if read is not None:
                parts.append(read)
                sizes.append(pq.ParquetFile(source).metadata.num_rows)
                continue
            if isinstance(source, Path):
                frames.append(normal_form(_python_read(source, sources[index][0].file), index))
            else:
                frames.append(normal_form(source, index))
            sizes.append(frames[-1].num_rows)
        if frames:
            parts.append(engine.to_table(con, pa.concat_tables(frames), f"{prefix}_rows"))
        del frames
        if not parts:  # no file could be read
            parts.append(engine.to_table(con, normal_form(_no_rows(), 0), f"{prefix}_rows"))
        rows = parts[0] if len(parts) == 1 else ibis.union(*parts)
        prepared = check_activities(
            con,
            rows,
            [source for source, _ in sources],
            library,
            site_ids,
            project_years,
            listed_per_kind=listed_per_kind,
            issue_file=issue_file,
            prefix=prefix,
            source_rows=sizes,
        )
        if file_issues:
            prepared = replace(prepared, file_issues=file_issues)
        return prepared
    finally:
        # the good rows stay on the connection, owned by their store; otherwise it ends here
        if prepared is None or prepared.store is None:
            engine.close(con)


def prepare_activities(
    raw: pd.DataFrame,
    library: FactorLibrary,
    site_ids: Iterable[str],
    project_years: Iterable[int],
    in_memory: Collection[str] = (),
    backend: str = engine.DEFAULT_BACKEND,
    master: str | None = None,
) -> PreparedActivities:
    """Check raw activity rows and convert quantities to canonical units.

    Parameters
    ----------
    raw
        Rows from :mod:`tanlu.ingest.readers` (strings, with ``source_file`` and ``source_line``).
    library
        The factor library (activity catalogue, unit properties).
    site_ids
        The sites of the project.
    project_years
        Base year and reporting years; a row whose period touches none of them is an error.
    in_memory
        The ``source_file`` names that are tables given in memory: their rows are numbered
        from 1 and named "row N" (:attr:`tanlu.errors.InputIssue.by_row`).
    backend, master
        The engine the checks run on (:func:`tanlu.engine.connect`).
    """
    return check_sources(
        raw_sources(raw, in_memory), library, site_ids, project_years, backend, master
    )


__all__ = [
    "CANONICAL_COLUMNS",
    "PreparedActivities",
    "check_sources",
    "normal_form",
    "prepare_activities",
    "raw_sources",
]

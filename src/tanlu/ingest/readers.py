"""One reader per format -> the raw activity table (strings, with file and line of every row).

Reading a file gives its raw table (:func:`read_activity_table`: its own columns and where each
row is); :func:`activity_rows` checks the header of such a table, read from a file or given in
memory, and names its rows. Neither judges content; :mod:`tanlu.ingest.activities` does. A file
that cannot be read at all, or lacks a required column, is an :class:`~tanlu.errors.InputIssue`
for the whole file.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import pandas as pd

from tanlu.errors import InputError, InputIssue
from tanlu.tables import CSV_OPTIONS, Progress, drop_blank_rows, read_csv_frame

REQUIRED_COLUMNS: tuple[str, ...] = (
    "site",
    "period_start",
    "period_end",
    "activity",
    "quantity",
    "unit",
)
OPTIONAL_COLUMNS: tuple[str, ...] = ("meter", "category", "source_document", "note")
RAW_COLUMNS: tuple[str, ...] = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
CSV_CHUNK_ROWS = 1_000_000
# Where a row came from: added by the readers (``source_line``, ``source_sheet``) or by
# :func:`activity_rows` (``source_file``); never an activity file's own column.
SOURCE_COLUMNS: tuple[str, ...] = ("source_file", "source_sheet", "source_line")


def activity_rows(
    table: pd.DataFrame, display: str, sheet: str | None = None, header_line: int | None = 1
) -> tuple[pd.DataFrame, list[InputIssue]]:
    """A raw activity table (a file's, a sheet's or one given in memory) as the rows
    :func:`tanlu.ingest.prepare_activities` checks: :data:`RAW_COLUMNS` with ``source_file``,
    ``source_sheet`` and ``source_line``.

    Parameters
    ----------
    table
        The columns of an activity file (header names in any case), and ``source_line`` (where
        each row is: a file's line, a sheet's or a Parquet file's row); ``source_sheet`` too
        when it holds several sheets.
    display
        The file's or table's name in messages.
    sheet
        The sheet ``table`` was read from, when it is one sheet of a workbook.
    header_line
        Where a problem with the header is shown: line (row) 1 of a file, ``None`` for a table
        given in memory (its header is no row).

    Returns
    -------
    rows, issues
        No rows and one issue naming the whole table when a required column is missing or a
        column is unknown; otherwise every row, blank rows dropped (they keep their numbers).
    """
    frame = table.copy(deep=False)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        return pd.DataFrame(), [
            InputIssue(
                display,
                header_line,
                None,
                f"missing required column(s): {', '.join(missing)}",
                sheet,
            )
        ]
    unknown = [
        c
        for c in frame.columns
        if c not in RAW_COLUMNS and c not in SOURCE_COLUMNS and not c.startswith("unnamed")
    ]
    if unknown:
        return pd.DataFrame(), [
            InputIssue(
                display, header_line, None, f"unknown column(s): {', '.join(unknown)}", sheet
            )
        ]
    for column in OPTIONAL_COLUMNS:
        if column not in frame.columns:
            frame[column] = pd.NA
    out = frame[list(RAW_COLUMNS)].copy()
    out["source_file"] = display
    out["source_sheet"] = frame["source_sheet"] if "source_sheet" in frame.columns else sheet
    out["source_line"] = (
        frame["source_line"].to_numpy()
        if "source_line" in frame.columns
        else range(1, len(frame) + 1)
    )
    # Blank lines and empty sheet rows are skipped, but counted in the numbering.
    return drop_blank_rows(out, list(RAW_COLUMNS)), []


def _numbered(frame: pd.DataFrame, first_line: int) -> pd.DataFrame:
    frame["source_line"] = range(first_line, first_line + len(frame))
    return frame


def _read_csv(
    path: Path, display: str, progress: Progress | None = None
) -> tuple[pd.DataFrame, list[InputIssue]]:
    """A CSV file's rows (UTF-8, header on line 1; data from line 2)."""
    frame, issues = read_csv_frame(path, display, CSV_CHUNK_ROWS, progress)
    return (frame, issues) if issues else (_numbered(frame, 2), [])


def _csv_problem(display: str, error: Exception) -> InputIssue:
    """The one issue of a CSV file that cannot be read (as :func:`read_csv_frame` names it)."""
    if isinstance(error, UnicodeDecodeError):
        return InputIssue(display, None, None, "not UTF-8 text")
    if isinstance(error, pd.errors.EmptyDataError):
        return InputIssue(display, None, None, "the file is empty")
    return InputIssue(display, None, None, f"not valid CSV: {error}")


def csv_header_issues(path: Path, display: str) -> list[InputIssue]:
    """The problems of a CSV activity file's header (or of the file, when its first line
    cannot be read), as :func:`activity_rows` finds them in a file read whole."""
    try:
        names = pd.read_csv(path, nrows=0, **CSV_OPTIONS).columns
    except (UnicodeDecodeError, pd.errors.EmptyDataError, pd.errors.ParserError) as error:
        return [_csv_problem(display, error)]
    _, issues = activity_rows(pd.DataFrame(columns=list(names)), display)
    return issues


def csv_activity_chunks(
    path: Path, display: str, progress: Progress | None = None, chunk_rows: int = CSV_CHUNK_ROWS
) -> Generator[pd.DataFrame, None, None]:
    """The rows of a CSV activity file, ``chunk_rows`` lines at a time, each chunk as
    :func:`read_activity_file` gives the whole file (lines numbered as in the file, blank ones
    dropped): a file of any size is read holding one chunk.

    Raises
    ------
    InputError
        With the one issue naming the file, when it cannot be read (at whatever line) or its
        header is bad (:func:`csv_header_issues` finds that before any row is read).
    """
    first_line = 2
    try:
        # closed with the generator, when its reader stops early too
        with pd.read_csv(path, chunksize=chunk_rows, **CSV_OPTIONS) as reader:
            for chunk in reader:
                if progress is not None:
                    progress(len(chunk))
                rows, issues = activity_rows(_numbered(chunk, first_line), display)
                if issues:
                    raise InputError(issues)
                first_line += len(chunk)
                yield rows
    except (UnicodeDecodeError, pd.errors.EmptyDataError, pd.errors.ParserError) as error:
        raise InputError([_csv_problem(display, error)]) from None


def _read_workbook(
    path: Path, display: str, progress: Progress | None = None
) -> tuple[pd.DataFrame, list[InputIssue]]:
    """Every sheet of an XLSX workbook whose first row is the activity header, one after the
    other with ``source_sheet``; a sheet whose header is bad is an issue naming it."""
    try:
        sheets = pd.read_excel(
            path,
            sheet_name=None,
            dtype=str,
            engine="openpyxl",
            keep_default_na=False,
            na_values=[""],
        )
    except Exception as error:  # openpyxl raises many kinds for a corrupt workbook
        return pd.DataFrame(), [InputIssue(display, None, None, f"cannot read workbook: {error}")]
    frames: list[pd.DataFrame] = []
    issues: list[InputIssue] = []
    for name, sheet in sheets.items():
        if sheet.empty and len(sheet.columns) == 0:
            continue
        # each sheet's header is checked on its own: sheets may order their columns differently
        frame, sheet_issues = activity_rows(_numbered(sheet, 2), display, sheet=str(name))
        issues.extend(sheet_issues)
        if not sheet_issues:
            frames.append(frame.drop(columns="source_file"))
        if progress is not None:
            progress(len(sheet))
    return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()), issues


def _read_parquet(
    path: Path, display: str, progress: Progress | None = None
) -> tuple[pd.DataFrame, list[InputIssue]]:
    """A Parquet file's rows, numbered from 1 ("row N"); quantities and dates keep their types."""
    try:
        frame = pd.read_parquet(path)
    except Exception as error:  # pyarrow raises ArrowInvalid, OSError ... for a bad file
        return pd.DataFrame(), [InputIssue(display, None, None, f"cannot read Parquet: {error}")]
    for column in frame.columns:
        if column not in ("quantity", "period_start", "period_end"):
            frame[column] = frame[column].astype("string")
    if progress is not None:
        progress(len(frame))
    return _numbered(frame, 1), []


def count_activity_rows(path: Path) -> int | None:
    """How many data rows an activity file holds, cheaply, for a progress bar's total: a
    Parquet file's metadata; a CSV file's line breaks (less the header; blank lines count);
    ``None`` for a workbook or a file that cannot be read."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return int(pq.ParquetFile(path).metadata.num_rows)
        if suffix == ".csv":
            lines, last = 0, b"\n"
            with path.open("rb") as handle:
                while chunk := handle.read(1 << 24):
                    lines += chunk.count(b"\n")
                    last = chunk[-1:]
            return max(lines + (last != b"\n") - 1, 0)
    except (OSError, ValueError):  # the reader itself reports an unreadable file
        return None
    return None


RAW_READERS = {
    ".csv": _read_csv,
    ".xlsx": _read_workbook,
    ".parquet": _read_parquet,
}


def read_activity_table(
    path: Path, display: str, progress: Progress | None = None
) -> tuple[pd.DataFrame, list[InputIssue]]:
    """Read an activity file of any supported format (by extension) as a raw table: its own
    columns, ``source_line`` and, for a workbook, ``source_sheet`` (:func:`activity_rows` checks
    it). A file that cannot be read is one issue naming it; a sheet whose header is bad is one
    issue naming the sheet, and the other sheets are read."""
    reader = RAW_READERS.get(path.suffix.lower())
    if reader is None:
        return pd.DataFrame(), [
            InputIssue(display, None, None, f"unsupported file type '{path.suffix}'")
        ]
    return reader(path, display, progress)


def _rows_of(
    read: tuple[pd.DataFrame, list[InputIssue]], display: str
) -> tuple[pd.DataFrame, list[InputIssue]]:
    frame, issues = read
    if frame.empty and len(frame.columns) == 0:
        return pd.DataFrame(), issues
    rows, header_issues = activity_rows(frame, display)
    return rows, [*issues, *header_issues]


def read_activity_parquet(
    path: Path, display: str, progress: Progress | None = None
) -> tuple[pd.DataFrame, list[InputIssue]]:
    """Read a Parquet activity file; rows are numbered from 1 ("row N")."""
    return _rows_of(_read_parquet(path, display, progress), display)


def read_activity_file(
    path: Path, display: str, progress: Progress | None = None
) -> tuple[pd.DataFrame, list[InputIssue]]:
    """Read an activity file of any supported format (by extension) into the rows
    :func:`tanlu.ingest.prepare_activities` checks (:func:`read_activity_table`, then
    :func:`activity_rows`)."""
    return _rows_of(read_activity_table(path, display, progress), display)

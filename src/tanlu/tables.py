"""Reading small CSV tables (factor overrides, instruments) with true line numbers, and tables
given in memory made to look as the CSV readers read a file."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tanlu.errors import InputIssue

Progress = Callable[[int], None]

# How every CSV input is read: all cells as text, only empty cells missing, blank lines kept (and
# dropped after numbering, so line numbers match the file), a UTF-8 BOM allowed.
CSV_OPTIONS: dict[str, Any] = {
    "dtype": str,
    "keep_default_na": False,
    "na_values": [""],
    "skip_blank_lines": False,
    "skipinitialspace": True,
    "encoding": "utf-8-sig",
}


def drop_blank_rows(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Rows whose ``columns`` are all empty removed (their line numbers stay as they were)."""
    blank = frame[columns].isna().all(axis=1)
    return frame.loc[~blank].reset_index(drop=True)


def read_csv_frame(
    path: Path, display: str, chunksize: int | None = None, progress: Progress | None = None
) -> tuple[pd.DataFrame, list[InputIssue]]:
    """Read a CSV with :data:`CSV_OPTIONS`, in chunks when ``chunksize`` is given.

    A file that cannot be read is one issue naming the file; ``progress`` is told the rows of
    every chunk.
    """
    try:
        chunks = []
        for chunk in pd.read_csv(path, chunksize=chunksize or 1_000_000, **CSV_OPTIONS):
            chunks.append(chunk)
            if progress is not None:
                progress(len(chunk))
    except UnicodeDecodeError:
        return pd.DataFrame(), [InputIssue(display, None, None, "not UTF-8 text")]
    except pd.errors.EmptyDataError:
        return pd.DataFrame(), [InputIssue(display, None, None, "the file is empty")]
    except pd.errors.ParserError as error:
        return pd.DataFrame(), [InputIssue(display, None, None, f"not valid CSV: {error}")]
    frame = pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame()
    if frame.empty and len(frame.columns) == 0:
        return pd.DataFrame(), [InputIssue(display, None, None, "the file is empty")]
    return frame, []


def read_csv_table(path: Path, display: str) -> tuple[pd.DataFrame, list[InputIssue]]:
    """Read a UTF-8 CSV as strings, header names stripped and lower-cased.

    Blank lines are skipped but counted, so ``source_line`` is the line in the file (the header
    is line 1). A file that cannot be read is one issue naming the file.
    """
    frame, issues = read_csv_frame(path, display)
    if issues:
        return frame, issues
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    columns = list(frame.columns)
    frame["source_line"] = range(2, len(frame) + 2)
    return drop_blank_rows(frame, columns), []


def cell_text(value: object) -> object:
    """One cell as a CSV reader reads it: text, or NaN when missing.

    Whole numbers are written without a decimal point (``2022.0`` -> ``"2022"``), other floats
    in their shortest exact form (``repr``), booleans as ``true``/``false``, dates as
    ``YYYY-MM-DD`` and other moments in ISO 8601 (with their UTC offset when they have one).
    """
    if isinstance(value, str):
        return value
    missing = pd.isna(value) if not isinstance(value, list | tuple | dict | set) else False
    if isinstance(missing, bool | np.bool_) and missing:
        return np.nan
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        if number.is_integer() and abs(number) < 1e15:
            return str(int(number))
        return repr(number)
    if isinstance(value, datetime | np.datetime64):
        stamp = pd.Timestamp(value)
        if stamp.tz is None and stamp == stamp.normalize():
            return stamp.strftime("%Y-%m-%d")
        return stamp.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def text_cells(frame: pd.DataFrame, keep: Collection[str] = ()) -> pd.DataFrame:
    """A table given in memory with its cells as the CSV readers read a file's (:func:`cell_text`:
    text, missing as NaN), so that one check serves files and tables.

    Parameters
    ----------
    frame
        Any table: strings, numbers, dates, booleans, missing values.
    keep
        Columns left as they are when they hold numbers or dates (the checks of those columns
        take typed values, as they do from a Parquet file).
    """
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if column in keep and (
            pd.api.types.is_datetime64_any_dtype(values)
            or (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values))
        ):
            continue
        if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
            out[column] = values.astype(object).where(values.notna(), np.nan)
        else:
            out[column] = values.astype(object).map(cell_text)
    return out


ReadTable = tuple[str, pd.DataFrame, list[InputIssue]]
"""A table by its name in messages, with the problems of reading it (when there are any, the
table is not checked)."""


def read_csv_tables(paths: Sequence[Path], displays: Sequence[str]) -> Iterator[ReadTable]:
    """Each file read with :func:`read_csv_table`, one after the other, in the order given."""
    for path, display in zip(paths, displays, strict=True):
        frame, issues = read_csv_table(path, display)
        yield display, frame, issues


def given_tables(tables: Mapping[str, pd.DataFrame]) -> Iterator[ReadTable]:
    """Tables already read (or given in memory), in the order of the mapping."""
    for name, frame in tables.items():
        yield name, frame, []


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A table as JSON-ready records (missing values as None): Python numbers, text and
    booleans; dates as ``pandas.Timestamp``.

    Column by column (a per-site table of 100,000 rows takes a tenth of a second)."""
    columns = []
    for name in frame.columns:
        column = frame[name]
        values = column.astype(object).to_numpy().tolist()
        missing = column.isna().to_numpy()
        if missing.any():
            values = [None if gap else value for value, gap in zip(values, missing, strict=True)]
        columns.append(values)
    names = list(frame.columns)  # the column labels as they are, as to_dict gave them
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]

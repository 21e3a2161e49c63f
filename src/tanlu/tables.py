"""Reading small CSV tables (factor overrides, instruments) with true line numbers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A table as JSON-ready records (missing values as None)."""
    clean = frame.astype(object).where(frame.notna(), None)
    return [dict(row) for row in clean.to_dict(orient="records")]

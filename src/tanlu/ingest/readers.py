"""One reader per format -> the raw activity table (strings, with file and line of every row).

Readers do not judge content; :mod:`tanlu.ingest.activities` does. A file that cannot be read at
all, or lacks a required column, is an :class:`~tanlu.errors.InputIssue` for the whole file.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tanlu.errors import InputIssue
from tanlu.tables import Progress, drop_blank_rows, read_csv_frame

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


def _finish(
    frame: pd.DataFrame, display: str, first_line: int, sheet: str | None = None
) -> tuple[pd.DataFrame, list[InputIssue]]:
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        return pd.DataFrame(), [
            InputIssue(display, 1, None, f"missing required column(s): {', '.join(missing)}", sheet)
        ]
    unknown = [c for c in frame.columns if c not in RAW_COLUMNS and not c.startswith("unnamed")]
    if unknown:
        return pd.DataFrame(), [
            InputIssue(display, 1, None, f"unknown column(s): {', '.join(unknown)}", sheet)
        ]
    for column in OPTIONAL_COLUMNS:
        if column not in frame.columns:
            frame[column] = pd.NA
    out = frame[list(RAW_COLUMNS)].copy()
    out["source_file"] = display
    out["source_sheet"] = sheet
    out["source_line"] = range(first_line, first_line + len(out))
    # Blank lines and empty sheet rows are skipped, but counted in the numbering.
    return drop_blank_rows(out, list(RAW_COLUMNS)), []


def read_activity_csv(
    path: Path, display: str, progress: Progress | None = None
) -> tuple[pd.DataFrame, list[InputIssue]]:
    """Read a CSV activity file (UTF-8, header on line 1; data from line 2)."""
    frame, issues = read_csv_frame(path, display, CSV_CHUNK_ROWS, progress)
    if issues:
        return frame, issues
    return _finish(frame, display, first_line=2)


def read_activity_excel(
    path: Path, display: str, progress: Progress | None = None
) -> tuple[pd.DataFrame, list[InputIssue]]:
    """Read every sheet of an XLSX workbook whose first row is the activity header."""
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
        frame, sheet_issues = _finish(sheet, display, first_line=2, sheet=str(name))
        issues.extend(sheet_issues)
        if not sheet_issues:
            frames.append(frame)
        if progress is not None:
            progress(len(sheet))
    return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()), issues


def read_activity_parquet(
    path: Path, display: str, progress: Progress | None = None
) -> tuple[pd.DataFrame, list[InputIssue]]:
    """Read a Parquet activity file; rows are numbered from 1 ("row N")."""
    try:
        frame = pd.read_parquet(path)
    except Exception as error:  # pyarrow raises ArrowInvalid, OSError ... for a bad file
        return pd.DataFrame(), [InputIssue(display, None, None, f"cannot read Parquet: {error}")]
    for column in frame.columns:
        if column not in ("quantity", "period_start", "period_end"):
            frame[column] = frame[column].astype("string")
    if progress is not None:
        progress(len(frame))
    frame, issues = _finish(frame, display, first_line=1, sheet=None)
    return frame, issues


READERS = {
    ".csv": read_activity_csv,
    ".xlsx": read_activity_excel,
    ".parquet": read_activity_parquet,
}


def read_activity_file(
    path: Path, display: str, progress: Progress | None = None
) -> tuple[pd.DataFrame, list[InputIssue]]:
    """Read an activity file of any supported format (by extension)."""
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        return pd.DataFrame(), [
            InputIssue(display, None, None, f"unsupported file type '{path.suffix}'")
        ]
    return reader(path, display, progress)

"""The site register: sites listed in table files (``[data] sites``) rather than one by one
as ``[[sites]]`` of ``tanlu.toml``.

A group with thousands of sites keeps them in a spreadsheet. Its rows have the keys of
``[[sites]]`` as columns (docs/file-formats.md, "Site register"); this module reads them, with
the place of every row, and :func:`tanlu.project.load_project` checks them as it checks
``[[sites]]``, naming the file, line and column of every problem.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tanlu.errors import InputIssue
from tanlu.tables import drop_blank_rows, read_csv_frame, text_cells

# The columns of a site register: the keys of [[sites]] (tanlu.project.Site).
SITE_COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "name_zh",
    "entity",
    "kind",
    "province",
    "grid_region",
    "latitude",
    "longitude",
    "leased",
    "pv_potential_kw",
    "owned_from",
    "owned_until",
)
REQUIRED_SITE_COLUMNS: tuple[str, ...] = ("id", "name", "entity", "province")
SITE_FILE_TYPES: tuple[str, ...] = (".csv", ".xlsx", ".parquet")


@dataclass(frozen=True)
class SiteRow:
    """Where one row of a site register is.

    Attributes
    ----------
    file
        The file as messages name it.
    sheet
        The sheet of a workbook, or ``None``.
    line
        The line of a CSV file (the header is line 1), the row of a sheet (the header is row 1)
        or of a Parquet file (the first record is row 1).
    """

    file: str
    sheet: str | None
    line: int

    def issue(self, column: str | None, reason: str) -> InputIssue:
        """A problem with this row."""
        return InputIssue(self.file, self.line, column, reason, self.sheet)


@dataclass(frozen=True)
class SiteRecords:
    """The rows of the site register files, in file and line order.

    Attributes
    ----------
    records
        One mapping per site: the cells given, as text (an empty cell is left out, so that
        the field takes its default).
    tables
        The files (and sheets) read, as ``(file, sheet)``.
    table_of, lines
        Each record's table (an index into ``tables``) and line (:class:`SiteRow`).
    issues
        Files that cannot be read, or whose header is bad (their rows are not in ``records``).
    """

    records: list[dict[str, Any]]
    tables: list[tuple[str, str | None]]
    table_of: list[int]
    lines: list[int]
    issues: list[InputIssue]

    def row(self, index: int) -> SiteRow:
        """Where record ``index`` is."""
        file, sheet = self.tables[self.table_of[index]]
        return SiteRow(file, sheet, self.lines[index])


def _read_table(path: Path, display: str) -> list[tuple[str | None, pd.DataFrame]]:
    """The sheets of one file (a CSV or Parquet file is one, named ``None``) as text cells,
    each row with its ``source_line``; raises ``ValueError`` with the reason when it cannot
    be read."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame, issues = read_csv_frame(path, display)
        if issues:
            raise ValueError(issues[0].reason)
        frame["source_line"] = range(2, len(frame) + 2)
        return [(None, frame)]
    if suffix == ".parquet":
        try:
            frame = pd.read_parquet(path)
        except Exception as error:  # pyarrow raises ArrowInvalid, OSError ... for a bad file
            raise ValueError(f"cannot read Parquet: {error}") from None
        frame = text_cells(frame)
        frame["source_line"] = range(1, len(frame) + 1)
        return [(None, frame)]
    try:
        sheets = pd.read_excel(
            path, sheet_name=None, dtype=object, engine="openpyxl", keep_default_na=False
        )
    except Exception as error:  # openpyxl raises many kinds for a corrupt workbook
        raise ValueError(f"cannot read workbook: {error}") from None
    out: list[tuple[str | None, pd.DataFrame]] = []
    for name, sheet in sheets.items():
        if sheet.empty and len(sheet.columns) == 0:
            continue
        sheet = text_cells(sheet.replace({"": np.nan}))
        sheet["source_line"] = range(2, len(sheet) + 2)
        out.append((str(name), sheet))
    return out


def read_site_files(paths: Sequence[Path], displays: Sequence[str]) -> SiteRecords:
    """Read site register files (CSV, XLSX or Parquet, by extension).

    Parameters
    ----------
    paths
        The files, in the order their sites are listed.
    displays
        How messages name each file.

    Returns
    -------
    SiteRecords
        Every row of every file that could be read, blank rows skipped (they keep their line
        numbers); header names are trimmed and lower-cased.
    """
    records: list[dict[str, Any]] = []
    tables: list[tuple[str, str | None]] = []
    table_of: list[int] = []
    lines: list[int] = []
    issues: list[InputIssue] = []
    for path, display in zip(paths, displays, strict=True):
        if path.suffix.lower() not in SITE_FILE_TYPES:
            issues.append(
                InputIssue(
                    display,
                    None,
                    None,
                    f"unsupported file type '{path.suffix}' for a site register "
                    f"({', '.join(SITE_FILE_TYPES)})",
                )
            )
            continue
        try:
            sheets = _read_table(path, display)
        except ValueError as error:
            issues.append(InputIssue(display, None, None, str(error)))
            continue
        if not sheets:
            issues.append(InputIssue(display, None, None, "the file is empty"))
        for sheet, frame in sheets:
            header_line = None if path.suffix.lower() == ".parquet" else 1
            frame.columns = [
                c if c == "source_line" else str(c).strip().lower() for c in frame.columns
            ]
            given = [c for c in frame.columns if c != "source_line"]
            missing = [c for c in REQUIRED_SITE_COLUMNS if c not in given]
            unknown = [c for c in given if c not in SITE_COLUMNS and not c.startswith("unnamed")]
            twice = sorted({c for c in given if given.count(c) > 1})
            if missing or unknown or twice:
                reasons = [f"column(s) given twice: {', '.join(twice)}"] if twice else []
                if missing:
                    reasons.append(f"missing required column(s): {', '.join(missing)}")
                if unknown:
                    reasons.append(
                        f"unknown column(s): {', '.join(unknown)} "
                        f"(a site register has: {', '.join(SITE_COLUMNS)})"
                    )
                issues.append(InputIssue(display, header_line, None, "; ".join(reasons), sheet))
                continue
            columns = [c for c in given if c in SITE_COLUMNS]
            frame = drop_blank_rows(frame, columns)
            # column by column into Python lists (fast); an empty or blank cell is left out
            cells = []
            for column in columns:
                values = frame[column].to_numpy(dtype=object, na_value=None).tolist()
                cells.append([v.strip() or None if isinstance(v, str) else v for v in values])
            records.extend(
                {c: v for c, v in zip(columns, values, strict=True) if v is not None}
                for values in zip(*cells, strict=True)
            )
            table_of.extend([len(tables)] * len(frame))
            lines.extend(int(line) for line in frame["source_line"].tolist())
            tables.append((display, sheet))
    return SiteRecords(records, tables, table_of, lines, issues)

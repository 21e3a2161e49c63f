"""The ``validate`` use case: check a project's configuration and every input it has."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from tanlu.app.inputs import OnRows, open_project, read_inputs
from tanlu.errors import InputError, InputIssue
from tanlu.ingest.inputs import InputTables
from tanlu.project import Project

# How many problems of one kind ``tanlu validate`` prints before it counts the rest: enough to
# see the pattern, few enough that three million bad rows do not flood the terminal.
ISSUES_SHOWN_PER_KIND = 20


@dataclass(frozen=True)
class ValidationDocument:
    """What ``tanlu validate`` found.

    Attributes
    ----------
    issues
        Every problem found (empty when the project is valid), each with file, line, column
        and reason.
    activity_rows, activity_files, instruments, sites
        Counts of what was read (0 when the project is not valid); ``activity_files`` counts
        the activity tables when tables were given.
    """

    issues: tuple[InputIssue, ...] = ()
    activity_rows: int = 0
    activity_files: int = 0
    instruments: int = 0
    sites: int = 0

    @property
    def valid(self) -> bool:
        """Whether no problem was found."""
        return not self.issues

    def issue_table(self) -> pd.DataFrame:
        """Every issue, one row each: ``file, sheet, line, column, reason`` (``--errors-out``)."""
        columns = ["file", "sheet", "line", "column", "reason"]
        rows = [(i.file, i.sheet, i.line, i.column, i.reason) for i in self.issues]
        table = pd.DataFrame(rows, columns=columns)
        table["line"] = table["line"].astype("Int64")
        return table

    def listing(self, per_kind: int = ISSUES_SHOWN_PER_KIND, errors_out: str = "") -> list[str]:
        """The issues as lines to print: the first ``per_kind`` of each kind (the column they
        are about, or the whole row or file) and, after them, how many more of that kind there
        are, with where to find them all (``errors_out``, the file ``--errors-out`` wrote)."""
        where = f"all are in {errors_out}" if errors_out else "--errors-out FILE lists them all"
        counts: Counter[str | None] = Counter()
        lines: list[str] = []
        for issue in self.issues:
            counts[issue.column] += 1
            if counts[issue.column] <= per_kind:
                lines.append(str(issue))
        for column, count in counts.items():
            if count > per_kind:
                kind = f"in column '{column}'" if column is not None else "of whole rows or files"
                lines.append(f"... and {count - per_kind:,} more problems {kind} ({where})")
        return lines

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (docs/json-output.md, ``tanlu validate --json``)."""
        if not self.valid:
            return {
                "valid": False,
                "issues": [
                    {
                        "file": i.file,
                        "sheet": i.sheet,
                        "line": i.line,
                        "column": i.column,
                        "reason": i.reason,
                    }
                    for i in self.issues
                ],
            }
        return {
            "valid": True,
            "activity_rows": self.activity_rows,
            "activity_files": self.activity_files,
            "instruments": self.instruments,
            "sites": self.sites,
        }


def validate_project(
    project: Project | Path, on_rows: OnRows | None = None, tables: InputTables | None = None
) -> ValidationDocument:
    """Read and check every input a later command reads: the activity, instrument and hourly
    files, the factor overrides and the price files (or the tables given instead of them).

    Parameters
    ----------
    project
        A project or its folder (:func:`tanlu.project.project_from_config` for one without).
    on_rows
        Told the number of activity rows as they are read.
    tables
        The project's inputs as tables, checked instead of its files.

    Raises
    ------
    ProjectError
        When ``tanlu.toml`` itself is bad (bad input rows are listed in the document instead).
    """
    try:
        opened = open_project(project)
        inputs = read_inputs(opened, on_rows, tables)
    except InputError as error:
        return ValidationDocument(issues=tuple(error.issues))
    return ValidationDocument(
        activity_rows=inputs.rows_read,
        activity_files=len(tables.activities) if tables is not None else len(opened.activity_files),
        instruments=len(inputs.instruments),
        sites=len(opened.sites),
    )

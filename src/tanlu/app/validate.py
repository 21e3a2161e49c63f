"""The ``validate`` use case: check a project's configuration and every input it has."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tanlu.app.inputs import OnRows, open_project, read_inputs
from tanlu.errors import InputError, InputIssue
from tanlu.ingest.inputs import InputTables
from tanlu.project import Project
from tanlu.roadmap.plan import check_roadmap_settings

# How many problems of one kind ``tanlu validate`` prints before it counts the rest: enough to
# see the pattern, few enough that three million bad rows do not flood the terminal.
ISSUES_SHOWN_PER_KIND = 20


@dataclass(frozen=True)
class ValidationDocument:
    """What ``tanlu validate`` found.

    Attributes
    ----------
    issues
        The problems found (empty when the project is valid), each with file, line, column
        and reason: every one, but of millions of bad activity rows the first of each kind.
    unlisted
        How many more problems of each kind (column; ``None``: whole rows) there are than
        ``issues`` lists.
    errors_file
        The file every problem was written to (``errors_out`` of :func:`validate_project`),
        or an empty string.
    activity_rows, activity_files, instruments, sites
        Counts of what was read (0 when the project is not valid); ``activity_files`` counts
        the activity tables when tables were given.
    """

    issues: tuple[InputIssue, ...] = ()
    unlisted: dict[str | None, int] = field(default_factory=dict)
    errors_file: str = ""
    activity_rows: int = 0
    activity_files: int = 0
    instruments: int = 0
    sites: int = 0

    @property
    def valid(self) -> bool:
        """Whether no problem was found."""
        return not self.issues

    @property
    def problem_count(self) -> int:
        """Every problem found, listed or not."""
        return len(self.issues) + sum(self.unlisted.values())

    def listing(self, per_kind: int = ISSUES_SHOWN_PER_KIND) -> list[str]:
        """The issues as lines to print: the first ``per_kind`` of each kind (the column they
        are about, or the whole row or file) and, after them, how many more of that kind there
        are, with where to find them all (:attr:`errors_file`)."""
        where = (
            f"all are in {self.errors_file}"
            if self.errors_file
            else "--errors-out FILE lists them all"
        )
        counts: Counter[str | None] = Counter(self.unlisted)
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
                "problem_count": self.problem_count,
                "unlisted": [
                    {"column": column, "problems": count} for column, count in self.unlisted.items()
                ],
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
    project: Project | Path,
    on_rows: OnRows | None = None,
    tables: InputTables | None = None,
    errors_out: Path | None = None,
    confined: bool = False,
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
    errors_out
        A CSV or Parquet file to write every problem to, when there are any.
    confined
        Whether the ``[data]`` patterns must stay inside the project folder (the service).

    Raises
    ------
    ProjectError
        When ``tanlu.toml`` itself is bad (bad input rows are listed in the document instead).
    """
    try:
        opened = open_project(project, confined)
        # the roadmap's settings and every scenario's overrides, as a roadmap would read them
        check_roadmap_settings(opened)
        inputs = read_inputs(opened, on_rows, tables, errors_out)
    except InputError as error:
        return ValidationDocument(
            issues=tuple(error.issues),
            unlisted=error.unlisted,
            errors_file=(
                str(errors_out.resolve()) if errors_out is not None and errors_out.exists() else ""
            ),
        )
    return ValidationDocument(
        activity_rows=inputs.rows_read,
        activity_files=len(tables.activities) if tables is not None else len(opened.activity_files),
        instruments=len(inputs.instruments),
        sites=len(opened.sites),
    )

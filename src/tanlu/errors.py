"""The tanlu exception family.

Every error a user can cause is a :class:`TanluError`. Input errors name the file, the line (or
sheet and row), the column and the reason, so that the message alone says what to fix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


class TanluError(Exception):
    """Base class of every error tanlu raises on purpose."""


class ProjectError(TanluError):
    """The project folder or its ``tanlu.toml`` is missing or malformed."""


class UnitError(TanluError):
    """A unit is unknown, or has the wrong dimension for the activity it measures."""


class ResourceError(TanluError):
    """The machine ran short of memory or disk space; the message names the file and how far
    the work got, and says that nothing was written."""


class FactorError(TanluError):
    """The emission-factor library is malformed, or has no factor for a lookup."""


class StoreError(TanluError):
    """The service's database cannot be opened, is at an older schema, or refuses a change
    (a duplicate user, an unknown organisation or role); nothing was written."""


class NotFoundError(StoreError):
    """What a change or a read names (a project, a revision, a file) is not in the
    organisation; nothing was written."""


class ConflictError(StoreError):
    """The change does not fit the state it found (a year already submitted, a locked year, a
    transition someone else made first); nothing was written."""


class BusyError(StoreError):
    """Other writers kept changing the same rows first, every time the change was tried again;
    nothing was written (try again later)."""


class TooLargeError(StoreError):
    """An upload is larger than the service takes; nothing of it was kept."""


class AuditError(TanluError):
    """The audit log's chain is broken: an entry was edited, removed or inserted out of
    order. The message names the first entry where the chain fails."""


@dataclass(frozen=True)
class InputIssue:
    """One problem with one place in an input file.

    Attributes
    ----------
    file
        Path of the file as the user gave it, or the name of a table given in memory.
    line
        Line in a text file (the header is line 1), row in a sheet (the header is row 1), in
        a Parquet file or in a table given in memory (the first record is row 1); ``None`` for
        the whole file or table.
    column
        Column name, or ``None`` when the problem is the whole row or file.
    reason
        One sentence saying what is wrong.
    sheet
        Sheet name for spreadsheets.
    by_row
        Whether ``file`` names a table given in memory, whose rows are numbered from 1 (shown
        as "row N", as for a Parquet file).
    """

    file: str
    line: int | None
    column: str | None
    reason: str
    sheet: str | None = None
    by_row: bool = False

    def location(self) -> str:
        where = self.file
        if self.sheet is not None:
            where += f" [sheet {self.sheet}]"
        if self.line is not None:
            by_row = self.by_row or self.sheet is not None or self.file.lower().endswith(".parquet")
            where += f", row {self.line}" if by_row else f", line {self.line}"
        if self.column is not None:
            where += f", column '{self.column}'"
        return where

    def __str__(self) -> str:
        return f"{self.location()}: {self.reason}"


class InputError(TanluError):
    """One or more input files have bad rows; nothing was computed from them.

    Attributes
    ----------
    issues
        The problems listed: every one, except that millions of bad activity rows are not
        made into millions of objects (the first of each kind are listed).
    unlisted
        How many more problems of each kind (the column they are about; ``None``: whole rows)
        there are than ``issues`` lists (``--errors-out`` writes them all).
    """

    def __init__(
        self, issues: Sequence[InputIssue], unlisted: Mapping[str | None, int] | None = None
    ) -> None:
        self.issues = list(issues)
        self.unlisted = dict(unlisted or {})
        total = self.problem_count
        shown = "\n".join(f"  {issue}" for issue in self.issues[:50])
        more = total - min(len(self.issues), 50)
        tail = f"\n  ... and {more:,} more" if more > 0 else ""
        noun = "problem" if total == 1 else "problems"
        super().__init__(f"{total:,} input {noun}:\n{shown}{tail}")

    @property
    def problem_count(self) -> int:
        """Every problem found, listed or not."""
        return len(self.issues) + sum(self.unlisted.values())

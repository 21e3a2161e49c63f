"""The workflow of a project's reporting year: collecting -> submitted -> reviewed -> approved.

An approved year is locked: its figures are those computed from the revision it was submitted
with, whatever is uploaded after; it changes only through a restatement (an admin's, with a
reason), which takes it back to collecting and is checked when it is submitted again. Every
step is a :class:`~tanlu.store.models.YearEvent` and an audit entry, written with the change in
one transaction; a step applies only to the version of the year it read, so that two steps at
once cannot both apply (the second gets a :class:`ConflictError`).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import CursorResult, Engine, Row, and_, bindparam, select, update
from sqlalchemy.orm import Session

from tanlu.errors import ConflictError, NotFoundError, StoreError
from tanlu.store.audit import AuditRecord, append_in, write
from tanlu.store.database import now, read_connection, session_scope
from tanlu.store.models import Project, ReportingYear, YearEvent
from tanlu.store.projects import owned_project

MAX_REASON_LENGTH = 2000


class YearStatus(StrEnum):
    """Where a reporting year stands."""

    COLLECTING = "collecting"
    SUBMITTED = "submitted"
    REVIEWED = "reviewed"
    APPROVED = "approved"


class YearAction(StrEnum):
    """A step of the workflow."""

    SUBMIT = "submit"
    REVIEW = "review"
    APPROVE = "approve"
    RETURN = "return"
    RESTATE = "restate"


# action -> (the statuses it applies to, the status it leads to, whether it needs a reason)
TRANSITIONS: dict[YearAction, tuple[frozenset[YearStatus], YearStatus, bool]] = {
    YearAction.SUBMIT: (frozenset({YearStatus.COLLECTING}), YearStatus.SUBMITTED, False),
    YearAction.REVIEW: (frozenset({YearStatus.SUBMITTED}), YearStatus.REVIEWED, False),
    YearAction.APPROVE: (frozenset({YearStatus.REVIEWED}), YearStatus.APPROVED, False),
    YearAction.RETURN: (
        frozenset({YearStatus.SUBMITTED, YearStatus.REVIEWED}),
        YearStatus.COLLECTING,
        True,
    ),
    YearAction.RESTATE: (frozenset({YearStatus.APPROVED}), YearStatus.COLLECTING, True),
}
# Segregation of duties: whoever submitted a year's figures neither reviews nor approves them.
NOT_BY_SUBMITTER = frozenset({YearAction.REVIEW, YearAction.APPROVE})


@dataclass(frozen=True)
class Submission:
    """What a submission pins: the revision, the inventory computed from it (JSON text, the
    CLI's ``tanlu inventory --json``), its total, for a restated year the restatement's
    check (:func:`tanlu.app.projects.restatement_check`), and the inventory's scope totals by
    province (JSON text, :func:`tanlu.app.provinces.province_totals`)."""

    revision_number: int
    inventory: str
    total_tco2e: float
    check: dict[str, Any] | None = None
    by_province: str | None = None


@dataclass(frozen=True)
class YearState:
    """A reporting year of a project: its status, version, the revision and total it was
    submitted with, who submitted it, the total last approved and an open restatement."""

    project_id: int
    year: int
    status: YearStatus
    version: int
    revision_number: int | None
    total_tco2e: float | None
    submitted_by: str | None
    approved_total_tco2e: float | None
    restatement: dict[str, Any] | None
    updated_at: str | None


@dataclass(frozen=True)
class YearEventInfo:
    id: int
    year: int
    action: str
    actor: str
    at: str
    reason: str
    revision_number: int | None
    detail: dict[str, Any] | None


def _state(project_id: int, year: int, row: ReportingYear | Row[Any] | None) -> YearState:
    if row is None:
        return YearState(
            project_id, year, YearStatus.COLLECTING, 0, None, None, None, None, None, None
        )
    return YearState(
        row.project_id,
        row.year,
        YearStatus(row.status),
        row.version,
        row.revision_number,
        row.total_tco2e,
        row.submitted_by,
        row.approved_total_tco2e,
        json.loads(row.restatement) if row.restatement else None,
        row.updated_at,
    )


def year_state(engine: Engine, organisation_id: int, project_id: int, year: int) -> YearState:
    """The year's state (collecting, version 0, before any step)."""
    with session_scope(engine) as session:
        owned_project(session, organisation_id, project_id)
        return _state(project_id, year, session.get(ReportingYear, (project_id, year)))


def year_states(engine: Engine, organisation_id: int, project_id: int) -> list[YearState]:
    """Every year of the project that has taken a step, by year."""
    with session_scope(engine) as session:
        owned_project(session, organisation_id, project_id)
        rows = session.scalars(
            select(ReportingYear)
            .where(ReportingYear.project_id == project_id)
            .order_by(ReportingYear.year)
        ).all()
        return [_state(project_id, row.year, row) for row in rows]


# The dashboard's reads, built once and run on a connection without the ORM (a year's page is
# the service's most frequent read), each one statement on a read connection (autocommit on
# PostgreSQL: no BEGIN and ROLLBACK around it), so that it is consistent on its own: the
# project's ownership, outer-joined to the year's row (no project row: no such project; no year
# row: a year still collecting) and to its steps or to its inventory.
_YEAR_COLUMNS = [c for c in ReportingYear.__table__.c if c.key != "inventory"]
_EVENT_COLUMNS = [c.label(f"event_{c.key}") for c in YearEvent.__table__.c]
_OWNED_YEAR_EVENTS = (
    select(Project.id.label("owned_project_id"), *_YEAR_COLUMNS, *_EVENT_COLUMNS)
    .outerjoin(
        ReportingYear,
        and_(ReportingYear.project_id == Project.id, ReportingYear.year == bindparam("year")),
    )
    .outerjoin(
        YearEvent,
        and_(YearEvent.project_id == Project.id, YearEvent.year == bindparam("year")),
    )
    .where(Project.id == bindparam("project_id"), Project.organisation_id == bindparam("org"))
    .order_by(YearEvent.id)
)


def _owned_year_columns(*columns: Any) -> Any:
    return (
        select(Project.id, ReportingYear.version, *columns)
        .outerjoin(
            ReportingYear,
            and_(ReportingYear.project_id == Project.id, ReportingYear.year == bindparam("year")),
        )
        .where(Project.id == bindparam("project_id"), Project.organisation_id == bindparam("org"))
    )


_OWNED_YEAR_INVENTORY = _owned_year_columns(ReportingYear.inventory)
_OWNED_YEAR_VERSION = _owned_year_columns()


class InventoryCache:
    """The inventories last read, by project and year, with the year's ``version`` they were
    read at (every step of a year raises it): a read asks only for the year's version, and
    fetches the inventory's JSON (tens of kB) only when the version is not the one kept. At
    most ``size`` years are kept, the least recently read going first."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._kept: OrderedDict[tuple[int, int], tuple[int, str | None]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, project_id: int, year: int, version: int) -> tuple[bool, str | None]:
        with self._lock:
            kept = self._kept.get((project_id, year))
            if kept is None or kept[0] != version:
                return False, None
            self._kept.move_to_end((project_id, year))
            return True, kept[1]

    def put(self, project_id: int, year: int, version: int, inventory: str | None) -> None:
        with self._lock:
            self._kept[(project_id, year)] = (version, inventory)
            self._kept.move_to_end((project_id, year))
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)


def year_inventory(
    engine: Engine,
    organisation_id: int,
    project_id: int,
    year: int,
    cache: InventoryCache | None = None,
) -> str | None:
    """The inventory (JSON text) the year was submitted with, or ``None`` while collecting; the
    project's ownership is checked on every read, and with a ``cache`` the JSON is fetched only
    when the year has changed since it was kept."""
    parameters = {"org": organisation_id, "project_id": project_id, "year": year}
    with read_connection(engine) as connection:
        if cache is not None:
            row = connection.execute(_OWNED_YEAR_VERSION, parameters).first()
            if row is None:
                raise NotFoundError("no such project")
            found, inventory = cache.get(project_id, year, row.version or 0)
            if found:
                return inventory
        row = connection.execute(_OWNED_YEAR_INVENTORY, parameters).first()
    if row is None:
        raise NotFoundError("no such project")
    text: str | None = row.inventory
    if cache is not None:
        # kept with the version it was read at, whatever the first read saw
        cache.put(project_id, year, row.version or 0, text)
    return text


def year_detail(
    engine: Engine, organisation_id: int, project_id: int, year: int
) -> tuple[YearState, list[YearEventInfo]]:
    """The year's state and its steps, oldest first, read in one statement (a dashboard's
    read)."""
    with read_connection(engine) as connection:
        rows = connection.execute(
            _OWNED_YEAR_EVENTS, {"org": organisation_id, "project_id": project_id, "year": year}
        ).all()
    if not rows:
        raise NotFoundError("no such project")
    first = rows[0]
    state = _state(project_id, year, first if first.year is not None else None)
    return state, [
        YearEventInfo(
            row.event_id,
            row.event_year,
            row.event_action,
            row.event_actor,
            row.event_at,
            row.event_reason,
            row.event_revision_number,
            json.loads(row.event_detail) if row.event_detail else None,
        )
        for row in rows
        if row.event_id is not None
    ]


def change_year(
    engine: Engine,
    organisation_id: int,
    project_id: int,
    year: int,
    action: YearAction,
    actor: str,
    *,
    expected_version: int,
    reason: str = "",
    submission: Submission | None = None,
) -> YearState:
    """Take one step of the workflow, at the version of the year the caller read.

    Raises
    ------
    ConflictError
        When the step does not apply to the year's status, the year changed since
        ``expected_version`` was read, or the submitter would review or approve their own
        figures.
    StoreError
        When a reason is needed and missing, or a submission is missing its figures.
    """
    sources, target, needs_reason = TRANSITIONS[action]
    reason = reason.strip()
    if needs_reason and not reason:
        raise StoreError(f"to {action.value} a year, give the reason")
    if len(reason) > MAX_REASON_LENGTH:
        raise StoreError(f"a reason has at most {MAX_REASON_LENGTH} characters")
    if (action is YearAction.SUBMIT) != (submission is not None):
        raise StoreError("a submission, and only a submission, carries the year's figures")

    def work(session: Session) -> YearState:
        owned_project(session, organisation_id, project_id)
        row = session.get(ReportingYear, (project_id, year))
        state = _state(project_id, year, row)
        if state.version != expected_version:
            raise ConflictError(
                f"{year} changed while this step was prepared (it is now {state.status.value}): "
                "look again and retry"
            )
        if state.status not in sources:
            raise ConflictError(
                f"{year} is {state.status.value}: it cannot be {_past(action)} "
                f"(only a year that is {' or '.join(sorted(s.value for s in sources))})"
            )
        if action in NOT_BY_SUBMITTER and state.submitted_by == actor:
            raise ConflictError(
                f"{actor} submitted {year}'s figures: someone else must {action.value} them"
            )
        at = now()
        values: dict[str, Any] = {"status": target.value, "version": expected_version + 1}
        values["updated_at"] = at
        detail: dict[str, Any] | None = None
        if submission is not None:
            values.update(
                revision_number=submission.revision_number,
                inventory=submission.inventory,
                total_tco2e=submission.total_tco2e,
                submitted_by=actor,
                by_province=submission.by_province,
            )
            detail = submission.check
        elif action is YearAction.RETURN:
            values.update(inventory=None, total_tco2e=None, submitted_by=None, by_province=None)
        elif action is YearAction.APPROVE:
            values.update(approved_total_tco2e=state.total_tco2e, restatement=None)
            detail = state.restatement
        elif action is YearAction.RESTATE:
            detail = {
                "reason": reason,
                "restated_by": actor,
                "restated_at": at,
                "approved_revision": state.revision_number,
                "approved_total_tco2e": state.approved_total_tco2e,
            }
            values.update(
                restatement=json.dumps(detail, sort_keys=True),
                inventory=None,
                total_tco2e=None,
                submitted_by=None,
                by_province=None,
            )
        if row is None:
            session.add(
                ReportingYear(project_id=project_id, year=year, **values)
            )  # a second first step at once fails on the primary key, and retries
        else:
            changed: CursorResult[Any] = session.execute(  # type: ignore[assignment]
                update(ReportingYear)
                .where(
                    ReportingYear.project_id == project_id,
                    ReportingYear.year == year,
                    ReportingYear.version == expected_version,
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if changed.rowcount != 1:
                raise ConflictError(f"{year} changed while this step was made: look again")
        revision = submission.revision_number if submission else state.revision_number
        session.add(
            YearEvent(
                project_id=project_id,
                year=year,
                action=action.value,
                actor=actor,
                at=at,
                reason=reason,
                revision_number=revision,
                detail=json.dumps(detail, sort_keys=True) if detail is not None else None,
            )
        )
        append_in(
            session,
            AuditRecord(
                actor=actor,
                action=f"year.{action.value}",
                target=f"project {project_id} year {year}",
                reason=reason,
                organisation_id=organisation_id,
                before={"status": state.status.value, "revision": state.revision_number},
                after={
                    "status": target.value,
                    "revision": revision,
                    "total_tco2e": values.get("total_tco2e", state.total_tco2e),
                },
            ),
        )
        session.flush()
        fresh = session.get(ReportingYear, (project_id, year), populate_existing=True)
        return _state(project_id, year, fresh)

    return write(engine, work)


def _past(action: YearAction) -> str:
    return {
        YearAction.SUBMIT: "submitted",
        YearAction.REVIEW: "reviewed",
        YearAction.APPROVE: "approved",
        YearAction.RETURN: "returned",
        YearAction.RESTATE: "restated",
    }[action]

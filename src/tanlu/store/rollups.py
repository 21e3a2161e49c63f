"""Shares: a project's approved years shared by its organisation with its parent or with a
regulator, made and revoked by the sharing organisation (each an audit entry), and the reads
the roll-ups compute from (docs/service.md "Roll-ups").

The rules that need the database are checked here, in the transaction that writes the share:
the target named exactly and of a kind that fits (one answer for a name that is not there and
for one that does not fit, so that names cannot be probed further), not the organisation
itself, no parent link that closes a cycle, parents' ownership shares adding up to at most 1
and at most one parent in control, and one set of terms per organisation and target.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, and_, select
from sqlalchemy.orm import Session, aliased

from tanlu.errors import ConflictError, NotFoundError, StoreError
from tanlu.store.audit import AuditRecord, append_in, write
from tanlu.store.database import now, session_scope
from tanlu.store.models import Organisation, Project, ReportingYear, Share
from tanlu.store.projects import owned_project
from tanlu.store.roles import OrganisationKind
from tanlu.store.workflow import YearStatus

# The parents' ownership shares of one organisation add up to at most 1; this much above it is
# floating-point rounding of shares given as decimals (0.1 + 0.2 + 0.7).
OWNERSHIP_TOLERANCE = 1e-9


class Relation(StrEnum):
    """With whom a project's approved years are shared."""

    PARENT = "parent"
    REGULATOR = "regulator"


# The kinds of organisation a relation may name: a parent is a company or a parent (a company
# that consolidates subsidiaries may report its own inventory too), a regulator a regulator.
TARGET_KINDS: dict[Relation, frozenset[str]] = {
    Relation.PARENT: frozenset({OrganisationKind.COMPANY.value, OrganisationKind.PARENT.value}),
    Relation.REGULATOR: frozenset({OrganisationKind.REGULATOR.value}),
}
# One answer for a target that does not exist and one of another kind.
NO_TARGET: dict[Relation, str] = {
    Relation.PARENT: "no organisation of that name can be shared with as a parent",
    Relation.REGULATOR: "no regulator of that name",
}


@dataclass(frozen=True)
class ShareTerms:
    """What a share states: for a parent, its ``ownership_share`` of the sharing organisation
    [0..1] and whether it has ``operational_control`` and ``financial_control`` of it; for a
    regulator, the sharing organisation's ``sector`` (a GB/T 4754-2017 section letter)."""

    relation: Relation
    ownership_share: float | None = None
    operational_control: bool | None = None
    financial_control: bool | None = None
    sector: str | None = None


@dataclass(frozen=True)
class ShareInfo:
    id: int
    organisation_id: int
    organisation: str
    project_id: int
    project: str
    target_id: int
    target: str
    terms: ShareTerms
    created_at: str
    created_by: str
    revoked_at: str | None
    revoked_by: str | None


@dataclass(frozen=True)
class ApprovedYear:
    """An approved year of a project: the revision and inventory (JSON text) it was approved
    with, and its scope totals by province (JSON text; ``None`` for a year submitted before
    migration 0005)."""

    organisation_id: int
    project_id: int
    project: str
    revision_number: int
    inventory: str
    by_province: str | None


@dataclass(frozen=True)
class SharedYear:
    """A share in force and its project's approved year, if the year is approved."""

    share: ShareInfo
    approved: ApprovedYear | None


@dataclass(frozen=True)
class RollupInputs:
    """What a roll-up of ``year`` reads, in one transaction: the shares in force made to the
    organisation under one relation, each with its approved year, and the organisation's own
    projects approved for the year."""

    shared: list[SharedYear]
    own: list[ApprovedYear]


def _terms(row: Share) -> ShareTerms:
    return ShareTerms(
        Relation(row.relation),
        row.ownership_share,
        row.operational_control,
        row.financial_control,
        row.sector,
    )


_SHARER = aliased(Organisation)
_TARGET = aliased(Organisation)


def _share_rows(session: Session, *where: Any) -> Sequence[Any]:
    return session.execute(
        select(Share, _SHARER.name, Project.name, _TARGET.name)
        .join(_SHARER, _SHARER.id == Share.organisation_id)
        .join(_TARGET, _TARGET.id == Share.target_id)
        .join(Project, Project.id == Share.project_id)
        .where(*where)
        .order_by(Share.id.desc())
    ).all()


def _info(row: Share, organisation: str, project: str, target: str) -> ShareInfo:
    return ShareInfo(
        row.id,
        row.organisation_id,
        organisation,
        row.project_id,
        project,
        row.target_id,
        target,
        _terms(row),
        row.created_at,
        row.created_by,
        row.revoked_at,
        row.revoked_by,
    )


def _audited(terms: ShareTerms, row: Share) -> dict[str, Any]:
    return {
        "project_id": row.project_id,
        "target_id": row.target_id,
        "relation": terms.relation.value,
        "ownership_share": terms.ownership_share,
        "operational_control": terms.operational_control,
        "financial_control": terms.financial_control,
        "sector": terms.sector,
        "revoked_at": row.revoked_at,
    }


def _describe(terms: ShareTerms) -> str:
    if terms.relation is Relation.REGULATOR:
        return f"sector {terms.sector}"
    return (
        f"ownership share {terms.ownership_share:g}, operational control "
        f"{'yes' if terms.operational_control else 'no'}, financial control "
        f"{'yes' if terms.financial_control else 'no'}"
    )


def _ancestors(session: Session, organisation_id: int) -> set[int]:
    """The organisations above ``organisation_id`` through parent shares in force."""
    found: set[int] = set()
    frontier = {organisation_id}
    while frontier:
        parents = set(
            session.scalars(
                select(Share.target_id).where(
                    Share.organisation_id.in_(frontier),
                    Share.relation == Relation.PARENT.value,
                    Share.revoked_at.is_(None),
                )
            ).all()
        )
        frontier = parents - found
        found |= parents
    return found


def _check_parent(
    session: Session,
    organisation_id: int,
    target: Organisation,
    terms: ShareTerms,
    active: list[Share],
) -> None:
    """A new parent link: no cycle, ownership shares at most 1, one parent in control."""
    if organisation_id in _ancestors(session, target.id):
        raise ConflictError(
            f"{target.name} is already below this organisation through parent shares: sharing "
            "with it as a parent would make a cycle"
        )
    parents = {s.target_id: s for s in active if s.relation == Relation.PARENT.value}
    owned = sum(float(s.ownership_share or 0.0) for s in parents.values())
    total = owned + float(terms.ownership_share or 0.0)
    if total > 1.0 + OWNERSHIP_TOLERANCE:
        raise ConflictError(
            f"the parents' ownership shares would add up to {total:g}: other parents already "
            f"hold {owned:g} of this organisation, and the shares add up to at most 1"
        )
    for flag, words in (
        ("operational_control", "operational control"),
        ("financial_control", "financial control"),
    ):
        if getattr(terms, flag) and any(getattr(s, flag) for s in parents.values()):
            raise ConflictError(
                f"another parent already has {words} of this organisation: one organisation "
                "at most controls it (revoke that share first)"
            )


def create_share(
    engine: Engine,
    organisation_id: int,
    project_id: int,
    target_name: str,
    terms: ShareTerms,
    actor: str,
) -> ShareInfo:
    """Share a project's approved years with the organisation named exactly ``target_name``,
    under ``terms`` (checked as far as they are plain values by
    :func:`tanlu.app.rollups.check_terms`), recorded in the audit log.

    Raises
    ------
    NotFoundError
        The project is not the organisation's; no organisation of that name, or one whose
        kind does not fit the relation (one answer for both).
    ConflictError
        The organisation itself; the project already shared with it; terms other than those
        of the organisation's other shares with it; a parent link that would close a cycle,
        take the parents' ownership shares past 1 or give control to a second parent.
    """

    def work(session: Session) -> ShareInfo:
        project = owned_project(session, organisation_id, project_id)
        target = session.scalar(select(Organisation).where(Organisation.name == target_name))
        if target is not None and target.id == organisation_id:
            raise ConflictError("an organisation cannot share with itself")
        if target is None or target.kind not in TARGET_KINDS[terms.relation]:
            raise NotFoundError(NO_TARGET[terms.relation])
        active = list(
            session.scalars(
                select(Share).where(
                    Share.organisation_id == organisation_id, Share.revoked_at.is_(None)
                )
            ).all()
        )
        if any(s.project_id == project_id and s.target_id == target.id for s in active):
            raise ConflictError(
                f"the project is already shared with {target.name}: revoke that share first to "
                "change its terms"
            )
        same = [s for s in active if s.target_id == target.id]
        if same and _terms(same[0]) != terms:
            raise ConflictError(
                f"this organisation's other shares with {target.name} state "
                f"{_describe(_terms(same[0]))}: a share with it states the same (revoke them "
                "to change the terms)"
            )
        if terms.relation is Relation.PARENT and not same:
            _check_parent(session, organisation_id, target, terms, active)
        row = Share(
            organisation_id=organisation_id,
            project_id=project_id,
            target_id=target.id,
            relation=terms.relation.value,
            ownership_share=terms.ownership_share,
            operational_control=terms.operational_control,
            financial_control=terms.financial_control,
            sector=terms.sector,
            created_at=now(),
            created_by=actor,
        )
        session.add(row)
        session.flush()
        append_in(
            session,
            AuditRecord(
                actor=actor,
                action="share.create",
                target=f"share {row.id}",
                organisation_id=organisation_id,
                after=_audited(terms, row),
            ),
        )
        sharer = session.get(Organisation, organisation_id)
        return _info(row, sharer.name if sharer else "", project.name, target.name)

    return write(engine, work)


def revoke_share(engine: Engine, organisation_id: int, share_id: int, actor: str) -> ShareInfo:
    """Revoke one of the organisation's shares: its target no longer sees the project's years
    (recorded in the audit log).

    Raises
    ------
    NotFoundError
        No such share of the organisation.
    ConflictError
        The share was revoked already.
    """

    def work(session: Session) -> ShareInfo:
        rows = _share_rows(session, Share.id == share_id, Share.organisation_id == organisation_id)
        if not rows:
            raise NotFoundError("no such share")
        row, organisation, project, target = rows[0]
        if row.revoked_at is not None:
            raise ConflictError(f"share {share_id} was revoked at {row.revoked_at}")
        before = _audited(_terms(row), row)
        row.revoked_at, row.revoked_by = now(), actor
        session.flush()
        append_in(
            session,
            AuditRecord(
                actor=actor,
                action="share.revoke",
                target=f"share {row.id}",
                organisation_id=organisation_id,
                before=before,
                after=_audited(_terms(row), row),
            ),
        )
        return _info(row, organisation, project, target)

    return write(engine, work)


def list_shares(engine: Engine, organisation_id: int) -> list[ShareInfo]:
    """The organisation's shares, in force and revoked, newest first."""
    with session_scope(engine) as session:
        return [
            _info(*row) for row in _share_rows(session, Share.organisation_id == organisation_id)
        ]


def _approved(row: ReportingYear, organisation_id: int, project: str) -> ApprovedYear:
    if row.revision_number is None or row.inventory is None:
        raise StoreError(f"project {row.project_id}'s approved {row.year} has no figures")
    return ApprovedYear(
        organisation_id,
        row.project_id,
        project,
        row.revision_number,
        row.inventory,
        row.by_province,
    )


def rollup_inputs(
    engine: Engine, organisation_id: int, relation: Relation, year: int
) -> RollupInputs:
    """The shares in force made to the organisation under ``relation``, each with its project's
    ``year`` if approved (any other status counts as not approved), and the organisation's own
    projects approved for ``year``, read in one transaction."""
    approved = and_(
        ReportingYear.project_id == Share.project_id,
        ReportingYear.year == year,
        ReportingYear.status == YearStatus.APPROVED.value,
    )
    with session_scope(engine) as session:
        rows = session.execute(
            select(Share, _SHARER.name, Project.name, _TARGET.name, ReportingYear)
            .join(_SHARER, _SHARER.id == Share.organisation_id)
            .join(_TARGET, _TARGET.id == Share.target_id)
            .join(Project, Project.id == Share.project_id)
            .outerjoin(ReportingYear, approved)
            .where(
                Share.target_id == organisation_id,
                Share.relation == relation.value,
                Share.revoked_at.is_(None),
                # a project stays its organisation's; checked all the same
                Project.organisation_id == Share.organisation_id,
            )
            .order_by(_SHARER.name, Project.name, Share.id)
        ).all()
        shared = [
            SharedYear(
                _info(share, organisation, project, target),
                _approved(year_row, share.organisation_id, project) if year_row else None,
            )
            for share, organisation, project, target, year_row in rows
        ]
        own_rows = session.execute(
            select(ReportingYear, Project.name)
            .join(Project, Project.id == ReportingYear.project_id)
            .where(
                Project.organisation_id == organisation_id,
                ReportingYear.year == year,
                ReportingYear.status == YearStatus.APPROVED.value,
            )
            .order_by(Project.name)
        ).all()
        own = [_approved(row, organisation_id, name) for row, name in own_rows]
    return RollupInputs(shared, own)

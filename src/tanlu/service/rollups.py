"""Roll-ups (docs/service.md "Roll-ups"): an organisation's shares of its projects' approved
years with its parent or a regulator, made and revoked by its admins; a parent's consolidation
of its subsidiaries; a regulator's province x sector x scope totals, small cells suppressed.
Each route calls one use case of :mod:`tanlu.app.rollups`."""

from __future__ import annotations

import os
from typing import Annotated, Literal

from fastapi import FastAPI, Query
from fastapi import Path as PathParam
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from tanlu.app.provinces import ScopeTotals
from tanlu.app.rollups import (
    CELL_P_SHARE,
    MIN_CELL_ORGANISATIONS,
    ConsolidatedInventory,
    ConsolidationApproach,
    LeftOut,
    end_share,
    group_consolidation,
    regulator_view,
    share_project,
)
from tanlu.service.deps import PRINTABLE, Admin, Body, Viewer, access
from tanlu.store.roles import Role
from tanlu.store.rollups import Relation, ShareInfo, ShareTerms, list_shares

ORGANISATION = "/api/organisations/{organisation_id}"
# `tanlu serve`'s worker processes inherit it: a regulator's cells need at least this many
# organisations (never fewer than tanlu.app.rollups.MIN_CELL_ORGANISATIONS)
MIN_CELL_VARIABLE = "TANLU_MIN_CELL_ORGANISATIONS"
P_SHARE_VARIABLE = "TANLU_CELL_P_SHARE"
ShareId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
YearQuery = Annotated[int, Query(ge=1990, le=2100)]


class _NewShare(Body):
    project_id: int = Field(ge=1, le=2**31 - 1)
    # the organisation shared with, by its exact name
    organisation: str = Field(min_length=1, max_length=200, pattern=PRINTABLE)


class ShareWithParent(_NewShare):
    """A project's approved years shared with the organisation's parent: the parent's
    ownership share of the organisation [0..1], and whether it has operational and financial
    control of it."""

    relation: Literal["parent"]
    ownership_share: float = Field(ge=0.0, le=1.0)
    operational_control: bool
    financial_control: bool


class ShareWithRegulator(_NewShare):
    """A project's approved years shared with a regulator: the organisation's sector, a
    section letter of GB/T 4754-2017 (A to T)."""

    relation: Literal["regulator"]
    sector: str = Field(pattern=r"^[A-T]$")


# one of the two, told apart by ``relation`` (not a pydantic discriminator: Body's validators
# run before the discriminator would be read)
NewShare = ShareWithParent | ShareWithRegulator


class ShareOut(BaseModel):
    id: int
    project_id: int
    project: str
    organisation: str
    relation: Relation
    ownership_share: float | None
    operational_control: bool | None
    financial_control: bool | None
    sector: str | None
    created_at: str
    created_by: str
    revoked_at: str | None
    revoked_by: str | None


class ScopeTotalsOut(BaseModel):
    scope1_tco2e: float
    scope2_location_tco2e: float
    scope2_market_tco2e: float
    scope3_tco2e: float
    total_location_tco2e: float
    total_market_tco2e: float


class ConsolidatedOut(BaseModel):
    organisation_id: int
    organisation: str
    project_id: int
    project: str
    revision: int
    inventory_approach: str | None
    approach_matches: bool
    ownership_share: float | None
    operational_control: bool | None
    financial_control: bool | None
    consolidation_share: float
    reported: ScopeTotalsOut
    consolidated: ScopeTotalsOut


class LeftOutOut(BaseModel):
    organisation_id: int
    organisation: str
    projects: list[str]


class ConsolidationOut(BaseModel):
    year: int
    approach: ConsolidationApproach
    own: ConsolidatedOut | None
    subsidiaries: list[ConsolidatedOut]
    missing: list[LeftOutOut]
    conflicts: list[LeftOutOut]
    group: ScopeTotalsOut
    complete: bool


class CellOut(BaseModel):
    province: str
    sector: str
    scope: str
    emissions_tco2e: float
    organisations: int


class RegulatorTotalsOut(BaseModel):
    year: int
    min_organisations: int
    # the p% rule's share: a cell whose total less its two largest contributions is under this
    # share of the largest is suppressed
    p_share: float
    cells: list[CellOut]
    suppressed_cells: int
    organisations_sharing: int
    organisations_counted: int
    organisations_missing: int
    organisations_in_conflict: int


def _share(info: ShareInfo) -> ShareOut:
    terms = info.terms
    return ShareOut(
        id=info.id,
        project_id=info.project_id,
        project=info.project,
        organisation=info.target,
        relation=terms.relation,
        ownership_share=terms.ownership_share,
        operational_control=terms.operational_control,
        financial_control=terms.financial_control,
        sector=terms.sector,
        created_at=info.created_at,
        created_by=info.created_by,
        revoked_at=info.revoked_at,
        revoked_by=info.revoked_by,
    )


def _totals(totals: ScopeTotals) -> ScopeTotalsOut:
    return ScopeTotalsOut(
        scope1_tco2e=totals.scope1_tco2e,
        scope2_location_tco2e=totals.scope2_location_tco2e,
        scope2_market_tco2e=totals.scope2_market_tco2e,
        scope3_tco2e=totals.scope3_tco2e,
        total_location_tco2e=totals.total_location_tco2e,
        total_market_tco2e=totals.total_market_tco2e,
    )


def _consolidated(item: ConsolidatedInventory) -> ConsolidatedOut:
    return ConsolidatedOut(
        organisation_id=item.organisation_id,
        organisation=item.organisation,
        project_id=item.project_id,
        project=item.project,
        revision=item.revision_number,
        inventory_approach=item.inventory_approach,
        approach_matches=item.approach_matches,
        ownership_share=item.ownership_share,
        operational_control=item.operational_control,
        financial_control=item.financial_control,
        consolidation_share=item.consolidation_share,
        reported=_totals(item.reported),
        consolidated=_totals(item.consolidated),
    )


def _left_out(item: LeftOut) -> LeftOutOut:
    return LeftOutOut(
        organisation_id=item.organisation_id,
        organisation=item.organisation,
        projects=list(item.projects),
    )


def min_cell_organisations(given: int | None = None) -> int:
    """The fewest organisations a regulator's cell is published with: ``given``, else
    ``$TANLU_MIN_CELL_ORGANISATIONS``, else :data:`~tanlu.app.rollups.MIN_CELL_ORGANISATIONS`;
    never fewer than that (a :class:`ValueError` at start)."""
    text = os.environ.get(MIN_CELL_VARIABLE)
    value = given if given is not None else int(text) if text else MIN_CELL_ORGANISATIONS
    if value < MIN_CELL_ORGANISATIONS:
        raise ValueError(
            f"a regulator's cells need at least {MIN_CELL_ORGANISATIONS} organisations, not {value}"
        )
    return value


def cell_p_share() -> float:
    """The p% rule's share of a regulator's cells: ``$TANLU_CELL_P_SHARE``, else
    :data:`~tanlu.app.rollups.CELL_P_SHARE` (a :class:`ValueError` at start outside 0 to 1)."""
    text = os.environ.get(P_SHARE_VARIABLE)
    value = float(text) if text else CELL_P_SHARE
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"the p% rule's share is 0 to 1, not {value}")
    return value


def add_rollup_routes(app: FastAPI, engine: Engine, min_organisations: int | None = None) -> None:
    """The roll-up routes, on ``app``; a regulator's cells are published with at least
    ``min_organisations`` organisations (:func:`min_cell_organisations`)."""
    minimum = min_cell_organisations(min_organisations)
    p_share = cell_p_share()

    @app.get(ORGANISATION + "/shares", openapi_extra=access(Role.VIEWER.value))
    def shares(organisation_id: int, account: Viewer) -> list[ShareOut]:
        """The organisation's shares of its projects, in force and revoked, newest first."""
        return [_share(info) for info in list_shares(engine, organisation_id)]

    @app.post(ORGANISATION + "/shares", status_code=201, openapi_extra=access(Role.ADMIN.value))
    def new_share(organisation_id: int, body: NewShare, account: Admin) -> ShareOut:
        """Share a project's approved years with the organisation's parent (its ownership
        share and control) or with a regulator (the organisation's sector), named exactly; one
        answer (404) for a name that is not there and one whose kind does not fit. Recorded in
        the audit log."""
        if isinstance(body, ShareWithParent):
            terms = ShareTerms(
                Relation.PARENT,
                ownership_share=body.ownership_share,
                operational_control=body.operational_control,
                financial_control=body.financial_control,
            )
        else:
            terms = ShareTerms(Relation.REGULATOR, sector=body.sector)
        info = share_project(
            engine, organisation_id, body.project_id, body.organisation, terms, account.email
        )
        return _share(info)

    @app.delete(ORGANISATION + "/shares/{share_id}", openapi_extra=access(Role.ADMIN.value))
    def revoke(organisation_id: int, share_id: ShareId, account: Admin) -> ShareOut:
        """Revoke a share: its project's years leave the target's roll-ups (recorded in the
        audit log)."""
        return _share(end_share(engine, organisation_id, share_id, account.email))

    @app.get(ORGANISATION + "/consolidation", openapi_extra=access(Role.VIEWER.value))
    def consolidation(
        organisation_id: int,
        account: Viewer,
        year: YearQuery,
        approach: ConsolidationApproach = ConsolidationApproach.OPERATIONAL_CONTROL,
    ) -> ConsolidationOut:
        """The organisation's own approved inventory of the year and its subsidiaries',
        weighted by the approach (equity share: the ownership share; a control approach: all
        or nothing), the group's total by scope, and the subsidiaries left out (no approved
        year, or several)."""
        found = group_consolidation(engine, organisation_id, account.organisation, year, approach)
        return ConsolidationOut(
            year=found.year,
            approach=found.approach,
            own=_consolidated(found.own) if found.own is not None else None,
            subsidiaries=[_consolidated(item) for item in found.subsidiaries],
            missing=[_left_out(item) for item in found.missing],
            conflicts=[_left_out(item) for item in found.conflicts],
            group=_totals(found.group),
            complete=found.complete,
        )

    @app.get(ORGANISATION + "/totals", openapi_extra=access(Role.VIEWER.value))
    def totals(organisation_id: int, account: Viewer, year: YearQuery) -> RegulatorTotalsOut:
        """Province x sector x scope totals of the approved years of the organisations that
        share with this regulator; a cell of fewer than the minimum of organisations is
        suppressed (counted, not shown), and no organisation's own figures are ever shown."""
        found = regulator_view(engine, organisation_id, year, minimum, p_share)
        return RegulatorTotalsOut(
            year=found.year,
            min_organisations=found.min_organisations,
            p_share=found.p_share,
            cells=[
                CellOut(
                    province=cell.province,
                    sector=cell.sector,
                    scope=cell.scope,
                    emissions_tco2e=cell.emissions_tco2e,
                    organisations=cell.organisations,
                )
                for cell in found.cells
            ],
            suppressed_cells=found.suppressed_cells,
            organisations_sharing=found.organisations_sharing,
            organisations_counted=found.organisations_counted,
            organisations_missing=found.organisations_missing,
            organisations_in_conflict=found.organisations_in_conflict,
        )

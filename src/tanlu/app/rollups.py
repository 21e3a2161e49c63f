"""Roll-ups (docs/service.md "Roll-ups"): a parent's consolidation of its subsidiaries'
approved inventories by a consolidation approach, and a regulator's province x sector x scope
totals of the organisations that share with it, with small cells suppressed.

The computations are pure functions over plain data (:func:`consolidate`,
:func:`regulator_totals`, :func:`calculate_consolidation_share`), checkable by hand; the use
cases (:func:`share_project`, :func:`group_consolidation`, :func:`regulator_view`) read the
store and call them.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from tanlu.app.projects import revision_copy
from tanlu.app.provinces import (
    SCOPE_KEYS,
    ProvinceTotals,
    ScopeTotals,
    province_totals,
    read_province_totals,
    site_provinces,
    unknown_province,
)
from tanlu.errors import StoreError, TanluError

# re-exported: the service names the approach through this use case's module
from tanlu.project import ConsolidationApproach as ConsolidationApproach
from tanlu.project import load_project
from tanlu.store.rollups import (
    ApprovedYear,
    Relation,
    ShareInfo,
    ShareTerms,
    create_share,
    revoke_share,
    rollup_inputs,
)

# The sections (门类) of China's industrial classification for national economic activities,
# GB/T 4754-2017《国民经济行业分类》(National Bureau of Statistics; issued 2017-06-30, in force
# 2017-10-01; amendment No. 1 of 2019 left the sections unchanged): letter -> (Chinese, English).
# A regulator's totals are by section; an organisation states its own, by its main activity,
# as the statistical classification of a legal entity does.
INDUSTRY_SECTIONS: dict[str, tuple[str, str]] = {
    "A": ("农、林、牧、渔业", "Agriculture, forestry, animal husbandry and fishery"),
    "B": ("采矿业", "Mining"),
    "C": ("制造业", "Manufacturing"),
    "D": (
        "电力、热力、燃气及水生产和供应业",
        "Production and supply of electricity, heat, gas and water",
    ),
    "E": ("建筑业", "Construction"),
    "F": ("批发和零售业", "Wholesale and retail trade"),
    "G": ("交通运输、仓储和邮政业", "Transport, storage and postal services"),
    "H": ("住宿和餐饮业", "Accommodation and catering"),
    "I": (
        "信息传输、软件和信息技术服务业",
        "Information transmission, software and information technology services",
    ),
    "J": ("金融业", "Finance"),
    "K": ("房地产业", "Real estate"),
    "L": ("租赁和商务服务业", "Leasing and business services"),
    "M": ("科学研究和技术服务业", "Scientific research and technical services"),
    "N": (
        "水利、环境和公共设施管理业",
        "Management of water conservancy, environment and public facilities",
    ),
    "O": ("居民服务、修理和其他服务业", "Resident services, repair and other services"),
    "P": ("教育", "Education"),
    "Q": ("卫生和社会工作", "Health and social work"),
    "R": ("文化、体育和娱乐业", "Culture, sports and entertainment"),
    "S": (
        "公共管理、社会保障和社会组织",
        "Public administration, social security and social organisations",
    ),
    "T": ("国际组织", "International organisations"),
}

# The fewest organisations a regulator's cell is published with: the threshold (minimum
# frequency) rule of statistical disclosure control, under which a cell of fewer respondents
# is sensitive; "some agencies require at least five respondents in a cell, others require
# three" (OECD Glossary of Statistical Terms, "Threshold rule", from the Glossary of Statistical
# Disclosure Control, UNECE/Eurostat work session, 2005; Hundepool et al., Handbook on
# Statistical Disclosure Control, ch. 4 "Magnitude tabular data"). With three, neither of two
# organisations in a cell learns the other's figure from it. A service may require more
# (``TANLU_MIN_CELL_ORGANISATIONS``), never fewer.
MIN_CELL_ORGANISATIONS = 3

# The p% rule of statistical disclosure control, beside the threshold rule: a cell is also
# sensitive when its total less its two largest contributions is under ``p`` times the largest
# (the second largest organisation, who knows its own figure, would estimate the largest to
# within p%; Statistics New Zealand, "Microdata access output guide", 2013, as quoted in the
# OECD/Eurostat glossary of "p% rule"; Hundepool et al., Handbook on Statistical Disclosure
# Control, ch. 4, which matches a (2,80)-dominance rule with p = 25% and a (2,95) one with
# p = 5.26%). Agencies keep their p confidential; 10% is tanlu's assumption (docs/service.md,
# "A regulator's totals"), an input: ``TANLU_CELL_P_SHARE`` or ``tanlu serve --cell-p-share``.
CELL_P_SHARE = 0.10

# The scopes of a regulator's cells, named as the inventory names them without the unit.
CELL_SCOPES: tuple[str, ...] = tuple(key.removesuffix("_tco2e") for key in SCOPE_KEYS)


def check_terms(terms: ShareTerms) -> ShareTerms:
    """The terms of a share if they are whole: a parent's ownership share [0..1] and both
    control flags, a regulator's sector (a GB/T 4754-2017 section letter), and nothing of the
    other relation.

    Raises
    ------
    StoreError
        Naming what is missing, out of range or not of the relation.
    """
    if terms.relation is Relation.PARENT:
        share = terms.ownership_share
        if share is None or not 0.0 <= share <= 1.0:
            raise StoreError("a parent's ownership_share is a number from 0 to 1")
        if terms.operational_control is None or terms.financial_control is None:
            raise StoreError(
                "a share with a parent states operational_control and financial_control"
            )
        if terms.sector is not None:
            raise StoreError("a share with a parent states no sector")
    else:
        if terms.sector not in INDUSTRY_SECTIONS:
            raise StoreError(
                "a share with a regulator states the sector: a GB/T 4754-2017 section, "
                f"{', '.join(INDUSTRY_SECTIONS)}"
            )
        if any(
            value is not None
            for value in (terms.ownership_share, terms.operational_control, terms.financial_control)
        ):
            raise StoreError("a share with a regulator states no ownership or control")
    return terms


def share_project(
    engine: Engine,
    organisation_id: int,
    project_id: int,
    target_name: str,
    terms: ShareTerms,
    actor: str,
) -> ShareInfo:
    """Share a project's approved years with the organisation named ``target_name``
    (:func:`tanlu.store.rollups.create_share`, after :func:`check_terms`)."""
    return create_share(engine, organisation_id, project_id, target_name, check_terms(terms), actor)


def end_share(engine: Engine, organisation_id: int, share_id: int, actor: str) -> ShareInfo:
    """Revoke one of the organisation's shares (:func:`tanlu.store.rollups.revoke_share`)."""
    return revoke_share(engine, organisation_id, share_id, actor)


# ---------------------------------------------------------------- a parent's consolidation


def calculate_consolidation_share(
    approach: ConsolidationApproach,
    ownership_share: float,
    operational_control: bool,
    financial_control: bool,
) -> float:
    """The share of a subsidiary's emissions its parent accounts for [0..1] (GHG Protocol
    Corporate Standard, ch. 3): under equity share its ownership share; under a control
    approach all of them if it has that control, none otherwise."""
    if approach is ConsolidationApproach.EQUITY_SHARE:
        return ownership_share
    if approach is ConsolidationApproach.OPERATIONAL_CONTROL:
        return 1.0 if operational_control else 0.0
    return 1.0 if financial_control else 0.0


@dataclass(frozen=True)
class ReportedYear:
    """A project's approved year as a roll-up reads it: its scope totals and the
    consolidation approach its own inventory was made under."""

    project_id: int
    project: str
    revision_number: int
    inventory_approach: str | None
    totals: ScopeTotals


@dataclass(frozen=True)
class Subsidiary:
    """An organisation that shares with the parent: the terms it states and its shared
    projects approved for the year (none: missing; more than one: a conflict)."""

    organisation_id: int
    organisation: str
    ownership_share: float
    operational_control: bool
    financial_control: bool
    projects: tuple[str, ...]
    years: tuple[ReportedYear, ...]


@dataclass(frozen=True)
class ConsolidatedInventory:
    """One approved inventory in a consolidation: as reported (``reported``) and the part the
    parent accounts for (``consolidated`` = ``reported`` x ``consolidation_share``).
    ``approach_matches``: its own inventory was made under the approach consolidated by (GHG
    Protocol ch. 3 asks for one approach at every level; a mismatch is shown, not refused)."""

    organisation_id: int
    organisation: str
    project_id: int
    project: str
    revision_number: int
    inventory_approach: str | None
    approach_matches: bool
    ownership_share: float | None
    operational_control: bool | None
    financial_control: bool | None
    consolidation_share: float
    reported: ScopeTotals
    consolidated: ScopeTotals


@dataclass(frozen=True)
class LeftOut:
    """An organisation left out of a roll-up and why: ``projects`` are its shared projects
    (missing: none approved for the year) or those approved for the year (a conflict: more than
    one, which tanlu cannot tell apart from one counted twice)."""

    organisation_id: int
    organisation: str
    projects: tuple[str, ...]


@dataclass(frozen=True)
class Consolidation:
    """A parent's consolidated inventory of a year: its own approved inventory (if any), each
    subsidiary's, the group's total by scope, and who was left out (``complete``: nobody)."""

    organisation_id: int
    year: int
    approach: ConsolidationApproach
    own: ConsolidatedInventory | None
    subsidiaries: tuple[ConsolidatedInventory, ...]
    missing: tuple[LeftOut, ...]
    conflicts: tuple[LeftOut, ...]
    group: ScopeTotals

    @property
    def complete(self) -> bool:
        return not self.missing and not self.conflicts


def _consolidated(
    organisation_id: int,
    organisation: str,
    year: ReportedYear,
    approach: ConsolidationApproach,
    share: float,
    terms: tuple[float, bool, bool] | None,
) -> ConsolidatedInventory:
    ownership, operational, financial = terms if terms is not None else (None, None, None)
    return ConsolidatedInventory(
        organisation_id,
        organisation,
        year.project_id,
        year.project,
        year.revision_number,
        year.inventory_approach,
        year.inventory_approach == approach.value,
        ownership,
        operational,
        financial,
        share,
        year.totals,
        year.totals.scaled(share),
    )


def consolidate(
    organisation_id: int,
    organisation: str,
    year: int,
    approach: ConsolidationApproach,
    own: list[ReportedYear],
    subsidiaries: list[Subsidiary],
) -> Consolidation:
    """A parent's consolidated inventory of ``year``: its own approved inventory at 100% (when
    exactly one of its projects is approved for the year) plus each subsidiary's, weighted by
    :func:`calculate_consolidation_share`; a subsidiary with no approved year is missing and
    one with several is a conflict, both left out of the group total and listed."""
    group = ScopeTotals()
    conflicts: list[LeftOut] = []
    mine: ConsolidatedInventory | None = None
    if len(own) == 1:
        mine = _consolidated(organisation_id, organisation, own[0], approach, 1.0, None)
        group = group.plus(mine.consolidated)
    elif own:
        conflicts.append(LeftOut(organisation_id, organisation, tuple(y.project for y in own)))
    counted: list[ConsolidatedInventory] = []
    missing: list[LeftOut] = []
    for member in subsidiaries:
        if not member.years:
            missing.append(LeftOut(member.organisation_id, member.organisation, member.projects))
            continue
        if len(member.years) > 1:
            conflicts.append(
                LeftOut(
                    member.organisation_id,
                    member.organisation,
                    tuple(y.project for y in member.years),
                )
            )
            continue
        terms = (member.ownership_share, member.operational_control, member.financial_control)
        share = calculate_consolidation_share(approach, *terms)
        item = _consolidated(
            member.organisation_id, member.organisation, member.years[0], approach, share, terms
        )
        counted.append(item)
        group = group.plus(item.consolidated)
    return Consolidation(
        organisation_id,
        year,
        approach,
        mine,
        tuple(counted),
        tuple(missing),
        tuple(conflicts),
        group,
    )


def _reported(approved: ApprovedYear) -> ReportedYear:
    document: dict[str, Any] = json.loads(approved.inventory)
    approach = document.get("consolidation_approach")
    return ReportedYear(
        approved.project_id,
        approved.project,
        approved.revision_number,
        str(approach) if approach is not None else None,
        ScopeTotals.of(document.get("totals") or {}),
    )


def group_consolidation(
    engine: Engine,
    organisation_id: int,
    organisation: str,
    year: int,
    approach: ConsolidationApproach,
) -> Consolidation:
    """The consolidation (:func:`consolidate`) of ``year`` of the organisation and every
    organisation that shares projects with it as its parent."""
    inputs = rollup_inputs(engine, organisation_id, Relation.PARENT, year)
    by_member: dict[int, list[Any]] = defaultdict(list)
    for shared in inputs.shared:
        by_member[shared.share.organisation_id].append(shared)
    subsidiaries = []
    for member_id, shares in by_member.items():
        terms = shares[0].share.terms  # one set of terms per organisation and parent
        subsidiaries.append(
            Subsidiary(
                member_id,
                shares[0].share.organisation,
                float(terms.ownership_share or 0.0),
                bool(terms.operational_control),
                bool(terms.financial_control),
                tuple(s.share.project for s in shares),
                tuple(_reported(s.approved) for s in shares if s.approved is not None),
            )
        )
    subsidiaries.sort(key=lambda s: (s.organisation, s.organisation_id))
    own = [_reported(approved) for approved in inputs.own]
    return consolidate(organisation_id, organisation, year, approach, own, subsidiaries)


# ---------------------------------------------------------------- a regulator's totals


@dataclass(frozen=True)
class RegulatedYear:
    """One organisation's approved year as its regulator counts it: the sector it states and
    its scope totals by province."""

    organisation_id: int
    sector: str
    provinces: tuple[ProvinceTotals, ...]


@dataclass(frozen=True)
class Cell:
    """A published cell: the emissions of one scope [tCO2e] of ``organisations`` organisations
    (at least the minimum) of one sector in one province."""

    province: str
    sector: str
    scope: str
    emissions_tco2e: float
    organisations: int


@dataclass(frozen=True)
class RegulatorTotals:
    """A regulator's totals of a year: the published cells and how many were suppressed
    (fewer than ``min_organisations`` organisations); how many organisations share with it,
    how many were counted, and how many were left out (no approved year, or several)."""

    organisation_id: int
    year: int
    min_organisations: int
    p_share: float
    cells: tuple[Cell, ...]
    suppressed_cells: int
    organisations_sharing: int
    organisations_counted: int
    organisations_missing: int
    organisations_in_conflict: int


def regulator_totals(
    organisation_id: int,
    year: int,
    counted: list[RegulatedYear],
    min_organisations: int = MIN_CELL_ORGANISATIONS,
    *,
    sharing: int | None = None,
    missing: int = 0,
    in_conflict: int = 0,
    p_share: float = CELL_P_SHARE,
) -> RegulatorTotals:
    """Province x sector x scope totals of the ``counted`` organisations' years, each cell
    published only when at least ``min_organisations`` organisations contribute to it; an
    organisation contributes to a cell where its emissions are not zero (one whose figure there
    is zero would otherwise make another's cell count as shared while showing that one's figure
    alone), and only when no organisation dominates it (the p% rule, ``p_share``:
    :data:`CELL_P_SHARE`). Suppressed cells are counted, never shown; no totals over cells are
    given, so that no suppressed cell can be found by subtraction."""
    if min_organisations < 1:
        raise ValueError("a cell needs at least one organisation")
    if not 0.0 <= p_share <= 1.0:
        raise ValueError(f"the p% rule's share is 0 to 1, not {p_share}")
    shares: dict[tuple[str, str, str], dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for member in counted:
        for row in member.provinces:
            for scope, value in zip(CELL_SCOPES, row.totals.values(), strict=True):
                if value == 0.0:
                    continue
                shares[(row.province, member.sector, scope)][member.organisation_id] += value

    def safe(contributions: dict[int, float]) -> bool:
        if len(contributions) < min_organisations:
            return False
        largest = sorted((abs(v) for v in contributions.values()), reverse=True)
        rest = sum(largest[2:])
        return rest >= p_share * largest[0]

    order = {scope: index for index, scope in enumerate(CELL_SCOPES)}
    published = [
        Cell(province, sector, scope, sum(members.values()), len(members))
        for (province, sector, scope), members in shares.items()
        if safe(members)
    ]
    published.sort(key=lambda c: (c.province, c.sector, order[c.scope]))
    return RegulatorTotals(
        organisation_id,
        year,
        min_organisations,
        p_share,
        tuple(published),
        len(shares) - len(published),
        len(counted) + missing + in_conflict if sharing is None else sharing,
        len(counted),
        missing,
        in_conflict,
    )


def approved_provinces(engine: Engine, approved: ApprovedYear) -> list[ProvinceTotals]:
    """An approved year's scope totals by province: as pinned at its submission, or, for a year
    submitted before they were pinned (migration 0005), computed from its inventory and the
    sites of the revision it was submitted with; all under ``unknown`` when that revision's
    sites cannot be read."""
    if approved.by_province is not None:
        return read_province_totals(approved.by_province)
    document: dict[str, Any] = json.loads(approved.inventory)
    try:
        with revision_copy(
            engine, approved.organisation_id, approved.project_id, approved.revision_number
        ) as root:
            sites = load_project(root, confined=True).sites
    except TanluError:
        return unknown_province(ScopeTotals.of(document.get("totals") or {}))
    return province_totals(document.get("by_site") or [], site_provinces(sites))


def regulator_view(
    engine: Engine,
    organisation_id: int,
    year: int,
    min_organisations: int = MIN_CELL_ORGANISATIONS,
    p_share: float = CELL_P_SHARE,
) -> RegulatorTotals:
    """The regulator's totals of ``year`` (:func:`regulator_totals`) over the organisations
    that share projects with it: an organisation with exactly one shared project approved for
    the year is counted, with the sector its shares state."""
    inputs = rollup_inputs(engine, organisation_id, Relation.REGULATOR, year)
    by_member: dict[int, list[Any]] = defaultdict(list)
    for shared in inputs.shared:
        by_member[shared.share.organisation_id].append(shared)
    counted: list[RegulatedYear] = []
    missing = in_conflict = 0
    for member_id, shares in sorted(by_member.items()):
        approved = [s.approved for s in shares if s.approved is not None]
        if not approved:
            missing += 1
        elif len(approved) > 1:
            in_conflict += 1
        else:
            sector = str(shares[0].share.terms.sector)
            rows = tuple(approved_provinces(engine, approved[0]))
            counted.append(RegulatedYear(member_id, sector, rows))
    return regulator_totals(
        organisation_id,
        year,
        counted,
        min_organisations,
        sharing=len(by_member),
        missing=missing,
        in_conflict=in_conflict,
        p_share=p_share,
    )

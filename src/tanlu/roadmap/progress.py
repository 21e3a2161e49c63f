"""Progress against the plan: actual inventory years set beside the roadmap's planned years.

A plan made from an earlier inventory year (``tanlu roadmap --from-year 2021``) has planned
figures for the years that later got an actual inventory (2022). For each such year this module
compares, by scope, the actual emissions with the planned ones, and, by lever where the data
show it, the actual quantity with the planned one: green-power contracts and PPAs, unbundled
certificates (MWh allocated in the inventory's market-based scope 2) and on-site PV (kWp
commissioned after the year planned from). Efficiency and the reduction levers are not
separately visible in inventory data; their effect is in the scope totals.

A year is on track when its actual gross emissions (scopes 1-3, scope 2 on the plan's basis) do
not exceed the planned ones and its actual green share is not below the planned one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from tanlu.inventory.calculate import InventoryResult
from tanlu.project import Project
from tanlu.roadmap.plan import RoadmapResult, held_mwh

# Relative tolerance of "not above the plan" (solver and rounding noise) [share].
TOLERANCE_SHARE = 1e-6
SCOPE_COLUMNS = {
    "scope1": "scope1_tco2e",
    "scope2_market": "scope2_market_tco2e",
    "scope2_location": "scope2_location_tco2e",
    "scope3": "scope3_tco2e",
}


@dataclass(frozen=True)
class Progress:
    """Actual against planned.

    Attributes
    ----------
    by_scope
        One row per actual year and figure (``scope1``, ``scope2_market``,
        ``scope2_location``, ``scope3``, ``gross``): ``year, figure, planned_tco2e,
        actual_tco2e, variance_tco2e, variance_share, on_track``.
    by_lever
        One row per actual year and measurable lever: ``year, lever, unit, planned, actual,
        variance``.
    summary
        One row per actual year: ``year, planned_gross_tco2e, actual_gross_tco2e,
        planned_green_share, actual_green_share, on_track``.
    """

    by_scope: pd.DataFrame
    by_lever: pd.DataFrame
    summary: pd.DataFrame


def progress_years(project: Project, plan: RoadmapResult) -> list[int]:
    """The reporting years a plan has planned figures for: the years progress is tracked in."""
    return sorted(y for y in project.config.organisation.reporting_years if y in plan.years)


def track_progress(
    project: Project,
    plan: RoadmapResult,
    inventories: Mapping[int, InventoryResult],
    green_shares: Mapping[int, float],
) -> Progress:
    """Compare every reporting year after the plan's start with the plan.

    Parameters
    ----------
    project
        The project.
    plan
        A roadmap made from an earlier inventory year.
    inventories, green_shares
        The inventory and the green share of electricity (``ElectricityResult.totals``
        ``green_share``) of every year of :func:`progress_years`, computed once by the caller
        (:func:`tanlu.app.run_roadmap`).

    Returns
    -------
    Progress
        Empty tables when no reporting year falls inside the plan.

    Raises
    ------
    ValueError
        When an inventory or a green share of a tracked year is missing.
    """
    years = progress_years(project, plan)
    missing = [y for y in years if y not in inventories or y not in green_shares]
    if missing:
        raise ValueError(
            f"track_progress needs the inventory and green share of {missing} (not given)"
        )
    planned = plan.by_year.set_index("year")
    levers = plan.by_lever.set_index(["lever", "year"])
    scope_rows, lever_rows, summary_rows = [], [], []
    for year in years:
        inventory = inventories[year]
        actual = {
            "scope1": inventory.scope1_tco2e,
            "scope2_market": inventory.scope2_market_tco2e,
            "scope2_location": inventory.scope2_location_tco2e,
            "scope3": inventory.scope3_tco2e,
        }
        actual["gross"] = (
            actual["scope1"] + actual[f"scope2_{plan.scope2_basis}"] + actual["scope3"]
        )
        plan_row = planned.loc[year]
        expected = {name: float(plan_row[column]) for name, column in SCOPE_COLUMNS.items()}
        expected["gross"] = float(plan_row["gross_tco2e"])
        for figure, value in actual.items():
            target = expected[figure]
            variance = value - target
            scope_rows.append(
                {
                    "year": year,
                    "figure": figure,
                    "planned_tco2e": target,
                    "actual_tco2e": value,
                    "variance_tco2e": variance,
                    "variance_share": variance / target if target else 0.0,
                    "on_track": value <= target * (1 + TOLERANCE_SHARE) + TOLERANCE_SHARE,
                }
            )
        # contracts and certificates held: own sites and leased assets, as the plan buys them
        measured = held_mwh(inventory)
        start = pd.Timestamp(f"{plan.from_year + 1}-01-01")
        end = pd.Timestamp(f"{year}-12-31")
        measured["onsite_pv"] = sum(
            system.capacity_kw
            for system in project.config.pv_systems
            if system.commissioned is not None and start <= pd.Timestamp(system.commissioned) <= end
        )
        for lever, value in measured.items():
            if (lever, year) not in levers.index:
                continue
            target = float(levers.at[(lever, year), "quantity"])
            lever_rows.append(
                {
                    "year": year,
                    "lever": lever,
                    "unit": str(levers.at[(lever, year), "unit"]),
                    "planned": target,
                    "actual": value,
                    "variance": value - target,
                }
            )
        green = float(green_shares[year])
        planned_green = float(plan_row["green_share"])
        gross_ok = actual["gross"] <= expected["gross"] * (1 + TOLERANCE_SHARE) + TOLERANCE_SHARE
        summary_rows.append(
            {
                "year": year,
                "planned_gross_tco2e": expected["gross"],
                "actual_gross_tco2e": actual["gross"],
                "planned_green_share": planned_green,
                "actual_green_share": green,
                "on_track": bool(gross_ok and green >= planned_green - TOLERANCE_SHARE),
            }
        )
    return Progress(
        by_scope=pd.DataFrame(
            scope_rows,
            columns=[
                "year",
                "figure",
                "planned_tco2e",
                "actual_tco2e",
                "variance_tco2e",
                "variance_share",
                "on_track",
            ],
        ),
        by_lever=pd.DataFrame(
            lever_rows, columns=["year", "lever", "unit", "planned", "actual", "variance"]
        ),
        summary=pd.DataFrame(
            summary_rows,
            columns=[
                "year",
                "planned_gross_tco2e",
                "actual_gross_tco2e",
                "planned_green_share",
                "actual_green_share",
                "on_track",
            ],
        ),
    )

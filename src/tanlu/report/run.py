"""The run's document and its disclosure tables (the inventory table, the trend, the climate
metrics, the factors used), built from results already computed.

:func:`tanlu.app.run_project` composes the run and returns a :class:`RunResult`; everything
the report shows is read from that document, so the report and ``results.json`` cannot
disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tanlu.inventory.calculate import InventoryResult
from tanlu.project import Project, TargetKind
from tanlu.roadmap.levers import read_lever_defaults
from tanlu.roadmap.plan import (
    RoadmapResult,
    settings_dict,
)
from tanlu.roadmap.scenarios import flatten_settings

# Disclosure references (the requirement each row answers). IFRS S2 Climate-related
# Disclosures (ISSB, June 2023): paragraph 29(a) asks for absolute gross scope 1, scope 2 and
# scope 3 emissions and how they were measured; paragraphs 33-36 for targets and progress.
IFRS_S2_EMISSIONS = "IFRS S2 29(a)"
IFRS_S2_TARGETS = "IFRS S2 33-36"
# Paragraph 29(a)(vi): the scope 3 categories included in the measurement (GHG Protocol Scope 3
# Standard categories).
IFRS_S2_SCOPE3_CATEGORIES = "IFRS S2 29(a)(vi)"
# The energy questions of the CDP climate change questionnaire (the green-electricity share).
CDP_ENERGY = "CDP climate change questionnaire, energy"


@dataclass(frozen=True)
class RunResult:
    """Every result of a run, and the tables written to the workbook.

    Attributes
    ----------
    document
        The JSON-ready results (schema ``tanlu.run/1``, docs/json-output.md).
    tables
        One table per workbook sheet (sheet name -> table).
    """

    document: dict[str, Any]
    tables: dict[str, pd.DataFrame]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the document (``results.json``)."""
        return self.document


def _sbti_rate() -> float:
    """The bundled SBTi linear reduction rate (levers.csv, docs/levers.md) [share/yr]."""
    defaults = read_lever_defaults()
    row = defaults.loc[
        (defaults["lever"] == "all")
        & (defaults["parameter"] == "sbti_linear_reduction_share_per_year")
    ]
    return float(row["value"].iloc[0])


def ghg_inventory_table(inventories: dict[int, InventoryResult]) -> pd.DataFrame:
    """The GHG Protocol inventory table: one row per year and line, in tCO2e.

    Lines: scope 1, scope 2 location- and market-based, scope 3 and each of its categories,
    totals both ways, and Montreal Protocol gases reported outside the scopes.
    """
    rows = []
    for year, result in sorted(inventories.items()):
        totals = result.totals
        lines = [
            ("scope1", "Scope 1", totals["scope1_tco2e"]),
            ("scope2_location", "Scope 2 (location-based)", totals["scope2_location_tco2e"]),
            ("scope2_market", "Scope 2 (market-based)", totals["scope2_market_tco2e"]),
            ("scope3", "Scope 3", totals["scope3_tco2e"]),
        ]
        categories = result.by_category.loc[result.by_category["scope"] == 3]
        for row in categories.itertuples(index=False):
            lines.append(
                (f"scope3.{row.category}", f"Scope 3: {row.category}", float(row.emissions_tco2e))
            )
        lines += [
            ("total_location", "Total (location-based scope 2)", totals["total_location_tco2e"]),
            ("total_market", "Total (market-based scope 2)", totals["total_market_tco2e"]),
            ("outside_scopes", "Outside the scopes", totals["outside_scopes_tco2e"]),
        ]
        rows += [
            {
                "year": year,
                "line": key,
                "label": label,
                "emissions_tco2e": float(value),
                "reference": IFRS_S2_EMISSIONS,
            }
            for key, label, value in lines
        ]
    return pd.DataFrame(rows, columns=["year", "line", "label", "emissions_tco2e", "reference"])


TREND_SCOPE_COLUMNS = [
    "year",
    "scope1_tco2e",
    "scope2_location_tco2e",
    "scope2_market_tco2e",
    "scope3_tco2e",
    "total_location_tco2e",
    "total_market_tco2e",
    "total_market_change_share",
]
TREND_SITE_COLUMNS = [
    "site",
    "entity",
    "year",
    "scope1_tco2e",
    "scope2_location_tco2e",
    "scope2_market_tco2e",
    "scope3_tco2e",
    "total_market_tco2e",
]


def inventory_trend(
    inventories: dict[int, InventoryResult], base_year: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The inventory year by year: scope totals per year, and each site's per year.

    Returns
    -------
    by_scope
        One row per year, ascending: ``year``, the scope totals and both totals [tCO2e] of
        the year's inventory, and ``total_market_change_share`` (the market-based total ÷
        ``base_year``'s − 1; NaN when the base year's is 0 or not among the inventories).
    by_site
        One row per site and year it reports, by site then year: ``site, entity, year``,
        ``scope1_tco2e, scope2_location_tco2e, scope2_market_tco2e, scope3_tco2e`` and
        ``total_market_tco2e`` (= scope 1 + scope 2 market-based + scope 3) [tCO2e].
    """
    scope_rows = []
    site_tables = []
    for year, result in sorted(inventories.items()):
        totals = result.totals
        scope_rows.append(
            {"year": year, **{c: float(totals[c]) for c in TREND_SCOPE_COLUMNS[1:-1]}}
        )
        sites = result.by_site.assign(year=year)
        sites["total_market_tco2e"] = (
            sites["scope1_tco2e"] + sites["scope2_market_tco2e"] + sites["scope3_tco2e"]
        )
        site_tables.append(sites[TREND_SITE_COLUMNS])
    by_scope = pd.DataFrame(scope_rows, columns=TREND_SCOPE_COLUMNS)
    base = by_scope.loc[by_scope["year"] == base_year, "total_market_tco2e"]
    base_tco2e = float(base.iloc[0]) if len(base) else 0.0
    by_scope["total_market_change_share"] = (
        by_scope["total_market_tco2e"] / base_tco2e - 1.0 if base_tco2e else np.nan
    )
    by_site = (
        pd.concat(site_tables, ignore_index=True)
        .sort_values(["site", "year"], kind="stable")
        .reset_index(drop=True)
        if site_tables
        else pd.DataFrame(columns=TREND_SITE_COLUMNS)
    )
    return by_scope, by_site


def factors_used_all_years(inventories: dict[int, InventoryResult]) -> pd.DataFrame:
    """Every emission factor used in any inventory year: one row per factor id.

    The columns of each year's ``factors_used`` (value in the factor's own ``unit``) and
    ``years``, the inventory years that used it (``"2021, 2022"``), sorted by factor id.
    """
    first: dict[str, dict[str, Any]] = {}
    years_used: dict[str, list[int]] = {}
    columns: list[str] = []
    for year, result in sorted(inventories.items()):
        columns = columns or list(result.factors_used.columns)
        for row in result.factors_used.to_dict("records"):
            factor_id = str(row["factor_id"])
            first.setdefault(factor_id, row)
            years_used.setdefault(factor_id, []).append(year)
    rows = [
        {**first[factor_id], "years": ", ".join(str(y) for y in years_used[factor_id])}
        for factor_id in sorted(first)
    ]
    return pd.DataFrame(rows, columns=[*columns, "years"])


def fallbacks_all_years(inventories: dict[int, InventoryResult]) -> pd.DataFrame:
    """Every inventory year's factor fallbacks: ``year`` and the columns of each year's
    ``fallbacks`` (``activity, factor_id, fallback, sites``), by year."""
    tables = [
        result.fallbacks.assign(year=year)
        for year, result in sorted(inventories.items())
        if not result.fallbacks.empty
    ]
    columns = ["year", "activity", "factor_id", "fallback", "sites"]
    if not tables:
        return pd.DataFrame(columns=columns)
    return pd.concat(tables, ignore_index=True)[columns]


def climate_metrics_table(
    project: Project,
    inventories: dict[int, InventoryResult],
    green_shares: dict[int, float],
    roadmap: RoadmapResult | None,
) -> pd.DataFrame:
    """Climate metrics in the shape of IFRS S2 / CDP questions: emissions, energy, targets.

    One row per metric and year: ``metric, year, value, unit, reference``. Emissions per year:
    gross scope 1, scope 2 both ways, scope 3 and each of its categories
    (``gross_scope3_tco2e.<category>``) [tCO2e], and the green-electricity share.
    """
    organisation = project.config.organisation
    rows: list[dict[str, Any]] = []
    for year, result in sorted(inventories.items()):
        totals = result.totals
        for metric, column in (
            ("gross_scope1_tco2e", "scope1_tco2e"),
            ("gross_scope2_location_tco2e", "scope2_location_tco2e"),
            ("gross_scope2_market_tco2e", "scope2_market_tco2e"),
            ("gross_scope3_tco2e", "scope3_tco2e"),
        ):
            rows.append(
                {
                    "metric": metric,
                    "year": year,
                    "value": float(totals[column]),
                    "unit": "tCO2e",
                    "reference": IFRS_S2_EMISSIONS,
                }
            )
        # each scope 3 category of the year, after the scope 3 total
        categories = result.by_category.loc[result.by_category["scope"] == 3]
        for row in categories.itertuples(index=False):
            rows.append(
                {
                    "metric": f"gross_scope3_tco2e.{row.category}",
                    "year": year,
                    "value": float(row.emissions_tco2e),
                    "unit": "tCO2e",
                    "reference": IFRS_S2_SCOPE3_CATEGORIES,
                }
            )
        if year in green_shares:
            rows.append(
                {
                    "metric": "green_electricity_share",
                    "year": year,
                    "value": green_shares[year],
                    "unit": "share",
                    "reference": CDP_ENERGY,
                }
            )
    # emission intensity per unit of each output metric, in the years the project gives it
    for output_name, output in project.config.output_metrics.items():
        for year, result in sorted(inventories.items()):
            if year not in output.values:
                continue
            rows.append(
                {
                    "metric": f"intensity_total_market.per_{output_name}",
                    "year": year,
                    "value": result.total_market_tco2e / float(output.values[year]),
                    "unit": f"tCO2e/{output.unit}",
                    "reference": IFRS_S2_EMISSIONS,
                }
            )
    for index, target in enumerate(project.config.targets):
        # the target's level: net emissions of 0 for carbon-neutral and net-zero targets, the
        # share of green electricity, or the linear reduction rate of an absolute target
        if target.kind == TargetKind.GREEN_ELECTRICITY:
            value, unit = target.share, "share"
        elif target.kind in (TargetKind.ABSOLUTE_REDUCTION, TargetKind.INTENSITY_REDUCTION):
            rate = target.annual_reduction_share
            value, unit = (rate if rate is not None else _sbti_rate()), "share/yr"
        else:
            value, unit = 0.0, "tCO2e"
        scopes = "+".join(str(s) for s in target.scopes)
        name = f"target_{index}.{target.kind.value}"
        if target.kind != TargetKind.GREEN_ELECTRICITY:
            name += f".scopes_{scopes}"
        if target.denominator is not None:
            name += f".per_{target.denominator}"
        rows.append(
            {
                "metric": name,
                "year": target.year,
                "value": float(value),
                "unit": unit,
                "reference": IFRS_S2_TARGETS,
            }
        )
    rows.append(
        {
            "metric": "base_year",
            "year": organisation.base_year,
            "value": float(organisation.base_year),
            "unit": "year",
            "reference": IFRS_S2_TARGETS,
        }
    )
    if roadmap is not None:
        met = bool(roadmap.targets["met"].all()) if not roadmap.targets.empty else True
        rows.append(
            {
                "metric": "plan_meets_targets",
                "year": roadmap.years[-1],
                "value": float(met),
                "unit": "flag",
                "reference": IFRS_S2_TARGETS,
            }
        )
    return pd.DataFrame(rows, columns=["metric", "year", "value", "unit", "reference"])


def settings_table(project: Project) -> pd.DataFrame:
    """The ``[roadmap]`` settings in effect (growth, grid factor and price trajectories, the
    scope 2 basis, the certificate rule, ...) as ``setting, value`` rows, one per dotted path.

    Lever overrides and custom levers are left out (they are the plan's ``parameters``, with
    status ``user``), and so is ``[roadmap.uncertainty]`` (the Monte Carlo's ``ranges``).
    """
    rows = [
        {"setting": path, "value": value}
        for path, value in flatten_settings(settings_dict(project.config.roadmap))
        if not path.startswith(("levers.", "custom_levers.", "uncertainty."))
    ]
    return pd.DataFrame(rows, columns=["setting", "value"])


def activity_names(
    catalogue: pd.DataFrame, inventories: dict[int, InventoryResult]
) -> list[dict[str, str]]:
    """``activity, name_en, name_zh`` of every activity an inventory used, sorted by id."""
    used: set[str] = set()
    for result in inventories.values():
        used |= set(result.line_summary["activity"].astype(str))
        used |= set(result.factors_used["activity"].astype(str))
    rows = catalogue.loc[catalogue["activity"].isin(used), ["activity", "name_en", "name_zh"]]
    return [
        {key: str(value) for key, value in row.items()}
        for row in rows.sort_values("activity").to_dict("records")
    ]

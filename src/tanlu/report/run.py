"""The main job: from a project folder to every result, as one JSON-ready document.

``run_project`` validates the inputs, computes the inventory of every base and reporting year,
the green electricity of each (the 24/7 score for the last), the inventory trend year by year,
the roadmap with its bottom-up and model-derived MACCs and its named scenarios side by side
(when the project has targets), and the disclosure tables. Everything the report shows is read
from the document it returns, so the report and ``results.json`` cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tanlu import __version__
from tanlu.electricity.matching import calculate_electricity
from tanlu.ingest.inputs import ProjectInputs, load_inputs, project_years
from tanlu.inventory.calculate import InventoryResult, calculate_inventory
from tanlu.project import Project, TargetKind
from tanlu.roadmap.levers import read_lever_defaults
from tanlu.roadmap.macc import bottom_up_macc, model_macc
from tanlu.roadmap.model import RoadmapInfeasible
from tanlu.roadmap.plan import (
    RoadmapResult,
    planning_data,
    roadmap_problem,
    settings_dict,
    solve_roadmap,
)
from tanlu.roadmap.progress import track_progress
from tanlu.roadmap.scenarios import compare_scenarios, flatten_settings
from tanlu.roadmap.uncertainty import monte_carlo
from tanlu.tables import records

Step = Callable[[str], None]

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


def _activity_names(
    catalogue: pd.DataFrame, inventories: dict[int, InventoryResult]
) -> list[dict[str, str]]:
    """``activity, name_en, name_zh`` of every activity an inventory used, sorted by id."""
    used: set[str] = set()
    for result in inventories.values():
        used |= set(result.lines["activity"].astype(str))
        used |= set(result.factors_used["activity"].astype(str))
    rows = catalogue.loc[catalogue["activity"].isin(used), ["activity", "name_en", "name_zh"]]
    return [
        {key: str(value) for key, value in row.items()}
        for row in rows.sort_values("activity").to_dict("records")
    ]


def count_steps(project: Project, validate: bool = False) -> int:
    """How many steps :func:`run_project` reports (for a progress bar's total).

    ``validate``: whether it reads and checks the inputs itself (no inputs given).
    """
    organisation = project.config.organisation
    steps = 2 * len(project_years(project)) + (1 if validate else 0)
    if project.config.targets:
        settings = project.config.roadmap
        # roadmap, MACC, model-derived MACC, one per scenario
        steps += 3 + len(settings.scenarios)
        if settings.uncertainty is not None and settings.uncertainty.ranges:
            steps += 1
        from_year = settings.from_year or max(organisation.reporting_years)
        if organisation.base_year < from_year:
            steps += 1
    return steps


def run_project(
    project: Project, inputs: ProjectInputs | None = None, step: Step | None = None
) -> RunResult:
    """Compute everything the report needs.

    Parameters
    ----------
    project
        From :func:`tanlu.load_project`.
    inputs
        Already-loaded inputs (read, and so validated, when omitted).
    step
        Told the name of each step as it starts (for a progress display).

    Raises
    ------
    InputError
        When any input is bad: nothing is computed.
    """
    tell = step or (lambda _: None)
    if inputs is None:
        tell("validate")
        inputs = load_inputs(project)
    years = project_years(project)
    inventories: dict[int, InventoryResult] = {}
    for year in years:
        tell(f"inventory {year}")
        inventories[year] = calculate_inventory(project, year, inputs, check_base_year=True)
    electricity: dict[int, dict[str, Any]] = {}
    green_shares: dict[int, float] = {}
    last = years[-1]
    for year in years:
        tell(f"green electricity {year}")
        green = calculate_electricity(
            project, year, inputs, hourly=year == last, inventory=inventories[year]
        )
        electricity[year] = green.to_dict()
        green_shares[year] = float(green.totals["green_share"])
    roadmap: RoadmapResult | None = None
    macc = pd.DataFrame()
    macc_model = pd.DataFrame()
    scenarios: dict[str, Any] | None = None
    extra: dict[str, pd.DataFrame] = {}
    uncertainty: dict[str, Any] | None = None
    progress: dict[str, Any] | None = None
    if project.config.targets:
        tell("roadmap")
        data = planning_data(project, inputs)
        problem = roadmap_problem(project, inputs=inputs, data=data)
        roadmap = solve_roadmap(problem)
        tell("MACC")
        macc = bottom_up_macc(problem)
        tell("model-derived MACC")
        macc_model = model_macc(problem)
        compared = compare_scenarios(project, data, roadmap, inputs, tell)
        scenarios = compared.to_dict()
        extra["scenarios"] = compared.summary
        extra["scenarios_by_year"] = compared.by_year
        extra["scenario_shortfalls"] = compared.shortfalls
        extra["scenario_settings"] = compared.settings
        settings = project.config.roadmap.uncertainty
        if settings is not None and settings.ranges:
            tell("Monte Carlo")
            drawn = monte_carlo(project, data)
            uncertainty = {
                "samples": len(drawn.samples),
                "infeasible_share": drawn.infeasible_share,
                "ranges": [
                    {"path": path, "low": low, "high": high}
                    for path, (low, high) in sorted(settings.ranges.items())
                ],
                "bands": records(drawn.bands),
            }
            extra["monte_carlo_bands"] = drawn.bands
        base_year = project.config.organisation.base_year
        if base_year < data.from_year:
            tell(f"progress against the plan from {base_year}")
            try:
                earlier = solve_roadmap(
                    roadmap_problem(project, inputs=inputs, from_year=base_year)
                )
            except RoadmapInfeasible:
                earlier = None  # no plan from the base year meets the targets: nothing to track
            if earlier is not None:
                tracked = track_progress(project, earlier, inputs)
                progress = {
                    "plan_from_year": base_year,
                    **{
                        name: records(getattr(tracked, name))
                        for name in ("summary", "by_scope", "by_lever")
                    },
                }
                extra["progress_summary"] = tracked.summary
                extra["progress_by_scope"] = tracked.by_scope
                extra["progress_by_lever"] = tracked.by_lever
    roadmap_settings = (
        settings_table(project)
        if roadmap is not None
        else pd.DataFrame(columns=["setting", "value"])
    )
    if roadmap is not None:
        extra["roadmap_settings"] = roadmap_settings
    trend_by_scope, trend_by_site = inventory_trend(
        inventories, project.config.organisation.base_year
    )
    ghg = ghg_inventory_table(inventories)
    metrics = climate_metrics_table(project, inventories, green_shares, roadmap)
    factors_all = factors_used_all_years(inventories)
    fallbacks_all = fallbacks_all_years(inventories)
    organisation = project.config.organisation
    document: dict[str, Any] = {
        "schema": "tanlu.run/1",
        "tanlu_version": __version__,
        "organisation": {
            "name": organisation.name,
            "name_zh": organisation.name_zh,
            "base_year": organisation.base_year,
            "reporting_years": organisation.reporting_years,
            "consolidation_approach": organisation.consolidation_approach.value,
            "gwp_set": organisation.gwp_set.value,
        },
        "sites": [
            {
                "site": site.id,
                "name": site.name,
                "name_zh": site.name_zh,
                "kind": site.kind,
                "province": site.province,
            }
            for site in project.config.sites
        ],
        "activities": _activity_names(inputs.library.activities, inventories),
        "years": years,
        "inventories": {str(y): r.to_dict() for y, r in inventories.items()},
        "factors_used_all": records(factors_all),
        "fallbacks_all": records(fallbacks_all),
        "trend": {"by_scope": records(trend_by_scope), "by_site": records(trend_by_site)},
        "electricity": {str(y): e for y, e in electricity.items()},
        "roadmap": roadmap.to_dict() if roadmap is not None else None,
        "macc": records(macc) if not macc.empty else [],
        "macc_model": records(macc_model) if not macc_model.empty else [],
        "scenarios": scenarios,
        "roadmap_settings": records(roadmap_settings),
        "uncertainty": uncertainty,
        "progress": progress,
        "disclosure": {"ghg_protocol": records(ghg), "climate_metrics": records(metrics)},
    }
    tables: dict[str, pd.DataFrame] = {
        "ghg_protocol": ghg,
        "climate_metrics": metrics,
        "trend_by_scope": trend_by_scope,
        "trend_by_site": trend_by_site,
    }
    for year, result in inventories.items():
        tables[f"by_category_{year}"] = result.by_category
        tables[f"by_site_{year}"] = result.by_site
        tables[f"factors_{year}"] = result.factors_used
    tables["factors_used_all"] = factors_all
    tables["fallbacks_all"] = fallbacks_all
    for year, values in electricity.items():
        tables[f"electricity_{year}"] = pd.DataFrame(values["by_site"])
    if roadmap is not None:
        tables["roadmap_by_year"] = roadmap.by_year
        tables["roadmap_by_lever"] = roadmap.by_lever
        tables["roadmap_targets"] = roadmap.targets
        tables["roadmap_parameters"] = roadmap.parameters
        tables["roadmap_binding_constraints"] = roadmap.binding_constraints
        tables["macc"] = macc
        tables["macc_model"] = macc_model
    tables.update(extra)
    return RunResult(document=document, tables=tables)

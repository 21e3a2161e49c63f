"""The ``run`` use case: from a project to every result, as one JSON-ready document.

:func:`run_project` validates the inputs, computes the inventory of every base and reporting
year (once each), the green electricity of each (the 24/7 score for the last), the inventory
trend year by year, the roadmap with its bottom-up and model-derived MACCs, its Monte Carlo and
its named scenarios side by side (when the project has targets), progress against a plan made
from the base year, and the disclosure tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from tanlu import __version__
from tanlu.app.inputs import OnStep, open_project, read_inputs
from tanlu.app.jobs import run_inventories
from tanlu.app.roadmap import RoadmapDocument, RoadmapOptions, run_roadmap
from tanlu.electricity.matching import calculate_electricity
from tanlu.ingest.inputs import InputTables, ProjectInputs, project_years
from tanlu.project import Project
from tanlu.report.run import (
    RunResult,
    activity_names,
    climate_metrics_table,
    factors_used_all_years,
    fallbacks_all_years,
    ghg_inventory_table,
    inventory_trend,
    settings_table,
)
from tanlu.roadmap.model import RoadmapInfeasible
from tanlu.roadmap.plan import planning_data
from tanlu.roadmap.scenarios import compare_scenarios
from tanlu.tables import records


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
    project: Project | Path,
    inputs: ProjectInputs | InputTables | None = None,
    step: OnStep | None = None,
) -> RunResult:
    """Compute everything the report needs.

    Parameters
    ----------
    project
        A project (:func:`tanlu.load_project`) or its folder.
    inputs
        Already-loaded inputs (read, and so validated, price files included, when omitted), or
        the project's input tables (:class:`tanlu.ingest.InputTables`), validated here.
    step
        Told the name of each step as it starts (for a progress display).

    Raises
    ------
    InputError
        When any input is bad: nothing is computed.
    """
    tell = step or (lambda _: None)
    project = open_project(project)
    if not isinstance(inputs, ProjectInputs):
        tell("validate")
        inputs = read_inputs(project, inputs=inputs)
    years = project_years(project)
    inventories = run_inventories(project, inputs, years, tell)
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
    planned: RoadmapDocument | None = None
    scenarios: dict[str, Any] | None = None
    extra: dict[str, pd.DataFrame] = {}
    progress: dict[str, Any] | None = None
    if project.config.targets:
        data = planning_data(project, inputs, inventories=inventories)
        uncertainty = project.config.roadmap.uncertainty
        samples = uncertainty.samples if uncertainty is not None and uncertainty.ranges else None
        planned = run_roadmap(
            project,
            RoadmapOptions(macc=True, samples=samples),
            inputs,
            inventories,
            data,
            on_step=tell,
            green_shares=green_shares,
        )
        compared = compare_scenarios(project, data, planned.plan, inputs, tell, inventories)
        scenarios = compared.to_dict()
        extra["scenarios"] = compared.summary
        extra["scenarios_by_year"] = compared.by_year
        extra["scenario_shortfalls"] = compared.shortfalls
        extra["scenario_settings"] = compared.settings
        if planned.monte_carlo is not None:
            extra["monte_carlo_bands"] = planned.monte_carlo.bands
        base_year = project.config.organisation.base_year
        if base_year < data.from_year:
            tell(f"progress against the plan from {base_year}")
            try:
                earlier = run_roadmap(
                    project,
                    RoadmapOptions(from_year=base_year),
                    inputs,
                    inventories,
                    planning_data(project, inputs, base_year, inventories),
                    green_shares=green_shares,
                )
            except RoadmapInfeasible:
                earlier = None  # no plan from the base year meets the targets: nothing to track
            if earlier is not None:
                progress = earlier.progress_dict()
                extra["progress_summary"] = earlier.progress.summary
                extra["progress_by_scope"] = earlier.progress.by_scope
                extra["progress_by_lever"] = earlier.progress.by_lever
    roadmap_settings = (
        settings_table(project)
        if planned is not None
        else pd.DataFrame(columns=["setting", "value"])
    )
    if planned is not None:
        extra["roadmap_settings"] = roadmap_settings
    organisation = project.config.organisation
    trend_by_scope, trend_by_site = inventory_trend(inventories, organisation.base_year)
    ghg = ghg_inventory_table(inventories)
    metrics = climate_metrics_table(
        project, inventories, green_shares, planned.plan if planned is not None else None
    )
    factors_all = factors_used_all_years(inventories)
    fallbacks_all = fallbacks_all_years(inventories)
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
        "activities": activity_names(inputs.library.activities, inventories),
        "years": years,
        "inventories": {str(y): r.to_dict() for y, r in inventories.items()},
        "factors_used_all": records(factors_all),
        "fallbacks_all": records(fallbacks_all),
        "trend": {"by_scope": records(trend_by_scope), "by_site": records(trend_by_site)},
        "electricity": {str(y): e for y, e in electricity.items()},
        "roadmap": planned.to_dict() if planned is not None else None,
        "scenarios": scenarios,
        "roadmap_settings": records(roadmap_settings),
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
    if planned is not None:
        plan = planned.plan
        tables["roadmap_by_year"] = plan.by_year
        tables["roadmap_by_lever"] = plan.by_lever
        tables["roadmap_targets"] = plan.targets
        tables["roadmap_parameters"] = plan.parameters
        tables["roadmap_binding_constraints"] = plan.binding_constraints
        tables["macc"] = (
            planned.macc_bottom_up if planned.macc_bottom_up is not None else pd.DataFrame()
        )
        tables["macc_model"] = (
            planned.macc_model if planned.macc_model is not None else pd.DataFrame()
        )
    tables.update(extra)
    return RunResult(document=document, tables=tables)

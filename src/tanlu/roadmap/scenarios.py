"""Named scenarios side by side: the base plan and each ``[roadmap.scenarios]`` entry.

Each scenario's settings are the ``[roadmap]`` settings with its overrides laid over them
(:func:`tanlu.roadmap.plan.scenario_settings`, as ``tanlu roadmap --scenario`` does); its plan
is solved on the planning data of the base plan (the inventories, grid prices and existing PV
are not recomputed), unless the scenario plans from another year. A scenario whose targets
cannot be met is a row with its shortfalls, not an error.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tanlu.ingest.inputs import ProjectInputs
from tanlu.inventory.calculate import InventoryResult
from tanlu.project import Project
from tanlu.roadmap.model import RoadmapInfeasible
from tanlu.roadmap.plan import (
    PlanningData,
    RoadmapResult,
    planning_data,
    roadmap_problem,
    scenario_settings,
    solve_roadmap,
)
from tanlu.tables import records

# The base plan's name, as ``tanlu roadmap`` calls it without ``--scenario``.
BASE_SCENARIO = "default"

SUMMARY_COLUMNS = [
    "scenario",
    "feasible",
    "from_year",
    "last_year",
    "total_discounted_cost_cny",
    "net_discounted_cost_cny",
    "last_year_cost_cny",
    "last_year_gross_tco2e",
    "last_year_offsets_tco2e",
    "last_year_net_tco2e",
    "plan_offsets_tco2e",
    "last_year_green_share",
    "message",
]
BY_YEAR_COLUMNS = ["scenario", "year", "gross_tco2e", "net_tco2e", "green_share", "cost_cny"]
SHORTFALL_COLUMNS = ["scenario", "target", "year", "shortfall", "unit"]
SETTING_COLUMNS = ["scenario", "setting", "value"]


@dataclass(frozen=True)
class ScenarioComparison:
    """The base plan and every named scenario, side by side.

    Attributes
    ----------
    summary
        One row per plan, the base plan (``scenario = "default"``) first: ``scenario,
        feasible, from_year, last_year``; ``total_discounted_cost_cny`` and
        ``net_discounted_cost_cny`` [CNY, discounted to ``from_year``]; ``last_year_cost_cny``
        [CNY] (grid electricity + levers in the last planned year); ``last_year_gross_tco2e``,
        ``last_year_offsets_tco2e`` (avoidance + removal credits), ``last_year_net_tco2e``
        (= gross − offsets) [tCO2e]; ``plan_offsets_tco2e`` [tCO2e] (credits over every
        planned year); ``last_year_green_share`` [0..1]; ``message`` (the shortfall, in
        words, when infeasible; empty otherwise). The figures are NaN when infeasible.
    by_year
        One row per feasible plan and year: ``scenario, year, gross_tco2e, net_tco2e,
        green_share, cost_cny``.
    shortfalls
        One row per target and year an infeasible scenario misses: ``scenario, target, year,
        shortfall, unit``.
    settings
        One row per setting a scenario overrides: ``scenario, setting`` (the dotted path,
        e.g. ``growth_share_per_year.data_centre``) and ``value`` as written.
    """

    summary: pd.DataFrame
    by_year: pd.DataFrame
    shortfalls: pd.DataFrame
    settings: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (``results.json`` key ``scenarios``, docs/report.md)."""
        return {
            name: records(getattr(self, name))
            for name in ("summary", "by_year", "shortfalls", "settings")
        }


def flatten_settings(overrides: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Each overridden setting as ``(dotted path, value)``; a list is written as JSON text."""
    for key, value in overrides.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from flatten_settings(value, f"{path}.")
        elif isinstance(value, bool | int | float | str):
            yield path, value
        else:
            yield path, json.dumps(value, ensure_ascii=False)


def plan_summary(scenario: str, plan: RoadmapResult) -> dict[str, Any]:
    """One plan's row of :attr:`ScenarioComparison.summary`."""
    by_year = plan.by_year
    last = by_year.iloc[-1]
    offsets = by_year["offset_avoidance_tco2e"] + by_year["offset_removal_tco2e"]
    return {
        "scenario": scenario,
        "feasible": True,
        "from_year": plan.from_year,
        "last_year": int(last["year"]),
        "total_discounted_cost_cny": plan.total_discounted_cost_cny,
        "net_discounted_cost_cny": plan.net_discounted_cost_cny,
        "last_year_cost_cny": float(last["cost_cny"]),
        "last_year_gross_tco2e": float(last["gross_tco2e"]),
        "last_year_offsets_tco2e": float(offsets.iloc[-1]),
        "last_year_net_tco2e": float(last["net_tco2e"]),
        "plan_offsets_tco2e": float(offsets.sum()),
        "last_year_green_share": float(last["green_share"]),
        "message": "",
    }


def compare_scenarios(
    project: Project,
    data: PlanningData,
    base: RoadmapResult,
    inputs: ProjectInputs | None = None,
    step: Callable[[str], None] | None = None,
    inventories: Mapping[int, InventoryResult] | None = None,
) -> ScenarioComparison:
    """Solve every named scenario and put it beside the base plan.

    Parameters
    ----------
    project
        The project; its ``[roadmap.scenarios]`` in the order written.
    data
        The base plan's planning data (:func:`tanlu.roadmap.plan.planning_data`), reused by
        every scenario that plans from the same year.
    base
        The base plan, solved on ``data``.
    inputs
        The project's inputs, for a scenario that plans from another year.
    step
        Told the name of each scenario as it starts.
    inventories
        Inventories already computed, by year, for a scenario that plans from another year.

    Raises
    ------
    ProjectError
        When a scenario's overrides are not valid settings.
    """
    tell = step or (lambda _: None)
    summary = [plan_summary(BASE_SCENARIO, base)]
    by_year = [base.by_year.assign(scenario=BASE_SCENARIO)[BY_YEAR_COLUMNS]]
    shortfalls = []
    settings_rows = []
    for name, overrides in project.config.roadmap.scenarios.items():
        tell(f"scenario {name}")
        settings_rows += [
            {"scenario": name, "setting": path, "value": value}
            for path, value in flatten_settings(overrides)
        ]
        settings = scenario_settings(project, name)
        own_data = (
            data
            if settings.from_year in (None, data.from_year)
            else planning_data(project, inputs, settings.from_year, inventories)
        )
        problem = roadmap_problem(project, settings=settings, data=own_data)
        try:
            plan = solve_roadmap(problem, name)
        except RoadmapInfeasible as error:
            missing = {column: np.nan for column in SUMMARY_COLUMNS}
            summary.append(
                {
                    **missing,
                    "scenario": name,
                    "feasible": False,
                    "from_year": problem.baseline.from_year,
                    "last_year": problem.baseline.years[-1],
                    "message": str(error),
                }
            )
            shortfalls.append(error.shortfalls.assign(scenario=name))
            continue
        summary.append(plan_summary(name, plan))
        by_year.append(plan.by_year.assign(scenario=name)[BY_YEAR_COLUMNS])
    return ScenarioComparison(
        summary=pd.DataFrame(summary, columns=SUMMARY_COLUMNS),
        by_year=pd.concat(by_year, ignore_index=True),
        shortfalls=(
            pd.concat(shortfalls, ignore_index=True)[SHORTFALL_COLUMNS]
            if shortfalls
            else pd.DataFrame(columns=SHORTFALL_COLUMNS)
        ),
        settings=pd.DataFrame(settings_rows, columns=SETTING_COLUMNS),
    )

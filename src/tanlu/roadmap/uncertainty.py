"""Sweeps and Monte Carlo over roadmap settings: how cost and emissions move with the inputs.

A *path* names one setting of ``[roadmap]``, with dots into tables:
``growth_share_per_year.data_centre``, ``grid_factor_change_share_per_year``,
``electricity_price_change_share_per_year``, ``levers.gec.price_cny_per_mwh``. A sweep solves
the roadmap once per value of one path; Monte Carlo draws every path of
``[roadmap.uncertainty.ranges]`` uniformly between its low and high value, ``samples`` times
(seeded: the same draws every run), and reports percentiles of cost and emissions per year.

The inventories, grid prices and existing PV are computed once (:func:`planning_data`); each
variant rebuilds only the baseline, the levers and the model. A variant whose targets cannot be
met is counted, not fatal: the bands are over the feasible ones and the infeasible share is
reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from tanlu.errors import ProjectError
from tanlu.project import Project, RoadmapSettings
from tanlu.roadmap.model import RoadmapInfeasible
from tanlu.roadmap.plan import (
    PlanningData,
    RoadmapResult,
    roadmap_problem,
    scenario_settings,
    settings_dict,
    solve_roadmap,
)

PERCENTILES = (5, 50, 95)
BAND_FIGURES = ("gross_tco2e", "net_tco2e", "cost_cny", "net_cost_cny")


@dataclass(frozen=True)
class Uncertainty:
    """Monte Carlo results.

    Attributes
    ----------
    samples
        One row per draw: ``sample``, every drawn path's value, ``feasible``,
        ``net_discounted_cost_cny`` and the last year's ``gross_tco2e`` and ``green_share``
        (NaN when infeasible).
    bands
        One row per year: ``year`` and, for each figure of :data:`BAND_FIGURES`, the columns
        ``<figure>_p5``, ``<figure>_p50``, ``<figure>_p95`` over the feasible draws.
    infeasible_share
        Share of draws whose targets cannot be met [0..1].
    """

    samples: pd.DataFrame
    bands: pd.DataFrame
    infeasible_share: float


def with_values(
    settings: RoadmapSettings, values: dict[str, float], config: str = "tanlu.toml"
) -> RoadmapSettings:
    """The settings with each dotted path set to its value.

    Raises
    ------
    ProjectError
        When a path does not lead to a setting, or the value is not valid there.
    """
    data = settings_dict(settings)
    data.pop("uncertainty", None)
    for path, value in values.items():
        keys = path.split(".")
        node = data
        for key in keys[:-1]:
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                raise ProjectError(f"{config}: '{path}': '{key}' is not a table of settings")
            node = child
        node[keys[-1]] = value
    try:
        return RoadmapSettings.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc'])}: {item['msg']}" for item in error.errors()
        )
        raise ProjectError(f"{config}: {problems}") from None


def _solve_variant(
    project: Project, data: PlanningData, settings: RoadmapSettings
) -> RoadmapResult | None:
    problem = roadmap_problem(project, settings=settings, data=data)
    try:
        return solve_roadmap(problem)
    except RoadmapInfeasible:
        return None


def _outcome(result: RoadmapResult | None) -> dict[str, Any]:
    """What a variant came to: feasible, its net discounted cost and its last year."""
    if result is None:
        return {
            "feasible": False,
            "net_discounted_cost_cny": np.nan,
            "gross_tco2e": np.nan,
            "green_share": np.nan,
        }
    last = result.by_year.iloc[-1]
    return {
        "feasible": True,
        "net_discounted_cost_cny": result.net_discounted_cost_cny,
        "gross_tco2e": float(last["gross_tco2e"]),
        "green_share": float(last["green_share"]),
    }


def sweep(
    project: Project,
    data: PlanningData,
    path: str,
    values: Sequence[float],
    scenario: str | None = None,
) -> pd.DataFrame:
    """Solve the roadmap once per value of one setting.

    Returns
    -------
    pandas.DataFrame
        One row per value: ``value, feasible, net_discounted_cost_cny, gross_tco2e`` (the last
        year's), ``green_share`` (the last year's).
    """
    base = scenario_settings(project, scenario)
    config = project.config_file
    rows = []
    for value in values:
        result = _solve_variant(project, data, with_values(base, {path: value}, config))
        rows.append({"value": value, **_outcome(result)})
    return pd.DataFrame(rows)


def monte_carlo(
    project: Project,
    data: PlanningData,
    scenario: str | None = None,
    samples: int | None = None,
) -> Uncertainty:
    """Draw the ranges of ``[roadmap.uncertainty]`` and solve the roadmap for each draw.

    Parameters
    ----------
    project, data
        The project and its planning data (:func:`tanlu.roadmap.plan.planning_data`).
    scenario
        A scenario whose settings are the centre of the draws.
    samples
        Number of draws; default ``[roadmap.uncertainty] samples``.

    Raises
    ------
    ProjectError
        When the project has no ``[roadmap.uncertainty]`` ranges, or a path is not a setting.
    """
    base = scenario_settings(project, scenario)
    config = project.config_file
    uncertainty = base.uncertainty
    if uncertainty is None or not uncertainty.ranges:
        raise ProjectError(
            f"{config}: no [roadmap.uncertainty] ranges: nothing to draw for Monte Carlo"
        )
    count = samples if samples is not None else uncertainty.samples
    rng = np.random.default_rng(uncertainty.seed)
    paths = sorted(uncertainty.ranges)
    rows = []
    results = []
    for sample in range(count):
        values = {path: float(rng.uniform(*uncertainty.ranges[path])) for path in paths}
        result = _solve_variant(project, data, with_values(base, values, config))
        results.append(result)
        rows.append({"sample": sample, **values, **_outcome(result)})
    feasible = [r for r in results if r is not None]
    band_rows = []
    if feasible:
        stacked = pd.concat([r.by_year for r in feasible], ignore_index=True)
        for year, group in stacked.groupby("year"):
            row: dict[str, Any] = {"year": year}
            for figure in BAND_FIGURES:
                for percentile in PERCENTILES:
                    row[f"{figure}_p{percentile}"] = float(np.percentile(group[figure], percentile))
            band_rows.append(row)
    return Uncertainty(
        samples=pd.DataFrame(rows),
        bands=pd.DataFrame(band_rows),
        infeasible_share=1.0 - len(feasible) / count if count else 0.0,
    )

"""The ``roadmap`` use case: the least-cost plan with its options (scenario, year planned
from, MACC, Monte Carlo, sweep) and progress against it, as one document."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from tanlu.app.inputs import OnRows, OnStep, open_project, read_inputs
from tanlu.electricity.matching import calculate_electricity
from tanlu.ingest.inputs import InputTables, ProjectInputs
from tanlu.inventory.calculate import InventoryResult, calculate_inventory
from tanlu.project import Project
from tanlu.roadmap.macc import bottom_up_macc, model_macc
from tanlu.roadmap.plan import (
    PlanningData,
    RoadmapResult,
    planning_data,
    roadmap_problem,
    scenario_settings,
    solve_roadmap,
)
from tanlu.roadmap.progress import Progress, progress_years, track_progress
from tanlu.roadmap.uncertainty import Uncertainty, monte_carlo, sweep
from tanlu.tables import records


@dataclass(frozen=True)
class RoadmapOptions:
    """What to compute beside the plan.

    Attributes
    ----------
    scenario
        A scenario of ``[roadmap.scenarios]`` (``None``: the project's own settings).
    from_year
        The inventory year to plan from (default: the scenario's ``from_year``, else the last
        reporting year).
    macc
        Also the bottom-up and model-derived marginal abatement cost curves.
    samples
        Monte Carlo over the ``[roadmap.uncertainty]`` ranges with this many draws (``None``:
        no Monte Carlo).
    sweep_path, sweep_values
        Solve once per value of the setting at this dotted path (empty: no sweep).
    """

    scenario: str | None = None
    from_year: int | None = None
    macc: bool = False
    samples: int | None = None
    sweep_path: str = ""
    sweep_values: tuple[float, ...] = ()


@dataclass(frozen=True)
class RoadmapDocument:
    """The plan and what was asked beside it.

    Attributes
    ----------
    plan
        The least-cost plan.
    progress
        Reporting years after the plan's start, actual against planned (empty tables when
        none falls inside the plan).
    macc_bottom_up, macc_model
        The MACCs of the plan's last year (``None`` when not asked).
    monte_carlo
        The Monte Carlo draws and bands (``None`` when not asked), and ``ranges``: each drawn
        setting's dotted path, low and high.
    sweep
        One row per swept value (``None`` when not asked), of the setting ``sweep_path``.
    """

    plan: RoadmapResult
    progress: Progress
    macc_bottom_up: pd.DataFrame | None = None
    macc_model: pd.DataFrame | None = None
    monte_carlo: Uncertainty | None = None
    ranges: tuple[tuple[str, float, float], ...] = ()
    sweep_path: str = ""
    sweep: pd.DataFrame | None = None

    def progress_dict(self) -> dict[str, Any]:
        """Progress against the plan: ``plan_from_year``, ``summary``, ``by_scope``,
        ``by_lever``."""
        return {
            "plan_from_year": self.plan.from_year,
            **{
                name: records(getattr(self.progress, name))
                for name in ("summary", "by_scope", "by_lever")
            },
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the plan's keys, then ``sweep``, ``monte_carlo``, ``progress`` and
        ``macc``, each ``null`` when not computed (docs/json-output.md). The same shape in
        ``tanlu roadmap --json`` and in ``results.json`` ``roadmap``."""
        data = self.plan.to_dict()
        data["sweep"] = (
            {"path": self.sweep_path, "rows": records(self.sweep)}
            if self.sweep is not None
            else None
        )
        data["monte_carlo"] = (
            {
                "samples": records(self.monte_carlo.samples),
                "infeasible_share": self.monte_carlo.infeasible_share,
                "ranges": [
                    {"path": path, "low": low, "high": high} for path, low, high in self.ranges
                ],
                "bands": records(self.monte_carlo.bands),
            }
            if self.monte_carlo is not None
            else None
        )
        data["progress"] = None if self.progress.summary.empty else self.progress_dict()
        data["macc"] = (
            {
                "year": self.plan.years[-1],
                "bottom_up": records(self.macc_bottom_up),
                "model": records(self.macc_model),
            }
            if self.macc_bottom_up is not None and self.macc_model is not None
            else None
        )
        return data

    def tables(self) -> dict[str, pd.DataFrame]:
        """The document's tables by name, for CSV files and workbook sheets."""
        tables = {
            name: getattr(self.plan, name)
            for name in (
                "by_year",
                "by_lever",
                "targets",
                "levers",
                "parameters",
                "binding_constraints",
            )
        }
        if self.macc_bottom_up is not None and self.macc_model is not None:
            tables["macc_bottom_up"] = self.macc_bottom_up
            tables["macc_model"] = self.macc_model
        if not self.progress.summary.empty:
            for name in ("summary", "by_scope", "by_lever"):
                tables[f"progress_{name}"] = getattr(self.progress, name)
        if self.sweep is not None:
            tables["sweep"] = self.sweep
        if self.monte_carlo is not None:
            tables["monte_carlo_bands"] = self.monte_carlo.bands
            tables["monte_carlo_samples"] = self.monte_carlo.samples
        return tables


def run_roadmap(
    project: Project | Path,
    options: RoadmapOptions | None = None,
    inputs: ProjectInputs | InputTables | None = None,
    inventories: Mapping[int, InventoryResult] | None = None,
    data: PlanningData | None = None,
    on_rows: OnRows | None = None,
    on_step: OnStep | None = None,
    green_shares: Mapping[int, float] | None = None,
) -> RoadmapDocument:
    """The ``roadmap`` use case: plan, progress, and the MACC, Monte Carlo and sweep asked for.

    Parameters
    ----------
    project
        A project, its folder, or one made from its configuration
        (:func:`tanlu.project.project_from_config`) with its ``inputs`` given.
    options
        What to compute beside the plan (default: the plan and progress only).
    inputs, inventories, data, green_shares
        What is already computed (inputs read, inventories by year, planning data from the
        year planned from, the green share of electricity by year); whatever is missing is
        computed once here. ``inputs`` may also be the project's input tables
        (:class:`tanlu.ingest.InputTables`), checked here.
    on_rows, on_step
        Progress callbacks: rows read; the name of each step (``roadmap``, ``MACC``,
        ``model-derived MACC``, ``sweep``, ``Monte Carlo``) as it starts.

    Raises
    ------
    RoadmapInfeasible
        When no plan meets the targets.
    """
    tell = on_step or (lambda _: None)
    options = options or RoadmapOptions()
    project = open_project(project)
    checked = read_inputs(project, on_rows, inputs)
    tell("roadmap")
    settings = scenario_settings(project, options.scenario)
    if data is None:
        chosen_year = options.from_year or settings.from_year
        data = planning_data(project, checked, chosen_year, inventories)
    known = {
        data.inventory.year: data.inventory,
        data.base_inventory.year: data.base_inventory,
        **(inventories or {}),
    }
    problem = roadmap_problem(project, options.scenario, checked, data=data)
    plan = solve_roadmap(problem, options.scenario or "default")
    shares = dict(green_shares or {})
    for year in progress_years(project, plan):
        if year not in known:
            known[year] = calculate_inventory(project, year, checked, check_base_year=False)
        if year not in shares:
            electricity = calculate_electricity(project, year, checked, inventory=known[year])
            shares[year] = float(electricity.totals["green_share"])
    progress = track_progress(project, plan, known, shares)
    macc_bottom_up = macc_model = None
    if options.macc:
        tell("MACC")
        macc_bottom_up = bottom_up_macc(problem)
        tell("model-derived MACC")
        macc_model = model_macc(problem)
    swept = None
    if options.sweep_path:
        tell("sweep")
        swept = sweep(
            project, data, options.sweep_path, list(options.sweep_values), options.scenario
        )
    drawn = None
    ranges: tuple[tuple[str, float, float], ...] = ()
    if options.samples is not None:
        tell("Monte Carlo")
        drawn = monte_carlo(project, data, options.scenario, options.samples)
        if settings.uncertainty is not None:
            ranges = tuple(
                (path, low, high)
                for path, (low, high) in sorted(settings.uncertainty.ranges.items())
            )
    return RoadmapDocument(
        plan=plan,
        progress=progress,
        macc_bottom_up=macc_bottom_up,
        macc_model=macc_model,
        monte_carlo=drawn,
        ranges=ranges,
        sweep_path=options.sweep_path,
        sweep=swept,
    )

"""``calculate_roadmap``: from a project to its least-cost year-by-year plan.

Reads the inventories of the base year and of the year planned from, projects the baseline,
selects the levers, builds and solves the LP (:mod:`tanlu.roadmap.model`) and reads the plan
back: per year gross and net emissions by scope, green share, offsets and cost; per lever and
year the quantity adopted, the abatement and the cost. The total discounted cost equals the
solver's objective (checked in the tests).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from tanlu.electricity.prices import procurement_costs, procurement_prices
from tanlu.errors import ProjectError, TanluError
from tanlu.ingest.inputs import ProjectInputs, load_inputs
from tanlu.ingest.prices import load_project_prices
from tanlu.inventory.calculate import InventoryResult, calculate_inventory
from tanlu.project import Project, RoadmapSettings, TargetKind
from tanlu.roadmap.baseline import Baseline, build_baseline, electricity_sites, existing_pv_mwh
from tanlu.roadmap.levers import LeverSet, select_levers
from tanlu.roadmap.model import (
    HIGHS_OPTIONS,
    SHORTFALL_PENALTY_CNY,
    SHORTFALL_TOLERANCE,
    YEAR,
    BuiltRoadmap,
    RoadmapInfeasible,
    RoadmapProblem,
    build_roadmap_model,
    target_label,
)
from tanlu.solver import solve_with_highs
from tanlu.tables import records

BY_LEVER_COLUMNS = [
    "lever",
    "year",
    "quantity",
    "unit",
    "abatement_tco2e",
    "cost_cny",
    "discounted_cost_cny",
]


BINDING_COLUMNS = [
    "constraint",
    "year",
    "site",
    "lever",
    "shadow_price_cny_per_unit",
    "unit",
    "at_limit",
    "meaning",
]
# Shadow prices below this are solver round-off [CNY per unit].
BINDING_TOLERANCE_CNY = 1e-6
# A dual of at least this share of the shortfall penalty, on a bound in MWh, tCO2e or kWp, is the
# penalty's price, not a lever's: the plan sits at the limit of what its levers can do (a 100%
# green target met by buying green power for the whole purchase), where the LP's duals are not
# unique and HiGHS reports the price of tightening the bound, which only a shortfall could pay.
# No bundled lever or credit costs within two orders of magnitude of it (docs/levers.md).
AT_LIMIT_SHARE_OF_PENALTY = 0.1
AT_LIMIT_DUAL_CNY = AT_LIMIT_SHARE_OF_PENALTY * SHORTFALL_PENALTY_CNY
# Each constraint family of the model (docs/roadmap.md, "The model"): the unit its bound is in
# and what loosening it by one unit means. ``{lever}`` stands for the lever's name.
CONSTRAINT_MEANINGS: dict[str, tuple[str, str]] = {
    "target": ("tCO2e", "one tCO2e more allowed by the target in that year"),
    "target_green": ("MWh", "one MWh less green electricity required in that year"),
    "site_lever_ramp": (
        "share",
        "adoption at the site allowed to grow by one more unit (the whole site) that year",
    ),
    "site_lever_no_retirement": ("share", "adoption at the site allowed to fall that year"),
    "stream_lever_ramp": (
        "share",
        "the cut allowed to grow by one more unit (the whole stream) that year",
    ),
    "stream_lever_no_retirement": ("share", "the cut allowed to fall that year"),
    "ramp_mwh": ("MWh", "one MWh more bought than ramp_mwh_per_year allows"),
    "ramp_share_of_purchase": (
        "MWh",
        "one MWh more bought than ramp_share_of_purchase_per_year allows",
    ),
    "market_limit": ("MWh", "one MWh more than max_mwh_per_year"),
    "floor": ("MWh", "one MWh less than min_mwh_per_year"),
    "within_purchase": ("MWh", "one MWh more bought from the grid at the site"),
    "certificate_share": ("MWh", "one MWh more of certificates than the share allows"),
    "offset_cap": ("tCO2e", "one tCO2e more of credits than the offset cap"),
    "offsets_residual_only": ("tCO2e", "one tCO2e of credits beyond residual emissions"),
    "emission_cap": ("tCO2e", "one tCO2e more allowed by the cap"),
    "trajectory_line": ("tCO2e", "one tCO2e above the straight-line trajectory"),
    "trajectory_fall": ("tCO2e", "emissions allowed to fall one tCO2e more in that year"),
    "trajectory_green_share": ("MWh", "one MWh less green electricity than the rise needs"),
}


def binding_constraints(built: BuiltRoadmap, problem: RoadmapProblem) -> pd.DataFrame:
    """The constraints that hold the plan where it is, with their shadow prices.

    One row per constraint, year and site or lever whose dual is not zero:
    ``constraint, year, site, lever, shadow_price_cny_per_unit, unit, at_limit, meaning``. The
    shadow price is how much the plan's net cost would fall if that year's bound were loosened
    by one ``unit``: the absolute value of the dual (which is discounted to the year planned
    from), undiscounted to the constraint's year [CNY of that year per unit], as the
    model-derived MACC does. ``at_limit`` marks a bound the levers meet at the edge of what they
    can do, whose dual is the shortfall penalty's (:data:`AT_LIMIT_DUAL_CNY`): it binds, but
    its price is not known from this solve, so ``shadow_price_cny_per_unit`` is empty.
    ``constraint`` is the family (:data:`CONSTRAINT_MEANINGS`); a target's row names the
    target in ``lever``'s place (``target`` column of the targets table).
    """
    labels = {f"target_{i}": target_label(t) for i, t in enumerate(problem.targets)}
    green = {
        f"target_{i}"
        for i, t in enumerate(problem.targets)
        if t.kind == TargetKind.GREEN_ELECTRICITY
    }
    rows: list[dict[str, Any]] = []
    undiscount = {
        int(y): 1.0 / float(d) for y, d in zip(built.years, built.discount.values, strict=True)
    }
    for name in built.model.constraints:
        dual = built.model.constraints[name].dual
        if dual is None or dual.size == 0:
            continue
        frame = dual.to_series().rename("dual").reset_index()
        frame = frame.loc[frame["dual"].abs() > BINDING_TOLERANCE_CNY]
        if frame.empty:
            continue
        family, lever = _family(name, problem.levers.names)
        if name in labels:
            family, lever = ("target_green" if name in green else "target"), labels[name]
        unit, meaning = CONSTRAINT_MEANINGS.get(family, ("", ""))
        for row in frame.to_dict("records"):
            member = str(row.get("member", lever))
            row_unit = unit
            if family.startswith("site_lever") and member == "onsite_pv":
                row_unit = "kWp"
            site = row.get("site", row.get("stream_site", ""))
            year = int(row[YEAR]) if YEAR in row else None
            dual = abs(float(row["dual"]))
            at_limit = row_unit != "share" and dual >= AT_LIMIT_DUAL_CNY
            rows.append(
                {
                    "constraint": family,
                    "year": year,
                    "site": str(site),
                    "lever": member,
                    "shadow_price_cny_per_unit": math.nan
                    if at_limit
                    else dual * undiscount.get(year if year is not None else -1, 1.0),
                    "unit": f"CNY/{row_unit}" if row_unit else "CNY",
                    "at_limit": at_limit,
                    "meaning": meaning
                    + ("; met at the limit of the levers, price not known" if at_limit else ""),
                }
            )
    table = pd.DataFrame(rows, columns=BINDING_COLUMNS)
    return table.sort_values(["constraint", "lever", "year", "site"], ignore_index=True)


def year_ranges(years: list[int]) -> str:
    """Years as runs: ``[2024, 2025, 2026, 2030]`` is ``2024–2026, 2030``."""
    runs: list[list[int]] = []
    for year in sorted({int(y) for y in years}):  # a year column with gaps reads as floats
        if runs and year == runs[-1][-1] + 1:
            runs[-1].append(year)
        else:
            runs.append([year])
    return ", ".join(f"{r[0]}–{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)


def summarise_binding_constraints(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The binding constraints (records of :func:`binding_constraints`), one entry per
    constraint family and lever or target, targets first, then the families in the order of
    :data:`CONSTRAINT_MEANINGS` (prices per MWh, per tCO2e and per whole stream do not compare).

    Each entry: ``constraint``, ``lever``, ``years`` (as runs), ``sites`` (the sites named,
    empty for an organisation-wide constraint), ``index`` (the row with the highest shadow
    price; None when every row is ``at_limit``), ``unit`` and ``at_limit`` (some row is).
    """
    groups: dict[tuple[str, str], list[int]] = {}
    for index, row in enumerate(rows):
        groups.setdefault((row["constraint"], row["lever"]), []).append(index)
    summary = []
    for (constraint, lever), members in groups.items():
        priced = [i for i in members if rows[i]["shadow_price_cny_per_unit"] is not None]
        priced = [i for i in priced if not math.isnan(rows[i]["shadow_price_cny_per_unit"])]
        top = max(priced, key=lambda i: rows[i]["shadow_price_cny_per_unit"]) if priced else None
        summary.append(
            {
                "constraint": constraint,
                "lever": lever,
                "years": year_ranges([rows[i]["year"] for i in members if rows[i]["year"]]),
                "sites": sorted({rows[i]["site"] for i in members if rows[i]["site"]}),
                "index": top,
                "unit": rows[members[0]]["unit"],
                "at_limit": any(rows[i].get("at_limit") for i in members),
            }
        )
    order = {family: position for position, family in enumerate(CONSTRAINT_MEANINGS)}
    return sorted(summary, key=lambda g: (order.get(g["constraint"], len(order)), g["lever"]))


def _family(name: str, levers: list[str]) -> tuple[str, str]:
    """A constraint's family and lever: ``gec_ramp_mwh_first`` -> ``(ramp_mwh, gec)``."""
    base = name.removesuffix("_first")
    for lever in sorted(levers, key=len, reverse=True):
        if base.startswith(f"{lever}_"):
            return base[len(lever) + 1 :], lever
    return base, ""


@dataclass(frozen=True)
class RoadmapResult:
    """The least-cost plan.

    Attributes
    ----------
    scenario
        The scenario name (``"default"`` without one).
    from_year, years
        The inventory year planned from, and the planned years.
    scope2_basis
        The scope 2 figure that targets count (``market`` or ``location``).
    by_year
        One row per year: ``year, baseline_tco2e, scope1_tco2e, scope2_market_tco2e,
        scope2_location_tco2e, scope3_tco2e, gross_tco2e, offset_avoidance_tco2e,
        offset_removal_tco2e, net_tco2e, consumption_mwh, existing_pv_mwh, green_mwh, green_share,
        electricity_cost_cny, lever_cost_cny, cost_cny, discounted_cost_cny,
        baseline_cost_cny, net_cost_cny``. ``gross_tco2e`` counts scope 2 on
        ``scope2_basis``; ``cost_cny`` = electricity bought from the grid + levers;
        ``baseline_cost_cny`` is the baseline's electricity bill, so ``net_cost_cny`` is what
        the plan costs beyond doing nothing (negative when it saves money).
    by_lever
        One row per lever and year: ``lever, year, quantity, unit, abatement_tco2e, cost_cny,
        discounted_cost_cny`` (the lever's own cost, before the electricity it saves).
    targets
        One row per target and year it applies: ``target, year, unit, bound, achieved,
        met``. Emission targets [tCO2e]: ``bound`` is the most the year may count (0 for
        neutrality), ``achieved`` what it counts (gross emissions of the scopes, less the
        credits the target accepts). Green electricity [MWh]: ``bound`` is the least green
        electricity required, ``achieved`` the green electricity.
    levers
        Every lever: ``lever, enabled, reason``.
    parameters
        Every parameter used, with unit, status and source.
    total_discounted_cost_cny
        Sum of the discounted yearly costs [CNY, discounted to ``from_year``].
    net_discounted_cost_cny
        Sum of the discounted yearly net costs: what the plan costs beyond the baseline's
        electricity bill [CNY].
    objective_cny
        The solver's objective; equal to ``net_discounted_cost_cny``.
    binding_constraints
        The constraints that hold the plan where it is, with their shadow prices
        (:func:`binding_constraints`).
    build_seconds, solve_seconds
        Time to build the model and to solve it [s].
    """

    scenario: str
    from_year: int
    years: list[int]
    scope2_basis: str
    by_year: pd.DataFrame
    by_lever: pd.DataFrame
    targets: pd.DataFrame
    levers: pd.DataFrame
    parameters: pd.DataFrame
    total_discounted_cost_cny: float
    net_discounted_cost_cny: float
    objective_cny: float
    build_seconds: float
    solve_seconds: float
    binding_constraints: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=BINDING_COLUMNS)
    )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (docs/json-output.md, "tanlu roadmap")."""
        return {
            "schema": "tanlu.roadmap/1",
            "scenario": self.scenario,
            "from_year": self.from_year,
            "years": self.years,
            "scope2_basis": self.scope2_basis,
            "total_discounted_cost_cny": self.total_discounted_cost_cny,
            "net_discounted_cost_cny": self.net_discounted_cost_cny,
            "objective_cny": self.objective_cny,
            "by_year": records(self.by_year),
            "by_lever": records(self.by_lever),
            "targets": records(self.targets),
            "levers": records(self.levers),
            "parameters": records(self.parameters),
            "binding_constraints": records(self.binding_constraints),
        }


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def settings_dict(settings: RoadmapSettings) -> dict[str, Any]:
    """The settings as plain data that :class:`RoadmapSettings` validates back (without the
    scenarios), lever overrides included."""
    data = settings.model_dump(exclude={"scenarios", "levers"}, exclude_none=True)
    data["levers"] = {
        name: {**(lever.model_extra or {}), "enabled": lever.enabled}
        for name, lever in settings.levers.items()
    }
    return data


def scenario_settings(project: Project, scenario: str | None) -> RoadmapSettings:
    """The ``[roadmap]`` settings with a named scenario's overrides laid over them.

    Raises
    ------
    ProjectError
        When the scenario is unknown or its overrides are invalid.
    """
    settings = project.config.roadmap
    if scenario is None or scenario == "default":
        return settings
    config = project.config_file
    if scenario not in settings.scenarios:
        known = ", ".join(sorted(settings.scenarios)) or "none defined"
        raise ProjectError(f"{config}: unknown scenario '{scenario}' ({known})")
    base = settings_dict(settings)
    try:
        return RoadmapSettings.model_validate(_merge(base, settings.scenarios[scenario]))
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc'])}: {item['msg']}" for item in error.errors()
        )
        raise ProjectError(f"{config}: roadmap.scenarios.{scenario}: {problems}") from None


def solve_built_roadmap(built: BuiltRoadmap) -> float:
    """Solve a built roadmap model in place with HiGHS; the seconds the solve took.

    Raises
    ------
    TanluError
        When HiGHS stops without an optimal plan.
    """
    began = time.perf_counter()
    condition = solve_with_highs(built.model, HIGHS_OPTIONS)
    if condition != "optimal":
        raise TanluError(f"HiGHS stopped without an optimal roadmap ({condition})")
    return time.perf_counter() - began


def _read_plan(
    built: BuiltRoadmap, baseline: Baseline, problem: RoadmapProblem
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    years = baseline.years
    discount = built.discount.values
    zeros = np.zeros(len(years))
    value = built.value

    scope2 = value(f"scope2_{problem.scope2_basis}")
    gross = value("scope1") + scope2 + value("scope3")
    avoidance = value("quantity_offset_avoidance")
    removal = value("quantity_offset_removal")
    cost = value("cost_total")
    electricity_cost = value("cost_electricity")
    consumption = value("consumption_mwh")
    green = value("green_mwh")
    # own PV already built (part of green_mwh): the baseline's, at own sites
    electricity = baseline.electricity
    own_pv = (
        electricity.loc[electricity["scope"] == 2]
        .groupby("year")["existing_pv_mwh"]
        .sum()
        .reindex(years, fill_value=0.0)
        .to_numpy(dtype="float64")
        if not electricity.empty
        else zeros.copy()
    )
    by_year = pd.DataFrame(
        {
            "year": years,
            "baseline_tco2e": baseline.gross_tco2e([1, 2, 3], problem.scope2_basis).to_numpy(),
            "scope1_tco2e": value("scope1"),
            "scope2_market_tco2e": value("scope2_market"),
            "scope2_location_tco2e": value("scope2_location"),
            "scope3_tco2e": value("scope3"),
            "gross_tco2e": gross,
            "offset_avoidance_tco2e": avoidance,
            "offset_removal_tco2e": removal,
            "net_tco2e": gross - avoidance - removal,
            "consumption_mwh": consumption,
            "existing_pv_mwh": own_pv,
            "green_mwh": green,
            # a share: solver round-off may put green a hair above consumption
            "green_share": np.clip(
                np.divide(green, consumption, out=zeros.copy(), where=consumption > 0), 0.0, 1.0
            ),
            "electricity_cost_cny": electricity_cost,
            "lever_cost_cny": cost - electricity_cost,
            "cost_cny": cost,
            "discounted_cost_cny": cost * discount,
            "baseline_cost_cny": value("baseline_electricity_cost"),
            "net_cost_cny": cost - value("baseline_electricity_cost"),
        }
    )
    rows = []
    for lever in problem.levers.names:
        if f"quantity_{lever}" not in built.aggregates:
            continue
        quantity = value(f"quantity_{lever}")
        abatement = value(f"abatement_{lever}")
        lever_cost = value(f"cost_{lever}")
        for index, year in enumerate(years):
            rows.append(
                {
                    "lever": lever,
                    "year": year,
                    "quantity": quantity[index],
                    "unit": built.quantity_units[lever],
                    "abatement_tco2e": abatement[index],
                    "cost_cny": lever_cost[index],
                    "discounted_cost_cny": lever_cost[index] * discount[index],
                }
            )
    by_lever = pd.DataFrame(rows, columns=BY_LEVER_COLUMNS)
    target_rows = []
    shortfalls = []
    for target in built.targets:
        slack = built.variable(target["slack"])
        active = np.asarray(target["active"].values, dtype="float64")
        achieved = target["achieved"].value(built.bank)
        bound = target["bound"].value(built.bank)
        for index, year in enumerate(years):
            if active[index] <= 0:
                continue
            short = slack[index] > SHORTFALL_TOLERANCE
            target_rows.append(
                {
                    "target": target["target"],
                    "year": year,
                    "unit": target["unit"],
                    "bound": float(bound[index]),
                    "achieved": float(achieved[index]),
                    "met": not short,
                }
            )
            if short:
                shortfalls.append(
                    {
                        "target": target["target"],
                        "year": year,
                        "shortfall": float(slack[index]),
                        "unit": target["unit"],
                    }
                )
    if shortfalls:
        raise RoadmapInfeasible(pd.DataFrame(shortfalls))
    targets = pd.DataFrame(
        target_rows, columns=["target", "year", "unit", "bound", "achieved", "met"]
    )
    return by_year, by_lever, targets


def solve_roadmap(problem: RoadmapProblem, scenario: str = "default") -> RoadmapResult:
    """Build, solve and read one roadmap problem.

    Raises
    ------
    RoadmapInfeasible
        When some target cannot be met in some year (the message says which and by how much).
    """
    built = build_roadmap_model(problem)
    solve_seconds = solve_built_roadmap(built)
    baseline = problem.baseline
    by_year, by_lever, targets = _read_plan(built, baseline, problem)
    levers = problem.levers
    lever_table = pd.DataFrame(
        [
            {
                "lever": lever,
                "enabled": levers.enabled(lever),
                "reason": levers.disabled.get(lever, ""),
            }
            for lever in levers.names
        ]
    )
    return RoadmapResult(
        scenario=scenario,
        from_year=baseline.from_year,
        years=baseline.years,
        scope2_basis=problem.scope2_basis,
        by_year=by_year,
        by_lever=by_lever,
        targets=targets,
        levers=lever_table,
        parameters=levers.parameters,
        total_discounted_cost_cny=float(by_year["discounted_cost_cny"].sum()),
        net_discounted_cost_cny=float((by_year["net_cost_cny"] * built.discount.values).sum()),
        objective_cny=float(built.model.objective.value),
        build_seconds=built.build_seconds,
        solve_seconds=solve_seconds,
        binding_constraints=binding_constraints(built, problem),
    )


def grid_prices(
    project: Project,
    inventory: InventoryResult,
    year: int,
    project_prices: pd.DataFrame | None = None,
) -> tuple[dict[str, float], pd.DataFrame]:
    """Grid electricity price at each site [CNY/MWh], and the rows used.

    From the procurement price table (docs/prices.md): the site's province, else China; the
    year, else the nearest; the project's own rows (``project_prices``, as
    :attr:`tanlu.ingest.ProjectInputs.prices` holds them) first.
    """
    table = procurement_prices(project_prices)
    provinces = project.sites.set_index("site")["province"]
    prices: dict[str, float] = {}
    rows = []
    for site in electricity_sites(inventory, project):
        costs, used = procurement_costs(table, str(provinces[site]), year)
        prices[site] = float(np.asarray(costs.grid_price_cny_per_mwh))
        row = used.loc[used["parameter"] == "grid_price_cny_per_mwh"].iloc[0]
        fallback = f" ({row['fallback']})" if row["fallback"] else ""
        rows.append(
            {
                "lever": "electricity",
                "parameter": f"grid_price_cny_per_mwh ({site})",
                "value": prices[site],
                "unit": str(row["unit"]),
                "status": str(row["status"]),
                "source": str(row["source"]) + fallback,
            }
        )
    return prices, pd.DataFrame(
        rows, columns=["lever", "parameter", "value", "unit", "status", "source"]
    )


@dataclass(frozen=True)
class PlanningData:
    """What a roadmap is built from, computed once per project and year planned from.

    Attributes
    ----------
    from_year
        The inventory year planned from.
    inventory, base_inventory
        The inventories of ``from_year`` and of the base year.
    grid_price_cny_per_mwh, price_rows
        Grid price per site in ``from_year`` and the price-table rows used.
    existing_pv_mwh
        Each PV system's site, commissioning date and generation [MWh], ``full_year_mwh``
        and ``generated_mwh`` in ``from_year`` (:func:`tanlu.roadmap.baseline.existing_pv_mwh`).
    """

    from_year: int
    inventory: InventoryResult
    base_inventory: InventoryResult
    grid_price_cny_per_mwh: dict[str, float]
    price_rows: pd.DataFrame
    existing_pv_mwh: pd.DataFrame


def planning_data(
    project: Project,
    inputs: ProjectInputs | None = None,
    from_year: int | None = None,
    inventories: Mapping[int, InventoryResult] | None = None,
) -> PlanningData:
    """Inventories, grid prices and existing PV for planning from ``from_year`` (default:
    ``[roadmap] from_year``, else the last reporting year).

    ``inputs``: the project's checked inputs, whose prices the grid prices come from (when
    omitted, the inputs are read if an inventory is computed, and the price files alone if
    not). ``inventories``: inventories already computed, by year; a year missing from them is
    computed (without the base-year check).
    """
    organisation = project.config.organisation
    from_year = from_year or project.config.roadmap.from_year or max(organisation.reporting_years)
    known = dict(inventories or {})

    def inventory_of(year: int) -> InventoryResult:
        nonlocal inputs
        if year not in known:
            if inputs is None:
                inputs = load_inputs(project)
            known[year] = calculate_inventory(project, year, inputs, check_base_year=False)
        return known[year]

    inventory = inventory_of(from_year)
    base_inventory = inventory_of(organisation.base_year)
    project_prices = inputs.prices if inputs is not None else load_project_prices(project)
    prices, price_rows = grid_prices(project, inventory, from_year, project_prices)
    return PlanningData(
        from_year=from_year,
        inventory=inventory,
        base_inventory=base_inventory,
        grid_price_cny_per_mwh=prices,
        price_rows=price_rows,
        existing_pv_mwh=existing_pv_mwh(project, from_year),
    )


def roadmap_problem(
    project: Project,
    scenario: str | None = None,
    inputs: ProjectInputs | None = None,
    from_year: int | None = None,
    settings: RoadmapSettings | None = None,
    data: PlanningData | None = None,
) -> RoadmapProblem:
    """The roadmap problem of a project (and scenario), before solving.

    Parameters
    ----------
    project, scenario, inputs
        As for :func:`calculate_roadmap`.
    from_year
        A base or reporting year that replaces ``[roadmap] from_year``: the inventory year the
        plan starts from (default: the last reporting year).
    settings
        Roadmap settings to use instead of the project's (and scenario's).
    data
        Planning data already computed (:func:`planning_data`), to build many variants of one
        problem without recomputing the inventories.
    """
    config = project.config
    if not config.targets:
        raise ProjectError(
            f"{project.config_file}: no [[targets]]: a roadmap needs at least one target"
        )
    if settings is None:
        settings = scenario_settings(project, scenario)
    organisation = config.organisation
    if data is None:
        data = planning_data(project, inputs, from_year or settings.from_year)
    target_years = [t.year for t in config.targets] + [
        y for t in config.targets for y in t.milestones
    ]
    end_year = settings.end_year or max(target_years)
    if end_year <= data.from_year:
        raise ProjectError(
            f"{project.config_file}: roadmap.end_year {end_year} is not after the year "
            f"planned from ({data.from_year})"
        )
    levers: LeverSet = select_levers(settings, project.config_file)
    # a scenario's settings skip the project's own checks: its excluded sites are checked here
    problem = settings.excluded_site_problem({site.id for site in config.sites})
    if problem is not None:
        raise ProjectError(f"{project.config_file}: {problem}")
    _check_reduction_paths(project, levers.general["sbti_linear_reduction_share_per_year"])
    baseline = build_baseline(
        project,
        settings,
        data.inventory,
        data.base_inventory,
        end_year,
        data.grid_price_cny_per_mwh,
        data.existing_pv_mwh,
    )
    levers = replace(
        levers, parameters=pd.concat([levers.parameters, data.price_rows], ignore_index=True)
    )
    return RoadmapProblem(
        baseline=baseline,
        levers=levers,
        targets=list(config.targets),
        base_year=organisation.base_year,
        scope2_basis=settings.scope2_basis,
        max_certificate_share_of_green=settings.max_certificate_share_of_green,
        denominators=output_values(project, settings, [organisation.base_year, *baseline.years]),
        held_mwh=held_mwh(data.inventory),
        trajectory=settings.trajectory,
    )


# The instrument kinds each bought lever stands for.
HELD_KINDS = {"green_power_contract": ("green_power_contract", "ppa"), "gec": ("gec", "irec")}


def held_mwh(inventory: InventoryResult) -> dict[str, float]:
    """MWh of contracts and of certificates allocated in an inventory year, own sites and
    leased assets together (where a ``ramp_mwh_per_year`` starts)."""
    market = inventory.scope2_market
    allocations = pd.concat([market.allocations, market.leased_allocations], ignore_index=True)
    return {
        lever: float(allocations.loc[allocations["kind"].isin(kinds), "allocated_mwh"].sum())
        for lever, kinds in HELD_KINDS.items()
    }


def check_roadmap_settings(project: Project) -> None:
    """Check the ``[roadmap]`` settings as a roadmap would read them, for the settings as
    written and under each of ``[roadmap.scenarios]``: each scenario's overrides, the levers and
    their parameters, the sites named, and the reduction targets' paths; what ``tanlu
    validate`` checks so that no later roadmap fails on ``tanlu.toml``.

    Raises
    ------
    ProjectError
        Naming the scenario (``roadmap.scenarios.NAME: ...``) when the problem is one of its
        overrides.
    """
    config = project.config_file
    site_ids = {site.id for site in project.config.sites}
    for scenario in [None, *project.config.roadmap.scenarios]:
        settings = scenario_settings(project, scenario)
        try:
            levers = select_levers(settings, config)
            problem = settings.excluded_site_problem(site_ids)
            if problem is not None:
                raise ProjectError(f"{config}: {problem}")
            _check_reduction_paths(project, levers.general["sbti_linear_reduction_share_per_year"])
        except ProjectError as error:
            if scenario is None:
                raise
            message = str(error).removeprefix(f"{config}: ")
            raise ProjectError(f"{config}: roadmap.scenarios.{scenario}: {message}") from None


def _check_reduction_paths(project: Project, default_rate: float) -> None:
    """A reduction target whose straight line reaches zero is a neutrality target in disguise
    (and offsets cannot meet it): say so rather than fail to solve."""
    base_year = project.config.organisation.base_year
    for index, target in enumerate(project.config.targets):
        if target.kind not in (TargetKind.ABSOLUTE_REDUCTION, TargetKind.INTENSITY_REDUCTION):
            continue
        rate = (
            target.annual_reduction_share
            if target.annual_reduction_share is not None
            else default_rate
        )
        if rate * (target.year - base_year) >= 1.0:
            zero_year = base_year + math.ceil(1.0 / rate) if rate > 0 else target.year
            raise ProjectError(
                f"{project.config_file}: targets[{index}]: {rate:g} a year from "
                f"{base_year} reaches zero emissions by {min(zero_year, target.year)}, before or "
                f"at {target.year}: use a carbon_neutral or net_zero target for that, or a "
                "lower annual_reduction_share"
            )


def output_values(
    project: Project, settings: RoadmapSettings, years: list[int]
) -> dict[str, dict[int, float]]:
    """Each ``[output_metrics]`` entry in ``years``: its own value where the project gives one,
    else its last earlier value grown at ``output_growth_share_per_year`` (docs/roadmap.md,
    "Targets").

    Raises
    ------
    ProjectError
        When a year has no value and the metric has no growth rate, or a growth rate names an
        unknown metric (a scenario's settings).
    """
    config = project.config_file
    metrics = project.config.output_metrics
    for name in settings.output_growth_share_per_year:
        if name not in metrics:
            raise ProjectError(
                f"{config}: roadmap.output_growth_share_per_year: '{name}' is not in "
                "[output_metrics]"
            )
    values: dict[str, dict[int, float]] = {}
    for name, metric in metrics.items():
        growth = settings.output_growth_share_per_year.get(name)
        series: dict[int, float] = {}
        for year in years:
            if year in metric.values:
                series[year] = float(metric.values[year])
                continue
            earlier = [y for y in metric.values if y < year]
            if not earlier or growth is None:
                raise ProjectError(
                    f"{config}: output_metrics.{name} has no value for {year}: give one in "
                    f"values, or a growth rate in [roadmap] output_growth_share_per_year"
                )
            last = max(earlier)
            series[year] = float(metric.values[last]) * (1.0 + growth) ** (year - last)
        values[name] = series
    return values


def calculate_roadmap(
    project: Project, scenario: str | None = None, inputs: ProjectInputs | None = None
) -> RoadmapResult:
    """The least-cost roadmap of a project to its targets.

    Parameters
    ----------
    project
        From :func:`tanlu.load_project`, with ``[[targets]]`` (and optionally ``[roadmap]``).
    scenario
        A name in ``[roadmap.scenarios]`` whose overrides apply; None for the settings as
        written.
    inputs
        Already-loaded inputs, read when omitted.

    Raises
    ------
    ProjectError
        No targets, an unknown scenario or lever, or a bad setting.
    RoadmapInfeasible
        When no plan meets every target; the message names each target, year and shortfall.
    """
    problem = roadmap_problem(project, scenario, inputs)
    return solve_roadmap(problem, scenario or "default")

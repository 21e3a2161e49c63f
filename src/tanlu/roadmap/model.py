"""The roadmap as one linear programme over sites x years x levers (linopy + HiGHS).

docs/roadmap.md ("The model") writes out every variable, constraint and cost term; the names
here follow it. Shortfalls: every target constraint has a slack variable priced far above any
lever (:data:`SHORTFALL_PENALTY_CNY`), so the model always solves; a slack left above zero means
that no plan meets the target in that year, and :class:`RoadmapInfeasible` says which target,
which year and by how much.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from tanlu.electricity.procurement import capital_recovery_factor
from tanlu.errors import TanluError
from tanlu.project import Target, TargetKind
from tanlu.roadmap.baseline import Baseline
from tanlu.roadmap.levers import EFFICIENCY_LEVERS, REDUCTION_LEVERS, LeverSet

# Price of one unit (tCO2e or MWh) of target shortfall in the objective [CNY]: about a thousand
# times the dearest bundled lever, so that every lever and offset is used before a shortfall.
SHORTFALL_PENALTY_CNY = 1.0e6
# Shortfalls below this are solver round-off [tCO2e or MWh].
SHORTFALL_TOLERANCE = 1e-3
HIGHS_OPTIONS: dict[str, Any] = {"output_flag": False, "log_to_console": False}


class RoadmapInfeasible(TanluError):
    """No plan meets every target: the message names each target, year and shortfall."""

    def __init__(self, shortfalls: pd.DataFrame) -> None:
        self.shortfalls = shortfalls
        lines = [
            f"  {row.target}: in {row.year} short by {row.shortfall:,.0f} {row.unit}"
            for row in shortfalls.itertuples(index=False)
        ]
        super().__init__(
            "no plan meets every target, even with every enabled lever at its potential and "
            "offsets at their cap:\n" + "\n".join(lines)
        )


@dataclass(frozen=True)
class RoadmapProblem:
    """Everything the model needs.

    Attributes
    ----------
    baseline
        The projection with no new action.
    levers
        Enabled levers with their parameters.
    targets
        The project's targets.
    base_year
        The organisation's base year.
    scope2_basis
        ``"market"`` or ``"location"``: the scope 2 figure that targets count.
    max_certificate_share_of_green
        Unbundled certificates at most this share of green electricity, every year [0..1].
    """

    baseline: Baseline
    levers: LeverSet
    targets: list[Target]
    base_year: int
    scope2_basis: str = "market"
    max_certificate_share_of_green: float = 1.0


def target_label(target: Target) -> str:
    """A plain-language name of a target."""
    scopes = ", ".join(str(s) for s in target.scopes)
    if target.kind == TargetKind.GREEN_ELECTRICITY:
        return f"{100 * target.share:g}% green electricity by {target.year}"
    if target.kind == TargetKind.ABSOLUTE_REDUCTION:
        return f"absolute reduction of scopes {scopes} by {target.year}"
    name = "carbon neutral" if target.kind == TargetKind.CARBON_NEUTRAL else "net zero"
    return f"{name} in scopes {scopes} by {target.year}"


def reduction_limits_tco2e(
    target: Target, base_total: float, base_year: int, years: list[int], rate: float
) -> pd.Series:
    """Most emissions allowed each year by an absolute-reduction target [tCO2e].

    Linear from the base year at ``rate`` a year to the target year, held after it; each
    milestone caps the years from its own on at base x (1 - its share).
    """
    limits = {}
    for year in years:
        steps = min(year, target.year) - base_year
        allowed = base_total * max(0.0, 1.0 - rate * steps)
        for milestone, share in target.milestones.items():
            if year >= milestone:
                allowed = min(allowed, base_total * (1.0 - share))
        limits[year] = allowed
    return pd.Series(limits, dtype="float64")


def green_requirements(target: Target, years: list[int]) -> pd.Series:
    """Least green share each year by a green-electricity target [0..1] (0: no requirement)."""
    needed = {}
    for year in years:
        share = target.share if year >= target.year else 0.0
        for milestone, value in target.milestones.items():
            if year >= milestone:
                share = max(share, value)
        needed[year] = share
    return pd.Series(needed, dtype="float64")


@dataclass
class BuiltRoadmap:
    """A built model, and the expressions and data its results are read from.

    ``expressions`` hold linear expressions over ``year`` (``scope1``, ``scope2_market``,
    ``scope2_location``, ``scope3``, ``green_mwh``, ``consumption_mwh``, ``cost_<item>``,
    ``abatement_<lever>``, ``quantity_<lever>``); ``data`` the constant arrays.
    """

    model: Any  # linopy.Model
    discount: xr.DataArray
    expressions: dict[str, Any] = field(default_factory=dict)
    quantity_units: dict[str, str] = field(default_factory=dict)
    targets: list[dict[str, Any]] = field(default_factory=list)
    build_seconds: float = 0.0


def _site_year(
    frame: pd.DataFrame, column: str, sites: list[str], years: list[int], dim: str = "site"
) -> xr.DataArray:
    table = frame.pivot_table(index="site", columns="year", values=column, aggfunc="sum")
    table = table.reindex(index=sites, columns=years).fillna(0.0)
    return xr.DataArray(
        table.to_numpy(dtype="float64"), coords={dim: sites, "year": years}, dims=[dim, "year"]
    )


def _per_year(values: list[float] | np.ndarray, years: list[int]) -> xr.DataArray:
    return xr.DataArray(np.asarray(values, dtype="float64"), coords={"year": years}, dims=["year"])


def _cumulative(model: Any, variable: Any, name: str, ramp: Any) -> None:
    """``variable`` never falls from one year to the next, and rises by at most ``ramp``.

    The year before the first planned year counts as 0 (nothing of the lever adopted yet).
    """
    step = variable - variable.shift(year=1).fillna(0)
    model.add_constraints(step >= 0, name=f"{name}_no_retirement")
    model.add_constraints(step <= ramp, name=f"{name}_ramp")


def _first_year_mask(params: dict[str, float], years: list[int]) -> xr.DataArray:
    first = params.get("first_year")
    return _per_year([1.0 if first is None or y >= first else 0.0 for y in years], years)


def _add(total: Any, term: Any) -> Any:
    return term if total is None else total + term


def build_roadmap_model(problem: RoadmapProblem) -> BuiltRoadmap:
    """The roadmap LP (docs/roadmap.md, "The model")."""
    import linopy

    began = time.perf_counter()
    baseline, levers = problem.baseline, problem.levers
    years = baseline.years
    sites = list(baseline.sites["site"])
    kinds = baseline.sites.set_index("site")["kind"].reindex(sites)
    # own electricity (scope 2) and leased assets' electricity (scope 3 category 8)
    own = xr.DataArray(
        (baseline.sites["scope"] == 2).to_numpy(dtype="float64"),
        coords={"site": sites},
        dims=["site"],
    )
    leased = 1.0 - own
    coords = {"site": sites, "year": years}
    rate = levers.general["discount_rate_share"]
    discount = _per_year([(1.0 + rate) ** -(y - baseline.from_year) for y in years], years)
    model = linopy.Model(force_dim_names=True)
    built = BuiltRoadmap(model=model, discount=discount)
    expressions = built.expressions

    electricity = baseline.electricity
    demand = _site_year(electricity, "purchased_mwh", sites, years)
    existing_pv = _site_year(electricity, "existing_pv_mwh", sites, years)
    location = _site_year(electricity, "location_factor_tco2e_per_mwh", sites, years)
    residual = _site_year(electricity, "residual_factor_tco2e_per_mwh", sites, years)
    factor = residual if problem.scope2_basis == "market" else location
    grid_price = _site_year(electricity, "grid_price_cny_per_mwh", sites, years)

    # Reductions of electricity use (efficiency), then own generation (PV).
    saved: Any = None
    for lever, kind in EFFICIENCY_LEVERS.items():
        if not levers.enabled(lever):
            continue
        params = levers.values[lever]
        share = (
            params["saving_share"]
            if lever == "building_efficiency"
            else 1.0 - params["target_pue"] / params["baseline_pue"]
        )
        applies = own * xr.DataArray(
            (kinds == kind).to_numpy(dtype="float64"), coords={"site": sites}, dims=["site"]
        )
        upper = (applies * _first_year_mask(params, years)).transpose("site", "year")
        adopt = model.add_variables(0, upper, coords=coords, name=lever)
        _cumulative(model, adopt, lever, params["ramp_share_per_year"])
        mwh = adopt * (share * demand)
        saved = _add(saved, mwh)
        expressions[f"quantity_{lever}"] = mwh.sum("site")
        built.quantity_units[lever] = "MWh saved"
        expressions[f"abatement_{lever}"] = (mwh * factor).sum("site")
        expressions[f"cost_{lever}"] = params["levelised_cost_cny_per_mwh"] * mwh.sum("site")
    purchased: Any = demand if saved is None else demand - saved
    generated: Any = None
    if levers.enabled("onsite_pv"):
        params = levers.values["onsite_pv"]
        potential = own * xr.DataArray(
            baseline.sites["pv_potential_kw"].to_numpy(dtype="float64"),
            coords={"site": sites},
            dims=["site"],
        )
        upper = (potential * _first_year_mask(params, years)).transpose("site", "year")
        pv_kw = model.add_variables(0, upper, coords=coords, name="onsite_pv")
        _cumulative(model, pv_kw, "onsite_pv", params["ramp_share_per_year"] * potential)
        generated = params["yield_mwh_per_kw_year"] * pv_kw
        purchased = purchased - generated
        annuity = (
            params["capex_cny_per_kw"] * capital_recovery_factor(rate, params["lifetime_years"])
            + params["fixed_om_cny_per_kw_year"]
        )
        expressions["quantity_onsite_pv"] = pv_kw.sum("site")
        built.quantity_units["onsite_pv"] = "kWp installed"
        expressions["abatement_onsite_pv"] = (generated * factor).sum("site")
        expressions["cost_onsite_pv"] = annuity * pv_kw.sum("site")
    if not isinstance(purchased, xr.DataArray):
        model.add_constraints(purchased >= 0, name="purchase_non_negative")
    # every MWh still bought from the grid is paid for (efficiency and PV save it)
    expressions["cost_electricity"] = (purchased * grid_price).sum("site")
    expressions["baseline_electricity_cost"] = (demand * grid_price).sum("site")

    # Green power bought: contracts and unbundled certificates, within what is purchased.
    bought_total: Any = None
    for lever, price_name in (
        ("green_power_contract", "premium_cny_per_mwh"),
        ("gec", "price_cny_per_mwh"),
    ):
        if not levers.enabled(lever):
            continue
        params = levers.values[lever]
        upper = xr.where(  # type: ignore[no-untyped-call]
            _first_year_mask(params, years) > 0, np.inf, 0.0
        )
        upper = (xr.ones_like(demand) * upper).transpose("site", "year")
        bought = model.add_variables(0, upper, coords=coords, name=lever)
        bought_total = _add(bought_total, bought)
        expressions[f"quantity_{lever}"] = bought.sum("site")
        built.quantity_units[lever] = "MWh"
        # zero-emission instruments lower market-based scope 2, and the category 8 emissions of
        # leased assets (at the factor the inventory used for them)
        lowers: Any = 1.0 if problem.scope2_basis == "market" else leased
        expressions[f"abatement_{lever}"] = (bought * residual * lowers).sum("site")
        expressions[f"cost_{lever}"] = params[price_name] * bought.sum("site")
        if params.get("max_mwh_per_year") is not None:
            model.add_constraints(
                bought.sum("site") <= params["max_mwh_per_year"], name=f"{lever}_market_limit"
            )
    if bought_total is not None:
        model.add_constraints(bought_total - purchased <= 0, name="green_within_purchase")

    # green share of the organisation's own electricity (leased assets are not its operations)
    green: Any = (own * existing_pv).sum("site")
    for part in (generated, bought_total):
        if part is not None:
            green = (own * part).sum("site") + green
    consumption: Any = (own * (demand + existing_pv)).sum("site")
    if saved is not None:
        consumption = consumption - saved.sum("site")
    expressions["green_mwh"] = green
    expressions["consumption_mwh"] = consumption
    if levers.enabled("gec") and problem.max_certificate_share_of_green < 1.0:
        green_all = green if bought_total is None else green + (leased * bought_total).sum("site")
        model.add_constraints(
            model.variables["gec"].sum("site") - problem.max_certificate_share_of_green * green_all
            <= 0,
            name="certificate_share",
        )

    # Emissions by scope.
    streams = baseline.streams
    by_scope: dict[int, Any] = {}
    for scope in (1, 2, 3):
        rows = streams.loc[streams["scope"] == scope]
        total = rows.groupby("year")["emissions_tco2e"].sum().reindex(years, fill_value=0.0)
        by_scope[scope] = _per_year(total.to_numpy(), years)
    for lever, (scope, categories) in REDUCTION_LEVERS.items():
        if not levers.enabled(lever):
            continue
        params = levers.values[lever]
        rows = streams.loc[(streams["scope"] == scope) & streams["category"].isin(categories)]
        dim = f"{lever}_site"
        owners = sorted(set(rows["site"])) or ["none"]
        stream = _site_year(rows, "emissions_tco2e", owners, years, dim=dim)
        has = (stream.sum("year") > 0).astype("float64")
        upper = (has * params["reduction_share_max"] * _first_year_mask(params, years)).transpose(
            dim, "year"
        )
        cut = model.add_variables(0, upper, coords={dim: owners, "year": years}, name=lever)
        _cumulative(model, cut, lever, params["ramp_share_per_year"])
        abated = (cut * stream).sum(dim)
        by_scope[scope] = by_scope[scope] - abated
        expressions[f"quantity_{lever}"] = abated
        built.quantity_units[lever] = "tCO2e cut"
        expressions[f"abatement_{lever}"] = abated
        expressions[f"cost_{lever}"] = params["cost_cny_per_tco2e"] * abated
    heat = by_scope[2]
    remaining: Any = purchased if bought_total is None else purchased - bought_total
    expressions["scope1"] = by_scope[1]
    expressions["scope3"] = (leased * remaining * residual).sum("site") + by_scope[3]
    expressions["scope2_market"] = (own * remaining * residual).sum("site") + heat
    expressions["scope2_location"] = (own * purchased * location).sum("site") + heat
    gross = {
        1: expressions["scope1"],
        2: expressions[f"scope2_{problem.scope2_basis}"],
        3: expressions["scope3"],
    }

    def gross_of(scopes: Sequence[int]) -> Any:
        total: Any = None
        for scope in sorted(set(scopes)):
            total = _add(total, gross[scope])
        return total

    base = baseline.base_year_tco2e
    base_scope = {
        1: base["scope1"],
        2: base[f"scope2_{problem.scope2_basis}"],
        3: base["scope3"],
    }

    # Offsets: only for neutrality targets, capped, only for residual emissions.
    neutral = [
        t for t in problem.targets if t.kind in (TargetKind.CARBON_NEUTRAL, TargetKind.NET_ZERO)
    ]
    offsets: dict[str, Any] = {}
    if neutral:
        scopes = sorted({s for t in neutral for s in t.scopes})
        cap = levers.general["offset_cap_share_of_base_year"] * sum(base_scope[s] for s in scopes)
        for lever in ("offset_avoidance", "offset_removal"):
            if levers.enabled(lever):
                offsets[lever] = model.add_variables(0, coords={"year": years}, name=lever)
                expressions[f"quantity_{lever}"] = 1 * offsets[lever]
                built.quantity_units[lever] = "tCO2e retired"
                expressions[f"cost_{lever}"] = (
                    levers.values[lever]["price_cny_per_tco2e"] * offsets[lever]
                )
        if offsets:
            used: Any = None
            for variable in offsets.values():
                used = _add(used, 1 * variable)
            model.add_constraints(used <= cap, name="offset_cap")
            model.add_constraints(used - gross_of(scopes) <= 0, name="offsets_residual_only")

    # Targets, each with a shortfall (slack) variable per year.
    penalties: Any = None
    default_rate = levers.general["sbti_linear_reduction_share_per_year"]
    for index, target in enumerate(problem.targets):
        slack = model.add_variables(0, coords={"year": years}, name=f"shortfall_{index}")
        penalties = _add(penalties, SHORTFALL_PENALTY_CNY * slack.sum())
        label = target_label(target)
        if target.kind in (TargetKind.CARBON_NEUTRAL, TargetKind.NET_ZERO):
            counted: Any = gross_of(target.scopes)
            if "offset_removal" in offsets:
                counted = counted - offsets["offset_removal"]
            if target.kind == TargetKind.CARBON_NEUTRAL and "offset_avoidance" in offsets:
                counted = counted - offsets["offset_avoidance"]
            active = _per_year([1.0 if y >= target.year else 0.0 for y in years], years)
            model.add_constraints(counted - slack <= 0, name=f"target_{index}", mask=active > 0)
            built.targets.append({"target": label, "unit": "tCO2e", "active": active})
        elif target.kind == TargetKind.ABSOLUTE_REDUCTION:
            rate_used = (
                target.annual_reduction_share
                if target.annual_reduction_share is not None
                else default_rate
            )
            base_total = sum(base_scope[s] for s in target.scopes)
            limits = reduction_limits_tco2e(target, base_total, problem.base_year, years, rate_used)
            model.add_constraints(
                gross_of(target.scopes) - slack <= _per_year(limits.to_numpy(), years),
                name=f"target_{index}",
            )
            built.targets.append(
                {"target": label, "unit": "tCO2e", "active": _per_year([1.0] * len(years), years)}
            )
        else:
            needed = _per_year(green_requirements(target, years).to_numpy(), years)
            model.add_constraints(green + slack - needed * consumption >= 0, name=f"target_{index}")
            built.targets.append({"target": label, "unit": "MWh", "active": (needed > 0) * 1.0})
        built.targets[-1]["slack"] = slack

    yearly_cost: Any = None
    for name, expression in expressions.items():
        if name.startswith("cost_"):
            yearly_cost = _add(yearly_cost, expression)
    objective: Any = None
    if yearly_cost is not None:
        expressions["cost_total"] = yearly_cost
        # The objective is the discounted cost beyond the baseline's electricity bill (a
        # constant, which linopy does not take in an objective): the net cost of the plan.
        net = (yearly_cost - expressions["baseline_electricity_cost"]) * discount
        objective = net.sum()
        objective = objective - float(objective.const)
    objective = _add(objective, penalties)
    if objective is None:
        raise TanluError("the roadmap has no target and no lever: there is nothing to plan")
    model.add_objective(objective)
    built.build_seconds = time.perf_counter() - began
    return built

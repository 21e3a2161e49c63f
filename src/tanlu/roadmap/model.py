"""The roadmap as one linear programme over sites x years x levers (linopy + HiGHS).

docs/roadmap.md ("The model") writes out every variable, constraint and cost term; the names
here follow it.

Every quantity the model reports or constrains (emissions by scope, green and consumed
electricity, the cost of each lever) is an *aggregate*: a constant per year plus, for some
decision variables, the variable times a coefficient summed over sites. The model keeps the
aggregates in that form (:class:`Aggregate`), builds a linopy expression only for the ones a
constraint needs, and evaluates all of them from the solution with numpy. Building stays a
handful of vectorised operations whatever the number of sites.

Shortfalls: every target constraint has a slack variable priced far above any lever
(:data:`SHORTFALL_PENALTY_CNY`), so the model always solves; a slack left above zero means that
no plan meets the target in that year, and :class:`RoadmapInfeasible` says which target, which
year and by how much.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from tanlu.errors import ProjectError, TanluError
from tanlu.finance import capital_recovery_factor
from tanlu.project import Target, TargetKind, TrajectorySettings
from tanlu.roadmap.baseline import Baseline, reduction_rows
from tanlu.roadmap.levers import (
    EFFICIENCY_LEVERS,
    FUEL_LEVERS,
    LeverSet,
    fleet_coefficients,
    saving_share,
)

# Price of one unit (tCO2e or MWh) of target shortfall in the objective [CNY]: about a thousand
# times the dearest bundled lever, so that every lever and offset is used before a shortfall.
SHORTFALL_PENALTY_CNY = 1.0e6
# Shortfalls below this are solver round-off [tCO2e or MWh].
SHORTFALL_TOLERANCE = 1e-3
HIGHS_OPTIONS: dict[str, Any] = {"output_flag": False, "log_to_console": False}
YEAR = "year"
STREAM_SITE = "stream_site"


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
    emission_cap
        ``(year, cap_tco2e)``: gross emissions of scopes 1-3 in that year at most the cap, as a
        hard constraint named ``emission_cap`` (no slack). Used by the model-derived MACC,
        whose marginal costs are this constraint's duals.
    denominators
        ``{output metric: {year: value}}`` for the base year and every planned year, for
        intensity targets.
    held_mwh
        ``{lever: MWh}`` of contracts (``green_power_contract``) and certificates (``gec``)
        the organisation held in the year planned from: where a ramp starts.
    """

    baseline: Baseline
    levers: LeverSet
    targets: list[Target]
    base_year: int
    scope2_basis: str = "market"
    max_certificate_share_of_green: float = 1.0
    emission_cap: tuple[int, float] | None = None
    denominators: dict[str, dict[int, float]] = field(default_factory=dict)
    held_mwh: dict[str, float] = field(default_factory=dict)
    trajectory: TrajectorySettings | None = None


def target_label(target: Target) -> str:
    """A plain-language name of a target."""
    scopes = ", ".join(str(s) for s in target.scopes)
    if target.kind == TargetKind.GREEN_ELECTRICITY:
        return f"{100 * target.share:g}% green electricity by {target.year}"
    if target.kind == TargetKind.ABSOLUTE_REDUCTION:
        return f"absolute reduction of scopes {scopes} by {target.year}"
    if target.kind == TargetKind.INTENSITY_REDUCTION:
        return f"intensity of scopes {scopes} per {target.denominator} by {target.year}"
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


class _Bank:
    """The model's variables, declared one by one and created in a few stacked groups.

    Each group is one linopy variable with a ``member`` dimension (the lever or target name):
    ``site_lever`` (member, site, year), ``stream_lever`` (member, stream_site, year),
    ``offset`` and ``shortfall`` (member, year). Creating a handful of variables instead of one
    per lever keeps the build time flat in the number of levers.
    """

    def __init__(self, model: Any) -> None:
        self.model = model
        self.uppers: dict[str, dict[str, xr.DataArray]] = {}
        self.group_of: dict[str, str] = {}
        self.ramps: dict[str, dict[str, xr.DataArray]] = {}
        self.cache: dict[str, xr.DataArray] = {}

    def declare(self, group: str, name: str, upper: xr.DataArray) -> None:
        """A variable ``name`` in ``group``, from 0 to ``upper`` (inf allowed)."""
        self.uppers.setdefault(group, {})[name] = upper
        self.group_of[name] = group

    def cumulative(self, name: str, ramp: xr.DataArray | float) -> None:
        """``name`` never falls from a year to the next and rises by at most ``ramp`` a year."""
        group = self.group_of[name]
        self.ramps.setdefault(group, {})[name] = xr.DataArray(ramp)

    def create(self) -> None:
        """Create the grouped variables and the cumulative constraints."""
        for group, uppers in self.uppers.items():
            names = list(uppers)
            template = max(uppers.values(), key=lambda u: u.ndim)
            dims = [str(d) for d in template.dims]
            values = np.stack([_broadcast(uppers[n], template, dims) for n in names])
            coords = {"member": names, **{d: template[d].values for d in dims}}
            stacked = xr.DataArray(values, coords=coords, dims=["member", *dims])
            self.model.add_variables(0, stacked, name=group)
        for group, ramps in self.ramps.items():
            names = list(ramps)
            labels = self.model.variables[group].labels.sel(member=names)
            upper = self.model.variables[group].upper.sel(member=names)
            inner = [str(d) for d in upper.dims if d != "member"]
            template = upper.isel(member=0, drop=True)
            ramp = xr.DataArray(
                np.stack([_broadcast(ramps[n], template, inner) for n in names]),
                coords={"member": names, **{d: upper[d].values for d in inner}},
                dims=["member", *inner],
            )
            order = [d for d in labels.dims if d != YEAR] + [YEAR]
            labels = labels.transpose(*order)
            now = labels.values
            before = np.full_like(now, -1)
            before[..., 1:] = now[..., :-1]
            step = _expression(
                self.model,
                np.stack([now, before], axis=-1),
                np.stack([np.ones(now.shape), -np.ones(now.shape)], axis=-1),
                {d: labels[d].values for d in order},
            )
            _constrain(self.model, f"{group}_no_retirement", step, ">=", 0.0)
            # the ramp binds only where it is tighter than the bound: other members are left out
            tight = [n for n in names if bool((ramp.sel(member=n) < upper.sel(member=n)).any())]
            if tight:
                ramped = step.data.sel(member=tight)
                _constrain(
                    self.model,
                    f"{group}_ramp",
                    type(step)(ramped, self.model),
                    "<=",
                    ramp.sel(member=tight).transpose(*order),
                )

    def labels(self, name: str) -> xr.DataArray:
        """The labels of one declared variable (its group's slice)."""
        if name not in self.cache:
            labels: xr.DataArray = self.model.variables[self.group_of[name]].labels
            self.cache[name] = labels.sel(member=name, drop=True)
        return self.cache[name]

    def solution(self, name: str) -> xr.DataArray:
        """The solved values of one declared variable."""
        values: xr.DataArray = self.model.variables[self.group_of[name]].solution
        return values.sel(member=name, drop=True)


@dataclass
class Aggregate:
    """A quantity per year: ``constant + sum over terms of (variable x coefficient)``.

    Each term's coefficient has the variable's dimensions (or broadcasts to them); the sum runs
    over every dimension but ``year``.
    """

    constant: xr.DataArray
    terms: list[tuple[str, xr.DataArray]] = field(default_factory=list)

    def plus(self, variable: str, coefficient: xr.DataArray | float) -> Aggregate:
        """The aggregate with one more term (returns itself)."""
        self.terms.append((variable, xr.DataArray(coefficient)))
        return self

    def combined(self, other: Aggregate, sign: float = 1.0) -> Aggregate:
        """A new aggregate: self + sign x other."""
        return Aggregate(
            self.constant + sign * other.constant,
            [*self.terms, *((name, sign * coefficient) for name, coefficient in other.terms)],
        )

    def expression(self, bank: _Bank) -> Any:
        """The linopy expression over ``year`` (without its constant), or None without terms.

        Built directly from the variables' labels and the coefficients (numpy), one term per
        variable and site: the same expression as ``sum(variable * coefficient).sum(sites)``,
        several times faster to build.
        """
        if not self.terms:
            return None
        variables, coefficients = [], []
        for name, coefficient in self.terms:
            labels = bank.labels(name)
            order = [YEAR, *(str(d) for d in labels.dims if d != YEAR)]
            count = labels.sizes[YEAR]
            variables.append(labels.transpose(*order).values.reshape(count, -1))
            coefficients.append(_broadcast(coefficient, labels, order).reshape(count, -1))
        return _expression(
            bank.model,
            np.concatenate(variables, axis=1),
            np.concatenate(coefficients, axis=1),
            {YEAR: bank.labels(self.terms[0][0])[YEAR].values},
        )

    def value(self, bank: _Bank) -> np.ndarray:
        """The aggregate per year, from the solved model."""
        total = self.constant.astype("float64")
        for name, coefficient in self.terms:
            product = bank.solution(name) * coefficient
            others = [d for d in product.dims if d != YEAR]
            total = total + (product.sum(others) if others else product)
        return np.asarray(total.transpose(YEAR).values, dtype="float64")


@dataclass
class BuiltRoadmap:
    """A built model and the aggregates its results are read from.

    ``aggregates`` are keyed ``scope1, scope2_market, scope2_location, scope3, green_mwh,
    consumption_mwh, cost_electricity, baseline_electricity_cost, cost_total`` and, per lever,
    ``quantity_<lever>``, ``abatement_<lever>``, ``cost_<lever>``.
    """

    model: Any  # linopy.Model
    years: list[int]
    discount: xr.DataArray
    bank: _Bank
    aggregates: dict[str, Aggregate] = field(default_factory=dict)
    quantity_units: dict[str, str] = field(default_factory=dict)
    targets: list[dict[str, Any]] = field(default_factory=list)
    build_seconds: float = 0.0

    def value(self, name: str) -> np.ndarray:
        """An aggregate per year after solving [its unit]; zeros when the model has none."""
        if name not in self.aggregates:
            return np.zeros(len(self.years))
        return self.aggregates[name].value(self.bank)

    def variable(self, name: str) -> np.ndarray:
        """A per-year variable's solved values (offsets, shortfalls)."""
        values = self.bank.solution(name).reindex({YEAR: self.years}).values
        return np.asarray(values, dtype="float64")


def _site_year(
    frame: pd.DataFrame, column: str, sites: list[str], years: list[int], dim: str = "site"
) -> xr.DataArray:
    table = frame.pivot_table(index="site", columns="year", values=column, aggfunc="sum")
    table = table.reindex(index=sites, columns=years).fillna(0.0)
    return xr.DataArray(
        table.to_numpy(dtype="float64"), coords={dim: sites, YEAR: years}, dims=[dim, YEAR]
    )


def _per_year(values: list[float] | np.ndarray, years: list[int]) -> xr.DataArray:
    return xr.DataArray(np.asarray(values, dtype="float64"), coords={YEAR: years}, dims=[YEAR])


def _first_year_mask(params: dict[str, float], years: list[int]) -> xr.DataArray:
    first = params.get("first_year")
    return _per_year([1.0 if first is None or y >= first else 0.0 for y in years], years)


def _expression(
    model: Any, variables: np.ndarray, coefficients: np.ndarray, coords: dict[str, Any]
) -> Any:
    """A linopy expression from label and coefficient arrays whose last axis is the terms."""
    import linopy

    dims = [*coords, "_term"]
    data = xr.Dataset(
        {
            "coeffs": (dims, np.where(variables >= 0, coefficients, 0.0)),
            "vars": (dims, variables),
            "const": (dims[:-1], np.zeros(variables.shape[:-1])),
        },
        coords=coords,
    )
    return linopy.LinearExpression(data, model)


def _constrain(
    model: Any, name: str, expression: Any, sign: str, rhs: Any, years: list[int] | None = None
) -> None:
    """Add ``expression sign rhs`` (only in ``years`` when given), built as a linopy
    Constraint from the expression's arrays: the same constraint as
    ``model.add_constraints(expression <= rhs)``, without its alignment overhead."""
    import linopy

    data = expression.data[["coeffs", "vars"]]
    shape = expression.const
    if years is not None:
        data = data.sel({YEAR: years})
        shape = shape.sel({YEAR: years})
    right = xr.DataArray(rhs).broadcast_like(shape).transpose(*shape.dims)
    if years is not None and YEAR in right.dims:
        right = right.sel({YEAR: years})
    data = data.assign(
        sign=(shape.dims, np.full(shape.shape, sign)),
        rhs=(shape.dims, np.asarray(right.values, dtype="float64")),
    )
    model.add_constraints(linopy.Constraint(data, model, name, skip_broadcast=True), name=name)


def _broadcast(coefficient: xr.DataArray, labels: xr.DataArray, order: list[str]) -> np.ndarray:
    """``coefficient`` as a numpy array of the labels' shape in ``order``.

    The coefficient's dimensions are a subset of the labels' with the same coordinates (the
    model builds both from the same site and year lists; checked here).
    """
    shape = [labels.sizes[d] for d in order]
    if coefficient.ndim == 0:
        return np.full(shape, float(coefficient))
    for dim in coefficient.dims:
        if dim not in labels.dims or not np.array_equal(
            coefficient[dim].values, labels[dim].values
        ):
            raise TanluError(f"internal: coefficient axis '{dim}' does not match the variable's")
    present = [d for d in order if d in coefficient.dims]
    values = coefficient.transpose(*present).values
    expanded = values.reshape([labels.sizes[d] if d in coefficient.dims else 1 for d in order])
    return np.broadcast_to(expanded, shape)


def _rule(
    bank: _Bank,
    name: str,
    aggregate: Aggregate,
    sign: str,
    rhs: xr.DataArray | float,
    years: list[int] | None = None,
) -> Callable[[], None]:
    """A constraint ``aggregate sign rhs`` (per year), to add once the variables exist."""

    def add() -> None:
        _constrain(
            bank.model, name, aggregate.expression(bank), sign, rhs - aggregate.constant, years
        )

    return add


def _exclude(upper: xr.DataArray, excluded: frozenset[str], dim: str) -> xr.DataArray:
    """``upper`` with 0 at the sites a lever is not applied at (``lever_excluded_sites``)."""
    if not excluded:
        return upper
    keep = xr.DataArray(
        [site not in excluded for site in upper[dim].values],
        coords={dim: upper[dim].values},
        dims=[dim],
    )
    kept: xr.DataArray = xr.where(keep, upper, 0.0)  # type: ignore[no-untyped-call]
    return kept.transpose(*upper.dims)


def _ramp_rule(
    bank: _Bank,
    lever: str,
    total: Aggregate,
    held: float,
    ramp: float | xr.DataArray,
    name: str = "ramp_mwh",
) -> Callable[[], None]:
    """``total(y) - total(y - 1) <= ramp`` every planned year, ``total(y0) = held`` before
    the first (``<lever>_<name>``; ``ramp`` a number or a value per year [MWh])."""

    def add() -> None:
        expression = total.expression(bank)
        years = [int(y) for y in expression.coords[YEAR].values]
        per_year = xr.DataArray(ramp).broadcast_like(expression.const)
        first = held + per_year.sel({YEAR: years[:1]})
        _constrain(bank.model, f"{lever}_{name}_first", expression, "<=", first, years[:1])
        if len(years) > 1:
            variables = expression.data["vars"].transpose(YEAR, "_term").values
            coefficients = expression.data["coeffs"].transpose(YEAR, "_term").values
            step = _expression(
                bank.model,
                np.concatenate([variables[1:], variables[:-1]], axis=1),
                np.concatenate([coefficients[1:], -coefficients[:-1]], axis=1),
                {YEAR: years[1:]},
            )
            _constrain(bank.model, f"{lever}_{name}", step, "<=", per_year.sel({YEAR: years[1:]}))

    return add


def _sum_over_sites(array: xr.DataArray) -> xr.DataArray:
    others = [d for d in array.dims if d != YEAR]
    return array.sum(others) if others else array


def build_roadmap_model(problem: RoadmapProblem) -> BuiltRoadmap:
    """The roadmap LP (docs/roadmap.md, "The model")."""
    import linopy

    began = time.perf_counter()
    baseline, levers = problem.baseline, problem.levers
    years = baseline.years
    site_table = baseline.sites.astype({"site": object, "kind": object})
    sites = [str(site) for site in site_table["site"]]
    kinds = site_table.set_index("site")["kind"].reindex(sites)
    coords = {"site": sites, YEAR: years}
    rate = levers.general["discount_rate_share"]
    discount = _per_year([(1.0 + rate) ** -(y - baseline.from_year) for y in years], years)
    model = linopy.Model(force_dim_names=True)
    bank = _Bank(model)
    built = BuiltRoadmap(model=model, years=years, discount=discount, bank=bank)
    # constraints need every variable's labels: they are added once the variables exist
    deferred: list[Callable[[], None]] = []
    aggregates = built.aggregates
    zero = _per_year(np.zeros(len(years)), years)

    def site_array(values: np.ndarray) -> xr.DataArray:
        return xr.DataArray(
            np.asarray(values, dtype="float64"), coords={"site": sites}, dims=["site"]
        )

    grid = pd.MultiIndex.from_product([sites, years], names=["site", YEAR])
    electricity = (
        baseline.electricity.astype({"site": object})
        .set_index(["site", YEAR])
        .reindex(grid)
        .fillna(0.0)
    )

    def column(name: str) -> xr.DataArray:
        values = electricity[name].to_numpy(dtype="float64").reshape(len(sites), len(years))
        return xr.DataArray(values, coords=coords, dims=["site", YEAR])

    demand = column("purchased_mwh")
    existing_pv = column("existing_pv_mwh")
    location = column("location_factor_tco2e_per_mwh")
    residual = column("residual_factor_tco2e_per_mwh")
    price = column("grid_price_cny_per_mwh")
    # own electricity (scope 2) and leased assets' electricity (scope 3 category 8)
    own = site_array((site_table["scope"] == 2).to_numpy())
    leased = 1.0 - own
    factor = residual if problem.scope2_basis == "market" else location

    # Constants: the baseline, before any lever.
    streams = baseline.streams.astype({"site": object, "category": object})
    by_scope = {}
    for scope in (1, 2, 3):
        rows = streams.loc[streams["scope"] == scope]
        total = rows.groupby("year")["emissions_tco2e"].sum().reindex(years, fill_value=0.0)
        by_scope[scope] = _per_year(total.to_numpy(), years)
    scope1 = Aggregate(by_scope[1])
    scope2_market = Aggregate(by_scope[2] + _sum_over_sites(own * demand * residual))
    scope2_location = Aggregate(by_scope[2] + _sum_over_sites(own * demand * location))
    scope3 = Aggregate(by_scope[3] + _sum_over_sites(leased * demand * residual))
    green = Aggregate(_sum_over_sites(own * existing_pv))
    consumption = Aggregate(_sum_over_sites(own * (demand + existing_pv)))
    electricity_cost = Aggregate(_sum_over_sites(demand * price))
    aggregates["baseline_electricity_cost"] = Aggregate(_sum_over_sites(demand * price))
    # per (site, year): electricity taken off the purchase by efficiency, PV, and green buys
    purchase_terms: list[tuple[str, xr.DataArray]] = []

    def lever_aggregates(lever: str, unit: str) -> tuple[Aggregate, Aggregate, Aggregate]:
        built.quantity_units[lever] = unit
        quantity, abatement, cost = Aggregate(zero), Aggregate(zero), Aggregate(zero)
        aggregates[f"quantity_{lever}"] = quantity
        aggregates[f"abatement_{lever}"] = abatement
        aggregates[f"cost_{lever}"] = cost
        return quantity, abatement, cost

    # Reductions of electricity use (efficiency), then own generation (PV).
    for lever, kind in EFFICIENCY_LEVERS.items():
        if not levers.enabled(lever):
            continue
        params = levers.values[lever]
        share = saving_share(lever, params)
        applies = own * site_array((kinds == kind).to_numpy())
        upper = (applies * _first_year_mask(params, years)).transpose("site", YEAR)
        bank.declare("site_lever", lever, _exclude(upper, levers.excluded(lever), "site"))
        bank.cumulative(lever, params["ramp_share_per_year"])
        saved = share * demand  # MWh saved per unit of adoption
        purchase_terms.append((lever, saved))
        quantity, abatement, cost = lever_aggregates(lever, "MWh saved")
        quantity.plus(lever, saved)
        abatement.plus(lever, saved * factor)
        cost.plus(lever, params["levelised_cost_cny_per_mwh"] * saved)
        for aggregate, coefficient in (
            (scope2_market, saved * residual),
            (scope2_location, saved * location),
            (consumption, saved),
            (electricity_cost, saved * price),
        ):
            aggregate.plus(lever, -coefficient)
    if levers.enabled("onsite_pv"):
        params = levers.values["onsite_pv"]
        potential = own * site_array(site_table["pv_potential_kw"].to_numpy())
        upper = (potential * _first_year_mask(params, years)).transpose("site", YEAR)
        bank.declare(
            "site_lever", "onsite_pv", _exclude(upper, levers.excluded("onsite_pv"), "site")
        )
        bank.cumulative("onsite_pv", params["ramp_share_per_year"] * potential)
        yield_mwh = xr.DataArray(params["yield_mwh_per_kw_year"])
        annuity = (
            params["capex_cny_per_kw"] * capital_recovery_factor(rate, params["lifetime_years"])
            + params["fixed_om_cny_per_kw_year"]
        )
        purchase_terms.append(("onsite_pv", yield_mwh * xr.ones_like(demand)))
        quantity, abatement, cost = lever_aggregates("onsite_pv", "kWp installed")
        quantity.plus("onsite_pv", 1.0)
        abatement.plus("onsite_pv", yield_mwh * factor)
        cost.plus("onsite_pv", annuity)
        scope2_market.plus("onsite_pv", -yield_mwh * residual)
        scope2_location.plus("onsite_pv", -yield_mwh * location)
        green.plus("onsite_pv", yield_mwh * own)
        electricity_cost.plus("onsite_pv", -yield_mwh * price)

    # Fleet electrification: diesel vehicles replaced by electric ones charged at the site.
    if levers.enabled("fleet_electrification"):
        lever = "fleet_electrification"
        params = levers.values[lever]
        fuels = baseline.fuels
        fleet = fuels.loc[fuels["activity"] == FUEL_LEVERS[lever]].astype({"site": object})
        litres = _site_year(fleet, "fuel_l", sites, years)
        diesel_tco2e = _site_year(fleet, "emissions_tco2e", sites, years)
        # own sites with diesel vehicles (the chargers' electricity is the site's scope 2)
        has = own * (litres.sum(YEAR) > 0).astype("float64")
        upper = (has * params["reduction_share_max"] * _first_year_mask(params, years)).transpose(
            "site", YEAR
        )
        bank.declare("site_lever", lever, _exclude(upper, levers.excluded(lever), "site"))
        bank.cumulative(lever, params["ramp_share_per_year"])
        per_litre = fleet_coefficients(params, rate)
        charged = litres * per_litre.mwh_per_l  # MWh charged per unit of adoption
        vehicles = litres * per_litre.vehicles_per_l
        # a negative purchase term: green power may also be bought for the chargers
        purchase_terms.append((lever, -charged))
        quantity, abatement, cost = lever_aggregates(lever, "vehicles")
        quantity.plus(lever, vehicles)
        abatement.plus(lever, diesel_tco2e - charged * factor)
        cost.plus(lever, litres * per_litre.cost_cny_per_l)
        scope1.plus(lever, -diesel_tco2e)
        for aggregate, coefficient in (
            (scope2_market, charged * residual),
            (scope2_location, charged * location),
            (consumption, charged),
            (electricity_cost, charged * price),
        ):
            aggregate.plus(lever, coefficient)

    # Green power bought: contracts and unbundled certificates, within what is purchased.
    bought = []
    for lever, price_name in (
        ("green_power_contract", "premium_cny_per_mwh"),
        ("gec", "price_cny_per_mwh"),
    ):
        if not levers.enabled(lever):
            continue
        params = levers.values[lever]
        available = xr.where(_first_year_mask(params, years) > 0, np.inf, 0.0)  # type: ignore[no-untyped-call]
        upper = (xr.ones_like(demand) * available).transpose("site", YEAR)
        bank.declare("site_lever", lever, _exclude(upper, levers.excluded(lever), "site"))
        bought.append(lever)
        purchase_terms.append((lever, xr.ones_like(demand)))
        quantity, abatement, cost = lever_aggregates(lever, "MWh")
        quantity.plus(lever, 1.0)
        # zero-emission instruments lower market-based scope 2, and the category 8 emissions
        # of leased assets (at the factor the inventory used for them)
        lowers = 1.0 if problem.scope2_basis == "market" else leased
        abatement.plus(lever, residual * lowers)
        cost.plus(lever, params[price_name])
        scope2_market.plus(lever, -residual * own)
        scope3.plus(lever, -residual * leased)
        green.plus(lever, own)
        if params.get("max_mwh_per_year") is not None:
            limit = Aggregate(zero).plus(lever, 1.0)
            deferred.append(
                _rule(bank, f"{lever}_market_limit", limit, "<=", params["max_mwh_per_year"])
            )
        if params.get("min_mwh_per_year") is not None:
            # contracts already signed (or a purchase policy): at least this much every year
            # the lever is available, within what the sites buy
            floor = float(params["min_mwh_per_year"])
            mask = _first_year_mask(params, years).values
            floor_years = [y for y, on in zip(years, mask, strict=True) if on]
            # what the sites the lever may buy for purchase from the grid
            excluded = levers.excluded(lever)
            keep = site_array(np.array([site not in excluded for site in sites], dtype=float))
            buyable = _sum_over_sites(demand * keep)
            short = [y for y in floor_years if float(buyable.sel({YEAR: y})) < floor]
            if short:
                raise ProjectError(
                    f"roadmap.levers.{lever}.min_mwh_per_year: {floor:,.0f} MWh is more than "
                    f"the sites it may buy for purchase from the grid in {short[0]} "
                    f"({float(buyable.sel({YEAR: short[0]})):,.0f} MWh)"
                )
            if floor_years:
                at_least = Aggregate(zero).plus(lever, 1.0)
                deferred.append(_rule(bank, f"{lever}_floor", at_least, ">=", floor, floor_years))
        if params.get("ramp_mwh_per_year") is not None:
            # the market delivers at most this much more a year, from what was held
            ramp = float(params["ramp_mwh_per_year"])
            held = float(problem.held_mwh.get(lever, 0.0))
            least = params.get("min_mwh_per_year")
            # a lever that starts after the first planned year starts from nothing
            available = bool(_first_year_mask(params, years).values[0])
            start = held if available else 0.0
            if least is not None and least > start + ramp:
                since = f"held in {baseline.from_year}" if available else "held before first_year"
                raise ProjectError(
                    f"roadmap.levers.{lever}: min_mwh_per_year {least:,.0f} is more than the "
                    f"{start:,.0f} MWh {since} plus ramp_mwh_per_year {ramp:,.0f}"
                )
            deferred.append(_ramp_rule(bank, lever, Aggregate(zero).plus(lever, 1.0), held, ramp))
        if params.get("ramp_share_of_purchase_per_year") is not None:
            # at most this share of the year's baseline purchase more than the year before
            # (docs/levers.md, "Ramps"): the sites the lever may buy for, own and leased
            excluded = levers.excluded(lever)
            keep = site_array(np.array([site not in excluded for site in sites], dtype=float))
            purchase = _sum_over_sites(demand * keep)
            step_mwh = params["ramp_share_of_purchase_per_year"] * purchase
            held = float(problem.held_mwh.get(lever, 0.0))
            least = params.get("min_mwh_per_year")
            available = bool(_first_year_mask(params, years).values[0])
            start = (held if available else 0.0) + float(step_mwh.values[0])
            if least is not None and least > start:
                raise ProjectError(
                    f"roadmap.levers.{lever}: min_mwh_per_year {least:,.0f} is more than the "
                    f"{held if available else 0.0:,.0f} MWh held plus ramp_share_of_purchase_"
                    f"per_year {params['ramp_share_of_purchase_per_year']:g} x the "
                    f"{float(purchase.values[0]):,.0f} MWh bought in {years[0]}"
                )
            deferred.append(
                _ramp_rule(
                    bank,
                    lever,
                    Aggregate(zero).plus(lever, 1.0),
                    held,
                    step_mwh,
                    "ramp_share_of_purchase",
                )
            )
    if purchase_terms:
        # efficiency + PV + green bought <= baseline purchase, per site and year: the purchase
        # never goes below zero and green power is bought only for electricity still bought
        within = Aggregate(zero, list(purchase_terms))
        deferred.append(
            lambda: _constrain(
                model, "within_purchase", _site_expression(bank, within), "<=", demand
            )
        )
    if "gec" in bought and problem.max_certificate_share_of_green < 1.0:
        # certificates at most a share of green electricity (own, and bought for leased sites)
        green_all = Aggregate(green.constant, list(green.terms))
        if "green_power_contract" in bought:
            green_all.plus("green_power_contract", leased)
        green_all.plus("gec", leased)
        certificates = Aggregate(zero).plus("gec", 1.0)
        rule = certificates.combined(green_all, -problem.max_certificate_share_of_green)
        deferred.append(_rule(bank, "certificate_share", rule, "<=", 0.0))

    # Emission-reduction levers on scope 1 and scope 3 streams (one site axis for all).
    owners = sorted(set(streams["site"])) or ["none"]
    for lever, (scope, categories) in levers.reductions.items():
        if not levers.enabled(lever):
            continue
        params = levers.values[lever]
        rows = reduction_rows(baseline, lever, scope, categories)
        stream = _site_year(rows, "emissions_tco2e", owners, years, dim=STREAM_SITE)
        has = (stream.sum(YEAR) > 0).astype("float64")
        upper = (has * params["reduction_share_max"] * _first_year_mask(params, years)).transpose(
            STREAM_SITE, YEAR
        )
        bank.declare("stream_lever", lever, _exclude(upper, levers.excluded(lever), STREAM_SITE))
        bank.cumulative(lever, params["ramp_share_per_year"])
        quantity, abatement, cost = lever_aggregates(lever, "tCO2e cut")
        quantity.plus(lever, stream)
        abatement.plus(lever, stream)
        cost.plus(lever, params["cost_cny_per_tco2e"] * stream)
        (scope1 if scope == 1 else scope3).plus(lever, -stream)

    aggregates.update(
        {
            "scope1": scope1,
            "scope2_market": scope2_market,
            "scope2_location": scope2_location,
            "scope3": scope3,
            "green_mwh": green,
            "consumption_mwh": consumption,
            "cost_electricity": electricity_cost,
        }
    )
    gross = {1: scope1, 2: scope2_market if problem.scope2_basis == "market" else scope2_location}
    gross[3] = scope3

    def gross_of(scopes: Sequence[int]) -> Aggregate:
        total = Aggregate(zero)
        for scope in sorted(set(scopes)):
            total = total.combined(gross[scope])
        return total

    base = baseline.base_year_tco2e
    base_scope = {1: base["scope1"], 2: base[f"scope2_{problem.scope2_basis}"], 3: base["scope3"]}

    # Offsets: only for neutrality targets, capped, only for residual emissions.
    neutral = [
        t for t in problem.targets if t.kind in (TargetKind.CARBON_NEUTRAL, TargetKind.NET_ZERO)
    ]
    offsets: list[str] = []
    unbounded = xr.DataArray(np.full(len(years), np.inf), coords={YEAR: years}, dims=[YEAR])
    if neutral:
        scopes = sorted({s for t in neutral for s in t.scopes})
        cap = levers.general["offset_cap_share_of_base_year"] * sum(base_scope[s] for s in scopes)
        for lever in ("offset_avoidance", "offset_removal"):
            if levers.enabled(lever):
                bank.declare("offset", lever, unbounded)
                offsets.append(lever)
                quantity, _, cost = lever_aggregates(lever, "tCO2e retired")
                del aggregates[f"abatement_{lever}"]
                quantity.plus(lever, 1.0)
                cost.plus(lever, levers.values[lever]["price_cny_per_tco2e"])
        if offsets:
            used = Aggregate(zero)
            for lever in offsets:
                used.plus(lever, 1.0)
            residual_rule = used.combined(gross_of(scopes), -1.0)

            deferred.append(_rule(bank, "offset_cap", used, "<=", cap))
            deferred.append(_rule(bank, "offsets_residual_only", residual_rule, "<=", 0.0))

    if problem.emission_cap is not None:
        cap_year, cap_tco2e = problem.emission_cap
        capped = gross_of([1, 2, 3])
        deferred.append(_rule(bank, "emission_cap", capped, "<=", cap_tco2e, [cap_year]))

    # Targets, each with a shortfall (slack) variable per year.
    slack_names = []
    default_rate = levers.general["sbti_linear_reduction_share_per_year"]
    for index, target in enumerate(problem.targets):
        slack = f"shortfall_{index}"
        bank.declare("shortfall", slack, unbounded)
        slack_names.append(slack)
        label = target_label(target)
        if target.kind in (TargetKind.CARBON_NEUTRAL, TargetKind.NET_ZERO):
            counted = gross_of(target.scopes)
            if "offset_removal" in offsets:
                counted.plus("offset_removal", -1.0)
            if target.kind == TargetKind.CARBON_NEUTRAL and "offset_avoidance" in offsets:
                counted.plus("offset_avoidance", -1.0)
            achieved = Aggregate(counted.constant, list(counted.terms))
            bound = Aggregate(zero)
            counted.plus(slack, -1.0)
            active = _per_year([1.0 if y >= target.year else 0.0 for y in years], years)
            active_years = [y for y in years if y >= target.year]
            deferred.append(_rule(bank, f"target_{index}", counted, "<=", 0.0, active_years))
            unit = "tCO2e"
        elif target.kind in (TargetKind.ABSOLUTE_REDUCTION, TargetKind.INTENSITY_REDUCTION):
            rate_used = (
                target.annual_reduction_share
                if target.annual_reduction_share is not None
                else default_rate
            )
            base_total = sum(base_scope[s] for s in target.scopes)
            limits = reduction_limits_tco2e(target, base_total, problem.base_year, years, rate_used)
            if target.kind == TargetKind.INTENSITY_REDUCTION:
                # the base-year intensity's path x the year's output: emissions may grow with it
                output = problem.denominators[str(target.denominator)]
                base_output = output[problem.base_year]
                limits = limits * pd.Series({y: output[y] / base_output for y in years})
            counted = gross_of(target.scopes)
            achieved = Aggregate(counted.constant, list(counted.terms))
            counted.plus(slack, -1.0)
            allowed = _per_year(limits.to_numpy(), years)
            bound = Aggregate(allowed)
            deferred.append(_rule(bank, f"target_{index}", counted, "<=", allowed))
            active = _per_year(np.ones(len(years)), years)
            unit = "tCO2e"
        else:
            needed = _per_year(green_requirements(target, years).to_numpy(), years)
            # green + slack - needed x consumption >= 0
            rule = Aggregate(
                green.constant - needed * consumption.constant,
                [*green.terms, *((n, -needed * c) for n, c in consumption.terms)],
            ).plus(slack, 1.0)
            deferred.append(_rule(bank, f"target_{index}", rule, ">=", 0.0))
            active = (needed > 0).astype("float64")
            unit = "MWh"
            achieved = Aggregate(green.constant, list(green.terms))
            bound = Aggregate(
                needed * consumption.constant, [(n, needed * c) for n, c in consumption.terms]
            )
        built.targets.append(
            {
                "target": label,
                "unit": unit,
                "active": active,
                "slack": slack,
                "achieved": achieved,
                "bound": bound,
            }
        )

    if problem.trajectory is not None and problem.trajectory.green_share_rises:
        whole = np.zeros(len(years), dtype=bool)
        for target in problem.targets:
            if target.kind == TargetKind.GREEN_ELECTRICITY:
                whole |= green_requirements(target, years).to_numpy() >= 1.0
        deferred.append(_green_rises_rule(bank, green, consumption.constant, whole))
    if problem.trajectory is not None:
        slack_names.extend(
            _define_trajectory_constraints(
                bank, built, deferred, problem, gross_of, offsets, base_scope, years
            )
        )

    # Objective: discounted cost beyond the baseline's electricity bill, plus shortfall penalties.
    total_cost = electricity_cost
    for name in list(aggregates):
        if name.startswith("cost_") and name != "cost_electricity":
            total_cost = total_cost.combined(aggregates[name])
    aggregates["cost_total"] = total_cost
    objective = Aggregate(zero, [(n, c * discount) for n, c in total_cost.terms])
    for slack in slack_names:
        objective.plus(slack, SHORTFALL_PENALTY_CNY)
    if not bank.group_of:
        raise TanluError("the roadmap has no target and no lever: there is nothing to plan")
    bank.create()
    for add in deferred:
        add()
    expression = objective.expression(bank)
    if expression is None:
        raise TanluError("the roadmap has no target and no lever: there is nothing to plan")
    model.add_objective(expression.sum())
    built.build_seconds = time.perf_counter() - began
    return built


def _site_expression(bank: _Bank, aggregate: Aggregate) -> Any:
    """Sum of the aggregate's terms per (site, year), without summing over sites."""
    variables, coefficients, coords = [], [], {}
    for name, coefficient in aggregate.terms:
        labels = bank.labels(name).transpose("site", YEAR)
        coords = {"site": labels["site"].values, YEAR: labels[YEAR].values}
        variables.append(labels.values)
        coefficients.append(_broadcast(coefficient, labels, ["site", YEAR]))
    return _expression(
        bank.model, np.stack(variables, axis=-1), np.stack(coefficients, axis=-1), coords
    )


@dataclass
class _Fall:
    """The fall of an aggregate from the year before [its unit]; 0 in the first year."""

    total: Aggregate

    def value(self, bank: _Bank) -> np.ndarray:
        values = self.total.value(bank)
        return np.concatenate([[0.0], values[:-1] - values[1:]])


def _define_trajectory_constraints(
    bank: _Bank,
    built: BuiltRoadmap,
    deferred: list[Callable[[], None]],
    problem: RoadmapProblem,
    gross_of: Callable[[Sequence[int]], Aggregate],
    offsets: list[str],
    base_scope: dict[int, float],
    years: list[int],
) -> list[str]:
    """``[roadmap.trajectory]``: emissions on or below a straight line from the base year, and
    a most they may fall in one year (docs/roadmap.md, "Trajectory"). Each has a shortfall
    variable like a target's, and a row in the targets table. Returns the shortfalls' names."""
    trajectory = problem.trajectory
    assert trajectory is not None
    scopes = sorted(set(trajectory.scopes))
    counted = gross_of(scopes)
    if trajectory.emissions == "net":
        for lever in offsets:
            counted.plus(lever, -1.0)
    base_total = sum(base_scope[s] for s in scopes)
    what = f"{trajectory.emissions} emissions of scopes {', '.join(str(s) for s in scopes)}"
    slacks = []
    unbounded = _per_year(np.full(len(years), np.inf), years)
    if trajectory.line_end_year is not None:
        end = trajectory.line_end_year
        if end <= problem.base_year:
            raise ProjectError(
                f"roadmap.trajectory.line_end_year {end} is not after the base year "
                f"{problem.base_year}"
            )
        remaining = 1.0 - trajectory.line_end_share_of_base_year
        line = _per_year(
            [
                base_total
                * (1.0 - remaining * min(1.0, (y - problem.base_year) / (end - problem.base_year)))
                for y in years
            ],
            years,
        )
        slack = "shortfall_trajectory_line"
        bank.declare("shortfall", slack, unbounded)
        slacks.append(slack)
        rule = Aggregate(counted.constant, list(counted.terms)).plus(slack, -1.0)
        deferred.append(_rule(bank, "trajectory_line", rule, "<=", line))
        built.targets.append(
            {
                "target": f"trajectory: {what} on the straight line from {problem.base_year} to "
                f"{100 * trajectory.line_end_share_of_base_year:g}% of it by {end}",
                "unit": "tCO2e",
                "active": _per_year(np.ones(len(years)), years),
                "slack": slack,
                "achieved": Aggregate(counted.constant, list(counted.terms)),
                "bound": Aggregate(line),
            }
        )
    if trajectory.max_fall_share_of_base_year is not None and len(years) > 1:
        most = trajectory.max_fall_share_of_base_year * base_total
        slack = "shortfall_trajectory_fall"
        bank.declare("shortfall", slack, unbounded)
        slacks.append(slack)

        def add_fall() -> None:
            # counted(y - 1) - counted(y) - slack(y) <= most, from the second planned year
            expression = counted.expression(bank)
            constant = counted.constant.values
            if expression is None:
                return
            variables = expression.data["vars"].transpose(YEAR, "_term").values
            coefficients = expression.data["coeffs"].transpose(YEAR, "_term").values
            slack_labels = bank.labels(slack).transpose(YEAR).values[1:, None]
            step = _expression(
                bank.model,
                np.concatenate([variables[:-1], variables[1:], slack_labels], axis=1),
                np.concatenate(
                    [coefficients[:-1], -coefficients[1:], -np.ones(slack_labels.shape)], axis=1
                ),
                {YEAR: years[1:]},
            )
            right = most - (constant[:-1] - constant[1:])
            _constrain(bank.model, "trajectory_fall", step, "<=", _per_year(right, years[1:]))

        deferred.append(add_fall)
        built.targets.append(
            {
                "target": f"trajectory: {what} fall by at most "
                f"{100 * trajectory.max_fall_share_of_base_year:g}% of the base year's in a year",
                "unit": "tCO2e",
                "active": _per_year([0.0, *np.ones(len(years) - 1)], years),
                "slack": slack,
                "achieved": _Fall(Aggregate(counted.constant, list(counted.terms))),
                "bound": Aggregate(_per_year(np.full(len(years), most), years)),
            }
        )
    return slacks


def _green_rises_rule(
    bank: _Bank, green: Aggregate, consumed: xr.DataArray, whole: np.ndarray
) -> Callable[[], None]:
    """``green(y) >= green(y - 1) x consumed(y) / consumed(y - 1)``: green electricity grows at
    least as fast as the baseline's consumption (``trajectory_green_share``), in every year but
    those where a green-electricity target already asks for all of it (``whole``).

    Linear, since the share itself is a ratio of variables; it is the sufficient condition (with
    efficiency the share rises faster). In a year whose target asks for 100% the rule adds
    nothing the target does not, and it would do harm: it would hold green at last year's level x
    growth, which a purchase cut by efficiency cannot reach, so the plan would give up
    efficiency that saves money (tests/test_roadmap.py,
    ``test_green_share_rises_leaves_efficiency_free``)."""

    def add() -> None:
        expression = green.expression(bank)
        if expression is None:
            return
        years = [int(y) for y in expression.coords[YEAR].values]
        kept = [i for i in range(1, len(years)) if not whole[i]]
        if not kept:
            return
        now, before = np.array(kept), np.array(kept) - 1
        base = consumed.values[before]
        growth = np.divide(consumed.values[now], base, out=np.ones(len(kept)), where=base > 0)
        variables = expression.data["vars"].transpose(YEAR, "_term").values
        coefficients = expression.data["coeffs"].transpose(YEAR, "_term").values
        step = _expression(
            bank.model,
            np.concatenate([variables[now], variables[before]], axis=1),
            np.concatenate([coefficients[now], -growth[:, None] * coefficients[before]], axis=1),
            {YEAR: [years[i] for i in kept]},
        )
        constant = green.constant.values
        right = -(constant[now] - growth * constant[before])
        _constrain(
            bank.model,
            "trajectory_green_share",
            step,
            ">=",
            _per_year(right, [years[i] for i in kept]),
        )

    return add

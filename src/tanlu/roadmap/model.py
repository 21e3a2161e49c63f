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
from collections.abc import Callable, Mapping, Sequence
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


@dataclass(frozen=True)
class _Labels:
    """Variable labels as a numpy array over ``dims``, with each dimension's coordinates (as
    arrays, and as the pandas indexes coefficients are checked against)."""

    values: np.ndarray
    dims: tuple[str, ...]
    coords: dict[str, np.ndarray]
    indexes: dict[str, pd.Index]

    def ordered(self, order: Sequence[str]) -> np.ndarray:
        """The labels with their axes in ``order`` (a permutation of ``dims``)."""
        return self.values.transpose([self.dims.index(d) for d in order])


@dataclass(frozen=True)
class _Terms:
    """Linear terms per row: row ``i`` is the sum over the last axis of ``coefficients[i, k]``
    times the variable labelled ``labels[i, k]`` (a label of -1 is no term). ``coords`` names the
    leading axes, in order.

    The arrays a linopy expression holds, kept as numpy: every constraint is built from them
    (:func:`_constrain`), and only the objective becomes a linopy expression.
    """

    labels: np.ndarray
    coefficients: np.ndarray
    coords: dict[str, np.ndarray]

    @property
    def rows(self) -> tuple[int, ...]:
        """The shape of the rows (every axis but the terms')."""
        return self.labels.shape[:-1]


class _Bank:
    """The model's variables, declared one by one and created in a few stacked groups.

    Each group is one linopy variable with a ``member`` dimension (the lever or target name):
    ``site_lever`` (member, site, year), ``stream_lever`` (member, stream_site, year),
    ``offset`` and ``shortfall`` (member, year). Creating a handful of variables instead of one
    per lever keeps the build time flat in the number of levers. Once created, each group's
    labels are kept as a numpy array (:class:`_Labels`), from which every constraint is built.
    """

    def __init__(self, model: Any) -> None:
        self.model = model
        self.uppers: dict[str, dict[str, xr.DataArray]] = {}
        self.group_of: dict[str, str] = {}
        self.ramps: dict[str, dict[str, xr.DataArray | float]] = {}
        self.groups: dict[str, _Labels] = {}
        self.bounds: dict[str, np.ndarray] = {}
        self.cache: dict[str, _Labels] = {}

    def declare(self, group: str, name: str, upper: xr.DataArray) -> None:
        """A variable ``name`` in ``group``, from 0 to ``upper`` (inf allowed)."""
        self.uppers.setdefault(group, {})[name] = upper
        self.group_of[name] = group

    def cumulative(self, name: str, ramp: xr.DataArray | float) -> None:
        """``name`` never falls from a year to the next and rises by at most ``ramp`` a year."""
        group = self.group_of[name]
        self.ramps.setdefault(group, {})[name] = ramp

    def create(self) -> None:
        """Create the grouped variables and the cumulative constraints."""
        for group, uppers in self.uppers.items():
            names = list(uppers)
            template = max(uppers.values(), key=lambda u: u.ndim)
            dims = tuple(str(d) for d in template.dims)
            axes = {d: template.indexes[d] for d in dims}
            values = np.stack([_broadcast(uppers[n], axes, dims) for n in names])
            stacked = xr.DataArray(
                values, coords={"member": names, **template.coords}, dims=["member", *dims]
            )
            labels = self.model.add_variables(0, stacked, name=group).labels
            self.groups[group] = _Labels(
                np.asarray(labels.values),
                ("member", *dims),
                {d: labels[d].values for d in ("member", *dims)},
                {d: labels.indexes[d] for d in ("member", *dims)},
            )
            self.bounds[group] = values
        for group, ramps in self.ramps.items():
            self._add_cumulative(group, ramps)

    def _add_cumulative(self, group: str, ramps: dict[str, xr.DataArray | float]) -> None:
        """``<group>_no_retirement`` for every member with a ramp, and ``<group>_ramp`` for
        those whose ramp is tighter than their bound somewhere."""
        grid = self.groups[group]
        names = list(ramps)
        members = [str(m) for m in grid.coords["member"]]
        chosen = np.array([members.index(n) for n in names])
        inner = grid.dims[1:]
        order = [d for d in grid.dims if d != YEAR] + [YEAR]
        axes = [grid.dims.index(d) for d in order]
        labels = grid.values[chosen].transpose(axes)
        upper = self.bounds[group][chosen].transpose(axes)
        ramp = np.stack([_broadcast(ramps[n], grid.indexes, inner) for n in names])
        ramp = ramp.transpose(axes)
        before = np.full_like(labels, -1)
        before[..., 1:] = labels[..., :-1]
        step = _Terms(
            np.stack([labels, before], axis=-1),
            np.stack([np.ones(labels.shape), -np.ones(labels.shape)], axis=-1),
            {d: grid.coords[d][chosen] if d == "member" else grid.coords[d] for d in order},
        )
        _constrain(self.model, f"{group}_no_retirement", step, ">=", 0.0)
        # the ramp binds only where it is tighter than the bound: other members are left out
        tight = np.array([i for i in range(len(names)) if bool((ramp[i] < upper[i]).any())])
        if len(tight):
            ramped = _Terms(
                step.labels[tight],
                step.coefficients[tight],
                {**step.coords, "member": step.coords["member"][tight]},
            )
            _constrain(self.model, f"{group}_ramp", ramped, "<=", ramp[tight])

    def labels(self, name: str) -> _Labels:
        """The labels of one declared variable (its group's slice)."""
        if name not in self.cache:
            grid = self.groups[self.group_of[name]]
            members = [str(m) for m in grid.coords["member"]]
            inner = grid.dims[1:]
            self.cache[name] = _Labels(
                grid.values[members.index(name)],
                inner,
                {d: grid.coords[d] for d in inner},
                {d: grid.indexes[d] for d in inner},
            )
        return self.cache[name]

    def solution(self, name: str) -> xr.DataArray:
        """The solved values of one declared variable."""
        values: xr.DataArray = self.model.variables[self.group_of[name]].solution
        return values.sel(member=name, drop=True)

    def solution_values(self, name: str) -> np.ndarray:
        """The solved values of one declared variable as numpy, over its labels' ``dims``."""
        grid = self.groups[self.group_of[name]]
        solution = self.model.variables[self.group_of[name]].solution.transpose(*grid.dims)
        members = [str(m) for m in grid.coords["member"]]
        values: np.ndarray = np.asarray(solution.values)[members.index(name)]
        return values


@dataclass
class Aggregate:
    """A quantity per year: ``constant + sum over terms of (variable x coefficient)``.

    Each term's coefficient has the variable's dimensions (or broadcasts to them); the sum runs
    over every dimension but ``year``.
    """

    constant: xr.DataArray
    terms: list[tuple[str, xr.DataArray | float]] = field(default_factory=list)

    def plus(self, variable: str, coefficient: xr.DataArray | float) -> Aggregate:
        """The aggregate with one more term (returns itself)."""
        self.terms.append((variable, coefficient))
        return self

    def combined(self, other: Aggregate, sign: float = 1.0) -> Aggregate:
        """A new aggregate: self + sign x other."""
        return Aggregate(
            self.constant + sign * other.constant,
            [*self.terms, *((name, sign * coefficient) for name, coefficient in other.terms)],
        )

    def expression(self, bank: _Bank) -> _Terms | None:
        """The linear terms per ``year`` (without the constant), or None without terms.

        Built directly from the variables' labels and the coefficients (numpy), one term per
        variable and site: the terms of ``sum(variable * coefficient).sum(sites)``, without
        linopy arithmetic.
        """
        if not self.terms:
            return None
        variables, coefficients = [], []
        for name, coefficient in self.terms:
            labels = bank.labels(name)
            order = [YEAR, *(d for d in labels.dims if d != YEAR)]
            count = len(labels.coords[YEAR])
            variables.append(labels.ordered(order).reshape(count, -1))
            coefficients.append(_broadcast(coefficient, labels.indexes, order).reshape(count, -1))
        return _Terms(
            np.concatenate(variables, axis=1),
            np.concatenate(coefficients, axis=1),
            {YEAR: bank.labels(self.terms[0][0]).coords[YEAR]},
        )

    def value(self, bank: _Bank) -> np.ndarray:
        """The aggregate per year, from the solved model.

        Computed on numpy arrays when every coefficient lies on its variable's axes (as
        :meth:`expression` requires): the same products and sums, in the same order, as the
        xarray arithmetic of :meth:`aligned_value`, without aligning coordinates at each step.
        """
        total = self.constant.astype("float64")
        if total.dims != (YEAR,) or not all(
            _on_axes(coefficient, bank.labels(name), total.indexes[YEAR])
            for name, coefficient in self.terms
        ):
            return self.aligned_value(bank)
        values = np.array(total.values, dtype="float64")
        for name, coefficient in self.terms:
            labels = bank.labels(name)
            product = bank.solution_values(name) * _broadcast(
                coefficient, labels.indexes, labels.dims
            )
            others = tuple(i for i, d in enumerate(labels.dims) if d != YEAR)
            if others:
                # xarray's sum skips missing values: they count as 0
                product = np.where(np.isnan(product), 0.0, product).sum(axis=others)
            values = values + product
        return values

    def aligned_value(self, bank: _Bank) -> np.ndarray:
        """:meth:`value` with xarray's arithmetic, which aligns any coefficient's axes."""
        total = self.constant.astype("float64")
        for name, coefficient in self.terms:
            product = bank.solution(name) * coefficient
            others = [d for d in product.dims if d != YEAR]
            total = total + (product.sum(others) if others else product)
        return np.asarray(total.transpose(YEAR).values, dtype="float64")


def _on_axes(coefficient: xr.DataArray | float, labels: _Labels, years: pd.Index) -> bool:
    """Whether ``coefficient`` lies on the axes of a variable over ``years`` (each of its
    dimensions one of the variable's, with the same coordinates), so that no alignment is
    needed to multiply them."""
    if YEAR not in labels.dims or not labels.indexes[YEAR].equals(years):
        return False
    if not isinstance(coefficient, xr.DataArray):
        return isinstance(coefficient, int | float)
    return all(
        str(d) in labels.dims and coefficient.indexes[str(d)].equals(labels.indexes[str(d)])
        for d in coefficient.dims
    )


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
    emission_cap: Aggregate | None = None

    def value(self, name: str) -> np.ndarray:
        """An aggregate per year after solving [its unit]; zeros when the model has none."""
        if name not in self.aggregates:
            return np.zeros(len(self.years))
        return self.aggregates[name].value(self.bank)

    def variable(self, name: str) -> np.ndarray:
        """A per-year variable's solved values (offsets, shortfalls)."""
        values = self.bank.solution(name).reindex({YEAR: self.years}).values
        return np.asarray(values, dtype="float64")


def _site_year(frame: pd.DataFrame, column: str, grid: xr.DataArray) -> xr.DataArray:
    """``column`` summed per (site, year) onto ``grid``'s coordinates (a site axis, then
    ``year``; the frame's sites are in its ``site`` column), 0 where no row or NaN; rows of
    other sites or years are left out."""
    sites = pd.Index(grid.indexes[str(grid.dims[0])], dtype=object)
    years = grid.indexes[YEAR]
    site = sites.get_indexer(frame["site"])
    year = years.get_indexer(frame["year"])
    kept = (site >= 0) & (year >= 0)
    cells = site[kept] * len(years) + year[kept]
    values = frame[column].to_numpy(dtype="float64")[kept]
    table = np.zeros(len(sites) * len(years))
    if cells.size == 0 or np.bincount(cells).max() == 1:
        table[cells] = values  # one row per cell: nothing to add up
    else:
        # pandas' sum per cell, as a pivot table sums
        sums = pd.Series(values).groupby(cells).sum()
        table[sums.index.to_numpy()] = sums.to_numpy()
    table[np.isnan(table)] = 0.0
    return grid.copy(data=table.reshape(grid.shape))


def _per_year(values: list[float] | np.ndarray, years: list[int]) -> xr.DataArray:
    return xr.DataArray(np.asarray(values, dtype="float64"), coords={YEAR: years}, dims=[YEAR])


def _first_year_mask(params: dict[str, float], years: list[int]) -> xr.DataArray:
    first = params.get("first_year")
    return _per_year([1.0 if first is None or y >= first else 0.0 for y in years], years)


def _expression(model: Any, terms: _Terms) -> Any:
    """A linopy expression from label and coefficient arrays (the objective's)."""
    import linopy

    dims = [*terms.coords, "_term"]
    data = xr.Dataset(
        {
            "coeffs": (dims, np.where(terms.labels >= 0, terms.coefficients, 0.0)),
            "vars": (dims, terms.labels),
            "const": (dims[:-1], np.zeros(terms.rows)),
        },
        coords=terms.coords,
    )
    return linopy.LinearExpression(data, model)


def _positions(values: np.ndarray, wanted: Sequence[int]) -> np.ndarray:
    """Where each of ``wanted`` is in ``values``; a KeyError names what is not there."""
    index = pd.Index(values).get_indexer(list(wanted))
    if (index < 0).any():
        missing = [w for w, i in zip(wanted, index, strict=True) if i < 0]
        raise KeyError(f"not all values found in index '{YEAR}': {missing}")
    return np.asarray(index)


def _constrain(
    model: Any,
    name: str,
    terms: _Terms,
    sign: str,
    rhs: np.ndarray | float,
    years: Sequence[int] | None = None,
) -> None:
    """Add ``terms sign rhs`` (``rhs`` broadcast to the rows; only in ``years`` when given),
    built as a linopy Constraint from the arrays: the same constraint as
    ``model.add_constraints(expression <= rhs)``, without building the expression or aligning
    it."""
    import linopy

    labels, coefficients, coords = terms.labels, terms.coefficients, terms.coords
    right = np.broadcast_to(np.asarray(rhs, dtype="float64"), terms.rows)
    if years is not None:
        axis = list(coords).index(YEAR)
        chosen = _positions(coords[YEAR], years)
        labels = np.take(labels, chosen, axis=axis)
        coefficients = np.take(coefficients, chosen, axis=axis)
        right = np.take(right, chosen, axis=axis)
        coords = {**coords, YEAR: coords[YEAR][chosen]}
    dims = list(coords)
    rows = labels.shape[:-1]
    data = xr.Dataset(
        {
            "coeffs": ([*dims, "_term"], np.where(labels >= 0, coefficients, 0.0)),
            "vars": ([*dims, "_term"], labels),
            "sign": (dims, np.full(rows, sign)),
            "rhs": (dims, np.array(right, dtype="float64")),
            "scaling": (dims, np.ones(rows)),
        },
        coords=coords,
    )
    model.add_constraints(linopy.Constraint(data, model, name, skip_broadcast=True), name=name)


def _broadcast(
    coefficient: xr.DataArray | float, axes: Mapping[str, pd.Index], order: Sequence[str]
) -> np.ndarray:
    """``coefficient`` as a numpy array over the dimensions ``order``, each along ``axes``.

    The coefficient's dimensions are a subset of ``order`` with the same coordinates (the
    model builds both from the same site and year lists; checked here).
    """
    shape = [len(axes[d]) for d in order]
    if not isinstance(coefficient, xr.DataArray) or coefficient.ndim == 0:
        return np.full(shape, float(coefficient))
    dims = [str(d) for d in coefficient.dims]
    for dim in dims:
        if dim not in order or not coefficient.indexes[dim].equals(axes[dim]):
            raise TanluError(f"internal: coefficient axis '{dim}' does not match the variable's")
    present = [d for d in order if d in dims]
    values = np.asarray(coefficient.values).transpose([dims.index(d) for d in present])
    expanded = values.reshape([len(axes[d]) if d in dims else 1 for d in order])
    return np.broadcast_to(expanded, shape)


def _year_axis(terms: _Terms) -> dict[str, pd.Index]:
    """The year axis of terms over ``year``, for :func:`_broadcast`."""
    return {YEAR: pd.Index(terms.coords[YEAR])}


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
        terms = _need(aggregate.expression(bank), name)
        right = _broadcast(rhs - aggregate.constant, _year_axis(terms), [YEAR])
        _constrain(bank.model, name, terms, sign, right, years)

    return add


def _need(terms: _Terms | None, name: str) -> _Terms:
    """``terms``, which a constraint needs: an aggregate without variables has none."""
    if terms is None:
        raise TanluError(f"internal: constraint '{name}' has no variable")
    return terms


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
        terms = _need(total.expression(bank), f"{lever}_{name}")
        years = terms.coords[YEAR]
        per_year = _broadcast(ramp, _year_axis(terms), [YEAR])
        first = [int(years[0])]
        _constrain(bank.model, f"{lever}_{name}_first", terms, "<=", held + per_year, first)
        if len(years) > 1:
            labels, coefficients = terms.labels, terms.coefficients
            step = _Terms(
                np.concatenate([labels[1:], labels[:-1]], axis=1),
                np.concatenate([coefficients[1:], -coefficients[:-1]], axis=1),
                {YEAR: years[1:]},
            )
            _constrain(bank.model, f"{lever}_{name}", step, "<=", per_year[1:])

    return add


def _sum_over_sites(array: xr.DataArray) -> xr.DataArray:
    others = [d for d in array.dims if d != YEAR]
    return array.sum(others) if others else array


@dataclass
class RoadmapBuild:
    """The roadmap model while it is built: what every ``define_*`` function reads and adds to.

    :func:`prepare_roadmap_build` reads the baseline once into arrays per (site, year) and the
    baseline's aggregates; each ``define_*`` function then declares its variables in the bank,
    adds its terms to the aggregates and appends its constraints to ``deferred``, which
    :func:`define_objective` adds once every variable exists (the variables are created in a
    few stacked groups, :class:`_Bank`).

    Attributes
    ----------
    problem, built
        The problem, and the model being built with its aggregates and targets table.
    sites, site_table, kinds
        The sites in order, their table, their kind (``data_centre``, ``office`` ...).
    grid
        0 per (site, year): the coordinates every per-site array is built on.
    rate
        Discount rate [share per year].
    zero
        0 per year: the constant of an aggregate that starts empty.
    demand, existing_pv
        Baseline purchased and existing on-site PV electricity per (site, year) [MWh].
    location, residual, factor
        Location-based, market-based residual and the ``scope2_basis`` factor per (site, year)
        [tCO2e/MWh].
    price
        Grid price per (site, year) [CNY/MWh].
    own, leased
        Per site: 1 where its electricity is scope 2 (own) or scope 3 category 8 (leased).
    streams
        The baseline's emission streams (scope 1 and 3).
    scope1, scope2_market, scope2_location, scope3, green, consumption, electricity_cost
        The aggregates the levers change [tCO2e, MWh, CNY].
    deferred
        Constraints to add once the variables exist.
    purchase_terms
        ``(lever, MWh per unit)`` taken off the purchase per (site, year) (``within_purchase``).
    bought, offsets, slack_names
        Enabled green-power levers, enabled offset levers, every shortfall variable.
    """

    problem: RoadmapProblem
    built: BuiltRoadmap
    sites: list[str]
    grid: xr.DataArray
    site_table: pd.DataFrame
    kinds: pd.Series
    rate: float
    zero: xr.DataArray
    demand: xr.DataArray
    existing_pv: xr.DataArray
    location: xr.DataArray
    residual: xr.DataArray
    factor: xr.DataArray
    price: xr.DataArray
    own: xr.DataArray
    leased: xr.DataArray
    streams: pd.DataFrame
    scope1: Aggregate
    scope2_market: Aggregate
    scope2_location: Aggregate
    scope3: Aggregate
    green: Aggregate
    consumption: Aggregate
    electricity_cost: Aggregate
    deferred: list[Callable[[], None]] = field(default_factory=list)
    purchase_terms: list[tuple[str, xr.DataArray]] = field(default_factory=list)
    bought: list[str] = field(default_factory=list)
    offsets: list[str] = field(default_factory=list)
    slack_names: list[str] = field(default_factory=list)

    @property
    def bank(self) -> _Bank:
        """The model's variables."""
        return self.built.bank

    @property
    def years(self) -> list[int]:
        """The planned years."""
        return self.built.years

    @property
    def levers(self) -> LeverSet:
        """The enabled levers with their parameters."""
        return self.problem.levers

    def site_array(self, values: np.ndarray) -> xr.DataArray:
        """Values per site as an array over ``site``."""
        return xr.DataArray(
            np.asarray(values, dtype="float64"),
            coords={"site": self.grid.coords["site"]},
            dims=["site"],
        )

    def lever_aggregates(self, lever: str, unit: str) -> tuple[Aggregate, Aggregate, Aggregate]:
        """New ``quantity_``, ``abatement_`` and ``cost_<lever>`` aggregates (registered)."""
        self.built.quantity_units[lever] = unit
        quantity, abatement, cost = Aggregate(self.zero), Aggregate(self.zero), Aggregate(self.zero)
        self.built.aggregates[f"quantity_{lever}"] = quantity
        self.built.aggregates[f"abatement_{lever}"] = abatement
        self.built.aggregates[f"cost_{lever}"] = cost
        return quantity, abatement, cost

    def gross_of(self, scopes: Sequence[int]) -> Aggregate:
        """Gross emissions of ``scopes`` (scope 2 on ``scope2_basis``) [tCO2e], a new aggregate."""
        basis = (
            self.scope2_market if self.problem.scope2_basis == "market" else self.scope2_location
        )
        gross = {1: self.scope1, 2: basis, 3: self.scope3}
        total = Aggregate(self.zero)
        for scope in sorted(set(scopes)):
            total = total.combined(gross[scope])
        return total

    @property
    def base_scope(self) -> dict[int, float]:
        """The base year's emissions by scope (scope 2 on ``scope2_basis``) [tCO2e]."""
        base = self.problem.baseline.base_year_tco2e
        return {
            1: base["scope1"],
            2: base[f"scope2_{self.problem.scope2_basis}"],
            3: base["scope3"],
        }

    def unbounded(self) -> xr.DataArray:
        """+inf per year: the upper bound of offsets and shortfalls."""
        return _per_year(np.full(len(self.years), np.inf), self.years)


def prepare_roadmap_build(problem: RoadmapProblem) -> RoadmapBuild:
    """The empty model and the baseline's arrays and aggregates, before any lever."""
    import linopy

    baseline, levers = problem.baseline, problem.levers
    years = baseline.years
    site_table = baseline.sites.astype({"site": object, "kind": object})
    sites = [str(site) for site in site_table["site"]]
    rate = levers.general["discount_rate_share"]
    discount = _per_year([(1.0 + rate) ** -(y - baseline.from_year) for y in years], years)
    model = linopy.Model(force_dim_names=True)
    built = BuiltRoadmap(model=model, years=years, discount=discount, bank=_Bank(model))
    zero = _per_year(np.zeros(len(years)), years)
    # every per-site array is built on this grid's coordinates (not from the list each time)
    grid = xr.DataArray(
        np.zeros((len(sites), len(years))), coords={"site": sites, YEAR: years}, dims=["site", YEAR]
    )
    electricity = baseline.electricity
    row = pd.Index(sites, dtype=object).get_indexer(electricity["site"])
    col = pd.Index(years).get_indexer(electricity[YEAR])
    kept = (row >= 0) & (col >= 0)
    cells = row[kept] * len(years) + col[kept]
    counts = np.bincount(cells, minlength=len(sites) * len(years))
    if (counts > 1).any():
        cell = int(np.flatnonzero(counts > 1)[0])
        raise TanluError(
            f"internal: the baseline has {counts[cell]} electricity rows for site "
            f"{sites[cell // len(years)]} in {years[cell % len(years)]} (one per site and year)"
        )

    def column(name: str) -> xr.DataArray:
        # the baseline's value per (site, year), 0 where it has none (or NaN)
        values = np.zeros(len(sites) * len(years))
        values[cells] = electricity[name].to_numpy(dtype="float64")[kept]
        values[np.isnan(values)] = 0.0
        return grid.copy(data=values.reshape(len(sites), len(years)))

    demand = column("purchased_mwh")
    existing_pv = column("existing_pv_mwh")
    location = column("location_factor_tco2e_per_mwh")
    residual = column("residual_factor_tco2e_per_mwh")
    price = column("grid_price_cny_per_mwh")
    # own electricity (scope 2) and leased assets' electricity (scope 3 category 8)
    own = xr.DataArray(
        (site_table["scope"] == 2).to_numpy().astype("float64"),
        coords={"site": grid.coords["site"]},
        dims=["site"],
    )
    leased = 1.0 - own
    streams = baseline.streams
    by_scope = {}
    for scope in (1, 2, 3):
        rows = streams.loc[streams["scope"] == scope]
        total = rows.groupby("year")["emissions_tco2e"].sum().reindex(years, fill_value=0.0)
        by_scope[scope] = _per_year(total.to_numpy(), years)
    bill = _sum_over_sites(demand * price)
    built.aggregates["baseline_electricity_cost"] = Aggregate(bill)
    return RoadmapBuild(
        problem=problem,
        built=built,
        sites=sites,
        grid=grid,
        site_table=site_table,
        kinds=site_table.set_index("site")["kind"].reindex(sites),
        rate=rate,
        zero=zero,
        demand=demand,
        existing_pv=existing_pv,
        location=location,
        residual=residual,
        factor=residual if problem.scope2_basis == "market" else location,
        price=price,
        own=own,
        leased=leased,
        streams=streams,
        scope1=Aggregate(by_scope[1]),
        scope2_market=Aggregate(by_scope[2] + _sum_over_sites(own * demand * residual)),
        scope2_location=Aggregate(by_scope[2] + _sum_over_sites(own * demand * location)),
        scope3=Aggregate(by_scope[3] + _sum_over_sites(leased * demand * residual)),
        green=Aggregate(_sum_over_sites(own * existing_pv)),
        consumption=Aggregate(_sum_over_sites(own * (demand + existing_pv))),
        electricity_cost=Aggregate(bill),
    )


def define_efficiency_levers(build: RoadmapBuild) -> None:
    """Efficiency levers: a share of a site kind's purchase saved per unit of adoption."""
    levers, years = build.levers, build.years
    for lever, kind in EFFICIENCY_LEVERS.items():
        if not levers.enabled(lever):
            continue
        params = levers.values[lever]
        share = saving_share(lever, params)
        applies = build.own * build.site_array((build.kinds == kind).to_numpy())
        upper = (applies * _first_year_mask(params, years)).transpose("site", YEAR)
        build.bank.declare("site_lever", lever, _exclude(upper, levers.excluded(lever), "site"))
        build.bank.cumulative(lever, params["ramp_share_per_year"])
        saved = share * build.demand  # MWh saved per unit of adoption
        build.purchase_terms.append((lever, saved))
        quantity, abatement, cost = build.lever_aggregates(lever, "MWh saved")
        quantity.plus(lever, saved)
        abatement.plus(lever, saved * build.factor)
        cost.plus(lever, params["levelised_cost_cny_per_mwh"] * saved)
        for aggregate, coefficient in (
            (build.scope2_market, saved * build.residual),
            (build.scope2_location, saved * build.location),
            (build.consumption, saved),
            (build.electricity_cost, saved * build.price),
        ):
            aggregate.plus(lever, -coefficient)


def define_onsite_pv(build: RoadmapBuild) -> None:
    """On-site PV: kWp installed at own sites, within each site's potential."""
    levers, years = build.levers, build.years
    if not levers.enabled("onsite_pv"):
        return
    params = levers.values["onsite_pv"]
    potential = build.own * build.site_array(build.site_table["pv_potential_kw"].to_numpy())
    upper = (potential * _first_year_mask(params, years)).transpose("site", YEAR)
    build.bank.declare(
        "site_lever", "onsite_pv", _exclude(upper, levers.excluded("onsite_pv"), "site")
    )
    build.bank.cumulative("onsite_pv", params["ramp_share_per_year"] * potential)
    yield_mwh = xr.DataArray(params["yield_mwh_per_kw_year"])
    annuity = (
        params["capex_cny_per_kw"] * capital_recovery_factor(build.rate, params["lifetime_years"])
        + params["fixed_om_cny_per_kw_year"]
    )
    build.purchase_terms.append(("onsite_pv", yield_mwh * xr.ones_like(build.demand)))
    quantity, abatement, cost = build.lever_aggregates("onsite_pv", "kWp installed")
    quantity.plus("onsite_pv", 1.0)
    abatement.plus("onsite_pv", yield_mwh * build.factor)
    cost.plus("onsite_pv", annuity)
    build.scope2_market.plus("onsite_pv", -yield_mwh * build.residual)
    build.scope2_location.plus("onsite_pv", -yield_mwh * build.location)
    build.green.plus("onsite_pv", yield_mwh * build.own)
    build.electricity_cost.plus("onsite_pv", -yield_mwh * build.price)


def define_fleet_electrification(build: RoadmapBuild) -> None:
    """Fleet electrification: diesel vehicles replaced by electric ones charged at the site."""
    lever = "fleet_electrification"
    levers, years = build.levers, build.years
    if not levers.enabled(lever):
        return
    params = levers.values[lever]
    fuels = build.problem.baseline.fuels
    fleet = fuels.loc[fuels["activity"] == FUEL_LEVERS[lever]].astype({"site": object})
    litres = _site_year(fleet, "fuel_l", build.grid)
    diesel_tco2e = _site_year(fleet, "emissions_tco2e", build.grid)
    # own sites with diesel vehicles (the chargers' electricity is the site's scope 2)
    has = build.own * (litres.sum(YEAR) > 0).astype("float64")
    upper = (has * params["reduction_share_max"] * _first_year_mask(params, years)).transpose(
        "site", YEAR
    )
    build.bank.declare("site_lever", lever, _exclude(upper, levers.excluded(lever), "site"))
    build.bank.cumulative(lever, params["ramp_share_per_year"])
    per_litre = fleet_coefficients(params, build.rate)
    charged = litres * per_litre.mwh_per_l  # MWh charged per unit of adoption
    vehicles = litres * per_litre.vehicles_per_l
    # a negative purchase term: green power may also be bought for the chargers
    build.purchase_terms.append((lever, -charged))
    quantity, abatement, cost = build.lever_aggregates(lever, "vehicles")
    quantity.plus(lever, vehicles)
    abatement.plus(lever, diesel_tco2e - charged * build.factor)
    cost.plus(lever, litres * per_litre.cost_cny_per_l)
    build.scope1.plus(lever, -diesel_tco2e)
    for aggregate, coefficient in (
        (build.scope2_market, charged * build.residual),
        (build.scope2_location, charged * build.location),
        (build.consumption, charged),
        (build.electricity_cost, charged * build.price),
    ):
        aggregate.plus(lever, coefficient)


def define_green_power_purchases(build: RoadmapBuild) -> None:
    """Green power bought: contracts and unbundled certificates [MWh per site and year], with
    each one's market limit, floor and ramps (``<lever>_market_limit``, ``<lever>_floor``,
    ``<lever>_ramp_mwh``, ``<lever>_ramp_share_of_purchase``)."""
    levers, years = build.levers, build.years
    for lever, price_name in (
        ("green_power_contract", "premium_cny_per_mwh"),
        ("gec", "price_cny_per_mwh"),
    ):
        if not levers.enabled(lever):
            continue
        params = levers.values[lever]
        available = xr.where(_first_year_mask(params, years) > 0, np.inf, 0.0)  # type: ignore[no-untyped-call]
        upper = (xr.ones_like(build.demand) * available).transpose("site", YEAR)
        build.bank.declare("site_lever", lever, _exclude(upper, levers.excluded(lever), "site"))
        build.bought.append(lever)
        build.purchase_terms.append((lever, xr.ones_like(build.demand)))
        quantity, abatement, cost = build.lever_aggregates(lever, "MWh")
        quantity.plus(lever, 1.0)
        # zero-emission instruments lower market-based scope 2, and the category 8 emissions
        # of leased assets (at the factor the inventory used for them)
        lowers = 1.0 if build.problem.scope2_basis == "market" else build.leased
        abatement.plus(lever, build.residual * lowers)
        cost.plus(lever, params[price_name])
        build.scope2_market.plus(lever, -build.residual * build.own)
        build.scope3.plus(lever, -build.residual * build.leased)
        build.green.plus(lever, build.own)
        if params.get("max_mwh_per_year") is not None:
            limit = Aggregate(build.zero).plus(lever, 1.0)
            build.deferred.append(
                _rule(build.bank, f"{lever}_market_limit", limit, "<=", params["max_mwh_per_year"])
            )
        if params.get("min_mwh_per_year") is not None:
            _define_purchase_floor(build, lever, params)
        if params.get("ramp_mwh_per_year") is not None:
            _define_purchase_ramp(build, lever, params)
        if params.get("ramp_share_of_purchase_per_year") is not None:
            _define_purchase_share_ramp(build, lever, params)


def _buyable_mwh(build: RoadmapBuild, lever: str) -> xr.DataArray:
    """What the sites a lever may buy for purchase from the grid, per year [MWh]."""
    excluded = build.levers.excluded(lever)
    keep = build.site_array(np.array([site not in excluded for site in build.sites], dtype=float))
    return _sum_over_sites(build.demand * keep)


def _define_purchase_floor(build: RoadmapBuild, lever: str, params: dict[str, Any]) -> None:
    """Contracts already signed (or a purchase policy): at least ``min_mwh_per_year`` every
    year the lever is available, within what the sites buy (``<lever>_floor``)."""
    years = build.years
    floor = float(params["min_mwh_per_year"])
    mask = _first_year_mask(params, years).values
    floor_years = [y for y, on in zip(years, mask, strict=True) if on]
    buyable = _buyable_mwh(build, lever)
    short = [y for y in floor_years if float(buyable.sel({YEAR: y})) < floor]
    if short:
        raise ProjectError(
            f"roadmap.levers.{lever}.min_mwh_per_year: {floor:,.0f} MWh is more than "
            f"the sites it may buy for purchase from the grid in {short[0]} "
            f"({float(buyable.sel({YEAR: short[0]})):,.0f} MWh)"
        )
    if floor_years:
        at_least = Aggregate(build.zero).plus(lever, 1.0)
        build.deferred.append(
            _rule(build.bank, f"{lever}_floor", at_least, ">=", floor, floor_years)
        )


def _define_purchase_ramp(build: RoadmapBuild, lever: str, params: dict[str, Any]) -> None:
    """The market delivers at most ``ramp_mwh_per_year`` more a year, from what was held
    (``<lever>_ramp_mwh_first``, ``<lever>_ramp_mwh``)."""
    ramp = float(params["ramp_mwh_per_year"])
    held = float(build.problem.held_mwh.get(lever, 0.0))
    least = params.get("min_mwh_per_year")
    # a lever that starts after the first planned year starts from nothing
    available = bool(_first_year_mask(params, build.years).values[0])
    start = held if available else 0.0
    if least is not None and least > start + ramp:
        from_year = build.problem.baseline.from_year
        since = f"held in {from_year}" if available else "held before first_year"
        raise ProjectError(
            f"roadmap.levers.{lever}: min_mwh_per_year {least:,.0f} is more than the "
            f"{start:,.0f} MWh {since} plus ramp_mwh_per_year {ramp:,.0f}"
        )
    total = Aggregate(build.zero).plus(lever, 1.0)
    build.deferred.append(_ramp_rule(build.bank, lever, total, held, ramp))


def _define_purchase_share_ramp(build: RoadmapBuild, lever: str, params: dict[str, Any]) -> None:
    """At most ``ramp_share_of_purchase_per_year`` x the year's baseline purchase more than the
    year before (docs/levers.md, "Ramps"): the sites the lever may buy for, own and leased
    (``<lever>_ramp_share_of_purchase_first``, ``<lever>_ramp_share_of_purchase``)."""
    years = build.years
    purchase = _buyable_mwh(build, lever)
    step_mwh = params["ramp_share_of_purchase_per_year"] * purchase
    held = float(build.problem.held_mwh.get(lever, 0.0))
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
    total = Aggregate(build.zero).plus(lever, 1.0)
    build.deferred.append(
        _ramp_rule(build.bank, lever, total, held, step_mwh, "ramp_share_of_purchase")
    )


def define_purchase_constraints(build: RoadmapBuild) -> None:
    """``within_purchase``: efficiency + PV + green bought <= baseline purchase, per site and
    year (the purchase never goes below zero and green power is bought only for electricity
    still bought); ``certificate_share``: certificates at most a share of green electricity."""
    if build.purchase_terms:
        within = Aggregate(build.zero, list(build.purchase_terms))
        bank, demand = build.bank, build.demand

        def add_within() -> None:
            terms = _site_expression(bank, within)
            axes = bank.labels(within.terms[0][0]).indexes
            purchase = _broadcast(demand, axes, list(terms.coords))
            _constrain(bank.model, "within_purchase", terms, "<=", purchase)

        build.deferred.append(add_within)
    if "gec" in build.bought and build.problem.max_certificate_share_of_green < 1.0:
        # own green electricity, and certificates and contracts bought for leased sites
        green_all = Aggregate(build.green.constant, list(build.green.terms))
        if "green_power_contract" in build.bought:
            green_all.plus("green_power_contract", build.leased)
        green_all.plus("gec", build.leased)
        certificates = Aggregate(build.zero).plus("gec", 1.0)
        rule = certificates.combined(green_all, -build.problem.max_certificate_share_of_green)
        build.deferred.append(_rule(build.bank, "certificate_share", rule, "<=", 0.0))


def define_reduction_levers(build: RoadmapBuild) -> None:
    """Emission-reduction levers on scope 1 and scope 3 streams (one site axis for all): a
    share of each stream cut per unit of adoption."""
    levers, years, streams = build.levers, build.years, build.streams
    owners = sorted(pd.unique(streams["site"])) or ["none"]
    grid = xr.DataArray(
        np.zeros((len(owners), len(years))),
        coords={STREAM_SITE: owners, YEAR: years},
        dims=[STREAM_SITE, YEAR],
    )
    for lever, (scope, categories) in levers.reductions.items():
        if not levers.enabled(lever):
            continue
        params = levers.values[lever]
        rows = reduction_rows(build.problem.baseline, lever, scope, categories)
        stream = _site_year(rows, "emissions_tco2e", grid)
        has = (stream.sum(YEAR) > 0).astype("float64")
        upper = (has * params["reduction_share_max"] * _first_year_mask(params, years)).transpose(
            STREAM_SITE, YEAR
        )
        build.bank.declare(
            "stream_lever", lever, _exclude(upper, levers.excluded(lever), STREAM_SITE)
        )
        build.bank.cumulative(lever, params["ramp_share_per_year"])
        quantity, abatement, cost = build.lever_aggregates(lever, "tCO2e cut")
        quantity.plus(lever, stream)
        abatement.plus(lever, stream)
        cost.plus(lever, params["cost_cny_per_tco2e"] * stream)
        (build.scope1 if scope == 1 else build.scope3).plus(lever, -stream)


def define_offsets(build: RoadmapBuild) -> None:
    """Offsets: only for neutrality targets, capped (``offset_cap``), only for residual
    emissions (``offsets_residual_only``)."""
    levers = build.levers
    neutral = [
        t
        for t in build.problem.targets
        if t.kind in (TargetKind.CARBON_NEUTRAL, TargetKind.NET_ZERO)
    ]
    if not neutral:
        return
    scopes = sorted({s for t in neutral for s in t.scopes})
    base_scope = build.base_scope
    cap = levers.general["offset_cap_share_of_base_year"] * sum(base_scope[s] for s in scopes)
    unbounded = build.unbounded()
    for lever in ("offset_avoidance", "offset_removal"):
        if levers.enabled(lever):
            build.bank.declare("offset", lever, unbounded)
            build.offsets.append(lever)
            quantity, _, cost = build.lever_aggregates(lever, "tCO2e retired")
            del build.built.aggregates[f"abatement_{lever}"]
            quantity.plus(lever, 1.0)
            cost.plus(lever, levers.values[lever]["price_cny_per_tco2e"])
    if build.offsets:
        used = Aggregate(build.zero)
        for lever in build.offsets:
            used.plus(lever, 1.0)
        residual_rule = used.combined(build.gross_of(scopes), -1.0)
        build.deferred.append(_rule(build.bank, "offset_cap", used, "<=", cap))
        build.deferred.append(_rule(build.bank, "offsets_residual_only", residual_rule, "<=", 0.0))


def define_emission_cap(build: RoadmapBuild) -> None:
    """``emission_cap``: gross emissions of scopes 1-3 in one year at most a cap, without slack
    (the model-derived MACC reads its dual)."""
    if build.problem.emission_cap is None:
        return
    cap_year, cap_tco2e = build.problem.emission_cap
    capped = build.gross_of([1, 2, 3])
    build.built.emission_cap = capped
    build.deferred.append(_rule(build.bank, "emission_cap", capped, "<=", cap_tco2e, [cap_year]))


def move_emission_cap(built: BuiltRoadmap, cap_year: int, cap_tco2e: float) -> None:
    """Set the ``emission_cap`` of a model built with one to ``cap_tco2e`` in ``cap_year``, in
    place: the model :func:`build_roadmap_model` builds with that cap (the same right-hand
    side, ``cap - the aggregate's constant``), without building it again.

    Raises
    ------
    TanluError
        When the model was built without an emission cap.
    """
    if built.emission_cap is None:
        raise TanluError("internal: the model was built without an emission cap")
    right = cap_tco2e - built.emission_cap.constant
    chosen = _positions(right.indexes[YEAR].to_numpy(), [cap_year])
    rhs = xr.DataArray(
        np.asarray(right.transpose(YEAR).values, dtype="float64")[chosen],
        coords={YEAR: [cap_year]},
        dims=[YEAR],
    )
    built.model.constraints["emission_cap"].update(rhs=rhs)


def define_target_constraints(build: RoadmapBuild) -> None:
    """``target_<i>``: each target, with a shortfall (slack) variable per year, and its row in
    the targets table."""
    for index, target in enumerate(build.problem.targets):
        slack = f"shortfall_{index}"
        build.bank.declare("shortfall", slack, build.unbounded())
        build.slack_names.append(slack)
        if target.kind in (TargetKind.CARBON_NEUTRAL, TargetKind.NET_ZERO):
            row = _define_neutrality_target(build, target, index, slack)
        elif target.kind in (TargetKind.ABSOLUTE_REDUCTION, TargetKind.INTENSITY_REDUCTION):
            row = _define_reduction_target(build, target, index, slack)
        else:
            row = _define_green_electricity_target(build, target, index, slack)
        build.built.targets.append(
            {
                "target": target_label(target),
                "unit": row["unit"],
                "active": row["active"],
                "slack": slack,
                "achieved": row["achieved"],
                "bound": row["bound"],
            }
        )


def _define_neutrality_target(
    build: RoadmapBuild, target: Target, index: int, slack: str
) -> dict[str, Any]:
    """Carbon neutral or net zero: gross emissions less the offsets the kind counts, at most 0
    from the target year on."""
    years = build.years
    counted = build.gross_of(target.scopes)
    if "offset_removal" in build.offsets:
        counted.plus("offset_removal", -1.0)
    if target.kind == TargetKind.CARBON_NEUTRAL and "offset_avoidance" in build.offsets:
        counted.plus("offset_avoidance", -1.0)
    achieved = Aggregate(counted.constant, list(counted.terms))
    counted.plus(slack, -1.0)
    active_years = [y for y in years if y >= target.year]
    build.deferred.append(_rule(build.bank, f"target_{index}", counted, "<=", 0.0, active_years))
    return {
        "unit": "tCO2e",
        "active": _per_year([1.0 if y >= target.year else 0.0 for y in years], years),
        "achieved": achieved,
        "bound": Aggregate(build.zero),
    }


def _define_reduction_target(
    build: RoadmapBuild, target: Target, index: int, slack: str
) -> dict[str, Any]:
    """Absolute or intensity reduction: gross emissions at most the yearly limit, linear from
    the base year (:func:`reduction_limits_tco2e`), scaled by output for an intensity."""
    problem, years = build.problem, build.years
    default_rate = build.levers.general["sbti_linear_reduction_share_per_year"]
    rate_used = (
        target.annual_reduction_share if target.annual_reduction_share is not None else default_rate
    )
    base_scope = build.base_scope
    base_total = sum(base_scope[s] for s in target.scopes)
    limits = reduction_limits_tco2e(target, base_total, problem.base_year, years, rate_used)
    if target.kind == TargetKind.INTENSITY_REDUCTION:
        # the base-year intensity's path x the year's output: emissions may grow with it
        output = problem.denominators[str(target.denominator)]
        base_output = output[problem.base_year]
        limits = limits * pd.Series({y: output[y] / base_output for y in years})
    counted = build.gross_of(target.scopes)
    achieved = Aggregate(counted.constant, list(counted.terms))
    counted.plus(slack, -1.0)
    allowed = _per_year(limits.to_numpy(), years)
    build.deferred.append(_rule(build.bank, f"target_{index}", counted, "<=", allowed))
    return {
        "unit": "tCO2e",
        "active": _per_year(np.ones(len(years)), years),
        "achieved": achieved,
        "bound": Aggregate(allowed),
    }


def _define_green_electricity_target(
    build: RoadmapBuild, target: Target, index: int, slack: str
) -> dict[str, Any]:
    """Green electricity: green + slack >= the year's least share x consumption [MWh]."""
    years, green, consumption = build.years, build.green, build.consumption
    needed = _per_year(green_requirements(target, years).to_numpy(), years)
    # green + slack - needed x consumption >= 0
    rule = Aggregate(
        green.constant - needed * consumption.constant,
        [*green.terms, *((n, -needed * c) for n, c in consumption.terms)],
    ).plus(slack, 1.0)
    build.deferred.append(_rule(build.bank, f"target_{index}", rule, ">=", 0.0))
    return {
        "unit": "MWh",
        "active": (needed > 0).astype("float64"),
        "achieved": Aggregate(green.constant, list(green.terms)),
        "bound": Aggregate(
            needed * consumption.constant, [(n, needed * c) for n, c in consumption.terms]
        ),
    }


def define_objective(build: RoadmapBuild) -> None:
    """Create the variables, add every deferred constraint and the objective: discounted cost
    beyond the baseline's electricity bill, plus shortfall penalties [CNY]."""
    built, bank = build.built, build.bank
    aggregates = built.aggregates
    total_cost = build.electricity_cost
    for name in list(aggregates):
        if name.startswith("cost_") and name != "cost_electricity":
            total_cost = total_cost.combined(aggregates[name])
    aggregates["cost_total"] = total_cost
    objective = Aggregate(build.zero, [(n, c * built.discount) for n, c in total_cost.terms])
    for slack in build.slack_names:
        objective.plus(slack, SHORTFALL_PENALTY_CNY)
    if not bank.group_of:
        raise TanluError("the roadmap has no target and no lever: there is nothing to plan")
    bank.create()
    for add in build.deferred:
        add()
    terms = objective.expression(bank)
    if terms is None:
        raise TanluError("the roadmap has no target and no lever: there is nothing to plan")
    built.model.add_objective(_expression(built.model, terms).sum())


def _register_aggregates(build: RoadmapBuild) -> None:
    """The emissions, electricity and grid-bill aggregates, among the results (after the
    levers', before the offsets', the order the results list them in)."""
    build.built.aggregates.update(
        {
            "scope1": build.scope1,
            "scope2_market": build.scope2_market,
            "scope2_location": build.scope2_location,
            "scope3": build.scope3,
            "green_mwh": build.green,
            "consumption_mwh": build.consumption,
            "cost_electricity": build.electricity_cost,
        }
    )


def build_roadmap_model(problem: RoadmapProblem) -> BuiltRoadmap:
    """The roadmap LP (docs/roadmap.md, "The model"): the baseline, one ``define_*`` call per
    lever family, the offsets, targets and trajectory, and the objective, in this order (the
    order fixes the variables' and constraints' labels)."""
    began = time.perf_counter()
    build = prepare_roadmap_build(problem)
    define_efficiency_levers(build)
    define_onsite_pv(build)
    define_fleet_electrification(build)
    define_green_power_purchases(build)
    define_purchase_constraints(build)
    define_reduction_levers(build)
    _register_aggregates(build)
    define_offsets(build)
    define_emission_cap(build)
    define_target_constraints(build)
    define_trajectory_constraints(build)
    define_objective(build)
    build.built.build_seconds = time.perf_counter() - began
    return build.built


def _site_expression(bank: _Bank, aggregate: Aggregate) -> _Terms:
    """The aggregate's terms per (site, year), without summing over sites."""
    order = ["site", YEAR]
    variables, coefficients, coords = [], [], {}
    for name, coefficient in aggregate.terms:
        labels = bank.labels(name)
        coords = {d: labels.coords[d] for d in order}
        variables.append(labels.ordered(order))
        coefficients.append(_broadcast(coefficient, labels.indexes, order))
    return _Terms(np.stack(variables, axis=-1), np.stack(coefficients, axis=-1), coords)


@dataclass
class _Fall:
    """The fall of an aggregate from the year before [its unit]; 0 in the first year."""

    total: Aggregate

    def value(self, bank: _Bank) -> np.ndarray:
        values = self.total.value(bank)
        return np.concatenate([[0.0], values[:-1] - values[1:]])


def define_trajectory_constraints(build: RoadmapBuild) -> None:
    """``[roadmap.trajectory]`` (docs/roadmap.md, "Trajectory"): green electricity growing at
    least with consumption (``trajectory_green_share``), emissions on or below a straight line
    from the base year (``trajectory_line``) and a most they may fall in one year
    (``trajectory_fall``). The last two have a shortfall variable like a target's, and a row
    in the targets table."""
    trajectory = build.problem.trajectory
    if trajectory is None:
        return
    if trajectory.green_share_rises:
        # not in the years a green-electricity target already asks for 100% (_green_rises_rule)
        whole = np.zeros(len(build.years), dtype=bool)
        for target in build.problem.targets:
            if target.kind == TargetKind.GREEN_ELECTRICITY:
                whole |= green_requirements(target, build.years).to_numpy() >= 1.0
        build.deferred.append(
            _green_rises_rule(build.bank, build.green, build.consumption.constant, whole)
        )
    scopes = sorted(set(trajectory.scopes))
    counted = build.gross_of(scopes)
    if trajectory.emissions == "net":
        for lever in build.offsets:
            counted.plus(lever, -1.0)
    base_scope = build.base_scope
    base_total = sum(base_scope[s] for s in scopes)
    what = f"{trajectory.emissions} emissions of scopes {', '.join(str(s) for s in scopes)}"
    if trajectory.line_end_year is not None:
        _define_trajectory_line(build, trajectory, counted, base_total, what)
    if trajectory.max_fall_share_of_base_year is not None and len(build.years) > 1:
        _define_trajectory_fall(build, trajectory, counted, base_total, what)


def _define_trajectory_line(
    build: RoadmapBuild,
    trajectory: TrajectorySettings,
    counted: Aggregate,
    base_total: float,
    what: str,
) -> None:
    """``trajectory_line``: ``counted`` on or below the straight line from the base year's
    ``base_total`` [tCO2e] to its ``line_end_share_of_base_year`` in ``line_end_year``."""
    problem, years = build.problem, build.years
    end = trajectory.line_end_year
    assert end is not None
    if end <= problem.base_year:
        raise ProjectError(
            f"roadmap.trajectory.line_end_year {end} is not after the base year {problem.base_year}"
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
    build.bank.declare("shortfall", slack, build.unbounded())
    build.slack_names.append(slack)
    rule = Aggregate(counted.constant, list(counted.terms)).plus(slack, -1.0)
    build.deferred.append(_rule(build.bank, "trajectory_line", rule, "<=", line))
    build.built.targets.append(
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


def _define_trajectory_fall(
    build: RoadmapBuild,
    trajectory: TrajectorySettings,
    counted: Aggregate,
    base_total: float,
    what: str,
) -> None:
    """``trajectory_fall``: ``counted`` falls from one year to the next by at most
    ``max_fall_share_of_base_year`` x ``base_total`` [tCO2e], from the second planned year."""
    bank, years = build.bank, build.years
    assert trajectory.max_fall_share_of_base_year is not None
    most = trajectory.max_fall_share_of_base_year * base_total
    slack = "shortfall_trajectory_fall"
    bank.declare("shortfall", slack, build.unbounded())
    build.slack_names.append(slack)

    def add_fall() -> None:
        # counted(y - 1) - counted(y) - slack(y) <= most, from the second planned year
        terms = counted.expression(bank)
        constant = counted.constant.values
        if terms is None:
            return
        variables, coefficients = terms.labels, terms.coefficients
        slack_labels = bank.labels(slack).values[1:, None]
        step = _Terms(
            np.concatenate([variables[:-1], variables[1:], slack_labels], axis=1),
            np.concatenate(
                [coefficients[:-1], -coefficients[1:], -np.ones(slack_labels.shape)], axis=1
            ),
            {YEAR: np.asarray(years[1:])},
        )
        right = most - (constant[:-1] - constant[1:])
        _constrain(bank.model, "trajectory_fall", step, "<=", right)

    build.deferred.append(add_fall)
    build.built.targets.append(
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
        terms = green.expression(bank)
        if terms is None:
            return
        years = terms.coords[YEAR]
        kept = [i for i in range(1, len(years)) if not whole[i]]
        if not kept:
            return
        now, before = np.array(kept), np.array(kept) - 1
        base = consumed.values[before]
        growth = np.divide(consumed.values[now], base, out=np.ones(len(kept)), where=base > 0)
        variables, coefficients = terms.labels, terms.coefficients
        step = _Terms(
            np.concatenate([variables[now], variables[before]], axis=1),
            np.concatenate([coefficients[now], -growth[:, None] * coefficients[before]], axis=1),
            {YEAR: years[now]},
        )
        constant = green.constant.values
        right = -(constant[now] - growth * constant[before])
        _constrain(bank.model, "trajectory_green_share", step, ">=", right)

    return add

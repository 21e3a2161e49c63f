"""Least-cost 24/7 carbon-free-electricity (CFE) procurement for one buyer.

For a site's hours (normally the 8,760 of a year) the optimiser chooses the least-cost portfolio
of on-site PV, wind and solar power-purchase contracts, a battery (energy and power sized
separately) and grid imports that reaches a CFE target hour by hour (the 24/7 definition of the
PyPSA study of Riepin & Brown) or, in ``"annual"`` mode, on annual volume (RE100-style
matching). It is one linear programme, built with linopy over an ``hour`` dimension (no Python
loop over hours) and solved with HiGHS. docs/procurement.md gives the equations, the units, the
cost annualisation and the assumptions.

Units: energy per hour [MWh] (= average power [MW]); PV capacity [kW] (peak, as PV profiles
and prices are quoted), contract and battery capacities [MW] and [MWh]; money [CNY].
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from tanlu.electricity.cfe import score_cfe
from tanlu.errors import TanluError
from tanlu.finance import capital_recovery_factor
from tanlu.solver import solve_with_highs

Mode = Literal["hourly", "annual"]
MODES: tuple[Mode, ...] = ("hourly", "annual")
HOUR = "hour"
KW_PER_MW = 1000.0
HOURS_PER_YEAR = 8760.0
# HiGHS options by mode, measured on the 8,760-hour benchmark (docs/procurement.md): in hourly
# mode the interior-point solver (IPX, with crossover to a vertex) is about twice as fast as the
# dual simplex; in annual mode the simplex is about four times as fast as IPX. No console output.
HIGHS_OPTIONS: dict[str, dict[str, Any]] = {
    "hourly": {"solver": "ipm", "output_flag": False, "log_to_console": False},
    "annual": {"solver": "simplex", "output_flag": False, "log_to_console": False},
}
CAPACITY_COLUMNS = ("pv_kw", "wind_mw", "solar_mw", "battery_mwh", "battery_mw")
# dispatch columns of clean supply (held, generated or contracted) [MWh per hour]
CLEAN_COLUMNS = ["existing_mwh", "pv_mwh", "wind_mwh", "solar_mwh"]


class ProcurementError(TanluError):
    """The procurement inputs are inconsistent, or the target cannot be reached."""


@dataclass(frozen=True)
class ProcurementCosts:
    """Prices and financial parameters of the procurement options.

    No default values: every price needs a named source, which the caller supplies.

    Attributes
    ----------
    pv_capex_cny_per_kw
        Installed cost of on-site PV [CNY/kWp].
    pv_fixed_om_cny_per_kw_year
        Fixed operation and maintenance of PV [CNY/kWp/yr].
    pv_lifetime_years
        Economic lifetime of PV for the annuity [yr].
    wind_price_cny_per_mwh
        Price of the wind contract, paid on all contracted (as-produced) energy [CNY/MWh].
    solar_price_cny_per_mwh
        Price of the solar contract, paid on all contracted (as-produced) energy [CNY/MWh].
    battery_energy_capex_cny_per_kwh
        Installed cost of battery energy capacity [CNY/kWh].
    battery_power_capex_cny_per_kw
        Installed cost of battery power capacity (inverter, grid connection) [CNY/kW].
    battery_lifetime_years
        Economic lifetime of the battery for the annuity [yr].
    battery_round_trip_efficiency_share
        Energy out / energy in, split as its square root on charge and on discharge [0..1].
    grid_price_cny_per_mwh
        Price of grid electricity: one number or one value per hour [CNY/MWh].
    discount_rate_share
        Real discount rate for the annuities [1/yr, 0..1].
    """

    pv_capex_cny_per_kw: float
    pv_fixed_om_cny_per_kw_year: float
    pv_lifetime_years: float
    wind_price_cny_per_mwh: float
    solar_price_cny_per_mwh: float
    battery_energy_capex_cny_per_kwh: float
    battery_power_capex_cny_per_kw: float
    battery_lifetime_years: float
    battery_round_trip_efficiency_share: float
    grid_price_cny_per_mwh: float | np.ndarray
    discount_rate_share: float


@dataclass(frozen=True)
class ProcurementLimits:
    """Optional upper bounds on what can be built or contracted (``None``: unbounded).

    Attributes
    ----------
    pv_max_kw
        On-site PV, e.g. what the roof area allows [kWp].
    wind_max_mw
        Wind contract capacity [MW].
    solar_max_mw
        Solar contract capacity [MW].
    battery_max_mwh
        Battery energy capacity [MWh].
    """

    pv_max_kw: float | None = None
    wind_max_mw: float | None = None
    solar_max_mw: float | None = None
    battery_max_mwh: float | None = None


@dataclass(frozen=True)
class ProcurementProblem:
    """One buyer's procurement problem over a series of hours.

    Attributes
    ----------
    load_mwh
        Consumption in each hour [MWh].
    pv_mwh_per_kw
        Output of 1 kWp of on-site PV in each hour [MWh/kWp] (at most 0.001).
    wind_mwh_per_mw
        Output of 1 MW of contracted wind in each hour [MWh/MW] (at most 1).
    solar_mwh_per_mw
        Output of 1 MW of contracted solar in each hour [MWh/MW] (at most 1).
    grid_cfe_share
        Carbon-free share of grid electricity: one number or one value per hour [0..1].
    costs
        Prices and financial parameters.
    limits
        Upper bounds on capacities.
    existing_clean_mwh
        Clean supply the buyer already has in each hour, at no further cost (on-site PV built,
        contracts signed): one number or one value per hour [MWh]. The optimiser buys what
        is needed on top of it.
    """

    load_mwh: np.ndarray
    pv_mwh_per_kw: np.ndarray
    wind_mwh_per_mw: np.ndarray
    solar_mwh_per_mw: np.ndarray
    grid_cfe_share: float | np.ndarray
    costs: ProcurementCosts
    limits: ProcurementLimits = ProcurementLimits()
    existing_clean_mwh: float | np.ndarray = 0.0


@dataclass(frozen=True)
class ProcurementResult:
    """The least-cost portfolio for one target.

    Attributes
    ----------
    target_share
        The CFE target asked for [0..1].
    mode
        ``"hourly"`` (24/7 CFE score) or ``"annual"`` (annual volume matching).
    pv_kw, wind_mw, solar_mw
        On-site PV [kWp] and contracted wind and solar [MW].
    battery_mwh, battery_mw
        Battery energy [MWh] and power [MW] capacity.
    dispatch
        One row per hour (index ``hour``), columns ``load_mwh, existing_mwh, pv_mwh, wind_mwh,
        solar_mwh, charge_mwh, discharge_mwh, soc_mwh, curtail_mwh, grid_mwh`` [MWh per hour;
        ``soc_mwh`` is the energy stored at the end of the hour]. ``existing_mwh`` is the clean
        supply already held; ``pv_mwh``, ``wind_mwh`` and ``solar_mwh`` are what the new
        capacities produce, before curtailment.
    cost_breakdown_cny
        Cost by item: ``pv, wind, solar, battery_energy, battery_power, grid`` [CNY over the
        period].
    total_cost_cny
        Sum of ``cost_breakdown_cny``, computed from the capacities and dispatch [CNY over the
        period; a year for 8,760 hours].
    objective_cny
        The solver's objective value; equal to ``total_cost_cny`` [CNY].
    cost_per_mwh_cny
        ``total_cost_cny`` / total load [CNY/MWh].
    cfe_score_share
        Hour-by-hour CFE score of the dispatch [0..1].
    annual_clean_share
        Clean energy held, produced or contracted (before curtailment) / total load [share;
        may exceed 1].
    build_seconds, solve_seconds
        Wall-clock time to validate and build the model, and to solve it (including the
        transfer to HiGHS and reading the solution back) [s].
    """

    target_share: float
    mode: Mode
    pv_kw: float
    wind_mw: float
    solar_mw: float
    battery_mwh: float
    battery_mw: float
    dispatch: pd.DataFrame
    cost_breakdown_cny: dict[str, float]
    total_cost_cny: float
    objective_cny: float
    cost_per_mwh_cny: float
    cfe_score_share: float
    annual_clean_share: float
    build_seconds: float
    solve_seconds: float


@dataclass(frozen=True)
class AnnualisedCosts:
    """The problem's unit costs in the units the model uses.

    Attributes
    ----------
    pv_cny_per_mw
        PV annuity + fixed O&M over the period [CNY/MWp].
    wind_cny_per_mw, solar_cny_per_mw
        Contract price x energy of 1 MW over the period [CNY/MW].
    battery_energy_cny_per_mwh
        Battery energy annuity over the period [CNY/MWh].
    battery_power_cny_per_mw
        Battery power annuity over the period [CNY/MW].
    grid_cny_per_mwh
        Grid price per hour [CNY/MWh].
    charge_efficiency_share, discharge_efficiency_share
        Square roots of the round-trip efficiency [0..1].
    """

    pv_cny_per_mw: float
    wind_cny_per_mw: float
    solar_cny_per_mw: float
    battery_energy_cny_per_mwh: float
    battery_power_cny_per_mw: float
    grid_cny_per_mwh: np.ndarray
    charge_efficiency_share: float
    discharge_efficiency_share: float


def annualise_costs(problem: ProcurementProblem) -> AnnualisedCosts:
    """Unit costs of each option over the problem's hours, per MW or MWh [CNY].

    Capacity costs are annuities (capital recovery factor x capex) plus fixed O&M, prorated to
    the length of the period (hours / 8,760), so that 8,760 hours cost one year. Contracts cost
    their price x the energy 1 MW produces over the period, curtailed or not.
    """
    costs = problem.costs
    hours = len(problem.load_mwh)
    years = hours / HOURS_PER_YEAR
    pv_crf = capital_recovery_factor(costs.discount_rate_share, costs.pv_lifetime_years)
    battery_crf = capital_recovery_factor(costs.discount_rate_share, costs.battery_lifetime_years)
    efficiency = math.sqrt(costs.battery_round_trip_efficiency_share)
    return AnnualisedCosts(
        pv_cny_per_mw=(costs.pv_capex_cny_per_kw * pv_crf + costs.pv_fixed_om_cny_per_kw_year)
        * KW_PER_MW
        * years,
        wind_cny_per_mw=costs.wind_price_cny_per_mwh * float(np.sum(problem.wind_mwh_per_mw)),
        solar_cny_per_mw=costs.solar_price_cny_per_mwh * float(np.sum(problem.solar_mwh_per_mw)),
        battery_energy_cny_per_mwh=costs.battery_energy_capex_cny_per_kwh
        * battery_crf
        * KW_PER_MW
        * years,
        battery_power_cny_per_mw=costs.battery_power_capex_cny_per_kw
        * battery_crf
        * KW_PER_MW
        * years,
        grid_cny_per_mwh=_per_hour(costs.grid_price_cny_per_mwh, hours),
        charge_efficiency_share=efficiency,
        discharge_efficiency_share=efficiency,
    )


def _per_hour(value: float | np.ndarray, hours: int) -> np.ndarray:
    array = np.asarray(value, dtype="float64")
    return np.full(hours, float(array)) if array.ndim == 0 else array


def _check_series(
    value: Any, name: str, hours: int, upper: float | None = None, allow_scalar: bool = False
) -> None:
    array = np.asarray(value, dtype="float64") if _is_numeric(value) else None
    if array is None:
        raise ProcurementError(f"{name} is not numeric")
    if array.ndim == 0 and allow_scalar:
        array = array.reshape(1)
    elif array.ndim != 1:
        raise ProcurementError(f"{name} must be one value per hour (1-D), not shape {array.shape}")
    elif len(array) != hours:
        raise ProcurementError(f"{name} has {len(array)} hours, load has {hours}")
    bad = np.flatnonzero(~np.isfinite(array))
    if len(bad):
        raise ProcurementError(f"{name} is missing or infinite at hour {bad[0]}")
    bad = np.flatnonzero(array < 0)
    if len(bad):
        raise ProcurementError(f"{name} is negative at hour {bad[0]} ({array[bad[0]]})")
    if upper is not None:
        bad = np.flatnonzero(array > upper * (1 + 1e-9))
        if len(bad):
            raise ProcurementError(
                f"{name} is {array[bad[0]]} at hour {bad[0]}, above {upper:g}: "
                "a profile gives the energy of one unit of capacity in one hour "
                "(check kW against MW)"
            )


def _is_numeric(value: Any) -> bool:
    try:
        np.asarray(value, dtype="float64")
    except (TypeError, ValueError):
        return False
    return True


def validate_problem(problem: ProcurementProblem) -> None:
    """Raise :class:`ProcurementError` naming the first bad input of ``problem``."""
    load = np.asarray(problem.load_mwh, dtype="float64")
    if load.ndim != 1 or len(load) == 0:
        raise ProcurementError(f"load must be one value per hour (1-D), not shape {load.shape}")
    hours = len(load)
    _check_series(load, "load", hours)
    if load.sum() <= 0:
        raise ProcurementError("load is zero in every hour: there is nothing to supply")
    _check_series(problem.pv_mwh_per_kw, "pv profile", hours, upper=1.0 / KW_PER_MW)
    _check_series(problem.wind_mwh_per_mw, "wind profile", hours, upper=1.0)
    _check_series(problem.solar_mwh_per_mw, "solar profile", hours, upper=1.0)
    _check_series(problem.grid_cfe_share, "grid CFE share", hours, upper=1.0, allow_scalar=True)
    _check_series(problem.existing_clean_mwh, "existing clean supply", hours, allow_scalar=True)

    costs = problem.costs
    for name in (
        "pv_capex_cny_per_kw",
        "pv_fixed_om_cny_per_kw_year",
        "wind_price_cny_per_mwh",
        "solar_price_cny_per_mwh",
        "battery_energy_capex_cny_per_kwh",
        "battery_power_capex_cny_per_kw",
    ):
        value = getattr(costs, name)
        if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
            raise ProcurementError(f"costs.{name} is {value!r}; it must be a number >= 0")
    for name in ("pv_lifetime_years", "battery_lifetime_years"):
        value = getattr(costs, name)
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            raise ProcurementError(f"costs.{name} is {value!r}; it must be a number > 0")
    efficiency = costs.battery_round_trip_efficiency_share
    if not (isinstance(efficiency, int | float) and 0 < efficiency <= 1):
        raise ProcurementError(
            f"costs.battery_round_trip_efficiency_share is {efficiency!r}; it must be in (0, 1]"
        )
    rate = costs.discount_rate_share
    if not (isinstance(rate, int | float) and 0 <= rate <= 1):
        raise ProcurementError(f"costs.discount_rate_share is {rate!r}; it must be in 0..1")
    grid_price = np.asarray(costs.grid_price_cny_per_mwh, dtype="float64")
    if grid_price.ndim > 1 or (grid_price.ndim == 1 and len(grid_price) != hours):
        raise ProcurementError(
            f"grid price has {grid_price.size} hours, load has {hours} (give one number or "
            "one value per hour)"
        )
    if not np.isfinite(grid_price).all():
        raise ProcurementError("grid price is missing or infinite in some hour")

    for name in ("pv_max_kw", "wind_max_mw", "solar_max_mw", "battery_max_mwh"):
        value = getattr(problem.limits, name)
        if value is not None and not (isinstance(value, int | float) and value >= 0):
            raise ProcurementError(f"limits.{name} is {value!r}; it must be None or a number >= 0")


def _check_target(target_share: float, mode: str) -> None:
    if mode not in MODES:
        raise ProcurementError(f"mode {mode!r} is not one of {', '.join(MODES)}")
    if not (isinstance(target_share, int | float) and 0 <= target_share <= 1):
        raise ProcurementError(f"target {target_share!r} is not a share in 0..1")


@dataclass(frozen=True)
class _Built:
    """A built linopy model and what is needed to read its solution."""

    model: Any  # linopy.Model (untyped library)
    annualised: AnnualisedCosts
    total_load_mwh: float
    dirty_share: np.ndarray


def _upper(value: float | None, scale: float = 1.0) -> float:
    return math.inf if value is None else value / scale


def build_model(problem: ProcurementProblem, target_share: float, mode: Mode) -> _Built:
    """The procurement LP as a linopy model (validated inputs assumed).

    Variables (scalar or over ``hour``): ``pv_mw, wind_mw, solar_mw, battery_mwh, battery_mw``
    [MW, MWh]; ``charge, discharge, soc, grid`` [MWh per hour]. Curtailment is the slack of
    ``supply`` (clean - charge + discharge + grid - load >= 0) and is read back from it.
    Constraints: ``supply, clean_use, charge_power, discharge_power, soc_energy, soc_balance``
    and ``cfe`` (hourly mode) or ``annual_matching`` (annual mode).
    """
    import linopy

    annualised = annualise_costs(problem)
    load = np.asarray(problem.load_mwh, dtype="float64")
    hours = pd.RangeIndex(len(load), name=HOUR)

    def series(values: np.ndarray | float) -> xr.DataArray:
        return xr.DataArray(_per_hour(values, len(load)), coords=[hours])

    limits = problem.limits
    model = linopy.Model(force_dim_names=True)
    pv_mw = model.add_variables(0, _upper(limits.pv_max_kw, KW_PER_MW), name="pv_mw")
    wind_mw = model.add_variables(0, _upper(limits.wind_max_mw), name="wind_mw")
    solar_mw = model.add_variables(0, _upper(limits.solar_max_mw), name="solar_mw")
    battery_mwh = model.add_variables(0, _upper(limits.battery_max_mwh), name="battery_mwh")
    battery_mw = model.add_variables(0, name="battery_mw")
    charge = model.add_variables(0, coords=[hours], name="charge")
    discharge = model.add_variables(0, coords=[hours], name="discharge")
    soc = model.add_variables(0, coords=[hours], name="soc")
    grid = model.add_variables(0, coords=[hours], name="grid")

    pv_mwh_per_mw = series(np.asarray(problem.pv_mwh_per_kw, dtype="float64") * KW_PER_MW)
    clean = (
        pv_mw * pv_mwh_per_mw
        + wind_mw * series(problem.wind_mwh_per_mw)
        + solar_mw * series(problem.solar_mwh_per_mw)
        + series(problem.existing_clean_mwh)
    )
    # balance clean - charge + discharge - curtail + grid = load with curtail >= 0 ...
    model.add_constraints(clean - charge + discharge + grid >= series(load), name="supply")
    # ... and charge + curtail <= clean (the battery charges and curtailment takes only from
    # clean supply, never from grid imports), which with the balance is:
    model.add_constraints(discharge + grid <= series(load), name="clean_use")
    model.add_constraints(charge - battery_mw <= 0, name="charge_power")
    model.add_constraints(discharge - battery_mw <= 0, name="discharge_power")
    model.add_constraints(soc - battery_mwh <= 0, name="soc_energy")
    # soc at the end of hour h; roll makes it cyclic (hour 0 follows the last hour)
    model.add_constraints(
        soc
        - soc.roll({HOUR: 1})
        - annualised.charge_efficiency_share * charge
        + (1.0 / annualised.discharge_efficiency_share) * discharge
        == 0,
        name="soc_balance",
    )
    total_load = float(load.sum())
    dirty_share = 1.0 - _per_hour(problem.grid_cfe_share, len(load))
    if mode == "hourly":
        model.add_constraints(
            (grid * series(dirty_share)).sum() <= (1.0 - target_share) * total_load, name="cfe"
        )
    else:
        model.add_constraints(clean.sum() >= target_share * total_load, name="annual_matching")
    model.add_objective(
        annualised.pv_cny_per_mw * pv_mw
        + annualised.wind_cny_per_mw * wind_mw
        + annualised.solar_cny_per_mw * solar_mw
        + annualised.battery_energy_cny_per_mwh * battery_mwh
        + annualised.battery_power_cny_per_mw * battery_mw
        + (grid * series(annualised.grid_cny_per_mwh)).sum()
    )
    return _Built(model, annualised, total_load, dirty_share)


def _solve(model: Any, mode: Mode) -> str:
    """Solve with HiGHS (options :data:`HIGHS_OPTIONS`); the termination condition."""
    return solve_with_highs(model, HIGHS_OPTIONS[mode])


def _best_reachable_share(problem: ProcurementProblem, mode: Mode) -> float | None:
    """The highest CFE score (hourly) or clean share (annual) the limits allow.

    Hourly: minimise the grid's fossil energy, sum_h grid_h (1 - g_h), with no target (a
    second solve). Annual: the bounded capacities' energy / load; ``None`` if unbounded.
    """
    total_load = float(np.sum(problem.load_mwh))
    if mode == "annual":
        limits = problem.limits
        options = (
            (problem.pv_mwh_per_kw, limits.pv_max_kw),
            (problem.wind_mwh_per_mw, limits.wind_max_mw),
            (problem.solar_mwh_per_mw, limits.solar_max_mw),
        )
        energy = [(float(np.sum(profile)), limit) for profile, limit in options]
        if any(limit is None and total > 0 for total, limit in energy):
            return None
        held = float(np.sum(_per_hour(problem.existing_clean_mwh, len(problem.load_mwh))))
        return (held + sum(total * (limit or 0.0) for total, limit in energy)) / total_load
    built = build_model(problem, 0.0, mode)
    model = built.model
    model.remove_constraints("cfe")
    fossil = model.variables["grid"] * xr.DataArray(built.dirty_share, dims=[HOUR])
    model.add_objective(fossil.sum(), overwrite=True)
    if _solve(model, mode) != "optimal":
        return None
    return float(1.0 - model.objective.value / total_load)


def _infeasible(problem: ProcurementProblem, target_share: float, mode: Mode) -> ProcurementError:
    what = "a 24/7 CFE score" if mode == "hourly" else "an annual clean-energy share"
    best = _best_reachable_share(problem, mode)
    reach = f"; the best reachable is {best:.4f}" if best is not None else ""
    return ProcurementError(
        f"{what} of {target_share:g} cannot be reached with the capacity limits given{reach}. "
        "Lower the target or raise the limits (pv_max_kw, wind_max_mw, solar_max_mw, "
        "battery_max_mwh)."
    )


def _read_result(
    problem: ProcurementProblem,
    built: _Built,
    target_share: float,
    mode: Mode,
    build_seconds: float,
    solve_seconds: float,
) -> ProcurementResult:
    solution = built.model.solution
    annualised = built.annualised

    def scalar(name: str) -> float:
        value = float(solution[name])
        return value if value > 0 else 0.0

    def hourly(name: str) -> np.ndarray:
        return np.asarray(solution[name].values, dtype="float64")

    pv_mw, wind_mw, solar_mw = scalar("pv_mw"), scalar("wind_mw"), scalar("solar_mw")
    battery_mwh, battery_mw = scalar("battery_mwh"), scalar("battery_mw")
    load = np.asarray(problem.load_mwh, dtype="float64")
    dispatch = pd.DataFrame(
        {
            "load_mwh": load,
            "existing_mwh": _per_hour(problem.existing_clean_mwh, len(load)),
            "pv_mwh": np.asarray(problem.pv_mwh_per_kw, dtype="float64") * KW_PER_MW * pv_mw,
            "wind_mwh": np.asarray(problem.wind_mwh_per_mw, dtype="float64") * wind_mw,
            "solar_mwh": np.asarray(problem.solar_mwh_per_mw, dtype="float64") * solar_mw,
            "charge_mwh": hourly("charge"),
            "discharge_mwh": hourly("discharge"),
            "soc_mwh": hourly("soc"),
            "curtail_mwh": np.zeros(len(load)),
            "grid_mwh": hourly("grid"),
        },
        index=pd.RangeIndex(len(load), name=HOUR),
    )
    # curtailment: the slack of the supply constraint (clipped at 0 against solver round-off)
    dispatch["curtail_mwh"] = (
        dispatch[[*CLEAN_COLUMNS, "discharge_mwh", "grid_mwh"]].sum(axis=1)
        - dispatch["charge_mwh"]
        - dispatch["load_mwh"]
    ).clip(lower=0.0)
    breakdown = {
        "pv": annualised.pv_cny_per_mw * pv_mw,
        "wind": annualised.wind_cny_per_mw * wind_mw,
        "solar": annualised.solar_cny_per_mw * solar_mw,
        "battery_energy": annualised.battery_energy_cny_per_mwh * battery_mwh,
        "battery_power": annualised.battery_power_cny_per_mw * battery_mw,
        "grid": float(annualised.grid_cny_per_mwh @ dispatch["grid_mwh"].to_numpy()),
    }
    total_cost = float(sum(breakdown.values()))
    total_load = built.total_load_mwh
    clean_mwh = dispatch[CLEAN_COLUMNS].sum(axis=1).to_numpy()
    return ProcurementResult(
        target_share=float(target_share),
        mode=mode,
        pv_kw=pv_mw * KW_PER_MW,
        wind_mw=wind_mw,
        solar_mw=solar_mw,
        battery_mwh=battery_mwh,
        battery_mw=battery_mw,
        dispatch=dispatch,
        cost_breakdown_cny=breakdown,
        total_cost_cny=total_cost,
        objective_cny=float(built.model.objective.value),
        cost_per_mwh_cny=total_cost / total_load,
        cfe_score_share=cfe_score_of_dispatch(dispatch, problem.grid_cfe_share),
        annual_clean_share=float(clean_mwh.sum() / total_load),
        build_seconds=build_seconds,
        solve_seconds=solve_seconds,
    )


def cfe_score_of_dispatch(dispatch: pd.DataFrame, grid_cfe_share: float | np.ndarray) -> float:
    """Hour-by-hour CFE score of a dispatch [0..1].

    ``sum_h [min(load_h, clean used_h) + grid_h x grid_cfe_share_h] / sum_h load_h`` with
    clean used = held + PV + wind + solar - charge - curtail + discharge [MWh per hour]. Excess
    in an hour counts for nothing; the battery is the only way clean energy moves between hours.

    Parameters
    ----------
    dispatch
        A :attr:`ProcurementResult.dispatch` table [MWh per hour].
    grid_cfe_share
        Carbon-free share of grid electricity, one number or one value per hour [0..1].
    """
    clean_used = (
        dispatch[[c for c in CLEAN_COLUMNS if c in dispatch.columns]].sum(axis=1)
        - dispatch["charge_mwh"]
        - dispatch["curtail_mwh"]
        + dispatch["discharge_mwh"]
    ).to_numpy()
    # clean energy used in each hour, scored by the one CFE definition (tanlu.electricity.cfe)
    scored = score_cfe(
        dispatch["load_mwh"].to_numpy(), np.clip(clean_used, 0.0, None), grid_cfe_share
    )
    return float(scored.table["cfe_score_share"].iloc[0])


def solve_procurement(
    problem: ProcurementProblem, target_share: float, mode: Mode = "hourly"
) -> ProcurementResult:
    """The least-cost portfolio that reaches a CFE target.

    Parameters
    ----------
    problem
        Load, profiles, prices and limits.
    target_share
        Hourly (24/7) CFE score to reach in ``"hourly"`` mode, or clean energy / load over the
        period in ``"annual"`` mode [0..1].
    mode
        ``"hourly"`` or ``"annual"``.

    Returns
    -------
    ProcurementResult

    Raises
    ------
    ProcurementError
        If an input is bad (the message names it) or the target cannot be reached within the
        limits (the message gives the best reachable score when it is bounded).
    """
    began = time.perf_counter()
    validate_problem(problem)
    _check_target(target_share, mode)
    built = build_model(problem, target_share, mode)
    solving = time.perf_counter()
    condition = _solve(built.model, mode)
    solved = time.perf_counter()
    if condition in ("infeasible", "infeasible_or_unbounded"):
        raise _infeasible(problem, target_share, mode)
    if condition != "optimal":
        raise ProcurementError(
            f"HiGHS stopped without an optimal portfolio for target {target_share:g} ({condition})"
        )
    return _read_result(problem, built, target_share, mode, solving - began, solved - solving)


def cost_curve(
    problem: ProcurementProblem, targets: Sequence[float], mode: Mode = "hourly"
) -> pd.DataFrame:
    """Least cost against CFE target.

    Parameters
    ----------
    problem
        Load, profiles, prices and limits.
    targets
        CFE targets [0..1].
    mode
        ``"hourly"`` or ``"annual"``.

    Returns
    -------
    pandas.DataFrame
        One row per target: ``target_share, cost_per_mwh_cny, total_cost_cny,
        cfe_score_share, annual_clean_share, pv_kw, wind_mw, solar_mw, battery_mwh,
        battery_mw``.
    """
    rows = []
    for target in targets:
        result = solve_procurement(problem, target, mode)
        rows.append(
            {
                "target_share": result.target_share,
                "cost_per_mwh_cny": result.cost_per_mwh_cny,
                "total_cost_cny": result.total_cost_cny,
                "cfe_score_share": result.cfe_score_share,
                "annual_clean_share": result.annual_clean_share,
                **{name: getattr(result, name) for name in CAPACITY_COLUMNS},
            }
        )
    return pd.DataFrame(rows)

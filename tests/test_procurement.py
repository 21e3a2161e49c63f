"""The 24/7 CFE procurement optimiser: hand-checked optima, invariants, PyPSA, bad input.

Every price here is ILLUSTRATIVE (chosen to make the arithmetic easy or the problem realistic in
shape), not sourced data.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from tanlu.electricity.procurement import (
    ProcurementCosts,
    ProcurementError,
    ProcurementLimits,
    ProcurementProblem,
    ProcurementResult,
    cost_curve,
    solve_procurement,
)
from tanlu.finance import capital_recovery_factor

RTOL = 1e-6


def costs(**changes: float | np.ndarray) -> ProcurementCosts:
    """Illustrative prices: PV 1,000 CNY/kW with no O&M over 1 year at 0 % (annuity = capex),
    wind and solar contracts 100 and 150 CNY/MWh, battery 1 CNY/kWh and 1 CNY/kW over 1 year,
    lossless, grid 500 CNY/MWh."""
    base = ProcurementCosts(
        pv_capex_cny_per_kw=1000.0,
        pv_fixed_om_cny_per_kw_year=0.0,
        pv_lifetime_years=1.0,
        wind_price_cny_per_mwh=100.0,
        solar_price_cny_per_mwh=150.0,
        battery_energy_capex_cny_per_kwh=1.0,
        battery_power_capex_cny_per_kw=1.0,
        battery_lifetime_years=1.0,
        battery_round_trip_efficiency_share=1.0,
        grid_price_cny_per_mwh=500.0,
        discount_rate_share=0.0,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def problem(
    load: list[float],
    pv: list[float] | None = None,
    wind: list[float] | None = None,
    solar: list[float] | None = None,
    grid_cfe_share: float | list[float] = 0.0,
    limits: ProcurementLimits | None = None,
    **cost_changes: float | np.ndarray,
) -> ProcurementProblem:
    zeros = [0.0] * len(load)
    return ProcurementProblem(
        load_mwh=np.array(load),
        pv_mwh_per_kw=np.array(pv if pv is not None else zeros),
        wind_mwh_per_mw=np.array(wind if wind is not None else zeros),
        solar_mwh_per_mw=np.array(solar if solar is not None else zeros),
        grid_cfe_share=np.asarray(grid_cfe_share, dtype="float64"),
        costs=costs(**cost_changes),
        limits=limits or ProcurementLimits(),
    )


def check_invariants(result: ProcurementResult, p: ProcurementProblem) -> None:
    d = result.dispatch
    atol = 1e-6 * float(d["load_mwh"].max())
    clean = d["pv_mwh"] + d["wind_mwh"] + d["solar_mwh"]
    # hourly balance: clean - charge + discharge - curtail + grid = load
    balance = clean - d["charge_mwh"] + d["discharge_mwh"] - d["curtail_mwh"] + d["grid_mwh"]
    np.testing.assert_allclose(balance, d["load_mwh"], atol=atol)
    # no charging from the grid: charge + curtail <= clean in every hour
    assert (d["charge_mwh"] + d["curtail_mwh"] <= clean + atol).all()
    for column in ("charge_mwh", "discharge_mwh", "soc_mwh", "curtail_mwh", "grid_mwh"):
        assert (d[column] >= -atol).all(), column
    assert (d["charge_mwh"] <= result.battery_mw + atol).all()
    assert (d["discharge_mwh"] <= result.battery_mw + atol).all()
    assert (d["soc_mwh"] <= result.battery_mwh + atol).all()
    # state of charge, cyclic, efficiency split as its square root on each side
    eta = math.sqrt(p.costs.battery_round_trip_efficiency_share)
    soc = d["soc_mwh"].to_numpy()
    np.testing.assert_allclose(
        soc - np.roll(soc, 1),
        eta * d["charge_mwh"] - d["discharge_mwh"] / eta,
        atol=atol,
    )
    # reported cost = the solver's objective; cost per MWh = total / load
    assert result.total_cost_cny == pytest.approx(result.objective_cny, rel=1e-9, abs=1e-6)
    assert result.total_cost_cny == pytest.approx(sum(result.cost_breakdown_cny.values()))
    assert result.cost_per_mwh_cny == pytest.approx(
        result.total_cost_cny / float(d["load_mwh"].sum())
    )
    if result.mode == "hourly":
        assert result.cfe_score_share >= result.target_share - 1e-6
    else:
        assert result.annual_clean_share >= result.target_share - 1e-6


# --- (1) toy cases solvable by hand --------------------------------------------------------


def test_pv_only_without_battery_by_hand() -> None:
    # 4 hours, load 1 MWh each; PV gives 0, 0.001, 0.001, 0 MWh per kW (two hours at full sun);
    # PV costs 1,000 CNY/kW-yr, prorated to 4/8760 yr; grid 500 CNY/MWh with a carbon-free
    # share of 0; a battery too dear to help (1e9 CNY/kWh).
    # Target 0.5: the two sunny hours must be clean, 2 MWh of 4: 1 MWh / 0.001 = 1,000 kW of
    # PV, costing 1,000 kW x 1,000 CNY/kW x 4/8760 = 456.62 CNY; the two dark hours are grid:
    # 2 x 500 = 1,000 CNY. Total 1,456.62 CNY.
    p = problem([1.0] * 4, pv=[0.0, 0.001, 0.001, 0.0], battery_energy_capex_cny_per_kwh=1e9)
    result = solve_procurement(p, 0.5)
    pv_cost = 1000.0 * 1000.0 * 4 / 8760
    assert result.pv_kw == pytest.approx(1000.0, rel=RTOL)
    assert result.total_cost_cny == pytest.approx(pv_cost + 2 * 500.0, rel=RTOL)
    assert result.cfe_score_share == pytest.approx(0.5, abs=1e-6)
    assert result.battery_mwh == pytest.approx(0.0, abs=1e-6)
    check_invariants(result, p)


def test_contract_against_grid_by_hand() -> None:
    # 2 hours, load 10 MWh each; wind produces 1 MWh per MW in hour 0, nothing in hour 1, at
    # 100 CNY/MWh; grid 500 CNY/MWh with a carbon-free share of 0.5 in both hours.
    # Without wind, score = 0.5 (grid's share). Each MWh of wind in hour 0 replaces a grid MWh,
    # adding 0.5 MWh of CFE, and saves 500 - 100 = 400 CNY: so all of hour 0 is wind even at
    # target 0 -> 10 MW, score = (10 + 10 x 0.5) / 20 = 0.75, cost = 10 x 100 + 10 x 500 = 6,000.
    # (The battery is priced out, 1e9 CNY/kWh, so that hour 1 cannot be served from hour 0.)
    p = problem(
        [10.0, 10.0], wind=[1.0, 0.0], grid_cfe_share=0.5, battery_energy_capex_cny_per_kwh=1e9
    )
    for target in (0.0, 0.75):
        result = solve_procurement(p, target)
        assert result.wind_mw == pytest.approx(10.0, rel=RTOL)
        assert result.total_cost_cny == pytest.approx(6000.0, rel=RTOL)
        assert result.cost_per_mwh_cny == pytest.approx(300.0, rel=RTOL)
        assert result.cfe_score_share == pytest.approx(0.75, abs=1e-6)
        check_invariants(result, p)
    # Annual matching at 1.0 needs 20 MWh of wind over the period, all in hour 0: 20 MW; the
    # 10 MWh above hour 0's load are curtailed (still paid for), hour 1 is grid:
    # 20 x 100 + 10 x 500 = 7,000 CNY.
    annual = solve_procurement(p, 1.0, mode="annual")
    assert annual.wind_mw == pytest.approx(20.0, rel=RTOL)
    assert annual.total_cost_cny == pytest.approx(7000.0, rel=RTOL)
    assert annual.dispatch["curtail_mwh"].to_numpy() == pytest.approx([10.0, 0.0], abs=1e-6)
    assert annual.annual_clean_share == pytest.approx(1.0, abs=1e-6)
    assert annual.cfe_score_share == pytest.approx(0.75, abs=1e-6)
    check_invariants(annual, p)


# --- (2) a battery case checked by hand ----------------------------------------------------


def test_battery_by_hand() -> None:
    # 2 hours, load 1 MWh each; solar 1 MWh per MW in hour 0, none in hour 1, 150 CNY/MWh;
    # grid carbon-free share 0, 500 CNY/MWh; battery round trip 0.81 (0.9 on each side),
    # 2,190 CNY/kWh and 2,190 CNY/kW over 1 year at 0 % -> x 2/8760 yr = 0.5 CNY/kWh and
    # 0.5 CNY/kW over the 2 hours, i.e. 500 CNY/MWh and 500 CNY/MW.
    # Target 1.0: hour 1 needs 1 MWh from the battery: charge c with 0.9 c = soc = 1 / 0.9,
    # c = 1 / 0.81 = 1.2346 MWh in hour 0; solar = 1 + 1.2346 = 2.2346 MW.
    # Power = max(charge 1.2346, discharge 1) = 1.2346 MW; energy = soc = 1.1111 MWh.
    # Cost = 2.2346 x 150 (solar) + 1.1111 x 500 + 1.2346 x 500 = 335.19 + 555.56 + 617.28.
    p = problem(
        [1.0, 1.0],
        solar=[1.0, 0.0],
        battery_round_trip_efficiency_share=0.81,
        battery_energy_capex_cny_per_kwh=2190.0,
        battery_power_capex_cny_per_kw=2190.0,
    )
    result = solve_procurement(p, 1.0)
    charge = 1 / 0.81
    assert result.solar_mw == pytest.approx(1 + charge, rel=RTOL)
    assert result.battery_mwh == pytest.approx(1 / 0.9, rel=RTOL)
    assert result.battery_mw == pytest.approx(charge, rel=RTOL)
    expected = (1 + charge) * 150 + (1 / 0.9) * 500 + charge * 500
    assert result.total_cost_cny == pytest.approx(expected, rel=RTOL)
    assert result.dispatch["charge_mwh"].to_numpy() == pytest.approx([charge, 0.0], abs=1e-6)
    assert result.dispatch["discharge_mwh"].to_numpy() == pytest.approx([0.0, 1.0], abs=1e-6)
    assert result.cfe_score_share == pytest.approx(1.0, abs=1e-6)
    check_invariants(result, p)


def test_capital_recovery_factor() -> None:
    # r = 0.06, n = 25: 0.06 / (1 - 1.06^-25) = 0.078227 (annuity tables); r = 0: 1 / n
    assert capital_recovery_factor(0.06, 25) == pytest.approx(0.0782267, rel=1e-6)
    assert capital_recovery_factor(0.0, 20) == pytest.approx(0.05)


# --- (3) invariants on a week with every option -------------------------------------------


def week_problem(hours: int = 168) -> ProcurementProblem:
    """A deterministic synthetic week: flat 20 MW load, a PV bell by day, wind with a 3-day
    cycle, the grid's carbon-free share 0.3 by night and 0.4 by day, a day-night grid price;
    illustrative prices of a realistic order of magnitude."""
    h = np.arange(hours)
    hour_of_day = h % 24
    sun = np.clip(np.sin(np.pi * (hour_of_day - 6) / 12), 0.0, None)
    day = (hour_of_day >= 8) & (hour_of_day < 20)
    return ProcurementProblem(
        load_mwh=np.full(hours, 20.0),
        pv_mwh_per_kw=0.0008 * sun * (0.8 + 0.2 * np.cos(2 * np.pi * h / 96)),
        wind_mwh_per_mw=np.clip(0.35 + 0.3 * np.sin(2 * np.pi * h / 72), 0.0, 1.0),
        solar_mwh_per_mw=0.85 * sun,
        grid_cfe_share=np.where(day, 0.4, 0.3),
        costs=ProcurementCosts(
            pv_capex_cny_per_kw=3500.0,
            pv_fixed_om_cny_per_kw_year=50.0,
            pv_lifetime_years=25.0,
            wind_price_cny_per_mwh=380.0,
            solar_price_cny_per_mwh=300.0,
            battery_energy_capex_cny_per_kwh=1000.0,
            battery_power_capex_cny_per_kw=500.0,
            battery_lifetime_years=15.0,
            battery_round_trip_efficiency_share=0.88,
            grid_price_cny_per_mwh=np.where(day, 700.0, 400.0),
            discount_rate_share=0.06,
        ),
        limits=ProcurementLimits(pv_max_kw=15_000.0),
    )


@pytest.mark.parametrize(("target", "mode"), [(0.8, "hourly"), (1.0, "hourly"), (0.9, "annual")])
def test_invariants(target: float, mode: str) -> None:
    p = week_problem()
    result = solve_procurement(p, target, mode)  # type: ignore[arg-type]
    check_invariants(result, p)
    assert result.pv_kw <= 15_000.0 * (1 + 1e-9)
    assert list(result.dispatch.columns) == [
        "load_mwh",
        "existing_mwh",
        "pv_mwh",
        "wind_mwh",
        "solar_mwh",
        "charge_mwh",
        "discharge_mwh",
        "soc_mwh",
        "curtail_mwh",
        "grid_mwh",
    ]
    assert result.build_seconds > 0 and result.solve_seconds > 0


def test_cost_curve_rises_with_target() -> None:
    curve = cost_curve(week_problem(), [0.6, 0.8, 0.95, 1.0])
    assert list(curve["target_share"]) == [0.6, 0.8, 0.95, 1.0]
    assert (np.diff(curve["cost_per_mwh_cny"]) >= -1e-6).all()
    assert (curve["cfe_score_share"] >= curve["target_share"] - 1e-6).all()
    for column in ("pv_kw", "wind_mw", "solar_mw", "battery_mwh", "battery_mw"):
        assert column in curve.columns


# --- (4) the same least cost as PyPSA ------------------------------------------------------


@pytest.mark.parametrize(("target", "mode"), [(0.9, "hourly"), (1.0, "hourly"), (0.95, "annual")])
def test_same_least_cost_as_pypsa(target: float, mode: str) -> None:
    pytest.importorskip("pypsa")
    # the PyPSA formulation lives with the benchmark, which runs it on 8,760 hours
    from benchmarks.procurement import build_pypsa, solve_pypsa

    p = week_problem()
    ours = solve_procurement(p, target, mode)  # type: ignore[arg-type]
    network = build_pypsa(p, target, mode)  # type: ignore[arg-type]
    theirs = solve_pypsa(network, mode)  # type: ignore[arg-type]
    assert ours.total_cost_cny == pytest.approx(theirs, rel=1e-3)
    # and the same capacities, where the optimum is unique enough to say so
    assert ours.battery_mwh == pytest.approx(
        float(network.stores.at["battery", "e_nom_opt"]), rel=1e-2, abs=1e-3
    )


# --- (5) bad inputs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"pv_mwh_per_kw": np.zeros(3)}, "pv profile has 3 hours, load has 4"),
        ({"wind_mwh_per_mw": np.zeros(5)}, "wind profile has 5 hours, load has 4"),
        ({"solar_mwh_per_mw": np.array([0, -1.0, 0, 0])}, "solar profile is negative at hour 1"),
        ({"load_mwh": np.array([1.0, np.nan, 1, 1])}, "load is missing or infinite at hour 1"),
        ({"pv_mwh_per_kw": np.array([0, 0.8, 0, 0])}, "pv profile is 0.8 at hour 1, above 0.001"),
        ({"grid_cfe_share": 1.5}, "grid CFE share is 1.5 at hour 0, above 1"),
        ({"grid_cfe_share": np.zeros(2)}, "grid CFE share has 2 hours, load has 4"),
        ({"load_mwh": np.zeros(4)}, "load is zero in every hour"),
        ({"costs": costs(pv_lifetime_years=0.0)}, "costs.pv_lifetime_years is 0.0"),
        ({"costs": costs(wind_price_cny_per_mwh=-1.0)}, "costs.wind_price_cny_per_mwh is -1.0"),
        (
            {"costs": costs(battery_round_trip_efficiency_share=85.0)},
            "battery_round_trip_efficiency_share is 85.0; it must be in (0, 1]",
        ),
        ({"costs": costs(discount_rate_share=6.0)}, "costs.discount_rate_share is 6.0"),
        ({"costs": costs(grid_price_cny_per_mwh=np.ones(3))}, "grid price has 3 hours"),
        ({"limits": ProcurementLimits(pv_max_kw=-1.0)}, "limits.pv_max_kw is -1.0"),
    ],
)
def test_bad_input_is_named(change: dict[str, object], message: str) -> None:
    p = dataclasses.replace(problem([1.0] * 4), **change)  # type: ignore[arg-type]
    with pytest.raises(ProcurementError, match=message.replace("(", r"\(").replace(")", r"\)")):
        solve_procurement(p, 0.5)


@pytest.mark.parametrize(
    ("target", "mode", "message"),
    [(1.2, "hourly", "target 1.2 is not a share"), (0.5, "daily", "mode 'daily' is not one of")],
)
def test_bad_target_or_mode(target: float, mode: str, message: str) -> None:
    with pytest.raises(ProcurementError, match=message):
        solve_procurement(problem([1.0]), target, mode)  # type: ignore[arg-type]


# --- (6) an unreachable target -------------------------------------------------------------


def test_unreachable_target_says_so_in_plain_words() -> None:
    # load 1 MWh in each of 2 hours; wind at most 0.5 MW producing 1 MWh/MW in hour 0 only;
    # no battery allowed; grid carbon-free share 0.2. Best: hour 0 clean (0.5 wind + 0.5 grid
    # x 0.2 = 0.6), hour 1 grid (0.2): (0.6 + 0.2) / 2 = 0.4.
    p = problem(
        [1.0, 1.0],
        wind=[1.0, 0.0],
        grid_cfe_share=0.2,
        limits=ProcurementLimits(
            wind_max_mw=0.5, pv_max_kw=0.0, solar_max_mw=0.0, battery_max_mwh=0.0
        ),
    )
    with pytest.raises(ProcurementError) as error:
        solve_procurement(p, 1.0)
    text = str(error.value)
    assert "24/7 CFE score of 1 cannot be reached" in text
    assert "the best reachable is 0.4000" in text
    assert "infeasible" not in text.lower()
    # annual matching: at most 0.5 MWh of 2 -> 0.25
    with pytest.raises(ProcurementError, match=r"annual clean-energy share of 0\.5 .* 0\.2500"):
        solve_procurement(p, 0.5, mode="annual")

"""Marginal abatement cost curves (MACC), bottom-up and from the model.

**Bottom-up** (:func:`bottom_up_macc`): for one year, each lever's levelised cost of abatement
[CNY/tCO2e] (the bar's height) and the emissions it can abate that year [tCO2e] (its width).
Costs are net of the electricity a lever saves at the site's grid price, so efficiency and
on-site PV can cost less than nothing. Levers that act on the same electricity take it in
order of cost (cheapest first, per site), so a MWh is abated once: efficiency and PV lower the
purchase that contracts and certificates can then cover, and certificates take at most the
project's share of green electricity. Offsets abate nothing and are left out.

**Model-derived** (:func:`model_macc`): the roadmap LP solved with no targets and a cap on the
year's gross emissions (scopes 1-3), for a series of caps; the marginal abatement cost at each
cap is the dual of the cap constraint, undiscounted to that year [CNY/tCO2e]. It accounts for
every interaction, ramp and potential in the model; it stops at the deepest cut the levers can
reach.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from tanlu.errors import TanluError
from tanlu.finance import capital_recovery_factor
from tanlu.roadmap.baseline import reduction_rows
from tanlu.roadmap.levers import EFFICIENCY_LEVERS, FUEL_LEVERS, fleet_coefficients, saving_share
from tanlu.roadmap.model import BuiltRoadmap, RoadmapProblem, build_roadmap_model, move_emission_cap
from tanlu.roadmap.plan import solve_built_roadmap

MACC_COLUMNS = [
    "lever",
    "abatement_tco2e",
    "cost_cny_per_tco2e",
    "annual_cost_cny",
    "cumulative_tco2e",
]
DEFAULT_SHARES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0)


def bottom_up_macc(problem: RoadmapProblem, year: int | None = None) -> pd.DataFrame:
    """Each lever's levelised cost and abatement in one year, cheapest first.

    Parameters
    ----------
    problem
        The roadmap problem (its baseline, levers and basis).
    year
        A planned year (default: the last).

    Returns
    -------
    pandas.DataFrame
        ``lever, abatement_tco2e, cost_cny_per_tco2e, annual_cost_cny, cumulative_tco2e``.
    """
    baseline, levers = problem.baseline, problem.levers
    year = year if year is not None else baseline.years[-1]
    if year not in baseline.years:
        raise TanluError(f"{year} is not a planned year ({baseline.years[0]}-{baseline.years[-1]})")
    sites = baseline.sites.set_index("site")
    electricity = baseline.electricity.loc[baseline.electricity["year"] == year].set_index("site")
    electricity = electricity.reindex(sites.index).fillna(0.0)
    own = (sites["scope"] == 2).to_numpy()
    factor = np.where(
        own & (problem.scope2_basis == "location"),
        electricity["location_factor_tco2e_per_mwh"],
        electricity["residual_factor_tco2e_per_mwh"],
    )
    price = electricity["grid_price_cny_per_mwh"].to_numpy()
    demand = electricity["purchased_mwh"].to_numpy()
    rate = levers.general["discount_rate_share"]

    def allowed(lever: str) -> np.ndarray:
        """Sites the lever may act at (not in ``lever_excluded_sites``)."""
        return np.asarray(~sites.index.isin(sorted(levers.excluded(lever))), dtype=bool)

    # Electricity levers per site: potential [MWh] and net cost [CNY/MWh].
    options: list[tuple[str, np.ndarray, np.ndarray]] = []
    for lever, kind in EFFICIENCY_LEVERS.items():
        if not levers.enabled(lever):
            continue
        params = levers.values[lever]
        share = saving_share(lever, params)
        applies = own & (sites["kind"] == kind).to_numpy() & allowed(lever)
        options.append(
            (
                lever,
                np.where(applies, share * demand, 0.0),
                params["levelised_cost_cny_per_mwh"] - price,
            )
        )
    if levers.enabled("onsite_pv"):
        params = levers.values["onsite_pv"]
        annuity = (
            params["capex_cny_per_kw"] * capital_recovery_factor(rate, params["lifetime_years"])
            + params["fixed_om_cny_per_kw_year"]
        )
        yield_mwh = params["yield_mwh_per_kw_year"]
        potential = np.where(
            own & allowed("onsite_pv"), sites["pv_potential_kw"].to_numpy() * yield_mwh, 0.0
        )
        options.append(("onsite_pv", potential, annuity / yield_mwh - price))
    unlimited = np.full(len(demand), np.inf)
    # contracts and certificates lower market-based scope 2 and leased assets' category 8 only:
    # on the location basis they abate nothing at own sites
    buys = ~own if problem.scope2_basis == "location" else np.ones(len(demand), dtype=bool)
    if levers.enabled("green_power_contract"):
        premium = levers.values["green_power_contract"]["premium_cny_per_mwh"]
        options.append(
            (
                "green_power_contract",
                np.where(buys & allowed("green_power_contract"), unlimited, 0.0),
                np.full(len(demand), premium),
            )
        )
    if levers.enabled("gec"):
        gec_price = levers.values["gec"]["price_cny_per_mwh"]
        cap = np.where(buys & allowed("gec"), problem.max_certificate_share_of_green * demand, 0.0)
        options.append(("gec", cap, np.full(len(demand), gec_price)))

    def average_cost(potential: np.ndarray, cost: np.ndarray) -> float:
        usable = np.minimum(potential, demand) * factor
        return (
            float((np.minimum(potential, demand) * cost).sum() / usable.sum())
            if usable.sum()
            else np.inf
        )

    rows = []
    pool = demand.astype("float64").copy()
    for lever, potential, cost in sorted(options, key=lambda o: average_cost(o[1], o[2])):
        taken = np.minimum(potential, pool)
        pool = pool - taken
        abated = float((taken * factor).sum())
        if abated <= 0:
            continue
        spent = float((taken * cost).sum())
        rows.append({"lever": lever, "abatement_tco2e": abated, "annual_cost_cny": spent})

    if levers.enabled("fleet_electrification"):
        # diesel cut less the chargers' grid electricity (at the site's factor and price)
        params = levers.values["fleet_electrification"]
        fuels = baseline.fuels
        fleet = fuels.loc[
            (fuels["activity"] == FUEL_LEVERS["fleet_electrification"]) & (fuels["year"] == year)
        ]
        fleet = fleet.groupby("site")[["fuel_l", "emissions_tco2e"]].sum().reindex(sites.index)
        fleet_share = np.where(
            own & allowed("fleet_electrification"), params["reduction_share_max"], 0.0
        )
        litres = fleet["fuel_l"].fillna(0.0).to_numpy() * fleet_share
        per_litre = fleet_coefficients(params, rate)
        charged = litres * per_litre.mwh_per_l
        abated = float(
            (fleet["emissions_tco2e"].fillna(0.0).to_numpy() * fleet_share - charged * factor).sum()
        )
        if abated > 0:
            spent = float((litres * per_litre.cost_cny_per_l + charged * price).sum())
            rows.append(
                {
                    "lever": "fleet_electrification",
                    "abatement_tco2e": abated,
                    "annual_cost_cny": spent,
                }
            )

    for lever, (scope, categories) in levers.reductions.items():
        if not levers.enabled(lever):
            continue
        params = levers.values[lever]
        stream = reduction_rows(baseline, lever, scope, categories)
        stream = stream.loc[~stream["site"].isin(levers.excluded(lever))]
        stream = stream.loc[stream["year"] == year]
        abated = float(stream["emissions_tco2e"].sum()) * params["reduction_share_max"]
        if abated > 0:
            rows.append(
                {
                    "lever": lever,
                    "abatement_tco2e": abated,
                    "annual_cost_cny": abated * params["cost_cny_per_tco2e"],
                }
            )
    table = pd.DataFrame(rows, columns=["lever", "abatement_tco2e", "annual_cost_cny"])
    table["cost_cny_per_tco2e"] = table["annual_cost_cny"] / table["abatement_tco2e"]
    table = table.sort_values("cost_cny_per_tco2e", kind="stable").reset_index(drop=True)
    table["cumulative_tco2e"] = table["abatement_tco2e"].cumsum()
    return table[MACC_COLUMNS]


def model_macc(
    problem: RoadmapProblem, shares: Sequence[float] = DEFAULT_SHARES, year: int | None = None
) -> pd.DataFrame:
    """Marginal abatement cost from the LP's duals, swept over caps on one year's emissions.

    Parameters
    ----------
    problem
        The roadmap problem; its targets are set aside, offsets are not used.
    shares
        Cuts from the baseline's gross emissions of ``year`` [0..1], ascending.
    year
        A planned year (default: the last).

    Returns
    -------
    pandas.DataFrame
        One row per cut the levers can reach: ``reduction_share, cap_tco2e, abatement_tco2e,
        marginal_cost_cny_per_tco2e, net_discounted_cost_cny``.
    """
    baseline = problem.baseline
    year = year if year is not None else baseline.years[-1]
    base = float(baseline.gross_tco2e([1, 2, 3], problem.scope2_basis).loc[year])
    index = baseline.years.index(year)
    rows = []
    built: BuiltRoadmap | None = None
    for share in shares:
        cap = base * (1.0 - share)
        if built is None:
            built = build_roadmap_model(replace(problem, targets=[], emission_cap=(year, cap)))
        else:
            # the same model but for the cap's right-hand side: moved, not built again
            move_emission_cap(built, year, cap)
        quiet = logging.getLogger("linopy")
        level = quiet.level
        quiet.setLevel(logging.ERROR)  # an infeasible cap is expected: the curve ends there
        try:
            solve_built_roadmap(built)
        except TanluError:
            break  # deeper than the levers can cut: the curve ends here
        finally:
            quiet.setLevel(level)
        dual = float(built.model.constraints["emission_cap"].dual.values.ravel()[0])
        discount = float(built.discount.values[index])
        gross = (
            built.value("scope1")[index]
            + built.value(f"scope2_{problem.scope2_basis}")[index]
            + built.value("scope3")[index]
        )
        rows.append(
            {
                "reduction_share": share,
                "cap_tco2e": cap,
                "abatement_tco2e": base - gross,
                "marginal_cost_cny_per_tco2e": max(0.0, -dual / discount),
                "net_discounted_cost_cny": float(built.model.objective.value),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "reduction_share",
            "cap_tco2e",
            "abatement_tco2e",
            "marginal_cost_cny_per_tco2e",
            "net_discounted_cost_cny",
        ],
    )

"""Roadmap LP benchmark: 1,000 sites x 10 years x 12 levers, model build and solve timed apart.

Target (issue 4): under 60 s in total on 2 cores, with building the model under 20% of it. The
problem is synthetic but built from the same types the projects use (a Baseline, the bundled
lever defaults, tanlu.toml targets): 60% data centres, 30% offices, 10% leased colocation halls;
every site has refrigerant, fleet and back-up diesel, purchased-goods, capital-goods and
travel streams; eleven bundled levers plus one custom one (12); targets are carbon
neutrality of scopes 1-3 and 100% green electricity in the last year, and the SBTi linear path
for scopes 1 and 2. Deterministic (seeded).
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import pandas as pd

from tanlu.project import RoadmapSettings, Target, TargetKind
from tanlu.roadmap.baseline import FUEL_COLUMNS, Baseline
from tanlu.roadmap.levers import select_levers
from tanlu.roadmap.model import RoadmapProblem, build_roadmap_model
from tanlu.roadmap.plan import solve_built_roadmap

SITES = 1_000
YEARS = 10
FROM_YEAR = 2024
TARGET_SECONDS = 60.0
TARGET_BUILD_SHARE = 0.2
# The one lever without a sourced default is given here as in the example project
# (examples/internet-company/tanlu.toml): assumptions of the benchmark, not data.
SUPPLIER_ENGAGEMENT = {
    "reduction_share_max": 0.9,
    "ramp_share_per_year": 0.15,
    "cost_cny_per_tco2e": 100,
}
# One custom lever (tanlu.toml [roadmap.custom_levers]) brings the count to the 12:
# synthetic figures for the benchmark only.
CUSTOM_LEVERS = {
    "travel_policy": {
        "scope": 3,
        "categories": ["cat6_business_travel"],
        "reduction_share_max": 0.3,
        "ramp_share_per_year": 0.1,
        "cost_cny_per_tco2e": 50,
        "source": "synthetic benchmark figure",
    },
}


def make_problem(sites: int = SITES, years: int = YEARS) -> RoadmapProblem:
    """A synthetic roadmap problem of ``sites`` sites and ``years`` planned years."""
    rng = np.random.default_rng(20261124)
    names = [f"s{i:05d}" for i in range(sites)]
    kinds = rng.choice(["data_centre", "office", "colo"], size=sites, p=[0.6, 0.3, 0.1])
    scope = np.where(kinds == "colo", 3, 2)
    kind = np.where(kinds == "colo", "data_centre", kinds)
    planned = list(range(FROM_YEAR + 1, FROM_YEAR + 1 + years))
    demand0 = np.where(
        kind == "data_centre", rng.uniform(2e4, 4e5, sites), rng.uniform(5e2, 3e4, sites)
    )
    growth = np.where(kind == "data_centre", 0.10, 0.0)
    factor = rng.uniform(0.1, 0.8, sites)
    price = rng.uniform(450, 650, sites)
    pv_mwh = np.where(scope == 2, demand0 * rng.uniform(0, 0.02, sites), 0.0)
    rows = []
    for step, year in enumerate(planned, start=1):
        consumption = demand0 * (1 + growth) ** step
        rows.append(
            pd.DataFrame(
                {
                    "site": names,
                    "year": year,
                    "scope": scope,
                    "consumption_mwh": consumption,
                    "existing_pv_mwh": pv_mwh,
                    "purchased_mwh": consumption - pv_mwh,
                    "location_factor_tco2e_per_mwh": factor,
                    "residual_factor_tco2e_per_mwh": np.where(scope == 2, 0.5856, factor),
                    "grid_price_cny_per_mwh": price,
                }
            )
        )
    electricity = pd.concat(rows, ignore_index=True)
    streams = []
    for category, scope_of, share in (
        ("fugitive", 1, 0.002),
        ("mobile_combustion", 1, 0.003),
        ("stationary_combustion", 1, 0.002),
        ("cat1_purchased_goods_services", 3, 0.02),
        ("cat2_capital_goods", 3, 0.3),
        ("cat6_business_travel", 3, 0.01),
    ):
        base = demand0 * 0.55 * share
        for step, year in enumerate(planned, start=1):
            streams.append(
                pd.DataFrame(
                    {
                        "site": names,
                        "scope": scope_of,
                        "category": category,
                        "year": year,
                        "emissions_tco2e": base * (1 + growth) ** step,
                    }
                )
            )
    # the fleet and back-up streams are diesel: litres at 3.0959 tCO2/t x 0.8299 t/m3 (the
    # bundled China factor and density) = 2.5693 kg CO2 a litre
    fuels = [
        frame.loc[frame["category"] == category].assign(
            activity=activity, fuel_l=lambda f: f["emissions_tco2e"] / 2.5693e-3
        )
        for frame in streams
        for category, activity in (
            ("mobile_combustion", "diesel_mobile"),
            ("stationary_combustion", "diesel_stationary"),
        )
    ]
    site_table = pd.DataFrame(
        {
            "site": names,
            "kind": kind,
            "scope": scope,
            "growth_share_per_year": growth,
            "pv_potential_kw": np.where(scope == 2, demand0 * 0.02, 0.0),
        }
    )
    first = electricity.loc[electricity["year"] == planned[0]]
    scope2 = float(
        (
            first["purchased_mwh"] * first["residual_factor_tco2e_per_mwh"] * (first["scope"] == 2)
        ).sum()
    )
    base_year = {
        "scope1": float(demand0.sum() * 0.55 * 0.007),
        "scope2_location": scope2,
        "scope2_market": scope2,
        "scope3": float(demand0.sum() * 0.55 * 0.33),
    }
    baseline = Baseline(
        FROM_YEAR,
        planned,
        site_table,
        electricity,
        pd.concat(streams),
        base_year,
        fuels=pd.concat(fuels, ignore_index=True)[FUEL_COLUMNS],
    )
    settings = RoadmapSettings.model_validate(
        {"levers": {"supplier_engagement": SUPPLIER_ENGAGEMENT}, "custom_levers": CUSTOM_LEVERS}
    )
    levers = select_levers(settings, "benchmark settings")
    last = planned[-1]
    targets = [
        Target(kind=TargetKind.CARBON_NEUTRAL, year=last, scopes=[1, 2, 3]),
        Target(kind=TargetKind.GREEN_ELECTRICITY, year=last, share=1.0),
        Target(kind=TargetKind.ABSOLUTE_REDUCTION, year=last, scopes=[1, 2]),
    ]
    return RoadmapProblem(
        baseline=baseline,
        levers=levers,
        targets=targets,
        base_year=FROM_YEAR - 1,
        max_certificate_share_of_green=0.3,
    )


def run(repeat: int = 3, sites: int = SITES, years: int = YEARS) -> dict[str, float]:
    """Median build and solve seconds of ``repeat`` runs (each a fresh model)."""
    problem = make_problem(sites, years)
    builds, solves, variables, constraints = [], [], 0, 0
    for _ in range(repeat):
        began = time.perf_counter()
        built = build_roadmap_model(problem)
        builds.append(time.perf_counter() - began)
        solves.append(solve_built_roadmap(built))
        variables = int(built.model.nvars)
        constraints = int(built.model.ncons)
    build = statistics.median(builds)
    solve = statistics.median(solves)
    return {
        "sites": float(sites),
        "years": float(years),
        "levers": float(sum(1 for lever in problem.levers.names if problem.levers.enabled(lever))),
        "variables": float(variables),
        "constraints": float(constraints),
        "build_seconds": build,
        "solve_seconds": solve,
        "total_seconds": build + solve,
        "build_share": build / (build + solve),
    }

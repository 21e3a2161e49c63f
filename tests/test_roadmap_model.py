"""The roadmap LP's structure: which define_* family adds which variables and constraints.

The binding-constraints table and the model-derived MACC read the constraints by name, and the
order of the families fixes the labels; this pins both on the example project, with a few rows
(terms and right-hand side) checked by hand, since the model assembles them from numpy arrays.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import tanlu
from tanlu.errors import TanluError
from tanlu.roadmap.levers import saving_share
from tanlu.roadmap.model import (
    BuiltRoadmap,
    RoadmapProblem,
    _site_year,
    build_roadmap_model,
)
from tanlu.roadmap.plan import roadmap_problem

EXAMPLE = Path(__file__).parents[1] / "examples" / "internet-company"


@pytest.fixture(scope="module")
def example() -> tuple[RoadmapProblem, BuiltRoadmap]:
    problem = roadmap_problem(tanlu.load_project(EXAMPLE))
    return problem, build_roadmap_model(problem)


def test_example_model_has_each_family_in_order_with_its_names(
    example: tuple[RoadmapProblem, BuiltRoadmap],
) -> None:
    _, built = example
    model = built.model
    # planned from 2022: 2023-2030 (8 years); 16 sites with electricity, 13 with streams
    assert built.years == list(range(2023, 2031))
    members = {
        name: [str(m) for m in model.variables[name].labels.coords["member"].values]
        for name in model.variables
    }
    assert members == {
        # define_efficiency_levers, define_onsite_pv, define_fleet_electrification,
        # define_green_power_purchases
        "site_lever": [
            "building_efficiency",
            "pue_improvement",
            "onsite_pv",
            "fleet_electrification",
            "green_power_contract",
            "gec",
        ],
        # define_reduction_levers
        "stream_lever": ["backup_fuel_switch", "low_gwp_refrigerant", "supplier_engagement"],
        # define_offsets
        "offset": ["offset_avoidance", "offset_removal"],
        # define_target_constraints (3 [[targets]]), define_trajectory_constraints
        "shortfall": ["shortfall_0", "shortfall_1", "shortfall_2", "shortfall_trajectory_fall"],
    }
    counts = {name: int(model.constraints[name].labels.size) for name in model.constraints}
    assert counts == {
        # 4 cumulative site levers x 16 sites x 8 years = 512; only PV's ramp is below its
        # bound: 1 x 16 x 8 = 128
        "site_lever_no_retirement": 512,
        "site_lever_ramp": 128,
        # 3 reduction levers x 13 stream sites x 8 years = 312; supplier engagement's ramp
        # (0.15 a year) is below its bound: 13 x 8 = 104
        "stream_lever_no_retirement": 312,
        "stream_lever_ramp": 104,
        # contracts: a floor every year (8), the bundled ramp in the first year (1) and from
        # the second on (7); certificates: the ramp alone
        "green_power_contract_floor": 8,
        "green_power_contract_ramp_share_of_purchase_first": 1,
        "green_power_contract_ramp_share_of_purchase": 7,
        "gec_ramp_share_of_purchase_first": 1,
        "gec_ramp_share_of_purchase": 7,
        # define_purchase_constraints: 16 sites x 8 years, then one a year
        "within_purchase": 128,
        "certificate_share": 8,
        # define_offsets: one a year each
        "offset_cap": 8,
        "offsets_residual_only": 8,
        # carbon neutral from 2030 only (1 year); 100% green and the SBTi path every year
        "target_0": 1,
        "target_1": 8,
        "target_2": 8,
        # the trajectory: from the second planned year (7); the rising green share not in 2030,
        # when the 100% green target already holds it (6)
        "trajectory_green_share": 6,
        "trajectory_fall": 7,
    }
    # the families add their constraints in this order (it fixes the labels)
    assert list(counts) == [
        "site_lever_no_retirement",
        "site_lever_ramp",
        "stream_lever_no_retirement",
        "stream_lever_ramp",
        "green_power_contract_floor",
        "green_power_contract_ramp_share_of_purchase_first",
        "green_power_contract_ramp_share_of_purchase",
        "gec_ramp_share_of_purchase_first",
        "gec_ramp_share_of_purchase",
        "within_purchase",
        "certificate_share",
        "offset_cap",
        "offsets_residual_only",
        "target_0",
        "target_1",
        "target_2",
        "trajectory_green_share",
        "trajectory_fall",
    ]


def constraint_row(model: Any, name: str, **where: Any) -> tuple[dict[int, float], float]:
    """One row of a constraint family: ``{variable label: coefficient}`` and its right side."""
    data = model.constraints[name].data.sel(where)
    terms: dict[int, float] = {}
    for label, coefficient in zip(
        data["vars"].values.ravel(), data["coeffs"].values.ravel(), strict=True
    ):
        if label >= 0:  # -1: no term (the year before the first)
            terms[int(label)] = terms.get(int(label), 0.0) + float(coefficient)
    return terms, float(data["rhs"])


def test_example_model_rows_by_hand(example: tuple[RoadmapProblem, BuiltRoadmap]) -> None:
    """The rows the model assembles from label and coefficient arrays, against the baseline and
    the bundled lever values (docs/roadmap.md, "The model")."""
    problem, built = example
    model = built.model
    labels = model.variables["site_lever"].labels
    sites = [str(site) for site in problem.baseline.sites["site"]]
    purchased = problem.baseline.electricity.set_index(["site", "year"])["purchased_mwh"]
    params = problem.levers.values

    def lever(member: str, site: str, year: int) -> int:
        return int(labels.sel(member=member, site=site, year=year))

    # on-site PV at dc_qingyuan: 8,000 kWp of roof x 0.92 a year (data/levers.csv) = 7,360 kWp
    # more a year; in the first planned year from nothing
    assert params["onsite_pv"]["ramp_share_per_year"] == 0.92
    terms, rhs = constraint_row(
        model, "site_lever_ramp", member="onsite_pv", site="dc_qingyuan", year=2025
    )
    assert terms == {
        lever("onsite_pv", "dc_qingyuan", 2025): 1.0,
        lever("onsite_pv", "dc_qingyuan", 2024): -1.0,
    }
    assert rhs == pytest.approx(7360.0)
    terms, rhs = constraint_row(
        model, "site_lever_ramp", member="onsite_pv", site="dc_qingyuan", year=2023
    )
    assert terms == {lever("onsite_pv", "dc_qingyuan", 2023): 1.0}
    assert rhs == pytest.approx(7360.0)

    # certificates at all 16 sites: at most 0.51 x the year's purchase more than the year
    # before; in 2023 at most the 57,000 MWh held in 2022 + 0.51 x the 2023 purchase
    share = params["gec"]["ramp_share_of_purchase_per_year"]
    assert share == 0.51
    assert problem.held_mwh["gec"] == pytest.approx(57_000.0)
    terms, rhs = constraint_row(model, "gec_ramp_share_of_purchase", year=2025)
    assert terms == {
        **{lever("gec", site, 2025): 1.0 for site in sites},
        **{lever("gec", site, 2024): -1.0 for site in sites},
    }
    assert rhs == pytest.approx(0.51 * purchased.xs(2025, level="year").sum(), rel=1e-12)
    terms, rhs = constraint_row(model, "gec_ramp_share_of_purchase_first", year=2023)
    assert terms == {lever("gec", site, 2023): 1.0 for site in sites}
    assert rhs == pytest.approx(57_000.0 + 0.51 * purchased.xs(2023, level="year").sum(), rel=1e-12)

    # within the purchase at dc_qingyuan in 2025: each efficiency lever saves its share of the
    # purchase, a kWp of PV 0.9365 MWh, contracts and certificates 1 MWh each; no fleet there
    bought = float(purchased[("dc_qingyuan", 2025)])
    terms, rhs = constraint_row(model, "within_purchase", site="dc_qingyuan", year=2025)
    expected = {
        lever("building_efficiency", "dc_qingyuan", 2025): saving_share(
            "building_efficiency", params["building_efficiency"]
        )
        * bought,
        lever("pue_improvement", "dc_qingyuan", 2025): saving_share(
            "pue_improvement", params["pue_improvement"]
        )
        * bought,
        lever("onsite_pv", "dc_qingyuan", 2025): 0.9365,
        lever("fleet_electrification", "dc_qingyuan", 2025): 0.0,
        lever("green_power_contract", "dc_qingyuan", 2025): 1.0,
        lever("gec", "dc_qingyuan", 2025): 1.0,
    }
    assert terms == pytest.approx(expected, rel=1e-12)
    assert rhs == bought


def test_site_year_sums_rows_by_hand() -> None:
    grid = xr.DataArray(
        np.zeros((2, 2)), coords={"site": ["a", "b"], "year": [2025, 2026]}, dims=["site", "year"]
    )
    rows = pd.DataFrame(
        {
            "site": ["a", "a", "b", "b", "c", "a"],
            "year": [2025, 2025, 2026, 2026, 2025, 2024],
            "emissions_tco2e": [1.5, 2.0, np.nan, 4.0, 8.0, 16.0],
        }
    )
    # a in 2025: 1.5 + 2.0 = 3.5; b in 2026: NaN counts as 0, + 4.0 = 4.0; site c and the year
    # 2024 are not on the grid: left out
    table = _site_year(rows, "emissions_tco2e", grid)
    assert table.dims == ("site", "year")
    assert table.values.tolist() == [[3.5, 0.0], [0.0, 4.0]]
    # one row per cell (nothing to add up): b's NaN alone is 0
    single = _site_year(rows.iloc[[0, 2]], "emissions_tco2e", grid)
    assert single.values.tolist() == [[1.5, 0.0], [0.0, 0.0]]


def test_a_duplicated_baseline_electricity_row_is_refused(
    example: tuple[RoadmapProblem, BuiltRoadmap],
) -> None:
    problem, _ = example
    electricity = problem.baseline.electricity
    again = electricity.loc[(electricity["site"] == "dc_qingyuan") & (electricity["year"] == 2025)]
    doubled = replace(problem.baseline, electricity=pd.concat([electricity, again]))
    with pytest.raises(TanluError, match="2 electricity rows for site dc_qingyuan in 2025"):
        build_roadmap_model(replace(problem, baseline=doubled))

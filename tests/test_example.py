"""The bundled example lands within 5% of the published 2021 totals (docs/example-calibration)."""

from __future__ import annotations

from pathlib import Path

import pytest

import tanlu
from tanlu.roadmap.plan import RoadmapResult

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "internet-company"

# Published 2021 figures of the organisation in the seed (shared/reference/README.md, status S:
# the carbon-neutrality targets and roadmap report of 24 Feb 2022) [tCO2e]
PUBLISHED_2021 = {"scope1": 19_000, "scope2": 2_349_000, "scope3": 2_743_000}


@pytest.fixture(scope="module")
def result_2021() -> tanlu.InventoryResult:
    return tanlu.calculate_inventory(tanlu.load_project(EXAMPLE), 2021)


def test_example_is_within_5_percent_of_the_published_scopes(
    result_2021: tanlu.InventoryResult,
) -> None:
    assert result_2021.scope1_tco2e == pytest.approx(PUBLISHED_2021["scope1"], rel=0.05)
    assert result_2021.scope2_location_tco2e == pytest.approx(PUBLISHED_2021["scope2"], rel=0.05)
    assert result_2021.scope3_tco2e == pytest.approx(PUBLISHED_2021["scope3"], rel=0.05)
    total = result_2021.scope1_tco2e + result_2021.scope2_location_tco2e + result_2021.scope3_tco2e
    assert result_2021.total_location_tco2e == pytest.approx(total, rel=1e-12)


def test_example_uses_every_file_format_and_reports_fallbacks(
    result_2021: tanlu.InventoryResult,
) -> None:
    files = {Path(f).suffix for f in result_2021.lines["source_file"]}
    assert {".csv", ".xlsx"} <= files
    assert not result_2021.fallbacks.empty
    leased = result_2021.by_category.set_index("category").loc["cat8_upstream_leased_assets"]
    assert float(leased["emissions_tco2e"]) > 0


def test_example_2022_allocates_the_published_green_power_contracts() -> None:
    result = tanlu.calculate_inventory(tanlu.load_project(EXAMPLE), 2022)
    contracts = result.scope2_market.allocations
    green = contracts.loc[contracts["kind"] == "green_power_contract", "allocated_mwh"].sum()
    # six green-power contracts for 2022: 504 GWh (shared/reference/README.md, status S)
    assert green == pytest.approx(504_000, rel=1e-9)
    assert result.scope2_market_tco2e < result.scope2_location_tco2e


def test_example_electricity_agrees_with_the_inventory() -> None:
    from tanlu.electricity.matching import calculate_electricity

    project = tanlu.load_project(EXAMPLE)
    inventory = tanlu.calculate_inventory(project, 2022, check_base_year=False)
    electricity = calculate_electricity(project, 2022, hourly=True, inventory=inventory)
    totals = electricity.totals
    market = inventory.scope2_market.by_site
    assert totals["market_tco2e"] == pytest.approx(float(market["market_tco2e"].sum()))
    assert totals["purchased_mwh"] == pytest.approx(float(market["electricity_mwh"].sum()))
    assert totals["onsite_pv_mwh"] > 0  # the data-centre PV of the seed
    # hourly matching never beats annual matching by more than the grid's carbon-free credit
    assert 0 < totals["cfe_score_share"] <= 1
    by_site = electricity.by_site.set_index("site")
    # the headquarters' 2022 meter series shapes its load; the Ulanqab battery stores wind
    assert by_site.at["hq_shenzhen", "load_profile"] == "meter"
    assert by_site.at["dc_ulanqab", "battery_mwh"] > 0
    # RE100: the 2005 wind farm behind GEC-2022-BJ is over 15 years old; the pooled GECs give
    # no commissioning date (20,000 MWh unverified)
    assert totals["re100_unverified_mwh"] == pytest.approx(20_000)
    assert by_site.at["office_beijing", "re100_mwh"] < by_site.at["office_beijing", "green_mwh"]
    assert totals["re100_mwh"] <= totals["green_mwh"]


@pytest.fixture(scope="module")
def example_plan() -> RoadmapResult:
    """The example's roadmap, computed once for the tests that read it."""
    from tanlu.roadmap import calculate_roadmap

    return calculate_roadmap(tanlu.load_project(EXAMPLE))


def test_example_roadmap_meets_the_seed_targets(example_plan: RoadmapResult) -> None:
    plan = example_plan
    by_year = plan.by_year.set_index("year")
    # carbon neutral in operations and supply chain, and 100% green electricity, by 2030
    assert by_year.at[2030, "net_tco2e"] == pytest.approx(0, abs=1e-3)
    assert by_year.at[2030, "green_share"] == pytest.approx(1.0)
    assert plan.targets["met"].all()
    # offsets only as a supplement: at most 10% of the 2021 base year (5.11 Mt)
    base = plan.parameters.set_index("parameter").at["offset_cap_share_of_base_year", "value"]
    offsets = by_year["offset_avoidance_tco2e"] + by_year["offset_removal_tco2e"]
    assert (offsets <= base * 5_111_000 * 1.01).all()
    # green-power contracts grow beyond the 504 GWh of 2022; the Qingyuan roof room is used
    contracts = plan.by_lever.set_index(["lever", "year"]).at[
        ("green_power_contract", 2030), "quantity"
    ]
    assert contracts > 504_000
    assert plan.net_discounted_cost_cny == pytest.approx(plan.objective_cny, rel=1e-6)


def test_example_roadmap_is_a_glide_path_not_a_cliff(example_plan: RoadmapResult) -> None:
    plan = example_plan
    by_year = plan.by_year.set_index("year")
    assert plan.targets["met"].all()
    # the 2021 base year, scopes 1, 2 (market) and 3, from the roadmap's own trajectory row:
    # its bound is 35% of the base year's emissions (about 0.35 x 5.07 Mt = 1.77 Mt)
    rows = plan.targets.loc[plan.targets["target"].str.contains("fall by at most")]
    most = float(rows["bound"].iloc[0])
    base = most / 0.35
    assert 5.0e6 < base < 5.2e6
    # no year's fall in net emissions exceeds 35% of the base year (before: 4.32 Mt -> 0, 85%)
    falls = by_year["net_tco2e"].shift(1) - by_year["net_tco2e"]
    assert (falls.dropna() <= 0.35 * base * (1 + 1e-6)).all()
    # the green share never falls (it reaches 100% before 2030 and stays there)
    shares = by_year["green_share"].to_numpy()
    assert (shares[1:] >= shares[:-1] - 1e-6).all()
    # contracts grow by at most 0.10 of the year's purchase (bundled ramp) above what was held
    binding = plan.binding_constraints
    assert "ramp_share_of_purchase" in set(binding["constraint"])
    assert (binding["shadow_price_cny_per_unit"] > 0).all()

"""The roadmap LP: cases small enough to solve by hand, invariants and plain-language shortfalls."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import tanlu
from tanlu.cli import app
from tanlu.ingest import load_inputs
from tanlu.roadmap import RoadmapInfeasible, RoadmapResult, calculate_roadmap
from tanlu.roadmap import levers as levers_module
from tanlu.roadmap.macc import bottom_up_macc
from tanlu.roadmap.plan import roadmap_problem

from .conftest import MakeProject

# One office in Guangdong, 1,000 MWh a year, planned from 2022 (also the base year). 2022
# market-based residual factor: China's factor excluding market-traded non-fossil power,
# 0.5856 tCO2/MWh (MEE/NBS 2022), so the baseline is 585.6 tCO2e a year. The bundled
# ramps of contracts and certificates (docs/levers.md, "Ramps") are left out of the cases that
# are not about them (fixture below), so that their arithmetic stays one year's.
TOML = """\
[organisation]
name = "Toy"
base_year = 2022
reporting_years = [2022]

[[entities]]
id = "p"
name = "P"

[[sites]]
id = "office"
name = "Office"
entity = "p"
kind = "office"
province = "广东"

{targets}

[roadmap]
{roadmap}

[roadmap.levers.building_efficiency]
enabled = {efficiency}
[roadmap.levers.pue_improvement]
enabled = false
[roadmap.levers.onsite_pv]
enabled = false
[roadmap.levers.green_power_contract]
enabled = {contracts}
[roadmap.levers.gec]
enabled = {gec}
[roadmap.levers.low_gwp_refrigerant]
enabled = false
[roadmap.levers.fleet_electrification]
enabled = false
[roadmap.levers.backup_fuel_switch]
enabled = false
[roadmap.levers.offset_avoidance]
enabled = {offsets}
[roadmap.levers.offset_removal]
enabled = {offsets}
"""
ACTIVITIES = "office,2022-01-01,2022-12-31,electricity,1000,MWh\n"
# The grid price, fixed by the project so the arithmetic does not move with the bundled table.
PRICES = (
    "parameter,region,year,value,unit,status,source,note\n"
    "grid_price_cny_per_mwh,广东,2022,600,CNY/MWh,user,test,\n"
)
RESIDUAL = 0.5856
NEUTRAL_SCOPE2_2024 = '[[targets]]\nkind = "carbon_neutral"\nscopes = [2]\nyear = 2024\n'


BUNDLED_RAMPS = {
    ("green_power_contract", "ramp_share_of_purchase_per_year"),
    ("gec", "ramp_share_of_purchase_per_year"),
}


@pytest.fixture(autouse=True)
def _without_bundled_ramps(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bundled lever table without the contract and certificate ramps, except in the tests
    named ``*bundled_ramp*``."""
    if "bundled_ramp" in request.node.name:
        return
    original = levers_module.read_lever_defaults

    def without(path: Path | None = None) -> pd.DataFrame:
        table = original(path)
        keep = [
            (lever, name) not in BUNDLED_RAMPS
            for lever, name in zip(table["lever"], table["parameter"], strict=True)
        ]
        return table.loc[keep].reset_index(drop=True)

    monkeypatch.setattr(levers_module, "read_lever_defaults", without)


def toy_toml(
    targets: str = NEUTRAL_SCOPE2_2024,
    settings: str = "discount_rate_share = 0.0",
    efficiency: bool = True,
    contracts: bool = False,
    gec: bool = True,
    offsets: bool = False,
) -> str:
    """The one-office project with these targets, [roadmap] settings and levers switched on."""
    return TOML.format(
        targets=targets,
        roadmap=settings,
        efficiency=str(efficiency).lower(),
        contracts=str(contracts).lower(),
        gec=str(gec).lower(),
        offsets=str(offsets).lower(),
    )


def roadmap(
    make_project: MakeProject,
    targets: str = NEUTRAL_SCOPE2_2024,
    efficiency: bool = True,
    contracts: bool = False,
    gec: bool = True,
    offsets: bool = False,
    settings: str = "discount_rate_share = 0.0",
    name: str = "project",
) -> RoadmapResult:
    toml = toy_toml(targets, settings, efficiency, contracts, gec, offsets)
    root = make_project(ACTIVITIES, toml=toml, files={"data/prices.csv": PRICES}, name=name)
    result = calculate_roadmap(tanlu.load_project(root))
    check_invariants(result)
    return result


def check_invariants(result: RoadmapResult) -> None:
    by_year = result.by_year
    # the reported cost is the solver's objective
    assert result.net_discounted_cost_cny == pytest.approx(result.objective_cny, abs=1e-6)
    # every target met every year it applies, and its figures say so
    assert result.targets["met"].all()
    for row in result.targets.itertuples(index=False):
        tolerance = 1e-6 * max(1.0, abs(row.bound))
        if row.unit == "MWh":
            assert row.achieved >= row.bound - tolerance
        else:
            assert row.achieved <= row.bound + tolerance
    # abatement of the levers = baseline - gross, and never above the baseline
    abated = result.by_lever.groupby("year")["abatement_tco2e"].sum()
    for row in by_year.itertuples(index=False):
        assert row.baseline_tco2e - row.gross_tco2e == pytest.approx(
            abated.get(row.year, 0.0), abs=1e-6
        )
        assert abated.get(row.year, 0.0) <= row.baseline_tco2e + 1e-6
        assert row.net_tco2e == pytest.approx(
            row.gross_tco2e - row.offset_avoidance_tco2e - row.offset_removal_tco2e
        )
        assert 0.0 <= row.green_share <= 1.0 + 1e-9


def lever(result: RoadmapResult, name: str, year: int, column: str = "quantity") -> float:
    table = result.by_lever.set_index(["lever", "year"])
    return float(table.at[(name, year), column])


def test_two_levers_by_hand(make_project: MakeProject) -> None:
    result = roadmap(make_project)
    # Efficiency saves 16% (160 MWh) at 354.79 CNY/MWh, and the 600 CNY/MWh it no longer buys:
    # worth doing at once. GECs (5.59 CNY/MWh) cover the other 840 MWh in 2024 only.
    assert lever(result, "building_efficiency", 2023) == pytest.approx(160)
    assert lever(result, "building_efficiency", 2024) == pytest.approx(160)
    assert lever(result, "gec", 2023) == pytest.approx(0, abs=1e-6)
    assert lever(result, "gec", 2024) == pytest.approx(840)
    by_year = result.by_year.set_index("year")
    assert by_year.at[2023, "gross_tco2e"] == pytest.approx(840 * RESIDUAL)
    assert by_year.at[2024, "net_tco2e"] == pytest.approx(0, abs=1e-6)
    # net cost: 2023 160 x 354.79 - 160 x 600 = -39,233.6; 2024 the same + 840 x 5.59
    assert by_year.at[2023, "net_cost_cny"] == pytest.approx(160 * 354.79 - 160 * 600)
    assert by_year.at[2024, "net_cost_cny"] == pytest.approx(160 * 354.79 - 160 * 600 + 840 * 5.59)
    assert result.objective_cny == pytest.approx(2 * (160 * 354.79 - 160 * 600) + 840 * 5.59)
    assert lever(result, "gec", 2024, "abatement_tco2e") == pytest.approx(840 * RESIDUAL)
    # the target's row: scope 2 may count 0 t in 2024, and counts 0
    [row] = result.targets.to_dict("records")
    assert (row["year"], row["bound"], row["met"]) == (2024, 0.0, True)
    assert row["achieved"] == pytest.approx(0, abs=1e-6)


def test_discounting(make_project: MakeProject) -> None:
    result = roadmap(make_project, efficiency=False, settings="discount_rate_share = 0.08")
    # only GECs, in 2024: 1,000 MWh x 5.59, discounted two years to 2022 at 8%
    assert lever(result, "gec", 2024) == pytest.approx(1000)
    assert result.objective_cny == pytest.approx(5590 / 1.08**2)
    assert result.by_year.set_index("year").at[2024, "discounted_cost_cny"] == pytest.approx(
        (600 * 1000 + 5590) / 1.08**2
    )


def test_absolute_reduction_path_by_hand(make_project: MakeProject) -> None:
    target = (
        '[[targets]]\nkind = "absolute_reduction"\nscopes = [2]\nyear = 2024\n'
        "annual_reduction_share = 0.042\n"
    )
    result = roadmap(make_project, targets=target, efficiency=False)
    # limits 585.6 x (1 - 0.042) in 2023 and 585.6 x (1 - 0.084) in 2024: GECs of 4.2% and
    # 8.4% of the 1,000 MWh
    assert lever(result, "gec", 2023) == pytest.approx(42)
    assert lever(result, "gec", 2024) == pytest.approx(84)
    assert result.objective_cny == pytest.approx((42 + 84) * 5.59)


def test_sbti_default_rate(make_project: MakeProject) -> None:
    target = '[[targets]]\nkind = "absolute_reduction"\nscopes = [2]\nyear = 2024\n'
    result = roadmap(make_project, targets=target, efficiency=False)
    # no rate given: the SBTi 1.5 degC rate of 4.2% a year from the bundled lever table
    assert lever(result, "gec", 2024) == pytest.approx(84)
    used = result.parameters.set_index("parameter")
    assert used.at["sbti_linear_reduction_share_per_year", "value"] == pytest.approx(0.042)


def test_green_power_before_certificates(make_project: MakeProject) -> None:
    target = '[[targets]]\nkind = "green_electricity"\nshare = 1.0\nyear = 2024\n'
    result = roadmap(
        make_project,
        targets=target,
        efficiency=False,
        contracts=True,
        settings="discount_rate_share = 0.0\nmax_certificate_share_of_green = 0.5",
    )
    # 1,000 MWh green in 2024, certificates at most half: 500 MWh of GECs at 5.59 and 500 of
    # contracts at a premium of 40
    assert lever(result, "gec", 2024) == pytest.approx(500)
    assert lever(result, "green_power_contract", 2024) == pytest.approx(500)
    assert result.objective_cny == pytest.approx(500 * 5.59 + 500 * 40)
    assert result.by_year.set_index("year").at[2024, "green_share"] == pytest.approx(1.0)


def test_offsets_capped_and_removals_for_net_zero(make_project: MakeProject) -> None:
    # no reduction lever, offsets allowed up to the whole base year: carbon neutral takes the
    # cheaper avoidance credits (63.41), net zero removals only (113.29)
    neutral = roadmap(
        make_project,
        efficiency=False,
        gec=False,
        offsets=True,
        settings="discount_rate_share = 0.0\noffset_cap_share_of_base_year = 1.0",
    )
    by_year = neutral.by_year.set_index("year")
    assert by_year.at[2024, "offset_avoidance_tco2e"] == pytest.approx(1000 * RESIDUAL)
    assert by_year.at[2024, "offset_removal_tco2e"] == pytest.approx(0, abs=1e-6)
    assert neutral.objective_cny == pytest.approx(1000 * RESIDUAL * 63.41)
    net_zero = roadmap(
        make_project,
        targets=NEUTRAL_SCOPE2_2024.replace("carbon_neutral", "net_zero"),
        efficiency=False,
        gec=False,
        offsets=True,
        settings="discount_rate_share = 0.0\noffset_cap_share_of_base_year = 1.0",
        name="net_zero",
    )
    by_year = net_zero.by_year.set_index("year")
    assert by_year.at[2024, "offset_removal_tco2e"] == pytest.approx(1000 * RESIDUAL)
    assert by_year.at[2024, "offset_avoidance_tco2e"] == pytest.approx(0, abs=1e-6)


def test_shortfall_is_explained(make_project: MakeProject) -> None:
    # Efficiency alone (16%) cannot make scope 2 carbon neutral; offsets capped at 10% of the
    # base year (58.56 t): short by 840 x 0.5856 - 58.56 = 433.344 t in 2024
    with pytest.raises(RoadmapInfeasible) as caught:
        roadmap(make_project, gec=False, offsets=True)
    message = str(caught.value)
    assert "carbon neutral in scopes 2 by 2024: in 2024 short by 433 tCO2e" in message
    shortfall = caught.value.shortfalls.iloc[0]
    assert shortfall["shortfall"] == pytest.approx(840 * RESIDUAL - 0.1 * 1000 * RESIDUAL)


def test_cli_roadmap(make_project: MakeProject, tmp_path) -> None:  # type: ignore[no-untyped-def]
    toml = toy_toml()
    root = make_project(ACTIVITIES, toml=toml, files={"data/prices.csv": PRICES})
    out = tmp_path / "out"
    args = ["roadmap", str(root), "--json", "--macc", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["schema"] == "tanlu.roadmap/1"
    assert [bar["lever"] for bar in data["macc"]["bottom_up"]] == ["building_efficiency", "gec"]
    assert (out / "roadmap_default_macc_model.csv").is_file()
    assert data["objective_cny"] == pytest.approx(2 * (160 * 354.79 - 160 * 600) + 840 * 5.59)
    assert (out / "roadmap_default.json").is_file()
    assert (out / "roadmap_default_by_year.csv").is_file()
    table = CliRunner().invoke(app, ["roadmap", str(root)])
    assert table.exit_code == 0, table.output
    assert "building_efficiency" in table.stdout and "2024" in table.stdout


def test_cli_roadmap_infeasible_and_bad_settings(make_project: MakeProject) -> None:
    toml = toy_toml(gec=False)
    root = make_project(ACTIVITIES, toml=toml, files={"data/prices.csv": PRICES})
    result = CliRunner().invoke(app, ["roadmap", str(root)])
    assert result.exit_code == 3
    assert "short by" in result.output and "2024" in result.output
    unknown = CliRunner().invoke(app, ["roadmap", str(root), "--scenario", "moon"])
    assert unknown.exit_code == 1
    assert "unknown scenario 'moon'" in unknown.output


def test_scenario_overrides(make_project: MakeProject) -> None:
    settings = (
        "\n[roadmap.scenarios.costly_certificates]\nlevers = { gec = { price_cny_per_mwh = 50 } }\n"
    )
    toml = toy_toml(efficiency=False)
    toml = toml.replace(
        "[roadmap.levers.building_efficiency]",
        settings.strip() + "\n\n[roadmap.levers.building_efficiency]",
        1,
    )
    root = make_project(ACTIVITIES, toml=toml, files={"data/prices.csv": PRICES})
    project = tanlu.load_project(root)
    plain = calculate_roadmap(project)
    costly = calculate_roadmap(project, "costly_certificates")
    assert plain.objective_cny == pytest.approx(1000 * 5.59)
    assert costly.objective_cny == pytest.approx(1000 * 50)
    assert costly.scenario == "costly_certificates"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ("[roadmap.levers.teleport]\nenabled = true", "roadmap.levers.teleport: unknown lever"),
        (
            "[roadmap.levers.gec]\nprice_cny_per_mwh = -3",
            "roadmap.levers.gec.price_cny_per_mwh: -3 is negative",
        ),
        (
            "[roadmap.levers.gec]\nwarp_factor = 3",
            "roadmap.levers.gec.warp_factor: unknown parameter",
        ),
        # parameters of other levers are not silently ignored
        (
            "[roadmap.levers.gec]\nramp_share_per_year = 0.1",
            "roadmap.levers.gec.ramp_share_per_year: unknown parameter",
        ),
        (
            "[roadmap.levers.gec]\nreduction_share_max = 0.5",
            "roadmap.levers.gec.reduction_share_max: unknown parameter",
        ),
        (
            "[roadmap.levers.gec]\nmin_mwh_per_year = 5\nmax_mwh_per_year = 4",
            "min_mwh_per_year 5 is above max_mwh_per_year 4",
        ),
    ],
)
def test_bad_lever_settings(make_project: MakeProject, settings: str, message: str) -> None:
    toml = toy_toml()
    toml = toml.replace("[roadmap.levers.gec]\nenabled = true\n", "") + "\n" + settings + "\n"
    root = make_project(ACTIVITIES, toml=toml, files={"data/prices.csv": PRICES})
    with pytest.raises(tanlu.ProjectError) as caught:
        calculate_roadmap(tanlu.load_project(root))
    assert "tanlu.toml" in str(caught.value) and message in str(caught.value)


def test_no_targets(make_project: MakeProject) -> None:
    toml = toy_toml(targets="", settings="")
    root = make_project(ACTIVITIES, toml=toml)
    with pytest.raises(tanlu.ProjectError, match="no \\[\\[targets\\]\\]"):
        calculate_roadmap(tanlu.load_project(root))


def test_leased_assets_take_green_power_in_scope_3(make_project: MakeProject) -> None:
    # A colocation hall in Beijing run by a landlord: its 500 MWh are scope 3 category 8 at the
    # Beijing 2022 factor; GECs bought for it lower category 8, not the own green share.
    colo = (
        '[[entities]]\nid = "landlord"\nname = "Landlord"\noperational_control = false\n\n'
        '[[sites]]\nid = "colo"\nname = "Colo"\nentity = "landlord"\nkind = "data_centre"\n'
        'province = "北京"\nleased = true\n'
    )
    toml = toy_toml(targets='[[targets]]\nkind = "carbon_neutral"\nscopes = [3]\nyear = 2024\n')
    toml = toml.replace("{targets}", "").replace("\n[[targets]]", "\n" + colo + "\n[[targets]]", 1)
    rows = ACTIVITIES + "colo,2022-01-01,2022-12-31,electricity,500,MWh\n"
    root = make_project(rows, toml=toml, files={"data/prices.csv": PRICES})
    result = calculate_roadmap(tanlu.load_project(root))
    check_invariants(result)
    assert lever(result, "gec", 2024) == pytest.approx(500)
    by_year = result.by_year.set_index("year")
    assert by_year.at[2023, "scope3_tco2e"] == pytest.approx(500 * 0.558, rel=1e-3)
    assert by_year.at[2024, "scope3_tco2e"] == pytest.approx(0, abs=1e-6)
    # the own office's green share is untouched by GECs bought for the colocation hall
    assert by_year.at[2024, "green_share"] == pytest.approx(0, abs=1e-9)
    # GECs the inventory year already had for the hall (it reports category 8 at 300 MWh) are
    # not carried into the baseline: the plan decides each year's purchases
    gecs = "instrument_id,kind,vintage_year,energy_mwh,site\ngec-colo,gec,2022,200,colo\n"
    bought = make_project(
        rows,
        toml=toml,
        files={"data/prices.csv": PRICES, "data/instruments.csv": gecs},
        name="bought",
    )
    project = tanlu.load_project(bought)
    assert tanlu.calculate_inventory(project, 2022).scope3_tco2e == pytest.approx(
        300 * 0.558, rel=1e-3
    )
    again = calculate_roadmap(project).by_year.set_index("year")
    assert again.at[2023, "scope3_tco2e"] == pytest.approx(500 * 0.558, rel=1e-3)


def test_custom_lever(make_project: MakeProject) -> None:
    # The project's own lever on scope 1 diesel: up to 50% at 200 CNY/t; a target of 4.2% a year
    # on scopes 1 and 2 from 2022 with only this lever and GECs disabled: diesel 100 t a year
    diesel = "office,2022-01-01,2022-12-31,diesel_mobile,37.3,t\n"
    custom = (
        "\n[roadmap.custom_levers.biodiesel_blend]\nscope = 1\n"
        'categories = ["mobile_combustion"]\nreduction_share_max = 0.5\n'
        'cost_cny_per_tco2e = 200\nsource = "test figures"\n'
    )
    toml = (
        toy_toml(
            targets='[[targets]]\nkind = "absolute_reduction"\nscopes = [1]\nyear = 2024\n'
            "annual_reduction_share = 0.1\n",
            efficiency=False,
            gec=False,
        )
        + custom
    )
    root = make_project(ACTIVITIES + diesel, toml=toml, files={"data/prices.csv": PRICES})
    result = calculate_roadmap(tanlu.load_project(root))
    check_invariants(result)
    by_year = result.by_year.set_index("year")
    base = by_year.at[2023, "scope1_tco2e"] / 0.9  # 10% cut in 2023
    # 10% of the base cut in 2023 and 20% in 2024, each tonne at 200 CNY
    assert lever(result, "biodiesel_blend", 2023) == pytest.approx(0.1 * base)
    assert lever(result, "biodiesel_blend", 2024) == pytest.approx(0.2 * base)
    assert result.objective_cny == pytest.approx(200 * 0.3 * base)
    used = result.parameters.set_index(["lever", "parameter"])
    assert used.at[("biodiesel_blend", "cost_cny_per_tco2e"), "source"] == "test figures"


def test_macc_by_hand(make_project: MakeProject) -> None:
    from tanlu.roadmap.macc import bottom_up_macc, model_macc
    from tanlu.roadmap.plan import roadmap_problem

    toml = toy_toml()
    root = make_project(ACTIVITIES, toml=toml, files={"data/prices.csv": PRICES})
    problem = roadmap_problem(tanlu.load_project(root))
    curve = bottom_up_macc(problem).set_index("lever")
    # efficiency: 160 MWh x 0.5856 t at (354.79 - 600) CNY/MWh; GECs: the other 840 MWh at 5.59
    assert curve.at["building_efficiency", "abatement_tco2e"] == pytest.approx(160 * RESIDUAL)
    assert curve.at["building_efficiency", "cost_cny_per_tco2e"] == pytest.approx(
        (354.79 - 600) / RESIDUAL
    )
    assert curve.at["gec", "abatement_tco2e"] == pytest.approx(840 * RESIDUAL)
    assert curve.at["gec", "cost_cny_per_tco2e"] == pytest.approx(5.59 / RESIDUAL)
    assert list(curve.index) == ["building_efficiency", "gec"]  # cheapest first
    assert curve["cumulative_tco2e"].iloc[-1] == pytest.approx(1000 * RESIDUAL)
    # from the LP: a 10% cut costs nothing at the margin (efficiency pays for itself and cuts
    # 16%); at 50% the margin is a GEC; a full cut is reachable; past it the curve ends
    model = model_macc(problem, shares=[0.1, 0.5, 1.0]).set_index("reduction_share")
    assert model.at[0.1, "marginal_cost_cny_per_tco2e"] == pytest.approx(0.0, abs=1e-6)
    assert model.at[0.5, "marginal_cost_cny_per_tco2e"] == pytest.approx(5.59 / RESIDUAL)
    assert model.at[1.0, "abatement_tco2e"] == pytest.approx(1000 * RESIDUAL)
    without_gec = roadmap_problem(
        tanlu.load_project(root)
    )  # same problem: now cap beyond what efficiency alone reaches
    levers = without_gec.levers
    from dataclasses import replace

    only_efficiency = replace(
        without_gec,
        levers=replace(levers, values={k: v for k, v in levers.values.items() if k != "gec"}),
    )
    short = model_macc(only_efficiency, shares=[0.1, 0.5])
    assert list(short["reduction_share"]) == [0.1]  # 50% is out of reach: the curve stops


def test_progress_against_a_plan_from_an_earlier_year(make_project: MakeProject) -> None:
    from tanlu.electricity.matching import calculate_electricity
    from tanlu.roadmap.plan import roadmap_problem, solve_roadmap
    from tanlu.roadmap.progress import progress_years, track_progress

    toml = toy_toml().replace(
        "base_year = 2022\nreporting_years = [2022]",
        "base_year = 2021\nreporting_years = [2021, 2022]",
    )
    rows = ACTIVITIES + "office,2021-01-01,2021-12-31,electricity,1000,MWh\n"
    prices = PRICES + "grid_price_cny_per_mwh,广东,2021,600,CNY/MWh,user,test,\n"
    instruments = "instrument_id,kind,vintage_year,energy_mwh,site\ng1,gec,2022,200,office\n"
    root = make_project(
        rows, toml=toml, files={"data/prices.csv": prices, "data/instruments.csv": instruments}
    )
    project = tanlu.load_project(root)
    inputs = load_inputs(project)
    plan = solve_roadmap(roadmap_problem(project, inputs=inputs, from_year=2021))
    assert progress_years(project, plan) == [2022]
    actual = tanlu.calculate_inventory(project, 2022, inputs, check_base_year=False)
    green = calculate_electricity(project, 2022, inputs, inventory=actual).totals["green_share"]
    assert green == pytest.approx(200 / 1000)  # 200 MWh of GECs on 1,000 MWh consumed
    with pytest.raises(ValueError, match=r"inventory and green share of \[2022\]"):
        track_progress(project, plan, {2022: actual}, {})
    progress = track_progress(project, plan, {2022: actual}, {2022: green})
    # planned 2022: efficiency saves 160 MWh, no GECs yet: 840 MWh x 0.5856 (the 2022 residual
    # factor, which 2021 also uses); actual 2022: 1,000 MWh less 200 MWh of GECs
    summary = progress.summary.set_index("year")
    assert summary.at[2022, "planned_gross_tco2e"] == pytest.approx(840 * RESIDUAL)
    assert summary.at[2022, "actual_gross_tco2e"] == pytest.approx(800 * RESIDUAL)
    assert bool(summary.at[2022, "on_track"])
    assert summary.at[2022, "actual_green_share"] == pytest.approx(0.2)
    levers = progress.by_lever.set_index(["year", "lever"])
    assert levers.at[(2022, "gec"), "planned"] == pytest.approx(0, abs=1e-6)
    assert levers.at[(2022, "gec"), "actual"] == pytest.approx(200)
    scope2 = progress.by_scope.set_index(["year", "figure"]).loc[(2022, "scope2_market")]
    assert scope2["variance_tco2e"] == pytest.approx(-40 * RESIDUAL)


def test_sweep_and_monte_carlo(make_project: MakeProject) -> None:
    from tanlu.roadmap.plan import planning_data
    from tanlu.roadmap.uncertainty import monte_carlo, sweep

    settings = (
        "discount_rate_share = 0.0\n\n[roadmap.uncertainty]\nsamples = 6\nseed = 7\n"
        'ranges = { "levers.gec.price_cny_per_mwh" = [2.0, 10.0] }\n'
    )
    toml = toy_toml(settings=settings)
    root = make_project(ACTIVITIES, toml=toml, files={"data/prices.csv": PRICES})
    project = tanlu.load_project(root)
    data = planning_data(project)
    swept = sweep(project, data, "levers.gec.price_cny_per_mwh", [5.59, 10.0])
    # the GEC bill in 2024 is 840 MWh x price; everything else is the same
    difference = swept["net_discounted_cost_cny"].diff().iloc[1]
    assert difference == pytest.approx(840 * (10.0 - 5.59))
    drawn = monte_carlo(project, data)
    assert len(drawn.samples) == 6 and drawn.infeasible_share == 0.0
    prices = drawn.samples["levers.gec.price_cny_per_mwh"]
    assert ((prices >= 2.0) & (prices <= 10.0)).all()
    # each draw's cost is the same plan with its own GEC price
    expected = 2 * (160 * 354.79 - 160 * 600) + 840 * prices
    assert drawn.samples["net_discounted_cost_cny"].to_numpy() == pytest.approx(expected.to_numpy())
    bands = drawn.bands.set_index("year")
    assert (bands["net_cost_cny_p5"] <= bands["net_cost_cny_p50"] + 1e-9).all()
    assert (bands["net_cost_cny_p50"] <= bands["net_cost_cny_p95"] + 1e-9).all()
    again = monte_carlo(project, data)  # seeded: the same draws
    assert again.samples["levers.gec.price_cny_per_mwh"].equals(prices)
    with pytest.raises(tanlu.ProjectError, match="warp"):
        sweep(project, data, "warp_factor", [1.0])


def test_one_reduction_lever_per_stream_and_a_bad_seed(make_project: MakeProject) -> None:
    custom = (
        "\n[roadmap.custom_levers.green_cooling]\nscope = 1\n"
        'categories = ["fugitive"]\nreduction_share_max = 0.5\n'
        'cost_cny_per_tco2e = 100\nsource = "test"\n'
    )
    toml = toy_toml()
    # the bundled low_gwp_refrigerant lever already cuts scope 1 fugitive emissions
    toml = toml.replace("[roadmap.levers.low_gwp_refrigerant]\nenabled = false\n", "")
    root = make_project(ACTIVITIES, toml=toml + custom, files={"data/prices.csv": PRICES})
    with pytest.raises(tanlu.ProjectError, match="already cut by lever 'low_gwp_refrigerant'"):
        calculate_roadmap(tanlu.load_project(root))
    seeded = make_project(
        ACTIVITIES,
        toml=toy_toml(settings="[roadmap.uncertainty]\nseed = -1").replace(
            "[roadmap]\n[roadmap.uncertainty]", "[roadmap.uncertainty]"
        ),
        name="seeded",
    )
    with pytest.raises(tanlu.ProjectError, match="seed"):
        tanlu.load_project(seeded)


def test_bottom_up_macc_on_the_location_basis(make_project: MakeProject) -> None:
    from tanlu.roadmap.macc import bottom_up_macc
    from tanlu.roadmap.plan import roadmap_problem

    toml = toy_toml(settings='discount_rate_share = 0.0\nscope2_basis = "location"', contracts=True)
    root = make_project(ACTIVITIES, toml=toml, files={"data/prices.csv": PRICES})
    curve = bottom_up_macc(roadmap_problem(tanlu.load_project(root)))
    # contracts and GECs do not lower location-based scope 2 at an own site: no bar
    assert list(curve["lever"]) == ["building_efficiency"]


def test_cli_sweep_and_bad_sweep(make_project: MakeProject) -> None:
    toml = toy_toml()
    root = make_project(ACTIVITIES, toml=toml, files={"data/prices.csv": PRICES})
    spec = "levers.gec.price_cny_per_mwh=5.59,10"
    result = CliRunner().invoke(app, ["roadmap", str(root), "--sweep", spec, "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["sweep"]["rows"]
    # the GEC bill of 2024, 840 MWh, at each price
    assert rows[1]["net_discounted_cost_cny"] - rows[0]["net_discounted_cost_cny"] == pytest.approx(
        840 * (10 - 5.59)
    )
    bad = CliRunner().invoke(app, ["roadmap", str(root), "--sweep", "nonsense"])
    assert bad.exit_code == 2
    assert "PATH=V1,V2" in bad.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('[[targets]]\nkind = "net_zero"\nscopes = [2, 2]\nyear = 2024\n', "names a scope twice"),
        (
            '[roadmap.custom_levers.electricity]\nscope = 1\ncategories = ["fugitive"]\n'
            'reduction_share_max = 0.5\ncost_cny_per_tco2e = 1\nsource = "test"\n',
            "electricity, total are taken",
        ),
    ],
)
def test_duplicate_scopes_and_reserved_lever_names(
    make_project: MakeProject, extra: str, message: str
) -> None:
    toml = toy_toml()
    root = make_project(ACTIVITIES, toml=toml + "\n" + extra, files={"data/prices.csv": PRICES})
    with pytest.raises(tanlu.ProjectError, match=message):
        calculate_roadmap(tanlu.load_project(root))


# Fleet figures chosen to be checked by hand: 30 L and 90 kWh per 100 km (3 kWh per litre
# replaced), 50,000 km a vehicle a year (15,000 L), a premium of 300,000 CNY over 10 years at a
# 0% discount rate (30,000 CNY a vehicle a year = 2 CNY a litre) and diesel at 7 CNY/L.
FLEET = """
[roadmap.levers.fleet_electrification]
diesel_l_per_100km = 30
electricity_kwh_per_100km = 90
annual_km_per_vehicle = 50000
capex_premium_cny_per_vehicle = 300000
lifetime_years = 10
diesel_price_cny_per_l = 7
"""
SCOPE1_NEUTRAL_2024 = '[[targets]]\nkind = "carbon_neutral"\nscopes = [1]\nyear = 2024\n'


def fleet_project(make_project: MakeProject, diesel: str, targets: str, extra: str = "") -> str:
    toml = toy_toml(targets=targets, efficiency=False, gec=False)
    toml = toml.replace("[roadmap.levers.fleet_electrification]\nenabled = false\n", "")
    return make_project(
        ACTIVITIES + diesel, toml=toml + FLEET + extra, files={"data/prices.csv": PRICES}
    )


def test_fleet_electrification_by_hand(make_project: MakeProject) -> None:
    from tanlu.roadmap.macc import bottom_up_macc
    from tanlu.roadmap.plan import roadmap_problem

    # 30,000 L of diesel a year in the office's shuttle vans, scope 1 carbon neutral by 2024 and
    # no offsets: the only scope 1 lever is to electrify the whole fleet
    root = fleet_project(
        make_project, "office,2022-01-01,2022-12-31,diesel_mobile,30000,L\n", SCOPE1_NEUTRAL_2024
    )
    result = calculate_roadmap(tanlu.load_project(root))
    check_invariants(result)
    by_year = result.by_year.set_index("year")
    # scope 1: 30 m3 x 0.8299 t/m3 (DESNZ density) x 3.0959 tCO2/t (China guideline factor); the
    # diesel's well-to-tank emissions (scope 3 category 3) are left in the plan
    diesel_tco2e = 30 * 0.8299 * 3.0959
    # 30,000 L / 15,000 L a vehicle = 2 vehicles; they pay for themselves (2 - 7 CNY a litre plus
    # 3 kWh x 0.6 CNY = 1.8 CNY of charging), so both years at once
    for year in (2023, 2024):
        assert lever(result, "fleet_electrification", year) == pytest.approx(2)
        assert by_year.at[year, "scope1_tco2e"] == pytest.approx(0, abs=1e-6)
        # the chargers' 90 MWh are bought from the grid: market-based scope 2 rises
        assert by_year.at[year, "scope2_market_tco2e"] == pytest.approx(1090 * RESIDUAL)
        # own cost: 30,000 L x (2 - 7) = -150,000; charging 90 MWh x 600 = 54,000
        assert lever(result, "fleet_electrification", year, "cost_cny") == pytest.approx(-150_000)
        assert by_year.at[year, "net_cost_cny"] == pytest.approx(-150_000 + 54_000)
        assert lever(result, "fleet_electrification", year, "abatement_tco2e") == pytest.approx(
            diesel_tco2e - 90 * RESIDUAL
        )
    assert result.objective_cny == pytest.approx(2 * (-150_000 + 54_000))
    # bottom-up MACC: the same year's net cost over its net abatement
    curve = bottom_up_macc(roadmap_problem(tanlu.load_project(root))).set_index("lever")
    assert curve.at["fleet_electrification", "abatement_tco2e"] == pytest.approx(
        diesel_tco2e - 90 * RESIDUAL
    )
    assert curve.at["fleet_electrification", "cost_cny_per_tco2e"] == pytest.approx(
        -96_000 / (diesel_tco2e - 90 * RESIDUAL)
    )


def test_fleet_chargers_need_green_power_too(make_project: MakeProject) -> None:
    # 100% green electricity by 2024 with GECs: they cover the chargers' 90 MWh as well
    root = fleet_project(
        make_project,
        "office,2022-01-01,2022-12-31,diesel_mobile,30000,L\n",
        SCOPE1_NEUTRAL_2024 + '\n[[targets]]\nkind = "green_electricity"\nyear = 2024\n',
        "\n[roadmap.levers.gec]\nenabled = true\n",
    )
    root_text = (root / "tanlu.toml").read_text(encoding="utf-8")
    (root / "tanlu.toml").write_text(
        root_text.replace("[roadmap.levers.gec]\nenabled = false\n", ""), encoding="utf-8"
    )
    result = calculate_roadmap(tanlu.load_project(root))
    check_invariants(result)
    assert lever(result, "gec", 2024) == pytest.approx(1090)
    assert result.by_year.set_index("year").at[2024, "green_share"] == pytest.approx(1.0)


def test_backup_fuel_switch_cuts_only_diesel(make_project: MakeProject) -> None:
    # Scope 1: back-up diesel and a gas boiler. A 10%-a-year reduction from 2022 is met from the
    # diesel alone, each tonne at the bundled 722 CNY; scope 1 carbon neutral is not reachable:
    # the gas boiler is short by its own emissions
    rows = (
        "office,2022-01-01,2022-12-31,diesel_stationary,10000,L\n"
        "office,2022-01-01,2022-12-31,natural_gas_stationary,10000,m3\n"
    )
    reduction = (
        '[[targets]]\nkind = "absolute_reduction"\nscopes = [1]\nyear = 2024\n'
        "annual_reduction_share = 0.1\n"
    )
    toml = toy_toml(targets=reduction, efficiency=False, gec=False)
    toml = toml.replace("[roadmap.levers.backup_fuel_switch]\nenabled = false\n", "")
    root = make_project(ACTIVITIES + rows, toml=toml, files={"data/prices.csv": PRICES})
    result = calculate_roadmap(tanlu.load_project(root))
    check_invariants(result)
    # scope 1 (flat): diesel 10 m3 x 0.8299 t/m3 x 3.0959 tCO2/t + gas 10,000 m3 x 2.1622 kg/m3
    base = 10 * 0.8299 * 3.0959 + 10_000 * 2.1622 / 1000
    assert lever(result, "backup_fuel_switch", 2023) == pytest.approx(0.1 * base)
    assert lever(result, "backup_fuel_switch", 2024) == pytest.approx(0.2 * base)
    assert result.objective_cny == pytest.approx(722 * 0.3 * base)

    gas_root = make_project(
        ACTIVITIES + rows,
        toml=toml.replace(reduction, SCOPE1_NEUTRAL_2024),
        files={"data/prices.csv": PRICES},
        name="gas",
    )
    inventory = tanlu.calculate_inventory(tanlu.load_project(gas_root), 2022)
    lines = inventory.lines
    gas_tco2e = float(
        lines.loc[lines["activity"] == "natural_gas_stationary", "emissions_tco2e"].sum()
    )
    with pytest.raises(RoadmapInfeasible) as caught:
        calculate_roadmap(tanlu.load_project(gas_root))
    shortfall = caught.value.shortfalls.set_index("year")
    assert shortfall.at[2024, "shortfall"] == pytest.approx(gas_tco2e, rel=1e-6)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "\n[roadmap.custom_levers.hybrid_vans]\nscope = 1\n"
            'categories = ["mobile_combustion"]\nreduction_share_max = 0.5\n'
            'cost_cny_per_tco2e = 100\nsource = "test"\n',
            "already cut by lever 'fleet_electrification'",
        ),
        (
            "\n[roadmap.levers.fleet_electrification.x]\n",
            "fleet_electrification.x: unknown parameter",
        ),
    ],
)
def test_fleet_lever_bad_settings(make_project: MakeProject, extra: str, message: str) -> None:
    root = fleet_project(
        make_project, "office,2022-01-01,2022-12-31,diesel_mobile,30000,L\n", SCOPE1_NEUTRAL_2024
    )
    (root / "tanlu.toml").write_text(
        (root / "tanlu.toml").read_text(encoding="utf-8") + extra, encoding="utf-8"
    )
    with pytest.raises(tanlu.ProjectError, match=message):
        calculate_roadmap(tanlu.load_project(root))


def test_fleet_lever_needs_positive_distances(make_project: MakeProject) -> None:
    root = fleet_project(
        make_project, "office,2022-01-01,2022-12-31,diesel_mobile,30000,L\n", SCOPE1_NEUTRAL_2024
    )
    text = (root / "tanlu.toml").read_text(encoding="utf-8")
    (root / "tanlu.toml").write_text(
        text.replace("annual_km_per_vehicle = 50000", "annual_km_per_vehicle = 0"),
        encoding="utf-8",
    )
    with pytest.raises(
        tanlu.ProjectError, match="annual_km_per_vehicle: 0 must be greater than zero"
    ):
        calculate_roadmap(tanlu.load_project(root))


def test_pv_commissioned_in_the_year_planned_from(make_project: MakeProject) -> None:
    from tanlu.roadmap.baseline import existing_pv_mwh
    from tanlu.roadmap.plan import roadmap_problem

    # 100 kWp at 1 MWh/kWp commissioned on 2022-07-01: the 2022 bill (1,000 MWh) is after half a
    # year of PV, so the office used 1,000 + that half year; from 2023 the PV gives 100 MWh a
    # year and the purchase is 1,000 + half year - 100
    pv = (
        '\n[[pv_systems]]\nid = "roof"\nsite = "office"\ncapacity_kw = 100\ntilt_deg = 20\n'
        "annual_yield_mwh_per_kw = 1.0\ncommissioned = 2022-07-01\n"
    )
    toml = toy_toml().replace(
        'province = "广东"\n', 'province = "广东"\nlatitude = 23.1\nlongitude = 113.3\n'
    )
    toml = toml.replace("\n[roadmap]", pv + "\n[roadmap]", 1)
    root = make_project(ACTIVITIES, toml=toml, files={"data/prices.csv": PRICES})
    project = tanlu.load_project(root)
    generation = existing_pv_mwh(project, 2022).loc["roof"]
    assert generation["site"] == "office"
    assert generation["full_year_mwh"] == pytest.approx(100.0)
    assert 30.0 < generation["generated_mwh"] < 70.0  # the second half of the year
    electricity = roadmap_problem(project).baseline.electricity.set_index("year")
    assert electricity.at[2023, "consumption_mwh"] == pytest.approx(
        1000 + generation["generated_mwh"]
    )
    assert electricity.at[2023, "existing_pv_mwh"] == pytest.approx(100.0)
    assert electricity.at[2023, "purchased_mwh"] == pytest.approx(
        1000 + generation["generated_mwh"] - 100
    )
    # a system commissioned after the year planned from: nothing before it runs, the share
    # of the year it runs in its first year (2023-07-01: 184 of 365 days), then a full year
    later = make_project(
        ACTIVITIES,
        toml=toml.replace("commissioned = 2022-07-01", "commissioned = 2023-07-01").replace(
            "year = 2024", "year = 2025"
        ),
        files={"data/prices.csv": PRICES},
        name="later",
    )
    planned = roadmap_problem(tanlu.load_project(later)).baseline.electricity.set_index("year")
    assert planned.at[2023, "consumption_mwh"] == pytest.approx(1000)  # 0 generated in 2022
    assert planned.at[2023, "existing_pv_mwh"] == pytest.approx(100 * 184 / 365)
    assert planned.at[2024, "existing_pv_mwh"] == pytest.approx(100.0)
    # the plan reports the PV already built, part of its green electricity
    by_year = calculate_roadmap(project).by_year.set_index("year")
    assert by_year.at[2023, "existing_pv_mwh"] == pytest.approx(100.0)
    assert by_year.at[2023, "green_mwh"] >= 100.0 - 1e-9


INTENSITY = (
    '[[targets]]\nkind = "intensity_reduction"\nscopes = [2]\nyear = 2024\n'
    'denominator = "revenue_cny"\nannual_reduction_share = 0.1\n'
)
REVENUE = '\n[output_metrics.revenue_cny]\nunit = "CNY"\nvalues = { 2022 = 1e8 }\nsource = "test"\n'
GROWING = (
    "discount_rate_share = 0.0\ngrowth_share_per_year = { office = 0.1 }\n"
    "output_growth_share_per_year = { revenue_cny = 0.1 }"
)


def test_intensity_target_by_hand(make_project: MakeProject) -> None:
    # Electricity and revenue both grow 10% a year; scope 2 per CNY of revenue must fall 10% of
    # the 2022 intensity a year. Limits: 585.6 x (1 - 0.1) x 1.1 = 579.744 t in 2023 and
    # 585.6 x (1 - 0.2) x 1.21 = 566.8608 t in 2024, against baselines of 1,100 and 1,210 MWh x
    # 0.5856: GECs of 110 MWh (644.16 - 579.744 = 64.416 t) and 242 MWh (141.7152 t).
    toml = toy_toml(targets=INTENSITY, settings=GROWING, efficiency=False) + REVENUE
    root = make_project(ACTIVITIES, toml=toml, files={"data/prices.csv": PRICES})
    result = calculate_roadmap(tanlu.load_project(root))
    check_invariants(result)
    assert lever(result, "gec", 2023) == pytest.approx(110)
    assert lever(result, "gec", 2024) == pytest.approx(242)
    assert result.objective_cny == pytest.approx((110 + 242) * 5.59)
    assert list(result.targets["target"].unique()) == [
        "intensity of scopes 2 per revenue_cny by 2024"
    ]
    bounds = result.targets.set_index("year")["bound"]
    assert bounds[2023] == pytest.approx(579.744) and bounds[2024] == pytest.approx(566.8608)
    # revenue flat instead: the limit is the absolute one (GECs of 1,100 - 900 and 1,210 - 800)
    flat = toml.replace("output_growth_share_per_year = { revenue_cny = 0.1 }", "").replace(
        "values = { 2022 = 1e8 }", "values = { 2022 = 1e8, 2023 = 1e8, 2024 = 1e8 }"
    )
    again = make_project(ACTIVITIES, toml=flat, files={"data/prices.csv": PRICES}, name="flat")
    result = calculate_roadmap(tanlu.load_project(again))
    assert lever(result, "gec", 2023) == pytest.approx(200)
    assert lever(result, "gec", 2024) == pytest.approx(410)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('denominator = "revenue_cny"\n', ""), "needs a denominator"),
        (("annual_reduction_share = 0.1\n", ""), "needs annual_reduction_share"),
        (('denominator = "revenue_cny"', 'denominator = "pflops"'), "'pflops' is not in"),
        (("values = { 2022 = 1e8 }", "values = { 2023 = 1e8 }"), "no value for the base year"),
        (
            ("output_growth_share_per_year = { revenue_cny = 0.1 }", ""),
            "output_metrics.revenue_cny has no value for 2023",
        ),
        (
            (
                "output_growth_share_per_year = { revenue_cny = 0.1 }",
                "output_growth_share_per_year = { gdp = 0.1 }",
            ),
            "'gdp' is not in \\[output_metrics\\]",
        ),
    ],
)
def test_intensity_target_bad_settings(
    make_project: MakeProject, change: tuple[str, str], message: str
) -> None:
    toml = toy_toml(targets=INTENSITY, settings=GROWING, efficiency=False) + REVENUE
    assert change[0] in toml
    root = make_project(ACTIVITIES, toml=toml.replace(*change), files={"data/prices.csv": PRICES})
    with pytest.raises(tanlu.ProjectError, match=message):
        calculate_roadmap(tanlu.load_project(root))


def test_contract_floor_and_excluded_sites(make_project: MakeProject) -> None:
    # certificates already bought for years ahead: at least 300 MWh a year although the target
    # (carbon neutral in scope 2 by 2024, with efficiency) needs none in 2023
    floor = "\n[roadmap.levers.gec]\nmin_mwh_per_year = 300\n"
    toml = toy_toml().replace("[roadmap.levers.gec]\nenabled = true\n", "") + floor
    root = make_project(ACTIVITIES, toml=toml, files={"data/prices.csv": PRICES})
    result = calculate_roadmap(tanlu.load_project(root))
    check_invariants(result)
    assert lever(result, "gec", 2023) == pytest.approx(300)
    assert lever(result, "gec", 2024) == pytest.approx(840)  # the target needs more
    # more than the sites buy: said plainly
    too_much = make_project(
        ACTIVITIES,
        toml=toml.replace("min_mwh_per_year = 300", "min_mwh_per_year = 2000"),
        files={"data/prices.csv": PRICES},
        name="too_much",
    )
    with pytest.raises(tanlu.ProjectError, match="2,000 MWh is more than the sites it may buy"):
        calculate_roadmap(tanlu.load_project(too_much))
    # the office already retrofitted: no efficiency there, GECs for all 1,000 MWh in 2024
    excluded = 'lever_excluded_sites = { building_efficiency = ["office"] }'
    done = toy_toml(settings="discount_rate_share = 0.0\n" + excluded)
    root = make_project(ACTIVITIES, toml=done, files={"data/prices.csv": PRICES}, name="done")
    result = calculate_roadmap(tanlu.load_project(root))
    assert lever(result, "building_efficiency", 2024) == pytest.approx(0, abs=1e-9)
    assert lever(result, "gec", 2024) == pytest.approx(1000)
    curve = bottom_up_macc(roadmap_problem(tanlu.load_project(root)))
    assert "building_efficiency" not in set(curve["lever"])  # nor in the MACC
    # a floor at sites the lever may not buy for, and a scenario's unknown site: said plainly
    nowhere = make_project(
        ACTIVITIES,
        toml=toml.replace(
            "[roadmap]\n", '[roadmap]\nlever_excluded_sites = { gec = ["office"] }\n', 1
        ),
        files={"data/prices.csv": PRICES},
        name="nowhere",
    )
    with pytest.raises(tanlu.ProjectError, match="300 MWh is more than the sites it may buy"):
        calculate_roadmap(tanlu.load_project(nowhere))
    scenario = '\n[roadmap.scenarios.typo]\nlever_excluded_sites = { gec = ["ofice"] }\n'
    typo = make_project(
        ACTIVITIES, toml=done + scenario, files={"data/prices.csv": PRICES}, name="typo"
    )
    with pytest.raises(tanlu.ProjectError, match="unknown site\\(s\\) ofice"):
        calculate_roadmap(tanlu.load_project(typo), "typo")
    for bad, message in (
        ('{ building_efficiency = ["attic"] }', "unknown site\\(s\\) attic"),
        ('{ teleport = ["office"] }', "lever_excluded_sites.teleport: not a lever"),
    ):
        text = done.replace('{ building_efficiency = ["office"] }', bad)
        root = make_project(ACTIVITIES, toml=text, files={"data/prices.csv": PRICES}, name=bad[3:8])
        with pytest.raises(tanlu.ProjectError, match=message):
            calculate_roadmap(tanlu.load_project(root))


def test_milestones(make_project: MakeProject) -> None:
    # absolute reduction of scope 2 at 4.2% a year with a milestone of 50% in 2023: 500 MWh of
    # GECs in 2023 (the line allows 95.8%), 500 again in 2024 (the line allows 91.6%)
    absolute = (
        '[[targets]]\nkind = "absolute_reduction"\nscopes = [2]\nyear = 2024\n'
        "milestones = { 2023 = 0.5 }\n"
    )
    root = make_project(
        ACTIVITIES,
        toml=toy_toml(targets=absolute, efficiency=False),
        files={"data/prices.csv": PRICES},
    )
    result = calculate_roadmap(tanlu.load_project(root))
    check_invariants(result)
    assert lever(result, "gec", 2023) == pytest.approx(500)
    assert lever(result, "gec", 2024) == pytest.approx(500)
    # green electricity: 100% by 2024 and half from 2023
    green = '[[targets]]\nkind = "green_electricity"\nyear = 2024\nmilestones = { 2023 = 0.5 }\n'
    root = make_project(
        ACTIVITIES,
        toml=toy_toml(targets=green, efficiency=False),
        files={"data/prices.csv": PRICES},
        name="green",
    )
    result = calculate_roadmap(tanlu.load_project(root))
    assert lever(result, "gec", 2023) == pytest.approx(500)
    assert lever(result, "gec", 2024) == pytest.approx(1000)


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        (
            NEUTRAL_SCOPE2_2024 + "milestones = { 2023 = 0.5 }\n",
            "milestones apply to absolute_reduction, intensity_reduction and green_electricity",
        ),
        (
            '[[targets]]\nkind = "green_electricity"\nyear = 2024\nmilestones = { 2026 = 0.5 }\n',
            "milestone 2026 is not between the base year 2022 and the target year 2024",
        ),
        (
            '[[targets]]\nkind = "absolute_reduction"\nscopes = [2]\nyear = 2024\n'
            "annual_reduction_share = 0.6\n",
            "0.6 a year from 2022 reaches zero emissions by 2024",
        ),
    ],
)
def test_bad_targets(make_project: MakeProject, targets: str, message: str) -> None:
    root = make_project(
        ACTIVITIES, toml=toy_toml(targets=targets), files={"data/prices.csv": PRICES}
    )
    with pytest.raises(tanlu.ProjectError, match=message):
        calculate_roadmap(tanlu.load_project(root))


def test_certificate_ramp_from_what_is_held(make_project: MakeProject) -> None:
    # carbon neutral in scope 2 by 2025 with GECs only, at most 400 MWh more a year: 1,000 MWh
    # in 2025 needs 600 in 2024 and 200 in 2023 (nothing held in 2022)
    ramp = "\n[roadmap.levers.gec]\nramp_mwh_per_year = 400\n"
    neutral_2025 = NEUTRAL_SCOPE2_2024.replace("year = 2024", "year = 2025")
    toml = toy_toml(targets=neutral_2025, efficiency=False)
    toml = toml.replace("[roadmap.levers.gec]\nenabled = true\n", "") + ramp
    root = make_project(ACTIVITIES, toml=toml, files={"data/prices.csv": PRICES})
    result = calculate_roadmap(tanlu.load_project(root))
    check_invariants(result)
    assert [lever(result, "gec", y) for y in (2023, 2024, 2025)] == pytest.approx([200, 600, 1000])
    assert result.objective_cny == pytest.approx((200 + 600 + 1000) * 5.59)
    # neutral by 2024: 1,000 MWh in 2024 needs 600 in 2023, more than 0 held + 400
    toml_2024 = toy_toml(efficiency=False).replace("[roadmap.levers.gec]\nenabled = true\n", "")
    short = make_project(
        ACTIVITIES, toml=toml_2024 + ramp, files={"data/prices.csv": PRICES}, name="short"
    )
    with pytest.raises(RoadmapInfeasible) as caught:
        calculate_roadmap(tanlu.load_project(short))
    assert caught.value.shortfalls.iloc[0]["shortfall"] == pytest.approx(200 * RESIDUAL)
    # with 300 MWh of GECs held in 2022 the ramp starts there: 600 in 2023 is reachable
    held = "instrument_id,kind,vintage_year,energy_mwh\ngec-22,gec,2022,300\n"
    enough = make_project(
        ACTIVITIES,
        toml=toml_2024 + ramp,
        files={"data/prices.csv": PRICES, "data/instruments.csv": held},
        name="held",
    )
    result = calculate_roadmap(tanlu.load_project(enough))
    assert lever(result, "gec", 2023) == pytest.approx(600)
    assert lever(result, "gec", 2024) == pytest.approx(1000)
    # a floor the ramp cannot reach in the first year is said plainly
    floored = make_project(
        ACTIVITIES,
        toml=toml_2024 + ramp + "min_mwh_per_year = 500\n",
        files={"data/prices.csv": PRICES},
        name="floored",
    )
    with pytest.raises(tanlu.ProjectError, match="min_mwh_per_year 500 is more than the 0 MWh"):
        calculate_roadmap(tanlu.load_project(floored))


def test_bundled_ramp_shadow_prices_discounted_and_at_the_limit(make_project: MakeProject) -> None:
    # the bundled GEC ramp case at an 8% discount rate: 490 MWh in 2023, 1,000 in 2024. One MWh
    # more of ramp in 2024 is one MWh less bought in 2023, 5.59 CNY of 2023, i.e.
    # 5.59 / 1.08 discounted to 2022; in CNY of 2024 (the constraint's year) 5.59 / 1.08 x 1.08^2
    # = 5.59 x 1.08 = 6.0372
    result = roadmap(make_project, efficiency=False, settings="discount_rate_share = 0.08")
    assert lever(result, "gec", 2023) == pytest.approx(490)
    binding = result.binding_constraints.set_index(["constraint", "lever", "year"])
    price = binding.at[("ramp_share_of_purchase", "gec", 2024), "shadow_price_cny_per_unit"]
    assert price == pytest.approx(5.59 * 1.08)
    # neutrality in 2024 is met by certificates for the whole purchase: the target binds at the
    # limit of the levers, where the dual is the shortfall penalty's (1e6), not a price
    target = result.binding_constraints.loc[result.binding_constraints["constraint"] == "target"]
    assert len(target) == 1 and bool(target["at_limit"].iloc[0])
    assert target["shadow_price_cny_per_unit"].isna().all()
    priced = result.binding_constraints.loc[~result.binding_constraints["at_limit"]]
    assert (priced["shadow_price_cny_per_unit"] < 1e3).all()  # no penalty left in any price


def test_bundled_ramp_of_certificates_by_hand(make_project: MakeProject) -> None:
    # the bundled GEC ramp: at most 0.51 of the year's purchase (1,000 MWh) more a year, so
    # 510 MWh. Neutral in scope 2 by 2024 with GECs only: 1,000 MWh in 2024 needs at least
    # 1,000 - 510 = 490 MWh in 2023 (nothing held in 2022)
    result = roadmap(make_project, efficiency=False)
    assert lever(result, "gec", 2023) == pytest.approx(490)
    assert lever(result, "gec", 2024) == pytest.approx(1000)
    assert result.objective_cny == pytest.approx((490 + 1000) * 5.59)
    used = result.parameters.set_index(["lever", "parameter"])
    assert used.at[("gec", "ramp_share_of_purchase_per_year"), "status"] == "D"
    # why: the 2024 ramp binds; one MWh more of ramp is one MWh less bought in 2023, 5.59 CNY
    binding = result.binding_constraints.set_index(["constraint", "lever", "year"])
    price = binding.at[("ramp_share_of_purchase", "gec", 2024), "shadow_price_cny_per_unit"]
    assert price == pytest.approx(5.59)
    assert binding.at[("ramp_share_of_purchase", "gec", 2024), "unit"] == "CNY/MWh"
    # a project that sets its own ramp in MWh keeps it: 400 a year replaces the share
    toml = toy_toml(efficiency=False).replace("[roadmap.levers.gec]\nenabled = true\n", "")
    own = make_project(
        ACTIVITIES,
        toml=toml + "\n[roadmap.levers.gec]\nramp_mwh_per_year = 600\n",
        files={"data/prices.csv": PRICES},
        name="own",
    )
    mine = calculate_roadmap(tanlu.load_project(own))
    # 1,000 in 2024 needs 400 in 2023 at 600 a year
    assert lever(mine, "gec", 2023) == pytest.approx(400)
    assert ("gec", "ramp_share_of_purchase_per_year") not in set(
        zip(mine.parameters["lever"], mine.parameters["parameter"], strict=True)
    )


def test_trajectory_by_hand(make_project: MakeProject) -> None:
    # neutral in scope 2 by 2024 with GECs only; least cost: nothing in 2023, 1,000 MWh in 2024,
    # a fall of all 585.6 t in one year. At most 60% of the base year's 585.6 t a year
    # (351.36 t): 2023 may count at most 351.36 t, so GECs cut 585.6 - 351.36 = 234.24 t,
    # 234.24 / 0.5856 = 400 MWh
    fall = "discount_rate_share = 0.0\n[roadmap.trajectory]\nmax_fall_share_of_base_year = 0.6"
    result = roadmap(make_project, efficiency=False, settings=fall)
    assert lever(result, "gec", 2023) == pytest.approx(400)
    assert lever(result, "gec", 2024) == pytest.approx(1000)
    rows = result.targets.loc[result.targets["target"].str.startswith("trajectory")]
    [row] = rows.to_dict("records")
    assert row["year"] == 2024
    assert row["bound"] == pytest.approx(0.6 * 585.6)
    assert row["achieved"] == pytest.approx(0.6 * 585.6)
    # a straight line from the 2022 base year to 0 in 2024: 2023 at most 585.6 / 2 = 292.8 t,
    # so 500 MWh of GECs in 2023
    line = (
        'discount_rate_share = 0.0\n[roadmap.trajectory]\nemissions = "gross"\n'
        "scopes = [2]\nline_end_year = 2024"
    )
    result = roadmap(make_project, efficiency=False, settings=line, name="line")
    assert lever(result, "gec", 2023) == pytest.approx(500)
    bounds = result.targets.loc[result.targets["target"].str.startswith("trajectory")]
    assert bounds["bound"].tolist() == pytest.approx([292.8, 0.0])


def test_bundled_ramp_and_trajectory_bad_settings(make_project: MakeProject) -> None:
    # a floor of 600 MWh is more than the 0 held plus 0.51 x 1,000 = 510 MWh of the first year
    toml = toy_toml(efficiency=False).replace("[roadmap.levers.gec]\nenabled = true\n", "")
    floored = make_project(
        ACTIVITIES,
        toml=toml + "\n[roadmap.levers.gec]\nmin_mwh_per_year = 600\n",
        files={"data/prices.csv": PRICES},
    )
    with pytest.raises(
        tanlu.ProjectError,
        match=r"roadmap.levers.gec: min_mwh_per_year 600 is more than the 0 MWh held plus "
        r"ramp_share_of_purchase_per_year 0.51 x the 1,000 MWh bought in 2023",
    ):
        calculate_roadmap(tanlu.load_project(floored))
    # a share above 1 is refused like the other shares
    share = make_project(
        ACTIVITIES,
        toml=toml + "\n[roadmap.levers.gec]\nramp_share_of_purchase_per_year = 1.5\n",
        files={"data/prices.csv": PRICES},
        name="share",
    )
    with pytest.raises(
        tanlu.ProjectError, match=r"ramp_share_of_purchase_per_year: 1.5 is a share"
    ):
        calculate_roadmap(tanlu.load_project(share))
    # a straight line that ends at or before the base year (2022) has no slope
    line = "discount_rate_share = 0.0\n[roadmap.trajectory]\nline_end_year = 2022"
    with pytest.raises(tanlu.ProjectError, match="line_end_year 2022 is not after the base year"):
        roadmap(make_project, efficiency=False, settings=line, name="line")


def test_green_share_rises_leaves_efficiency_free(make_project: MakeProject) -> None:
    # 100% green from 2023 (milestone) to 2025, GECs at 5.59 CNY/MWh, building efficiency only
    # from 2024: it saves 16% of 1,000 MWh = 160 MWh a year at 354.79 CNY/MWh instead of 600.
    # With green_share_rises, electricity that is not green may not grow (it is 0 in every
    # year), so efficiency stays worth taking: GECs 1,000 MWh in 2023, 840 in 2024 and 2025.
    # Net cost (no discounting; the baseline bill is 600 x 1,000 a year):
    # 2023: 1,000 x 5.59 = 5,590
    # 2024, 2025: 840 x 5.59 + 160 x 354.79 - 160 x 600 = 4,695.6 + 56,766.4 - 96,000 = -34,538
    # total 5,590 - 2 x 34,538 = -63,486
    target = '[[targets]]\nkind = "green_electricity"\nyear = 2025\nmilestones = { 2023 = 1.0 }\n'
    settings = "discount_rate_share = 0.0\n[roadmap.trajectory]\ngreen_share_rises = true"
    toml = toy_toml(target, settings).replace(
        "[roadmap.levers.building_efficiency]\nenabled = true\n",
        "[roadmap.levers.building_efficiency]\nenabled = true\nfirst_year = 2024\n",
    )
    root = make_project(ACTIVITIES, toml=toml, files={"data/prices.csv": PRICES})
    result = calculate_roadmap(tanlu.load_project(root))
    check_invariants(result)
    assert [lever(result, "building_efficiency", y) for y in (2023, 2024, 2025)] == pytest.approx(
        [0, 160, 160]
    )
    assert [lever(result, "gec", y) for y in (2023, 2024, 2025)] == pytest.approx([1000, 840, 840])
    assert result.objective_cny == pytest.approx(-63_486)
    assert result.by_year["green_share"].tolist() == pytest.approx([1.0, 1.0, 1.0])

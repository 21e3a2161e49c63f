"""Green electricity per site: annual matching and the 24/7 score, consistent with the inventory."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import tanlu
from tanlu.cli import app
from tanlu.electricity.matching import calculate_electricity, derive_grid_cfe_share
from tanlu.factors import load_factor_library

from .conftest import MakeProject

DC_TOML = """\
[organisation]
name = "DC Co"
base_year = 2022
reporting_years = [2022]

[[entities]]
id = "parent"
name = "Parent"

[[sites]]
id = "dc"
name = "Data centre"
entity = "parent"
kind = "data_centre"
province = "Guangdong"
latitude = 23.1
longitude = 113.3

[electricity]
grid_cfe_share = {grid}
"""

# 8,760 MWh over 2022: 1 MWh in every hour (a data centre's flat shape)
ROWS = "dc,2022-01-01,2022-12-31,electricity,8760,MWh\n"


def make(make_project: MakeProject, instruments: str, grid: str = "0.0", extra: str = ""):  # type: ignore[no-untyped-def]
    header = "instrument_id,kind,vintage_year,energy_mwh,technology,site\n"
    files = {"data/instruments.csv": header + instruments} if instruments else {}
    return tanlu.load_project(
        make_project(ROWS, toml=DC_TOML.format(grid=grid) + extra, files=files)
    )


def test_flat_hydro_contract_by_hand(make_project: MakeProject) -> None:
    project = make(make_project, "w1,green_power_contract,2022,2190,hydro,dc\n")
    result = calculate_electricity(project, 2022, hourly=True)
    row = result.by_site.set_index("site").loc["dc"]
    # 2,190 MWh of hydro, delivered flat: 0.25 MWh in each hour of a 1 MWh load
    assert row["green_share"] == pytest.approx(0.25)
    assert row["cfe_score_share"] == pytest.approx(0.25)
    # consistent with the inventory: (8,760 - 2,190) MWh x 0.5856 market-based
    inventory = tanlu.calculate_inventory(project, 2022)
    assert row["market_tco2e"] == pytest.approx(inventory.scope2_market_tco2e)
    assert row["market_tco2e"] == pytest.approx(6570 * 0.5856)
    assert row["location_tco2e"] == pytest.approx(inventory.scope2_location_tco2e)


def test_solar_contract_scores_below_its_annual_share(make_project: MakeProject) -> None:
    # 4,380 MWh of solar for 8,760 MWh of flat load: half annually, but the sun shines only by
    # day and a midday hour's surplus is lost
    project = make(make_project, "s1,green_power_contract,2022,4380,solar,dc\n")
    row = calculate_electricity(project, 2022, hourly=True).by_site.iloc[0]
    assert row["green_share"] == pytest.approx(0.5)
    assert 0.2 < row["cfe_score_share"] < 0.5


def test_certificates_count_annually_not_hourly(make_project: MakeProject) -> None:
    project = make(make_project, "g1,gec,2022,2190,wind,dc\n")
    row = calculate_electricity(project, 2022, hourly=True).by_site.iloc[0]
    assert row["green_share"] == pytest.approx(0.25)
    assert row["certificate_mwh"] == pytest.approx(2190)
    assert row["cfe_score_share"] == pytest.approx(0.0)  # no grid credit, no hourly delivery


def test_irec_counts_like_a_gec(make_project: MakeProject) -> None:
    project = make(make_project, "i1,irec,2022,4380,solar,dc\n")
    row = calculate_electricity(project, 2022, hourly=True).by_site.iloc[0]
    # 4,380 of 8,760 MWh covered by unbundled I-RECs: half green, no hourly delivery
    assert row["certificate_mwh"] == pytest.approx(4380)
    assert row["green_share"] == pytest.approx(0.5)
    assert row["cfe_score_share"] == pytest.approx(0.0)


def test_grid_credit(make_project: MakeProject) -> None:
    project = make(make_project, "w1,green_power_contract,2022,2190,hydro,dc\n", grid="0.4")
    row = calculate_electricity(project, 2022, hourly=True).by_site.iloc[0]
    # 0.25 clean + 0.75 from the grid x 0.4 carbon-free = 0.55
    assert row["cfe_score_share"] == pytest.approx(0.25 + 0.75 * 0.4)


def test_onsite_pv_adds_to_consumption_and_green(make_project: MakeProject) -> None:
    pv = """
[[pv_systems]]
id = "roof"
site = "dc"
capacity_kw = 1000
tilt_deg = 20
annual_yield_mwh_per_kw = 1.2
"""
    project = make(make_project, "", extra=pv)
    row = calculate_electricity(project, 2022).by_site.iloc[0]
    # 1,000 kWp x 1.2 MWh/kWp = 1,200 MWh, all used on site: 8,760 + 1,200 consumed
    assert row["onsite_pv_mwh"] == pytest.approx(1200.0)
    assert row["consumption_mwh"] == pytest.approx(9960.0)
    assert row["green_share"] == pytest.approx(1200 / 9960)


def test_derived_grid_cfe_share() -> None:
    share, source = derive_grid_cfe_share(load_factor_library(), 2022)
    # MEE/NBS 2022: 1 - 0.5366 / 0.8325
    assert share == pytest.approx(1 - 0.5366 / 0.8325)
    assert "fossil" in source and "fallback" not in source


def test_pv_system_needs_a_location(make_project: MakeProject) -> None:
    toml = DC_TOML.format(grid="0.0").replace("latitude = 23.1\nlongitude = 113.3\n", "")
    toml += '\n[[pv_systems]]\nid = "roof"\nsite = "dc"\ncapacity_kw = 10\ntilt_deg = 20\n'
    with pytest.raises(tanlu.ProjectError, match="needs latitude and longitude"):
        tanlu.load_project(make_project(ROWS, toml=toml))


def test_unknown_technology_is_an_input_error(make_project: MakeProject) -> None:
    project = make(make_project, "w1,green_power_contract,2022,10,fusion,dc\n")
    with pytest.raises(tanlu.InputError, match="'fusion' is not one of"):
        calculate_electricity(project, 2022)


def test_cli_electricity_json(make_project: MakeProject) -> None:
    project = make(make_project, "w1,green_power_contract,2022,2190,hydro,dc\n")
    result = CliRunner().invoke(
        app, ["electricity", str(project.root), "--year", "2022", "--hourly", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["schema"] == "tanlu.electricity/1"
    assert data["totals"]["cfe_score_share"] == pytest.approx(0.25)
    assert data["totals"]["green_share"] == pytest.approx(0.25)


def test_hourly_with_no_consumption_in_the_year(make_project: MakeProject) -> None:
    toml = DC_TOML.format(grid="0.0").replace(
        "base_year = 2022\nreporting_years = [2022]", "base_year = 2021\nreporting_years = [2022]"
    )
    root = make_project(ROWS, toml=toml)
    result = CliRunner().invoke(app, ["electricity", str(root), "--year", "2021", "--hourly"])
    assert result.exit_code == 0, result.output
    assert "n/a" in result.output


def test_pv_outside_the_boundary_or_ownership_does_not_count(make_project: MakeProject) -> None:
    pv = """
[[pv_systems]]
id = "roof"
site = "dc"
capacity_kw = 1000
tilt_deg = 20
annual_yield_mwh_per_kw = 1.2
"""
    toml = DC_TOML.format(grid="0.0").replace(
        "longitude = 113.3\n", "longitude = 113.3\nowned_from = 2022-07-01\n"
    )
    root = make_project(ROWS, toml=toml + pv)
    row = calculate_electricity(tanlu.load_project(root), 2022).by_site.iloc[0]
    # owned from 1 July: the PV of the first half-year is not the organisation's
    assert 0 < row["onsite_pv_mwh"] < 1200.0

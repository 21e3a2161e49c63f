"""`tanlu procure`: one site's least-cost portfolio from the project's load, holdings and prices."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import tanlu
from tanlu.cli import app
from tanlu.electricity.procurement import ProcurementError
from tanlu.electricity.site_procurement import procure_for_site

from .conftest import MakeProject
from .test_matching import DC_TOML, ROWS

INSTRUMENTS = (
    "instrument_id,kind,vintage_year,energy_mwh,technology,site\n"
    "h1,green_power_contract,2022,2190,hydro,dc\n"
)
# Every price of the problem for Guangdong 2022, set by the project (so the test does not move
# when the bundled table is revised): contracts 300 CNY/MWh, grid 200 CNY/MWh (contracts cost
# more than the grid, so the optimiser buys only what the target needs).
PRICES = """\
parameter,region,year,value,unit,status,source,note
wind_price_cny_per_mwh,广东,2022,300,CNY/MWh,user,test,
solar_price_cny_per_mwh,广东,2022,300,CNY/MWh,user,test,
grid_price_cny_per_mwh,广东,2022,200,CNY/MWh,user,test,
"""


def dc_project(make_project: MakeProject, extra: str = "", toml: str | None = None) -> Path:
    return make_project(
        ROWS,
        toml=(toml or DC_TOML.format(grid="0.0")) + extra,
        files={"data/instruments.csv": INSTRUMENTS, "data/prices.csv": PRICES},
    )


def test_annual_matching_by_hand(make_project: MakeProject, tmp_path: Path) -> None:
    root = dc_project(make_project)
    out = tmp_path / "out"
    args = ["--site", "dc", "--year", "2022", "--cfe", "1", "--annual", "--json", "--out"]
    result = CliRunner().invoke(app, ["procure", str(root), *args, str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "procurement_dc_2022.json",
        "procurement_dc_2022_dispatch.csv",
    ]
    data = json.loads(result.stdout)  # nothing else on stdout (no solver banner)
    assert data["schema"] == "tanlu.procurement/1"
    # 8,760 MWh used, 2,190 MWh of hydro already held: 6,570 MWh more to contract, at 300
    assert data["load_mwh"] == pytest.approx(8760)
    assert data["existing_clean_mwh"] == pytest.approx(2190)
    assert data["current_cfe_score_share"] == pytest.approx(0.25)
    contracts = data["cost_breakdown_cny"]["wind"] + data["cost_breakdown_cny"]["solar"]
    assert contracts == pytest.approx(6570 * 300, rel=1e-6)
    assert data["annual_clean_share"] == pytest.approx(1.0, abs=1e-6)
    assert data["total_cost_cny"] == pytest.approx(data["objective_cny"], rel=1e-9)
    # no room for PV was given: none is built
    assert data["limits"]["pv_max_kw"] == 0.0
    assert data["portfolio"]["pv_kw"] == 0.0
    used = {row["parameter"]: row for row in data["prices"]}
    assert used["wind_price_cny_per_mwh"]["value"] == 300
    assert used["pv_capex_cny_per_kw"]["source"]  # a bundled price names its source


def test_hourly_target_is_reached(make_project: MakeProject) -> None:
    root = dc_project(make_project, toml=DC_TOML.format(grid="0.3"))
    project = tanlu.load_project(root)
    # a target above the site's current 47.5%, so that it binds (HiGHS takes about 6x longer
    # to reach 0.8 than 0.6 on the same 8,760 hours: the model and its constraints are the same)
    plan = procure_for_site(project, "dc", 2022, 0.6)
    assert plan.result.cfe_score_share >= 0.6 - 1e-6
    assert plan.result.cfe_score_share == pytest.approx(0.6, abs=1e-6)
    assert plan.current_cfe_score_share == pytest.approx(0.25 + 0.75 * 0.3)
    assert plan.result.total_cost_cny == pytest.approx(plan.result.objective_cny, rel=1e-6)
    # what is held is in the dispatch at no cost, hour by hour
    assert plan.result.dispatch["existing_mwh"].sum() == pytest.approx(2190)


def test_site_pv_potential_bounds_new_pv(make_project: MakeProject) -> None:
    toml = DC_TOML.format(grid="0.0").replace(
        "longitude = 113.3\n", "longitude = 113.3\npv_potential_kw = 500\n"
    )
    root = dc_project(make_project, toml=toml)
    cheap_pv = "pv_capex_cny_per_kw,广东,2022,1,CNY/kW,user,test,\n"
    (root / "data" / "prices.csv").write_text(PRICES + cheap_pv, encoding="utf-8")
    plan = procure_for_site(tanlu.load_project(root), "dc", 2022, 1.0, mode="annual")
    # PV at 1 CNY/kWp is far cheaper than anything else: all 500 kWp allowed are built
    assert plan.result.pv_kw == pytest.approx(500, rel=1e-6)
    args = ["--site", "dc", "--year", "2022", "--cfe", "1", "--annual", "--pv-max-kw", "800"]
    result = CliRunner().invoke(app, ["procure", str(root), *args])
    assert result.exit_code == 0, result.output
    assert "new on-site PV (kWp)" in result.stdout and "800.0" in result.stdout
    assert "New on-site PV limited to 800.0 kWp (--pv-max-kw)." in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--site", "moon"], "unknown site 'moon' (the project's sites: dc)"),
        # ids are case-sensitive after normalisation (tanlu.identifiers): 'ＤＣ ' is 'DC'
        (["--site", "ＤＣ "], "unknown site 'DC' (the project's sites: dc) (did you mean 'dc'?"),
        (["--year", "2021"], "site 'dc' has no electricity inside the boundary in 2021"),
    ],
)
def test_bad_requests(make_project: MakeProject, args: list[str], message: str) -> None:
    toml = DC_TOML.format(grid="0.0").replace(
        "base_year = 2022\nreporting_years = [2022]", "base_year = 2021\nreporting_years = [2022]"
    )
    root = dc_project(make_project, toml=toml)
    base = {"--site": "dc", "--year": "2022"}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    flat = [item for pair in base.items() for item in pair]
    result = CliRunner().invoke(app, ["procure", str(root), *flat, "--cfe", "0.9"])
    assert result.exit_code == 2
    assert message in result.output.replace("\n", " ")


def test_a_site_without_coordinates(make_project: MakeProject) -> None:
    toml = DC_TOML.format(grid="0.0").replace("latitude = 23.1\nlongitude = 113.3\n", "")
    project = tanlu.load_project(dc_project(make_project, toml=toml))
    with pytest.raises(ProcurementError, match="site 'dc' needs latitude and longitude"):
        procure_for_site(project, "dc", 2022, 0.9)


def test_a_bad_price_file_names_file_and_line(make_project: MakeProject) -> None:
    root = dc_project(make_project)
    (root / "data" / "prices.csv").write_text(
        PRICES + "grid_price_cny_per_mwh,广东,2023,cheap,CNY/MWh,user,test,\n", encoding="utf-8"
    )
    result = CliRunner().invoke(
        app, ["procure", str(root), "--site", "dc", "--year", "2022", "--cfe", "0.9"]
    )
    assert result.exit_code != 0
    assert "prices.csv, line 5" in result.output and "cheap" in result.output

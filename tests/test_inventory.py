"""The inventory: golden cases a person can check by hand, with the arithmetic written out."""

from __future__ import annotations

import pytest

import tanlu
from tanlu.inventory import InventoryResult

from .conftest import BASIC_TOML, MakeProject

# MEE/NBS 2022 factors [tCO2/MWh] (src/tanlu/factors/data/factors_electricity_cn.csv)
GUANGDONG_2022 = 0.4403
BEIJING_2022 = 0.558
NATIONAL_EXCL_2022 = 0.5856  # national, excluding market-traded non-fossil electricity
NATIONAL_2022 = 0.5366


def inventory(root, year: int = 2022) -> InventoryResult:  # type: ignore[no-untyped-def]
    return tanlu.calculate_inventory(tanlu.load_project(root), year)


ELECTRICITY = """\
gz,2022-01-01,2022-12-31,electricity,1000,MWh
bj,2021-12-01,2022-01-31,electricity,620,MWh
"""


def test_location_based_scope2_with_a_period_split_by_days(make_project: MakeProject) -> None:
    result = inventory(make_project(ELECTRICITY))
    # gz: 1,000 MWh x 0.4403 = 440.3 t
    # bj: 620 MWh over 62 days (1 Dec 2021 - 31 Jan 2022), 31 of them in 2022 -> 310 MWh
    #     310 x 0.558 = 172.98 t
    assert result.scope2_location_tco2e == pytest.approx(440.3 + 172.98, rel=1e-12)
    by_site = result.by_site.set_index("site")
    assert by_site.loc["bj", "electricity_mwh"] == pytest.approx(310.0)
    # The 2021 part lands in 2021: 310 MWh x Beijing 2021 (0.5688) = 176.328 t
    assert inventory(make_project(ELECTRICITY, name="p2"), 2021).scope2_location_tco2e == (
        pytest.approx(310 * 0.5688, rel=1e-12)
    )


def test_market_based_with_pooled_certificates(make_project: MakeProject) -> None:
    instruments = "instrument_id,kind,vintage_year,energy_mwh\ngec-1,gec,2022,300\n"
    result = inventory(make_project(ELECTRICITY, files={"data/instruments.csv": instruments}))
    # 1,310 MWh consumed; 300 MWh of GECs at zero; 1,010 MWh x 0.5856 = 591.456 t
    assert result.scope2_market_tco2e == pytest.approx(1010 * NATIONAL_EXCL_2022, rel=1e-12)
    allocated = result.scope2_market.allocations["allocated_mwh"].sum()
    assert allocated == pytest.approx(300.0)
    assert result.scope2_market.unallocated.empty


def test_certificates_are_claimed_once_and_surplus_reported(make_project: MakeProject) -> None:
    instruments = (
        "instrument_id,kind,vintage_year,energy_mwh,site\n"
        "ppa-gz,green_power_contract,2022,1200,gz\n"  # gz uses only 1,000: 200 left over
        "gec-old,gec,2021,500,\n"  # wrong vintage: not used for 2022
    )
    result = inventory(make_project(ELECTRICITY, files={"data/instruments.csv": instruments}))
    market = result.scope2_market.by_site.set_index("site")
    assert market.loc["gz", "market_tco2e"] == pytest.approx(0.0)
    # bj: 310 MWh x 0.5856 = 181.536 t
    assert market.loc["bj", "market_tco2e"] == pytest.approx(310 * NATIONAL_EXCL_2022, rel=1e-12)
    unallocated = result.scope2_market.unallocated.set_index("instrument_id")
    assert unallocated.loc["ppa-gz", "unallocated_mwh"] == pytest.approx(200.0)
    assert "gec-old" not in unallocated.index


def test_supplier_factor_and_market_boundary(make_project: MakeProject) -> None:
    instruments = (
        "instrument_id,kind,vintage_year,energy_mwh,site,market,supplier_factor_tco2e_per_mwh\n"
        "sup-1,supplier_factor,2022,100,bj,,0.3\n"
        "irec-1,gec,2022,50,,Europe,\n"
    )
    result = inventory(make_project(ELECTRICITY, files={"data/instruments.csv": instruments}))
    # bj: 100 MWh x 0.3 + 210 MWh x 0.5856 = 30 + 122.976; gz: 1,000 x 0.5856
    expected = 100 * 0.3 + 210 * NATIONAL_EXCL_2022 + 1000 * NATIONAL_EXCL_2022
    assert result.scope2_market_tco2e == pytest.approx(expected, rel=1e-12)
    reason = result.scope2_market.unallocated.set_index("instrument_id").loc["irec-1", "reason"]
    assert "market boundary" in reason


def test_reading_b_uses_the_national_average(make_project: MakeProject) -> None:
    toml = BASIC_TOML + '\n[accounting]\nmarket_residual_policy = "grid_average"\n'
    result = inventory(make_project(ELECTRICITY, toml=toml))
    # 1,310 MWh x 0.5366 = 702.946 t
    assert result.scope2_market_tco2e == pytest.approx(1310 * NATIONAL_2022, rel=1e-12)


def test_standards_golden_case_reading_a(make_project: MakeProject) -> None:
    # shared/reference/standards.md section 6: 10,000 MWh, 3,000 MWh green power with GECs,
    # 2022 factors. Market-based under reading A: 7,000 x 0.5856 = 4,099.2 t.
    toml = BASIC_TOML.replace('province = "广东"', 'province = "西藏"')  # national location factor
    rows = "gz,2022-01-01,2022-12-31,electricity,10000,MWh\n"
    instruments = (
        "instrument_id,kind,vintage_year,energy_mwh\ngp-1,green_power_contract,2022,3000\n"
    )
    result = inventory(make_project(rows, toml=toml, files={"data/instruments.csv": instruments}))
    assert result.scope2_location_tco2e == pytest.approx(5366.0, rel=1e-12)  # 10,000 x 0.5366
    assert result.scope2_market_tco2e == pytest.approx(4099.2, rel=1e-12)
    assert "Tibet" in result.fallbacks["fallback"].iloc[0]


def test_scope1_fuels_and_refrigerants(make_project: MakeProject) -> None:
    rows = (
        "bj,2022-03-01,2022-03-31,diesel_stationary,1000,L\n"
        "gz,2022-05-01,2022-05-01,refrigerant_hfc_134a,10,kg\n"
        "gz,2022-05-01,2022-05-01,refrigerant_hcfc_22,5,kg\n"
    )
    result = inventory(make_project(rows))
    # diesel: 1,000 L = 1 m3 x 0.8299 t/m3 = 0.8299 t x 3.0959 tCO2/t (China guideline)
    diesel = 0.8299 * 3.0959
    # HFC-134a: 0.010 t x GWP 1,300 (AR5) = 13 t
    assert result.scope1_tco2e == pytest.approx(diesel + 13.0, rel=1e-12)
    # HCFC-22 (Montreal Protocol): 0.005 t x 1,760 = 8.8 t, outside the scopes
    assert result.outside_scopes_tco2e == pytest.approx(8.8, rel=1e-12)
    # category 3, derived: 0.8299 t of diesel x 752.0276 kg CO2e/t well-to-tank (DESNZ 2025)
    wtt = 0.8299 * 0.7520276
    assert result.scope3_tco2e == pytest.approx(wtt, rel=1e-12)
    assert result.total_location_tco2e == pytest.approx(diesel + 13.0 + wtt, rel=1e-12)


def test_gwp_set_is_the_projects_choice(make_project: MakeProject) -> None:
    toml = BASIC_TOML.replace(
        "reporting_years = [2021, 2022]", 'reporting_years = [2021, 2022]\ngwp_set = "AR6"'
    )
    rows = "gz,2022-05-01,2022-05-01,refrigerant_hfc_134a,10,kg\n"
    # 0.010 t x 1,530 (AR6) = 15.3 t
    assert inventory(make_project(rows, toml=toml)).scope1_tco2e == pytest.approx(15.3)


EQUITY_TOML = """\
[organisation]
name = "Group"
base_year = 2022
reporting_years = [2022]
consolidation_approach = "{approach}"

[[entities]]
id = "parent"
name = "Parent"

[[entities]]
id = "jv"
name = "Joint venture"
ownership_share = 0.6
operational_control = false
financial_control = true

[[entities]]
id = "landlord"
name = "Colocation provider"
ownership_share = 0.0
operational_control = false
financial_control = false

[[sites]]
id = "hq"
name = "HQ"
entity = "parent"
province = "Guangdong"

[[sites]]
id = "jv-dc"
name = "JV data centre"
entity = "jv"
province = "Guangdong"

[[sites]]
id = "colo"
name = "Leased colocation hall"
entity = "landlord"
province = "Guangdong"
leased = true
"""

GROUP_ROWS = """\
hq,2022-01-01,2022-12-31,electricity,1000,MWh
jv-dc,2022-01-01,2022-12-31,electricity,1000,MWh
colo,2022-01-01,2022-12-31,electricity,1000,MWh
"""


@pytest.mark.parametrize(
    ("approach", "scope2_mwh", "scope3_mwh", "excluded"),
    [
        # hq in full; jv not operationally controlled and not leased: excluded; colo -> cat 8
        ("operational_control", 1000, 1000, {"jv-dc"}),
        # hq and jv (financially controlled) in full; colo -> cat 8
        ("financial_control", 2000, 1000, set()),
        # hq x 1.0 + jv x 0.6; colo (0% owned, leased) -> cat 8
        ("equity_share", 1600, 1000, set()),
    ],
)
def test_consolidation_approaches(
    make_project: MakeProject,
    approach: str,
    scope2_mwh: float,
    scope3_mwh: float,
    excluded: set[str],
) -> None:
    root = make_project(GROUP_ROWS, toml=EQUITY_TOML.format(approach=approach), name=approach)
    result = inventory(root)
    assert result.scope2_location_tco2e == pytest.approx(scope2_mwh * GUANGDONG_2022, rel=1e-12)
    assert result.scope3_tco2e == pytest.approx(scope3_mwh * GUANGDONG_2022, rel=1e-12)
    cat8 = result.by_category.loc[result.by_category["category"] == "cat8_upstream_leased_assets"]
    assert float(cat8["emissions_tco2e"].sum()) == pytest.approx(scope3_mwh * GUANGDONG_2022)
    assert set(result.excluded_sites["site"]) == excluded


def test_scope3_spend_travel_and_category_override(make_project: MakeProject) -> None:
    rows = (
        "gz,2022-06-01,2022-06-30,spend_naics_334111,100,万元\n"
        "gz,2022-06-01,2022-06-30,spend_naics_334111,50000,CNY\n"
        "gz,2022-07-01,2022-07-03,air_travel_domestic,2000,passenger-km\n"
    )
    root = make_project(rows)
    (root / "data" / "activities.csv").write_text(
        "site,period_start,period_end,activity,quantity,unit,category\n"
        "gz,2022-06-01,2022-06-30,spend_naics_334111,100,万元,cat1_purchased_goods_services\n"
        "gz,2022-06-01,2022-06-30,spend_naics_334111,50000,CNY,\n"
        "gz,2022-07-01,2022-07-03,air_travel_domestic,2000,passenger-km,\n",
        encoding="utf-8",
    )
    result = inventory(root)
    library = tanlu.factors.load_factor_library()
    spend = library.factors.set_index("factor_id").loc["us_epa_sc_v1_3_us_spend_naics_334111"]
    per_cny = spend["value"] / 1000 / library.cny_per_usd[2022]  # kg/USD_2022 -> t/CNY
    categories = result.by_category.set_index("category")["emissions_tco2e"]
    # 100 万元 = 1,000,000 CNY moved to category 1; 50,000 CNY stays in category 2
    assert categories["cat1_purchased_goods_services"] == pytest.approx(1_000_000 * per_cny)
    assert categories["cat2_capital_goods"] == pytest.approx(50_000 * per_cny)
    # domestic flight: 2,000 pkm x 95.3 g/pkm (BJTU, China, flight stage) = 0.1906 t
    assert categories["cat6_business_travel"] == pytest.approx(0.1906, rel=1e-12)


def test_every_line_traces_to_its_row_and_factor(make_project: MakeProject) -> None:
    rows = ELECTRICITY + "bj,2022-03-01,2022-03-31,diesel_stationary,2,t\n"
    result = inventory(make_project(rows))
    lines = result.lines
    assert lines["source_file"].str.endswith("activities.csv").all()
    # line 4 (diesel) has two emission lines: its combustion and its derived well-to-tank
    assert sorted(lines["source_line"]) == [2, 3, 4, 4]
    assert set(lines.loc[lines["source_line"] == 4, "activity"]) == {
        "diesel_stationary",
        "wtt_diesel",
    }
    assert set(lines["factor_id"]) <= set(result.factors_used["factor_id"])
    assert result.factors_used["source"].str.len().gt(0).all()
    in_scopes = lines.loc[~lines["outside_scopes"], "emissions_tco2e"].sum()
    assert in_scopes == pytest.approx(result.total_location_tco2e, rel=1e-12)


def test_scopes_sum_to_totals(make_project: MakeProject) -> None:
    rows = ELECTRICITY + (
        "bj,2022-03-01,2022-03-31,diesel_stationary,2,t\n"
        "gz,2022-07-01,2022-07-03,rail_travel,500,passenger-km\n"
    )
    result = inventory(make_project(rows))
    totals = result.to_dict()["totals"]
    # the scope totals (from the engine's one aggregation) add up to the emission lines, which
    # are computed by a separate query
    lines = result.lines.loc[~result.lines["outside_scopes"]]
    for scope, key in ((1, "scope1_tco2e"), (2, "scope2_location_tco2e"), (3, "scope3_tco2e")):
        in_lines = lines.loc[lines["scope"] == scope, "emissions_tco2e"].sum()
        assert totals[key] == pytest.approx(in_lines, rel=1e-12)
    assert totals["total_location_tco2e"] == pytest.approx(lines["emissions_tco2e"].sum())
    by_gas = result.by_gas.loc[~result.by_gas["outside_scopes"], "emissions_tco2e"].sum()
    assert by_gas == pytest.approx(totals["total_location_tco2e"])
    by_site = result.by_site[["scope1_tco2e", "scope2_location_tco2e", "scope3_tco2e"]].sum()
    assert by_site.sum() == pytest.approx(totals["total_location_tco2e"])


ACQUISITION_TOML = BASIC_TOML.replace(
    'kind = "data_centre"\nprovince = "Beijing"',
    'kind = "data_centre"\nprovince = "Beijing"\nowned_from = 2022-07-01',
)


def test_acquired_site_counts_from_its_acquisition_and_triggers_recalculation(
    make_project: MakeProject,
) -> None:
    rows = (
        "gz,2021-01-01,2021-12-31,electricity,1000,MWh\n"
        "gz,2022-01-01,2022-12-31,electricity,1000,MWh\n"
        "bj,2021-01-01,2021-12-31,electricity,365,MWh\n"
        "bj,2022-01-01,2022-12-31,electricity,365,MWh\n"
    )
    result = inventory(make_project(rows, toml=ACQUISITION_TOML))
    # bj joined on 1 July 2022: 184 of 365 days counted -> 184 MWh x 0.558
    assert result.scope2_location_tco2e == pytest.approx(
        1000 * GUANGDONG_2022 + 184 * BEIJING_2022, rel=1e-12
    )
    check = result.base_year_check
    assert check is not None
    # Base year 2021 as reported: gz only, 1,000 x 0.4715 = 471.5 t
    assert check.reported_tco2e == pytest.approx(471.5, rel=1e-12)
    # In the structure of 2022: + bj for all of 2021, 365 x 0.5688 = 207.612 t
    assert check.recalculated_tco2e == pytest.approx(471.5 + 207.612, rel=1e-12)
    assert check.change_share == pytest.approx(207.612 / 471.5, rel=1e-12)
    assert check.recalculation_required
    assert check.sites_added == ("bj",)


def test_organic_growth_does_not_trigger_recalculation(make_project: MakeProject) -> None:
    rows = (
        "gz,2021-01-01,2021-12-31,electricity,1000,MWh\n"
        "gz,2022-01-01,2022-12-31,electricity,3000,MWh\n"
    )
    check = inventory(make_project(rows)).base_year_check
    assert check is not None
    assert check.change_share == 0.0
    assert not check.recalculation_required


def test_fuel_upstream_can_be_entered_instead_of_derived(make_project: MakeProject) -> None:
    rows = "bj,2022-03-01,2022-03-31,diesel_mobile,2,t\nbj,2022-03-01,2022-03-31,wtt_diesel,2,t\n"
    # derived by default: entering wtt_diesel as well would count it twice
    issues = tanlu.ingest.check_inputs(tanlu.load_project(make_project(rows)))
    assert [(i.line, i.column) for i in issues] == [(3, "activity")]
    assert "count it twice" in issues[0].reason
    toml = BASIC_TOML + "\n[accounting]\nderive_fuel_upstream = false\n"
    result = inventory(make_project(rows, toml=toml, name="entered"))
    # 2 t x 0.7520276 t CO2e/t, once
    assert result.scope3_tco2e == pytest.approx(2 * 0.7520276, rel=1e-12)


def test_a_project_factor_cannot_join_a_bundled_set(make_project: MakeProject) -> None:
    # same dataset, region and year as the bundled Guangdong 2022 factor: its rows would mix
    files = {
        "factors/mine.csv": "factor_id,dataset,activity,gas,value,unit,region_level,region,"
        "year_start,year_end,source\n"
        "mine,cn_mee_nbs_2022,electricity,CO2,0.45,t/MWh,province,广东,2022,2022,a letter\n"
    }
    issues = tanlu.ingest.check_inputs(tanlu.load_project(make_project(ELECTRICITY, files=files)))
    assert [(i.line, i.column) for i in issues] == [(2, "dataset")]
    assert "bundled dataset" in issues[0].reason


def test_scope2_rows_cannot_change_category(make_project: MakeProject) -> None:
    root = make_project("")
    (root / "data" / "activities.csv").write_text(
        "site,period_start,period_end,activity,quantity,unit,category\n"
        "gz,2022-01-01,2022-12-31,electricity,1000,MWh,purchased_heat\n",
        encoding="utf-8",
    )
    issues = tanlu.ingest.check_inputs(tanlu.load_project(root))
    assert [(i.line, i.column) for i in issues] == [(2, "category")]
    assert "only scope 3" in issues[0].reason


def test_timezone_aware_parquet_dates(make_project: MakeProject) -> None:
    import pandas as pd

    root = make_project("")
    frame = pd.DataFrame(
        {
            "site": ["gz"],
            # midnight in Beijing is 16:00 the day before in UTC
            "period_start": [pd.Timestamp("2021-12-31 16:00", tz="UTC")],
            "period_end": [pd.Timestamp("2022-12-31 15:00", tz="UTC")],
            "activity": ["electricity"],
            "quantity": [1000.0],
            "unit": ["MWh"],
        }
    )
    frame.to_parquet(root / "data" / "meters.parquet")
    # the whole of 2022 in China: 1,000 MWh x 0.4403
    assert inventory(root).scope2_location_tco2e == pytest.approx(440.3, rel=1e-12)


def test_instruments_for_leased_assets_lower_category_8(make_project: MakeProject) -> None:
    # The colocation hall (1,000 MWh, scope 3 category 8 at Guangdong's 0.4403) gets 400 MWh of
    # GECs and 100 MWh at a supplier's 0.2 t/MWh named for it; a pooled GEC of 300 MWh goes to
    # own operations only (hq). Category 8: 500 x 0.4403 + 100 x 0.2 = 240.15 t
    instruments = (
        "instrument_id,kind,vintage_year,energy_mwh,site,supplier_factor_tco2e_per_mwh\n"
        "gec-colo,gec,2022,400,colo,\n"
        "sup-colo,supplier_factor,2022,100,colo,0.2\n"
        "gec-pool,gec,2022,300,,\n"
    )
    root = make_project(
        GROUP_ROWS,
        toml=EQUITY_TOML.format(approach="operational_control"),
        files={"data/instruments.csv": instruments},
    )
    result = inventory(root)
    cat8 = 500 * GUANGDONG_2022 + 100 * 0.2
    assert result.scope3_tco2e == pytest.approx(cat8, rel=1e-12)
    by_category = result.by_category.set_index(["scope", "category"])
    assert by_category.at[(3, "cat8_upstream_leased_assets"), "emissions_tco2e"] == pytest.approx(
        cat8, rel=1e-12
    )
    # the lines add up to the same figure, each carrying its scale (240.15 / 440.3)
    lines = result.lines.loc[result.lines["site"] == "colo"]
    assert float(lines["emissions_tco2e"].sum()) == pytest.approx(cat8, rel=1e-12)
    assert set(lines["instrument_scale"].round(12)) == {round(cat8 / (1000 * GUANGDONG_2022), 12)}
    leased = result.scope2_market.leased_by_site.set_index("site")
    assert leased.at["colo", "contractual_mwh"] == pytest.approx(400)
    assert leased.at["colo", "supplier_mwh"] == pytest.approx(100)
    assert leased.at["colo", "market_tco2e"] == pytest.approx(cat8)
    assert set(result.scope2_market.leased_allocations["instrument_id"]) == {"gec-colo", "sup-colo"}
    # own operations: hq's 1,000 MWh less the pooled 300 at the 2022 residual factor
    assert set(result.scope2_market.allocations["instrument_id"]) == {"gec-pool"}
    assert result.scope2_market_tco2e == pytest.approx(700 * NATIONAL_EXCL_2022, rel=1e-12)
    # location-based scope 2 and own green electricity are untouched
    assert result.scope2_location_tco2e == pytest.approx(1000 * GUANGDONG_2022, rel=1e-12)
    assert result.to_dict()["scope2_market"]["leased_by_site"][0]["site"] == "colo"

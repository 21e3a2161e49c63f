"""Fuel factors meet energy entries through their own dataset's NCV; China's two fuel tables;
methane GWP by origin. Every expected number is worked out by hand in the test."""

from __future__ import annotations

import pytest

import tanlu
from tanlu.errors import InputError, ProjectError
from tanlu.factors import load_factor_library, lookup_factor
from tanlu.factors.bundled import read_data_csv
from tanlu.inventory import InventoryResult

from .conftest import MakeProject

# A 2014 inventory with year_first lookups: the China guideline set starts in 2015, so every
# fuel takes the IPCC 2006 set (valid from 2006) and the well-to-tank rows the DESNZ 2025 set.
IPCC_TOML = """\
[organisation]
name = "Toy Co"
base_year = 2014
reporting_years = [2014]
gwp_set = "{gwp}"

[accounting]
factor_fallback_order = "year_first"
derive_fuel_upstream = {upstream}

[[entities]]
id = "parent"
name = "Parent"

[[sites]]
id = "gz"
name = "Guangzhou office"
entity = "parent"
province = "Guangdong"
"""

CHINA_TOML = """\
[organisation]
name = "Toy Co"
base_year = 2022
reporting_years = [2022]

[accounting]
derive_fuel_upstream = false
{table}

[[entities]]
id = "parent"
name = "Parent"

[[sites]]
id = "gz"
name = "Guangzhou office"
entity = "parent"
province = "Guangdong"
"""


def co2_of(result: InventoryResult, activity: str) -> float:
    lines = result.lines
    rows = lines.loc[(lines["activity"] == activity) & (lines["gas"] == "CO2")]
    return float(rows["emissions_t"].sum())


def ipcc_inventory(
    make_project: MakeProject, rows: str, gwp: str = "AR5", upstream: str = "false"
) -> InventoryResult:
    toml = IPCC_TOML.format(gwp=gwp, upstream=upstream)
    return tanlu.calculate_inventory(tanlu.load_project(make_project(rows, toml=toml)), 2014)


# IPCC 2006 Vol.2 Ch.1: CO2 [kg/TJ = t/1000 GJ] and the NCV [GJ/t] the ipcc_2006 rows of
# factors_fuels.csv were built with (fuel_properties.csv rows with dataset ipcc_2006).
@pytest.mark.parametrize(
    ("activity", "per_tonne", "ncv", "kg_per_gj"),
    [
        # 3.1863 t/t / 43.0 GJ/t = 0.0741 t/GJ = 74.1 kg/GJ (Gas/Diesel Oil 74,100 kg/TJ)
        ("diesel_stationary", 3.1863, 43.0, 74.1),
        ("diesel_mobile", 3.1863, 43.0, 74.1),
        # 3.0700 / 44.3 = 0.069300 t/GJ: Motor Gasoline 69,300 kg/TJ (3.0700 is rounded)
        ("gasoline_mobile", 3.0700, 44.3, 69.3),
        # 2.4407 / 25.8 = 0.094601 t/GJ: Other Bituminous Coal 94,600 kg/TJ (was 116.7 kg/GJ
        # when China's raw-coal NCV 20.908 turned the GJ into tonnes: 2.4407 / 20.908)
        ("coal_stationary", 2.4407, 25.8, 94.6),
    ],
)
def test_a_gj_entered_gives_back_the_ipcc_dataset_kg_per_gj(
    make_project: MakeProject, activity: str, per_tonne: float, ncv: float, kg_per_gj: float
) -> None:
    result = ipcc_inventory(make_project, f"gz,2014-01-01,2014-12-31,{activity},1000,GJ\n")
    assert set(result.factors_used["dataset"]) >= {"ipcc_2006"}
    # 1,000 GJ / ncv GJ/t = tonnes of fuel in the dataset's own terms, x per_tonne t/t
    assert co2_of(result, activity) == pytest.approx(1000 / ncv * per_tonne, rel=1e-12)
    # = kg/GJ x 1,000 GJ / 1,000 kg/t, to the rounding of the t/t value (4-5 digits)
    assert co2_of(result, activity) == pytest.approx(kg_per_gj, rel=2e-4)


def test_natural_gas_gj_gives_back_ipcc_56_1_kg_per_gj(make_project: MakeProject) -> None:
    # ipcc_2006 natural gas per m3 was built as 56,100 kg/TJ x 0.038931 GJ/m3 = 2.1840 kg/m3,
    # so 1,000 GJ / 0.038931 GJ/m3 = 25,686.5 m3 x 2.1840 kg/m3 = 56.099 t (56.1 kg/GJ)
    rows = "gz,2014-01-01,2014-12-31,natural_gas_stationary,1000,GJ\n"
    result = ipcc_inventory(make_project, rows)
    assert co2_of(result, "natural_gas_stationary") == pytest.approx(
        1000 / 0.038931 * 2.1840 / 1000, rel=1e-12
    )
    assert co2_of(result, "natural_gas_stationary") == pytest.approx(56.1, rel=2e-4)


def test_tce_is_energy_too(make_project: MakeProject) -> None:
    # 10 tce x 29.3076 GJ/tce = 293.076 GJ / 25.8 GJ/t x 2.4407 t/t = 27.725 t CO2
    result = ipcc_inventory(make_project, "gz,2014-01-01,2014-12-31,coal_stationary,10,tce\n")
    assert co2_of(result, "coal_stationary") == pytest.approx(293.076 / 25.8 * 2.4407, rel=1e-12)


def test_a_mass_entry_is_unchanged(make_project: MakeProject) -> None:
    # 10 t of diesel x 3.1863 t/t = 31.863 t: tonnes need no NCV
    result = ipcc_inventory(make_project, "gz,2014-01-01,2014-12-31,diesel_stationary,10,t\n")
    assert co2_of(result, "diesel_stationary") == pytest.approx(31.863, rel=1e-12)


def test_well_to_tank_of_an_energy_entry_uses_the_desnz_ncv(make_project: MakeProject) -> None:
    rows = "gz,2014-01-01,2014-12-31,diesel_stationary,1000,GJ\n"
    result = ipcc_inventory(make_project, rows, upstream="true")
    wtt = result.lines.loc[result.lines["activity"] == "wtt_diesel", "emissions_tco2e"].sum()
    # DESNZ 2025: 752.0276 kg CO2e/t and 0.06291 kg/kWh (net) give 43.034 GJ/t; 1,000 GJ /
    # 43.034 GJ/t x 0.7520276 t/t = 17.475 t = 1,000 GJ / 0.0036 GJ/kWh x 0.06291 kg / 1,000
    assert wtt == pytest.approx(1000 / 43.034 * 0.7520276, rel=1e-12)
    assert wtt == pytest.approx(1000 / 0.0036 * 0.06291 / 1000, rel=2e-4)
    # the combustion line still uses IPCC's 43.0: 1,000 / 43.0 x 3.1863 = 74.1 t
    assert co2_of(result, "diesel_stationary") == pytest.approx(74.1, rel=1e-12)


def test_china_set_gj_gives_its_own_kg_per_gj(make_project: MakeProject) -> None:
    # 1,000 GJ / 42.652 GJ/t x 3.0959 t/t = 72.586 t (20.2 tC/TJ x 0.98 x 44/12 = 72.585 kg/GJ)
    toml = CHINA_TOML.format(table="")
    root = make_project("gz,2022-01-01,2022-12-31,diesel_stationary,1000,GJ\n", toml=toml)
    result = tanlu.calculate_inventory(tanlu.load_project(root), 2022)
    assert co2_of(result, "diesel_stationary") == pytest.approx(1000 / 42.652 * 3.0959)
    assert co2_of(result, "diesel_stationary") == pytest.approx(20.2 * 0.98 * 44 / 12, rel=1e-4)


@pytest.mark.parametrize(
    ("table", "diesel_t_per_t", "gasoline_t_per_t"),
    [
        # default: GB/T 2589 NCVs. 42.652 x 20.2 x 0.98 x 44/12 / 1000 = 3.0959;
        # 43.070 x 18.9 x 0.98 x 44/12 / 1000 = 2.9251
        ("", 3.0959, 2.9251),
        ('cn_fuel_parameter_table = "gb_t_2589"', 3.0959, 2.9251),
        # 2015 guidelines: 43.33 x 20.2 x 0.98 x 44/12 / 1000 = 3.1451;
        # 44.80 x 18.9 x 0.98 x 44/12 / 1000 = 3.0425
        ('cn_fuel_parameter_table = "ndrc_2015"', 3.1451, 3.0425),
    ],
)
def test_a_project_chooses_the_china_fuel_table(
    make_project: MakeProject, table: str, diesel_t_per_t: float, gasoline_t_per_t: float
) -> None:
    rows = (
        "gz,2022-01-01,2022-12-31,diesel_mobile,10,t\n"
        "gz,2022-01-01,2022-12-31,gasoline_mobile,10,t\n"
        "gz,2022-01-01,2022-12-31,natural_gas_stationary,1000,m3\n"
    )
    root = make_project(rows, toml=CHINA_TOML.format(table=table))
    result = tanlu.calculate_inventory(tanlu.load_project(root), 2022)
    assert co2_of(result, "diesel_mobile") == pytest.approx(10 * diesel_t_per_t, rel=1e-12)
    assert co2_of(result, "gasoline_mobile") == pytest.approx(10 * gasoline_t_per_t, rel=1e-12)
    # natural gas has one table: 1,000 m3 x 2.1622 kg/m3 = 2.1622 t either way
    assert co2_of(result, "natural_gas_stationary") == pytest.approx(2.1622, rel=1e-12)


def test_an_unknown_fuel_table_names_the_setting(make_project: MakeProject) -> None:
    toml = CHINA_TOML.format(table='cn_fuel_parameter_table = "ndrc_2013"')
    root = make_project("gz,2022-01-01,2022-12-31,diesel_mobile,10,t\n", toml=toml)
    with pytest.raises(ProjectError) as caught:
        tanlu.load_project(root)
    text = str(caught.value)
    assert "tanlu.toml" in text
    assert "cn_fuel_parameter_table" in text
    assert "ndrc_2015" in text  # the reason lists what is allowed


def test_without_a_project_the_default_table_wins() -> None:
    library = load_factor_library()
    # both China tables are national rows from 2015; priority 1 keeps the 2015 table out
    rows = lookup_factor(library, "diesel_mobile", "广东", 2022)
    assert set(rows["dataset"]) == {"cn_guideline_fuels"}


@pytest.mark.parametrize(("gwp", "ch4_gwp"), [("AR5", 28.0), ("AR6", 27.0)])
def test_combustion_methane_takes_the_non_fossil_gwp(
    make_project: MakeProject, gwp: str, ch4_gwp: float
) -> None:
    # diesel_stationary's CH4 (IPCC 2006, 0.43 kg/t) is combustion methane: its carbon is
    # already in the CO2 factor (full oxidation), so AR6 applies 27.0 (not fossil 29.8, not
    # generic 27.9); AR5 has one value, 28. 10 t x 0.43 kg/t = 4.3 kg = 0.0043 t CH4.
    result = ipcc_inventory(
        make_project, "gz,2014-01-01,2014-12-31,diesel_stationary,10,t\n", gwp=gwp
    )
    ch4 = result.lines.loc[result.lines["gas"] == "CH4"]
    assert ch4["gwp"].tolist() == [ch4_gwp]
    assert float(ch4["emissions_tco2e"].sum()) == pytest.approx(0.0043 * ch4_gwp, rel=1e-12)


def test_methane_gwp_by_origin() -> None:
    library = load_factor_library()
    # IPCC AR6 WG1 Table 7.15: fossil 29.8, non-fossil 27.0; 7.SM.7 generic 27.9
    assert library.gwp_of("CH4", "AR6", "fossil") == 29.8
    assert library.gwp_of("CH4", "AR6", "non_fossil") == 27.0
    assert library.gwp_of("CH4", "AR6") == 27.9
    # AR5: fossil 30 (Table 8.7), otherwise 28
    assert library.gwp_of("CH4", "AR5", "fossil") == 30
    assert library.gwp_of("CH4", "AR5", "non_fossil") == 28
    # a gas with one value ignores the origin
    assert library.gwp_of("N2O", "AR6", "fossil") == 273


def test_a_bad_ch4_origin_names_file_line_and_reason(make_project: MakeProject) -> None:
    catalogue = (
        "activity,name_en,name_zh,scope,category,canonical_unit,method,ch4_origin\n"
        "biogas_boiler,Biogas boiler,沼气锅炉,1,stationary_combustion,m3,fuel-based,biogenic\n"
    )
    factors = (
        "factor_id,activity,gas,value,unit,source\n"
        "biogas_ch4,biogas_boiler,CH4,0.01,kg/m3,supplier test report 2022\n"
    )
    root = make_project(
        "gz,2022-01-01,2022-12-31,electricity,10,MWh\n",
        toml=CHINA_TOML.format(table=""),
        files={"factors/activities.csv": catalogue, "factors/biogas.csv": factors},
    )
    with pytest.raises(InputError) as caught:
        tanlu.calculate_inventory(tanlu.load_project(root), 2022)
    issues = [i for i in caught.value.issues if i.column == "ch4_origin"]
    assert len(issues) == 1
    assert issues[0].file.endswith("activities.csv")
    assert issues[0].line == 2
    assert "'biogenic' is not one of fossil, non_fossil" in issues[0].reason


def test_every_fuel_property_has_a_source_and_status() -> None:
    table = read_data_csv("fuel_properties.csv")
    assert table["source"].notna().all()
    assert set(table["status"]) <= {"S", "S3", "D"}
    library = load_factor_library()
    # the IPCC rows of a fuel are consistent with their NCV: t/t / (GJ/t) = the IPCC kg/GJ
    assert library.dataset_ncv_gj_per_unit("ipcc_2006", "diesel_mobile") == 43.0
    assert library.dataset_ncv_gj_per_unit("cn_guideline_2015_fuels", "gasoline_mobile") == 44.8
    assert library.dataset_ncv_gj_per_unit("uk_desnz_2025", "wtt_natural_gas") == 0.036204
    # a dataset without an NCV of its own has none (the activity default applies)
    assert library.dataset_ncv_gj_per_unit("us_epa_sc_v1_3", "diesel_mobile") is None


def test_fugitive_fossil_methane_takes_the_fossil_gwp(make_project: MakeProject) -> None:
    # a project's own activity: methane leaked from a gas pipe, 1 t of CH4 per t leaked
    catalogue = (
        "activity,name_en,name_zh,scope,category,canonical_unit,method,ch4_origin\n"
        "gas_leak,Natural gas leaked,天然气泄漏,1,fugitive,t,average-data,fossil\n"
    )
    factors = (
        "factor_id,activity,gas,value,unit,source\n"
        "gas_leak_ch4,gas_leak,CH4,1,t/t,mass balance: the gas is methane\n"
    )
    toml = CHINA_TOML.format(table="").replace(
        "reporting_years = [2022]", 'reporting_years = [2022]\ngwp_set = "AR6"'
    )
    root = make_project(
        "gz,2022-01-01,2022-12-31,gas_leak,2,t\n",
        toml=toml,
        files={"factors/activities.csv": catalogue, "factors/leak.csv": factors},
    )
    result = tanlu.calculate_inventory(tanlu.load_project(root), 2022)
    # 2 t CH4 x 29.8 (AR6 fossil, Table 7.15) = 59.6 tCO2e; generic 27.9 would give 55.8
    assert result.scope1_tco2e == pytest.approx(59.6, rel=1e-12)


@pytest.mark.parametrize(("activity", "ncv"), [("coal_stationary", 25.8), ("diesel_mobile", 43.0)])
def test_tonnes_and_their_energy_give_the_same_emissions(
    make_project: MakeProject, activity: str, ncv: float
) -> None:
    # 10 t and 10 t x ncv GJ/t of the same fuel are the same fuel for the IPCC set:
    # coal 258 GJ, diesel 430 GJ; the CO2 of both rows must be equal
    rows = (
        f"gz,2014-01-01,2014-06-30,{activity},10,t\n"
        f"gz,2014-07-01,2014-12-31,{activity},{10 * ncv},GJ\n"
    )
    result = ipcc_inventory(make_project, rows)
    lines = result.lines
    lines = lines.loc[(lines["activity"] == activity) & (lines["gas"] == "CO2")]
    by_row = lines.groupby("source_line")["emissions_t"].sum().tolist()
    assert by_row[0] == pytest.approx(by_row[1], rel=1e-12)


def test_sf6_ar6_is_the_final_table_value() -> None:
    library = load_factor_library()
    # AR5 Table 8.A.1: 23,500. AR6: 24,300 (final Table 7.SM.7 as a review reports it); the
    # chapter's working data give 25,200 with a 3,200-year lifetime, and
    # 25,140 x (1-e^-0.1) x 1000 / ((1-e^-0.03125) x 3200) = 25,140 x 0.9666 = 24,300
    assert library.gwp_of("SF6", "AR5") == 23500
    assert library.gwp_of("SF6", "AR6") == 24300

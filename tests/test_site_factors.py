"""Factor resolution as table operations (resolve_site_factors, FactorLibrary.gwps_of and
dataset_ncv_table): the same GWPs, NCVs and Montreal flags as the per-row rule it replaced
(FactorLibrary.gwp_of and dataset_ncv_gj_per_unit called for every site-factor row), on many
sites in several provinces. Every expected number is written out with its source."""

from __future__ import annotations

import pandas as pd
import pytest

import tanlu
from tanlu.errors import FactorError
from tanlu.factors import FactorLibrary, load_factor_library
from tanlu.factors.regions import grid_region_of_province, regions_table
from tanlu.ingest.inputs import load_project_library
from tanlu.inventory.calculate import resolve_site_factors

from .conftest import MakeProject

PROVINCES = ("广东", "Beijing", "四川", "西藏", "Shanghai")
N_SITES = 40

# A 2014 inventory with year_first lookups and AR6 GWPs: diesel takes the IPCC 2006 set (CO2,
# combustion CH4, N2O; the China guideline set starts in 2015), so methane of all three origins
# appears: combustion (non_fossil), a project's fugitive fossil methane and a flare of unknown
# origin. The project's solvent factor is a CO2e factor built with AR4 GWPs.
TOML_HEAD = """\
[organisation]
name = "Many sites Co"
base_year = 2014
reporting_years = [2014]
gwp_set = "AR6"

[accounting]
factor_fallback_order = "year_first"
derive_fuel_upstream = false

[[entities]]
id = "parent"
name = "Parent"
"""
CATALOGUE = (
    "activity,name_en,name_zh,scope,category,canonical_unit,method,ch4_origin\n"
    "gas_leak,Natural gas leaked,天然气泄漏,1,fugitive,t,average-data,fossil\n"
    "flare,Gas flared,火炬燃烧,1,process,t,average-data,\n"
    "purchased_solvent,Solvent bought,外购溶剂,3,cat1_purchased_goods_services,t,spend-based,\n"
)
FACTORS = (
    "factor_id,activity,gas,value,unit,gwp_set,source\n"
    "gas_leak_ch4,gas_leak,CH4,1,t/t,,mass balance: the gas is methane\n"
    "flare_ch4,flare,CH4,0.02,t/t,,supplier test report 2014\n"
    "solvent_co2e,purchased_solvent,CO2e,2.5,t/t,AR4,supplier LCA report 2014 (AR4 GWPs)\n"
)
ACTIVITIES = (
    "electricity",
    "diesel_stationary",
    "gas_leak",
    "flare",
    "refrigerant_hfc_134a",
    "refrigerant_r410a",
    "refrigerant_hcfc_22",
    "purchased_solvent",
)
# (activity, gas): (GWP [tCO2e/t], dataset NCV [GJ/t], outside the scopes)
EXPECTED = {
    ("electricity", "CO2"): (1.0, 0.0, False),
    # IPCC 2006 diesel rows were built with 43.0 GJ/t (fuel_properties.csv, dataset ipcc_2006)
    ("diesel_stationary", "CO2"): (1.0, 43.0, False),
    # combustion methane: the non-fossil value, IPCC AR6 WG1 Table 7.15: 27.0
    ("diesel_stationary", "CH4"): (27.0, 43.0, False),
    # AR6 Table 7.SM.7: 273
    ("diesel_stationary", "N2O"): (273.0, 43.0, False),
    # fugitive fossil methane, AR6 Table 7.15: 29.8
    ("gas_leak", "CH4"): (29.8, 0.0, False),
    # methane of unknown origin: the generic AR6 value, Table 7.SM.7: 27.9
    ("flare", "CH4"): (27.9, 0.0, False),
    # AR6 Table 7.SM.7: HFC-134a 1530, HFC-32 771, HFC-125 3740 (R-410A is half each)
    ("refrigerant_hfc_134a", "HFC-134a"): (1530.0, 0.0, False),
    ("refrigerant_r410a", "HFC-32"): (771.0, 0.0, False),
    ("refrigerant_r410a", "HFC-125"): (3740.0, 0.0, False),
    # HCFC-22, a Montreal Protocol gas: AR6 1960, reported outside scopes 1-3
    ("refrigerant_hcfc_22", "HCFC-22"): (1960.0, 0.0, True),
    # a CO2e factor counts 1 whatever set built it (and says which)
    ("purchased_solvent", "CO2e"): (1.0, 0.0, False),
}


def many_sites_toml() -> str:
    sites = "".join(
        f'\n[[sites]]\nid = "s{i:02d}"\nname = "Site {i}"\nentity = "parent"\n'
        f'province = "{PROVINCES[i % len(PROVINCES)]}"\n'
        for i in range(N_SITES)
    )
    return TOML_HEAD + sites


def per_row_reference(library: FactorLibrary, factors: pd.DataFrame, gwp_set: str) -> pd.DataFrame:
    """GWP, NCV and Montreal flag row by row, as resolve_site_factors computed them before it
    worked on tables."""
    gases = library.gwp.drop_duplicates("gas").set_index("gas")
    ch4_origin = library.activities.set_index("activity")["ch4_origin"]
    rows = list(zip(factors["gas"], factors["activity"], factors["dataset"], strict=True))
    return pd.DataFrame(
        {
            "gwp": [
                library.gwp_of(g, gwp_set, str(ch4_origin.get(a, "")) if g == "CH4" else "")
                for g, a, _ in rows
            ],
            "dataset_ncv_gj_per_unit": [
                library.dataset_ncv_gj_per_unit(str(d), a) or 0.0 for _, a, d in rows
            ],
            "outside_scopes": [
                bool(gases.at[g, "montreal_protocol"]) if g in gases.index else False
                for g, _, _ in rows
            ],
        }
    )


def test_table_resolution_equals_the_per_row_rule_on_many_sites(
    make_project: MakeProject,
) -> None:
    root = make_project(
        toml=many_sites_toml(),
        files={"factors/activities.csv": CATALOGUE, "factors/project.csv": FACTORS},
    )
    project = tanlu.load_project(root)
    library = load_project_library(project)
    pairs = pd.MultiIndex.from_product(
        [project.sites["site"], ACTIVITIES], names=["site", "activity"]
    ).to_frame(index=False)
    factors = resolve_site_factors(project, library, pairs, 2014)

    # one row per site and gas of each activity: 40 sites x 11 (activity, gas) = 440
    assert len(factors) == N_SITES * len(EXPECTED) == 440
    assert factors["factor_key"].tolist() == list(range(440))
    reference = per_row_reference(library, factors, "AR6")
    for column in ("gwp", "dataset_ncv_gj_per_unit", "outside_scopes"):
        assert factors[column].tolist() == reference[column].tolist(), column
    assert factors["gwp"].dtype == "float64"
    assert factors["dataset_ncv_gj_per_unit"].dtype == "float64"
    assert factors["outside_scopes"].dtype == bool

    # the numbers, written out: every site has the same GWP, NCV and flag per (activity, gas)
    found = factors.groupby(["activity", "gas"])[
        ["gwp", "dataset_ncv_gj_per_unit", "outside_scopes"]
    ].agg(lambda values: sorted(set(values)))
    assert {
        key: tuple(values[0] for values in row)
        for key, row in zip(found.index, found.itertuples(index=False), strict=True)
    } == EXPECTED
    assert (found.map(len) == 1).all().all()
    assert (factors.groupby(["activity", "gas"])["site"].nunique() == N_SITES).all()

    # the AR4 CO2e factor is flagged on every site's row, and only there
    note = "CO2e factor uses AR4 GWPs, project uses AR6"
    flagged = factors.loc[factors["fallback"].str.contains(note, regex=False)]
    assert set(flagged["activity"]) == {"purchased_solvent"}
    assert len(flagged) == N_SITES
    # electricity: each site its province's factor, Tibet's sites (no regional grid) included
    electricity = factors.loc[factors["activity"] == "electricity"]
    per_province = electricity.groupby("province")["factor_id"].nunique()
    assert len(per_province) == len(PROVINCES) and (per_province == 1).all()


def test_gwps_of_follows_gwp_of_and_names_what_is_missing() -> None:
    library = load_factor_library()
    rows = pd.DataFrame(
        {
            "gas": ["CH4", "CH4", "CH4", "CH4", "N2O", "CO2e", "HFC-134a", "CO2"],
            "gwp_set": ["AR6", "AR6", "AR6", "AR5", "AR6", "AR5", "ar5", "AR6"],
            "origin": ["fossil", "non_fossil", "", "fossil", "fossil", "", None, ""],
        },
        index=[10, 11, 12, 13, 14, 15, 16, 17],
    )
    gwps = library.gwps_of(rows)
    # AR6 fossil 29.8, non-fossil 27.0, generic 27.9; AR5 fossil 30 (Table 8.7); N2O has one
    # value (origin ignored) 273; CO2e 1; HFC-134a AR5 1300; CO2 1
    assert gwps.tolist() == [29.8, 27.0, 27.9, 30.0, 273.0, 1.0, 1300.0, 1.0]
    assert gwps.index.tolist() == rows.index.tolist()
    assert gwps.tolist() == [
        library.gwp_of(g, s, o or "")
        for g, s, o in zip(rows["gas"], rows["gwp_set"], rows["origin"], strict=True)
    ]
    with pytest.raises(FactorError, match="no GWP for gas 'XYZ-1'"):
        library.gwps_of(pd.DataFrame({"gas": ["CO2", "XYZ-1"], "gwp_set": "AR5", "origin": ""}))
    with pytest.raises(FactorError, match="no GWP set 'AR7'"):
        library.gwps_of(pd.DataFrame({"gas": ["CO2"], "gwp_set": ["AR7"], "origin": [""]}))


def test_dataset_ncv_table_holds_each_datasets_own_ncv() -> None:
    library = load_factor_library()
    table = library.dataset_ncv_table()
    ncv = table.set_index(["dataset", "activity"])["dataset_ncv_gj_per_unit"]
    # fuel_properties.csv: IPCC 2006 diesel 43.0 GJ/t; China's 2015 table gasoline 44.8 GJ/t;
    # DESNZ 2025 natural gas 0.036204 GJ/m3
    assert ncv[("ipcc_2006", "diesel_mobile")] == 43.0
    assert ncv[("cn_guideline_2015_fuels", "gasoline_mobile")] == 44.8
    assert ncv[("uk_desnz_2025", "wtt_natural_gas")] == 0.036204
    # a dataset without an NCV of its own is absent (the activity default applies)
    assert ("us_epa_sc_v1_3", "diesel_mobile") not in ncv.index
    for (dataset, activity), value in ncv.items():
        assert library.dataset_ncv_gj_per_unit(dataset, activity) == value


def test_grid_region_of_every_province() -> None:
    table = regions_table()
    for province, grid in zip(table["province_en"], table["regional_grid_en"], strict=True):
        assert grid_region_of_province(province) == (grid or None)
    assert grid_region_of_province("Guangdong") == "South China"
    assert grid_region_of_province("Tibet") is None  # the source maps no regional grid
    assert grid_region_of_province("Atlantis") is None

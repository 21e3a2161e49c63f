"""The steps of calculate_inventory, each a function over tables: small cases checked by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from tanlu import engine
from tanlu.inventory.calculate import (
    aggregate_by_scope,
    electricity_by_site,
    leased_electricity,
    list_fallbacks,
    select_year_activities,
)
from tanlu.inventory.instruments import calculate_market_based_scope2

LEASED = "cat8_upstream_leased_assets"


def test_select_year_activities_keeps_rows_overlapping_the_year_at_counted_sites() -> None:
    activities = pd.DataFrame(
        {
            "row_id": [1, 2, 3, 4],
            "site": ["a", "a", "b", "c"],
            "period_start": pd.to_datetime(
                ["2021-12-01", "2021-01-01", "2022-03-01", "2022-01-01"]
            ),
            "period_end": pd.to_datetime(["2022-01-31", "2021-12-31", "2022-03-31", "2022-12-31"]),
        }
    )
    boundary = pd.DataFrame(
        {"site": ["a", "b", "c"], "boundary": ["included", "leased", "excluded"]}
    )
    con = engine.connect()
    # row 1 overlaps 2022 by January; row 2 ends in 2021; row 3 is at a counted (leased) site;
    # row 4 is at an excluded site
    kept = select_year_activities(
        engine.to_table(con, activities, "activities"),
        engine.to_table(con, boundary, "boundary"),
        2022,
    )
    assert sorted(engine.to_pandas(kept)["row_id"]) == [1, 3]
    engine.close(con)


def test_electricity_by_site_counts_each_row_once_with_shares_applied() -> None:
    line_summary = pd.DataFrame(
        {
            "site": ["a", "a", "a", "b", "b"],
            "activity": ["electricity", "electricity", "diesel", "electricity", "electricity"],
            "scope": [2, 2, 1, 2, 3],
            "gas": ["CO2", "CH4", "CO2", "CO2", "CO2"],
            # the quantity of a row counts on its first gas's line only (CH4 here: 0)
            "quantity_counted": [40.0, 0.0, 10.0, 50.0, 7.0],
        }
    )
    # a: 40 MWh of electricity (the diesel's 10 t are not electricity); b: 50 + 7 = 57 MWh,
    # of which 50 in scope 2
    assert electricity_by_site(line_summary, {"electricity"}).to_dict() == {"a": 40.0, "b": 57.0}
    in_scope2 = electricity_by_site(line_summary, {"electricity"}, scope=2)
    assert in_scope2.to_dict() == {"a": 40.0, "b": 50.0}


def test_leased_electricity_is_category_8_electricity_of_sites_without_scope_2() -> None:
    line_summary = pd.DataFrame(
        {
            "site": ["own", "colo", "colo", "colo"],
            "activity": ["electricity", "electricity", "electricity", "diesel"],
            "scope": [2, 3, 3, 3],
            "category": ["purchased_electricity", LEASED, LEASED, LEASED],
            "gas": ["CO2", "CO2", "CH4", "CO2"],
            "emissions_tco2e": [44.0, 55.0, 0.5, 9.0],
            "quantity_counted": [100.0, 125.0, 0.0, 3.0],
        }
    )
    consumption = pd.DataFrame({"site": ["own"], "electricity_mwh": [100.0]})
    leased = leased_electricity(line_summary, consumption, {"electricity"})
    # colo: 125 MWh (counted on its CO2 line); its location-based tCO2e is both gases' lines,
    # 55 + 0.5 = 55.5 (the diesel line is not electricity)
    assert leased.to_dict("records") == [
        {"site": "colo", "electricity_mwh": 125.0, "location_tco2e": pytest.approx(55.5)}
    ]


def test_aggregate_by_scope_leaves_gases_outside_the_scopes_out_of_scopes_only() -> None:
    summary = pd.DataFrame(
        {
            "scope": [1, 1, 1, 2],
            "category": ["stationary", "refrigerant", "refrigerant", "purchased_electricity"],
            "gas": ["CO2", "HFC-134a", "HCFC-22", "CO2"],
            "outside_scopes": [False, False, True, False],
            "emissions_t": [10.0, 0.01, 0.02, 40.0],
            "emissions_tco2e": [10.0, 13.0, 36.2, 40.0],
        }
    )
    by_scope, by_category, by_gas = aggregate_by_scope(summary)
    # scope 1: 10 + 13 = 23 (HCFC-22's 36.2 is outside the scopes); scope 2: 40
    assert by_scope.set_index("scope")["emissions_tco2e"].to_dict() == {1: 23.0, 2: 40.0}
    assert by_category.set_index("category")["emissions_tco2e"].to_dict() == {
        "purchased_electricity": 40.0,
        "refrigerant": 13.0,
        "stationary": 10.0,
    }
    # by gas: every gas, those inside the scopes first, then HCFC-22
    assert list(by_gas["gas"]) == ["CO2", "HFC-134a", "HCFC-22"]
    assert list(by_gas["emissions_tco2e"]) == [50.0, 13.0, 36.2]


def test_list_fallbacks_names_the_sites_of_each_factor_and_the_residual_mix() -> None:
    site_factors = pd.DataFrame(
        {
            "site": ["b", "a", "c"],
            "activity": ["electricity", "electricity", "diesel"],
            "factor_id": ["grid_2022", "grid_2022", "diesel_1"],
            "fallback": ["year 2022 -> 2021", "year 2022 -> 2021", ""],
        }
    )
    residual = pd.DataFrame({"factor_id": ["residual_2021"], "fallback": ["year 2022 -> 2021"]})
    fallbacks = list_fallbacks(site_factors, residual)
    assert fallbacks.to_dict("records") == [
        {
            "activity": "electricity",
            "factor_id": "grid_2022",
            "fallback": "year 2022 -> 2021",
            "sites": "a, b",
        },
        {
            "activity": "electricity (market-based residual)",
            "factor_id": "residual_2021",
            "fallback": "year 2022 -> 2021",
            "sites": "(all)",
        },
    ]


def test_instruments_are_taken_in_turn_dedicated_first_pooled_in_proportion() -> None:
    use = pd.DataFrame({"site": ["a", "b", "c", "d"], "electricity_mwh": [100.0, 50.0, 0.0, 10.0]})
    held = pd.DataFrame(
        {
            "instrument_id": ["P1", "D1", "D2", "D3", "D4", "P2"],
            "kind": ["gec", "green_power_contract", "gec", "gec", "gec", "gec"],
            "vintage_year": 2022,
            "energy_mwh": [30.0, 60.0, 60.0, 20.0, 5.0, 100.0],
            "site": [None, "a", "a", "b", "x", None],
            "market": "China",
            "supplier_factor_tco2e_per_mwh": float("nan"),
        }
    )
    market = calculate_market_based_scope2(use, held, 2022, 0.5856)
    # dedicated first, in file order: D1 gives a 60 (a still needs 40), D2 gives a the 40 it
    # still needs (20 left over), D3 gives b 20 (b needs 30), D4 names no consuming site (5
    # left over). Then pooled, in proportion to what each site still needs: P1's 30 MWh over
    # b 30 and d 10 (40): b 30 x 30/40 = 22.5, d 30 x 10/40 = 7.5; P2 covers the 7.5 and 2.5
    # left and keeps 100 - 10 = 90.
    allocations = market.allocations
    assert allocations["instrument_id"].tolist() == ["D1", "D2", "D3", "P1", "P1", "P2", "P2"]
    assert allocations["site"].tolist() == ["a", "a", "b", "b", "d", "b", "d"]
    assert allocations["allocated_mwh"].tolist() == [60.0, 40.0, 20.0, 22.5, 7.5, 7.5, 2.5]
    unallocated = market.unallocated
    assert unallocated["instrument_id"].tolist() == ["D2", "D4", "P2"]
    assert unallocated["unallocated_mwh"].tolist() == [20.0, 5.0, 90.0]
    by_site = market.by_site.set_index("site")
    assert by_site["contractual_mwh"].tolist() == [100.0, 50.0, 0.0, 10.0]
    # c used nothing; everyone else is covered: no residual electricity, no market tCO2
    assert by_site["residual_mwh"].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert by_site["market_tco2e"].tolist() == [0.0, 0.0, 0.0, 0.0]

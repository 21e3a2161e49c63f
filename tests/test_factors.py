"""The factor library: every row sourced, lookups and their fallbacks."""

from __future__ import annotations

import pandas as pd
import pytest

from tanlu.errors import FactorError
from tanlu.factors import load_factor_library, lookup_factor, resolve_factors
from tanlu.factors.regions import grid_region_of_province, resolve_province, resolve_region


@pytest.fixture(scope="module")
def library():  # type: ignore[no-untyped-def]
    return load_factor_library()


def test_every_factor_has_source_and_status(library) -> None:  # type: ignore[no-untyped-def]
    factors = library.factors
    assert factors["source"].str.strip().str.len().gt(0).all()
    assert factors["status"].isin(["S", "S3", "D", "P", "P-r", "P-x"]).all()
    assert factors["factor_id"].is_unique
    assert (factors["factor_t_per_unit"] >= 0).all()


def test_every_activity_has_a_factor(library) -> None:  # type: ignore[no-untyped-def]
    missing = set(library.activities["activity"]) - set(library.factors["activity"])
    assert not missing


def test_gwp_table(library) -> None:  # type: ignore[no-untyped-def]
    assert library.gwp_of("CO2", "AR5") == 1
    assert library.gwp_of("CH4", "AR5") == 28
    assert library.gwp_of("HFC-134a", "AR5") == 1300
    assert library.gwp_of("HFC-134a", "AR6") == 1530
    montreal = set(library.gwp.loc[library.gwp["montreal_protocol"], "gas"])
    assert montreal == {"HCFC-22"}


def test_guangdong_2022_is_the_published_provincial_factor(library) -> None:  # type: ignore[no-untyped-def]
    found = lookup_factor(library, "electricity", "广东", 2022)
    assert len(found) == 1
    row = found.iloc[0]
    assert row["factor_t_per_unit"] == pytest.approx(0.4403)
    assert row["region_level"] == "province"
    assert row["fallback"] == ""
    assert "MEE" in row["source"]


def test_region_names_in_chinese_and_english() -> None:
    assert resolve_province("广东") == "Guangdong"
    assert resolve_province("广东省") == "Guangdong"
    assert resolve_province("guangdong") == "Guangdong"
    assert resolve_province("内蒙古自治区") == "Inner Mongolia"
    assert resolve_province("Atlantis") is None
    assert grid_region_of_province("Guangdong") == "South China"
    assert resolve_region("华北") == ("regional_grid", "North China")
    assert resolve_region("全国") == ("national", "China")


def test_missing_year_falls_back_to_latest_earlier(library) -> None:  # type: ignore[no-untyped-def]
    # No 2023 provincial factors are published in the library: region_first keeps Guangdong 2022.
    row = lookup_factor(library, "electricity", "Guangdong", 2023).iloc[0]
    assert row["factor_id"] == "cn_mee_nbs_2022_province_guangdong_electricity"
    assert "latest earlier" in row["fallback"]


def test_year_first_order_takes_the_regional_grid_of_the_year(library) -> None:  # type: ignore[no-untyped-def]
    row = lookup_factor(library, "electricity", "Guangdong", 2023, order="year_first").iloc[0]
    assert row["region_level"] == "regional_grid"
    assert row["factor_region"] == "South China"
    assert row["year_start"] == 2023
    assert row["factor_t_per_unit"] == pytest.approx(0.4042)
    assert "South China" in row["fallback"]


def test_unmapped_province_falls_back_to_national(library) -> None:  # type: ignore[no-untyped-def]
    row = lookup_factor(library, "electricity", "Tibet", 2022).iloc[0]
    assert row["region_level"] == "national"
    assert row["factor_t_per_unit"] == pytest.approx(0.5366)
    assert row["fallback_region"]


def test_market_residual_factor(library) -> None:  # type: ignore[no-untyped-def]
    row = lookup_factor(
        library, "electricity", "China", 2022, "excluding_market_traded_non_fossil"
    ).iloc[0]
    assert row["factor_t_per_unit"] == pytest.approx(0.5856)


def test_one_set_per_lookup_never_mixes_datasets(library) -> None:  # type: ignore[no-untyped-def]
    keys = pd.DataFrame(
        {
            "activity": ["diesel_stationary", "air_travel_domestic", "refrigerant_r410a"],
            "factor_kind": "default",
            "province": "Guangdong",
            "grid_region": "South China",
            "year": 2021,
        }
    )
    resolved = resolve_factors(library, keys)
    per_key = resolved.groupby("activity")["dataset"].nunique()
    assert (per_key == 1).all()
    # China's guideline diesel factor (national) beats the IPCC default: CO2 only.
    diesel = resolved.loc[resolved["activity"] == "diesel_stationary"]
    assert list(diesel["gas"]) == ["CO2"]
    assert diesel["factor_t_per_unit"].iloc[0] == pytest.approx(3.0959)
    # R-410A is half HFC-32, half HFC-125.
    blend = resolved.loc[resolved["activity"] == "refrigerant_r410a"].set_index("gas")
    assert blend.loc["HFC-32", "factor_t_per_unit"] == pytest.approx(0.5)
    assert blend.loc["HFC-125", "factor_t_per_unit"] == pytest.approx(0.5)


def test_spend_factor_converts_dollars_at_the_factor_year_rate(library) -> None:  # type: ignore[no-untyped-def]
    factors = library.factors.set_index("factor_id")
    row = factors.loc["us_epa_sc_v1_3_us_spend_naics_334111"]
    # kg CO2e per 2022 USD -> t per CNY: value / 1000 / (CNY per USD in 2022)
    expected = row["value"] / 1000 / library.cny_per_usd[2022]
    assert row["factor_t_per_unit"] == pytest.approx(expected, rel=1e-12)


def test_unknown_things_are_clear_errors(library) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FactorError, match="unknown activity"):
        lookup_factor(library, "teleportation", "China", 2022)
    with pytest.raises(FactorError, match="unknown region"):
        lookup_factor(library, "electricity", "Atlantis", 2022)
    with pytest.raises(FactorError, match="no 'nonsense' factor"):
        lookup_factor(library, "electricity", "China", 2022, "nonsense")


def test_exchange_rate_override_reconverts_spend_factors(library) -> None:  # type: ignore[no-untyped-def]
    changed = library.with_exchange_rates({2022: 7.0})
    before = library.factors.set_index("factor_id")
    after = changed.factors.set_index("factor_id")
    spend = "us_epa_sc_v1_3_us_spend_naics_334111"
    # t/CNY scales with the inverse of the rate: old x (old rate / 7.0)
    assert after.loc[spend, "factor_t_per_unit"] == pytest.approx(
        before.loc[spend, "factor_t_per_unit"] * library.cny_per_usd[2022] / 7.0, rel=1e-12
    )
    electricity = "cn_mee_nbs_2022_province_guangdong_electricity"
    assert (
        after.loc[electricity, "factor_t_per_unit"] == before.loc[electricity, "factor_t_per_unit"]
    )
    with pytest.raises(FactorError, match="1999"):
        library.with_exchange_rates({1999: 8.0})

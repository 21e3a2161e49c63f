"""Sourced procurement prices: golden lookups, fallbacks, bad rows, project overrides.

The bundled numbers checked here are the ones docs/prices.md lists, with the arithmetic of the
derived (D) rows written out.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tanlu.electricity.prices import (
    BUNDLED_FILE,
    PARAMETER_UNITS,
    USED_COLUMNS,
    procurement_costs,
    read_procurement_prices,
)
from tanlu.electricity.procurement import (
    ProcurementCosts,
    ProcurementError,
    ProcurementProblem,
    solve_procurement,
)
from tanlu.errors import InputError, InputIssue

HEADER = "parameter,region,year,value,unit,status,source,note\n"
PROVINCES = ("广东", "贵州", "天津", "上海", "重庆", "河北", "内蒙古", "北京", "江苏", "四川")
# coal-fired benchmark [CNY/kWh] of each province above, as the bundled file sources it
BENCHMARK_CNY_PER_KWH = {
    "广东": 0.453,
    "贵州": 0.3515,
    "天津": 0.3655,
    "上海": 0.4155,
    "重庆": 0.3964,
    "河北": 0.372,
    "内蒙古": 0.2829,
    "北京": 0.3598,
    "江苏": 0.391,
    "四川": 0.4012,
}
GREEN_PREMIUM_CNY_PER_KWH = 0.04  # midpoint of the 0.03-0.05 premium of September 2021


@pytest.fixture(scope="module")
def bundled() -> pd.DataFrame:
    return read_procurement_prices()


def write(tmp_path: Path, body: str, name: str = "prices.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def issues_of(*paths: Path) -> list[InputIssue]:
    with pytest.raises(InputError) as caught:
        read_procurement_prices(paths)
    issues: list[InputIssue] = caught.value.issues
    return issues


def used_row(table: pd.DataFrame, parameter: str) -> pd.Series:
    return table.set_index("parameter").loc[parameter]


# ---------------------------------------------------------------- the bundled file


def test_every_bundled_row_is_sourced(bundled: pd.DataFrame) -> None:
    assert bundled["status"].isin(["S", "S3", "D"]).all()
    assert bundled["source"].str.len().gt(20).all()
    derived = bundled.loc[bundled["status"] == "D"]
    # every derived value shows its arithmetic
    assert derived["note"].str.startswith("D: ").all()
    assert set(bundled["parameter"]) == set(PARAMETER_UNITS)
    assert (bundled["unit"] == bundled["parameter"].map(PARAMETER_UNITS)).all()
    assert not bundled.duplicated(["parameter", "region", "year"]).any()
    assert set(bundled.loc[bundled["region"] == "China", "parameter"]) == set(PARAMETER_UNITS)


def test_bundled_file_is_package_data() -> None:
    assert BUNDLED_FILE.parent.name == "data"
    text = (Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    assert '"electricity/data/*.csv"' in text


def test_contract_prices_are_benchmark_plus_premium(bundled: pd.DataFrame) -> None:
    for province, benchmark in BENCHMARK_CNY_PER_KWH.items():
        # e.g. Guangdong: (0.453 + 0.04) CNY/kWh x 1000 kWh/MWh = 493 CNY/MWh
        expected = (benchmark + GREEN_PREMIUM_CNY_PER_KWH) * 1000
        for parameter in ("wind_price_cny_per_mwh", "solar_price_cny_per_mwh"):
            row = bundled.loc[(bundled["parameter"] == parameter) & (bundled["region"] == province)]
            assert len(row) == 1, (parameter, province)
            assert row["value"].iloc[0] == pytest.approx(expected, abs=1e-9)
            assert row["year"].iloc[0] == 2021


def test_battery_split_reproduces_the_tender_averages(bundled: pd.DataFrame) -> None:
    china = bundled.loc[bundled["region"] == "China"].set_index("parameter")["value"]
    energy = china["battery_energy_capex_cny_per_kwh"]
    power = china["battery_power_capex_cny_per_kw"]
    # a d-hour system costs energy + power / d per kWh: 464.6 (2 h) and 424.9 (4 h) CNY/kWh
    assert energy + power / 2 == pytest.approx(464.6, abs=1e-9)
    assert energy + power / 4 == pytest.approx(424.9, abs=1e-9)


def test_grid_price_is_converted_at_the_2019_rate(bundled: pd.DataFrame) -> None:
    row = bundled.loc[bundled["parameter"] == "grid_price_cny_per_mwh"].iloc[0]
    # 0.084 USD/kWh x 6.9081 CNY/USD x 1000 kWh/MWh
    assert row["value"] == pytest.approx(0.084 * 6.9081 * 1000, abs=0.005)
    assert (row["region"], row["year"], row["status"]) == ("China", 2019, "D")


# ---------------------------------------------------------------- golden lookups


def test_province_row_of_the_year(bundled: pd.DataFrame) -> None:
    costs, used = procurement_costs(bundled, "广东", 2021)
    assert costs.wind_price_cny_per_mwh == pytest.approx(493.0)
    row = used_row(used, "wind_price_cny_per_mwh")
    assert (row["region"], row["year"], row["status"], row["fallback"]) == ("广东", 2021, "D", "")
    assert list(used.columns) == list(USED_COLUMNS)
    assert list(used["parameter"]) == [f.name for f in dataclasses.fields(ProcurementCosts)]


def test_year_fallbacks_are_reported(bundled: pd.DataFrame) -> None:
    costs, used = procurement_costs(bundled, "Guangdong", 2023)
    # the province's 2021 contract price (latest earlier year)
    assert costs.wind_price_cny_per_mwh == pytest.approx(493.0)
    assert used_row(used, "wind_price_cny_per_mwh")["fallback"] == (
        "no 2023 value for 广东; used 广东 2021 (latest earlier year)"
    )
    # PV capex: China 2022 (latest earlier), not China 2024
    assert costs.pv_capex_cny_per_kw == pytest.approx(4130.0)
    assert used_row(used, "pv_capex_cny_per_kw")["fallback"] == (
        "no 2023 value for 广东; used China 2022 (latest earlier year)"
    )
    # battery: only 2025 rows, so the earliest later year
    assert costs.battery_energy_capex_cny_per_kwh == pytest.approx(385.2)
    assert used_row(used, "battery_energy_capex_cny_per_kwh")["fallback"] == (
        "no 2023 value for 广东; used China 2025 (earliest later year)"
    )


def test_latest_earlier_year_beats_a_later_one(bundled: pd.DataFrame) -> None:
    costs, used = procurement_costs(bundled, "China", 2024)
    assert costs.pv_capex_cny_per_kw == pytest.approx(2700.0)
    assert used_row(used, "pv_capex_cny_per_kw")["fallback"] == ""
    costs, _ = procurement_costs(bundled, "China", 2023)
    assert costs.pv_capex_cny_per_kw == pytest.approx(4130.0)


def test_province_row_wins_over_china_even_from_another_year(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "pv_capex_cny_per_kw,广东省,2020,3333,CNY/kW,,a supplier quote (2020),\n",
    )
    prices = read_procurement_prices([path])
    # China has a 2024 row, but the province's own 2020 row comes first
    costs, used = procurement_costs(prices, "广东", 2024)
    assert costs.pv_capex_cny_per_kw == pytest.approx(3333.0)
    row = used_row(used, "pv_capex_cny_per_kw")
    assert (row["region"], row["year"], row["status"]) == ("广东", 2020, "user")
    assert row["fallback"] == "no 2024 value for 广东; used 广东 2020 (latest earlier year)"
    # another province keeps the national value
    costs, _ = procurement_costs(prices, "贵州", 2024)
    assert costs.pv_capex_cny_per_kw == pytest.approx(2700.0)


def test_region_fallback_in_the_same_year_is_reported(bundled: pd.DataFrame) -> None:
    _, used = procurement_costs(bundled, "贵州", 2022)
    assert used_row(used, "pv_capex_cny_per_kw")["fallback"] == (
        "no 2022 value for 贵州; used China 2022"
    )


def test_unknown_province(bundled: pd.DataFrame) -> None:
    with pytest.raises(ProcurementError, match="unknown province 'Atlantis'"):
        procurement_costs(bundled, "Atlantis", 2023)


def test_missing_parameter_is_named(bundled: pd.DataFrame) -> None:
    prices = bundled.loc[bundled["parameter"] != "battery_lifetime_years"]
    with pytest.raises(ProcurementError, match=r"battery_lifetime_years in 广东 or China"):
        procurement_costs(prices, "广东", 2023)


# ---------------------------------------------------------------- project files


def test_user_row_overrides_the_bundled_row(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "wind_price_cny_per_mwh,Guangdong,2021,380,CNY/MWh,S,our 2021 PPA (contract 17),\n",
    )
    prices = read_procurement_prices([path], display=["data/prices.csv"])
    key = (prices["parameter"] == "wind_price_cny_per_mwh") & (prices["region"] == "广东")
    assert len(prices.loc[key]) == 1  # replaced, not added
    costs, used = procurement_costs(prices, "广东", 2021)
    assert costs.wind_price_cny_per_mwh == pytest.approx(380.0)
    assert costs.solar_price_cny_per_mwh == pytest.approx(493.0)  # untouched
    row = used_row(used, "wind_price_cny_per_mwh")
    assert (row["source"], row["status"]) == ("our 2021 PPA (contract 17)", "S")
    assert prices.loc[key, "origin"].iloc[0] == "data/prices.csv, line 2"
    assert len(prices) == len(read_procurement_prices())


def test_user_file_may_leave_out_status_and_note(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text(
        "parameter,region,year,value,unit,source\n"
        "grid_price_cny_per_mwh,上海,2023,720,CNY/MWh,2023 electricity bills of the site\n",
        encoding="utf-8",
    )
    prices = read_procurement_prices([path])
    costs, used = procurement_costs(prices, "上海", 2023)
    assert costs.grid_price_cny_per_mwh == pytest.approx(720.0)
    assert used_row(used, "grid_price_cny_per_mwh")["status"] == "user"


# ---------------------------------------------------------------- bad rows


def test_every_kind_of_bad_row_is_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "pv_capex_cny_per_kw,广东,2023,3000,CNY/kW,,good row,\n"  # line 2
        "pv_capex_cny_per_kwh,广东,2023,3000,CNY/kW,,a quote,\n"  # 3: unknown parameter
        "pv_capex_cny_per_kw,Atlantis,2023,3000,CNY/kW,,a quote,\n"  # 4: unknown region
        "pv_capex_cny_per_kw,广东,2023,cheap,CNY/kW,,a quote,\n"  # 5: not a number
        "wind_price_cny_per_mwh,广东,2023,-5,CNY/MWh,,a quote,\n"  # 6: negative
        "discount_rate_share,China,2023,8,share,,a quote,\n"  # 7: share outside 0..1
        "grid_price_cny_per_mwh,广东,2023,600,CNY/MWh,,,\n"  # 8: no source
        "pv_capex_cny_per_kw,广东,2023,3.0,CNY/W,,a quote,\n"  # 9: wrong unit
        "pv_lifetime_years,广东,next year,25,yr,,a quote,\n"  # 10: year
        "battery_lifetime_years,广东,2023,0,yr,,a quote,\n"  # 11: zero lifetime
        "battery_lifetime_years,广东,2023,12,yr,U,a quote,\n"  # 12: status U
        "pv_capex_cny_per_kw,Guangdong,2023,3100,CNY/kW,,another quote,\n",  # 13: duplicate
    )
    found = issues_of(path)
    where = [(i.line, i.column) for i in found]
    assert where == [
        (3, "parameter"),
        (4, "region"),
        (5, "value"),
        (6, "value"),
        (7, "value"),
        (8, "source"),
        (9, "unit"),
        (10, "year"),
        (11, "value"),
        (12, "status"),
        (13, None),
    ]
    reasons = [i.reason for i in found]
    assert "unknown parameter 'pv_capex_cny_per_kwh'" in reasons[0]
    assert "unknown region 'Atlantis'" in reasons[1]
    assert "'cheap' is not a number" in reasons[2]
    assert "-5 is negative" in reasons[3]
    assert "8 is a share outside 0..1" in reasons[4]
    assert "every price needs a source" in reasons[5]
    assert "unit 'CNY/W' is not CNY/kW" in reasons[6]
    assert "'next year' is not a year" in reasons[7]
    assert "battery_lifetime_years must be greater than 0" in reasons[8]
    assert "status 'U' is not one of S, S3, D, user" in reasons[9]
    assert "already given" in reasons[10] and f"{path}, line 2" in reasons[10]
    assert all(i.file == str(path) for i in found)
    # the message names file, line and reason
    with pytest.raises(InputError, match=r"prices\.csv, line 6, column 'value': -5 is negative"):
        read_procurement_prices([path])


def test_duplicate_across_project_files(tmp_path: Path) -> None:
    first = write(
        tmp_path, "grid_price_cny_per_mwh,北京,2023,650,CNY/MWh,,bill A,\n", "prices_a.csv"
    )
    second = write(
        tmp_path, "grid_price_cny_per_mwh,Beijing,2023,660,CNY/MWh,,bill B,\n", "prices_b.csv"
    )
    (issue,) = issues_of(first, second)
    assert issue.file == str(second) and issue.line == 2
    assert "grid_price_cny_per_mwh for 北京 in 2023 is already given" in issue.reason
    assert f"{first}, line 2" in issue.reason


def test_missing_columns_and_unreadable_files(tmp_path: Path) -> None:
    no_source = tmp_path / "no_source.csv"
    no_source.write_text("parameter,region,year,value,unit\n", encoding="utf-8")
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    found = issues_of(no_source, empty)
    assert (found[0].file, found[0].line) == (str(no_source), 1)
    assert "missing column(s): source" in found[0].reason
    assert (found[1].file, found[1].line) == (str(empty), None)
    assert "empty" in found[1].reason


# ---------------------------------------------------------------- smoke: the optimiser runs


def small_problem(costs: ProcurementCosts) -> ProcurementProblem:
    """48 hours: a flat 1 MWh/h load; PV and solar from a half-sine day shape (peak 0.8 MWh per
    MWp, 06:00-18:00); wind 0.3 MWh per MW in every hour; grid 30 % carbon-free."""
    hours = np.arange(48)
    day = np.clip(np.sin(np.pi * ((hours % 24) - 6) / 12), 0.0, None) * 0.8
    return ProcurementProblem(
        load_mwh=np.ones(48),
        pv_mwh_per_kw=day / 1000.0,
        wind_mwh_per_mw=np.full(48, 0.3),
        solar_mwh_per_mw=day,
        grid_cfe_share=0.3,
        costs=costs,
    )


@pytest.mark.parametrize("year", [2022, 2023])
@pytest.mark.parametrize("province", PROVINCES)
def test_bundled_prices_solve_for_every_listed_province(
    bundled: pd.DataFrame, province: str, year: int
) -> None:
    costs, used = procurement_costs(bundled, province, year)
    assert len(used) == len(PARAMETER_UNITS)
    assert used_row(used, "wind_price_cny_per_mwh")["region"] == province
    result = solve_procurement(small_problem(costs), 0.8)
    assert result.cfe_score_share >= 0.8 - 1e-6
    assert result.total_cost_cny == pytest.approx(result.objective_cny, rel=1e-6)

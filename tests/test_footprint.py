"""Footprints of a household and a small firm (tanlu.footprint, tanlu.app.footprint,
``tanlu footprint ...``): hand-checked cases, invariants, every kind of bad answer, the CLI.

The factors are the bundled ones (src/tanlu/factors/data, src/tanlu/footprint/data); each
golden case writes out its arithmetic with the factor's value and id.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from typer.testing import CliRunner

from tanlu.app.footprint import (
    calculate_firm_footprint,
    calculate_household_footprint,
    read_firm_bills,
    read_household_answers,
)
from tanlu.cli import app
from tanlu.errors import InputError
from tanlu.footprint import CATEGORIES, ITEMS, FirmBills, HouseholdAnswers, load_averages
from tanlu.footprint.library import DATA_DIR

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "footprint"
REL = 1e-9

# One household in Guangdong, 2022: every kind of answer once.
HOUSEHOLD: dict[str, Any] = {
    "year": 2022,
    "province": "广东",
    "members": 2,
    "electricity": "2400 kWh",
    "natural_gas": {"quantity": 100, "unit": "m3"},
    "cars": [
        {"fuel": "petrol", "fuel_used": "100 L"},
        {"fuel": "petrol", "distance": "1000 km"},
    ],
    "flights": [{"haul": "domestic", "distance": "1000 km", "trips": 2}],
    "radiative_forcing": False,
    "rail": [{"distance": "100 km", "trips": 10}],
    "diet": [{"kind": "average", "persons": 2}],
    "goods": [{"kind": "clothing", "spend": "6729 元"}],
}
# What each line must be [tCO2e], by hand:
HOUSEHOLD_LINES = {
    # 2.4 MWh x 0.4403 tCO2/MWh (cn_mee_nbs_2022_province_guangdong_electricity)
    "electricity": 2.4 * 0.4403,
    # 100 m3 x 2.1622 kgCO2/m3 (cn_guideline_fuels_..._natural_gas_stationary_co2)
    "natural_gas": 100 * 2.1622 / 1000,
    # 100 L = 0.1 m3 x 0.7473 t/m3 (fuel_properties.csv) = 0.07473 t x 2.9251 tCO2/t
    "cars[0]": 0.1 * 0.7473 * 2.9251,
    # 1000 km x 0.16272 kgCO2e/km (uk_desnz_2025_uk_car_travel_petrol)
    "cars[1]": 1000 * 0.16272 / 1000,
    # 1000 km x 2 trips x 1 traveller = 2000 passenger-km x 95.3 gCO2/pkm (cn_bjtu_2024)
    "flights[0]": 2000 * 95.3 / 1e6,
    # 100 km x 10 trips = 1000 passenger-km x 26.27 gCO2/pkm (cn_bjtu_2024 rail)
    "rail[0]": 1000 * 26.27 / 1e6,
    # 2 persons x 3285 gCO2e/day (diet_current_adult: (3495 + 3075) / 2) x 365 days
    "diet[0]": 2 * 3285 * 365 / 1e6,
    # 6729 CNY / 6.7290 CNY/USD (2022) = 1000 USD_2022 x 0.12 kgCO2e/USD (NAICS 315220)
    "goods[0]": 1000 * 0.12 / 1000,
}

# A small firm in Guangdong, 2022.
FIRM: dict[str, Any] = {
    "name": "Toy Studio",
    "year": 2022,
    "province": "Guangdong",
    "employees": 5,
    "revenue": "100 万元",
    "bills": [
        {"kind": "electricity", "amount": "10000 kWh"},
        {"kind": "natural_gas", "amount": "1000 m3"},
        {"kind": "diesel_vehicles", "amount": "1000 L"},
    ],
    "spend": [{"activity": "spend_naics_541511", "amount": "67290 元"}],
    "instruments": [
        {"kind": "gec", "energy": "4 MWh"},
        {"kind": "supplier_factor", "energy": "2000 kWh", "supplier_factor_tco2e_per_mwh": 0.3},
    ],
}
# scope 1: 1000 m3 x 2.1622 kg/m3 + 1000 L = 0.8299 t (density) x 3.0959 tCO2/t
FIRM_SCOPE1 = 1000 * 2.1622 / 1000 + 0.8299 * 3.0959
# scope 2 location: 10 MWh x 0.4403 (Guangdong 2022)
FIRM_SCOPE2_LOCATION = 10 * 0.4403
# scope 2 market: 4 MWh of GECs at 0, 2 MWh at the supplier's 0.3, the other 4 MWh at the
# national factor excluding market-traded non-fossil electricity 2022, 0.5856 tCO2/MWh
FIRM_SCOPE2_MARKET = 2 * 0.3 + 4 * 0.5856
# scope 3: 67290 CNY / 6.7290 = 10,000 USD_2022 x 0.084 kgCO2e/USD (NAICS 541511)
FIRM_SCOPE3 = 10_000 * 0.084 / 1000


def _write(tmp_path: Path, text: str, name: str = "answers.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _household(**changes: Any) -> HouseholdAnswers:
    return HouseholdAnswers.model_validate({**HOUSEHOLD, **changes})


# --- golden cases ------------------------------------------------------------------------------


def test_household_lines_by_hand() -> None:
    result = calculate_household_footprint(_household())
    got = {line.line_id: line.emissions_tco2e for line in result.lines}
    assert got == pytest.approx(HOUSEHOLD_LINES, rel=REL)
    total = sum(HOUSEHOLD_LINES.values())
    assert result.total_tco2e == pytest.approx(total, rel=REL)
    assert result.per_person_tco2e == pytest.approx(total / 2, rel=REL)
    electricity = result.lines[0]
    assert (electricity.quantity, electricity.unit) == (pytest.approx(2.4), "MWh")
    assert (electricity.quantity_given, electricity.unit_given) == (2400, "kWh")
    factor = electricity.factors[0]
    assert factor.factor_id == "cn_mee_nbs_2022_province_guangdong_electricity"
    assert (factor.value, factor.unit, factor.status) == (0.4403, "t/MWh", "S3")
    assert "MEE & NBS" in factor.source
    assert (electricity.name_zh, electricity.category_name_zh) == ("家庭用电", "居家能源")
    assert (result.province, result.province_zh) == ("Guangdong", "广东")


def test_household_by_category_and_comparisons() -> None:
    result = calculate_household_footprint(_household())
    by = {c.category: c.emissions_tco2e for c in result.by_category}
    lines = HOUSEHOLD_LINES
    transport = lines["cars[0]"] + lines["cars[1]"] + lines["flights[0]"] + lines["rail[0]"]
    assert by == pytest.approx(
        {
            "home_energy": lines["electricity"] + lines["natural_gas"],
            "transport": transport,
            "diet": lines["diet[0]"],
            "goods": lines["goods[0]"],
        },
        rel=REL,
    )
    comparisons = {c.comparison_id: c for c in result.comparisons}
    national = comparisons["per_person_vs_national_ghg"]
    assert national.average_value == 11 and national.average_id == "cn_ghg_per_capita_2023"
    assert national.ratio == pytest.approx(result.per_person_tco2e / 11, rel=REL)
    # 2400 kWh / 2 members = 1200 kWh a person against 958.67 (D: 13524e8 kWh / population)
    electricity = comparisons["electricity_per_person"]
    assert (electricity.value, electricity.average_value) == (pytest.approx(1200), 958.67)
    assert electricity.status == "D" and "13524" in electricity.source
    diet = comparisons["diet_per_person"]
    assert diet.value == pytest.approx(3285 * 365 / 1e6) and diet.ratio == pytest.approx(1)


def test_flights_with_radiative_forcing_use_the_with_rf_factor() -> None:
    result = calculate_household_footprint(_household(radiative_forcing=True))
    flight = next(line for line in result.lines if line.line_id == "flights[0]")
    # 2000 passenger-km x 0.22928 kgCO2e/pkm (uk_desnz_2025_uk_air_travel_domestic_with_rf)
    assert flight.emissions_tco2e == pytest.approx(2000 * 0.22928 / 1000, rel=REL)
    assert flight.factors[0].factor_id == "uk_desnz_2025_uk_air_travel_domestic_with_rf"


def test_car_distance_with_own_consumption_counts_litres() -> None:
    answers = _household(cars=[{"fuel": "diesel", "distance": "10000 km", "l_per_100km": 6}])
    (line,) = [x for x in calculate_household_footprint(answers).lines if x.item.startswith("car")]
    # 10000 km x 6 L/100 km = 600 L = 0.6 m3 x 0.8299 t/m3 x 3.0959 tCO2/t (diesel_mobile)
    assert line.emissions_tco2e == pytest.approx(0.6 * 0.8299 * 3.0959, rel=REL)
    assert line.item == "car_fuel_diesel" and "6 L/100 km" in (line.note or "")


def test_firm_scopes_by_hand() -> None:
    result = calculate_firm_footprint(FirmBills.model_validate(FIRM))
    assert result.scope1_tco2e == pytest.approx(FIRM_SCOPE1, rel=REL)
    assert result.scope2_location_tco2e == pytest.approx(FIRM_SCOPE2_LOCATION, rel=REL)
    assert result.scope2_market_tco2e == pytest.approx(FIRM_SCOPE2_MARKET, rel=REL)
    assert result.scope3_tco2e == pytest.approx(FIRM_SCOPE3, rel=REL)
    assert result.total_location_tco2e == pytest.approx(
        FIRM_SCOPE1 + FIRM_SCOPE2_LOCATION + FIRM_SCOPE3, rel=REL
    )
    assert result.total_market_tco2e == pytest.approx(
        FIRM_SCOPE1 + FIRM_SCOPE2_MARKET + FIRM_SCOPE3, rel=REL
    )
    market = result.scope2_market
    assert market is not None
    assert (market.contractual_mwh, market.supplier_mwh, market.residual_mwh) == pytest.approx(
        (4, 2, 4)
    )
    assert market.residual_factor.factor_id == (
        "cn_mee_nbs_2022_national_china_electricity_excluding_market_traded_non_fossil"
    )
    (comparison,) = result.comparisons
    # total location-based [kg] / 1,000,000 CNY against 0.12693 kgCO2e/CNY (16000 Mt / GDP)
    total_kg = (FIRM_SCOPE1 + FIRM_SCOPE2_LOCATION + FIRM_SCOPE3) * 1000
    assert comparison.value == pytest.approx(total_kg / 1_000_000, rel=REL)
    assert comparison.average_value == 0.12693 and comparison.status == "D"
    spend = next(line for line in result.lines if line.scope == 3)
    assert spend.name_zh == "采购支出：定制软件开发" and spend.activity == "spend_naics_541511"


def test_firm_grid_average_policy_and_no_instruments() -> None:
    bills = FirmBills.model_validate({**FIRM, "market_residual_policy": "grid_average"})
    # the residual 4 MWh at the national average 2022, 0.5366 tCO2/MWh
    expected = 2 * 0.3 + 4 * 0.5366
    assert calculate_firm_footprint(bills).scope2_market_tco2e == pytest.approx(expected, rel=REL)
    plain = calculate_firm_footprint(FirmBills.model_validate({**FIRM, "instruments": []}))
    # without instruments all 10 MWh at the residual factor 0.5856
    assert plain.scope2_market_tco2e == pytest.approx(10 * 0.5856, rel=REL)


def test_certificates_beyond_consumption_are_claimed_once() -> None:
    bills = FirmBills.model_validate({**FIRM, "instruments": [{"kind": "gec", "energy": "25 MWh"}]})
    result = calculate_firm_footprint(bills)
    assert result.scope2_market_tco2e == pytest.approx(0)
    assert result.scope2_market is not None
    assert result.scope2_market.contractual_mwh == pytest.approx(10)
    assert result.scope2_market.unallocated_mwh == pytest.approx(15)


# --- invariants --------------------------------------------------------------------------------

amounts = st.floats(min_value=0, max_value=1e5, allow_nan=False, allow_infinity=False)


@settings(max_examples=25, deadline=None)
@given(
    electricity=amounts,
    gas=amounts,
    litres=amounts,
    km=amounts,
    spend=amounts,
    members=st.integers(min_value=1, max_value=8),
    eaters=st.integers(min_value=0, max_value=8),
    rf=st.booleans(),
)
def test_household_invariants(
    electricity: float,
    gas: float,
    litres: float,
    km: float,
    spend: float,
    members: int,
    eaters: int,
    rf: bool,
) -> None:
    def answers(scale: float) -> HouseholdAnswers:
        return _household(
            members=members,
            electricity={"quantity": electricity * scale, "unit": "kWh"},
            natural_gas={"quantity": gas * scale, "unit": "m3"},
            cars=[{"fuel": "petrol", "fuel_used": {"quantity": litres * scale, "unit": "L"}}],
            flights=[{"haul": "long_haul", "distance": {"quantity": km * scale, "unit": "km"}}],
            radiative_forcing=rf,
            rail=[{"distance": {"quantity": km * scale, "unit": "km"}}],
            # people, not a quantity: the same in both (doubling changes the rest)
            diet=[{"kind": "low_carbon", "persons": min(eaters, members)}] if eaters else [],
            goods=[{"kind": "phones", "spend": {"quantity": spend * scale, "unit": "CNY"}}],
        )

    once = calculate_household_footprint(answers(1))
    twice = calculate_household_footprint(answers(2))
    assert once.total_tco2e == pytest.approx(sum(x.emissions_tco2e for x in once.lines), rel=1e-12)
    assert once.total_tco2e == pytest.approx(
        sum(c.emissions_tco2e for c in once.by_category), rel=1e-12, abs=1e-12
    )
    assert once.per_person_tco2e == pytest.approx(once.total_tco2e / members, rel=1e-12)
    diet = sum(c.emissions_tco2e for c in once.by_category if c.category == "diet")
    assert twice.total_tco2e - diet == pytest.approx(
        2 * (once.total_tco2e - diet), rel=1e-9, abs=1e-9
    )
    for line in once.lines:
        assert line.emissions_tco2e == pytest.approx(line.quantity * line.factor_tco2e_per_unit)


@settings(max_examples=20, deadline=None)
@given(kwh=amounts, gas=amounts, spend=amounts, gec=amounts)
def test_firm_invariants(kwh: float, gas: float, spend: float, gec: float) -> None:
    def bills(scale: float) -> FirmBills:
        return FirmBills.model_validate(
            {
                **FIRM,
                "bills": [
                    {"kind": "electricity", "amount": {"quantity": kwh * scale, "unit": "kWh"}},
                    {"kind": "natural_gas", "amount": {"quantity": gas * scale, "unit": "m3"}},
                ],
                "spend": [
                    {
                        "activity": "spend_hotel",
                        "amount": {"quantity": spend * scale, "unit": "CNY"},
                    }
                ],
                "instruments": [
                    {"kind": "gec", "energy": {"quantity": gec * scale, "unit": "kWh"}}
                ],
            }
        )

    once = calculate_firm_footprint(bills(1))
    twice = calculate_firm_footprint(bills(2))
    location = [x for x in once.lines if x.counts_in in ("both", "location")]
    market = [x for x in once.lines if x.counts_in in ("both", "market")]
    assert once.total_location_tco2e == pytest.approx(sum(x.emissions_tco2e for x in location))
    assert once.total_market_tco2e == pytest.approx(sum(x.emissions_tco2e for x in market))
    assert once.total_location_tco2e == pytest.approx(
        once.scope1_tco2e + once.scope2_location_tco2e + once.scope3_tco2e
    )
    # market-based never below zero, never above all electricity at the residual factor
    assert -1e-12 <= once.scope2_market_tco2e <= kwh / 1000 * 0.5856 + 1e-9
    for name in ("total_location_tco2e", "total_market_tco2e", "scope1_tco2e", "scope3_tco2e"):
        assert getattr(twice, name) == pytest.approx(2 * getattr(once, name), rel=1e-9, abs=1e-12)


def test_every_item_and_category_has_both_names() -> None:
    for item in ITEMS.values():
        assert item.name_en and item.name_zh and item.category in CATEGORIES
    for english, chinese in CATEGORIES.values():
        assert english and chinese


def test_averages_are_sourced_and_derived_ones_add_up() -> None:
    averages = load_averages()
    frame = pd.read_csv(DATA_DIR / "averages.csv", dtype=str, keep_default_na=False)
    assert (frame["source"].str.len() > 20).all() and frame["status"].isin(["S", "S3", "D"]).all()
    assert (frame.loc[frame["status"] == "D", "note"].str.contains("=")).all()
    # the arithmetic the D rows write down
    population = 126058.2e9 / 89358
    electricity = averages["cn_residential_electricity_per_capita_2023"].value
    assert electricity == pytest.approx(13524e8 / population, abs=0.005)
    assert averages["cn_ghg_per_gdp_2023"].value == pytest.approx(16000e9 / 126058.2e9, abs=5e-6)
    for kind in ("current", "low_carbon"):
        men, women = averages[f"diet_{kind}_man"].value, averages[f"diet_{kind}_woman"].value
        assert averages[f"diet_{kind}_adult"].value == (men + women) / 2


# --- bad answers -------------------------------------------------------------------------------

GOOD_TOML = """\
year = 2022
province = "广东"
members = 2
electricity = "2400 kWh"

[[cars]]
fuel = "petrol"
fuel_used = "100 L"
"""


@pytest.mark.parametrize(
    ("change", "line", "field", "reason"),
    [
        (('electricity = "2400 kWh"', 'electricity = "-5 kWh"'), 4, "electricity.quantity",
         "-5.0 is not a finite number of at least 0"),
        (('province = "广东"', 'province = "Atlantis"'), 2, "province",
         "unknown province 'Atlantis'"),
        (('electricity = "2400 kWh"', 'electricity = "2400 furlongs"'), 4, "electricity",
         "unknown unit 'furlongs'"),
        (('fuel_used = "100 L"', 'fuel_used = "100 km"'), 8, "cars[0].fuel_used",
         "'100 km'".replace("'100 km'", "'km' measures distance")),
        (('electricity = "2400 kWh"', 'electricity = "2400 m3"'), 4, "electricity",
         "'m3' measures volume, but this activity is measured in energy (MWh)"),
        (("year = 2022\n", ""), None, "year", "is required but missing"),
        (('fuel = "petrol"', 'fuel = "steam"'), 7, "cars[0].fuel", "Input should be"),
        (("members = 2", "members = 0"), 3, "members", "greater than or equal to 1"),
        (("members = 2", "memberz = 2"), 3, "memberz", "is not a field here"),
        (('fuel_used = "100 L"', 'fuel_used = "100 L"\ndistance = "5 km"'), 6, "cars[0]",
         "give either fuel_used or distance"),
    ],
)  # fmt: skip
def test_bad_household_answers_are_named(
    tmp_path: Path, change: tuple[str, str], line: int | None, field: str, reason: str
) -> None:
    assert change[0] in GOOD_TOML
    path = _write(tmp_path, GOOD_TOML.replace(change[0], change[1], 1))
    with pytest.raises(InputError) as caught:
        read_household_answers(path, "answers.toml")
    issue = caught.value.issues[0]
    assert (issue.file, issue.line, issue.column) == ("answers.toml", line, field)
    assert reason in issue.reason, issue.reason
    assert str(caught.value).count("answers.toml") == len(caught.value.issues)


def test_flights_need_an_explicit_radiative_forcing_choice(tmp_path: Path) -> None:
    text = GOOD_TOML + '\n[[flights]]\nhaul = "domestic"\ndistance = "900 km"\n'
    with pytest.raises(InputError) as caught:
        read_household_answers(_write(tmp_path, text), "answers.toml")
    (issue,) = caught.value.issues
    assert issue.column == "radiative_forcing" and "say true or false" in issue.reason


def test_every_bad_field_is_listed_and_eaters_are_members(tmp_path: Path) -> None:
    text = GOOD_TOML.replace('province = "广东"', 'province = "Mars"')
    text += '\n[[diet]]\nkind = "average"\npersons = 5\n\n[[goods]]\nkind = "clothing"\n'
    text += 'spend = "300 kWh"\n'
    with pytest.raises(InputError) as caught:
        read_household_answers(_write(tmp_path, text), "answers.toml")
    fields = {issue.column: issue for issue in caught.value.issues}
    assert set(fields) == {"province", "goods[0].spend"}
    assert (
        fields["goods[0].spend"].line == 16 and "measures energy" in fields["goods[0].spend"].reason
    )


def test_more_eaters_than_members(tmp_path: Path) -> None:
    text = GOOD_TOML + '\n[[diet]]\nkind = "average"\npersons = 3\n'
    with pytest.raises(InputError) as caught:
        read_household_answers(_write(tmp_path, text), "answers.toml")
    (issue,) = caught.value.issues
    assert (issue.line, issue.column) == (10, "diet")
    assert issue.reason == "3 persons eat a diet, but the household has 2 members"


def test_bad_firm_bills_are_named(tmp_path: Path) -> None:
    text = """\
name = "Toy"
year = 2022
province = "广东"

[[bills]]
kind = "electricity"
amount = "10 t"

[[spend]]
activity = "spend_naics_999999"
amount = "100 元"

[[instruments]]
kind = "supplier_factor"
energy = "1 MWh"
"""
    with pytest.raises(InputError) as caught:
        read_firm_bills(_write(tmp_path, text, "firm.toml"))
    found = {(i.line, i.column): i.reason for i in caught.value.issues}
    assert "'t' measures mass" in found[(7, "bills[0].amount")]
    assert "unknown spend activity 'spend_naics_999999'" in found[(10, "spend[0].activity")]
    assert "supplier_factor_tco2e_per_mwh" in found[(13, "instruments[0]")]


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_household_answers(tmp_path / "absent.toml")
    with pytest.raises(InputError) as caught:
        read_household_answers(_write(tmp_path, "year = = 2\n"), "x.toml")
    assert caught.value.issues[0].line == 1 and "not TOML" in caught.value.issues[0].reason
    with pytest.raises(InputError, match="not JSON"):
        read_firm_bills(_write(tmp_path, "{oops", "firm.json"))


def test_models_validate_for_a_web_route() -> None:
    with pytest.raises(ValidationError) as caught:
        HouseholdAnswers.model_validate({**HOUSEHOLD, "electricity": "lots"})
    assert "'lots' is not a quantity with its unit" in str(caught.value)
    answers = HouseholdAnswers.model_validate_json(json.dumps(HOUSEHOLD))
    document = calculate_household_footprint(answers).to_document()
    assert json.loads(json.dumps(document)) == document


# --- the command line --------------------------------------------------------------------------


def test_cli_person_json_golden() -> None:
    result = CliRunner().invoke(
        app, ["footprint", "person", str(EXAMPLES / "household.toml"), "--json"]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["document"] == "tanlu.footprint.household/1"
    lines = {line["line_id"]: line["emissions_tco2e"] for line in document["lines"]}
    # 2760 kWh x 0.4403 (Guangdong, 2022 factor for 2023: a fallback, listed)
    assert lines["electricity"] == pytest.approx(2.76 * 0.4403, rel=REL)
    # 720 L x 0.7473 t/m3 x 2.9251 tCO2/t
    assert lines["cars[0]"] == pytest.approx(0.72 * 0.7473 * 2.9251, rel=REL)
    # short-haul: 1700 km x 2 trips x 3 travellers x 0.07559 kgCO2e/pkm (DESNZ, without RF)
    assert lines["flights[1]"] == pytest.approx(10200 * 0.07559 / 1000, rel=REL)
    # diet: 2 x 3285 + 1 x 2398.5 gCO2e/day x 365
    assert lines["diet[0]"] + lines["diet[1]"] == pytest.approx(
        (2 * 3285 + 2398.5) * 365 / 1e6, rel=REL
    )
    assert document["total_tco2e"] == pytest.approx(7.817749204782644, rel=1e-9)
    assert document["per_person_tco2e"] == pytest.approx(7.817749204782644 / 3, rel=1e-9)
    assert any("no 2023 factor" in note for note in document["fallbacks"])


def test_cli_firm_json_golden_and_tables() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["footprint", "firm", str(EXAMPLES / "small-firm.toml"), "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    # 45 MWh x 0.5153 (Zhejiang 2022); market: 15 MWh of GECs, 30 MWh x 0.6096 (2023 residual)
    assert document["scope2_location_tco2e"] == pytest.approx(45 * 0.5153, rel=REL)
    assert document["scope2_market_tco2e"] == pytest.approx(30 * 0.6096, rel=REL)
    # 800 m3 x 2.1622 kg/m3 + 1500 L x 0.7473 t/m3 x 2.9251
    assert document["scope1_tco2e"] == pytest.approx(0.8 * 2.1622 + 1.5 * 0.7473 * 2.9251)
    assert document["total_location_tco2e"] == pytest.approx(34.51904117045697, rel=1e-9)
    shown = runner.invoke(
        app, ["footprint", "firm", str(EXAMPLES / "small-firm.toml"), "--lang", "zh"]
    )
    assert (
        shown.exit_code == 0
        and "外购电力" in shown.stdout
        and "scope 2 market-based" in shown.stdout
    )


def test_cli_bad_file_writes_nothing(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD_TOML.replace('"2400 kWh"', '"-1 kWh"'))
    result = CliRunner().invoke(app, ["footprint", "person", str(path), "--json"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "line 4" in result.stderr and "electricity.quantity" in result.stderr

"""Units: golden conversions, dimension errors, round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tanlu.errors import UnitError
from tanlu.units import (
    GJ_PER_TCE,
    ActivityProperties,
    conversion_factor,
    parse_factor_unit,
)

DIESEL = ActivityProperties(ncv_gj_per_t=42.652, density_t_per_m3=0.84)


@pytest.mark.parametrize(
    ("unit", "canonical", "expected"),
    [
        ("kWh", "MWh", 0.001),
        ("度", "MWh", 0.001),
        ("GWh", "MWh", 1000.0),
        ("MWh", "GJ", 3.6),  # 1 MWh = 3.6 GJ
        ("TJ", "GJ", 1000.0),
        ("tce", "GJ", 29.3076),  # GB/T 2589-2020: 1 kgce = 29,307.6 kJ
        ("吨标准煤", "GJ", 29.3076),
        ("10^4 Nm3", "m3", 10_000.0),
        ("万立方米", "m3", 10_000.0),
        ("L", "m3", 0.001),
        ("kg", "t", 0.001),
        ("吨", "t", 1.0),
        ("公里", "km", 1.0),
        ("passenger-km", "passenger_km", 1.0),
        ("人公里", "passenger_km", 1.0),
        ("万元", "CNY", 10_000.0),
        ("元", "CNY", 1.0),
        ("room-night", "room_night", 1.0),
    ],
)
def test_golden_conversions(unit: str, canonical: str, expected: float) -> None:
    assert conversion_factor(unit, canonical) == pytest.approx(expected, rel=1e-12)


def test_litres_of_diesel_to_tonnes_use_density() -> None:
    # 1,000 L = 1 m3; x 0.84 t/m3 = 0.84 t
    assert 1000 * conversion_factor("L", "t", DIESEL) == pytest.approx(0.84, rel=1e-12)


def test_energy_of_diesel_to_tonnes_uses_ncv() -> None:
    # 42.652 GJ is one tonne at an NCV of 42.652 GJ/t
    assert 42.652 * conversion_factor("GJ", "t", DIESEL) == pytest.approx(1.0, rel=1e-12)
    # 1 tce = 29.3076 GJ -> 29.3076 / 42.652 t
    assert conversion_factor("tce", "t", DIESEL) == pytest.approx(GJ_PER_TCE / 42.652, rel=1e-12)


@pytest.mark.parametrize(("unit", "canonical"), [("kWh", "t"), ("km", "MWh"), ("CNY", "t")])
def test_wrong_dimension_is_an_error(unit: str, canonical: str) -> None:
    with pytest.raises(UnitError, match="measures"):
        conversion_factor(unit, canonical)


def test_wrong_dimension_without_properties_even_for_fuels() -> None:
    with pytest.raises(UnitError):
        conversion_factor("L", "t")


@pytest.mark.parametrize("unit", ["", "furlong per fortnight", "kWhh"])
def test_unknown_unit_is_an_error(unit: str) -> None:
    with pytest.raises(UnitError):
        conversion_factor(unit, "MWh")


def test_factor_units() -> None:
    assert parse_factor_unit("kg/USD_2022") == (0.001, "USD_2022", 2022)
    assert parse_factor_unit("g/passenger_km") == (1e-6, "passenger_km", None)
    with pytest.raises(UnitError):
        parse_factor_unit("kg per km")
    with pytest.raises(UnitError):
        parse_factor_unit("lb/km")


ENERGY = ["kWh", "MWh", "GWh", "GJ", "TJ", "tce"]
MASS = ["kg", "t"]
VOLUME = ["L", "m3", "10^4 Nm3"]


@given(
    st.sampled_from([ENERGY, MASS, VOLUME]).flatmap(
        lambda units: st.tuples(st.sampled_from(units), st.sampled_from(units))
    ),
    st.floats(min_value=1e-6, max_value=1e12, allow_nan=False),
)
def test_conversion_round_trips(pair: tuple[str, str], quantity: float) -> None:
    a, b = pair
    there = quantity * conversion_factor(a, b)
    back = there * conversion_factor(b, a)
    assert back == pytest.approx(quantity, rel=1e-12)


@given(
    st.sampled_from(["L", "m3", "GJ", "kWh", "tce", "kg"]), st.floats(min_value=1e-3, max_value=1e9)
)
def test_cross_dimension_round_trips(unit: str, quantity: float) -> None:
    there = quantity * conversion_factor(unit, "t", DIESEL)
    back = there * conversion_factor("t", unit, DIESEL)
    assert back == pytest.approx(quantity, rel=1e-12)

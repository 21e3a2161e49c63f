"""The synthetic wind shape: hand-checked power curve, calibration, determinism, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tanlu.electricity.profiles import ProfileError
from tanlu.electricity.wind import (
    NATIONAL_WIND_UTILISATION_HOURS,
    national_wind_utilisation,
    wind_power_share,
    wind_profile_mwh_per_mw,
)

# a site in the wind belt of northern Hebei
LATITUDE, LONGITUDE = 41.5, 114.7


def lag1_autocorrelation(values: np.ndarray) -> float:
    return float(np.corrcoef(values[:-1], values[1:])[0, 1])


def test_power_curve_by_hand() -> None:
    # cut-in 4, rated 9.8, cut-out 25 m/s; between cut-in and rated (v^3 - 4^3) / (9.8^3 - 4^3)
    speeds = [0.0, 3.9, 4.0, 7.0, 9.8, 15.0, 24.9, 25.0, 30.0]
    # at 7 m/s: (343 - 64) / (941.192 - 64) = 279 / 877.192 = 0.318060
    expected = [0.0, 0.0, 0.0, 279 / 877.192, 1.0, 1.0, 1.0, 0.0, 0.0]
    assert wind_power_share(speeds) == pytest.approx(expected, abs=1e-12)
    assert wind_power_share([7.0])[0] == pytest.approx(0.318060, abs=1e-6)


@pytest.mark.parametrize("capacity_factor_share", [0.05, 0.2535, 0.4, 0.6])
def test_mean_equals_the_capacity_factor(capacity_factor_share: float) -> None:
    profile = wind_profile_mwh_per_mw(LATITUDE, LONGITUDE, 2022, capacity_factor_share)
    assert profile.mean() == pytest.approx(capacity_factor_share, rel=1e-3)
    assert profile.min() >= 0.0
    assert profile.max() <= 1.0


def test_default_capacity_factor_is_the_national_utilisation_hours() -> None:
    # 2022: 2,259 h over the 8,760 hours of 2022 = 0.257877
    profile = wind_profile_mwh_per_mw(LATITUDE, LONGITUDE, 2022)
    assert profile.mean() == pytest.approx(2259 / 8760, rel=1e-3)
    # 2024 is not in the table: the latest earlier year, 2023 (2,225 h / 8,760 h = 0.253995),
    # spread over the 8,784 hours of the leap year
    leap = wind_profile_mwh_per_mw(LATITUDE, LONGITUDE, 2024)
    assert len(leap) == 8784
    assert leap.mean() == pytest.approx(2225 / 8760, rel=1e-3)


def test_national_utilisation_table_and_fallback() -> None:
    assert national_wind_utilisation(2021).hours == 2246
    assert national_wind_utilisation(2021).capacity_factor_share == pytest.approx(2246 / 8760)
    fallback = national_wind_utilisation(2030)
    assert (fallback.year, fallback.hours) == (2023, 2225)
    for row in NATIONAL_WIND_UTILISATION_HOURS:
        assert row.source and row.series
        assert row.status in {"S", "S3", "D"}  # never U
    # before the table starts: the earliest later year, as in the factor lookup
    assert national_wind_utilisation(2019).year == 2021
    early = wind_profile_mwh_per_mw(LATITUDE, LONGITUDE, 2019)
    assert early.mean() == pytest.approx(2246 / 8760, rel=1e-3)


@pytest.mark.parametrize(("year", "hours"), [(2023, 8760), (2024, 8784), (2100, 8760)])
def test_one_value_per_hour_of_the_year(year: int, hours: int) -> None:
    assert len(wind_profile_mwh_per_mw(LATITUDE, LONGITUDE, year, 0.25)) == hours


def test_same_inputs_same_array_and_no_global_random_state() -> None:
    np.random.seed(0)
    expected_draw = np.random.random()
    np.random.seed(0)
    first = wind_profile_mwh_per_mw(LATITUDE, LONGITUDE, 2022)
    assert np.random.random() == expected_draw  # the global stream was not touched
    second = wind_profile_mwh_per_mw(LATITUDE, LONGITUDE, 2022)
    np.testing.assert_array_equal(first, second)
    seeded = wind_profile_mwh_per_mw(LATITUDE, LONGITUDE, 2022, seed=7)
    np.testing.assert_array_equal(seeded, wind_profile_mwh_per_mw(0.0, 0.0, 2022, seed=7))
    assert not np.array_equal(seeded, wind_profile_mwh_per_mw(LATITUDE, LONGITUDE, 2022, seed=8))


def test_different_sites_and_years_differ() -> None:
    here = wind_profile_mwh_per_mw(LATITUDE, LONGITUDE, 2022, 0.25)
    there = wind_profile_mwh_per_mw(44.0, 87.0, 2022, 0.25)
    next_year = wind_profile_mwh_per_mw(LATITUDE, LONGITUDE, 2023, 0.25)
    assert not np.array_equal(here, there)
    assert not np.array_equal(here, next_year)
    # independent streams: hour by hour the two sites are nearly uncorrelated
    assert abs(np.corrcoef(here, there)[0, 1]) < 0.2


def test_output_persists_from_hour_to_hour() -> None:
    default = wind_profile_mwh_per_mw(LATITUDE, LONGITUDE, 2022)
    # The default normal-series autocorrelation 0.85 (HOMER) leaves about 0.80 in the power
    # series after the power curve's cut-in and saturation; a flat shape would have none of
    # the calm and full-power hours below.
    assert lag1_autocorrelation(default) > 0.75
    assert (default == 0.0).mean() > 0.1
    assert (default == 1.0).mean() > 0.01
    persistent = wind_profile_mwh_per_mw(LATITUDE, LONGITUDE, 2022, hourly_autocorrelation=0.95)
    independent = wind_profile_mwh_per_mw(LATITUDE, LONGITUDE, 2022, hourly_autocorrelation=0.0)
    assert lag1_autocorrelation(persistent) > 0.9
    assert abs(lag1_autocorrelation(independent)) < 0.1


def test_diurnal_and_monthly_modulation() -> None:
    hours = np.arange(8760) % 24  # 2022 starts at 00:00 CST, so the hour of day repeats
    night = wind_profile_mwh_per_mw(
        LATITUDE, LONGITUDE, 2022, 0.3, diurnal_amplitude_share=0.4, diurnal_peak_hour=2
    )
    assert night.mean() == pytest.approx(0.3, rel=1e-3)
    assert night[hours == 2].mean() > 2 * night[hours == 14].mean()
    # windier first half-year: January to June at 1.3, July to December at 0.7
    ratios = [1.3] * 6 + [0.7] * 6
    seasonal = wind_profile_mwh_per_mw(LATITUDE, LONGITUDE, 2022, 0.3, monthly_speed_ratios=ratios)
    first_half = 181 * 24  # hours from 1 January to 30 June 2022
    assert seasonal.mean() == pytest.approx(0.3, rel=1e-3)
    assert seasonal[:first_half].mean() > 2 * seasonal[first_half:].mean()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"capacity_factor_share": 0.0}, r"capacity_factor_share 0.0 is not in \(0, 1\)"),
        ({"capacity_factor_share": 1.0}, r"capacity_factor_share 1.0 is not in \(0, 1\)"),
        ({"capacity_factor_share": math.nan}, r"capacity_factor_share nan is not in \(0, 1\)"),
        ({"capacity_factor_share": 0.95}, r"0.95 cannot be reached.*at most about 0\.7"),
        ({"hourly_autocorrelation": 1.0}, r"hourly_autocorrelation 1.0 is not in \[0, 1\)"),
        ({"hourly_autocorrelation": -0.1}, r"hourly_autocorrelation -0.1 is not in \[0, 1\)"),
        ({"weibull_shape": 0.0}, r"weibull_shape 0.0 is not a positive number"),
        ({"latitude": 91.0}, r"\(91.0, 114.7\) is not a latitude and longitude"),
        ({"rated_m_per_s": 3.0}, r"cut-in < rated < cut-out; got cut-in 4.0, rated 3.0"),
        ({"cut_out_m_per_s": 9.0}, r"rated 9.8, cut-out 9.0 m/s"),
        ({"diurnal_amplitude_share": 0.3}, r"diurnal_peak_hour None is not an hour 0..23"),
        ({"diurnal_amplitude_share": 1.0}, r"diurnal_amplitude_share 1.0 is not in \[0, 1\)"),
        ({"monthly_speed_ratios": [1.0] * 11}, r"needs 12 positive numbers"),
        ({"monthly_speed_ratios": [1.0] * 11 + [0.0]}, r"needs 12 positive numbers"),
        ({"seed": -1}, r"seed -1 is not a non-negative integer"),
        ({"year": "2022"}, r"year '2022' is not an integer"),
    ],
)
def test_bad_input_is_a_profile_error(arguments: dict[str, object], message: str) -> None:
    call: dict[str, object] = {"latitude": LATITUDE, "longitude": LONGITUDE, "year": 2022}
    call.update(arguments)
    with pytest.raises(ProfileError, match=message):
        wind_profile_mwh_per_mw(**call)  # type: ignore[arg-type]


def test_bad_power_curve_in_the_power_function() -> None:
    with pytest.raises(ProfileError, match=r"got cut-in 5.0, rated 5.0, cut-out 25.0 m/s"):
        wind_power_share([6.0], cut_in_m_per_s=5.0, rated_m_per_s=5.0)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    capacity_factor_share=st.floats(min_value=0.02, max_value=0.6),
    year=st.integers(min_value=1990, max_value=2100),
    latitude=st.floats(min_value=18.0, max_value=53.0),
    longitude=st.floats(min_value=73.0, max_value=135.0),
)
def test_calibration_holds_for_any_capacity_factor_and_year(
    capacity_factor_share: float, year: int, latitude: float, longitude: float
) -> None:
    profile = wind_profile_mwh_per_mw(latitude, longitude, year, capacity_factor_share)
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    assert len(profile) == (8784 if leap else 8760)
    assert profile.mean() == pytest.approx(capacity_factor_share, rel=1e-3)
    assert profile.min() >= 0.0
    assert profile.max() <= 1.0

"""Hourly profiles and 24/7 CFE scoring: hand-checked cases, invariants, bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tanlu.electricity import (
    Battery,
    CfeError,
    ProfileError,
    data_centre_load_mwh,
    hours_of_year,
    office_load_mwh,
    pv_profile_mwh_per_kw,
    score_cfe,
)
from tanlu.electricity.profiles import check_profile

LOAD = [10.0, 10.0, 10.0, 10.0]
CLEAN = [20.0, 0.0, 10.0, 5.0]


def test_cfe_by_hand_without_grid_credit() -> None:
    result = score_cfe(LOAD, CLEAN, 0.0).table.iloc[0]
    # matched per hour: 10, 0, 10, 5 = 25 of 40 MWh; the 10 MWh excess of hour 1 is lost
    assert result["cfe_score_share"] == pytest.approx(25 / 40)
    assert result["excess_mwh"] == pytest.approx(10.0)
    # annual matching: 35 MWh clean for 40 MWh load
    assert result["annual_match_share"] == pytest.approx(35 / 40)


def test_cfe_by_hand_with_grid_credit() -> None:
    result = score_cfe(LOAD, CLEAN, 0.5).table.iloc[0]
    # grid draws 0, 10, 0, 5 = 15 MWh, half carbon-free: (25 + 7.5) / 40
    assert result["cfe_score_share"] == pytest.approx(32.5 / 40)
    assert result["grid_mwh"] == pytest.approx(15.0)


def test_hourly_grid_share() -> None:
    result = score_cfe(LOAD, CLEAN, np.array([0.0, 1.0, 0.0, 0.2])).table.iloc[0]
    # grid 10 MWh in hour 2 at 100% + 5 MWh in hour 4 at 20% = 11 MWh: (25 + 11) / 40
    assert result["cfe_score_share"] == pytest.approx(36 / 40)


def test_battery_moves_excess_to_a_later_hour() -> None:
    lossless = score_cfe(LOAD, CLEAN, 0.0, batteries=[Battery(10, 10, 1.0)]).table.iloc[0]
    # hour 1 stores its 10 MWh excess; hour 2 takes all 10: (25 + 10) / 40
    assert lossless["battery_mwh"] == pytest.approx(10.0)
    assert lossless["cfe_score_share"] == pytest.approx(35 / 40)
    lossy = score_cfe(LOAD, CLEAN, 0.0, batteries=[Battery(10, 10, 0.8)]).table.iloc[0]
    # 10 MWh in, 8 MWh out: (25 + 8) / 40
    assert lossy["cfe_score_share"] == pytest.approx(33 / 40)
    small = score_cfe(LOAD, CLEAN, 0.0, batteries=[Battery(4, 3, 1.0)]).table.iloc[0]
    # charges 3 (power) in hour 1, gives 3 in hour 2: (25 + 3) / 40
    assert small["cfe_score_share"] == pytest.approx(28 / 40)


def test_many_sites_at_once_with_names() -> None:
    load = np.array([LOAD, [0.0, 0.0, 0.0, 0.0]])
    clean = np.array([CLEAN, [1.0, 1.0, 1.0, 1.0]])
    table = score_cfe(load, clean, 0.0, sites=["dc", "empty"]).table.set_index("site")
    assert table.at["dc", "cfe_score_share"] == pytest.approx(25 / 40)
    assert table.at["empty", "cfe_score_share"] == 1.0  # no load: nothing to match


@pytest.mark.parametrize(
    ("load", "clean", "grid", "message"),
    [
        (LOAD, [1.0, 2.0, 3.0], 0.0, "clean supply has 3 hours"),
        (LOAD, CLEAN, [0.1, 0.2], "grid CFE share has 2 hours"),
        (LOAD, CLEAN, 1.5, "0..1"),
        ([10.0, -1.0, 0.0, 0.0], CLEAN, 0.0, "non-negative"),
        (LOAD, [np.nan, 0.0, 0.0, 0.0], 0.0, "missing"),
    ],
)
def test_bad_inputs(load: object, clean: object, grid: object, message: str) -> None:
    with pytest.raises(CfeError, match=message):
        score_cfe(load, clean, grid)  # type: ignore[arg-type]


def test_bad_battery() -> None:
    with pytest.raises(CfeError):
        Battery(-1, 1, 0.9)
    with pytest.raises(CfeError):
        Battery(1, 1, 1.5)


hours = 48
profile = arrays(np.float64, hours, elements=st.floats(0, 100, allow_nan=False))


@settings(max_examples=100, deadline=None)
@given(profile, profile, st.floats(0, 1), st.floats(0, 50), st.floats(0, 20), st.floats(0.5, 1))
def test_cfe_invariants(
    load: np.ndarray,
    clean: np.ndarray,
    grid_share: float,
    energy_mwh: float,
    power_mw: float,
    efficiency: float,
) -> None:
    plain = score_cfe(load, clean, 0.0).table.iloc[0]
    battery = Battery(energy_mwh, power_mw, efficiency)
    stored = score_cfe(load, clean, 0.0, batteries=[battery]).table.iloc[0]
    credited = score_cfe(load, clean, grid_share, batteries=[battery]).table.iloc[0]
    for row in (plain, stored, credited):
        assert 0.0 <= row["cfe_score_share"] <= 1.0
        # matched + battery + grid = load: every MWh of load is served once
        assert row["matched_mwh"] + row["battery_mwh"] + row["grid_mwh"] == pytest.approx(
            row["load_mwh"], abs=1e-6
        )
    # with no grid credit, hourly matching never beats annual matching, battery or not
    assert plain["cfe_score_share"] <= plain["annual_match_share"] + 1e-12
    assert stored["cfe_score_share"] <= stored["annual_match_share"] + 1e-12
    # a battery and a grid credit can only help
    assert stored["cfe_score_share"] >= plain["cfe_score_share"] - 1e-12
    assert credited["cfe_score_share"] >= stored["cfe_score_share"] - 1e-12


def test_hours_of_year() -> None:
    assert len(hours_of_year(2022)) == 8760
    assert len(hours_of_year(2024)) == 8784  # leap year
    assert str(hours_of_year(2022)[0]) == "2022-01-01 00:00:00+08:00"


def test_profile_length_is_checked() -> None:
    with pytest.raises(ProfileError, match="has 8759 hours; 2022 has 8760"):
        check_profile(np.zeros(8759), 2022, "delivery profile")
    with pytest.raises(ProfileError, match="negative"):
        check_profile(-np.ones(8760), 2022, "delivery profile")


@pytest.fixture(scope="module")
def shenzhen_pv() -> np.ndarray:
    return pv_profile_mwh_per_kw(22.54, 114.06, 2022, tilt_deg=20.0)


def test_pv_profile_shape(shenzhen_pv: np.ndarray) -> None:
    assert shenzhen_pv.shape == (8760,)
    by_hour = shenzhen_pv.reshape(365, 24).mean(axis=0)
    assert by_hour[0] == 0.0 and by_hour[23] == 0.0  # midnight, China Standard Time
    assert by_hour.argmax() in (11, 12)  # solar noon in Shenzhen is about 12:25
    # clear-sky yield with 14% losses, an upper bound: between 1.2 and 2.2 MWh/kWp
    assert 1.2 < shenzhen_pv.sum() < 2.2
    # a kW of modules never gives more than a kW
    assert shenzhen_pv.max() <= 0.001


def test_pv_profile_scaled_to_a_known_yield() -> None:
    # one of the seed's data-centre plants: 12.92 MW, >12.1 GWh a year = 0.936 MWh/kWp
    profile = pv_profile_mwh_per_kw(
        22.54, 114.06, 2022, tilt_deg=20.0, annual_yield_mwh_per_kw=12.1 / 12.92
    )
    assert profile.sum() == pytest.approx(12.1 / 12.92)


def test_pv_profile_bad_inputs() -> None:
    with pytest.raises(ProfileError):
        pv_profile_mwh_per_kw(95.0, 114.0, 2022, tilt_deg=20.0)
    with pytest.raises(ProfileError):
        pv_profile_mwh_per_kw(22.5, 114.0, 2022, tilt_deg=120.0)


def test_load_profiles() -> None:
    dc = data_centre_load_mwh(it_load_mw=10.0, pue=1.3, year=2022)
    assert dc.sum() == pytest.approx(10.0 * 1.3 * 8760)  # 113,880 MWh
    office = office_load_mwh(1000.0, 2022)
    assert office.sum() == pytest.approx(1000.0)
    times = hours_of_year(2022)
    weekday_noon = office[(times.day_of_week == 0) & (times.hour == 12)][0]
    sunday_noon = office[(times.day_of_week == 6) & (times.hour == 12)][0]
    assert sunday_noon == pytest.approx(0.3 * weekday_noon)  # base load share
    with pytest.raises(ProfileError, match="PUE"):
        data_centre_load_mwh(10.0, 0.9, 2022)

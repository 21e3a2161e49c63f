"""Hourly profiles: the hours of a year, on-site PV from pvlib, data-centre and office load.

Every profile is a 1-D numpy array with one value per hour of the calendar year in China Standard
Time (UTC+8, no daylight saving): 8,760 values, 8,784 in a leap year.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pandas as pd

from tanlu.errors import TanluError

TIMEZONE = "Asia/Shanghai"

# PVWatts default system losses (soiling, shading, snow, mismatch, wiring, connections, light-
# induced degradation, nameplate rating, age, availability): 14%. Source: A. Dobos, "PVWatts
# Version 5 Manual", NREL/TP-6A20-62641 (2014), Table 1 (status S3: read in pvlib's and NREL's
# public documentation of the PVWatts model). User-changeable: ``loss_share``.
PVWATTS_SYSTEM_LOSS_SHARE = 0.14
# PVWatts temperature coefficient of power for standard modules: -0.47 %/degC (same source,
# status S3). User-changeable: ``gamma_pdc_per_degc``.
PVWATTS_GAMMA_PDC_PER_DEGC = -0.0047


class ProfileError(TanluError):
    """A profile cannot be built from the inputs given."""


def hours_of_year(year: int) -> pd.DatetimeIndex:
    """Hour-beginning timestamps of a calendar year in China Standard Time."""
    return pd.date_range(
        f"{year}-01-01", f"{year + 1}-01-01", freq="h", inclusive="left", tz=TIMEZONE
    )


def check_profile(values: np.ndarray, year: int, name: str) -> np.ndarray:
    """A profile as float64, or a clear error if its length or values are wrong."""
    array = np.asarray(values, dtype="float64")
    expected = len(hours_of_year(year))
    if array.ndim != 1 or len(array) != expected:
        raise ProfileError(f"{name} has {array.size} hours; {year} has {expected}")
    if not np.isfinite(array).all() or (array < 0).any():
        raise ProfileError(f"{name} has negative or missing hours")
    return array


def pv_profile_mwh_per_kw(
    latitude: float,
    longitude: float,
    year: int,
    tilt_deg: float,
    azimuth_deg: float = 180.0,
    loss_share: float = PVWATTS_SYSTEM_LOSS_SHARE,
    gamma_pdc_per_degc: float = PVWATTS_GAMMA_PDC_PER_DEGC,
    ambient_temperature_degc: float = 25.0,
    wind_speed_m_per_s: float = 1.0,
    annual_yield_mwh_per_kw: float | None = None,
) -> np.ndarray:
    """Hourly AC energy of 1 kW (DC, peak) of PV [MWh per hour per kWp].

    Clear-sky irradiance (Ineichen with pvlib's monthly Linke turbidity climatology, shipped with
    pvlib, so it works offline), transposed to the module plane (Hay-Davies), the PVWatts DC
    model with the SAPM open-rack cell temperature at a constant ambient temperature, then the
    PVWatts system losses. Clear sky ignores clouds and so overstates a real year; give
    ``annual_yield_mwh_per_kw`` (a measured or typical-year yield) to scale the clear-sky shape
    to it. docs/methods.md ("Hourly profiles") says more.

    Parameters
    ----------
    latitude, longitude
        Site [deg].
    tilt_deg, azimuth_deg
        Module tilt from horizontal and azimuth clockwise from north [deg] (180 = south).
    loss_share
        System losses [0..1].
    gamma_pdc_per_degc
        Temperature coefficient of DC power [1/degC].
    ambient_temperature_degc, wind_speed_m_per_s
        Ambient temperature [degC] and wind speed [m/s] for the cell-temperature model.
        Assumptions (docs/methods.md section 10): a constant 25 degC (the temperature of
        standard test conditions) and 1 m/s (the wind speed of IEC 61215 NMOT conditions);
        a typical-year weather file, when supported, replaces both.
    annual_yield_mwh_per_kw
        If given, the profile is scaled so that it sums to this [MWh/kWp/yr].

    A profile is computed once per process for each set of arguments (every year's inventory,
    the hourly matching, the roadmap's baselines and procurement ask for the same sites'
    profiles again); each call returns its own copy.
    """
    profile = _pv_profile(
        float(latitude),
        float(longitude),
        int(year),
        float(tilt_deg),
        float(azimuth_deg),
        float(loss_share),
        float(gamma_pdc_per_degc),
        float(ambient_temperature_degc),
        float(wind_speed_m_per_s),
        None if annual_yield_mwh_per_kw is None else float(annual_yield_mwh_per_kw),
    )
    return profile.copy()


@functools.lru_cache(maxsize=128)  # 128 profiles of 8,784 hours: about 9 MB
def _pv_profile(
    latitude: float,
    longitude: float,
    year: int,
    tilt_deg: float,
    azimuth_deg: float,
    loss_share: float,
    gamma_pdc_per_degc: float,
    ambient_temperature_degc: float,
    wind_speed_m_per_s: float,
    annual_yield_mwh_per_kw: float | None,
) -> np.ndarray:
    """:func:`pv_profile_mwh_per_kw`, computed (kept read-only by the cache)."""
    import pvlib

    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise ProfileError(f"({latitude}, {longitude}) is not a latitude and longitude")
    if not (0 <= tilt_deg <= 90) or not (0 <= azimuth_deg <= 360):
        raise ProfileError(f"tilt {tilt_deg} or azimuth {azimuth_deg} is out of range")
    if not (0 <= loss_share < 1):
        raise ProfileError(f"loss_share {loss_share} is not in 0..1")
    times = hours_of_year(year)
    # irradiance at the middle of each hour represents the hour's energy
    middle = times + pd.Timedelta(minutes=30)
    location = pvlib.location.Location(latitude, longitude, tz=TIMEZONE)
    with warnings.catch_warnings():
        # pvlib 0.16 calls DatetimeIndex.dayofyear, which pandas 3.1 deprecates
        warnings.filterwarnings("ignore", message=r"DatetimeIndex\.dayofyear is deprecated")
        clear = location.get_clearsky(middle, model="ineichen")
        sun = location.get_solarposition(middle)
        extra = pvlib.irradiance.get_extra_radiation(middle)
    plane = pvlib.irradiance.get_total_irradiance(
        tilt_deg,
        azimuth_deg,
        sun["apparent_zenith"],
        sun["azimuth"],
        clear["dni"],
        clear["ghi"],
        clear["dhi"],
        dni_extra=extra,
        model="haydavies",
    )
    poa_w_per_m2 = plane["poa_global"].fillna(0.0).clip(lower=0.0)
    parameters = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_glass"]
    cell_degc = pvlib.temperature.sapm_cell(
        poa_w_per_m2, ambient_temperature_degc, wind_speed_m_per_s, **parameters
    )
    dc_kw_per_kw = pvlib.pvsystem.pvwatts_dc(poa_w_per_m2, cell_degc, 1.0, gamma_pdc_per_degc)
    ac = np.asarray(dc_kw_per_kw, dtype="float64") * (1.0 - loss_share)
    ac = np.clip(np.nan_to_num(ac), 0.0, None) / 1000.0  # kWh per kWp -> MWh per kWp
    if annual_yield_mwh_per_kw is not None:
        if annual_yield_mwh_per_kw < 0:
            raise ProfileError("annual_yield_mwh_per_kw is negative")
        total = ac.sum()
        ac = ac * (annual_yield_mwh_per_kw / total) if total > 0 else ac
    ac.flags.writeable = False
    return ac


def data_centre_load_mwh(it_load_mw: float, pue: float, year: int) -> np.ndarray:
    """Hourly load of a data centre from its IT load and PUE [MWh per hour].

    Assumes a flat load: IT load x PUE in every hour (data-centre IT load varies little over a
    day; an hourly meter series, where you have one, replaces this).
    """
    if it_load_mw < 0:
        raise ProfileError("it_load_mw is negative")
    if pue < 1:
        raise ProfileError(f"PUE {pue} is below 1")
    return np.full(len(hours_of_year(year)), it_load_mw * pue)


# Office profile (assumption, documented in docs/methods.md and user-changeable): working hours
# 08:00-20:00 on Monday to Friday at full load; other hours at OFFICE_BASE_LOAD_SHARE of it
# (servers, lifts, lighting for security, standby). No public Chinese office load shape with a
# citable source was found; replace with metered data where available.
OFFICE_WORKING_HOURS = (8, 20)
OFFICE_BASE_LOAD_SHARE = 0.3


def office_load_mwh(
    annual_energy_mwh: float,
    year: int,
    base_load_share: float = OFFICE_BASE_LOAD_SHARE,
    working_hours: tuple[int, int] = OFFICE_WORKING_HOURS,
) -> np.ndarray:
    """Hourly office load that sums to ``annual_energy_mwh`` [MWh per hour].

    Parameters
    ----------
    annual_energy_mwh
        The year's electricity [MWh].
    base_load_share
        Load outside working hours as a share of the working-hours load [0..1].
    working_hours
        First and last-plus-one hour of the working day, Monday to Friday.
    """
    if annual_energy_mwh < 0:
        raise ProfileError("annual_energy_mwh is negative")
    if not (0 <= base_load_share <= 1):
        raise ProfileError(f"base_load_share {base_load_share} is not in 0..1")
    times = hours_of_year(year)
    start, end = working_hours
    working = (times.day_of_week < 5) & (times.hour >= start) & (times.hour < end)
    weights: np.ndarray = np.where(np.asarray(working), 1.0, base_load_share)
    return weights * (annual_energy_mwh / float(weights.sum()))


def flat_profile_mwh(annual_energy_mwh: float, year: int) -> np.ndarray:
    """The same energy in every hour, summing to ``annual_energy_mwh`` [MWh per hour]."""
    hours = len(hours_of_year(year))
    return np.full(hours, annual_energy_mwh / hours)

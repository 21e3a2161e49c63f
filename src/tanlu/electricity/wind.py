"""A synthetic hourly shape for wind power, built offline from documented parameters.

A wind contract delivered flat would make wind a perfect 24/7 resource. This module gives wind the
two features that matter for hourly matching: output persists for hours and then lulls for hours,
and it is often near zero and sometimes at full power. The method is HOMER's synthetic wind-speed
algorithm (a first-order autoregressive, AR(1), standard-normal series transformed to a Weibull
distribution of wind speed; HOMER Pro 3.16 manual, "Generating Synthetic Wind Data"), the AR(1)
model of hourly wind speed after Brown, Katz & Murphy (1984), passed through a generic power curve
and scaled so that the year's mean output equals a capacity factor.

The result is a plausible shape, not a forecast or a reconstruction of any real year: the site
only selects the random stream. docs/wind-shape.md gives every parameter with its source and
status (S read in the cited page; S3 read only in a third-party transcription; D derived here;
assumption: a documented choice the caller can change) and says when to replace the shape with
the contract's metered hourly delivery.

Every profile is a 1-D numpy array with one value per hour of the calendar year in China Standard
Time (:func:`tanlu.electricity.profiles.hours_of_year`): 8,760 values, 8,784 in a leap year.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tanlu.electricity.profiles import ProfileError, hours_of_year

__all__ = [
    "CUT_IN_M_PER_S",
    "CUT_OUT_M_PER_S",
    "HOURLY_AUTOCORRELATION",
    "NATIONAL_WIND_UTILISATION_HOURS",
    "RATED_M_PER_S",
    "WEIBULL_SHAPE",
    "WindUtilisationHours",
    "national_wind_utilisation",
    "wind_power_share",
    "wind_profile_mwh_per_mw",
]


@dataclass(frozen=True)
class WindUtilisationHours:
    """China's national average wind utilisation hours in one year, with their source.

    Attributes
    ----------
    year
        Calendar year of the statistic.
    hours
        Average utilisation hours (利用小时数): the year's wind generation divided by the
        average grid-connected wind capacity [h/yr]. Delivered energy: curtailment and
        outages are already taken out.
    series
        Which published statistic the number belongs to (the series differ by a few tens of
        hours in the same year).
    source
        Where the number was read.
    status
        S, S3, D or U (docs/wind-shape.md).
    """

    year: int
    hours: float
    series: str
    source: str
    status: str

    @property
    def capacity_factor_share(self) -> float:
        """Utilisation hours over the hours of the same year [0..1] (status D)."""
        return self.hours / len(hours_of_year(self.year))


# China's national average wind utilisation hours (docs/wind-shape.md, "Capacity factor").
# Each number is copied with its source and status; 2022 and 2023 are S3 (check against the
# NEA's own release before relying on them). Not found in any source read: a 2022 figure of
# 2,221 h (status U, not shipped) and any 2024 wind figure.
NATIONAL_WIND_UTILISATION_HOURS: tuple[WindUtilisationHours, ...] = (
    WindUtilisationHours(
        year=2021,
        hours=2246.0,
        series="NEA grid-connected wind operation, national average utilisation hours",
        source=(
            "National Energy Administration website notice on 2021 wind and PV grid operation "
            "('利用小时数2246小时'), read in the 中工网 reprint of 29 Jan 2022"
        ),
        status="S",
    ),
    WindUtilisationHours(
        year=2022,
        hours=2259.0,
        series=(
            "CWEA national average full-load hours (same series as the NEA 2021 figure: "
            "'2,259 hours, increasing by 13 hours from 2021')"
        ),
        source=(
            "Chinese Wind Energy Association summary on the IEA Wind TCP member page, "
            "https://iea-wind.org/about-iea-wind-tcp/members/cwea/"
        ),
        status="S3",
    ),
    WindUtilisationHours(
        year=2023,
        hours=2225.0,
        series=(
            "NEA power-industry statistics, wind at power plants of 6,000 kW and above "
            "('风电2225小时，增加7小时')"
        ),
        source=(
            "NEA 2023 national power-industry statistics (released 26 Jan 2024); the wind row "
            "read only in a third-party transcription in a public code file"
        ),
        status="S3",
    ),
)

# Weibull shape parameter k of hourly hub-height wind speed: 2 (the Rayleigh distribution).
# HOMER Pro 3.16 manual, "Generating Synthetic Wind Data", default Weibull k = 2.0 (status S);
# IEC 61400-1 describes the wind climate of its turbine classes with a Rayleigh distribution of
# mean 0.2 x Vref (status S3: read in NREL's WISDEM code, not in the standard). User-changeable:
# ``weibull_shape``.
WEIBULL_SHAPE = 2.0
# Lag-1 autocorrelation of the hourly standard-normal AR(1) series: HOMER Pro 3.16 manual,
# "Generating Synthetic Wind Data", default 1-hour autocorrelation factor 0.85 (status S), used
# there, as here, as the coefficient of the normal AR(1) sequence. HOMER's default rests on
# (mostly surface) station data; hub-height wind is usually more persistent. User-changeable:
# ``hourly_autocorrelation``.
HOURLY_AUTOCORRELATION = 0.85
# Power curve: cut-in, rated and cut-out hub-height wind speed of the IEA Wind Task 37 land-based
# reference turbine IEA-3.4-130-RWT (3.37 MW, 130 m rotor, 110 m hub, IEC class IIIA), after
# Bortolotti et al. (2019), NREL/TP-5000-73492: 4, 9.8 and 25 m/s (status S3: read in NREL's
# turbine-models library, docs/source/IEA_3.4MW_130_RWT.rst). User-changeable:
# ``cut_in_m_per_s``, ``rated_m_per_s``, ``cut_out_m_per_s``.
CUT_IN_M_PER_S = 4.0
RATED_M_PER_S = 9.8
CUT_OUT_M_PER_S = 25.0

_MONTHS = 12
_HOURS_PER_DAY = 24
# Scales tried when bracketing the Weibull scale, as multiples of the rated speed over the mean
# of the unit-scale speeds; wide enough to pass the maximum of the mean output for any k > 0.2.
_SCALE_GRID_SIZE = 240
_SCALE_GRID_LOW = 1e-3
_SCALE_GRID_HIGH = 1e2
# A fixed label mixed into the seed so that this stream differs from any other use of the same
# site and year ("wind" in ASCII); it carries no physical meaning.
_STREAM_LABEL = 0x77696E64


def national_wind_utilisation(year: int) -> WindUtilisationHours:
    """China's national average wind utilisation hours for a year, with their source.

    The row of the year itself, else the latest earlier year, else (for a year before the
    table starts) the earliest later year: the same year rule as the factor lookup
    (:mod:`tanlu.factors.lookup`). Compare ``result.year`` with ``year`` to report the fallback.

    Parameters
    ----------
    year
        Calendar year [yr].

    Returns
    -------
    WindUtilisationHours
        The row used; ``capacity_factor_share`` is its hours over the hours of its year [0..1].
    """
    rows = NATIONAL_WIND_UTILISATION_HOURS
    earlier = [row for row in rows if row.year <= year]
    if earlier:
        return max(earlier, key=lambda row: row.year)
    return min(rows, key=lambda row: row.year)


def wind_power_share(
    wind_speed_m_per_s: npt.ArrayLike,
    cut_in_m_per_s: float = CUT_IN_M_PER_S,
    rated_m_per_s: float = RATED_M_PER_S,
    cut_out_m_per_s: float = CUT_OUT_M_PER_S,
) -> npt.NDArray[np.float64]:
    """Output of a generic wind turbine as a share of its rated power [0..1].

    Zero below cut-in and from cut-out up; cubic in between cut-in and rated,
    ``(v**3 - v_in**3) / (v_r**3 - v_in**3)``, so that output is continuous at cut-in
    (assumption: the power in the wind grows as the cube of its speed, P = rho A Cp v^3 / 2, at
    constant Cp); 1 from rated to cut-out.

    Parameters
    ----------
    wind_speed_m_per_s
        Hub-height wind speed [m/s].
    cut_in_m_per_s, rated_m_per_s, cut_out_m_per_s
        Cut-in, rated and cut-out speed [m/s].

    Returns
    -------
    numpy.ndarray
        Output share [0..1], the shape of ``wind_speed_m_per_s``.
    """
    _check_power_curve(cut_in_m_per_s, rated_m_per_s, cut_out_m_per_s)
    speed = np.asarray(wind_speed_m_per_s, dtype=np.float64)
    cut_in_cubed = cut_in_m_per_s**3
    ramp = (speed**3 - cut_in_cubed) / (rated_m_per_s**3 - cut_in_cubed)
    share = np.clip(ramp, 0.0, 1.0)
    return np.where(speed >= cut_out_m_per_s, 0.0, share)


def wind_profile_mwh_per_mw(
    latitude: float,
    longitude: float,
    year: int,
    capacity_factor_share: float | None = None,
    *,
    weibull_shape: float = WEIBULL_SHAPE,
    hourly_autocorrelation: float = HOURLY_AUTOCORRELATION,
    cut_in_m_per_s: float = CUT_IN_M_PER_S,
    rated_m_per_s: float = RATED_M_PER_S,
    cut_out_m_per_s: float = CUT_OUT_M_PER_S,
    diurnal_amplitude_share: float = 0.0,
    diurnal_peak_hour: int | None = None,
    monthly_speed_ratios: Sequence[float] | None = None,
    seed: int | None = None,
) -> npt.NDArray[np.float64]:
    """Synthetic hourly energy of 1 MW of wind capacity [MWh per hour per MW].

    1. A standard-normal AR(1) series, ``z[t] = rho z[t-1] + sqrt(1 - rho**2) e[t]`` with
       ``z[0]`` and ``e`` independent standard normals (hourly persistence; Brown, Katz & Murphy
       1984; HOMER step 1).
    2. Each ``z`` mapped to the Weibull quantile of the same probability,
       ``w = (-ln(1 - Phi(z)))**(1/k)``: unit-scale hub-height wind speeds (HOMER step 5).
    3. Optional modulation, off by default because no hub-height shape for northern China was
       found with a source: ``w`` times the month's ``monthly_speed_ratios`` (normalised to mean 1)
       times ``1 + a cos(2 pi (hour - peak) / 24)`` (HOMER's sinusoidal daily profile, applied
       here to the speed rather than added in normal space).
    4. Wind speed ``c w`` through :func:`wind_power_share`, with the Weibull scale ``c`` [m/s]
       found by bracketing and bisection so that the mean over the year equals
       ``capacity_factor_share``.

    The same inputs give the same array. Without ``seed`` the random stream is derived from the
    site (rounded to 1e-4 deg) and the year with numpy's ``default_rng``; no global random state
    is used. Different sites get independent streams: the model has no spatial correlation, so
    several synthetic wind contracts together look smoother than real neighbouring farms.

    Parameters
    ----------
    latitude, longitude
        Site [deg]; they select the random stream only.
    year
        Calendar year [yr]; the profile has one value per hour of it in China Standard Time.
    capacity_factor_share
        Mean output over the year, energy over rated power times hours [0..1]. Default: China's
        national average wind utilisation hours for the year (else the latest earlier year,
        else the earliest later one) over the hours of that year
        (:func:`national_wind_utilisation`); give the contract's or the farm's own figure where
        you have it.
    weibull_shape
        Weibull shape parameter k of hourly wind speed [-] (2: Rayleigh).
    hourly_autocorrelation
        Lag-1 autocorrelation of the hourly standard-normal series [0..1). The wind-speed series
        keeps slightly less, the power series less again (about 0.8 at the defaults).
    cut_in_m_per_s, rated_m_per_s, cut_out_m_per_s
        Power curve [m/s]. Only their ratios matter to the shape, since the scale is fitted.
    diurnal_amplitude_share
        Relative amplitude of the daily sinusoid of mean wind speed [0..1) (HOMER's "diurnal
        pattern strength"); 0 leaves the daily pattern out.
    diurnal_peak_hour
        Hour of day of the highest mean wind speed in China Standard Time [h, 0..23]; required
        when ``diurnal_amplitude_share`` is above 0.
    monthly_speed_ratios
        Twelve relative monthly mean wind speeds, January first [-]; normalised to mean 1.
        None leaves the seasonal pattern out.
    seed
        Seed for numpy's ``default_rng`` (a non-negative integer); None derives one from the
        site and the year.

    Returns
    -------
    numpy.ndarray
        One value per hour [MWh/MW, 0..1], mean ``capacity_factor_share`` (to about 1e-4: the
        cut-out makes the mean step by up to 1/hours as the scale changes).

    Raises
    ------
    ProfileError
        If an input is out of range, or the capacity factor cannot be reached with this Weibull
        shape and power curve.
    """
    _check_site(latitude, longitude)
    hours = _hours(year)
    if capacity_factor_share is None:
        capacity_factor_share = national_wind_utilisation(year).capacity_factor_share
    _check_open_share(capacity_factor_share, "capacity_factor_share")
    _check_positive(weibull_shape, "weibull_shape")
    rho = float(hourly_autocorrelation)
    if not (math.isfinite(rho) and 0.0 <= rho < 1.0):
        raise ProfileError(f"hourly_autocorrelation {hourly_autocorrelation} is not in [0, 1)")
    _check_power_curve(cut_in_m_per_s, rated_m_per_s, cut_out_m_per_s)
    modulation = _modulation(
        hours, diurnal_amplitude_share, diurnal_peak_hour, monthly_speed_ratios
    )
    rng = np.random.default_rng(_seed(latitude, longitude, year, seed))

    normal = _ar1_standard_normal(rng, len(hours), rho)
    # Weibull quantile of Phi(z): -ln(1 - Phi(z)) = -ln Phi(-z), computed without cancellation
    from scipy.special import log_ndtr

    exceedance = -np.asarray(log_ndtr(-normal), dtype=np.float64)
    unit_speed = exceedance ** (1.0 / weibull_shape) * modulation

    curve = (cut_in_m_per_s, rated_m_per_s, cut_out_m_per_s)
    scale_m_per_s = _fit_scale(unit_speed, capacity_factor_share, curve, weibull_shape)
    return wind_power_share(scale_m_per_s * unit_speed, *curve)


def _hours(year: int) -> npt.NDArray[np.int64]:
    """Month (1..12) and hour of day (0..23) of each hour, as a 2-row array."""
    if isinstance(year, bool) or not isinstance(year, (int, np.integer)):
        raise ProfileError(f"year {year!r} is not an integer")
    try:
        times = hours_of_year(int(year))
    except (ValueError, OverflowError) as error:  # pandas' out-of-bounds dates are ValueErrors
        raise ProfileError(f"year {year} is outside the dates pandas can represent") from error
    return np.stack([np.asarray(times.month), np.asarray(times.hour)]).astype(np.int64).T


def _check_site(latitude: float, longitude: float) -> None:
    if not (
        math.isfinite(latitude)
        and math.isfinite(longitude)
        and -90 <= latitude <= 90
        and -180 <= longitude <= 180
    ):
        raise ProfileError(f"({latitude}, {longitude}) is not a latitude and longitude")


def _check_open_share(value: float, name: str) -> None:
    if not (math.isfinite(value) and 0.0 < value < 1.0):
        raise ProfileError(f"{name} {value} is not in (0, 1)")


def _check_positive(value: float, name: str) -> None:
    if not (math.isfinite(value) and value > 0.0):
        raise ProfileError(f"{name} {value} is not a positive number")


def _check_power_curve(cut_in: float, rated: float, cut_out: float) -> None:
    finite = all(math.isfinite(speed) for speed in (cut_in, rated, cut_out))
    if not (finite and 0.0 <= cut_in < rated < cut_out):
        raise ProfileError(
            f"power curve needs 0 <= cut-in < rated < cut-out; got cut-in {cut_in}, "
            f"rated {rated}, cut-out {cut_out} m/s"
        )


def _modulation(
    hours: npt.NDArray[np.int64],
    amplitude_share: float,
    peak_hour: int | None,
    monthly_ratios: Sequence[float] | None,
) -> npt.NDArray[np.float64]:
    """Relative mean wind speed of each hour from the seasonal and daily patterns [-]."""
    factor = np.ones(len(hours))
    if monthly_ratios is not None:
        ratios = np.asarray(monthly_ratios, dtype=np.float64)
        if ratios.shape != (_MONTHS,) or not (np.isfinite(ratios).all() and (ratios > 0).all()):
            raise ProfileError("monthly_speed_ratios needs 12 positive numbers, January first")
        factor *= (ratios / ratios.mean())[hours[:, 0] - 1]
    if not (math.isfinite(amplitude_share) and 0.0 <= amplitude_share < 1.0):
        raise ProfileError(f"diurnal_amplitude_share {amplitude_share} is not in [0, 1)")
    if amplitude_share > 0.0:
        if peak_hour is None or isinstance(peak_hour, bool) or not 0 <= peak_hour < _HOURS_PER_DAY:
            raise ProfileError(
                f"diurnal_peak_hour {peak_hour} is not an hour 0..23; it is required when "
                "diurnal_amplitude_share is above 0"
            )
        angle = 2.0 * math.pi * (hours[:, 1] - peak_hour) / _HOURS_PER_DAY
        factor *= 1.0 + amplitude_share * np.cos(angle)
    return factor


def _seed(latitude: float, longitude: float, year: int, seed: int | None) -> np.random.SeedSequence:
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ProfileError(f"seed {seed!r} is not a non-negative integer")
        return np.random.SeedSequence(int(seed))
    # the site to 1e-4 deg (about 11 m), shifted to non-negative integers, and the year
    latitude_key = round((latitude + 90.0) * 10_000)
    longitude_key = round((longitude + 180.0) * 10_000)
    return np.random.SeedSequence([_STREAM_LABEL, latitude_key, longitude_key, int(year)])


def _ar1_standard_normal(
    rng: np.random.Generator, hours: int, rho: float
) -> npt.NDArray[np.float64]:
    """A stationary AR(1) series with standard-normal marginals and lag-1 correlation rho."""
    from scipy.signal import lfilter

    drive = rng.standard_normal(hours)
    drive[1:] *= math.sqrt(1.0 - rho * rho)  # z[0] is drawn from the stationary N(0, 1)
    return np.asarray(lfilter([1.0], [1.0, -rho], drive), dtype=np.float64)


def _fit_scale(
    unit_speed: npt.NDArray[np.float64],
    target_share: float,
    curve: tuple[float, float, float],
    weibull_shape: float,
) -> float:
    """The Weibull scale [m/s] whose mean output over these hours equals the target."""

    def mean_share(scales: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.asarray(
            [wind_power_share(scale * unit_speed, *curve).mean() for scale in scales],
            dtype=np.float64,
        )

    reference = curve[1] / float(unit_speed.mean())
    grid = reference * np.geomspace(_SCALE_GRID_LOW, _SCALE_GRID_HIGH, _SCALE_GRID_SIZE)
    means = mean_share(grid)
    reached = np.flatnonzero(means >= target_share)
    if reached.size == 0:
        raise ProfileError(
            f"capacity_factor_share {target_share} cannot be reached: with weibull_shape "
            f"{weibull_shape} and a power curve of cut-in {curve[0]}, rated {curve[1]} and "
            f"cut-out {curve[2]} m/s, 1 MW delivers at most about {means.max():.3f} of its "
            "rated energy"
        )
    first = int(reached[0])
    low = float(grid[first - 1]) if first > 0 else 0.0
    high = float(grid[first])
    # bisection: the mean output rises with the scale until cut-out hours take over
    for _ in range(200):
        middle = 0.5 * (low + high)
        if middle in (low, high):
            break
        if mean_share(np.asarray([middle]))[0] < target_share:
            low = middle
        else:
            high = middle
    return high

"""Hour-by-hour (24/7) carbon-free-energy scoring and annual (RE100-style) matching.

CFE score of a consumer over a period (the 24/7 definition used by Google, EnergyTag and the
PyPSA 24/7 study of Riepin & Brown; shared/reference README, status S):

    score = sum_h [ min(load_h, clean_h) + grid_h x grid_cfe_share_h ] / sum_h load_h

where clean_h is the contracted and on-site carbon-free supply in hour h, grid_h what is still
drawn from the grid, and grid_cfe_share_h the grid's carbon-free share. Clean supply above the
hour's load (excess) counts for nothing and does not carry to other hours, except through a
battery charged from that excess.

Arrays are (sites, hours): every site of a portfolio is scored in one vectorised pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tanlu.errors import TanluError


class CfeError(TanluError):
    """Inputs to CFE scoring are inconsistent."""


@dataclass(frozen=True)
class Battery:
    """A battery that stores hourly clean excess for later hours of deficit.

    Attributes
    ----------
    energy_mwh
        Usable energy capacity [MWh].
    power_mw
        Charge and discharge power limit [MW] (= MWh per hour).
    round_trip_efficiency_share
        Energy out / energy in [0..1]; losses are taken on charging.
    available_from_hour
        Index of the first hour the battery works (0: from the start; later when it is
        commissioned during the period).
    """

    energy_mwh: float
    power_mw: float
    round_trip_efficiency_share: float
    available_from_hour: int = 0

    def __post_init__(self) -> None:
        if self.energy_mwh < 0 or self.power_mw < 0:
            raise CfeError("battery energy and power must be non-negative")
        if not (0 < self.round_trip_efficiency_share <= 1):
            raise CfeError("battery round-trip efficiency must be in (0, 1]")
        if self.available_from_hour < 0:
            raise CfeError("battery available_from_hour must be non-negative")


@dataclass(frozen=True)
class CfeResult:
    """Scores and energy balances per site [MWh over the period; shares 0..1].

    Attributes
    ----------
    table
        One row per site: ``site, load_mwh, clean_supply_mwh, matched_mwh, battery_mwh,
        grid_mwh, grid_cfe_mwh, excess_mwh, cfe_score_share, annual_match_share``.
        ``matched_mwh`` is clean supply used in its own hour; ``battery_mwh`` clean supply used
        later through the battery; ``excess_mwh`` clean supply not used in its own hour (some
        of it may have gone into the battery); ``annual_match_share`` = min(1, clean supply /
        load), the RE100-style annual figure.
    """

    table: pd.DataFrame

    def score(self, site: str) -> float:
        """The CFE score of one site [0..1]."""
        return float(self.table.set_index("site").at[site, "cfe_score_share"])


def _as_matrix(values: np.ndarray | float, shape: tuple[int, int], name: str) -> np.ndarray:
    array = np.asarray(values, dtype="float64")
    if array.ndim == 0:
        array = np.full(shape, float(array))
    elif array.ndim == 1:
        if array.shape[0] != shape[1]:
            raise CfeError(f"{name} has {array.shape[0]} hours; the load has {shape[1]}")
        array = np.broadcast_to(array, shape)
    elif array.shape != shape:
        raise CfeError(f"{name} has shape {array.shape}; the load has {shape} (sites, hours)")
    if not np.isfinite(array).all():
        raise CfeError(f"{name} has missing or infinite values")
    return array


def _battery_discharge(
    excess: np.ndarray, deficit: np.ndarray, batteries: list[Battery | None]
) -> np.ndarray:
    """Greedy battery dispatch per site: charge from excess, discharge into deficit.

    Starts empty; returns the energy discharged to the load in each hour [MWh].
    """
    sites, hours = excess.shape
    energy = np.array([b.energy_mwh if b else 0.0 for b in batteries])
    rated = np.array([b.power_mw if b else 0.0 for b in batteries])
    efficiency = np.array([b.round_trip_efficiency_share if b else 1.0 for b in batteries])
    start = np.array([b.available_from_hour if b else 0 for b in batteries])
    starts = set(start.tolist())
    power = np.where(start <= 0, rated, 0.0)
    stored = np.zeros(sites)
    discharged = np.zeros((sites, hours))
    for hour in range(hours):
        if hour in starts:
            power = np.where(start <= hour, rated, 0.0)
        out = np.minimum(np.minimum(deficit[:, hour], power), stored)
        stored -= out
        discharged[:, hour] = out
        charge = np.minimum(np.minimum(excess[:, hour], power), (energy - stored) / efficiency)
        stored += charge * efficiency
    return discharged


def score_cfe(
    load_mwh: np.ndarray,
    clean_supply_mwh: np.ndarray,
    grid_cfe_share: np.ndarray | float = 0.0,
    sites: list[str] | None = None,
    batteries: list[Battery | None] | None = None,
) -> CfeResult:
    """Score hour-by-hour CFE for many sites at once.

    Parameters
    ----------
    load_mwh
        Consumption, (sites, hours) or (hours,) for one site [MWh per hour].
    clean_supply_mwh
        Carbon-free supply contracted or generated for each site, same shape [MWh per hour].
    grid_cfe_share
        Carbon-free share of grid electricity: a number, one value per hour, or (sites, hours)
        [0..1].
    sites
        Site names (default ``site_0``, ``site_1`` ...).
    batteries
        One battery (or None) per site, charged only from that site's hourly excess.

    Returns
    -------
    CfeResult
    """
    load = np.asarray(load_mwh, dtype="float64")
    if load.ndim == 1:
        load = load[np.newaxis, :]
    if load.ndim != 2 or load.shape[1] == 0:
        raise CfeError("load must be (sites, hours) with at least one hour")
    shape = (load.shape[0], load.shape[1])
    clean = _as_matrix(clean_supply_mwh, shape, "clean supply")
    grid_share = _as_matrix(grid_cfe_share, shape, "grid CFE share")
    if not np.isfinite(load).all() or (load < 0).any() or (clean < 0).any():
        raise CfeError("load and clean supply must be finite and non-negative")
    if (grid_share < 0).any() or (grid_share > 1).any():
        raise CfeError("the grid CFE share must lie in 0..1")
    names = sites if sites is not None else [f"site_{i}" for i in range(shape[0])]
    if len(names) != shape[0]:
        raise CfeError(f"{len(names)} site names for {shape[0]} load rows")

    matched = np.minimum(load, clean)
    excess = clean - matched
    deficit = load - matched
    if batteries is not None:
        if len(batteries) != shape[0]:
            raise CfeError(f"{len(batteries)} batteries for {shape[0]} sites")
        from_battery = _battery_discharge(excess, deficit, batteries)
        deficit = deficit - from_battery
    else:
        from_battery = np.zeros(shape)
    grid_cfe = deficit * grid_share
    load_total = load.sum(axis=1)
    clean_total = clean.sum(axis=1)
    # over: clean / load overflows for a subnormal load total; min(1, inf) is still 1
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        score = np.where(
            load_total > 0,
            (matched.sum(axis=1) + from_battery.sum(axis=1) + grid_cfe.sum(axis=1)) / load_total,
            1.0,
        )
        annual = np.where(load_total > 0, np.minimum(1.0, clean_total / load_total), 1.0)
    table = pd.DataFrame(
        {
            "site": names,
            "load_mwh": load_total,
            "clean_supply_mwh": clean_total,
            "matched_mwh": matched.sum(axis=1),
            "battery_mwh": from_battery.sum(axis=1),
            "grid_mwh": deficit.sum(axis=1),
            "grid_cfe_mwh": grid_cfe.sum(axis=1),
            "excess_mwh": clean_total - matched.sum(axis=1),
            "cfe_score_share": np.clip(score, 0.0, 1.0),
            "annual_match_share": annual,
        }
    )
    return CfeResult(table)

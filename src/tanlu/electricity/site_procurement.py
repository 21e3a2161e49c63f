"""Procurement for one site of a project: its hourly load, what it already holds, its prices.

Builds a :class:`~tanlu.electricity.procurement.ProcurementProblem` from the project and solves
it: the load is the site's hourly consumption in the year (meter series or the documented
shape, scaled to the inventory's electricity plus on-site PV); the clean supply it already
holds (PV built, contracts allocated to it) is ``existing_clean_mwh``, at no further cost; new
on-site PV follows a pvlib profile at the site, wind contracts the synthetic wind shape
(docs/wind-shape.md) and solar contracts a PV profile; prices come from the bundled, sourced
table (docs/prices.md) with the project's ``data/prices*.csv`` rows first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from tanlu.electricity.matching import SOLAR_CONTRACT_TILT_DEG, calculate_electricity
from tanlu.electricity.prices import procurement_costs, procurement_prices
from tanlu.electricity.procurement import (
    CAPACITY_COLUMNS,
    KW_PER_MW,
    Mode,
    ProcurementError,
    ProcurementLimits,
    ProcurementProblem,
    ProcurementResult,
    cost_curve,
    solve_procurement,
)
from tanlu.electricity.profiles import pv_profile_mwh_per_kw
from tanlu.electricity.wind import wind_profile_mwh_per_mw
from tanlu.identifiers import normalise_id, unknown_id_hint
from tanlu.ingest.inputs import ProjectInputs, load_inputs
from tanlu.project import Project
from tanlu.tables import records


@dataclass(frozen=True)
class SiteProcurement:
    """The least-cost portfolio for one site and year, with what it was built from.

    Attributes
    ----------
    site, year, province
        The site, the year of its load, and its province (for prices).
    grid_cfe_share
        Carbon-free share of grid electricity, the year's mean at the site [0..1] (hour by hour
        when the project gives an hourly grid series).
    load_mwh, existing_clean_mwh
        The year's consumption and the clean supply already held [MWh].
    current_cfe_score_share
        The site's 24/7 score with what it holds now (as ``tanlu electricity --hourly``).
    new_pv_tilt_deg
        Tilt of new on-site PV [deg].
    limits
        The capacity limits the portfolio was chosen under.
    prices
        The prices used: ``parameter, value, unit, region, year, status, source, fallback``.
    result
        The optimiser's portfolio for the target.
    curve
        Cost against target (:func:`~tanlu.electricity.procurement.cost_curve`), when asked.
    """

    site: str
    year: int
    province: str
    grid_cfe_share: float
    load_mwh: float
    existing_clean_mwh: float
    current_cfe_score_share: float
    new_pv_tilt_deg: float
    limits: ProcurementLimits
    prices: pd.DataFrame
    result: ProcurementResult
    curve: pd.DataFrame | None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (docs/json-output.md, "tanlu procure")."""
        result = self.result
        return {
            "schema": "tanlu.procurement/1",
            "site": self.site,
            "year": self.year,
            "province": self.province,
            "mode": result.mode,
            "target_share": result.target_share,
            "grid_cfe_share": self.grid_cfe_share,
            "load_mwh": self.load_mwh,
            "existing_clean_mwh": self.existing_clean_mwh,
            "current_cfe_score_share": self.current_cfe_score_share,
            "new_pv_tilt_deg": self.new_pv_tilt_deg,
            "limits": asdict(self.limits),
            "portfolio": {name: getattr(result, name) for name in CAPACITY_COLUMNS},
            "cost_breakdown_cny": result.cost_breakdown_cny,
            "total_cost_cny": result.total_cost_cny,
            "objective_cny": result.objective_cny,
            "cost_per_mwh_cny": result.cost_per_mwh_cny,
            "cfe_score_share": result.cfe_score_share,
            "annual_clean_share": result.annual_clean_share,
            "solve_seconds": result.solve_seconds,
            "prices": records(self.prices),
            "curve": None if self.curve is None else records(self.curve),
        }


def procure_for_site(
    project: Project,
    site: str,
    year: int,
    target_share: float,
    mode: Mode = "hourly",
    limits: ProcurementLimits | None = None,
    curve_targets: Sequence[float] = (),
    inputs: ProjectInputs | None = None,
    new_pv_tilt_deg: float | None = None,
) -> SiteProcurement:
    """The least-cost portfolio that brings one site to a CFE target in a year.

    Parameters
    ----------
    project, site, year
        The project, the site id and the year whose load is planned for.
    target_share
        24/7 CFE score (``mode="hourly"``) or annual clean share (``"annual"``) to reach
        [0..1].
    mode
        ``"hourly"`` or ``"annual"``.
    limits
        Upper bounds on what can be built or contracted. Contracts and the battery are
        unbounded when their limit is None; new on-site PV is bounded by the site's
        ``pv_potential_kw`` in tanlu.toml (0 when not given: no room) unless
        ``limits.pv_max_kw`` is set.
    curve_targets
        Also solve for these targets and return the cost curve.
    inputs
        Already-loaded inputs, read when omitted.
    new_pv_tilt_deg
        Tilt of new on-site PV [deg]; default: the tilt of the site's first PV system, else
        the site's latitude (the rule of thumb for the most energy over a year; an assumption,
        docs/procurement.md).

    Raises
    ------
    ProcurementError
        When the site is unknown, has no location or no electricity in the year, a price is
        missing, or the target cannot be reached.
    """
    sites = project.sites.set_index("site")
    site = normalise_id(site)  # the id as every input file is read (tanlu.identifiers)
    if site not in sites.index:
        known = ", ".join(sorted(sites.index))
        raise ProcurementError(
            f"unknown site '{site}' (the project's sites: {known})"
            + unknown_id_hint(site, sites.index)
        )
    row = sites.loc[site]
    if pd.isna(row["latitude"]) or pd.isna(row["longitude"]):
        raise ProcurementError(
            f"site '{site}' needs latitude and longitude in tanlu.toml for its PV and wind profiles"
        )
    latitude, longitude = float(row["latitude"]), float(row["longitude"])
    if inputs is None:
        inputs = load_inputs(project)
    electricity = calculate_electricity(project, year, inputs, hourly=True)
    profiles = electricity.profiles
    if profiles is None or site not in profiles.sites:
        raise ProcurementError(
            f"site '{site}' has no electricity inside the boundary in {year}: nothing to supply"
        )
    index = profiles.row(site)
    load = profiles.load_mwh[index]
    if load.sum() <= 0:
        raise ProcurementError(f"site '{site}' uses no electricity in {year}: nothing to supply")
    existing = profiles.clean_supply_mwh[index]
    by_site = electricity.by_site.set_index("site")
    systems = [p for p in project.config.pv_systems if p.site == site]
    if new_pv_tilt_deg is None:
        new_pv_tilt_deg = systems[0].tilt_deg if systems else round(abs(latitude), 1)
    azimuth = systems[0].azimuth_deg if systems else 180.0
    pv_yield = systems[0].annual_yield_mwh_per_kw if systems else None
    pv = pv_profile_mwh_per_kw(
        latitude, longitude, year, new_pv_tilt_deg, azimuth, annual_yield_mwh_per_kw=pv_yield
    )
    solar = pv_profile_mwh_per_kw(latitude, longitude, year, SOLAR_CONTRACT_TILT_DEG) * KW_PER_MW
    wind = wind_profile_mwh_per_mw(latitude, longitude, year)
    prices = procurement_prices(inputs.prices)
    costs, used = procurement_costs(prices, str(row["province"]), year)
    limits = limits or ProcurementLimits()
    if limits.pv_max_kw is None:
        configured = next(s for s in project.config.sites if s.id == site)
        limits = replace(limits, pv_max_kw=configured.pv_potential_kw)
    problem = ProcurementProblem(
        load_mwh=load,
        pv_mwh_per_kw=pv,
        wind_mwh_per_mw=wind,
        solar_mwh_per_mw=np.minimum(solar, 1.0),
        grid_cfe_share=profiles.grid_cfe_share[index],
        costs=costs,
        limits=limits,
        existing_clean_mwh=existing,
    )
    result = solve_procurement(problem, target_share, mode)
    curve = cost_curve(problem, list(curve_targets), mode) if curve_targets else None
    return SiteProcurement(
        site=site,
        year=year,
        province=str(row["province"]),
        grid_cfe_share=float(profiles.grid_cfe_share[index].mean()),
        load_mwh=float(load.sum()),
        existing_clean_mwh=float(existing.sum()),
        current_cfe_score_share=float(by_site.at[site, "cfe_score_share"]),
        new_pv_tilt_deg=float(new_pv_tilt_deg),
        limits=limits,
        prices=used,
        result=result,
        curve=curve,
    )

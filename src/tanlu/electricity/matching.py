"""Green electricity per site and year: annual matching (RE100 style) and the 24/7 CFE score.

Consistent with the inventory by construction: purchased electricity, the allocation of
contractual instruments and market-based scope 2 are those of
:func:`tanlu.inventory.calculate_inventory` for the same project and year. On-site PV is
self-generation: it adds to consumption and is green by definition (RE100 counts
self-generation).

Hourly, a site's consumption follows its meter series or, without one, the documented shape of
its kind (a data centre flat, an office a working week: :mod:`tanlu.electricity.profiles`). Clean
supply in each hour is its PV plus the physical deliveries of the contracts allocated to it
(green-power contracts and PPAs), shaped by their technology (solar like PV at the site, other
technologies flat). Unbundled certificates (GECs) carry no hourly delivery: they count in annual
matching, not in the hourly score.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tanlu.electricity.cfe import Battery, score_cfe
from tanlu.electricity.profiles import (
    ProfileError,
    flat_profile_mwh,
    hours_of_year,
    office_load_mwh,
    pv_profile_mwh_per_kw,
)
from tanlu.electricity.wind import wind_profile_mwh_per_mw
from tanlu.factors.library import FactorLibrary
from tanlu.factors.lookup import lookup_factor
from tanlu.factors.regions import NATIONAL_REGION
from tanlu.ingest.hourly import hourly_series
from tanlu.ingest.inputs import ProjectInputs, load_inputs
from tanlu.ingest.instruments import CERTIFICATE_KINDS, ZERO_EMISSION_KINDS
from tanlu.inventory.boundary import define_boundary
from tanlu.inventory.calculate import InventoryResult, calculate_inventory
from tanlu.project import BatterySystem, Project, PvSystem
from tanlu.tables import records

PHYSICAL_KINDS = ("green_power_contract", "ppa")
# Tilt for the shape of solar contract deliveries (ground-mounted plants are tilted near the
# latitude; the shape matters, not the yield, which the contract's MWh fix). Assumption,
# documented in docs/methods.md section 10.
SOLAR_CONTRACT_TILT_DEG = 20.0


@dataclass(frozen=True)
class ElectricityResult:
    """Green electricity of an organisation in one year.

    Attributes
    ----------
    year
        The year.
    grid_cfe_share
        Carbon-free share of grid electricity used for the hourly score [0..1].
    grid_cfe_source
        Where that share comes from.
    by_site
        One row per site with electricity: ``site, kind, purchased_mwh, onsite_pv_mwh,
        consumption_mwh, contractual_mwh, certificate_mwh, green_mwh, green_share, re100_mwh,
        re100_unverified_mwh, re100_share, location_tco2e, market_tco2e`` and, when scored
        hourly, ``load_profile, grid_cfe_basis, battery_mwh, cfe_score_share``.
    hourly
        Whether the 24/7 score was computed.
    profiles
        The hourly series behind the scores (when hourly); not part of :meth:`to_dict`.
    """

    year: int
    grid_cfe_share: float
    grid_cfe_source: str
    by_site: pd.DataFrame
    hourly: bool
    profiles: HourlyProfiles | None = None

    @property
    def totals(self) -> dict[str, float]:
        """Organisation totals [MWh, tCO2e] and shares [0..1]."""
        table = self.by_site
        consumption = float(table["consumption_mwh"].sum())
        green = float(table["green_mwh"].sum())
        re100 = float(table["re100_mwh"].sum())
        totals = {
            "purchased_mwh": float(table["purchased_mwh"].sum()),
            "onsite_pv_mwh": float(table["onsite_pv_mwh"].sum()),
            "consumption_mwh": consumption,
            "contractual_mwh": float(table["contractual_mwh"].sum()),
            "green_mwh": green,
            "green_share": green / consumption if consumption else 0.0,
            "re100_mwh": re100,
            "re100_unverified_mwh": float(table["re100_unverified_mwh"].sum()),
            "re100_share": re100 / consumption if consumption else 0.0,
            "location_tco2e": float(table["location_tco2e"].sum()),
            "market_tco2e": float(table["market_tco2e"].sum()),
        }
        if self.hourly and consumption:
            weighted = (table["cfe_score_share"] * table["consumption_mwh"]).sum()
            totals["cfe_score_share"] = float(weighted / consumption)
        return totals

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (docs/json-output.md, "tanlu electricity")."""
        return {
            "schema": "tanlu.electricity/1",
            "year": self.year,
            "grid_cfe_share": self.grid_cfe_share,
            "grid_cfe_source": self.grid_cfe_source,
            "hourly": self.hourly,
            "totals": self.totals,
            "by_site": records(self.by_site),
        }


def derive_grid_cfe_share(library: FactorLibrary, year: int) -> tuple[float, str]:
    """Carbon-free share of China's grid electricity from the MEE/NBS factors of a year.

    Non-fossil electricity emits nothing, so the national average factor is the fossil-only
    factor times the fossil share: cfe share = 1 - average / fossil-only (2022: 1 - 0.5366 /
    0.8325 = 35.5%). Fallbacks of either lookup are named in the description.
    """
    average = lookup_factor(library, "electricity", "China", year).iloc[0]
    fossil = lookup_factor(library, "electricity", "China", year, "fossil_only").iloc[0]
    share = 1.0 - float(average["factor_t_per_unit"]) / float(fossil["factor_t_per_unit"])
    notes = [str(n) for n in (average["fallback"], fossil["fallback"]) if n]
    source = (
        f"1 - national average / national fossil-only factor ({average['factor_id']}, "
        f"{fossil['factor_id']})" + (f"; {'; '.join(notes)}" if notes else "")
    )
    return share, source


def pv_generation_mwh(
    system: PvSystem,
    latitude: float,
    longitude: float,
    year: int,
    series_mwh: np.ndarray | None = None,
) -> np.ndarray:
    """Hourly generation of one PV system in a year [MWh per hour]; zero before commissioning.

    ``series_mwh`` is the system's own hourly generation (a typical-year simulation or
    measurements, from a PV file); scaled to ``annual_yield_mwh_per_kw`` x capacity when that
    is given too. Without it, the clear-sky pvlib profile is used.
    """
    if series_mwh is not None:
        generation = np.asarray(series_mwh, dtype="float64")
        if system.annual_yield_mwh_per_kw is not None and generation.sum() > 0:
            target = system.annual_yield_mwh_per_kw * system.capacity_kw
            generation = generation * (target / float(generation.sum()))
    else:
        profile = pv_profile_mwh_per_kw(
            latitude,
            longitude,
            year,
            system.tilt_deg,
            system.azimuth_deg,
            annual_yield_mwh_per_kw=system.annual_yield_mwh_per_kw,
        )
        generation = profile * system.capacity_kw
    if system.commissioned is not None:
        hours = hours_of_year(year)
        started = hours >= pd.Timestamp(system.commissioned).tz_localize(hours.tz)
        generation = np.where(started, generation, 0.0)
    return generation


def _load_shape(kind: str, consumption_mwh: float, year: int) -> np.ndarray:
    if kind == "office":
        return office_load_mwh(consumption_mwh, year)
    return flat_profile_mwh(consumption_mwh, year)


def calculate_electricity(
    project: Project,
    year: int,
    inputs: ProjectInputs | None = None,
    hourly: bool = False,
    inventory: InventoryResult | None = None,
) -> ElectricityResult:
    """Annual green share, and optionally the 24/7 CFE score, per site and organisation.

    Parameters
    ----------
    project, year
        As for :func:`tanlu.calculate_inventory`.
    inputs
        Already-loaded inputs, read when omitted.
    hourly
        Also compute the hour-by-hour CFE score.
    inventory
        The inventory of the same year, computed when omitted.
    """
    if inputs is None:
        inputs = load_inputs(project)
    if inventory is None:
        inventory = calculate_inventory(project, year, inputs, check_base_year=False)
    market = inventory.scope2_market
    lines = inventory.line_summary
    location = (
        lines.loc[(lines["category"] == "purchased_electricity") & (lines["scope"] == 2)]
        .groupby("site")["emissions_tco2e"]
        .sum()
    )
    allocations = market.allocations
    certificates = (
        allocations.loc[allocations["kind"].isin(CERTIFICATE_KINDS)]
        .groupby("site")["allocated_mwh"]
        .sum()
    )
    sites = project.sites.set_index("site")
    boundary = define_boundary(
        project.sites, project.config.organisation.consolidation_approach
    ).set_index("site")
    hours = hours_of_year(year)
    pv_by_site: dict[str, np.ndarray] = {}
    for system in project.config.pv_systems:
        site = sites.loc[system.site]
        # Own generation counts like purchased electricity: inside the boundary only, at the
        # consolidation share, on the days the site is owned.
        if boundary.at[system.site, "boundary"] != "included":
            continue
        generation = pv_generation_mwh(
            system,
            site["latitude"],
            site["longitude"],
            year,
            hourly_series(inputs.pv_hourly, system.id, year),
        )
        owned = np.ones(len(hours), dtype=bool)
        local = hours.tz_localize(None)
        if pd.notna(site["owned_from"]):
            owned &= local >= site["owned_from"]
        if pd.notna(site["owned_until"]):
            owned &= local < site["owned_until"] + pd.Timedelta(days=1)
        share = float(boundary.at[system.site, "consolidation_share"])
        generation = np.where(owned, generation, 0.0) * share
        pv_by_site[system.site] = pv_by_site.get(system.site, 0.0) + generation

    table = market.by_site[["site", "electricity_mwh", "contractual_mwh", "market_tco2e"]]
    table = table.rename(columns={"electricity_mwh": "purchased_mwh"})
    missing = [s for s in pv_by_site if s not in set(table["site"])]
    if missing:
        extra = pd.DataFrame(
            {"site": missing, "purchased_mwh": 0.0, "contractual_mwh": 0.0, "market_tco2e": 0.0}
        )
        table = pd.concat([table, extra], ignore_index=True)
    table.insert(1, "kind", table["site"].map(sites["kind"]))
    table["onsite_pv_mwh"] = [float(np.sum(pv_by_site.get(s, 0.0))) for s in table["site"]]
    table["consumption_mwh"] = table["purchased_mwh"] + table["onsite_pv_mwh"]
    table["certificate_mwh"] = table["site"].map(certificates).fillna(0.0)
    table["green_mwh"] = table["contractual_mwh"] + table["onsite_pv_mwh"]
    with np.errstate(divide="ignore", invalid="ignore"):
        table["green_share"] = np.where(
            table["consumption_mwh"] > 0, table["green_mwh"] / table["consumption_mwh"], 0.0
        )
    table["location_tco2e"] = table["site"].map(location).fillna(0.0)
    # RE100: self-generation plus instruments whose facility is at most 15 years old; an
    # instrument without a commissioning date cannot show it and is reported apart.
    green_kinds = allocations["kind"].isin(ZERO_EMISSION_KINDS)
    eligible = allocations["re100_eligible"]
    re100 = allocations.loc[green_kinds & (eligible == True)]  # noqa: E712 (None stays out)
    unverified = allocations.loc[green_kinds & eligible.isna()]
    table["re100_mwh"] = table["onsite_pv_mwh"] + table["site"].map(
        re100.groupby("site")["allocated_mwh"].sum()
    ).fillna(0.0)
    table["re100_unverified_mwh"] = (
        table["site"].map(unverified.groupby("site")["allocated_mwh"].sum()).fillna(0.0)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        table["re100_share"] = np.where(
            table["consumption_mwh"] > 0, table["re100_mwh"] / table["consumption_mwh"], 0.0
        )
    table = table[
        [
            "site",
            "kind",
            "purchased_mwh",
            "onsite_pv_mwh",
            "consumption_mwh",
            "contractual_mwh",
            "certificate_mwh",
            "green_mwh",
            "green_share",
            "re100_mwh",
            "re100_unverified_mwh",
            "re100_share",
            "location_tco2e",
            "market_tco2e",
        ]
    ].reset_index(drop=True)

    setting = project.config.electricity.grid_cfe_share
    if setting == "derived":
        grid_share, grid_source = derive_grid_cfe_share(inputs.library, year)
    else:
        grid_share, grid_source = float(setting), "tanlu.toml [electricity] grid_cfe_share"

    profiles = None
    if hourly:
        profiles = build_hourly_profiles(
            project, year, table, allocations, inputs, pv_by_site, grid_share
        )
        scores = score_cfe(
            profiles.load_mwh,
            profiles.clean_supply_mwh,
            profiles.grid_cfe_share,
            sites=profiles.sites,
            batteries=profiles.batteries,
        ).table
        table["load_profile"] = profiles.load_source
        table["grid_cfe_basis"] = profiles.grid_cfe_basis
        table["battery_mwh"] = scores["battery_mwh"].to_numpy()
        table["cfe_score_share"] = scores["cfe_score_share"].to_numpy()
    return ElectricityResult(year, grid_share, grid_source, table, hourly, profiles)


@dataclass(frozen=True)
class HourlyProfiles:
    """The hourly series behind the 24/7 scores of a year, one row per site of ``sites``.

    Attributes
    ----------
    sites
        Site ids, in the order of the rows.
    load_mwh
        Consumption per hour, (sites, hours) [MWh]: the meter series, or the documented shape
        of the site's kind, scaled to the year's consumption.
    clean_supply_mwh
        On-site PV plus the physical deliveries allocated to the site per hour [MWh].
    load_source
        Per site: ``"meter"``, ``"office shape"`` or ``"flat"``.
    batteries
        Per site: its batteries as one :class:`~tanlu.electricity.cfe.Battery`, or None.
    grid_cfe_share
        Carbon-free share of the grid in each hour at each site, (sites, hours) [0..1].
    grid_cfe_basis
        Per site: the hourly series used (``hourly: <region>``) or ``annual``.
    """

    sites: list[str]
    load_mwh: np.ndarray
    clean_supply_mwh: np.ndarray
    load_source: list[str]
    batteries: list[Battery | None]
    grid_cfe_share: np.ndarray
    grid_cfe_basis: list[str]

    def row(self, site: str) -> int:
        """Row index of a site."""
        return self.sites.index(site)


def _site_batteries(
    project: Project, year: int, sites: list[str], boundary: pd.DataFrame
) -> list[Battery | None]:
    """One battery per site (capacities of a site's batteries added), inside the boundary only.

    A battery counts from its commissioning hour; several at one site are pooled, with the
    energy-weighted round-trip efficiency. Capacities are taken at the consolidation share, as
    PV generation is.
    """
    hours = hours_of_year(year)
    pooled: dict[str, list[BatterySystem]] = {}
    for system in project.config.batteries:
        if boundary.at[system.site, "boundary"] != "included":
            continue
        if system.commissioned is not None and system.commissioned.year > year:
            continue
        pooled.setdefault(system.site, []).append(system)
    result: list[Battery | None] = []
    for site in sites:
        systems = pooled.get(site)
        if not systems:
            result.append(None)
            continue
        share = float(boundary.at[site, "consolidation_share"])
        energy = sum(b.energy_mwh for b in systems)
        efficiency = sum(b.energy_mwh * b.round_trip_efficiency_share for b in systems) / energy
        first = min(
            0
            if b.commissioned is None or b.commissioned.year < year
            else int(hours.searchsorted(pd.Timestamp(b.commissioned).tz_localize(hours.tz)))
            for b in systems
        )
        result.append(
            Battery(
                energy_mwh=energy * share,
                power_mw=sum(b.power_mw for b in systems) * share,
                round_trip_efficiency_share=efficiency,
                available_from_hour=first,
            )
        )
    return result


def _delivery_shape(
    contract: Any,
    site: pd.Series,
    year: int,
    deliveries: pd.DataFrame,
    technology: dict[str, str],
    shapes: dict[tuple[str, str], np.ndarray],
) -> np.ndarray:
    """Hourly deliveries of one allocation [MWh]: the contract's delivery file, else its shape.

    With a delivery series, the site gets the allocated share of every hour. Without one, solar
    follows a PV profile at the site and wind the synthetic wind shape at the site
    (docs/wind-shape.md); other technologies are flat.
    """
    mwh = float(contract.allocated_mwh)
    series = hourly_series(deliveries, str(contract.instrument_id), year)
    if series is not None:
        total = float(series.sum())
        if total <= 0:
            raise ProfileError(
                f"delivery series of '{contract.instrument_id}' in {year} is zero in every hour"
            )
        return series * (mwh / total)
    tech = technology.get(str(contract.instrument_id), "")
    located = pd.notna(site["latitude"]) and pd.notna(site["longitude"])
    if tech in ("solar", "wind") and located:
        key = (str(site.name), tech)
        if key not in shapes:
            latitude, longitude = float(site["latitude"]), float(site["longitude"])
            shapes[key] = (
                pv_profile_mwh_per_kw(latitude, longitude, year, SOLAR_CONTRACT_TILT_DEG)
                if tech == "solar"
                else wind_profile_mwh_per_mw(latitude, longitude, year)
            )
        shape = shapes[key]
        scaled: np.ndarray = shape * (mwh / float(shape.sum()))
        return scaled
    return flat_profile_mwh(mwh, year)


def _grid_share_series(
    inputs: ProjectInputs, site: pd.Series, year: int, annual_share: float
) -> tuple[np.ndarray, str]:
    """The grid's hourly carbon-free share at a site: the most specific hourly series the
    project gives (province, then regional grid, then China), else the annual share."""
    hours = len(hours_of_year(year))
    for region in (site["province"], site["grid_region"], NATIONAL_REGION):
        if not isinstance(region, str) or not region:
            continue
        series = hourly_series(inputs.grid_cfe_hourly, region, year)
        if series is not None:
            return series, f"hourly: {region}"
    return np.full(hours, annual_share), "annual"


def build_hourly_profiles(
    project: Project,
    year: int,
    table: pd.DataFrame,
    allocations: pd.DataFrame,
    inputs: ProjectInputs,
    pv_by_site: dict[str, np.ndarray],
    grid_share: float = 0.0,
) -> HourlyProfiles:
    """Hourly load, clean supply and grid carbon-free share of every site of ``table`` (the
    annual result) in a year; ``grid_share`` is the annual share for sites without an hourly
    series."""
    hours = len(hours_of_year(year))
    sites = project.sites.set_index("site")
    boundary = define_boundary(
        project.sites, project.config.organisation.consolidation_approach
    ).set_index("site")
    instruments = inputs.instruments
    technology = dict(
        zip(instruments["instrument_id"], instruments["technology"].fillna(""), strict=True)
    )
    shapes: dict[tuple[str, str], np.ndarray] = {}
    physical = allocations.loc[allocations["kind"].isin(PHYSICAL_KINDS)]
    names = [str(s) for s in table["site"]]
    load = np.zeros((len(table), hours))
    clean = np.zeros((len(table), hours))
    grid = np.zeros((len(table), hours))
    sources = []
    bases = []
    for index, row in enumerate(table.itertuples(index=False)):
        consumption = float(row.consumption_mwh)
        metered = hourly_series(inputs.meter_hourly, str(row.site), year)
        if metered is not None and metered.sum() > 0:
            load[index] = metered * (consumption / float(metered.sum()))
            sources.append("meter")
        else:
            load[index] = _load_shape(str(row.kind), consumption, year)
            sources.append("office shape" if row.kind == "office" else "flat")
        grid[index], basis = _grid_share_series(inputs, sites.loc[row.site], year, grid_share)
        bases.append(basis)
        clean[index] += pv_by_site.get(str(row.site), np.zeros(hours))
        for contract in physical.loc[physical["site"] == row.site].itertuples(index=False):
            clean[index] += _delivery_shape(
                contract, sites.loc[row.site], year, inputs.delivery_hourly, technology, shapes
            )
    return HourlyProfiles(
        sites=names,
        load_mwh=load,
        clean_supply_mwh=clean,
        load_source=sources,
        batteries=_site_batteries(project, year, names, boundary),
        grid_cfe_share=grid,
        grid_cfe_basis=bases,
    )

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

from tanlu.electricity.cfe import score_cfe
from tanlu.electricity.profiles import (
    flat_profile_mwh,
    hours_of_year,
    office_load_mwh,
    pv_profile_mwh_per_kw,
)
from tanlu.factors.library import FactorLibrary
from tanlu.factors.lookup import lookup_factor
from tanlu.inventory.boundary import define_boundary
from tanlu.inventory.calculate import (
    InventoryResult,
    ProjectInputs,
    calculate_inventory,
    load_inputs,
)
from tanlu.project import Project, PvSystem
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
        consumption_mwh, contractual_mwh, certificate_mwh, green_mwh, green_share,
        location_tco2e, market_tco2e`` and, when scored hourly, ``cfe_score_share``.
    hourly
        Whether the 24/7 score was computed.
    """

    year: int
    grid_cfe_share: float
    grid_cfe_source: str
    by_site: pd.DataFrame
    hourly: bool

    @property
    def totals(self) -> dict[str, float]:
        """Organisation totals [MWh, tCO2e] and shares [0..1]."""
        table = self.by_site
        consumption = float(table["consumption_mwh"].sum())
        green = float(table["green_mwh"].sum())
        totals = {
            "purchased_mwh": float(table["purchased_mwh"].sum()),
            "onsite_pv_mwh": float(table["onsite_pv_mwh"].sum()),
            "consumption_mwh": consumption,
            "contractual_mwh": float(table["contractual_mwh"].sum()),
            "green_mwh": green,
            "green_share": green / consumption if consumption else 0.0,
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


def pv_generation_mwh(system: PvSystem, latitude: float, longitude: float, year: int) -> np.ndarray:
    """Hourly generation of one PV system in a year [MWh per hour]; zero before commissioning."""
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
    lines = inventory.lines
    location = (
        lines.loc[(lines["category"] == "purchased_electricity") & (lines["scope"] == 2)]
        .groupby("site")["emissions_tco2e"]
        .sum()
    )
    allocations = market.allocations
    certificates = (
        allocations.loc[allocations["kind"] == "gec"].groupby("site")["allocated_mwh"].sum()
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
        generation = pv_generation_mwh(system, site["latitude"], site["longitude"], year)
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
            "location_tco2e",
            "market_tco2e",
        ]
    ].reset_index(drop=True)

    setting = project.config.electricity.grid_cfe_share
    if setting == "derived":
        grid_share, grid_source = derive_grid_cfe_share(inputs.library, year)
    else:
        grid_share, grid_source = float(setting), "tanlu.toml [electricity] grid_cfe_share"

    if hourly:
        table["cfe_score_share"] = _hourly_scores(
            project, year, table, allocations, inputs.instruments, pv_by_site, grid_share
        )
    return ElectricityResult(year, grid_share, grid_source, table, hourly)


def _hourly_scores(
    project: Project,
    year: int,
    table: pd.DataFrame,
    allocations: pd.DataFrame,
    instruments: pd.DataFrame,
    pv_by_site: dict[str, np.ndarray],
    grid_share: float,
) -> np.ndarray:
    hours = len(hours_of_year(year))
    sites = project.sites.set_index("site")
    technology = dict(zip(instruments["instrument_id"], instruments["technology"], strict=True))
    solar_shapes: dict[str, np.ndarray] = {}
    physical = allocations.loc[allocations["kind"].isin(PHYSICAL_KINDS)]
    load = np.zeros((len(table), hours))
    clean = np.zeros((len(table), hours))
    for index, row in enumerate(table.itertuples(index=False)):
        load[index] = _load_shape(str(row.kind), float(row.consumption_mwh), year)
        clean[index] += pv_by_site.get(str(row.site), np.zeros(hours))
        for contract in physical.loc[physical["site"] == row.site].itertuples(index=False):
            mwh = float(contract.allocated_mwh)
            site = sites.loc[row.site]
            located = pd.notna(site["latitude"]) and pd.notna(site["longitude"])
            if technology.get(contract.instrument_id) == "solar" and located:
                if row.site not in solar_shapes:
                    solar_shapes[str(row.site)] = pv_profile_mwh_per_kw(
                        float(site["latitude"]),
                        float(site["longitude"]),
                        year,
                        SOLAR_CONTRACT_TILT_DEG,
                    )
                shape = solar_shapes[str(row.site)]
                clean[index] += shape * (mwh / shape.sum())
            else:
                clean[index] += flat_profile_mwh(mwh, year)
    scores = score_cfe(load, clean, grid_share, sites=list(table["site"]))
    result: np.ndarray = scores.table["cfe_score_share"].to_numpy(dtype="float64")
    return result

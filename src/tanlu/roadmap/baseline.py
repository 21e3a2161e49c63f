"""The baseline: a project's emissions carried forward, year by year, with no new action.

From the inventory of ``from_year`` (the last reporting year by default): each site's
electricity (purchased and own PV) and every other emission stream (scope 1, scope 2 heat,
scope 3 by category) grow at the site's rate; grid factors change at the scenario's rate.
Contracts and certificates are decisions of the roadmap, so the baseline has none: its
market-based scope 2 is all residual. docs/roadmap.md ("Baseline") gives the equations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tanlu.electricity.matching import pv_generation_mwh
from tanlu.factors.library import activity_properties
from tanlu.inventory.boundary import define_boundary
from tanlu.inventory.calculate import LEASED_ASSETS, InventoryResult
from tanlu.project import Project, RoadmapSettings
from tanlu.roadmap.levers import FUEL_LEVERS

SCOPE2_ELECTRICITY = "purchased_electricity"
# Fuels that levers act on one by one (fleet electrification, back-up fuel switch): their scope 1
# emissions and litres are carried in the baseline's ``fuels`` table as well as in ``streams``.
FUEL_ACTIVITIES = ("diesel_mobile", "diesel_stationary")
FUEL_COLUMNS = ["site", "activity", "scope", "category", "year", "fuel_l", "emissions_tco2e"]


@dataclass(frozen=True)
class Baseline:
    """Projected activity and emissions with no new action.

    Attributes
    ----------
    from_year
        The inventory year projected from.
    years
        The planned years (after ``from_year``, to the end year).
    sites
        One row per site with electricity: ``site, kind, scope, growth_share_per_year,
        pv_potential_kw``; ``scope`` is 2 for the organisation's own electricity and 3 for
        leased assets outside the boundary (scope 3 category 8, e.g. colocation racks).
    electricity
        One row per site and year: ``site, year, scope, consumption_mwh, existing_pv_mwh,
        purchased_mwh, location_factor_tco2e_per_mwh, residual_factor_tco2e_per_mwh,
        grid_price_cny_per_mwh``. For leased assets both factors are the one the inventory
        used for category 8.
    streams
        One row per site, scope, category and year of everything but electricity (scope 2
        purchases and category 8 leased-asset electricity): ``site, scope, category, year,
        emissions_tco2e``.
    base_year_tco2e
        Base-year emissions: ``scope1, scope2_location, scope2_market, scope3``.
    fuels
        One row per site, fuel of :data:`FUEL_ACTIVITIES` and year, scope 1 only: ``site,
        activity, scope, category, year, fuel_l, emissions_tco2e`` [L, tCO2e]. The same
        emissions are in ``streams`` (its category's row); this table lets a lever act on one
        fuel of a category and know how many litres it replaces.
    """

    from_year: int
    years: list[int]
    sites: pd.DataFrame
    electricity: pd.DataFrame
    streams: pd.DataFrame
    base_year_tco2e: dict[str, float]
    fuels: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FUEL_COLUMNS))

    def gross_tco2e(self, scopes: list[int], basis: str) -> pd.Series:
        """Baseline emissions of some scopes per year [tCO2e]."""
        streams = self.streams.loc[self.streams["scope"].isin(scopes)]
        total = streams.groupby("year")["emissions_tco2e"].sum().reindex(self.years, fill_value=0)
        electricity = self.electricity.loc[self.electricity["scope"].isin(scopes)]
        factor = np.where(
            (electricity["scope"] == 2) & (basis == "location"),
            electricity["location_factor_tco2e_per_mwh"],
            electricity["residual_factor_tco2e_per_mwh"],
        )
        used = (electricity["purchased_mwh"] * factor).groupby(electricity["year"]).sum()
        return total + used.reindex(self.years, fill_value=0)


def reduction_rows(
    baseline: Baseline, lever: str, scope: int, categories: tuple[str, ...]
) -> pd.DataFrame:
    """The stream an emission-reduction lever cuts: its fuel's rows of ``fuels`` for a fuel
    lever (:data:`tanlu.roadmap.levers.FUEL_LEVERS`), else its categories' rows of
    ``streams``. Columns ``site, scope, category, year, emissions_tco2e`` (site as object)."""
    if lever in FUEL_LEVERS:
        fuels = baseline.fuels
        rows = fuels.loc[(fuels["activity"] == FUEL_LEVERS[lever]) & (fuels["scope"] == scope)]
    else:
        streams = baseline.streams
        rows = streams.loc[(streams["scope"] == scope) & streams["category"].isin(categories)]
    return rows.astype({"site": object})


def _growth(project: Project, settings: RoadmapSettings) -> dict[str, float]:
    """Growth of each site's activity [share/yr]: the site's own rate, else its kind's, else 0."""
    return {
        site.id: float(
            settings.site_growth_share_per_year.get(
                site.id, settings.growth_share_per_year.get(site.kind, 0.0)
            )
        )
        for site in project.config.sites
    }


def electricity_sites(inventory: InventoryResult, project: Project) -> list[str]:
    """Sites with electricity in the inventory (scope 2, or leased assets in scope 3 category
    8) or own PV, sorted."""
    market = inventory.scope2_market.by_site
    owners = {system.site for system in project.config.pv_systems}
    lines = inventory.line_summary
    leased = lines.loc[
        (lines["category"] == LEASED_ASSETS) & (lines["activity"] == "electricity"), "site"
    ]
    return sorted(set(market["site"]) | owners | set(leased))


def existing_pv_mwh(project: Project, year: int) -> pd.DataFrame:
    """Generation of the project's PV systems inside the boundary [MWh], one row per system.

    Index: the system id. Columns ``site``; ``full_year_mwh`` (a full year of output, in
    ``year``'s weather); ``generated_mwh`` (what it generated in ``year``, from its
    commissioning hour); ``commissioned`` (its commissioning date, NaT when not given); both
    energies at the consolidation share.
    """
    sites = project.sites.set_index("site")
    boundary = define_boundary(
        project.sites, project.config.organisation.consolidation_approach
    ).set_index("site")
    rows: dict[str, dict[str, object]] = {}
    for system in project.config.pv_systems:
        if boundary.at[system.site, "boundary"] != "included":
            continue
        full_year = system.model_copy(update={"commissioned": None})
        site = sites.loc[system.site]
        generation = pv_generation_mwh(full_year, site["latitude"], site["longitude"], year)
        share = float(boundary.at[system.site, "consolidation_share"])
        if system.commissioned is not None and pd.Timestamp(system.commissioned).year >= year:
            generated = pv_generation_mwh(system, site["latitude"], site["longitude"], year)
        else:
            generated = generation
        rows[system.id] = {
            "site": system.site,
            "full_year_mwh": float(np.sum(generation)) * share,
            "generated_mwh": float(np.sum(generated)) * share,
            "commissioned": pd.Timestamp(system.commissioned)
            if system.commissioned is not None
            else pd.NaT,
        }
    columns = ["site", "full_year_mwh", "generated_mwh", "commissioned"]
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns)


def operating_share(commissioned: pd.Timestamp, year: int) -> float:
    """Share of ``year`` a system commissioned on ``commissioned`` runs [0..1]: 1 when it was
    commissioned before the year (or no date is given), 0 when after, else the days from
    its commissioning to the year's end over the days of the year."""
    if pd.isna(commissioned) or commissioned.year < year:
        return 1.0
    if commissioned.year > year:
        return 0.0
    start = pd.Timestamp(f"{year}-01-01")
    end = pd.Timestamp(f"{year + 1}-01-01")
    return float((end - commissioned.normalize()) / (end - start))


def build_baseline(
    project: Project,
    settings: RoadmapSettings,
    inventory: InventoryResult,
    base_inventory: InventoryResult,
    end_year: int,
    grid_price_cny_per_mwh: dict[str, float],
    existing_pv: pd.DataFrame | None = None,
) -> Baseline:
    """Project ``inventory`` (the year planned from) to ``end_year``.

    Parameters
    ----------
    project, settings
        The project and its (scenario's) roadmap settings.
    inventory
        The inventory of the year planned from.
    base_inventory
        The inventory of the base year (for reduction targets and the offset cap).
    end_year
        The last planned year.
    grid_price_cny_per_mwh
        Price of grid electricity at each site in ``from_year`` [CNY/MWh].
    existing_pv
        :func:`existing_pv_mwh` of the project in ``from_year``, computed when omitted.
    """
    from_year = inventory.year
    years = list(range(from_year + 1, end_year + 1))
    growth = _growth(project, settings)
    change = settings.grid_factor_change_share_per_year
    market = inventory.scope2_market.by_site.set_index("site")
    lines = inventory.line_summary.loc[~inventory.line_summary["outside_scopes"]]
    electricity_lines = lines.loc[(lines["scope"] == 2) & (lines["category"] == SCOPE2_ELECTRICITY)]
    location = electricity_lines.groupby("site")["emissions_tco2e"].sum()
    pv = existing_pv if existing_pv is not None else existing_pv_mwh(project, from_year)
    leased_lines = lines.loc[
        (lines["scope"] == 3)
        & (lines["category"] == LEASED_ASSETS)
        & (lines["activity"] == "electricity")
    ]
    # MWh counted once per activity row (a row may have a line per gas), emissions over all
    # its lines
    leased_mwh = leased_lines.groupby("site")["quantity_counted"].sum()
    leased_tco2e = leased_lines.groupby("site")["emissions_tco2e"].sum()
    # the baseline buys no instruments: covered sites at the emissions before them
    covered = inventory.scope2_market.leased_by_site.set_index("site")["location_tco2e"]
    leased_tco2e.update(covered.astype("float64"))
    leased = set(leased_mwh.index) - set(market.index)
    sites = sorted(set(market.index) | set(pv["site"]) | leased)
    configured = {site.id: site for site in project.config.sites}
    rows = []
    for site in sites:
        scope = 3 if site in leased else 2
        purchased0 = float(market["electricity_mwh"].get(site, 0.0))
        systems = pv.loc[pv["site"] == site]
        # each system's full-year output and commissioning date, read once for every year
        system_years = [
            (float(row.full_year_mwh), row.commissioned) for row in systems.itertuples(index=False)
        ]
        if scope == 3:
            purchased0 = float(leased_mwh[site])
        # consumption in the year planned from: its purchase plus what its PV generated then
        # (from the commissioning hour); planned years get each system's full year from the
        # year after it starts, and the share of the year it runs in its first year
        consumption0 = purchased0 + float(systems["generated_mwh"].sum())
        location0 = float(location.get(site, 0.0)) / purchased0 if purchased0 else 0.0
        residual0 = float(market["residual_factor_tco2e_per_mwh"].get(site, 0.0))
        if scope == 3:
            location0 = residual0 = float(leased_tco2e[site]) / purchased0 if purchased0 else 0.0
        rate = float(growth.get(site, 0.0))
        price0 = grid_price_cny_per_mwh[site]
        price_change = settings.electricity_price_change_share_per_year
        for year in years:
            step = year - from_year
            consumption = consumption0 * (1 + rate) ** step
            pv_mwh = sum(
                full_year_mwh * operating_share(commissioned, year)
                for full_year_mwh, commissioned in system_years
            )
            rows.append(
                {
                    "site": site,
                    "year": year,
                    "scope": scope,
                    "consumption_mwh": consumption,
                    "existing_pv_mwh": min(pv_mwh, consumption),
                    "purchased_mwh": max(consumption - pv_mwh, 0.0),
                    "location_factor_tco2e_per_mwh": location0 * (1 + change) ** step,
                    "residual_factor_tco2e_per_mwh": residual0 * (1 + change) ** step,
                    "grid_price_cny_per_mwh": price0 * (1 + price_change) ** step,
                }
            )
    # the columns named, so that a project with no electricity gets an empty table, not none
    electricity = pd.DataFrame(
        rows,
        columns=[
            "site",
            "year",
            "scope",
            "consumption_mwh",
            "existing_pv_mwh",
            "purchased_mwh",
            "location_factor_tco2e_per_mwh",
            "residual_factor_tco2e_per_mwh",
            "grid_price_cny_per_mwh",
        ],
    )
    moved = leased_lines.index[leased_lines["site"].isin(leased)]
    others = lines.loc[
        ~((lines["scope"] == 2) & (lines["category"] == SCOPE2_ELECTRICITY))
        & ~lines.index.isin(moved)
    ]
    grouped = others.groupby(["site", "scope", "category"], as_index=False)["emissions_tco2e"].sum()
    streams = [
        grouped.assign(
            year=year,
            emissions_tco2e=grouped["emissions_tco2e"]
            * (1 + grouped["site"].astype(object).map(growth).astype(float)) ** (year - from_year),
        )
        for year in years
    ]
    site_table = pd.DataFrame(
        {
            "site": sites,
            "kind": [configured[s].kind for s in sites],
            "scope": [3 if s in leased else 2 for s in sites],
            "growth_share_per_year": [float(growth.get(s, 0.0)) for s in sites],
            "pv_potential_kw": [configured[s].pv_potential_kw for s in sites],
        }
    )
    base = {
        "scope1": base_inventory.scope1_tco2e,
        "scope2_location": base_inventory.scope2_location_tco2e,
        "scope2_market": base_inventory.scope2_market_tco2e,
        "scope3": base_inventory.scope3_tco2e,
    }
    return Baseline(
        from_year=from_year,
        years=years,
        sites=site_table,
        electricity=electricity,
        streams=pd.concat(streams, ignore_index=True)
        if streams
        else grouped.assign(year=pd.Series(dtype=int)),
        base_year_tco2e=base,
        fuels=_fuels(lines, growth, from_year, years),
    )


def _fuels(
    lines: pd.DataFrame, growth: dict[str, float], from_year: int, years: list[int]
) -> pd.DataFrame:
    """The baseline's ``fuels`` table: scope 1 litres and emissions of each lever fuel, grown.

    Litres from the lines' canonical quantity (``quantity_counted`` of the line summary:
    tonnes for diesel) and the bundled density
    (fuel_properties.csv): litres = t / (t/m3) x 1000 L/m3.
    """
    fuel_lines = lines.loc[(lines["scope"] == 1) & lines["activity"].isin(FUEL_ACTIVITIES)]
    if fuel_lines.empty or not years:
        return pd.DataFrame(columns=FUEL_COLUMNS)
    keys = ["site", "activity", "scope", "category"]
    grouped = (
        fuel_lines.groupby(keys, as_index=False, observed=True)[
            ["quantity_counted", "emissions_tco2e"]
        ]
        .sum()
        .rename(columns={"quantity_counted": "fuel_t"})
    )
    properties = activity_properties()
    density = grouped["activity"].map(
        {activity: properties[activity].density_t_per_m3 for activity in FUEL_ACTIVITIES}
    )
    grouped["fuel_l"] = grouped["fuel_t"] / density.astype(float) * 1000.0
    rate = grouped["site"].astype(object).map(growth).fillna(0.0).astype(float)
    frames = [
        grouped.assign(
            year=year,
            fuel_l=grouped["fuel_l"] * (1 + rate) ** (year - from_year),
            emissions_tco2e=grouped["emissions_tco2e"] * (1 + rate) ** (year - from_year),
        )
        for year in years
    ]
    return pd.concat(frames, ignore_index=True)[FUEL_COLUMNS]

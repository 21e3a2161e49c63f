"""Activity x factors -> a GHG inventory for one year (GHG Protocol Corporate Standard).

Scope 1 and scope 3 come straight from the emission lines; scope 2 is reported both ways:
location-based from the lines (the most specific grid factor for the site and year) and
market-based from :mod:`tanlu.inventory.instruments`. Gases regulated by the Montreal Protocol
(HCFC-22) are computed but reported outside the scopes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa

from tanlu import engine
from tanlu.errors import FactorError, InputError, InputIssue
from tanlu.factors.library import FactorLibrary
from tanlu.factors.lookup import lookup_factor, resolve_factors
from tanlu.ingest.activity_store import unique_name
from tanlu.ingest.inputs import ProjectInputs, load_inputs, project_years
from tanlu.inventory.base_year import BaseYearCheck, compare_structures, sites_in_structure_of
from tanlu.inventory.boundary import define_boundary
from tanlu.inventory.instruments import (
    MarketBasedScope2,
    calculate_market_based_scope2,
)
from tanlu.inventory.lines import EmissionLines
from tanlu.project import MarketResidualPolicy, Project
from tanlu.tables import records
from tanlu.units import energy_gj_per_unit

# Scope 3 category of a leased asset's scope 1 and 2 emissions (boundary rules).
LEASED_ASSETS = "cat8_upstream_leased_assets"
# The columns of the checked activity rows the inventory reads (tanlu.engine.emission_lines),
# with where each row is (source_id, source_line) for its lines.
ACTIVITY_COLUMNS: tuple[str, ...] = (
    "row_id",
    "source_id",
    "source_line",
    "site",
    "activity",
    "period_start",
    "period_end",
    "quantity",
    "unit",
    "scope",
    "category",
)
# The columns of the resolved site factors that the engine reads (tanlu.engine.emission_lines).
SITE_FACTOR_COLUMNS = [
    "site",
    "activity",
    "gas",
    "factor_id",
    "factor_t_per_unit",
    "dataset_ncv_gj_per_unit",
    "gwp",
    "outside_scopes",
]


def with_energy_content(conversions: pd.DataFrame) -> pd.DataFrame:
    """Add ``energy_gj_per_unit``: GJ per unit given where a fuel measured in t or m3 was entered
    in energy units (GJ, tce, kWh ...), else 0.

    Such a quantity meets its factor through the NCV of the factor's own dataset
    (:func:`tanlu.engine.emission_lines`), not through the activity's default NCV.
    """
    energy = [
        (energy_gj_per_unit(str(u)) or 0.0) if canonical not in ("MWh", "GJ") else 0.0
        for u, canonical in zip(conversions["unit"], conversions["canonical_unit"], strict=True)
    ]
    return conversions.assign(energy_gj_per_unit=np.asarray(energy, dtype="float64"))


def derive_fuel_upstream(
    con: Any, library: FactorLibrary, activities: ir.Table, conversions: pd.DataFrame
) -> tuple[ir.Table, pd.DataFrame]:
    """Add scope 3 category 3 rows (well-to-tank) for every fuel row that has an upstream
    activity, on the engine.

    A derived row keeps the ``row_id`` and source of the fuel row it comes from, so its emission
    lines trace to the same file and line; its quantity and unit are the fuel row's, converted
    as the fuel's (the upstream activity is measured in the same canonical unit), so an energy
    entry meets the upstream factor through that factor's own dataset NCV.
    """
    catalogue = library.activities.set_index("activity")
    upstream = catalogue["upstream_activity"]
    upstream = upstream[upstream != ""]
    mapping = pd.DataFrame(
        {
            "fuel_activity": upstream.index.astype(str),
            "upstream_activity": upstream.to_numpy(dtype=str),
            "upstream_category": upstream.map(catalogue["category"]).to_numpy(dtype=str),
        }
    )
    fuels = engine.to_table(con, mapping, unique_name("upstream_activities"))
    joined = activities.join(fuels, activities.activity == fuels.fuel_activity)
    derived = joined.mutate(
        activity=joined.upstream_activity,
        scope=ibis.literal(3, "int64"),
        category=joined.upstream_category,
    ).select(*activities.columns)
    derived_conversions = (
        conversions.loc[conversions["activity"].isin(upstream.index)]
        .assign(activity=lambda t: t["activity"].map(upstream))
        .drop_duplicates(["activity", "unit"])
    )
    combined = pd.concat([conversions, derived_conversions], ignore_index=True)
    return (
        activities.union(derived),
        combined.drop_duplicates(["activity", "unit"]).reset_index(drop=True),
    )


def factor_kind_for(activity: str, include_radiative_forcing: bool) -> str:
    """The factor kind an activity uses under the project's accounting choices."""
    if include_radiative_forcing and activity.startswith("air_travel"):
        return "with_rf"
    return "default"


def resolve_site_factors(
    project: Project, library: FactorLibrary, pairs: pd.DataFrame, year: int
) -> pd.DataFrame:
    """Factors for every (site, activity) pair in a year, one row per gas.

    Table operations throughout: the factor sets are resolved once per distinct (activity,
    factor kind, province, grid region, year) key (:func:`tanlu.factors.resolve_factors`);
    GWP (by gas, GWP set and the activity's CH4 origin, :meth:`FactorLibrary.gwps_of`), the
    dataset's own NCV (:meth:`FactorLibrary.dataset_ncv_table`), the Montreal Protocol flag
    and the fallback notes are added to those few rows (:func:`_weighed_factors`), and one
    merge takes them to the sites, so that the work per site is that merge alone.

    Returns
    -------
    pandas.DataFrame
        ``site, activity, gas, factor_id, factor_t_per_unit, gwp, outside_scopes, fallback, ...``

    Raises
    ------
    FactorError
        Naming every site and activity that has no factor at all.
    """
    accounting = project.config.accounting
    keys = pairs.merge(project.sites[["site", "province", "grid_region"]], on="site")
    kinds = {
        activity: factor_kind_for(activity, accounting.include_radiative_forcing)
        for activity in keys["activity"].unique()
    }
    keys["factor_kind"] = keys["activity"].map(kinds).astype(str)
    keys["year"] = year
    resolved = resolve_factors(library, keys, accounting.factor_fallback_order.value)
    resolved = _weighed_factors(library, resolved, project.config.organisation.gwp_set.value)
    merged = keys.merge(
        resolved, on=["activity", "factor_kind", "province", "grid_region", "year"], how="left"
    )
    missing = merged.loc[merged["factor_id"].isna(), ["site", "activity"]].drop_duplicates()
    if not missing.empty:
        listed = ", ".join(f"{r.activity} at {r.site}" for r in missing.itertuples(index=False))
        raise FactorError(f"no emission factor for {year}: {listed}")
    merged["outside_scopes"] = merged["outside_scopes"].astype(bool)
    merged["factor_key"] = np.arange(len(merged), dtype="int64")
    return merged


def _weighed_factors(library: FactorLibrary, resolved: pd.DataFrame, gwp_set: str) -> pd.DataFrame:
    """The resolved factor rows (one per lookup key and gas, :func:`resolve_factors`) with
    what the lines need of each: ``gwp``, ``dataset_ncv_gj_per_unit``, ``outside_scopes`` and
    the ``fallback`` note (text, "" when none).

    Computed once per key and gas, before the keys meet the sites, so that its cost does not
    grow with the sites.
    """
    resolved = resolved.copy()
    # methane takes the GWP of its activity's origin (activities.csv ch4_origin); other gases
    # their generic value
    ch4_origin = resolved["activity"].map(library.activities.set_index("activity")["ch4_origin"])
    resolved["gwp"] = library.gwps_of(
        pd.DataFrame(
            {
                "gas": resolved["gas"],
                "gwp_set": gwp_set,
                "origin": ch4_origin.fillna("").where(resolved["gas"] == "CH4", ""),
            }
        )
    )
    # The NCV the chosen factor's dataset was built with [GJ per canonical unit] (0: none of
    # its own): a quantity entered in energy units meets this factor through it.
    ncv = library.dataset_ncv_table().set_index(["dataset", "activity"])
    resolved["dataset_ncv_gj_per_unit"] = (
        ncv["dataset_ncv_gj_per_unit"]
        .reindex(pd.MultiIndex.from_arrays([resolved["dataset"].astype(str), resolved["activity"]]))
        .fillna(0.0)
        .to_numpy(dtype="float64")
    )
    resolved["fallback"] = resolved["fallback"].astype("string").fillna("")
    resolved["gwp_set"] = resolved["gwp_set"].astype("string")
    # A CO2e factor aggregated with another GWP set cannot be re-weighted: say so.
    other_gwp = (resolved["gas"] == "CO2e") & ~resolved["gwp_set"].fillna("").isin(["", gwp_set])
    note = "CO2e factor uses " + resolved["gwp_set"].fillna("") + f" GWPs, project uses {gwp_set}"
    resolved["fallback"] = resolved["fallback"].where(
        ~other_gwp, (resolved["fallback"] + "; " + note).str.lstrip("; ")
    )
    gases = library.gwp.drop_duplicates("gas")
    montreal_gases = gases.loc[gases["montreal_protocol"].astype(bool), "gas"]
    resolved["outside_scopes"] = resolved["gas"].isin(montreal_gases).to_numpy(dtype=bool)
    return resolved


@dataclass(frozen=True)
class InventoryResult:
    """A GHG inventory for one year.

    All emissions are in tCO2e unless a column says otherwise; energy in MWh.

    Attributes
    ----------
    emission_lines
        One line per activity row and gas, traced to ``source_file``/``source_line`` and
        ``factor_id``, computed on the engine when read (:class:`EmissionLines`; ``lines``
        gives them as a pandas table).
    line_summary
        The lines summed by entity, site, activity, scope, category, gas, factor and
        ``outside_scopes`` (:data:`tanlu.engine.LINE_SUMMARY_KEYS`): ``emissions_t``,
        ``emissions_tco2e``, ``quantity_counted`` (in the activity's canonical unit, at the
        share in the year and the consolidation share, each row once) and ``line_count``;
        instruments on leased assets applied as on the lines.
    by_scope, by_category, by_site, by_entity, by_gas
        Summaries (scope 2 location-based in ``by_category``; both methods in ``by_site``).
    scope2_market
        Market-based scope 2: per site, allocations and unallocated instruments.
    fallbacks
        Every factor lookup that fell back, with what it used instead.
    factors_used
        Every factor behind a number, with its source and status.
    excluded_sites
        Sites outside the organisational boundary.
    base_year_check
        For a reporting year after the base year: whether structural change since the base
        year passes the significance threshold (:mod:`tanlu.inventory.base_year`).
    """

    organisation: str
    year: int
    gwp_set: str
    consolidation_approach: str
    market_residual_policy: str
    emission_lines: EmissionLines
    line_summary: pd.DataFrame
    by_scope: pd.DataFrame
    by_category: pd.DataFrame
    by_site: pd.DataFrame
    by_entity: pd.DataFrame
    by_gas: pd.DataFrame
    scope2_market: MarketBasedScope2
    fallbacks: pd.DataFrame
    factors_used: pd.DataFrame
    excluded_sites: pd.DataFrame
    residual_factor_id: str
    base_year_check: BaseYearCheck | None = None

    @property
    def lines(self) -> pd.DataFrame:
        """Every emission line as a pandas table (:meth:`EmissionLines.frame`: all of them come
        into memory; ``emission_lines.batches()`` streams them)."""
        return self.emission_lines.frame()

    def _scope_total(self, scope: int) -> float:
        match = self.by_scope.loc[self.by_scope["scope"] == scope, "emissions_tco2e"]
        return float(match.sum())

    @property
    def scope1_tco2e(self) -> float:
        """Scope 1 [tCO2e]."""
        return self._scope_total(1)

    @property
    def scope2_location_tco2e(self) -> float:
        """Scope 2, location-based [tCO2e]."""
        return self._scope_total(2)

    @property
    def scope2_market_tco2e(self) -> float:
        """Scope 2, market-based [tCO2e]."""
        return float(self.scope2_market.by_site["market_tco2e"].sum()) + self._scope2_heat()

    def _scope2_heat(self) -> float:
        heat = self.by_category.loc[self.by_category["category"] == "purchased_heat"]
        return float(heat["emissions_tco2e"].sum())

    @property
    def scope3_tco2e(self) -> float:
        """Scope 3 [tCO2e]."""
        return self._scope_total(3)

    @property
    def outside_scopes_tco2e(self) -> float:
        """Montreal Protocol gases, reported outside the scopes [tCO2e]."""
        summary = self.line_summary
        return float(summary.loc[summary["outside_scopes"], "emissions_tco2e"].sum())

    @property
    def total_location_tco2e(self) -> float:
        """Scopes 1 + 2 (location-based) + 3 [tCO2e]."""
        return self.scope1_tco2e + self.scope2_location_tco2e + self.scope3_tco2e

    @property
    def total_market_tco2e(self) -> float:
        """Scopes 1 + 2 (market-based) + 3 [tCO2e]."""
        return self.scope1_tco2e + self.scope2_market_tco2e + self.scope3_tco2e

    @property
    def totals(self) -> dict[str, float]:
        """Scope totals and both grand totals [tCO2e] (``to_dict()["totals"]``)."""
        return {
            "scope1_tco2e": self.scope1_tco2e,
            "scope2_location_tco2e": self.scope2_location_tco2e,
            "scope2_market_tco2e": self.scope2_market_tco2e,
            "scope3_tco2e": self.scope3_tco2e,
            "total_location_tco2e": self.total_location_tco2e,
            "total_market_tco2e": self.total_market_tco2e,
            "outside_scopes_tco2e": self.outside_scopes_tco2e,
        }

    def to_dict(self) -> dict[str, Any]:
        """The result as plain JSON-ready data; keys are documented in docs/json-output.md."""

        return {
            "schema": "tanlu.inventory/1",
            "organisation": self.organisation,
            "year": self.year,
            "gwp_set": self.gwp_set,
            "consolidation_approach": self.consolidation_approach,
            "market_residual_policy": self.market_residual_policy,
            "units": {"emissions": "tCO2e", "energy": "MWh"},
            "totals": self.totals,
            "by_scope": records(self.by_scope),
            "by_category": records(self.by_category),
            "by_site": records(self.by_site),
            "by_entity": records(self.by_entity),
            "by_gas": records(self.by_gas),
            "scope2_market": {
                "residual_factor_id": self.residual_factor_id,
                "by_site": records(self.scope2_market.by_site),
                "allocations": records(self.scope2_market.allocations),
                "unallocated": records(self.scope2_market.unallocated),
                "leased_by_site": records(self.scope2_market.leased_by_site),
                "leased_allocations": records(self.scope2_market.leased_allocations),
            },
            "fallbacks": records(self.fallbacks),
            "factors_used": records(self.factors_used),
            "excluded_sites": records(self.excluded_sites),
            "base_year_check": (
                self.base_year_check.to_dict() if self.base_year_check is not None else None
            ),
        }


def _residual_factor(project: Project, library: FactorLibrary, year: int) -> pd.DataFrame:
    policy = project.config.accounting.market_residual_policy
    kind = (
        "excluding_market_traded_non_fossil"
        if policy is MarketResidualPolicy.EXCLUDING_MARKET_TRADED_NON_FOSSIL
        else "default"
    )
    return lookup_factor(
        library,
        "electricity",
        "China",
        year,
        kind,
        project.config.accounting.factor_fallback_order.value,
    )


def calculate_inventory(
    project: Project,
    year: int,
    inputs: ProjectInputs | None = None,
    check_base_year: bool = True,
) -> InventoryResult:
    """Calculate the inventory of one year.

    The steps, each a function over tables: the checked activity rows stay on the engine
    where the checks left them (:class:`tanlu.ingest.activity_store.ActivityStore`); the
    rows of the year inside the boundary (:func:`select_year_activities`), with the fuels'
    upstream rows (:func:`derive_fuel_upstream`), meet their factors
    (:func:`resolve_site_factors`) in one pass that sums their emission lines
    (:func:`sum_emission_lines`); from those sums, market-based scope 2 at the residual factor
    with the leased assets' electricity (:func:`calculate_market_based_scope2_from_summary`,
    :func:`leased_electricity`), the instruments of leased assets
    (:func:`_apply_leased_instruments`), the aggregations (:func:`aggregate_by_scope`,
    :func:`aggregate_by_site`), the factors' fallbacks and the factors used
    (:func:`list_fallbacks`, :func:`list_factors_used`). The lines themselves are computed
    only when read (:class:`EmissionLines`).

    Parameters
    ----------
    project
        From :func:`tanlu.load_project`.
    year
        A base or reporting year of the project.
    inputs
        Already-loaded inputs (to compute several years from one read); read when omitted.
    check_base_year
        Also check whether structural change requires a base-year recalculation.

    Raises
    ------
    InputError
        When any input row is bad (nothing is computed).
    FactorError
        When an activity has no factor for a site and year.
    """
    _require_inventory_year(project, year)
    inputs = inputs or load_inputs(project)
    library = inputs.library
    organisation = project.config.organisation
    boundary = define_boundary(project.sites, organisation.consolidation_approach)
    settings = project.config.engine
    store = inputs.activities.on(settings.backend.value, settings.spark_master)
    con = store.con
    conversions = with_energy_content(inputs.unit_conversions)
    activities = store.table.select(*ACTIVITY_COLUMNS)
    if project.config.accounting.derive_fuel_upstream:
        activities, conversions = derive_fuel_upstream(con, library, activities, conversions)
    sites = engine.to_table(con, boundary, unique_name("sites"))
    activities = select_year_activities(activities, sites, year)
    pairs = site_activity_pairs(activities, library)
    site_factors = resolve_site_factors(project, library, pairs, year)
    conversion_table = engine.to_table(con, _conversion_columns(conversions), unique_name("units"))
    factor_table = engine.to_table(
        con, site_factors[["factor_key", *SITE_FACTOR_COLUMNS]], unique_name("site_factors")
    )
    summary, line_summary = sum_emission_lines(
        con,
        activities,
        conversion_table,
        sites,
        factor_table,
        year,
        settings.backend.value,
    )

    catalogue = library.activities
    electricity_activities = set(
        catalogue.loc[catalogue["category"] == "purchased_electricity", "activity"]
    )
    residual = _residual_factor(project, library, year)
    market = calculate_market_based_scope2_from_summary(
        line_summary,
        electricity_activities,
        boundary,
        inputs.instruments,
        calculate_residual_tco2e_per_mwh(library, residual, organisation.gwp_set.value),
        year,
    )
    summary, line_summary, scales = _apply_leased_instruments(
        summary, line_summary, market, electricity_activities
    )
    lines = EmissionLines(
        engine.traced_lines(
            engine.emission_lines(activities, conversion_table, sites, factor_table, year),
            store.sources_table(),
            engine.to_table(
                con,
                pa.table(
                    {
                        "scale_site": pa.array(scales["scale_site"], pa.string()),
                        "instrument_scale": pa.array(scales["instrument_scale"], pa.float64()),
                    }
                ),
                unique_name("instrument_scales"),
            ),
            sorted(electricity_activities),
        ),
        int(line_summary["line_count"].sum()),
        keep_alive=store,
    )

    by_scope, by_category, by_gas = aggregate_by_scope(summary)
    by_site = aggregate_by_site(summary, line_summary, market, electricity_activities)
    by_entity = by_site.groupby("entity", as_index=False)[
        ["scope1_tco2e", "scope2_location_tco2e", "scope2_market_tco2e", "scope3_tco2e"]
    ].sum()

    base_year_check = None
    if check_base_year and year != organisation.base_year:
        base_year_check = check_base_year_structure(project, inputs, year)

    excluded = boundary.loc[boundary["boundary"] == "excluded", ["site", "entity"]].assign(
        reason=f"outside the boundary under {organisation.consolidation_approach.value}"
    )
    return InventoryResult(
        organisation=organisation.name,
        year=year,
        gwp_set=organisation.gwp_set.value,
        consolidation_approach=organisation.consolidation_approach.value,
        market_residual_policy=project.config.accounting.market_residual_policy.value,
        emission_lines=lines,
        line_summary=line_summary,
        by_scope=by_scope,
        by_category=by_category,
        by_site=by_site,
        by_entity=by_entity,
        by_gas=by_gas,
        scope2_market=market,
        fallbacks=list_fallbacks(site_factors, residual),
        factors_used=list_factors_used(library, line_summary, residual),
        excluded_sites=excluded.reset_index(drop=True),
        residual_factor_id=str(residual["factor_id"].iloc[0]),
        base_year_check=base_year_check,
    )


def _require_inventory_year(project: Project, year: int) -> None:
    """Raise :class:`InputError` (naming tanlu.toml) unless ``year`` is a base or reporting
    year of the project."""
    years = project_years(project)
    if year not in years:
        raise InputError(
            [
                InputIssue(
                    project.config_file,
                    None,
                    "organisation.reporting_years",
                    f"{year} is not a base or reporting year ({', '.join(map(str, years))})",
                )
            ]
        )


def select_year_activities(activities: ir.Table, boundary: ir.Table, year: int) -> ir.Table:
    """The activity rows whose period overlaps ``year``, at sites the boundary counts (on the
    engine; ``boundary``: ``site, boundary``)."""
    in_year = (activities.period_start <= ibis.date(year, 12, 31)) & (
        activities.period_end >= ibis.date(year, 1, 1)
    )
    counted = boundary.filter(boundary.boundary != "excluded").select(counted_site="site")
    return activities.filter(in_year).semi_join(counted, activities.site == counted.counted_site)


def site_activity_pairs(activities: ir.Table, library: FactorLibrary) -> pd.DataFrame:
    """The distinct ``site, activity`` pairs of the rows, in the order they first occur (rows
    entered, then the fuels' upstream rows derived from them): the order of the factor keys."""
    firsts = engine.to_pandas(
        activities.group_by(["site", "activity"]).aggregate(first_row=activities.row_id.min())
    )
    derived = set(library.activities["upstream_activity"]) - {""}
    firsts["derived"] = firsts["activity"].isin(derived)
    ordered = firsts.sort_values(["derived", "first_row", "activity"], kind="stable")
    return ordered[["site", "activity"]].reset_index(drop=True)


def _conversion_columns(conversions: pd.DataFrame) -> pd.DataFrame:
    return conversions[["activity", "unit", "multiplier", "energy_gj_per_unit"]]


def sum_emission_lines(
    con: Any,
    activities: ir.Table,
    unit_conversions: ir.Table,
    sites: ir.Table,
    site_factors: ir.Table,
    year: int,
    backend: str = engine.DEFAULT_BACKEND,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The one pass over every activity row (:func:`tanlu.engine.line_totals`, kept on the
    engine) and the two summaries the inventory is built from: by entity, site, scope,
    category and gas (:func:`tanlu.engine.summarise_totals`) and by those with activity and
    factor (:func:`tanlu.engine.summarise_lines`) [t, tCO2e].

    The tables are on ``con`` (:func:`tanlu.engine.emission_lines` says their columns); sums
    are taken as ``backend`` adds (``[engine]`` of tanlu.toml)."""
    sum_kind = engine.BACKENDS[backend].sum_kind
    totals = engine.keep(
        con,
        engine.line_totals(activities, unit_conversions, sites, site_factors, year, sum_kind),
        unique_name("line_totals"),
    )
    summary = engine.to_pandas(engine.summarise_totals(totals, site_factors, sites, sum_kind))
    line_summary = engine.to_pandas(engine.summarise_lines(totals, site_factors, sites, sum_kind))
    return summary, line_summary


def electricity_by_site(
    line_summary: pd.DataFrame, electricity_activities: set[str], scope: int | None = None
) -> pd.Series:
    """Purchased electricity by site [MWh]: ``quantity_counted`` of the electricity
    activities (at the share in the year and the consolidation share, each row once), of
    ``scope`` when given."""
    rows = line_summary.loc[line_summary["activity"].isin(electricity_activities)]
    if scope is not None:
        rows = rows.loc[rows["scope"] == scope]
    return rows.groupby("site")["quantity_counted"].sum().rename("electricity_mwh")


def leased_electricity(
    line_summary: pd.DataFrame, consumption: pd.DataFrame, electricity_activities: set[str]
) -> pd.DataFrame:
    """Electricity of leased assets outside the boundary, per site: category 8 (never scope 2)
    [MWh], with its location-based emissions ``location_tco2e`` [tCO2e]."""
    in_cat8 = (line_summary["scope"] == 3) & (line_summary["category"] == LEASED_ASSETS)
    in_cat8 &= ~line_summary["site"].isin(set(consumption["site"]))
    leased_rows = line_summary.loc[line_summary["activity"].isin(electricity_activities) & in_cat8]
    leased = leased_rows.groupby("site", as_index=False)["quantity_counted"].sum()
    leased = leased.rename(columns={"quantity_counted": "electricity_mwh"})
    leased["location_tco2e"] = leased["site"].map(
        leased_rows.groupby("site")["emissions_tco2e"].sum()
    )
    return leased


def calculate_residual_tco2e_per_mwh(
    library: FactorLibrary, residual: pd.DataFrame, gwp_set: str
) -> float:
    """The residual factor's rows (one per gas) weighted by their GWPs [tCO2e/MWh]."""
    return float(
        sum(
            f * library.gwp_of(g, gwp_set)
            for f, g in zip(residual["factor_t_per_unit"], residual["gas"], strict=True)
        )
    )


def calculate_market_based_scope2_from_summary(
    line_summary: pd.DataFrame,
    electricity_activities: set[str],
    boundary: pd.DataFrame,
    instruments: pd.DataFrame,
    residual_tco2e_per_mwh: float,
    year: int,
) -> MarketBasedScope2:
    """Market-based scope 2 of the sites' own electricity and the instruments applied to leased
    assets' (:func:`calculate_market_based_scope2`), electricity not covered at the residual
    factor; the electricity from the line summary."""
    consumption = electricity_by_site(line_summary, electricity_activities, scope=2).reset_index()
    leased = leased_electricity(line_summary, consumption, electricity_activities)
    included = boundary.loc[boundary["boundary"] == "included"]
    return calculate_market_based_scope2(
        consumption,
        instruments,
        year,
        residual_tco2e_per_mwh,
        leased,
        dict(zip(included["site"], included["consolidation_share"].astype(float), strict=True)),
    )


def aggregate_by_scope(
    summary: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Emissions by scope and by scope and category (gases outside the scopes left out), and
    by gas (all) [t, tCO2e]."""
    in_scopes = summary.loc[~summary["outside_scopes"]]
    by_scope = in_scopes.groupby("scope", as_index=False)["emissions_tco2e"].sum()
    by_category = in_scopes.groupby(["scope", "category"], as_index=False)["emissions_tco2e"].sum()
    by_gas = (
        summary.groupby(["gas", "outside_scopes"], as_index=False)[
            ["emissions_t", "emissions_tco2e"]
        ]
        .sum()
        .sort_values(["outside_scopes", "gas"], ignore_index=True)
    )
    return by_scope, by_category, by_gas


def aggregate_by_site(
    summary: pd.DataFrame,
    line_summary: pd.DataFrame,
    market: MarketBasedScope2,
    electricity_activities: set[str],
) -> pd.DataFrame:
    """Per entity and site: electricity [MWh], scope 1, scope 2 both ways and scope 3 [tCO2e]
    (market-based scope 2: the instruments' figure plus purchased heat)."""
    in_scopes = summary.loc[~summary["outside_scopes"]]
    site_scope = in_scopes.groupby(["entity", "site", "scope"], as_index=False)[
        "emissions_tco2e"
    ].sum()
    wide = (
        site_scope.pivot_table(
            index=["entity", "site"], columns="scope", values="emissions_tco2e", aggfunc="sum"
        )
        .reindex(columns=[1, 2, 3], fill_value=0.0)
        .fillna(0.0)
    )
    wide.columns = ["scope1_tco2e", "scope2_location_tco2e", "scope3_tco2e"]
    by_site = wide.reset_index()
    heat = line_summary.loc[
        (line_summary["category"] == "purchased_heat") & ~line_summary["outside_scopes"]
    ]
    heat_by_site = heat.groupby("site")["emissions_tco2e"].sum()
    market_by_site = market.by_site.set_index("site")
    electricity = electricity_by_site(line_summary, electricity_activities)
    # float even with no sites (an empty map keeps the key's string type)
    by_site["electricity_mwh"] = by_site["site"].map(electricity).fillna(0.0).astype(float)
    by_site["scope2_market_tco2e"] = by_site["site"].map(market_by_site["market_tco2e"]).fillna(
        0.0
    ).astype(float) + by_site["site"].map(heat_by_site).fillna(0.0).astype(float)
    return by_site[
        [
            "entity",
            "site",
            "electricity_mwh",
            "scope1_tco2e",
            "scope2_location_tco2e",
            "scope2_market_tco2e",
            "scope3_tco2e",
        ]
    ]


def list_fallbacks(site_factors: pd.DataFrame, residual: pd.DataFrame) -> pd.DataFrame:
    """Every factor found by a fallback (region or year), with the sites it served."""
    fallback_rows = (
        site_factors.loc[site_factors["fallback"] != ""]
        .groupby(["activity", "factor_id", "fallback"], as_index=False)["site"]
        .agg(lambda sites: ", ".join(sorted(set(sites))))
        .rename(columns={"site": "sites"})
    )
    residual_fallback = residual.loc[residual["fallback"] != "", ["factor_id", "fallback"]]
    fallbacks = pd.concat(
        [
            fallback_rows,
            residual_fallback.assign(sites="(all)", activity="electricity (market-based residual)"),
        ],
        ignore_index=True,
    )[["activity", "factor_id", "fallback", "sites"]]
    return fallbacks.reset_index(drop=True)


def list_factors_used(
    library: FactorLibrary, line_summary: pd.DataFrame, residual: pd.DataFrame
) -> pd.DataFrame:
    """The library's rows of every factor the lines (``factor_id``) and the residual mix
    used."""
    used_ids = pd.concat([line_summary["factor_id"], residual["factor_id"]]).unique()
    columns = [
        "factor_id",
        "dataset",
        "activity",
        "factor_kind",
        "gas",
        "value",
        "unit",
        "region_level",
        "region",
        "year_start",
        "year_end",
        "source",
        "status",
    ]
    return (
        library.factors.loc[library.factors["factor_id"].isin(used_ids), columns]
        .sort_values("factor_id")
        .reset_index(drop=True)
    )


def _apply_leased_instruments(
    summary: pd.DataFrame,
    line_summary: pd.DataFrame,
    market: MarketBasedScope2,
    electricity_activities: set[str],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Category 8 electricity of leased assets that instruments cover, at its market figure.

    Each covered site's category 8 electricity is scaled by market / location tCO2e (every gas
    alike): in the line summary, in the summary (its category 8 rows lowered by the same
    amount) and, through the returned ``scale_site, instrument_scale`` table, on the lines
    (:func:`tanlu.engine.traced_lines`), so that the lines, the summaries and
    ``market.leased_by_site`` agree.
    """
    covered = market.leased_by_site
    scales = pd.DataFrame(
        {
            "scale_site": covered["site"].astype(str),
            "instrument_scale": (covered["market_tco2e"] / covered["location_tco2e"])
            .where(covered["location_tco2e"] > 0, 1.0)
            .astype("float64"),
        }
    )
    if covered.empty:
        return summary, line_summary, scales
    by_site = pd.Series(scales["instrument_scale"].to_numpy(), index=scales["scale_site"])
    target = line_summary["activity"].isin(electricity_activities) & (line_summary["scope"] == 3)
    target &= (line_summary["category"] == LEASED_ASSETS) & line_summary["site"].isin(by_site.index)
    factor = line_summary.loc[target, "site"].map(by_site).astype("float64")
    line_summary = line_summary.copy()
    cut = line_summary.loc[target, ["site", "gas", "emissions_t", "emissions_tco2e"]].copy()
    cut["emissions_t"] *= 1.0 - factor
    cut["emissions_tco2e"] *= 1.0 - factor
    line_summary.loc[target, "emissions_t"] *= factor
    line_summary.loc[target, "emissions_tco2e"] *= factor
    delta = cut.groupby(["site", "gas"])[["emissions_t", "emissions_tco2e"]].sum()
    summary = summary.copy()
    rows = (
        (summary["scope"] == 3)
        & (summary["category"] == LEASED_ASSETS)
        & ~summary["outside_scopes"]
    )
    keys = pd.MultiIndex.from_frame(summary.loc[rows, ["site", "gas"]].astype(object))
    for column in ("emissions_t", "emissions_tco2e"):
        lowered = delta[column].reindex(keys).fillna(0.0).to_numpy()
        summary.loc[rows, column] = summary.loc[rows, column].to_numpy() - lowered
    return summary, line_summary, scales


def check_base_year_structure(
    project: Project,
    inputs: ProjectInputs,
    year: int,
    base_inventory: InventoryResult | None = None,
) -> BaseYearCheck:
    """Whether the structural change from the base year to ``year`` requires a base-year
    recalculation (the check :func:`calculate_inventory` makes with ``check_base_year``).

    Parameters
    ----------
    project, inputs
        The project and its loaded inputs.
    year
        A reporting year after the base year.
    base_inventory
        The base year's inventory as reported, when already computed (computed when omitted).
    """
    base_year = project.config.organisation.base_year
    reported = (
        base_inventory
        if base_inventory is not None
        else calculate_inventory(project, base_year, inputs, check_base_year=False)
    )
    restructured = replace(project, sites=sites_in_structure_of(project.sites, year))
    kept = inputs.activities.restricted_to(restructured.sites["site"])
    recalculated = calculate_inventory(
        restructured, base_year, replace(inputs, activities=kept), check_base_year=False
    )
    return compare_structures(
        project.sites,
        base_year,
        year,
        reported.total_location_tco2e,
        recalculated.total_location_tco2e,
        project.config.organisation.base_year_significance_share,
    )

"""The inventory arithmetic, written once as Ibis table expressions, for any backend.

The expressions use no backend-specific SQL, so that every backend :func:`tanlu.engine.connect`
opens runs them unchanged; tables reach a connection as Arrow (:func:`arrow_table`, then
:func:`tanlu.engine.to_table`) and come back with :func:`to_pandas`.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa

LINE_COLUMNS: tuple[str, ...] = (
    "row_id",
    "factor_key",
    "site",
    "entity",
    "activity",
    "scope",
    "category",
    "gas",
    "quantity_canonical",
    "share_in_year",
    "consolidation_share",
    "factor_id",
    "factor_t_per_unit",
    "gwp",
    "outside_scopes",
    "emissions_t",
    "emissions_tco2e",
)


def arrow_table(frame: pd.DataFrame) -> pa.Table:
    """A pandas table as Arrow, the way into every backend.

    Timestamp columns become dates: every date tanlu handles is a whole day, and the engine's
    day arithmetic works on dates.
    """
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for index, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            table = table.set_column(index, field.name, table.column(index).cast(pa.date32()))
    return table


def to_pandas(expr: ir.Table) -> pd.DataFrame:
    """Execute an expression and return a pandas table (through Arrow); decimal columns (the
    engine's exact sums) come back as float64, converted by Arrow."""
    table = expr.to_pyarrow()
    for index, field in enumerate(table.schema):
        if pa.types.is_decimal(field.type):
            table = table.set_column(index, field.name, table.column(index).cast(pa.float64()))
    return table.to_pandas()


def factors_by_unit(
    unit_conversions: ir.Table, sites: ir.Table, site_factors: ir.Table, year: int
) -> ir.Table:
    """The small table every activity row joins once.

    One row per site inside the boundary, activity, unit given and gas: the site's entity,
    boundary and share, the days of the year it counts (``window_start``..``window_end``: the
    year cut to the site's ownership), the unit multiplier and the factor.
    """
    year_start = ibis.date(year, 1, 1)
    year_end = ibis.date(year, 12, 31)
    counted = sites.filter(sites.boundary != "excluded")
    counted = counted.mutate(
        window_start=ibis.greatest(counted.owned_from.coalesce(year_start), year_start),
        window_end=ibis.least(counted.owned_until.coalesce(year_end), year_end),
    )
    return site_factors.join(counted, "site").join(unit_conversions, "activity")


def _counted_lines(
    activities: ir.Table,
    unit_conversions: ir.Table,
    sites: ir.Table,
    site_factors: ir.Table,
    year: int,
) -> ir.Table:
    """Activity rows joined to their factors, with the days counted in the year.

    Adds ``quantity_canonical``, ``share_in_year``, ``emissions_t`` [t gas] and ``leased`` (a
    scope 1 or 2 row of a leased site outside the boundary); scope and category as given.
    """
    joined = activities.join(
        factors_by_unit(unit_conversions, sites, site_factors, year), ["site", "activity", "unit"]
    )
    bounded = joined.mutate(
        first_day=ibis.greatest(joined.period_start, joined.window_start),
        last_day=ibis.least(joined.period_end, joined.window_end),
    )
    counted = bounded.filter(bounded.last_day >= bounded.first_day)
    days_in_period = counted.period_end.delta(counted.period_start, unit="day") + 1
    days_counted = counted.last_day.delta(counted.first_day, unit="day") + 1
    # A fuel entered in energy units becomes tonnes (or m3) through the NCV of the chosen
    # factor's own dataset, so that a GJ entered gives back that dataset's kgCO2/GJ; without
    # a dataset NCV (or not an energy entry) the activity's default conversion applies.
    by_dataset_ncv = (counted.energy_gj_per_unit > 0) & (counted.dataset_ncv_gj_per_unit > 0)
    lines = counted.mutate(
        quantity_canonical=ibis.ifelse(
            by_dataset_ncv,
            counted.quantity * counted.energy_gj_per_unit / counted.dataset_ncv_gj_per_unit,
            counted.quantity * counted.multiplier,
        ),
        share_in_year=days_counted.cast("float64") / days_in_period.cast("float64"),
        leased=(counted.boundary == "leased_cat8") & (counted.scope < 3),
    )
    return lines.mutate(
        emissions_t=lines.quantity_canonical
        * lines.share_in_year
        * lines.consolidation_share
        * lines.factor_t_per_unit
    )


def _rescope(table: ir.Table) -> ir.Table:
    """Leased sites outside the boundary: scope 1 and 2 become scope 3 category 8."""
    return table.mutate(
        scope=ibis.ifelse(table.leased, 3, table.scope).cast("int64"),
        category=ibis.ifelse(table.leased, LEASED_CATEGORY, table.category),
    )


def emission_lines(
    activities: ir.Table,
    unit_conversions: ir.Table,
    sites: ir.Table,
    site_factors: ir.Table,
    year: int,
) -> ir.Table:
    """Activity rows x factors -> one emission line per activity row and gas, for one year.

    Parameters
    ----------
    activities
        Checked activity rows: ``row_id, site, activity, period_start, period_end (dates),
        quantity, unit, scope, category``.
    unit_conversions
        ``activity, unit, multiplier, energy_gj_per_unit``: the canonical units per unit given,
        one row per distinct pair (from :func:`tanlu.ingest.prepare_activities`), and the GJ
        per unit given where a fuel was entered in energy units (0 otherwise).
    sites
        ``site, entity, consolidation_share, boundary, owned_from, owned_until (dates)``;
        boundary is ``included``, ``leased_cat8`` (a leased asset outside the boundary: its scope
        1 and 2 emissions are the lessee's scope 3 category 8) or ``excluded``.
    site_factors
        ``factor_key (unique int), site, activity, gas, factor_id, factor_t_per_unit
        [t gas/unit], dataset_ncv_gj_per_unit [GJ/unit; 0 when the factor's dataset states no
        NCV], gwp, outside_scopes``.
    year
        The reporting year; a period that crosses years is split by days.

    Returns
    -------
    ibis.Table
        ``LINE_COLUMNS``: emissions_t [t gas] and emissions_tco2e [tCO2e].
    """
    lines = _rescope(_counted_lines(activities, unit_conversions, sites, site_factors, year))
    return lines.mutate(emissions_tco2e=lines.emissions_t * lines.gwp).select(*LINE_COLUMNS)


# Sums over activity rows are taken exactly, in integers: a float sum depends on the order of
# its terms, which a parallel engine does not fix (DuckDB's threads, Spark's partitions), so the
# same rows could give totals differing in the last bits from run to run and from engine to
# engine. Each term x is split into whole tonnes, floor(x), and the rest in 1e-15 t (a nanogram),
# floor((x - floor(x)) x 1e15): IEEE operations that every engine computes alike, each giving a
# whole number that converts to a decimal exactly (a double's own decimal conversion differs:
# Spark goes through its shortest decimal text, DuckDB through its exact binary value). Integers
# add up exactly in any order (as decimal(38, 0)); after the sums leave the engine they are put
# together as floats, by Arrow and numpy, the same way whichever engine made them. Dropping what
# is below a nanogram a line leaves an error below 1e-11 tCO2e even at SF6's GWP of 24,300.
EXACT_SUM_SCALE = 1e15
LEASED_CATEGORY = "cat8_upstream_leased_assets"


def exact_sums(column: ir.NumericColumn, name: str) -> dict[str, ir.DecimalScalar]:
    """Aggregations of a float column (t), the same in any order of its rows and on every
    engine: ``{name}_whole`` (whole tonnes) and ``{name}_nano`` (the rest, in 1e-15 t), as
    decimals; :func:`from_exact_sums` turns them into one float column after :func:`to_pandas`.
    """
    whole = column.floor()
    nano = ((column - whole.cast("float64")) * EXACT_SUM_SCALE).floor()
    return {
        f"{name}_whole": whole.cast("decimal(38, 0)").sum(),
        f"{name}_nano": nano.cast("decimal(38, 0)").sum(),
    }


def from_exact_sums(frame: pd.DataFrame, name: str) -> pd.Series:
    """The float sums that :func:`exact_sums` made as ``{name}_whole`` and ``{name}_nano``
    (both taken out of ``frame``)."""
    whole = frame.pop(f"{name}_whole").to_numpy(dtype="float64")
    nano = frame.pop(f"{name}_nano").to_numpy(dtype="float64")
    return pd.Series(whole + nano / EXACT_SUM_SCALE, index=frame.index)


SUMMARY_KEYS: tuple[str, ...] = ("entity", "site", "scope", "category", "gas", "outside_scopes")
BY_FACTOR_KEYS: tuple[str, ...] = ("factor_key", "scope", "category", "leased")


def sum_by_factor(
    activities: ir.Table,
    unit_conversions: ir.Table,
    sites: ir.Table,
    site_factors: ir.Table,
    year: int,
) -> ir.Table:
    """The work over every activity row: emissions summed by factor (site, activity, gas), the
    row's own scope and category and whether it is a leased asset's.

    Returns
    -------
    ibis.Table
        ``BY_FACTOR_KEYS`` plus ``emissions_t_whole`` and ``emissions_t_nano`` (t gas, exact
        decimal sums: :func:`exact_sums`), ordered by ``BY_FACTOR_KEYS``.
    """
    lines = _counted_lines(activities, unit_conversions, sites, site_factors, year)
    by_key = lines.group_by(list(BY_FACTOR_KEYS)).aggregate(
        **exact_sums(lines.emissions_t, "emissions_t")
    )
    return by_key.order_by(list(BY_FACTOR_KEYS))


def summarise(
    activities: ir.Table,
    unit_conversions: ir.Table,
    sites: ir.Table,
    site_factors: ir.Table,
    year: int,
) -> pd.DataFrame:
    """The emission lines of :func:`emission_lines` summed by ``SUMMARY_KEYS``.

    The one aggregation every summary derives from. The work over all activity rows runs on the
    engine (:func:`sum_by_factor`, grouped by integers and the row's own scope and category);
    the small result comes back and site, gas, entity, GWP and the re-scoping of leased sites
    are applied to it here, in a fixed order, so that every engine and every run gives the same
    table to the last digit.

    Returns
    -------
    pandas.DataFrame
        ``SUMMARY_KEYS`` plus ``emissions_t`` [t gas] and ``emissions_tco2e`` [tCO2e], sorted
        by ``SUMMARY_KEYS``.
    """
    by_key = to_pandas(sum_by_factor(activities, unit_conversions, sites, site_factors, year))
    by_key["emissions_t"] = from_exact_sums(by_key, "emissions_t")
    factors = to_pandas(site_factors.select("factor_key", "site", "gas", "gwp", "outside_scopes"))
    entities = to_pandas(sites.select("site", "entity"))
    named = by_key.merge(factors, on="factor_key").merge(entities, on="site")
    leased = named["leased"].to_numpy(dtype=bool)
    named["scope"] = np.where(leased, 3, named["scope"]).astype("int64")
    named["category"] = named["category"].where(~leased, LEASED_CATEGORY)
    named["emissions_tco2e"] = named["emissions_t"] * named["gwp"]
    named = named.sort_values(list(BY_FACTOR_KEYS), kind="stable")
    summary = named.groupby(list(SUMMARY_KEYS), as_index=False, sort=True)[
        ["emissions_t", "emissions_tco2e"]
    ].sum()
    return summary.reset_index(drop=True)

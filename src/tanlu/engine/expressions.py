"""The inventory arithmetic, written once as Ibis table expressions, for any backend.

The expressions use no backend-specific SQL, so that every backend :func:`tanlu.engine.connect`
opens runs them unchanged; tables reach a connection as Arrow (:func:`arrow_table`, then
:func:`tanlu.engine.to_table`) and come back with :func:`tanlu.engine.to_pandas`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import ibis
import ibis.expr.types as ir
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


@contextmanager
def _quiet_duckdb_batches() -> Iterator[None]:
    # Ibis 12 streams from DuckDB through fetch_record_batch, which DuckDB 1.4 deprecates
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "fetch_record_batch", DeprecationWarning)
        yield


def arrow_batches(expr: ir.Table, rows: int = 200_000) -> pa.RecordBatchReader:
    """Execute an expression and read its result a batch of about ``rows`` rows at a time, so
    that a large result never sits in memory whole.

    DuckDB's deprecation warning on the way Ibis streams is silenced around each read only,
    not while the caller holds the reader."""
    with _quiet_duckdb_batches():
        reader = expr.to_pyarrow_batches(chunk_size=rows)

    def read() -> Iterator[pa.RecordBatch]:
        while True:
            with _quiet_duckdb_batches():
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
            yield batch

    return pa.RecordBatchReader.from_batches(reader.schema, read())


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
    # the quantity of an activity row is counted once, on the line of its first gas
    first_gas = ibis.row_number().over(group_by=["site", "activity"], order_by="factor_key") == 0
    factors = site_factors.mutate(first_gas=first_gas)
    return factors.join(counted, "site").join(unit_conversions, "activity")


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


LEASED_CATEGORY = "cat8_upstream_leased_assets"


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
    traced = [c for c in ("source_id", "source_line") if c in activities.columns]
    lines = lines.mutate(emissions_tco2e=lines.emissions_t * lines.gwp)
    return lines.select(*LINE_COLUMNS, *traced)


def traced_lines(
    lines: ir.Table,
    sources: ir.Table,
    scales: ir.Table,
    scaled_activities: Sequence[str],
) -> ir.Table:
    """Emission lines with the file and sheet of their row and the scale instruments put on
    them, in the order they are listed (row, gas, scope, activity).

    Parameters
    ----------
    lines
        :func:`emission_lines` of activity rows that carry ``source_id, source_line``.
    sources
        ``source_id, source_file, source_sheet``.
    scales
        ``scale_site, instrument_scale``: for a leased site whose category 8 electricity
        instruments cover, market / location tCO2e; its electricity lines in category 8 (of the
        ``scaled_activities``) are multiplied by it, every other line keeps 1.

    Returns
    -------
    ibis.Table
        ``LINE_COLUMNS`` plus ``source_file, source_sheet, source_line, instrument_scale``.
    """
    with_files = lines.join(sources, "source_id")
    joined = with_files.left_join(scales, with_files.site == scales.scale_site)
    target = (
        joined.activity.isin(list(scaled_activities))
        & (joined.scope == 3)
        & (joined.category == LEASED_CATEGORY)
        & joined.instrument_scale.notnull()
    )
    scale = ibis.ifelse(target, joined.instrument_scale, 1.0)
    scaled = joined.mutate(
        emissions_t=ibis.ifelse(target, joined.emissions_t * scale, joined.emissions_t),
        emissions_tco2e=ibis.ifelse(target, joined.emissions_tco2e * scale, joined.emissions_tco2e),
        instrument_scale=scale,
    )
    columns = [*LINE_COLUMNS, "source_file", "source_sheet", "source_line", "instrument_scale"]
    return scaled.select(*columns).order_by(["row_id", "gas", "scope", "activity"])


# How the engine adds up floats over activity rows. A plain float sum depends on the order of
# its terms, which a parallel engine does not fix (DuckDB's threads, Spark's partitions): the
# same rows gave the example's totals differing in the last bit from run to run. DuckDB's
# `fsum` is a compensated (Kahan-Babuska-Neumaier) sum: it carries the rounding error of every
# addition along, so that its result is the exact sum rounded once, whatever the order, except
# in rare near-ties, at a cost within the benchmark's noise (docs/performance.md). Spark has no
# compensated sum and adds plainly; its totals agree with DuckDB's to about 1e-15 relative
# (docs/engines.md).
# Exact integer sums (whole tonnes and nanograms as decimals) made both engines agree to the
# last digit but took the engine benchmark from 1.48 s to 2.21 s, so they are not used.
SUM_KINDS: tuple[str, ...] = ("compensated", "plain")


@ibis.udf.agg.builtin(name="fsum")  # type: ignore[untyped-decorator]
def _compensated_sum(x: float) -> float:  # type: ignore[empty-body]
    """DuckDB's ``fsum``: a compensated sum of doubles."""


def float_sum(column: ir.FloatingColumn, kind: str) -> ir.FloatingScalar:
    """The sum of a float column: ``compensated`` (DuckDB's ``fsum``) or ``plain``."""
    if kind not in SUM_KINDS:
        raise ValueError(f"sum kind '{kind}' is not one of {', '.join(SUM_KINDS)}")
    return _compensated_sum(column) if kind == "compensated" else column.sum()


SUMMARY_KEYS: tuple[str, ...] = ("entity", "site", "scope", "category", "gas", "outside_scopes")
# The keys of the line summary: every emission line falls in one of its rows.
LINE_SUMMARY_KEYS: tuple[str, ...] = (
    "entity",
    "site",
    "activity",
    "scope",
    "category",
    "gas",
    "factor_id",
    "outside_scopes",
)


def line_totals(
    activities: ir.Table,
    unit_conversions: ir.Table,
    sites: ir.Table,
    site_factors: ir.Table,
    year: int,
    sum_kind: str = "compensated",
) -> ir.Table:
    """The one pass over every activity row: its lines summed by factor, scope and category.

    Grouped by integers and the row's own scope and category (``factor_key, scope, category,
    leased``); site, gas, entity, GWP and the re-scoping of leased sites are applied to this
    small result (:func:`summarise_totals`, :func:`summarise_lines`). Sums are taken as
    ``sum_kind`` says (:func:`float_sum`).

    Returns
    -------
    ibis.Table
        ``factor_key, scope, category, leased, emissions_t`` [t gas], ``quantity_counted`` (the
        rows' quantities in the activity's canonical unit x share in the year x consolidation
        share, counted once per row: on the line of its first gas) and ``line_count``.
    """
    lines = _counted_lines(activities, unit_conversions, sites, site_factors, year)
    counted = ibis.ifelse(
        lines.first_gas,
        lines.quantity_canonical * lines.share_in_year * lines.consolidation_share,
        0.0,
    )
    return lines.group_by(["factor_key", "scope", "category", "leased"]).aggregate(
        emissions_t=float_sum(lines.emissions_t, sum_kind),
        quantity_counted=float_sum(counted, sum_kind),
        line_count=lines.count(),
    )


def _named(totals: ir.Table, site_factors: ir.Table, sites: ir.Table) -> ir.Table:
    factors = site_factors.select(
        "factor_key", "site", "activity", "gas", "factor_id", "gwp", "outside_scopes"
    )
    named = totals.join(factors, "factor_key").join(sites.select("site", "entity"), "site")
    return _rescope(named)


def summarise_totals(
    totals: ir.Table, site_factors: ir.Table, sites: ir.Table, sum_kind: str = "compensated"
) -> ir.Table:
    """:func:`line_totals` summed by ``SUMMARY_KEYS``: the aggregation every summary of the
    inventory derives from.

    Returns
    -------
    ibis.Table
        ``SUMMARY_KEYS`` plus ``emissions_t`` [t gas] and ``emissions_tco2e`` [tCO2e], ordered
        by ``SUMMARY_KEYS``.
    """
    named = _named(totals, site_factors, sites)
    summary = named.group_by(list(SUMMARY_KEYS)).aggregate(
        emissions_t=float_sum(named.emissions_t, sum_kind),
        emissions_tco2e=float_sum(named.emissions_t * named.gwp, sum_kind),
    )
    return summary.order_by(list(SUMMARY_KEYS))


def summarise_lines(
    totals: ir.Table, site_factors: ir.Table, sites: ir.Table, sum_kind: str = "compensated"
) -> ir.Table:
    """:func:`line_totals` summed by ``LINE_SUMMARY_KEYS``: what the electricity, roadmap and
    report need of the lines, without the lines.

    Returns
    -------
    ibis.Table
        ``LINE_SUMMARY_KEYS`` plus ``emissions_t`` [t gas], ``emissions_tco2e`` [tCO2e],
        ``quantity_counted`` [canonical unit] and ``line_count``, ordered by the keys.
    """
    named = _named(totals, site_factors, sites)
    summary = named.group_by(list(LINE_SUMMARY_KEYS)).aggregate(
        emissions_t=float_sum(named.emissions_t, sum_kind),
        emissions_tco2e=float_sum(named.emissions_t * named.gwp, sum_kind),
        quantity_counted=float_sum(named.quantity_counted, sum_kind),
        line_count=named.line_count.sum().cast("int64"),
    )
    return summary.order_by(list(LINE_SUMMARY_KEYS))


def summarise(
    activities: ir.Table,
    unit_conversions: ir.Table,
    sites: ir.Table,
    site_factors: ir.Table,
    year: int,
    sum_kind: str = "compensated",
) -> ir.Table:
    """The emission lines of :func:`emission_lines` summed by ``SUMMARY_KEYS``
    (:func:`line_totals`, then :func:`summarise_totals`) in one expression."""
    totals = line_totals(activities, unit_conversions, sites, site_factors, year, sum_kind)
    return summarise_totals(totals, site_factors, sites, sum_kind)

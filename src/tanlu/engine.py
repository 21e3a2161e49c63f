"""Where tables are computed: Ibis expressions, run on embedded DuckDB.

The inventory arithmetic is written once, here, as Ibis table expressions. DuckDB is the default
(and, today, the only wired) backend; the expressions use no DuckDB-specific SQL so that another
Ibis backend (Spark) can run them unchanged.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

LINE_COLUMNS: tuple[str, ...] = (
    "row_id",
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


def connect() -> Any:
    """A fresh in-memory DuckDB connection (Ibis backend)."""
    return ibis.duckdb.connect()


def to_table(con: Any, frame: pd.DataFrame, name: str) -> ir.Table:
    """Register a pandas table with the connection (replacing one of the same name).

    The frame goes over as Arrow, which is also the fast path into DuckDB.
    """
    return con.create_table(name, pa.Table.from_pandas(frame, preserve_index=False), overwrite=True)


def to_pandas(expr: ir.Table) -> pd.DataFrame:
    """Execute an expression and return a pandas table (through Arrow)."""
    return expr.to_pyarrow().to_pandas()


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
        Checked activity rows: ``row_id, site, activity, period_start, period_end, quantity,
        unit, scope, category``.
    unit_conversions
        ``activity, unit, multiplier``: the canonical units per unit given, one row per distinct
        pair (from :func:`tanlu.ingest.prepare_activities`).
    sites
        ``site, entity, consolidation_share, boundary, owned_from, owned_until``; boundary is
        ``included``, ``leased_cat8`` (a leased asset outside the boundary: its scope 1 and 2
        emissions are the lessee's scope 3 category 8) or ``excluded``.
    site_factors
        ``site, activity, gas, factor_id, factor_t_per_unit [t gas/unit], gwp, outside_scopes``.
    year
        The reporting year; a period that crosses years is split by days.

    Returns
    -------
    ibis.Table
        ``LINE_COLUMNS``: emissions_t [t gas] and emissions_tco2e [tCO2e].
    """
    year_start = ibis.date(year, 1, 1)
    year_end = ibis.date(year, 12, 31)
    canonical = activities.join(unit_conversions, ["activity", "unit"])
    canonical = canonical.mutate(quantity_canonical=canonical.quantity * canonical.multiplier)
    joined = canonical.join(sites, "site").join(site_factors, ["site", "activity"])
    start = joined.period_start.cast("date")
    end = joined.period_end.cast("date")
    first = ibis.greatest(start, year_start, joined.owned_from.cast("date").coalesce(year_start))
    last = ibis.least(end, year_end, joined.owned_until.cast("date").coalesce(year_end))
    days_in_period = end.delta(start, unit="day") + 1
    days_counted = ibis.greatest(last.delta(first, unit="day") + 1, 0)
    leased = (joined.boundary == "leased_cat8") & (joined.scope < 3)
    lines = joined.filter(joined.boundary != "excluded").mutate(
        share_in_year=days_counted.cast("float64") / days_in_period.cast("float64"),
        scope=ibis.ifelse(leased, 3, joined.scope).cast("int64"),
        category=ibis.ifelse(leased, "cat8_upstream_leased_assets", joined.category),
    )
    lines = lines.filter(lines.share_in_year > 0)
    emissions_t = (
        lines.quantity_canonical
        * lines.share_in_year
        * lines.consolidation_share
        * lines.factor_t_per_unit
    )
    lines = lines.mutate(emissions_t=emissions_t, emissions_tco2e=emissions_t * lines.gwp)
    return lines.select(*LINE_COLUMNS)


def summarise(lines: ir.Table, by: list[str]) -> ir.Table:
    """Total emissions [tCO2e] of emission lines grouped by ``by`` (scopes 1-3 only)."""
    in_scopes = lines.filter(~lines.outside_scopes)
    return (
        in_scopes.group_by(by)
        .aggregate(emissions_tco2e=in_scopes.emissions_tco2e.sum())
        .order_by(by)
    )

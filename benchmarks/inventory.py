"""Inventory benchmark: tanlu's Ibis/DuckDB engine against the same calculation in plain pandas.

Both engines start from activity rows already read from Parquet ("after reading"):

* DuckDB: ``con.read_parquet`` materialised into a table with ``create_table`` before timing;
  timed: :func:`tanlu.engine.emission_lines` + :func:`tanlu.engine.summarise` (one aggregation
  by entity, site, scope, category and gas), executed to pandas, from which the summaries by
  ``(scope, category)`` and by ``(site, scope)`` are cut.
* pandas: ``pandas.read_parquet`` before timing (string columns come back as categoricals, the
  natural pandas dtype for repeated strings); timed: merge unit multipliers, merge the site
  boundary, merge site factors, split periods into the year by days, emissions, ``groupby`` by
  the same keys.

The lookup tables (unit multipliers, site boundary, site factors) are built with tanlu's own
functions, as :func:`tanlu.inventory.calculate.calculate_inventory` builds them, and shared by
both engines.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tanlu import engine
from tanlu.factors import FactorLibrary, resolve_factors
from tanlu.inventory.boundary import define_boundary
from tanlu.inventory.calculate import SITE_FACTOR_COLUMNS
from tanlu.project import ConsolidationApproach
from tanlu.units import conversion_factor

GWP_SET = "AR5"
APPROACH = ConsolidationApproach.EQUITY_SHARE
BY_CATEGORY = ["scope", "category"]
BY_SITE = ["site", "scope"]
RTOL = 1e-9


@dataclass(frozen=True)
class Lookups:
    """The small tables the engine joins to the activity rows."""

    unit_conversions: pd.DataFrame
    boundary: pd.DataFrame
    site_factors: pd.DataFrame


@dataclass(frozen=True)
class Summaries:
    """The two summaries both engines produce."""

    by_category: pd.DataFrame
    by_site: pd.DataFrame


@dataclass(frozen=True)
class Timing:
    """Seconds of each timed repetition (the warm-up excluded)."""

    seconds: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def time_repeated(run: Callable[[], Any], repeat: int, warmup: int = 1) -> tuple[Timing, Any]:
    """Run ``warmup`` untimed times, then ``repeat`` timed times; the last result is returned."""
    result = None
    for _ in range(warmup):
        result = run()
    seconds = []
    for _ in range(repeat):
        began = time.perf_counter()
        result = run()
        seconds.append(time.perf_counter() - began)
    return Timing(seconds), result


def build_lookups(
    library: FactorLibrary, sites: pd.DataFrame, pairs: pd.DataFrame, year: int
) -> Lookups:
    """Unit multipliers, site boundary and site factors, with tanlu's own functions.

    Parameters
    ----------
    sites
        Site table (:func:`benchmarks.synthetic.make_sites`).
    pairs
        The distinct ``activity, unit`` pairs of the activity rows.
    """
    catalogue = library.activities.set_index("activity")
    unit_conversions = pd.DataFrame(
        [
            (
                activity,
                unit,
                conversion_factor(
                    unit,
                    str(catalogue.at[activity, "canonical_unit"]),
                    library.properties.get(activity),
                ),
            )
            for activity, unit in pairs.itertuples(index=False, name=None)
        ],
        columns=["activity", "unit", "multiplier"],
    )
    # no energy entries in the synthetic rows: the default conversion applies everywhere
    unit_conversions["energy_gj_per_unit"] = 0.0
    boundary = define_boundary(sites, APPROACH)

    activities = sorted(set(pairs["activity"]))
    regions = sites[["province", "grid_region"]].drop_duplicates()
    keys = regions.merge(pd.DataFrame({"activity": activities}), how="cross")
    keys["factor_kind"] = "default"
    keys["year"] = year
    resolved = resolve_factors(library, keys)
    site_keys = sites[["site", "province", "grid_region"]].merge(
        pd.DataFrame({"activity": activities}), how="cross"
    )
    site_factors = site_keys.merge(
        resolved, on=["activity", "province", "grid_region"], how="inner"
    )
    missing = site_factors[["site", "activity"]].drop_duplicates().shape[0] != len(site_keys)
    if missing:
        raise RuntimeError(f"some (site, activity) pairs have no factor for {year}")
    gases = library.gwp.drop_duplicates("gas").set_index("gas")
    gwp = {gas: library.gwp_of(gas, GWP_SET) for gas in site_factors["gas"].unique()}
    site_factors["gwp"] = site_factors["gas"].map(gwp)
    site_factors["outside_scopes"] = site_factors["gas"].map(
        lambda g: bool(gases.at[g, "montreal_protocol"]) if g in gases.index else False
    )
    site_factors["dataset_ncv_gj_per_unit"] = 0.0
    site_factors = site_factors[SITE_FACTOR_COLUMNS].reset_index(drop=True)
    return Lookups(unit_conversions, boundary, site_factors)


# --- DuckDB (tanlu's engine) -------------------------------------------------------------------


class DuckDBRun:
    """The activity rows loaded into DuckDB and the lookups registered next to them."""

    def __init__(self, parquet: Path, lookups: Lookups, year: int) -> None:
        self.con = engine.connect()
        self.year = year
        raw = self.con.read_parquet(str(parquet))
        # Reading includes typing the dates as dates, as engine.to_table does for tanlu's own
        # tables (the engine's day arithmetic works on dates).
        self.activities = self.con.create_table(
            "activities",
            raw.mutate(
                period_start=raw.period_start.cast("date"), period_end=raw.period_end.cast("date")
            ),
            overwrite=True,
        )
        self.unit_conversions = engine.to_table(
            self.con, lookups.unit_conversions, "unit_conversions"
        )
        self.sites = engine.to_table(self.con, lookups.boundary, "sites")
        factors = lookups.site_factors.assign(
            factor_key=np.arange(len(lookups.site_factors), dtype="int64")
        )
        self.site_factors = engine.to_table(self.con, factors, "site_factors")

    def rows(self) -> int:
        return int(self.activities.count().execute())

    def lines(self) -> Any:
        return engine.emission_lines(
            self.activities, self.unit_conversions, self.sites, self.site_factors, self.year
        )

    def run(self) -> Summaries:
        """The timed part: one aggregation of the emission lines (as calculate_inventory runs
        it), executed to pandas; both summaries are cut from that small table."""
        summary = engine.to_pandas(
            engine.summarise(
                self.activities, self.unit_conversions, self.sites, self.site_factors, self.year
            )
        )
        in_scopes = summary.loc[~summary["outside_scopes"]]
        return Summaries(
            in_scopes.groupby(BY_CATEGORY, as_index=False)["emissions_tco2e"].sum(),
            in_scopes.groupby(BY_SITE, as_index=False)["emissions_tco2e"].sum(),
        )

    def line_count(self) -> int:
        return int(self.lines().count().execute())

    def close(self) -> None:
        engine.close(self.con)


# --- pandas (the plain way) --------------------------------------------------------------------


def pandas_lookups(lookups: Lookups, activities: pd.DataFrame) -> Lookups:
    """The lookups with key columns in the activity table's categorical dtypes (fast merges)."""

    def keyed(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
        return frame.astype({c: activities[c].dtype for c in columns})

    factors = keyed(lookups.site_factors, ["site", "activity"])
    factors = factors.astype({"gas": "category", "factor_id": "category"})
    boundary = keyed(lookups.boundary, ["site"]).astype(
        {"entity": "category", "boundary": "category"}
    )
    return Lookups(keyed(lookups.unit_conversions, ["activity", "unit"]), boundary, factors)


def pandas_inventory(activities: pd.DataFrame, lookups: Lookups, year: int) -> Summaries:
    """The same calculation as :func:`tanlu.engine.emission_lines` + ``summarise``, in pandas."""
    year_start = pd.Timestamp(year, 1, 1)
    year_end = pd.Timestamp(year, 12, 31)
    frame = activities.merge(lookups.unit_conversions, on=["activity", "unit"])
    frame["quantity_canonical"] = frame["quantity"] * frame["multiplier"]
    frame = frame.merge(lookups.boundary, on="site")
    frame = frame.merge(lookups.site_factors, on=["site", "activity"])
    frame = frame.loc[frame["boundary"] != "excluded"]

    start, end = frame["period_start"], frame["period_end"]
    owned_from = frame["owned_from"].fillna(year_start)
    owned_until = frame["owned_until"].fillna(year_end)
    first = start.clip(lower=year_start)
    first = first.where(first >= owned_from, owned_from)
    last = end.clip(upper=year_end)
    last = last.where(last <= owned_until, owned_until)
    days_in_period = (end - start).dt.days + 1
    days_counted = ((last - first).dt.days + 1).clip(lower=0)
    share_in_year = days_counted / days_in_period

    leased = (frame["boundary"] == "leased_cat8") & (frame["scope"] < 3)
    scope = frame["scope"].where(~leased, 3)
    category = frame["category"]
    if "cat8_upstream_leased_assets" not in category.cat.categories:
        category = category.cat.add_categories("cat8_upstream_leased_assets")
    category = category.where(~leased, "cat8_upstream_leased_assets")
    emissions_t = (
        frame["quantity_canonical"]
        * share_in_year
        * frame["consolidation_share"]
        * frame["factor_t_per_unit"]
    )
    lines = pd.DataFrame(
        {
            "site": frame["site"],
            "scope": scope,
            "category": category,
            "emissions_tco2e": emissions_t * frame["gwp"],
        }
    )
    lines = lines.loc[(share_in_year > 0) & ~frame["outside_scopes"]]

    def summarise(by: list[str]) -> pd.DataFrame:
        return lines.groupby(by, observed=True, sort=True)["emissions_tco2e"].sum().reset_index()

    return Summaries(summarise(BY_CATEGORY), summarise(BY_SITE))


def time_pandas(
    activities: pd.DataFrame, lookups: Lookups, year: int, repeat: int
) -> tuple[Timing, Summaries]:
    """Time :func:`pandas_inventory` (key dtypes of the lookups aligned before timing)."""
    keyed = pandas_lookups(lookups, activities)
    return time_repeated(lambda: pandas_inventory(activities, keyed, year), repeat)


# --- checks ------------------------------------------------------------------------------------


def compare(duck: Summaries, pandas_: Summaries) -> None:
    """Raise unless both engines give the same totals (``np.allclose``, rtol 1e-9)."""
    for name, by in (("by_category", BY_CATEGORY), ("by_site", BY_SITE)):
        left = getattr(duck, name).astype({"scope": "int64"})
        right = getattr(pandas_, name).astype({"scope": "int64"})
        for frame in (left, right):
            for column in by:
                if column != "scope":
                    frame[column] = frame[column].astype(str)
        both = left.merge(right, on=by, how="outer", suffixes=("_duckdb", "_pandas"))
        a = both["emissions_tco2e_duckdb"].to_numpy(dtype="float64")
        b = both["emissions_tco2e_pandas"].to_numpy(dtype="float64")
        if len(both) != len(left) or len(both) != len(right) or np.isnan(a).any():
            raise AssertionError(
                f"{name}: DuckDB and pandas give different groups "
                f"({len(left)} vs {len(right)}, {len(both)} together)"
            )
        if not np.allclose(a, b, rtol=RTOL, atol=0.0):
            worst = np.nanargmax(np.abs(a - b) / np.maximum(np.abs(b), 1e-300))
            raise AssertionError(
                f"{name}: DuckDB and pandas totals differ (rtol {RTOL}); worst: "
                f"{both.iloc[worst][by].to_dict()} {a[worst]!r} vs {b[worst]!r}"
            )
        if not np.isclose(a.sum(), b.sum(), rtol=RTOL, atol=0.0):
            raise AssertionError(f"{name}: grand totals differ: {a.sum()!r} vs {b.sum()!r}")

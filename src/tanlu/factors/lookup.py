"""Factor lookup with explicit, reported fallbacks.

For each key (activity, factor kind, province, regional grid, year) the lookup picks ONE factor
set (one dataset, region and validity period) and returns all of its gas rows:

* region: the site's province, then its regional grid, then national (China), then ``default``
  (IPCC defaults and foreign datasets used as proxies);
* year: a factor valid in the year, else the latest earlier one, else the earliest later one;
* ``region_first`` (default) gives up year before region; ``year_first`` the other way round;
* ties between datasets go to the lowest ``priority`` (project overrides have -1).

A fallback is reported when the chosen region is less specific than the most specific level at
which the library has this activity, or the chosen factor is not valid in the year.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tanlu.errors import FactorError
from tanlu.factors.library import FactorLibrary
from tanlu.factors.regions import grid_region_of_province, resolve_region

KEY_COLUMNS = ["activity", "factor_kind", "province", "grid_region", "year"]
SET_COLUMNS = ["dataset", "region_level", "factor_region", "year_start"]
_LEVEL_RANK = {"province": 0, "regional_grid": 1, "national": 2, "default": 3}
_LATER_YEAR_PENALTY = 1000
RESOLVED_COLUMNS = [
    *KEY_COLUMNS,
    "factor_id",
    "dataset",
    "gas",
    "factor_t_per_unit",
    "value",
    "unit",
    "gwp_set",
    "region_level",
    "factor_region",
    "year_start",
    "year_end",
    "method",
    "source",
    "status",
    "fallback_region",
    "fallback_year",
    "fallback",
]


def resolve_factors(
    library: FactorLibrary, keys: pd.DataFrame, order: str = "region_first"
) -> pd.DataFrame:
    """Resolve many lookup keys at once.

    Parameters
    ----------
    keys
        Columns ``activity, factor_kind, province, grid_region, year`` (province and grid may be
        missing).
    order
        ``region_first`` or ``year_first``.

    Returns
    -------
    pandas.DataFrame
        One row per key and gas (columns ``RESOLVED_COLUMNS``). Keys with no factor at all are
        absent: compare with the input to find them.
    """
    keys = keys[KEY_COLUMNS].drop_duplicates().reset_index(drop=True)
    keys["key_id"] = np.arange(len(keys))
    factors = library.factors.rename(columns={"region": "factor_region"})
    candidates = keys.merge(factors, on=["activity", "factor_kind"], how="inner")
    level = candidates["region_level"]
    region = candidates["factor_region"]
    rank = np.select(
        [
            (level == "province") & (region == candidates["province"]),
            (level == "regional_grid") & (region == candidates["grid_region"]),
            level == "national",
            level == "default",
        ],
        [0, 1, 2, 3],
        default=-1,
    )
    candidates["region_rank"] = rank
    candidates = candidates.loc[rank >= 0].copy()
    year = candidates["year"].astype("int64")
    start = candidates["year_start"].astype("int64")
    end = candidates["year_end"].astype("float64").fillna(np.inf)
    candidates["year_gap"] = np.where(
        (start <= year) & (year <= end),
        0,
        np.where(end < year, year - end, _LATER_YEAR_PENALTY + start - year),
    )
    if order == "region_first":
        sort = ["key_id", "region_rank", "year_gap", "priority", "dataset"]
    elif order == "year_first":
        sort = ["key_id", "year_gap", "region_rank", "priority", "dataset"]
    else:
        raise FactorError(f"unknown factor fallback order '{order}'")
    best = candidates.sort_values(sort, kind="stable").drop_duplicates("key_id")
    chosen = candidates.merge(best[["key_id", *SET_COLUMNS]], on=["key_id", *SET_COLUMNS])

    most_specific = (
        factors.assign(level_rank=factors["region_level"].map(_LEVEL_RANK))
        .groupby(["activity", "factor_kind"])["level_rank"]
        .min()
        .rename("best_level_rank")
    )
    chosen = chosen.join(most_specific, on=["activity", "factor_kind"])
    # asked for: the site's province, else its grid, else the nation; never report giving up
    # a level that was not asked for
    requested_rank = np.where(
        chosen["province"].notna(), 0, np.where(chosen["grid_region"].notna(), 1, 2)
    )
    chosen["fallback_region"] = chosen["region_rank"] > np.maximum(
        chosen["best_level_rank"], requested_rank
    )
    chosen["fallback_year"] = chosen["year_gap"] != 0
    chosen["fallback"] = [_describe_fallback(row) for row in chosen.itertuples(index=False)]
    return chosen[RESOLVED_COLUMNS].sort_values([*KEY_COLUMNS, "gas"]).reset_index(drop=True)


def _describe_fallback(row: Any) -> str:
    parts = []
    if row.fallback_region:
        wanted = row.province if isinstance(row.province, str) else None
        wanted = wanted or row.grid_region or "the site's region"
        level = str(row.region_level).replace("_", " ")
        parts.append(f"no {row.activity} factor for {wanted}: used {level} {row.factor_region}")
    if row.fallback_year:
        end = row.year_end
        if pd.notna(end) and end == row.year_start:
            valid = f"{row.year_start}"
        else:
            valid = f"{row.year_start}-{'' if pd.isna(end) else end}"
        earlier = pd.notna(end) and end < row.year
        when = "latest earlier" if earlier else "earliest later"
        parts.append(f"no {row.year} factor: used {valid} ({when})")
    return "; ".join(parts)


def lookup_factor(
    library: FactorLibrary,
    activity: str,
    region: str,
    year: int,
    factor_kind: str = "default",
    order: str = "region_first",
) -> pd.DataFrame:
    """Look up the factor set of one activity in one region and year.

    Parameters
    ----------
    region
        A province, regional grid or ``China``, in Chinese or English (``广东``, ``Guangdong``).

    Raises
    ------
    FactorError
        When the activity or region is unknown, or no factor exists.
    """
    library.activity(activity)
    resolved = resolve_region(region)
    if resolved is None:
        raise FactorError(f"unknown region '{region}'")
    level, name = resolved
    province = name if level == "province" else None
    grid = name if level == "regional_grid" else None
    if province is not None:
        grid = grid_region_of_province(province)
    keys = pd.DataFrame(
        [
            {
                "activity": activity,
                "factor_kind": factor_kind,
                "province": province,
                "grid_region": grid,
                "year": year,
            }
        ]
    )
    result = resolve_factors(library, keys, order)
    if result.empty:
        raise FactorError(f"no '{factor_kind}' factor for {activity} in {region} for {year}")
    return result

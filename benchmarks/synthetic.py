"""Deterministic synthetic inputs: sites and activity rows written to Parquet.

The activity rows are meter (or invoice) series: one series is a site, an activity, the unit it
is recorded in and a meter id, with twelve consecutive monthly periods. Most series start on the
1st of each month of the year; some start on the 15th, so their December period runs into the
next January and is split by days. Series of one meter never overlap, so the rows also pass
tanlu's validation (:func:`tanlu.ingest.prepare_activities`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tanlu.factors import FactorLibrary
from tanlu.factors.regions import grid_region_of_province, regions_table

DATA_DIR = Path(__file__).parent / "data"
SEED = 20261124
MONTHS = 12

# (activity, unit as written, share of series, log-mean quantity per month in that unit)
ACTIVITY_MIX: tuple[tuple[str, str, float, float], ...] = (
    ("electricity", "kWh", 0.20, 10.0),
    ("electricity", "MWh", 0.05, 3.0),
    ("electricity", "度", 0.03, 10.0),
    ("heat", "GJ", 0.03, 5.0),
    ("diesel_stationary", "L", 0.05, 6.0),
    ("diesel_stationary", "t", 0.02, 0.5),
    ("natural_gas_stationary", "m3", 0.06, 8.0),
    ("natural_gas_stationary", "10^4 Nm3", 0.02, 0.5),
    ("gasoline_mobile", "L", 0.05, 6.0),
    ("refrigerant_hfc_134a", "kg", 0.03, 2.0),
    ("refrigerant_r410a", "kg", 0.02, 2.0),
    ("refrigerant_hcfc_22", "kg", 0.01, 2.0),
    ("air_travel_domestic", "passenger-km", 0.10, 9.0),
    ("spend_naics_334111", "CNY", 0.08, 11.0),
    ("spend_naics_334111", "万元", 0.04, 1.0),
    ("spend_naics_518210", "万元", 0.05, 1.0),
    ("spend_hotel", "CNY", 0.07, 9.0),
    ("spend_naics_541511", "元", 0.09, 10.0),
)

# Entities: (ownership share, share of sites). Under the equity-share approach a site of an
# entity with share 0 is outside the boundary: leased sites then count as scope 3 category 8.
ENTITY_SHARES: tuple[tuple[float, float], ...] = (
    (1.0, 0.60),
    (0.8, 0.10),
    (0.51, 0.10),
    (0.3, 0.14),
    (0.0, 0.06),
)
N_ENTITIES = 40


@dataclass(frozen=True)
class Dataset:
    """Paths of one generated data set."""

    activities: Path
    raw_activities: Path
    sites: Path


def dataset_paths(rows: int, sites: int, year: int) -> Dataset:
    """Where the data set of this size lives (under benchmarks/data/)."""
    stem = f"{rows}rows_{sites}sites_{year}_seed{SEED}"
    return Dataset(
        activities=DATA_DIR / f"activities_{stem}.parquet",
        raw_activities=DATA_DIR / f"raw_activities_{stem}.parquet",
        sites=DATA_DIR / f"sites_{stem}.parquet",
    )


def make_sites(n_sites: int, rng: np.random.Generator) -> pd.DataFrame:
    """A site table with the columns of :attr:`tanlu.project.Project.sites` that matter here."""
    provinces = regions_table()["province_en"].to_numpy()
    province = provinces[rng.integers(0, len(provinces), n_sites)]
    grids = {p: grid_region_of_province(p) for p in provinces}
    shares = np.array([s for s, _ in ENTITY_SHARES])
    weights = np.array([w for _, w in ENTITY_SHARES])
    entity_share = shares[rng.choice(len(shares), N_ENTITIES, p=weights / weights.sum())]
    entity = rng.integers(0, N_ENTITIES, n_sites)
    acquired = rng.random(n_sites) < 0.05
    divested = ~acquired & (rng.random(n_sites) < 0.03)
    return pd.DataFrame(
        {
            "site": [f"S{i:05d}" for i in range(n_sites)],
            "entity": [f"E{e:02d}" for e in entity],
            "province": province,
            "grid_region": [grids[p] for p in province],
            "ownership_share": entity_share[entity],
            "operational_control": entity_share[entity] > 0.5,
            "financial_control": entity_share[entity] > 0.5,
            "leased": rng.random(n_sites) < 0.5,
            "owned_from": pd.to_datetime(np.where(acquired, "2021-07-01", None)),
            "owned_until": pd.to_datetime(np.where(divested, "2021-09-30", None)),
        }
    )


def make_activities(
    n_rows: int,
    sites: pd.DataFrame,
    library: FactorLibrary,
    year: int,
    rng: np.random.Generator,
    every_kind_first: bool = False,
) -> pd.DataFrame:
    """``n_rows`` checked activity rows (the columns :func:`tanlu.engine.emission_lines` reads).

    String columns are pandas categoricals, so the Parquet file has dictionary-encoded columns
    and ``pandas.read_parquet`` gives them back as categoricals. With ``every_kind_first`` the
    first series take the kinds of :data:`ACTIVITY_MIX` in turn (the rest are drawn from the
    mix), so that even a few hundred rows hold every kind.
    """
    n_series = -(-n_rows // MONTHS)
    mix = np.array([share for _, _, share, _ in ACTIVITY_MIX])
    kind = rng.choice(len(ACTIVITY_MIX), n_series, p=mix / mix.sum())
    if every_kind_first:
        first = min(n_series, len(ACTIVITY_MIX))
        kind[:first] = np.arange(first)
    site = rng.integers(0, len(sites), n_series)
    offset = np.where(rng.random(n_series) < 0.15, 14, 0)

    series = np.repeat(np.arange(n_series), MONTHS)[:n_rows]
    month = np.tile(np.arange(MONTHS), n_series)[:n_rows]
    kind, site, offset = kind[series], site[series], offset[series]
    first_month = np.datetime64(f"{year}-01", "M")
    start = (first_month + month).astype("datetime64[D]") + offset
    end = (first_month + month + 1).astype("datetime64[D]") + offset - np.timedelta64(1, "D")
    log_mean = np.array([m for _, _, _, m in ACTIVITY_MIX])
    quantity = np.round(rng.lognormal(log_mean[kind], 0.8), 3)

    catalogue = library.activities.set_index("activity")
    activity_names = list(dict.fromkeys(a for a, _, _, _ in ACTIVITY_MIX))
    unit_names = list(dict.fromkeys(u for _, u, _, _ in ACTIVITY_MIX))
    activity_code = np.array([activity_names.index(a) for a, _, _, _ in ACTIVITY_MIX])[kind]
    unit_code = np.array([unit_names.index(u) for _, u, _, _ in ACTIVITY_MIX])[kind]
    scopes = catalogue.loc[activity_names, "scope"].astype("int64").to_numpy()
    categories = catalogue.loc[activity_names, "category"].astype(str).tolist()
    category_names = list(dict.fromkeys(categories))
    category_code = np.array([category_names.index(c) for c in categories])[activity_code]
    return pd.DataFrame(
        {
            "row_id": np.arange(n_rows, dtype="int64"),
            "site": pd.Categorical.from_codes(site, categories=sites["site"]),
            "activity": pd.Categorical.from_codes(activity_code, categories=activity_names),
            "period_start": start.astype("datetime64[ns]"),
            "period_end": end.astype("datetime64[ns]"),
            "quantity": quantity,
            "unit": pd.Categorical.from_codes(unit_code, categories=unit_names),
            "scope": scopes[activity_code],
            "category": pd.Categorical.from_codes(category_code, categories=category_names),
        }
    )


def ensure_dataset(
    rows: int, n_sites: int, year: int, library: FactorLibrary, raw_rows: int, log=print
) -> Dataset:
    """Generate the data set if absent (deterministic seed); reuse it if present."""
    paths = dataset_paths(rows, n_sites, year)
    if paths.activities.exists() and paths.raw_activities.exists() and paths.sites.exists():
        log(f"reusing {paths.activities.relative_to(DATA_DIR.parent.parent)}")
        return paths
    log(f"generating {rows:,} activity rows for {n_sites:,} sites (seed {SEED}) ...")
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    sites = make_sites(n_sites, rng)
    activities = make_activities(rows, sites, library, year, rng)
    # The validation input: what a user's Parquet file holds (no scope/category, a meter id).
    raw = activities.loc[
        : raw_rows - 1, ["site", "period_start", "period_end", "activity", "quantity", "unit"]
    ].assign(meter=lambda f: (f.index // MONTHS).map("M{:07d}".format))
    for path, frame in (
        (paths.raw_activities, raw),
        (paths.activities, activities),
        (paths.sites, sites),
    ):
        tmp = path.with_suffix(".tmp")
        frame.to_parquet(tmp, index=False)
        tmp.replace(path)
    log(f"wrote {paths.activities.relative_to(DATA_DIR.parent.parent)}")
    return paths

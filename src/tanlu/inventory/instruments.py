"""Market-based scope 2 from the contractual instruments (read by :mod:`tanlu.ingest.instruments`).

GHG Protocol Scope 2 Guidance, market-based hierarchy (Table 6.3): certificates and green-power
contracts first (zero emissions, each MWh claimed once), then supplier-specific factors, then the
residual factor for what is left. In China the residual is, by the project's policy, the national
factor excluding market-traded non-fossil electricity (reading A, default) or the national average
(reading B); see docs/methods.md. Issue 3 (green electricity) deepens this into full allocation
with quality criteria and hourly matching.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tanlu.ingest.instruments import ZERO_EMISSION_KINDS

# RE100: generation facilities commissioned (or repowered) within the last 15 years: RE100
# technical criteria as summarised at voltarione.com/topics/re100 (status S; the criteria text
# itself was not read), shared reference standards summary section 5.
RE100_MAXIMUM_AGE_YEARS = 15


LEASED_COLUMNS = [
    "site",
    "electricity_mwh",
    "contractual_mwh",
    "supplier_mwh",
    "residual_mwh",
    "location_tco2e",
    "market_tco2e",
]
ALLOCATION_COLUMNS = ["instrument_id", "kind", "site", "allocated_mwh", "re100_eligible"]


@dataclass(frozen=True)
class MarketBasedScope2:
    """Market-based scope 2 for one year.

    Attributes
    ----------
    by_site
        ``site, electricity_mwh, contractual_mwh, supplier_mwh, residual_mwh,
        residual_factor_tco2e_per_mwh, market_tco2e``.
    allocations
        ``instrument_id, kind, site, allocated_mwh, re100_eligible``: each instrument MWh at
        most once. ``re100_eligible`` is whether the generating facility was commissioned at
        most 15 years before the year (RE100), or missing where no commissioning date is given.
    unallocated
        ``instrument_id, kind, unallocated_mwh, reason``.
    leased_by_site
        Leased assets outside the boundary (scope 3 category 8) whose electricity instruments
        name: ``site, electricity_mwh, contractual_mwh, supplier_mwh, residual_mwh,
        location_tco2e, market_tco2e``. ``location_tco2e`` is the category 8 electricity at the
        grid factor the inventory used; ``market_tco2e`` = residual MWh at that factor +
        supplier MWh at the supplier's factor (docs/methods.md, "Leased assets").
    leased_allocations
        ``instrument_id, kind, site, allocated_mwh, re100_eligible`` for those sites: kept apart
        from ``allocations`` so that own operations' green share never counts them.
    """

    by_site: pd.DataFrame
    allocations: pd.DataFrame
    unallocated: pd.DataFrame
    leased_by_site: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=LEASED_COLUMNS)
    )
    leased_allocations: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=ALLOCATION_COLUMNS)
    )


_ALLOCATED_COLUMNS = [
    "instrument_id",
    "kind",
    "site",
    "allocated_mwh",
    "supplier_factor_tco2e_per_mwh",
]


def _allocate(
    need: pd.Series, instruments: pd.DataFrame
) -> tuple[pd.DataFrame, list[dict[str, object]]]:
    """Allocate instruments to sites' remaining consumption (updates ``need`` in place).

    Instruments are taken in turn, dedicated ones (naming a site) first, then pooled ones,
    which go to every site still short in proportion to what it still needs. The work is array
    arithmetic: dedicated instruments in rounds (round k takes the k-th instrument of every
    site at once: their order matters only within a site), pooled ones one at a time over all
    sites; no step runs per site.

    Returns
    -------
    allocations
        ``instrument_id, kind, site, allocated_mwh, supplier_factor_tco2e_per_mwh`` in the
        order the instruments were taken (a pooled one's sites in the order of ``need``).
    leftovers
        ``instrument_id, kind, unallocated_mwh, reason`` of every instrument with MWh left.
    """
    sites = need.index
    remaining = need.to_numpy(dtype="float64", copy=True)
    dedicated = instruments["site"].notna().to_numpy()
    taken = pd.concat([instruments.loc[dedicated], instruments.loc[~dedicated]])
    n_dedicated = int(dedicated.sum())
    available = taken["energy_mwh"].to_numpy(dtype="float64")
    give_total = np.zeros(len(taken))
    # (position in `taken`, position in `need`, MWh given) of every allocation
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def give(order: np.ndarray, targets: np.ndarray, gives: np.ndarray) -> None:
        given = gives > 0
        remaining[targets[given]] -= gives[given]
        parts.append((order[given], targets[given], gives[given]))

    site_position = sites.get_indexer(taken["site"].iloc[:n_dedicated])
    rounds = pd.Series(site_position).groupby(site_position).cumcount().to_numpy()
    for k in range(int(rounds.max()) + 1 if n_dedicated else 0):
        order = np.flatnonzero((rounds == k) & (site_position >= 0))
        targets = site_position[order]
        wanted = remaining[targets]
        give_total[order] = np.minimum(available[order], wanted)
        # the whole of a dedicated instrument goes to its site (share 1 where it needs any)
        give(order, targets, give_total[order] * (wanted > 0))
    for position in range(n_dedicated, len(taken)):
        targets = np.flatnonzero(remaining > 0)
        wanted = remaining[targets]
        # summed left to right (cumsum), the sites taken in turn
        total_need = float(np.cumsum(wanted)[-1]) if len(wanted) else 0.0
        give_total[position] = min(float(available[position]), total_need)
        shares = wanted / total_need if total_need > 0 else np.zeros(len(wanted))
        give(np.full(len(targets), position), targets, give_total[position] * shares)
    need.iloc[:] = remaining

    order = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, dtype="int64")
    ranked = np.argsort(order, kind="stable")
    order = order[ranked]
    if len(order) == 0:
        # untyped, as the table of no allocations has always been
        allocations = pd.DataFrame(columns=_ALLOCATED_COLUMNS)
    else:
        allocations = pd.DataFrame(
            {
                "instrument_id": taken["instrument_id"].to_numpy()[order],
                "kind": taken["kind"].to_numpy()[order],
                "site": sites.to_numpy()[np.concatenate([p[1] for p in parts])[ranked]],
                "allocated_mwh": np.concatenate([p[2] for p in parts])[ranked],
                "supplier_factor_tco2e_per_mwh": pd.to_numeric(
                    taken["supplier_factor_tco2e_per_mwh"], errors="coerce"
                ).to_numpy(dtype="float64")[order],
            },
            columns=_ALLOCATED_COLUMNS,
        ).astype({"instrument_id": "str", "kind": "str", "site": "str"})
    left = available - give_total
    leftovers: list[dict[str, object]] = [
        {
            "instrument_id": instrument_id,
            "kind": kind,
            "unallocated_mwh": float(mwh),
            "reason": "more than the consumption it could cover",
        }
        for instrument_id, kind, mwh in zip(
            taken["instrument_id"].to_numpy()[left > 1e-9],
            taken["kind"].to_numpy()[left > 1e-9],
            left[left > 1e-9],
            strict=True,
        )
    ]
    return allocations, leftovers


def _cover(
    consumption: pd.DataFrame, instruments: pd.DataFrame, year: int
) -> tuple[pd.DataFrame, pd.DataFrame, list[dict[str, object]]]:
    """Allocate zero-emission instruments, then supplier-factor ones, to sites' consumption.

    Returns ``by_site`` (``site, electricity_mwh, contractual_mwh, supplier_mwh, residual_mwh,
    supplier_tco2e``), the allocations (:data:`ALLOCATION_COLUMNS`) and the leftovers.
    """
    need = consumption.set_index("site")["electricity_mwh"].astype("float64").copy()
    zero = instruments.loc[instruments["kind"].isin(ZERO_EMISSION_KINDS)]
    supplier = instruments.loc[instruments["kind"] == "supplier_factor"]
    allocations, leftovers = _allocate(need, zero)
    supplier_allocations, more = _allocate(need, supplier)
    tables = [t for t in (allocations, supplier_allocations) if not t.empty]
    allocated = (
        pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=_ALLOCATED_COLUMNS)
    )
    by_kind = (
        allocated.assign(
            contractual=np.where(
                allocated["kind"] != "supplier_factor", allocated["allocated_mwh"], 0.0
            ),
            supplier=np.where(
                allocated["kind"] == "supplier_factor", allocated["allocated_mwh"], 0.0
            ),
            supplier_tco2e=np.where(
                allocated["kind"] == "supplier_factor",
                allocated["allocated_mwh"] * allocated["supplier_factor_tco2e_per_mwh"].fillna(0.0),
                0.0,
            ),
        )
        .groupby("site")[["contractual", "supplier", "supplier_tco2e"]]
        .sum()
    )
    by_site = consumption[["site", "electricity_mwh"]].copy()
    by_site = by_site.join(by_kind, on="site").fillna(
        {"contractual": 0.0, "supplier": 0.0, "supplier_tco2e": 0.0}
    )
    by_site = by_site.rename(columns={"contractual": "contractual_mwh", "supplier": "supplier_mwh"})
    by_site["residual_mwh"] = (
        by_site["electricity_mwh"] - by_site["contractual_mwh"] - by_site["supplier_mwh"]
    ).clip(lower=0.0)
    if "commissioning_date" in instruments.columns and not allocated.empty:
        commissioned = allocated[["instrument_id"]].merge(
            instruments[["instrument_id", "commissioning_date"]], on="instrument_id", how="left"
        )
        dates = pd.to_datetime(commissioned["commissioning_date"]).set_axis(allocated.index)
    else:
        dates = pd.Series(pd.NaT, index=allocated.index, dtype="datetime64[ns]")
    age_years = year - dates.dt.year
    allocated["re100_eligible"] = (age_years <= RE100_MAXIMUM_AGE_YEARS).where(
        age_years.notna(), None
    )
    return by_site.reset_index(drop=True), allocated[ALLOCATION_COLUMNS], leftovers + more


def calculate_market_based_scope2(
    consumption: pd.DataFrame,
    instruments: pd.DataFrame,
    year: int,
    residual_factor_tco2e_per_mwh: float,
    leased: pd.DataFrame | None = None,
    consolidation_share: Mapping[str, float] | None = None,
) -> MarketBasedScope2:
    """Allocate instruments and compute market-based scope 2.

    Parameters
    ----------
    consumption
        ``site, electricity_mwh`` [MWh], consolidated, scope 2 sites only.
    instruments
        From :func:`tanlu.ingest.instruments.read_instruments`.
    year
        Only instruments of this vintage apply (the vintage criterion in its simplest form).
    residual_factor_tco2e_per_mwh
        Factor for electricity no instrument covers [tCO2/MWh].
    leased
        ``site, electricity_mwh, location_tco2e`` of leased assets outside the boundary
        (scope 3 category 8). Instruments that name one of these sites cover its electricity
        (``leased_by_site``); pooled instruments (no site) go to own operations only.
    consolidation_share
        Site -> share [0..1] at which the site is consolidated (equity share approach). An
        instrument dedicated to such a site counts at that share, like the site's consumption
        and its PV (docs/methods.md, "Instruments under the equity share approach"); pooled
        instruments, bought by the reporting company itself, count in full.
    """
    this_year = instruments.loc[instruments["vintage_year"] == year]
    if consolidation_share:
        share = this_year["site"].map(dict(consolidation_share)).astype("float64").fillna(1.0)
        this_year = this_year.assign(energy_mwh=this_year["energy_mwh"] * share)
    outside = this_year["market"] != "China"
    unallocated: list[dict[str, object]] = [
        {
            "instrument_id": r.instrument_id,
            "kind": r.kind,
            "unallocated_mwh": r.energy_mwh,
            "reason": f"market boundary '{r.market}' is not the sites' market (China)",
        }
        for r in this_year.loc[outside].itertuples(index=False)
    ]
    valid = this_year.loc[~outside]
    if leased is None:
        leased = pd.DataFrame(
            {
                "site": pd.Series(dtype=object),
                "electricity_mwh": pd.Series(dtype="float64"),
                "location_tco2e": pd.Series(dtype="float64"),
            }
        )
    for_leased = valid["site"].isin(set(leased["site"]))
    by_site, allocated, leftovers = _cover(consumption, valid.loc[~for_leased], year)
    unallocated += leftovers
    by_site["residual_factor_tco2e_per_mwh"] = residual_factor_tco2e_per_mwh
    by_site["market_tco2e"] = (
        by_site["residual_mwh"] * residual_factor_tco2e_per_mwh + by_site["supplier_tco2e"]
    )
    leased_by_site, leased_allocated, leftovers = _cover(
        leased[["site", "electricity_mwh"]], valid.loc[for_leased], year
    )
    unallocated += leftovers
    leased_by_site["location_tco2e"] = leased_by_site["site"].map(
        leased.set_index("site")["location_tco2e"]
    )
    # the category 8 factor the inventory used (the site's grid), for what no instrument covers
    factor = (leased_by_site["location_tco2e"] / leased_by_site["electricity_mwh"]).where(
        leased_by_site["electricity_mwh"] > 0, 0.0
    )
    leased_by_site["market_tco2e"] = (
        leased_by_site["residual_mwh"] * factor + leased_by_site["supplier_tco2e"]
    )
    covered = leased_by_site["contractual_mwh"] + leased_by_site["supplier_mwh"] > 0
    return MarketBasedScope2(
        by_site=by_site.drop(columns="supplier_tco2e"),
        allocations=allocated,
        unallocated=pd.DataFrame(
            unallocated, columns=["instrument_id", "kind", "unallocated_mwh", "reason"]
        ),
        leased_by_site=leased_by_site.loc[covered, LEASED_COLUMNS].reset_index(drop=True),
        leased_allocations=leased_allocated,
    )

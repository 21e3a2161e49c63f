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


def _allocate(
    need: pd.Series, instruments: pd.DataFrame
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Allocate instruments to sites' remaining consumption (updates ``need`` in place)."""
    allocations: list[dict[str, object]] = []
    leftovers: list[dict[str, object]] = []
    dedicated = instruments.loc[instruments["site"].notna()]
    pooled = instruments.loc[instruments["site"].isna()]
    for row in [*dedicated.itertuples(index=False), *pooled.itertuples(index=False)]:
        available = float(row.energy_mwh)
        if isinstance(row.site, str):
            targets = [row.site] if row.site in need.index else []
        else:
            targets = [s for s in need.index if need[s] > 0]
        total_need = float(sum(need[s] for s in targets))
        give_total = min(available, total_need)
        for site in targets:
            share = need[site] / total_need if total_need > 0 else 0.0
            give = give_total * share
            if give > 0:
                need[site] -= give
                allocations.append(
                    {
                        "instrument_id": row.instrument_id,
                        "kind": row.kind,
                        "site": site,
                        "allocated_mwh": give,
                        "supplier_factor_tco2e_per_mwh": row.supplier_factor_tco2e_per_mwh,
                    }
                )
        left = available - give_total
        if left > 1e-9:
            leftovers.append(
                {
                    "instrument_id": row.instrument_id,
                    "kind": row.kind,
                    "unallocated_mwh": left,
                    "reason": "more than the consumption it could cover",
                }
            )
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
    columns = ["instrument_id", "kind", "site", "allocated_mwh", "supplier_factor_tco2e_per_mwh"]
    allocated = pd.DataFrame(allocations + supplier_allocations, columns=columns)
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

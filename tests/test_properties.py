"""Invariants under Hypothesis: scaling, row order, allocation never over-claims."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tanlu
from tanlu.inventory.instruments import calculate_market_based_scope2

from .conftest import ACTIVITY_HEADER, BASIC_TOML

ACTIVITIES = [
    ("electricity", "kWh"),
    ("electricity", "MWh"),
    ("diesel_stationary", "L"),
    ("diesel_mobile", "t"),
    ("refrigerant_hfc_134a", "kg"),
    ("refrigerant_hcfc_22", "kg"),
    ("air_travel_domestic", "passenger-km"),
    ("spend_naics_334111", "万元"),
]

row = st.tuples(
    st.sampled_from(["gz", "bj"]),
    st.sampled_from(ACTIVITIES),
    st.integers(min_value=0, max_value=450),  # start offset in days from 2021-07-01
    st.integers(min_value=0, max_value=90),  # length in days
    st.floats(min_value=0, max_value=1e6, allow_nan=False),
)

SETTINGS = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _write(rows: list[tuple], scale: float = 1.0) -> str:  # type: ignore[type-arg]
    lines = []
    for index, (site, (activity, unit), offset, length, quantity) in enumerate(rows):
        start = pd.Timestamp("2021-07-01") + pd.Timedelta(days=offset)
        end = start + pd.Timedelta(days=length)
        # a distinct meter per row keeps metered activities from overlapping
        lines.append(
            f"{site},{start.date()},{end.date()},{activity},{quantity * scale!r},{unit},m{index}"
        )
    return ACTIVITY_HEADER.strip() + ",meter\n" + "\n".join(lines) + "\n"


def _totals(text: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "data").mkdir()
        (root / "tanlu.toml").write_text(BASIC_TOML, encoding="utf-8")
        (root / "data" / "activities.csv").write_text(text, encoding="utf-8")
        result = tanlu.calculate_inventory(tanlu.load_project(root), 2022, check_base_year=False)
        totals = result.to_dict()["totals"]
        assert totals["total_location_tco2e"] == pytest.approx(
            totals["scope1_tco2e"] + totals["scope2_location_tco2e"] + totals["scope3_tco2e"],
            rel=1e-9,
            abs=1e-9,
        )
        assert min(totals.values()) >= 0
        return {k: float(v) for k, v in totals.items()}


@SETTINGS
@given(st.lists(row, min_size=1, max_size=8), st.floats(min_value=0.01, max_value=100))
def test_scaling_activity_scales_emissions(rows: list[tuple], scale: float) -> None:  # type: ignore[type-arg]
    base = _totals(_write(rows))
    scaled = _totals(_write(rows, scale))
    for key, value in base.items():
        assert scaled[key] == pytest.approx(value * scale, rel=1e-9, abs=1e-9)


@SETTINGS
@given(st.lists(row, min_size=2, max_size=8), st.randoms(use_true_random=False))
def test_row_order_does_not_matter(rows: list[tuple], random) -> None:  # type: ignore[type-arg, no-untyped-def]
    shuffled = list(rows)
    random.shuffle(shuffled)
    assert _totals(_write(rows)) == pytest.approx(_totals(_write(shuffled)), rel=1e-9, abs=1e-9)


instrument = st.tuples(
    st.sampled_from(["gec", "green_power_contract", "supplier_factor"]),
    st.sampled_from([None, "a", "b", "c", "leased"]),
    st.floats(min_value=0, max_value=5000, allow_nan=False),
)


# 60 random cases (at least 25); the allocation is also checked by hand in tests/test_inventory.py
@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(min_value=0, max_value=5000, allow_nan=False), min_size=3, max_size=3),
    st.lists(instrument, max_size=8),
    st.floats(min_value=0, max_value=5000, allow_nan=False),
)
def test_allocation_never_exceeds_holdings_or_consumption(
    consumption: list[float],
    instruments: list[tuple[str, str | None, float]],
    leased_mwh: float,
) -> None:
    sites = ["a", "b", "c"]
    use = pd.DataFrame({"site": sites, "electricity_mwh": consumption})
    held = pd.DataFrame(
        [
            {
                "instrument_id": f"i{n}",
                "kind": kind,
                "vintage_year": 2022,
                "energy_mwh": mwh,
                "site": site,
                "market": "China",
                "supplier_factor_tco2e_per_mwh": 0.3 if kind == "supplier_factor" else None,
            }
            for n, (kind, site, mwh) in enumerate(instruments)
        ],
        columns=[
            "instrument_id",
            "kind",
            "vintage_year",
            "energy_mwh",
            "site",
            "market",
            "supplier_factor_tco2e_per_mwh",
        ],
    )
    # a leased asset (scope 3 category 8) at 0.7 t/MWh: only instruments naming it go there
    leased = pd.DataFrame(
        {"site": ["leased"], "electricity_mwh": [leased_mwh], "location_tco2e": [leased_mwh * 0.7]}
    )
    market = calculate_market_based_scope2(use, held, 2022, 0.5856, leased)
    both = pd.concat([market.allocations, market.leased_allocations], ignore_index=True)
    allocated = both.groupby("instrument_id")["allocated_mwh"].sum()
    left = market.unallocated.groupby("instrument_id")["unallocated_mwh"].sum()
    for row_ in held.itertuples(index=False):
        got = float(allocated.get(row_.instrument_id, 0.0))
        assert got <= row_.energy_mwh + 1e-6
        # every MWh is either allocated once or reported as unallocated
        assert got + float(left.get(row_.instrument_id, 0.0)) == pytest.approx(
            row_.energy_mwh, abs=1e-6
        )
    per_site = market.allocations.groupby("site")["allocated_mwh"].sum()
    for site, mwh in zip(sites, consumption, strict=True):
        assert float(per_site.get(site, 0.0)) <= mwh + 1e-6
    # market-based never below zero nor above everything at the highest factor used
    assert (market.by_site["market_tco2e"] >= -1e-9).all()
    assert market.by_site["market_tco2e"].sum() <= sum(consumption) * 0.5856 + 1e-6
    assert "leased" not in set(market.allocations["site"])
    assert set(market.leased_allocations["site"]) <= {"leased"}
    assert float(market.leased_allocations["allocated_mwh"].sum()) <= leased_mwh + 1e-6
    named = {row_.instrument_id for row_ in held.itertuples() if row_.site == "leased"}
    assert set(market.leased_allocations["instrument_id"]) <= named
    # category 8 after instruments: never below zero, never above its grid figure (the
    # supplier's 0.3 is below the grid's 0.7)
    for row_ in market.leased_by_site.itertuples(index=False):
        assert -1e-9 <= row_.market_tco2e <= row_.location_tco2e + 1e-6

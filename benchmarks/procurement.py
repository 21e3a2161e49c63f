"""Procurement benchmark: tanlu's 24/7 CFE optimiser against the same problem built in PyPSA.

The case: a data centre with a flat 20 MW load for the 8,760 hours of 2025 in Shenzhen; on-site
PV (clear-sky profile from :func:`tanlu.electricity.profiles.pv_profile_mwh_per_kw`, at most
20 MWp of roof), a wind contract (deterministic synthetic shape), a solar contract (the PV
shape), a battery, and grid imports with a constant carbon-free share of 0.3. Targets: a 24/7
CFE score of 0.9 and 1.0.

Timed for each tool: the build (tanlu: validation + linopy model; PyPSA: the network, its
linopy model and the extra constraints) and the solve (HiGHS through linopy's direct API with
the same options, including reading the solution back). Both must find the same least cost
within 0.1 %, or the benchmark fails.

The PyPSA formulation (:func:`build_pypsa`) is also the reference of tests/test_procurement.py.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tanlu.electricity.procurement import (
    HIGHS_OPTIONS,
    KW_PER_MW,
    Mode,
    ProcurementCosts,
    ProcurementLimits,
    ProcurementProblem,
    annualise_costs,
    solve_procurement,
)

RTOL = 1e-3  # the done-when criterion: the same least cost within 0.1 %
TARGETS = (0.9, 1.0)
TARGET_SECONDS = 60.0
YEAR = 2025
# Shenzhen (Futian), a south-facing roof tilted at the latitude
LATITUDE, LONGITUDE, TILT_DEG = 22.54, 114.06, 22.5
LOAD_MW = 20.0
PV_MAX_KW = 20_000.0
GRID_CFE_SHARE = 0.3


def illustrative_costs() -> ProcurementCosts:
    """Prices for the benchmark and tests only.

    ILLUSTRATIVE values of a plausible order of magnitude for China in the mid-2020s, not
    sourced data: they exist to give the optimiser a realistic shape of problem. Real runs take
    prices with named sources from the project's data files.
    """
    return ProcurementCosts(
        pv_capex_cny_per_kw=3500.0,
        pv_fixed_om_cny_per_kw_year=50.0,
        pv_lifetime_years=25.0,
        wind_price_cny_per_mwh=380.0,
        solar_price_cny_per_mwh=300.0,
        battery_energy_capex_cny_per_kwh=1000.0,
        battery_power_capex_cny_per_kw=500.0,
        battery_lifetime_years=15.0,
        battery_round_trip_efficiency_share=0.88,
        grid_price_cny_per_mwh=600.0,
        discount_rate_share=0.06,
    )


def synthetic_wind_mwh_per_mw(hours: int) -> np.ndarray:
    """A deterministic wind shape [MWh/MW]: a 7.3-day weather cycle, a winter-high season and
    a night-high daily cycle around a 0.33 capacity factor (synthetic, for benchmarks/tests)."""
    h = np.arange(hours, dtype="float64")
    shape = (
        0.33
        + 0.22 * np.sin(2 * np.pi * h / (24 * 7.3))
        + 0.10 * np.cos(2 * np.pi * h / 8760)
        + 0.08 * np.cos(2 * np.pi * h / 24)
    )
    return np.clip(shape, 0.0, 1.0)


def benchmark_problem() -> ProcurementProblem:
    """The 8,760-hour data-centre case."""
    from tanlu.electricity.profiles import data_centre_load_mwh, pv_profile_mwh_per_kw

    pv = pv_profile_mwh_per_kw(LATITUDE, LONGITUDE, YEAR, TILT_DEG)
    return ProcurementProblem(
        load_mwh=data_centre_load_mwh(LOAD_MW, 1.0, YEAR),
        pv_mwh_per_kw=pv,
        wind_mwh_per_mw=synthetic_wind_mwh_per_mw(len(pv)),
        solar_mwh_per_mw=pv * KW_PER_MW,
        grid_cfe_share=GRID_CFE_SHARE,
        costs=illustrative_costs(),
        limits=ProcurementLimits(pv_max_kw=PV_MAX_KW),
    )


CLEAN = ["pv", "wind", "solar"]


def _bound(value: float | None, scale: float = 1.0) -> float:
    return math.inf if value is None else value / scale


def build_pypsa(problem: ProcurementProblem, target_share: float, mode: Mode) -> Any:
    """The same single-buyer problem as a PyPSA network with its linopy model created.

    One bus with the load; PV, wind and solar as extendable generators (curtailable: dispatch
    up to ``p_max_pu x p_nom``); the grid as a generator with marginal cost = grid price; a
    battery as a Store (energy, cyclic) charged and discharged by two Links (power; square root
    of the round-trip efficiency each). Contracts pay for all contracted energy, curtailed or
    not, so their price enters as a capital cost: price x annual energy of 1 MW.

    Extra constraints (on ``n.model``): discharger capacity (store side) x efficiency = charger
    capacity (both AC power = battery MW); charging <= clean generation dispatched; and the CFE
    constraint (hourly) or annual matching (annual).
    """
    import pypsa

    costs = annualise_costs(problem)
    load = np.asarray(problem.load_mwh, dtype="float64")
    snapshots = pd.RangeIndex(len(load))
    dirty = 1.0 - np.broadcast_to(np.asarray(problem.grid_cfe_share, dtype="float64"), load.shape)
    limits = problem.limits
    profiles = {
        "pv": np.asarray(problem.pv_mwh_per_kw, dtype="float64") * KW_PER_MW,
        "wind": np.asarray(problem.wind_mwh_per_mw, dtype="float64"),
        "solar": np.asarray(problem.solar_mwh_per_mw, dtype="float64"),
    }
    capital = {
        "pv": costs.pv_cny_per_mw,
        "wind": costs.wind_cny_per_mw,
        "solar": costs.solar_cny_per_mw,
    }
    upper = {
        "pv": _bound(limits.pv_max_kw, KW_PER_MW),
        "wind": _bound(limits.wind_max_mw),
        "solar": _bound(limits.solar_max_mw),
    }

    # PyPSA 1.x warns (FutureWarning) unless this option is set explicitly; True keeps its
    # current behaviour (string data as numpy object dtype)
    pypsa.options.api.legacy_string_dtype = True
    n = pypsa.Network()
    n.set_snapshots(snapshots)
    n.add("Carrier", ["electricity", "battery", *CLEAN, "grid"])
    n.add("Bus", "electricity", carrier="electricity")
    n.add("Bus", "battery", carrier="battery")
    n.add("Load", "site", bus="electricity", p_set=pd.Series(load, snapshots))
    for name in CLEAN:
        n.add(
            "Generator",
            name,
            bus="electricity",
            p_nom_extendable=True,
            p_nom_max=upper[name],
            p_max_pu=pd.Series(profiles[name], snapshots),
            capital_cost=capital[name],
            carrier=name,
        )
    n.add(
        "Generator",
        "grid",
        bus="electricity",
        p_nom=float(load.max()),
        marginal_cost=pd.Series(costs.grid_cny_per_mwh, snapshots),
        carrier="grid",
    )
    n.add(
        "Store",
        "battery",
        bus="battery",
        e_nom_extendable=True,
        e_nom_max=_bound(limits.battery_max_mwh),
        e_cyclic=True,
        capital_cost=costs.battery_energy_cny_per_mwh,
        carrier="battery",
    )
    n.add(
        "Link",
        "charger",
        bus0="electricity",
        bus1="battery",
        efficiency=costs.charge_efficiency_share,
        p_nom_extendable=True,
        capital_cost=costs.battery_power_cny_per_mw,
        carrier="battery",
    )
    n.add(
        "Link",
        "discharger",
        bus0="battery",
        bus1="electricity",
        efficiency=costs.discharge_efficiency_share,
        p_nom_extendable=True,
        carrier="battery",
    )

    # no existing capacity, so the objective constant is 0 (PyPSA 1.x warns unless it is set)
    m = n.optimize.create_model(include_objective_constant=False)
    link_p_nom = m["Link-p_nom"]
    m.add_constraints(
        link_p_nom.sel(name="discharger", drop=True) * costs.discharge_efficiency_share
        - link_p_nom.sel(name="charger", drop=True)
        == 0,
        name="battery_power",
    )
    generator_p = m["Generator-p"]
    m.add_constraints(
        m["Link-p"].sel(name="charger", drop=True) - generator_p.sel(name=CLEAN).sum("name") <= 0,
        name="charge_from_clean",
    )
    total_load = float(load.sum())
    if mode == "hourly":
        grid_p = generator_p.sel(name="grid", drop=True)
        m.add_constraints(
            (grid_p * pd.Series(dirty, snapshots).rename_axis("snapshot")).sum()
            <= (1.0 - target_share) * total_load,
            name="cfe",
        )
    else:
        annual = pd.Series({name: profiles[name].sum() for name in CLEAN}).rename_axis("name")
        m.add_constraints(
            (m["Generator-p_nom"].sel(name=CLEAN) * annual).sum() >= target_share * total_load,
            name="annual_matching",
        )
    return n


def solve_pypsa(network: Any, mode: Mode) -> float:
    """Solve a network from :func:`build_pypsa` with tanlu's HiGHS options; its least cost [CNY]."""
    status, condition = network.optimize.solve_model(
        solver_name="highs",
        io_api="direct",
        set_names=False,
        solver_options=dict(HIGHS_OPTIONS[mode]),
    )
    if condition != "optimal":
        raise AssertionError(f"PyPSA: {status}, {condition}")
    return float(network.objective)


@dataclass(frozen=True)
class Run:
    """One timed run of one tool at one target [s, CNY]."""

    build_seconds: float
    solve_seconds: float
    cost_cny: float


def run_tanlu(problem: ProcurementProblem, target: float) -> Run:
    result = solve_procurement(problem, target)
    return Run(result.build_seconds, result.solve_seconds, result.total_cost_cny)


def run_pypsa(problem: ProcurementProblem, target: float) -> Run:
    began = time.perf_counter()
    network = build_pypsa(problem, target, "hourly")
    built = time.perf_counter()
    cost = solve_pypsa(network, "hourly")
    return Run(built - began, time.perf_counter() - built, cost)


@dataclass(frozen=True)
class Comparison:
    """Medians over repeated runs of both tools at one target [s, CNY]."""

    target_share: float
    tanlu: list[Run]
    pypsa: list[Run]

    @staticmethod
    def median(runs: list[Run], attribute: str) -> float:
        return float(statistics.median(float(getattr(run, attribute)) for run in runs))


def compare(
    problem: ProcurementProblem,
    targets: tuple[float, ...],
    repeat: int,
    log: Callable[[str], None] = print,
) -> list[Comparison]:
    """Time both tools ``repeat`` times at each target; fail if their least costs differ."""
    comparisons = []
    for target in targets:
        runs: dict[str, list[Run]] = {"tanlu": [], "pypsa": []}
        tools = {"tanlu": run_tanlu, "pypsa": run_pypsa}
        for i in range(repeat):
            # alternate the order so that neither tool always runs second
            for name in ("tanlu", "pypsa") if i % 2 == 0 else ("pypsa", "tanlu"):
                runs[name].append(tools[name](problem, target))
            t, p = runs["tanlu"][-1], runs["pypsa"][-1]
            log(
                f"  target {target:g}, run {i + 1}/{repeat}: tanlu {t.build_seconds:.2f} + "
                f"{t.solve_seconds:.2f} s, PyPSA {p.build_seconds:.2f} + {p.solve_seconds:.2f} s, "
                f"least cost {t.cost_cny:,.0f} / {p.cost_cny:,.0f} CNY"
            )
            gap = abs(t.cost_cny - p.cost_cny) / abs(p.cost_cny)
            if gap > RTOL:
                raise AssertionError(
                    f"target {target}: tanlu's least cost {t.cost_cny:,.0f} CNY and PyPSA's "
                    f"{p.cost_cny:,.0f} CNY differ by {gap:.3%} (> {RTOL:.1%})"
                )
        comparisons.append(Comparison(target, runs["tanlu"], runs["pypsa"]))
    return comparisons


def main(console: Any, repeat: int) -> None:
    """The procurement section of ``make bench``: prints the table and the targets."""
    import logging

    from rich.table import Table

    # PyPSA and linopy log every solve at INFO level; the table below says what matters
    for name in ("pypsa", "linopy"):
        logging.getLogger(name).setLevel(logging.WARNING)
    problem = benchmark_problem()
    hours = len(problem.load_mwh)
    console.print(
        f"[bold]procurement[/bold]: {hours:,} hours, flat {LOAD_MW:g} MW data centre in "
        f"Shenzhen, PV <= {PV_MAX_KW:,.0f} kWp, wind and solar contracts, battery, grid CFE "
        f"share {GRID_CFE_SHARE:g}; HiGHS {HIGHS_OPTIONS['hourly']['solver']} for both tools"
    )
    comparisons = compare(problem, TARGETS, repeat, log=console.print)
    table = Table(title=f"Procurement, {hours:,} hours: median of {repeat} runs")
    for column in ("target", "tool", "build s", "solve s", "total s", "least cost CNY"):
        table.add_column(column, justify="left" if column == "tool" else "right")
    for comparison in comparisons:
        for name, runs in (("tanlu", comparison.tanlu), ("PyPSA", comparison.pypsa)):
            build = Comparison.median(runs, "build_seconds")
            solve = Comparison.median(runs, "solve_seconds")
            table.add_row(
                f"{comparison.target_share:g}",
                name,
                f"{build:.2f}",
                f"{solve:.2f}",
                f"{statistics.median(r.build_seconds + r.solve_seconds for r in runs):.2f}",
                f"{Comparison.median(runs, 'cost_cny'):,.0f}",
            )
    console.print(table)
    for comparison in comparisons:
        ours = statistics.median(r.build_seconds + r.solve_seconds for r in comparison.tanlu)
        theirs = statistics.median(r.build_seconds + r.solve_seconds for r in comparison.pypsa)
        gap = max(
            abs(t.cost_cny - p.cost_cny) / abs(p.cost_cny)
            for t, p in zip(comparison.tanlu, comparison.pypsa, strict=True)
        )
        for label, ok, text in (
            (
                "vs PyPSA",
                ours <= theirs,
                f"tanlu {ours:.1f} s, PyPSA {theirs:.1f} s ({theirs / ours:.2f}x; "
                "target: no slower)",
            ),
            ("time", ours < TARGET_SECONDS, f"{ours:.1f} s (target < {TARGET_SECONDS:.0f} s)"),
            ("same cost", gap <= RTOL, f"largest gap {gap:.2e} (target <= {RTOL:g})"),
        ):
            mark = "[green]met[/green]" if ok else "[red]missed[/red]"
            console.print(f"target {comparison.target_share:g}, {label}: {text}: {mark}")

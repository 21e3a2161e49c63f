"""``make bench``: the inventory, whole-command, CFE, procurement, roadmap and service
benchmarks, and the scale sweep of the whole command (docs/performance.md).

Usage: ``.venv/bin/python -m benchmarks [--only inventory|command|scale|cfe|procurement|roadmap|
service] [--rows N] [--sites N] [--format parquet csv] [--repeat N] [--procurement-repeat N]
[--service-duration S] ...``; the scale sweep (``--only scale``: hours and tens of GB of disk at
its default sizes) runs only when asked for: ``--scale-rows 1000000,10000000 --scale-sites 10000
--scale-engines duckdb,spark --chart-only ...``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import signal
import sys
import time
from importlib.metadata import version
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from benchmarks import (
    cfe,
    command,
    inventory,
    ledger,
    procurement,
    roadmap,
    scale,
    service,
    synthetic,
)
from tanlu.factors import load_factor_library
from tanlu.ingest import prepare_activities
from tanlu.ingest.readers import read_activity_parquet

TARGET_ROWS_PER_S = 5_000_000
TARGET_RATIO = 3.0
INVENTORY_ROWS = 10_000_000
INVENTORY_SITES = 10_000

console = Console(width=110)


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "?"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 2**20:.1f} GiB"
                break
    return {
        "date": dt.date.today().isoformat(),
        "cpu": cpu,
        "cpus": str(os.cpu_count()),
        "memory": memory,
        "python": platform.python_version(),
        **{p: version(p) for p in ("duckdb", "pandas", "ibis-framework", "pyarrow", "numpy")},
    }


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--rows",
        type=int,
        default=None,
        help=f"activity rows (inventory {INVENTORY_ROWS:,}, command {command.DEFAULT_ROWS:,})",
    )
    parser.add_argument(
        "--sites",
        type=int,
        default=None,
        help=f"sites (inventory {INVENTORY_SITES:,}, command {command.DEFAULT_SITES:,})",
    )
    parser.add_argument("--year", type=int, default=2021, help="reporting year")
    parser.add_argument("--repeat", type=int, default=5, help="timed repetitions (median)")
    parser.add_argument(
        "--command-repeat",
        type=int,
        default=command.DEFAULT_REPEAT,
        help="timed runs of the whole command per format (median)",
    )
    parser.add_argument(
        "--format",
        choices=command.FORMATS,
        action="extend",
        nargs="+",
        default=None,
        help="activity file formats of the command benchmark and the scale sweep (default: both)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help=f"cache of the command benchmark's projects (default {command.default_data_dir()})",
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=command.RESULTS,
        help="JSON file for the command benchmark's figures (default %(default)s)",
    )
    parser.add_argument(
        "--tanlu-src",
        type=Path,
        default=None,
        help="src folder whose tanlu the command benchmark runs (default: the imported one)",
    )
    parser.add_argument(
        "--validation-rows", type=int, default=1_000_000, help="rows for prepare_activities"
    )
    parser.add_argument(
        "--validation-repeat", type=int, default=1, help="timed runs of prepare_activities"
    )
    parser.add_argument(
        "--only",
        choices=(
            "inventory",
            "command",
            "scale",
            "cfe",
            "procurement",
            "roadmap",
            "service",
            "ledger",
        ),
        default=None,
        help="run one benchmark (default: all but scale)",
    )
    parser.add_argument(
        "--service-duration",
        type=float,
        default=service.DURATION_S,
        help="seconds each read is loaded for, per database and concurrency (default %(default)s)",
    )
    parser.add_argument(
        "--service-workers",
        type=_counts,
        default=(1, 2),
        help="the service's worker processes, each count in turn, comma-separated (default 1,2)",
    )
    parser.add_argument(
        "--service-request-threads",
        type=_counts,
        default=(8,),
        help="the threads of each worker process's routes (tanlu serve --request-threads), "
        "each count in turn, comma-separated (default 8)",
    )
    parser.add_argument(
        "--service-client",
        choices=service.CLIENTS,
        default="wrk",
        help="the load generator: Debian's wrk, or asyncio tasks of this process on httpx2 "
        "(default %(default)s; docs/performance.md)",
    )
    parser.add_argument(
        "--service-results",
        type=Path,
        default=None,
        help="also write the service's figures to this JSON file (one record per load)",
    )
    parser.add_argument(
        "--service-databases",
        type=lambda text: tuple(text.split(",")),
        default=("sqlite", "postgresql"),
        help="the service's databases, comma-separated (default sqlite,postgresql)",
    )
    parser.add_argument(
        "--service-upload",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time the upload of a million rows (default: yes)",
    )
    parser.add_argument(
        "--ledger-events",
        type=int,
        default=ledger.DEFAULT_EVENTS,
        help="events of the ledger ingest, half of them replays (default %(default)s)",
    )
    parser.add_argument(
        "--ledger-memory-limit-gib",
        type=float,
        default=None,
        help="DuckDB's memory limit of the timed ingest [GiB] (default: DuckDB's own)",
    )
    parser.add_argument(
        "--ledger-spark",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also ingest the same events on local Spark and compare (default: yes)",
    )
    parser.add_argument(
        "--ledger-aggregate",
        type=int,
        default=ledger.DEFAULT_AGGREGATE_ENTRIES,
        help="entries of the ledger the totals are timed over, 0 for none (default %(default)s)",
    )
    parser.add_argument(
        "--scale-rows",
        type=_counts,
        default=None,
        help="scale sweep: activity rows, comma-separated "
        f"(default {','.join(map(str, scale.DEFAULT_ROWS))})",
    )
    parser.add_argument(
        "--scale-sites",
        type=_counts,
        default=None,
        help="scale sweep: sites, comma-separated "
        f"(default {','.join(map(str, scale.DEFAULT_SITES))})",
    )
    parser.add_argument(
        "--scale-engines",
        type=_engines,
        default=None,
        help="scale sweep: engines, comma-separated, of "
        f"{', '.join(command.ENGINES)} (default: {', '.join(scale.DEFAULT_ENGINES)}; with no "
        f"scale option at all, also spark at {scale.SPARK_ROWS:,} {scale.SPARK_FORMAT} rows)",
    )
    parser.add_argument(
        "--scale-results",
        type=Path,
        default=scale.RESULTS,
        help="scale sweep: JSON file its cases are merged into (default %(default)s)",
    )
    parser.add_argument(
        "--scale-chart",
        type=Path,
        default=scale.CHART,
        help="scale sweep: SVG chart drawn from the JSON (default %(default)s)",
    )
    parser.add_argument(
        "--scale-doc",
        type=Path,
        default=scale.DOC,
        help="scale sweep: Markdown file whose scale-table markers get the table "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--scale-memory-limit-gib",
        type=float,
        default=None,
        help="scale sweep: stop a run whose processes hold more memory than this, and record "
        f"its case as failed (default {100 * scale.DEFAULT_MEMORY_SHARE:.0f}%% of this machine's "
        "memory; 0: no limit)",
    )
    parser.add_argument(
        "--scale-duckdb-memory-gib",
        type=float,
        default=None,
        help="scale sweep: DuckDB's memory limit for the command, written into each DuckDB "
        "case's tanlu.toml as [engine] memory_limit_gib (beyond it DuckDB spills to disk; "
        "default: none, DuckDB's own 80%% of the machine's memory)",
    )
    parser.add_argument(
        "--scale-site-layout",
        choices=command.SITE_LAYOUTS,
        default=command.DEFAULT_SITE_LAYOUT,
        help="scale sweep: where each project lists its sites, a site register file named by "
        "[data] sites, or [[sites]] in tanlu.toml (default %(default)s)",
    )
    parser.add_argument(
        "--chart-only",
        action="store_true",
        help="scale sweep: redraw the chart and the table from the JSON, measure nothing",
    )
    parser.add_argument(
        "--procurement-repeat",
        type=int,
        default=3,
        help="timed runs of each tool at each CFE target (median)",
    )
    return parser.parse_args(argv)


def _counts(text: str) -> list[int]:
    """``1000000,10000000`` -> [1000000, 10000000] (``_`` allowed as in Python: 1_000_000)."""
    try:
        counts = [int(item) for item in text.split(",") if item.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a comma-separated list of whole numbers"
        ) from None
    if not counts or min(counts) <= 0:
        raise argparse.ArgumentTypeError(f"'{text}': give one or more positive whole numbers")
    return counts


def _engines(text: str) -> list[str]:
    """``duckdb,spark`` -> ['duckdb', 'spark'], each one of tanlu's engines."""
    engines = [item.strip() for item in text.split(",") if item.strip()]
    unknown = [engine for engine in engines if engine not in command.ENGINES]
    if unknown or not engines:
        raise argparse.ArgumentTypeError(
            f"'{text}': engines are comma-separated, of {', '.join(command.ENGINES)}"
        )
    return engines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    began = time.perf_counter()
    info = machine()
    console.print(
        f"[bold]tanlu benchmarks[/bold]  {info['date']}  {info['cpu']}, "
        f"{info['cpus']} CPUs, {info['memory']}"
    )
    console.print(
        "Python {python}, duckdb {duckdb}, pandas {pandas}, ibis {ibis-framework}, "
        "pyarrow {pyarrow}, numpy {numpy}".format(**info)
    )
    if args.only in (None, "inventory"):
        run_inventory(args)
    if args.only in (None, "command"):
        console.print("[bold]whole command[/bold]")
        command.run(
            console.print,
            rows=args.rows or command.DEFAULT_ROWS,
            n_sites=args.sites or command.DEFAULT_SITES,
            formats=tuple(args.format or command.FORMATS),
            year=args.year,
            repeat=args.command_repeat,
            data_dir=args.data_dir,
            results=args.results,
            tanlu_src=args.tanlu_src,
            machine=info,
        )
    if args.only == "scale":
        run_scale(args, info)
    if args.only in (None, "cfe"):
        run_cfe(args)
    if args.only in (None, "procurement"):
        console.print(
            "linopy {linopy}, highspy {highspy}, pypsa {pypsa}".format(
                **{p: version(p) for p in ("linopy", "highspy", "pypsa")}
            )
        )
        procurement.main(console, args.procurement_repeat)
    if args.only in (None, "roadmap"):
        run_roadmap(args)
    if args.only in (None, "service"):
        console.print("[bold]the service under load[/bold] (a real tanlu serve on loopback)")
        records = service.run(
            console.print,
            kinds=args.service_databases,
            duration_s=args.service_duration,
            upload=args.service_upload,
            workers=tuple(args.service_workers),
            request_threads=tuple(args.service_request_threads),
            client=args.service_client,
        )
        if args.service_results:
            args.service_results.write_text(json.dumps(records, indent=1) + "\n")
            console.print(f"the service's figures: {args.service_results}")
    if args.only in (None, "ledger"):
        console.print("[bold]ledger ingest[/bold] (tanlu ledger ingest as a whole process)")
        ledger.run(
            console.print,
            events=args.ledger_events,
            repeat=min(args.command_repeat, 3),
            data_dir=args.data_dir,
            memory_limit_gib=args.ledger_memory_limit_gib,
        )
        if args.ledger_spark:
            ledger.run_spark(console.print, args.ledger_events, args.data_dir)
        if args.ledger_aggregate:
            ledger.run_aggregation(
                console.print,
                args.ledger_events,
                args.ledger_aggregate,
                repeat=min(args.command_repeat, 3),
                data_dir=args.data_dir,
            )
    console.print(f"benchmark finished in {time.perf_counter() - began:.0f} s")
    return 0


def run_scale(args: argparse.Namespace, info: dict[str, str]) -> None:
    """The scale sweep of the whole command; then the chart and the table from its JSON."""
    console.print("[bold]scale sweep[/bold]")
    if not args.chart_only:
        # `kill` stops the command being timed too (run_command kills its session on the way out)
        signal.signal(signal.SIGTERM, lambda number, _: sys.exit(128 + number))
        cases = scale.plan_cases(args.scale_rows, args.scale_sites, args.scale_engines, args.format)
        if args.scale_memory_limit_gib is None:
            limit_mib = scale.default_memory_limit_mib()
        else:
            limit_mib = args.scale_memory_limit_gib * 1024 or None
        limit = f"{limit_mib / 1024:.1f} GiB" if limit_mib else "none"
        console.print(f"{len(cases)} cases, {args.command_repeat} runs each; memory limit {limit}")
        records = scale.sweep(
            cases,
            console.print,
            year=args.year,
            repeat=args.command_repeat,
            data_dir=args.data_dir,
            results=args.scale_results,
            tanlu_src=args.tanlu_src,
            machine=info,
            memory_limit_mib=limit_mib,
            duckdb_memory_gib=args.scale_duckdb_memory_gib,
            site_layout=args.scale_site_layout,
        )
        failed = [r for r in records if r["status"] != "ok"]
        console.print(f"{len(records) - len(failed)} cases measured, {len(failed)} failed")
    document = scale.write_outputs(args.scale_results, args.scale_chart, args.scale_doc)
    console.print(scale.render_table(document["cases"]), markup=False)
    console.print(
        f"{len(document['cases'])} cases of {args.scale_results}: chart {args.scale_chart}, "
        f"table in {args.scale_doc}"
    )


def run_roadmap(args: argparse.Namespace) -> None:
    """The roadmap LP: 1,000 sites x 10 years x 12 levers, build and solve timed apart."""
    figures = roadmap.run(min(args.repeat, 3))
    total_ok = figures["total_seconds"] < roadmap.TARGET_SECONDS
    share_ok = figures["build_share"] < roadmap.TARGET_BUILD_SHARE
    console.print(
        f"roadmap LP, {figures['sites']:,.0f} sites x {figures['years']:.0f} years x "
        f"{figures['levers']:.0f} levers ({figures['variables']:,.0f} variables, "
        f"{figures['constraints']:,.0f} constraints), median of {min(args.repeat, 3)}: build "
        f"{figures['build_seconds']:.2f} s, solve {figures['solve_seconds']:.2f} s, total "
        f"{figures['total_seconds']:.2f} s"
    )
    for label, ok, text in (
        ("total", total_ok, f"{figures['total_seconds']:.2f} s (target < 60 s)"),
        (
            "build share",
            share_ok,
            f"{100 * figures['build_share']:.0f}% "
            f"(target < {100 * roadmap.TARGET_BUILD_SHARE:.0f}%)",
        ),
    ):
        mark = "[green]met[/green]" if ok else "[red]missed[/red]"
        console.print(f"target {label}: {text}: {mark}")


def run_cfe(args: argparse.Namespace) -> None:
    """24/7 CFE scoring of 1,000 sites x 8,760 hours (target: under 1 s)."""
    figures = cfe.run(args.repeat)
    met = figures["median_s"] < figures["target_s"]
    mark = "[green]met[/green]" if met else "[red]missed[/red]"
    console.print(
        f"CFE scoring, {figures['sites']:,} sites x {figures['hours']:,} hours: median "
        f"{figures['median_s']:.3f} s of {args.repeat} (min {figures['min_s']:.3f}, max "
        f"{figures['max_s']:.3f}); target < {figures['target_s']:.0f} s: {mark}"
    )


def run_inventory(args: argparse.Namespace) -> None:
    """The inventory benchmark: tanlu's engine against pandas."""
    console.print("[bold]inventory[/bold]")
    library = load_factor_library()
    n_rows = args.rows or INVENTORY_ROWS
    n_sites = args.sites or INVENTORY_SITES
    validation_rows = min(args.validation_rows, n_rows)
    paths = synthetic.ensure_dataset(
        n_rows, n_sites, args.year, library, validation_rows, log=console.print
    )
    sites = pd.read_parquet(paths.sites)

    # pandas: read before timing.
    t0 = time.perf_counter()
    activities = pd.read_parquet(paths.activities)
    read_pandas = time.perf_counter() - t0
    pairs = activities[["activity", "unit"]].drop_duplicates().astype(str)
    lookups = inventory.build_lookups(library, sites, pairs, args.year)
    console.print(
        f"{len(activities):,} activity rows, {len(sites):,} sites, "
        f"{len(lookups.unit_conversions)} (activity, unit) pairs, "
        f"{len(lookups.site_factors):,} site factor rows; "
        f"pandas.read_parquet {read_pandas:.2f} s (not timed below)"
    )

    # DuckDB: read_parquet materialised into a table before timing.
    t0 = time.perf_counter()
    duck = inventory.DuckDBRun(paths.activities, lookups, args.year)
    read_duck = time.perf_counter() - t0
    rows = duck.rows()
    if rows != len(activities):
        raise AssertionError(f"DuckDB read {rows:,} rows, pandas {len(activities):,}")
    lines = duck.line_count()
    console.print(
        f"DuckDB read_parquet + create_table {read_duck:.2f} s (not timed below); "
        f"{lines:,} emission lines"
    )

    console.print(f"timing DuckDB (1 warm-up + {args.repeat}) ...")
    duck_timing, duck_result = inventory.time_repeated(duck.run, args.repeat)
    duck.close()

    console.print(f"timing pandas (1 warm-up + {args.repeat}) ...")
    pandas_timing, pandas_result = inventory.time_pandas(
        activities, lookups, args.year, args.repeat
    )
    inventory.compare(duck_result, pandas_result)
    total = float(pandas_result.by_category["emissions_tco2e"].sum())
    console.print(
        f"[green]DuckDB and pandas agree[/green] (rtol {inventory.RTOL}): "
        f"{len(pandas_result.by_category)} (scope, category) and "
        f"{len(pandas_result.by_site):,} (site, scope) totals; total {total:,.1f} tCO2e"
    )
    del activities
    gc.collect()

    table = Table(title=f"Inventory after reading: median of {args.repeat} (1 warm-up)")
    table.add_column("engine")
    table.add_column("rows", justify="right")
    table.add_column("median s", justify="right")
    table.add_column("min-max s", justify="right")
    table.add_column("rows/s", justify="right")
    table.add_column("speed-up vs pandas", justify="right")
    for name, timing in (
        ("tanlu engine (Ibis on DuckDB)", duck_timing),
        ("pandas merge + groupby", pandas_timing),
    ):
        table.add_row(
            name,
            f"{rows:,}",
            f"{timing.median:.3f}",
            f"{min(timing.seconds):.3f}-{max(timing.seconds):.3f}",
            f"{rows / timing.median:,.0f}",
            f"{pandas_timing.median / timing.median:.2f}x",
        )
    console.print(table)

    rate = rows / duck_timing.median
    ratio = pandas_timing.median / duck_timing.median
    for label, ok, text in (
        (
            "throughput",
            rate >= TARGET_ROWS_PER_S,
            f"{rate:,.0f} rows/s (target >= {TARGET_ROWS_PER_S:,})",
        ),
        ("vs pandas", ratio >= TARGET_RATIO, f"{ratio:.2f}x (target >= {TARGET_RATIO:.0f}x)"),
    ):
        mark = "[green]met[/green]" if ok else "[red]missed[/red]"
        console.print(f"target {label}: {text}: {mark}")

    # For information: validation, which runs before the engine in real use.
    raw, issues = read_activity_parquet(paths.raw_activities, paths.raw_activities.name)
    if issues:
        raise AssertionError(f"reading the raw activity file: {issues[:3]}")
    raw = raw.iloc[:validation_rows]
    site_ids = sites["site"]
    timing, prepared = inventory.time_repeated(
        lambda: prepare_activities(raw, library, site_ids, [args.year]),
        args.validation_repeat,
        warmup=0,
    )
    if prepared.issues:
        raise AssertionError(f"validation found issues: {prepared.issues[:3]}")
    console.print(
        f"validation (tanlu.ingest.prepare_activities) on {len(raw):,} rows: "
        f"{timing.median:.2f} s ({len(raw) / timing.median:,.0f} rows/s; "
        f"median of {args.validation_repeat}, no warm-up)"
    )


if __name__ == "__main__":
    raise SystemExit(main())

"""The ledger's ingest as a user runs it: ``tanlu ledger ingest LEDGER BATCH.parquet --consent
CONSENT.parquet --received ...`` as a whole process, with half of the batch's events already in
the ledger (replays).

Then, when asked (``--ledger-spark``, ``--ledger-aggregate N``): the same ingest on local Spark
(``--engine spark``), whose ledger must hold the same entries and give the same totals as
DuckDB's; and ``tanlu ledger totals`` over a ledger of N entries, made of copies of the timed
ledger's entry files (event ids suffixed per copy, so that it is a valid ledger), whose totals
must be the timed ledger's times the number of copies.

Synthetic, seeded events (metro and bus trips in Shenzhen, one user per ten events, a week of
May 2025, about 2% cross-channel duplicates and a few impossible speeds, so that every rule has
work) are written as Parquet: ``seed.parquet`` (N/2 events) is ingested once into a ledger
that is kept; each timed run copies that ledger and ingests ``batch.parquet`` (the N/2 seeded
events again, then N/2 new ones) with every rule applied. Wall time and peak memory come from
:func:`benchmarks.command.run_command` (the command alone, in a session of its own).
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from benchmarks.command import run_command

DEFAULT_EVENTS = 10_000_000
DEFAULT_AGGREGATE_ENTRIES = 100_000_000
TOTAL_KEYS = ("city", "methodology", "month")
TARGET_EVENTS_PER_S = 200_000
RECEIVED = "2025-05-10"
EVENTS_PER_USER = 10


def make_events(count: int, first_id: int, seed: int) -> pd.DataFrame:
    """``count`` seeded trips with event ids from ``first_id``."""
    rng = np.random.default_rng(seed)
    users = max(count // EVENTS_PER_USER, 1)
    start = pd.Timestamp("2025-05-01") + pd.to_timedelta(
        rng.integers(0, 7 * 24 * 3600, count), unit="s"
    )
    distance_km = np.round(rng.uniform(1, 30, count), 2)
    duration_s = (distance_km / rng.uniform(15, 40, count) * 3600).astype("int64")
    fast = rng.random(count) < 0.001  # impossible speeds
    duration_s[fast] = 30
    ids = np.arange(first_id, first_id + count)
    frame = pd.DataFrame(
        {
            "operator": np.where(rng.random(count) < 0.5, "sz-metro", "sz-bus"),
            "event_id": pd.Series(ids).map("E{:010d}".format),
            "user": pd.Series(rng.integers(0, users, count)).map("p{:08d}".format),
            "action": "metro",
            "channel": "card",
            "city": "深圳",
            "start_time": start,
            "end_time": start + pd.to_timedelta(duration_s, unit="s"),
            "distance_km": distance_km,
        }
    )
    frame.loc[frame["operator"] == "sz-bus", "action"] = "bus"
    # about 2%: the same trip again through a MaaS app, 30 s later
    dup = rng.random(count) < 0.02
    copies = frame.loc[dup].copy()
    copies["operator"], copies["channel"] = "maas", "maas"
    copies["event_id"] = copies["event_id"] + "-m"
    copies["start_time"] += pd.Timedelta(seconds=30)
    copies["end_time"] += pd.Timedelta(seconds=30)
    frame = pd.concat([frame.loc[~dup].iloc[: count - len(copies)], copies], ignore_index=True)
    return frame.iloc[:count]


def write_data(events: int, folder: Path, log: Callable[[str], Any]) -> tuple[Path, Path, Path]:
    """``seed.parquet``, ``batch.parquet`` and ``consent.parquet`` (made once per size)."""
    folder.mkdir(parents=True, exist_ok=True)
    seed, batch, consent = (folder / f"{n}.parquet" for n in ("seed", "batch", "consent"))
    if not batch.exists():
        log(f"writing {events:,} synthetic events under {folder} ...")
        half = events // 2
        first = make_events(half, 0, 1)
        first.to_parquet(seed, index=False)
        pd.concat([first, make_events(events - half, half, 2)], ignore_index=True).to_parquet(
            batch, index=False, row_group_size=1_000_000
        )
        users = pd.Series(pd.concat([first["user"]]).unique())
        pd.DataFrame(
            {
                "user": users,
                "scenario": "public_transport",
                "granted_at": pd.Timestamp("2025-01-01"),
            }
        ).to_parquet(consent, index=False)
    return seed, batch, consent


def ingest_command(
    ledger: Path,
    batch: Path,
    consent: Path | None,
    engine: str = "duckdb",
    memory_limit_gib: float | None = None,
) -> list[str]:
    argv = [sys.executable, "-m", "tanlu.cli", "ledger", "ingest", str(ledger), str(batch)]
    if consent is not None:
        argv += ["--consent", str(consent)]
    if memory_limit_gib is not None:
        argv += ["--memory-limit-gib", str(memory_limit_gib)]
    return [*argv, "--received", RECEIVED, "--engine", engine, "--json"]


def totals_command(ledger: Path, by: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "tanlu.cli",
        "ledger",
        "totals",
        str(ledger),
        "--by",
        by,
        "--json",
    ]


def ledger_totals(ledger: Path) -> dict[str, Any]:
    """``tanlu ledger totals --json`` by city, methodology and month."""
    found = {}
    for by in TOTAL_KEYS:
        done = subprocess.run(totals_command(ledger, by), check=True, capture_output=True)
        found[by] = json.loads(done.stdout)
    return found


def _quiet_duckdb() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    return con


def different_entries(first: Path, second: Path) -> int:
    """How many entries one ledger holds and the other not (both ways, as multisets)."""
    con = _quiet_duckdb()
    a, b = (f"read_parquet('{p / 'entries'}/*.parquet')" for p in (first, second))
    query = (
        f"SELECT count(*) FROM ((FROM {a} EXCEPT ALL FROM {b}) "
        f"UNION ALL (FROM {b} EXCEPT ALL FROM {a}))"
    )
    row = con.execute(query).fetchone()
    con.close()
    return int(row[0]) if row else 0


def misplaced_entries(first: Path, second: Path) -> int:
    """How many rows of the batches' files differ between two ledgers, file by file and row
    by row (a file only one ledger has counts every row): 0 when each file holds the same
    entries in the same order."""
    con = _quiet_duckdb()
    names = sorted(
        {f.name for ledger in (first, second) for f in (ledger / "entries").glob("[0-9]*.parquet")}
    )
    misplaced = 0
    for name in names:
        a, b = first / "entries" / name, second / "entries" / name
        if not (a.exists() and b.exists()):
            only = a if a.exists() else b
            row = con.execute(f"SELECT count(*) FROM read_parquet('{only}')").fetchone()
        else:
            rows = [
                f"(SELECT file_row_number AS n, t AS entry FROM "
                f"read_parquet('{path}', file_row_number = true) AS t)"
                for path in (a, b)
            ]
            row = con.execute(
                f"SELECT count(*) FROM {rows[0]} AS x FULL JOIN {rows[1]} AS y USING (n) "
                "WHERE x.entry IS DISTINCT FROM y.entry"
            ).fetchone()
        misplaced += int(row[0]) if row else 0
    con.close()
    return misplaced


def run(
    print_line: Callable[[Any], Any],
    events: int = DEFAULT_EVENTS,
    repeat: int = 3,
    data_dir: Path | None = None,
    memory_limit_gib: float | None = None,
) -> dict[str, Any]:
    """Time the ingest ``repeat`` times (median) and print the figures; ``memory_limit_gib``:
    DuckDB's memory limit (``--memory-limit-gib``; DuckDB's default when None)."""
    folder = (data_dir or Path(tempfile.gettempdir()) / "tanlu-bench") / f"ledger-{events}"
    seed, batch, consent = write_data(events, folder, print_line)
    seeded = folder / "seeded-ledger"
    if not seeded.exists():
        print_line(f"ingesting the {events // 2:,} seed events once (not timed) ...")
        subprocess.run(ingest_command(seeded, seed, consent), check=True, capture_output=True)
    runs = []
    for _ in range(repeat):
        ledger = folder / "timed-ledger"
        shutil.rmtree(ledger, ignore_errors=True)
        shutil.copytree(seeded, ledger)
        runs.append(run_command(ingest_command(ledger, batch, None, "duckdb", memory_limit_gib)))
    wall_s = statistics.median(r.wall_s for r in runs)
    figures = {
        "events": events,
        "replays": events // 2,
        "memory_limit_gib": memory_limit_gib,
        "wall_s": wall_s,
        "events_per_s": events / wall_s,
        "peak_rss_mib": statistics.median(r.peak_rss_mib for r in runs),
        "runs": [r.wall_s for r in runs],
    }
    met = figures["events_per_s"] >= TARGET_EVENTS_PER_S
    print_line(
        f"tanlu ledger ingest, {events:,} events ({events // 2:,} replays) from Parquet, memory "
        f"limit {f'{memory_limit_gib:g} GiB' if memory_limit_gib else 'DuckDB default'}, "
        f"median of {repeat}: {wall_s:.2f} s, {figures['events_per_s']:,.0f} events/s, peak RSS "
        f"{figures['peak_rss_mib']:,.0f} MiB; target >= {TARGET_EVENTS_PER_S:,} events/s: "
        + ("met" if met else "missed")
    )
    return figures


def run_spark(
    print_line: Callable[[Any], Any], events: int, data_dir: Path | None
) -> dict[str, Any]:
    """The timed ingest once on local Spark, after :func:`run` (same data): wall time, the
    session's peak memory (the JVM included), and whether its ledger holds the same entries and
    gives the same totals as the DuckDB one."""
    folder = (data_dir or Path(tempfile.gettempdir()) / "tanlu-bench") / f"ledger-{events}"
    batch, duckdb_ledger = folder / "batch.parquet", folder / "timed-ledger"
    ledger = folder / "spark-ledger"
    shutil.rmtree(ledger, ignore_errors=True)
    shutil.copytree(folder / "seeded-ledger", ledger)
    timed = run_command(ingest_command(ledger, batch, None, "spark"))
    differing = different_entries(duckdb_ledger, ledger)
    misplaced = misplaced_entries(duckdb_ledger, ledger)
    same_totals = ledger_totals(duckdb_ledger) == ledger_totals(ledger)
    figures = {
        "events": events,
        "wall_s": timed.wall_s,
        "events_per_s": events / timed.wall_s,
        "peak_session_rss_mib": timed.peak_session_rss_mib,
        "entries_differing": differing,
        "entries_misplaced": misplaced,
        "same_totals": same_totals,
    }
    print_line(
        f"tanlu ledger ingest --engine spark (local), {events:,} events ({events // 2:,} "
        f"replays): {timed.wall_s:.1f} s, {figures['events_per_s']:,.0f} events/s, peak RSS of "
        f"the session (JVM included) {timed.peak_session_rss_mib:,.0f} MiB; entries differing "
        f"from DuckDB's: {differing:,}, rows of its files at another place: {misplaced:,}; "
        "totals by city, methodology and month " + ("identical" if same_totals else "DIFFERENT")
    )
    return figures


def make_copies(source: Path, target: Path, copies: int) -> None:
    """A ledger of ``copies`` copies of ``source``'s entries, each copy's event ids suffixed
    (``-c<k>``) and written under batch numbers of its own by DuckDB."""
    files = sorted((source / "entries").glob("[0-9]*.parquet"))
    shutil.rmtree(target, ignore_errors=True)
    (target / "entries").mkdir(parents=True)
    con = _quiet_duckdb()
    batch = 0
    for copy in range(copies):
        for file in files:
            batch += 1
            out = target / "entries" / f"{batch:08d}.parquet"
            con.execute(
                f"COPY (SELECT * REPLACE (event_id || '-c{copy}' AS event_id) "
                f"FROM read_parquet('{file}')) TO '{out}' (FORMAT parquet)"
            )
    con.close()


def run_aggregation(
    print_line: Callable[[Any], Any],
    events: int,
    entries: int,
    repeat: int = 3,
    data_dir: Path | None = None,
) -> dict[str, Any]:
    """``tanlu ledger totals --by city|methodology|month`` over a ledger of about ``entries``
    entries made from the timed ledger of :func:`run` (``events`` events); the totals must be
    the timed ledger's times the copies."""
    folder = (data_dir or Path(tempfile.gettempdir()) / "tanlu-bench") / f"ledger-{events}"
    source = folder / "timed-ledger"
    have = int(
        _quiet_duckdb()
        .execute(f"SELECT count(*) FROM read_parquet('{source / 'entries'}/*.parquet')")
        .fetchone()[0]  # type: ignore[index]
    )
    copies = max(1, round(entries / have))
    big = folder / f"aggregate-ledger-x{copies}"
    if not big.exists():
        print_line(f"copying the {have:,} entries {copies} times under {big} ...")
        make_copies(source, big, copies)
    expected = ledger_totals(source)
    found = ledger_totals(big)
    agree = all(
        [
            {
                **row,
                "credits": row["credits"] * copies,
                "reversals": row["reversals"] * copies,
                "reduction_gco2e": round(row["reduction_gco2e"] * copies, 3),
            }
            for row in expected[by]
        ]
        == [{**row, "reduction_gco2e": round(row["reduction_gco2e"], 3)} for row in found[by]]
        for by in TOTAL_KEYS
    )
    figures: dict[str, Any] = {"entries": have * copies, "totals_agree": agree}
    for by in TOTAL_KEYS:
        runs = [run_command(totals_command(big, by)) for _ in range(repeat)]
        wall_s = statistics.median(r.wall_s for r in runs)
        figures[by] = {
            "wall_s": wall_s,
            "entries_per_s": have * copies / wall_s,
            "peak_rss_mib": statistics.median(r.peak_rss_mib for r in runs),
            "runs": [r.wall_s for r in runs],
        }
        print_line(
            f"tanlu ledger totals --by {by} over {have * copies:,} entries, median of {repeat}: "
            f"{wall_s:.2f} s ({have * copies / wall_s / 1e6:,.0f} M entries/s), peak RSS "
            f"{figures[by]['peak_rss_mib']:,.0f} MiB"
        )
    print_line(
        f"totals equal to the {have:,}-entry ledger's times {copies}: " + ("yes" if agree else "NO")
    )
    return figures

"""The ledger's ingest as a user runs it: ``tanlu ledger ingest LEDGER BATCH.parquet --consent
CONSENT.parquet --received ...`` as a whole process, with half of the batch's events already in
the ledger (replays).

Synthetic, seeded events (metro and bus trips in Shenzhen, one user per ten events, a week of
May 2025, about 2% cross-channel duplicates and a few impossible speeds, so that every rule has
work) are written as Parquet: ``seed.parquet`` (N/2 events) is ingested once into a ledger
that is kept; each timed run copies that ledger and ingests ``batch.parquet`` (the N/2 seeded
events again, then N/2 new ones) with every rule applied. Wall time and peak memory come from
:func:`benchmarks.command.run_command` (the command alone, in a session of its own).
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.command import run_command

DEFAULT_EVENTS = 1_000_000
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


def ingest_command(ledger: Path, batch: Path, consent: Path | None) -> list[str]:
    argv = [sys.executable, "-m", "tanlu.cli", "ledger", "ingest", str(ledger), str(batch)]
    if consent is not None:
        argv += ["--consent", str(consent)]
    return [*argv, "--received", RECEIVED, "--json"]


def run(
    print_line: Callable[[Any], Any],
    events: int = DEFAULT_EVENTS,
    repeat: int = 3,
    data_dir: Path | None = None,
) -> dict[str, Any]:
    """Time the ingest ``repeat`` times (median) and print the figures."""
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
        runs.append(run_command(ingest_command(ledger, batch, None)))
    wall_s = statistics.median(r.wall_s for r in runs)
    figures = {
        "events": events,
        "replays": events // 2,
        "wall_s": wall_s,
        "events_per_s": events / wall_s,
        "peak_rss_mib": statistics.median(r.peak_rss_mib for r in runs),
        "runs": [r.wall_s for r in runs],
    }
    met = figures["events_per_s"] >= TARGET_EVENTS_PER_S
    print_line(
        f"tanlu ledger ingest, {events:,} events ({events // 2:,} replays) from Parquet, "
        f"median of {repeat}: {wall_s:.2f} s, {figures['events_per_s']:,.0f} events/s, peak RSS "
        f"{figures['peak_rss_mib']:,.0f} MiB; target >= {TARGET_EVENTS_PER_S:,} events/s: "
        + ("met" if met else "missed")
    )
    return figures

"""The ledger's benchmarks (benchmarks/ledger.py) at a tiny size: the timed ingest leaves a
ledger with one entry per event, the entry comparison that checks Spark against DuckDB tells
equal ledgers from different ones, and the aggregation ledger of copies gives the timed
ledger's totals times the copies. The sizes that are measured are for ``make bench``."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
from benchmarks import ledger

EVENTS = 2_000


def test_the_ledger_benchmarks_run_and_check_themselves(tmp_path: Path) -> None:
    lines: list[str] = []
    figures = ledger.run(lines.append, events=EVENTS, repeat=1, data_dir=tmp_path)
    assert (figures["events"], figures["replays"]) == (EVENTS, EVENTS // 2)
    assert figures["events_per_s"] > 0 and figures["peak_rss_mib"] > 0
    folder = tmp_path / f"ledger-{EVENTS}"
    timed, seeded = folder / "timed-ledger", folder / "seeded-ledger"
    # the seed's 1,000 events, then the batch's 1,000 new ones: one entry each
    assert ledger.different_entries(timed, timed) == 0
    assert ledger.different_entries(timed, seeded) == EVENTS // 2
    # file by file, row by row: the seeded ledger lacks the batch's file of 1,000 entries
    assert ledger.misplaced_entries(timed, timed) == 0
    assert ledger.misplaced_entries(timed, seeded) == EVENTS // 2
    # the same entries in another order: every row but those that stay in place
    shuffled = tmp_path / "shuffled"
    (shuffled / "entries").mkdir(parents=True)
    for file in (timed / "entries").glob("*.parquet"):
        table = pq.read_table(file)
        pq.write_table(
            table.take(list(range(table.num_rows))[::-1]), shuffled / "entries" / file.name
        )
    assert ledger.different_entries(timed, shuffled) == 0
    middle = sum(pq.read_metadata(f).num_rows % 2 for f in (timed / "entries").glob("*.parquet"))
    assert ledger.misplaced_entries(timed, shuffled) == EVENTS - middle
    totals = ledger.ledger_totals(timed)
    assert sum(row["credits"] for row in totals["month"]) > 0
    # 3 copies of the 2,000 entries: every total three times the timed ledger's
    found = ledger.run_aggregation(lines.append, EVENTS, 3 * EVENTS, repeat=1, data_dir=tmp_path)
    assert found["entries"] == 3 * EVENTS and found["totals_agree"]
    copies = folder / "aggregate-ledger-x3"
    assert ledger.different_entries(copies, timed) == 3 * EVENTS + EVENTS
    assert any("totals equal to the 2,000-entry ledger's times 3: yes" in line for line in lines)

"""The ledger on Spark and on DuckDB: the same rules as Ibis expressions, the same entries.

Spark runs as a local session (``local[2]``), as in tests/test_spark.py. Credits are whole
milligrams (integers), so the two engines agree to the last digit, sums included.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from tanlu.app.ledger import ingest_batches, ledger_balances, ledger_totals
from tanlu.ledger import LedgerFolder, read_entries
from tests.test_ledger import CONSENT, EXAMPLE, FRAUD_SET, RECEIVED, write

MASTER = "local[2]"


def _entries(root: Path) -> pd.DataFrame:
    """Every entry, batch after batch, each batch's file in its own order (the same events
    always give the same file, on either engine)."""
    return read_entries(LedgerFolder(root))


def test_the_ledger_is_the_same_on_spark(tmp_path: Path) -> None:
    fraud = write(tmp_path / "fraud.parquet", [row for row, _ in FRAUD_SET])
    consent = write(tmp_path / "consent.csv", CONSENT)
    example = sorted(EXAMPLE.glob("batch-*.csv"))
    for backend in ("duckdb", "spark"):
        root = tmp_path / backend
        master = MASTER if backend == "spark" else None
        # two batches: the second is judged against the first, read back from the ledger
        ingest_batches(root, [fraud], consent, RECEIVED, backend, master)
        ingest_batches(
            root, example, EXAMPLE / "consent.csv", dt.datetime(2025, 5, 10), backend, master
        )
        again = ingest_batches(root, example, None, dt.datetime(2025, 5, 10), backend, master)
        assert again.entries == 0
    duck, spark = _entries(tmp_path / "duckdb"), _entries(tmp_path / "spark")
    pd.testing.assert_frame_equal(duck, spark)
    assert len(duck) == len(FRAUD_SET) + 12
    for by in ("city", "methodology", "month"):
        pd.testing.assert_frame_equal(
            ledger_totals(tmp_path / "duckdb", by).table,
            ledger_totals(tmp_path / "spark", by, "spark", MASTER).table,
        )
    pd.testing.assert_frame_equal(
        ledger_balances(tmp_path / "duckdb").table,
        ledger_balances(tmp_path / "spark", None, "spark", MASTER).table,
    )

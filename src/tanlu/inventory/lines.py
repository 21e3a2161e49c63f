"""An inventory's emission lines, left on the engine until they are read: :class:`EmissionLines`.

An inventory of hundreds of millions of activity rows has as many lines or more; the inventory's
figures come from their sums (:func:`tanlu.engine.line_totals`), so the lines themselves are
computed only when something reads them: a small run that wants them as a table
(:meth:`EmissionLines.frame`), or ``--out``, which streams them to a Parquet dataset a batch
at a time (:meth:`EmissionLines.batches`).
"""

from __future__ import annotations

from typing import Any

import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from tanlu import engine


class EmissionLines:
    """The lines of one inventory: one per activity row and gas, traced to the row's file and
    line and to its factor (:data:`tanlu.engine.LINE_COLUMNS` plus ``source_file,
    source_sheet, source_line, instrument_scale``; docs/json-output.md).

    Attributes
    ----------
    count
        How many lines there are (known from the sums, without computing them).
    """

    def __init__(self, expr: ir.Table, count: int, keep_alive: Any = None) -> None:
        self._expr = expr
        self.count = count
        # the activity store whose connection the expression reads (kept open while we live)
        self._keep_alive = keep_alive
        self._frame: pd.DataFrame | None = None

    def __len__(self) -> int:
        return self.count

    def frame(self) -> pd.DataFrame:
        """Every line as a pandas table, sorted by ``row_id``, ``gas``, ``scope`` and
        ``activity`` (computed once; every line comes into memory)."""
        if self._frame is None:
            frame = engine.arrow_batches(self._expr).read_all().to_pandas()
            # where a row is, as the checked activity table gives it (a missing sheet is <NA>)
            self._frame = frame.astype({"source_file": "string", "source_sheet": "string"})
        return self._frame

    def batches(self, rows: int = 1_000_000) -> pa.RecordBatchReader:
        """The lines in the same order, a batch of about ``rows`` at a time, so that any number
        of them can be written without holding them all in Python (the engine sorts them
        first: DuckDB holds them, spilling to disk beyond its memory limit)."""
        if self._frame is not None:
            return pa.Table.from_pandas(self._frame, preserve_index=False).to_reader(rows)
        return engine.arrow_batches(self._expr, rows)


__all__ = ["EmissionLines"]

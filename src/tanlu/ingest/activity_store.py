"""The checked activity rows, kept on the engine: :class:`ActivityStore`.

The checks (:mod:`tanlu.ingest.activity_checks`) leave the good rows in a table on the engine
connection they ran on; the inventory computes from that table where it is, so that hundreds of
millions of rows never come into Python. Only a small run, or a caller that asks, brings the rows
to pandas (:meth:`ActivityStore.frame`).
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Iterable, Sequence
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa

from tanlu import engine

CANONICAL_COLUMNS: tuple[str, ...] = (
    "row_id",
    "source_file",
    "source_sheet",
    "source_line",
    "site",
    "activity",
    "meter",
    "period_start",
    "period_end",
    "quantity",
    "unit",
    "canonical_unit",
    "scope",
    "category",
    "source_document",
    "note",
)


# The columns of a store's table: the canonical columns with ``source_id`` (an index into the
# store's sources) for the file and sheet, dates as dates.
STORE_COLUMNS: tuple[str, ...] = (
    "row_id",
    "source_id",
    *[c for c in CANONICAL_COLUMNS if c not in ("row_id", "source_file", "source_sheet")],
)
_STORE_TYPES: dict[str, pa.DataType] = {
    "row_id": pa.int64(),
    "source_id": pa.int64(),
    "source_line": pa.int64(),
    "period_start": pa.date32(),
    "period_end": pa.date32(),
    "quantity": pa.float64(),
    "scope": pa.int64(),
}
_NAMES = itertools.count()


def unique_name(base: str) -> str:
    """A table name no other table of this process uses (``base_N``): a Spark session is shared
    by every connection of the process, and stores and lines live side by side."""
    return f"{base}_{next(_NAMES)}"


class ActivityStore:
    """Checked activity rows in a table on an engine connection, which the store owns.

    Attributes
    ----------
    con
        The engine connection (:func:`tanlu.engine.connect`), closed when the store is.
    table
        The rows, :data:`STORE_COLUMNS` (``row_id``: 0-based, in reading order).
    sources
        The files (and sheets) the rows come from, by ``source_id``: ``(file, sheet)``.
    rows
        How many rows the table holds.
    """

    def __init__(
        self,
        con: Any,
        table: ir.Table,
        sources: Sequence[tuple[str, str | None]],
        rows: int,
        owner: ActivityStore | None = None,
    ) -> None:
        self.con = con
        self.table = table
        self.sources = tuple(sources)
        self.rows = rows
        self._frame: pd.DataFrame | None = None
        self._source_table: ir.Table | None = None
        self._moved: dict[str, ActivityStore] = {}
        # A store made from another (restricted_to) shares its connection and keeps it open.
        self._owner = owner
        self._finalizer = weakref.finalize(self, engine.close, con) if owner is None else None
        if self._finalizer is not None:
            # at exit the process ends the connection itself (Spark's JVM may be gone first)
            self._finalizer.atexit = False

    @classmethod
    def from_frame(
        cls, frame: pd.DataFrame, backend: str = engine.DEFAULT_BACKEND, master: str | None = None
    ) -> ActivityStore:
        """A store of a canonical activity table given in memory (CANONICAL_COLUMNS), on a new
        connection of ``backend``."""
        con = engine.connect(backend, master)
        sources = list(dict.fromkeys(zip(frame["source_file"], frame["source_sheet"], strict=True)))
        index = {source: i for i, source in enumerate(sources)}
        source_id = np.fromiter(
            (index[s] for s in zip(frame["source_file"], frame["source_sheet"], strict=True)),
            dtype="int64",
            count=len(frame),
        )
        columns = {}
        for name in STORE_COLUMNS:
            if name == "source_id":
                columns[name] = pa.array(source_id)
                continue
            values = frame[name]
            kind = _STORE_TYPES.get(name, pa.string())
            if kind == pa.date32():
                columns[name] = pa.array(pd.to_datetime(values).dt.date, type=kind)
            else:
                columns[name] = pa.array(values, type=kind, from_pandas=True)
        table = engine.to_table(con, pa.table(columns), unique_name("activities"))
        return cls(
            con,
            table,
            [(str(f), None if pd.isna(s) else str(s)) for f, s in sources],
            len(frame),
        )

    def close(self) -> None:
        """End the use of the connection (a restricted store leaves its owner's open)."""
        if self._finalizer is not None:
            self._finalizer()

    def sources_table(self) -> ir.Table:
        """``source_id, source_file, source_sheet``, registered once on the connection."""
        if self._source_table is None:
            files = pa.table(
                {
                    "source_id": pa.array(range(len(self.sources)), type=pa.int64()),
                    "source_file": pa.array([f for f, _ in self.sources], type=pa.string()),
                    "source_sheet": pa.array([s for _, s in self.sources], type=pa.string()),
                }
            )
            self._source_table = engine.to_table(self.con, files, unique_name("sources"))
        return self._source_table

    def frame(self) -> pd.DataFrame:
        """The rows as the canonical pandas table (CANONICAL_COLUMNS), in reading order: for a
        small run, or a caller that wants them (every row comes into memory)."""
        if self._frame is None:
            self._frame = _canonical_frame(
                engine.arrow_batches(self.table).read_all().sort_by("row_id"), self.sources
            )
        return self._frame

    def on(self, backend: str, master: str | None = None) -> ActivityStore:
        """The rows on ``backend``: this store when they are there, else a copy moved there
        through Arrow (once; inputs checked on one engine and computed on another)."""
        if engine.backend_name(self.con) == backend:
            return self
        if backend not in self._moved:
            con = engine.connect(backend, master)
            table = engine.to_table(
                con, engine.arrow_batches(self.table).read_all(), unique_name("activities")
            )
            self._moved[backend] = ActivityStore(con, table, self.sources, self.rows)
        return self._moved[backend]

    def restricted_to(self, sites: Iterable[str]) -> ActivityStore:
        """The rows at ``sites`` only, as a store on the same connection (nothing is copied)."""
        keep = engine.to_table(
            self.con,
            pa.table({"kept_site": pa.array(sorted(set(sites)), type=pa.string())}),
            unique_name("kept_sites"),
        )
        table = self.table.semi_join(keep, self.table.site == keep.kept_site)
        rows = int(table.count().to_pyarrow().as_py())
        restricted = ActivityStore(self.con, table, self.sources, rows, owner=self)
        restricted._source_table = self._source_table
        return restricted


_EMPTY_DTYPES: dict[str, str] = {
    "row_id": "int64",
    "source_line": "int64",
    "period_start": "datetime64[us]",
    "period_end": "datetime64[us]",
    "quantity": "float64",
    "scope": "int64",
}


def empty_activities() -> pd.DataFrame:
    """The canonical activity table with no rows, typed as a full one is (the engine needs a
    type for every column, even of an empty table)."""
    return pd.DataFrame(
        {
            column: pd.Series(dtype=_EMPTY_DTYPES.get(column, "string"))
            for column in CANONICAL_COLUMNS
        }
    )


def _canonical_frame(arrow: pa.Table, sources: Sequence[tuple[str, str | None]]) -> pd.DataFrame:
    if arrow.num_rows == 0:
        return empty_activities()
    frame = arrow.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
    source_ids = frame["source_id"].to_numpy()
    files = np.array([f for f, _ in sources], dtype=object)
    sheets = np.array([s for _, s in sources], dtype=object)
    frame["source_file"] = pd.Series(files[source_ids], dtype="string")
    frame["source_sheet"] = pd.Series(sheets[source_ids], dtype="string")
    for column in ("period_start", "period_end"):
        frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
    frame = frame.astype(
        {"row_id": "int64", "source_line": "int64", "quantity": "float64", "scope": "int64"}
    )
    return frame[list(CANONICAL_COLUMNS)]


__all__ = [
    "CANONICAL_COLUMNS",
    "STORE_COLUMNS",
    "ActivityStore",
    "empty_activities",
    "unique_name",
]

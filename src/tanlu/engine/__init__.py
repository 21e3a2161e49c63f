"""Where tables are computed: Ibis expressions, run on a backend chosen at :func:`connect`.

The rest of tanlu sees one :func:`connect` and Ibis tables. The arithmetic lives once, as
backend-neutral Ibis expressions, in :mod:`tanlu.engine.expressions`; each backend is one module
that opens a connection, registers tables and closes (:mod:`tanlu.engine.duckdb`, the embedded
default; :mod:`tanlu.engine.spark`, the distributed one, with the ``spark`` extra installed).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from tanlu.engine import duckdb, expressions, spark
from tanlu.engine.expressions import (
    LINE_COLUMNS,
    LINE_SUMMARY_KEYS,
    SUMMARY_KEYS,
    arrow_table,
    emission_lines,
    factors_by_unit,
    float_sum,
    line_totals,
    summarise,
    summarise_lines,
    summarise_totals,
    traced_lines,
)
from tanlu.errors import TanluError


@dataclass(frozen=True)
class Backend:
    """One backend: how to open a connection, put a table in and close.

    Attributes
    ----------
    connect
        Opens a connection; takes the master URL (``None``: the backend's default), which only
        Spark reads, the memory limit [GiB] and the folder to spill under, which only DuckDB
        reads.
    register
        Puts an Arrow table into the connection under a name and returns it as an Ibis table.
    keep
        Computes an expression once and keeps its result under a name (for a result that
        several later queries read), returning it as an Ibis table.
    close
        Ends the connection's use, told the names registered.
    ibis_name
        The name Ibis gives the backend's connections (``con.name``).
    sum_kind
        How the backend adds floats over activity rows (:func:`float_sum`).
    installed
        Whether the backend's Python package is installed.
    to_arrow
        An expression's whole result as an Arrow table.
    arrow_batches
        An expression's result read a batch of about ``rows`` rows at a time, in order; told a
        name under which the backend may keep the result while it is read (dropped at close).
    """

    connect: Callable[[str | None, float | None, Path | None], Any]
    register: Callable[[Any, pa.Table, str], ir.Table]
    keep: Callable[[Any, ir.Table, str], ir.Table]
    close: Callable[[Any, list[str]], None]
    ibis_name: str
    installed: Callable[[], bool]
    sum_kind: str
    to_arrow: Callable[[Any, ir.Table], pa.Table]
    arrow_batches: Callable[[Any, ir.Table, str, int], pa.RecordBatchReader]


BACKENDS: dict[str, Backend] = {
    "duckdb": Backend(
        lambda master, memory_limit_gib, temp_directory: duckdb.connect(
            memory_limit_gib, temp_directory
        ),
        duckdb.register,
        duckdb.keep,
        duckdb.close,
        "duckdb",
        lambda: True,
        "compensated",
        lambda con, expr: expr.to_pyarrow(),
        lambda con, expr, name, rows: expressions.arrow_batches(expr, rows),
    ),
    "spark": Backend(
        lambda master, memory_limit_gib, temp_directory: spark.connect(master),
        spark.register,
        spark.keep,
        spark.close,
        "pyspark",
        spark.available,
        "plain",
        spark.to_arrow,
        spark.arrow_batches,
    ),
}
DEFAULT_BACKEND = "duckdb"
# The names registered on each open connection (by id), dropped at close.
_REGISTERED: dict[int, list[str]] = {}
# Numbers the names under which a result is kept while it is read (:func:`arrow_batches`).
_RESULTS = itertools.count(1)


class EngineError(TanluError):
    """The engine was asked for a backend it does not have, or one not installed."""


def connect(
    backend: str = DEFAULT_BACKEND,
    master: str | None = None,
    memory_limit_gib: float | None = None,
    temp_directory: Path | None = None,
) -> Any:
    """A connection (Ibis backend) to compute tables on; end its use with :func:`close`.

    Parameters
    ----------
    backend
        A name in :data:`BACKENDS`: ``"duckdb"`` (in-memory, the default) or ``"spark"``.
    master
        Spark's master URL (``local[*]`` when omitted; docs/engines.md); DuckDB ignores it.
    memory_limit_gib, temp_directory
        DuckDB's memory limit [GiB] and the folder it spills under
        (:func:`tanlu.engine.duckdb.connect`); Spark takes its memory from its own settings.

    Raises
    ------
    EngineError
        When ``backend`` is not one of :data:`BACKENDS`, or its package is not installed.
    """
    if backend not in BACKENDS:
        raise EngineError(f"engine backend '{backend}' is not one of {', '.join(sorted(BACKENDS))}")
    chosen = BACKENDS[backend]
    if not chosen.installed():
        raise EngineError(
            f"engine backend '{backend}' needs pyspark: pip install 'tanlu[{backend}]' "
            "(and Java 17 or later)"
        )
    con = chosen.connect(master, memory_limit_gib, temp_directory)
    _REGISTERED[id(con)] = []
    return con


def _backend_of(con: Any) -> Backend:
    for backend in BACKENDS.values():
        if backend.ibis_name == con.name:
            return backend
    raise EngineError(f"no tanlu engine backend for an Ibis '{con.name}' connection")


def backend_name(con: Any) -> str:
    """The name in :data:`BACKENDS` of the backend a connection is of."""
    for name, backend in BACKENDS.items():
        if backend.ibis_name == con.name:
            return name
    raise EngineError(f"no tanlu engine backend for an Ibis '{con.name}' connection")


def to_table(con: Any, frame: pd.DataFrame | pa.Table, name: str) -> ir.Table:
    """Register a pandas or Arrow table with the connection as ``name`` (replacing one of that
    name).

    A pandas frame goes over as Arrow (:func:`tanlu.engine.expressions.arrow_table`: timestamps
    become dates).
    """
    arrow = frame if isinstance(frame, pa.Table) else arrow_table(frame)
    table = _backend_of(con).register(con, arrow, name)
    _REGISTERED.setdefault(id(con), []).append(name)
    return table


def keep(con: Any, expr: ir.Table, name: str) -> ir.Table:
    """Compute ``expr`` once on the connection and keep the result as ``name`` (replacing one
    of that name): DuckDB writes a table (spilling to disk when memory runs short), Spark
    caches a view. Dropped at :func:`close`."""
    table = _backend_of(con).keep(con, expr, name)
    _REGISTERED.setdefault(id(con), []).append(name)
    return table


def read_parquet_folder(con: Any, folder: Path, name: str) -> ir.Table:
    """The Parquet files directly in ``folder`` (``*.parquet``, one schema) as the table
    ``name``, read by the engine itself: DuckDB's ``read_parquet`` of the files, Spark's
    reader of the folder (which skips names starting with ``.`` or ``_``, as a file being
    written is named). Dropped at :func:`close`."""
    if backend_name(con) == "spark":
        table = con.read_parquet(str(folder), table_name=name)
    else:
        table = con.read_parquet(sorted(str(p) for p in folder.glob("*.parquet")), table_name=name)
    _REGISTERED.setdefault(id(con), []).append(name)
    return table


def to_arrow(expr: ir.Table) -> pa.Table:
    """Execute an expression and return its whole result as an Arrow table (on Spark
    collected as Arrow in one job, :func:`tanlu.engine.spark.to_arrow`): for a small result; a
    large one comes back a batch at a time with :func:`arrow_batches` (``.read_all()`` for all
    of it)."""
    con = expr._find_backend()
    return _backend_of(con).to_arrow(con, expr)


def to_pandas(expr: ir.Table) -> pd.DataFrame:
    """Execute an expression and return a pandas table (through Arrow)."""
    return to_arrow(expr).to_pandas()


def arrow_batches(expr: ir.Table, rows: int = 200_000) -> pa.RecordBatchReader:
    """Execute an expression and read its result a batch of about ``rows`` rows at a time, in
    its order, so that a large result never sits in this process whole: DuckDB streams it
    (:func:`tanlu.engine.expressions.arrow_batches`); Spark writes it to a scratch folder in
    a local session, or keeps it and sends it back in pieces of at most ``rows`` rows from a
    cluster (:func:`tanlu.engine.spark.arrow_batches`). Read it to the end, or what the backend
    keeps stays until :func:`close` (or the process's exit)."""
    con = expr._find_backend()
    name = f"tanlu_result_{next(_RESULTS)}"
    _REGISTERED.setdefault(id(con), []).append(name)
    return _backend_of(con).arrow_batches(con, expr, name, rows)


def to_batches(expr: ir.Table, rows: int = 200_000) -> Iterator[pd.DataFrame]:
    """:func:`arrow_batches` as pandas tables."""
    for batch in arrow_batches(expr, rows):
        yield batch.to_pandas()


def close(con: Any) -> None:
    """End the use of a connection from :func:`connect` (DuckDB: closed with its tables;
    Spark: tanlu's tables dropped, the session kept for the next connection)."""
    _backend_of(con).close(con, _REGISTERED.pop(id(con), []))


__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "LINE_COLUMNS",
    "LINE_SUMMARY_KEYS",
    "SUMMARY_KEYS",
    "Backend",
    "EngineError",
    "arrow_batches",
    "backend_name",
    "close",
    "connect",
    "emission_lines",
    "factors_by_unit",
    "float_sum",
    "keep",
    "line_totals",
    "read_parquet_folder",
    "summarise",
    "summarise_lines",
    "summarise_totals",
    "to_arrow",
    "to_batches",
    "to_pandas",
    "to_table",
    "traced_lines",
]

"""The default backend: embedded, in-memory DuckDB through Ibis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa

from tanlu.scratch import make_scratch_folder, remove_scratch_folder

# The folder each connection spills to, removed when it closes (by id of the connection), or
# when the process exits with the connection still open (tanlu.scratch).
_SPILL_FOLDERS: dict[int, Path] = {}

SPILL_PREFIX = "tanlu-duckdb-"


def connect(memory_limit_gib: float | None = None, temp_directory: Path | None = None) -> Any:
    """A fresh in-memory DuckDB connection (Ibis backend).

    Parameters
    ----------
    memory_limit_gib
        The most memory DuckDB's buffers may hold [GiB] before it spills to disk (DuckDB's
        ``memory_limit``; its own default, 80% of the machine's memory, when omitted).
    temp_directory
        The folder under which it spills: a new folder is made there (under the system's
        temporary folder when omitted) and removed when the connection closes or the process
        exits; folders there left by tanlu processes that were killed are removed first
        (:func:`tanlu.scratch.make_scratch_folder`). DuckDB's own default for an in-memory database
        would be ``.tmp`` in the working directory.
    """
    spill = make_scratch_folder(SPILL_PREFIX, temp_directory)
    config: dict[str, Any] = {"temp_directory": str(spill)}
    if memory_limit_gib is not None:
        config["memory_limit"] = f"{memory_limit_gib * 1024:.0f}MiB"
    con = ibis.duckdb.connect(**config)
    # tanlu draws its own progress bar; DuckDB's would print over it on long queries
    con.raw_sql("SET enable_progress_bar = false")
    _SPILL_FOLDERS[id(con)] = spill
    return con


def register(con: Any, table: pa.Table, name: str) -> Any:
    """Load an Arrow table into the connection as ``name`` (replacing one): the fast path."""
    return con.create_table(name, table, overwrite=True)


def append(con: Any, table: pa.Table, name: str) -> None:
    """Append an Arrow table's rows to the table ``name`` (made by :func:`register`; the same
    columns in the same order), so that a file read a chunk at a time lands in one table."""
    raw = con.con
    view = f"{name}__chunk"
    raw.register(view, table)
    try:
        raw.execute(f'INSERT INTO "{name}" SELECT * FROM "{view}"')
    finally:
        raw.unregister(view)


def close(con: Any, names: list[str]) -> None:
    """Close the connection (its in-memory tables go with it) and remove its spill folder."""
    con.disconnect()
    spill = _SPILL_FOLDERS.pop(id(con), None)
    if spill is not None:
        remove_scratch_folder(spill)


def keep(con: Any, expr: Any, name: str) -> Any:
    """Compute an expression into the table ``name`` (replacing one)."""
    return con.create_table(name, expr, overwrite=True)

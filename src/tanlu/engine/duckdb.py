"""The default backend: embedded, in-memory DuckDB through Ibis."""

from __future__ import annotations

from typing import Any

import ibis
import pyarrow as pa


def connect() -> Any:
    """A fresh in-memory DuckDB connection (Ibis backend)."""
    return ibis.duckdb.connect()


def register(con: Any, table: pa.Table, name: str) -> Any:
    """Load an Arrow table into the connection as ``name`` (replacing one): the fast path."""
    return con.create_table(name, table, overwrite=True)


def close(con: Any, names: list[str]) -> None:
    """Close the connection (its in-memory tables go with it)."""
    con.disconnect()


def keep(con: Any, expr: Any, name: str) -> Any:
    """Compute an expression into the table ``name`` (replacing one)."""
    return con.create_table(name, expr, overwrite=True)

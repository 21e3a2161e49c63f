"""The default backend: embedded, in-memory DuckDB through Ibis."""

from __future__ import annotations

from typing import Any

import ibis


def connect() -> Any:
    """A fresh in-memory DuckDB connection (Ibis backend)."""
    return ibis.duckdb.connect()

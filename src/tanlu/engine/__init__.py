"""Where tables are computed: Ibis expressions, run on a backend chosen at :func:`connect`.

The rest of tanlu sees one :func:`connect` and Ibis tables. The arithmetic lives once, as
backend-neutral Ibis expressions, in :mod:`tanlu.engine.expressions`; each backend is one module
that opens a connection (:mod:`tanlu.engine.duckdb`, the default and, today, the only one). A
second backend (Spark) is one more module and one more entry in :data:`BACKENDS`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tanlu.engine import duckdb
from tanlu.engine.expressions import (
    LINE_COLUMNS,
    SUMMARY_KEYS,
    emission_lines,
    factors_by_unit,
    summarise,
    to_pandas,
    to_table,
)
from tanlu.errors import TanluError

# Each backend's name and the function that opens a fresh connection to it.
BACKENDS: dict[str, Callable[[], Any]] = {"duckdb": duckdb.connect}
DEFAULT_BACKEND = "duckdb"


class EngineError(TanluError):
    """The engine was asked for a backend it does not have."""


def connect(backend: str = DEFAULT_BACKEND) -> Any:
    """A fresh connection (Ibis backend) to compute tables on.

    Parameters
    ----------
    backend
        A name in :data:`BACKENDS`: ``"duckdb"`` (in-memory, the default).

    Raises
    ------
    EngineError
        When ``backend`` is not one of :data:`BACKENDS`.
    """
    if backend not in BACKENDS:
        raise EngineError(f"engine backend '{backend}' is not one of {', '.join(sorted(BACKENDS))}")
    return BACKENDS[backend]()


__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "LINE_COLUMNS",
    "SUMMARY_KEYS",
    "EngineError",
    "connect",
    "emission_lines",
    "factors_by_unit",
    "summarise",
    "to_pandas",
    "to_table",
]

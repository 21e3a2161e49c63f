"""The distributed backend: Apache Spark through Ibis (``pip install tanlu[spark]``).

One Spark session serves the whole process: starting one takes seconds (a JVM), so
:func:`connect` reuses the running session, and :func:`close` drops the tables tanlu registered
instead of stopping it. Tables go in as temporary views of Arrow data (nothing is written to a
warehouse folder on disk). ``master`` is Spark's master URL: ``local[N]`` runs Spark inside this
process on N cores (``local[*]``: every core), ``spark://host:7077`` a standalone cluster,
``yarn`` a Hadoop cluster (the session's other settings then come from the cluster's
``spark-defaults.conf``; docs/engines.md).
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

DEFAULT_MASTER = "local[*]"

# Attempts of a task in a local session. Spark retries a failed task up to
# spark.task.maxFailures (4) times on a cluster, but only once in ``local[N]``; a large task
# result lost between the task and the driver (TaskResultLost, seen on a million emission
# lines under load, 2026-12-04/05) then failed the whole computation. ``local[N]`` and
# ``local`` are started as ``local[N,4]``, the cluster's count; a master that names its own
# count keeps it.
LOCAL_TASK_ATTEMPTS = 4
_LOCAL_WITHOUT_ATTEMPTS = re.compile(r"local(?:\[\s*(\d+|\*)\s*\])?")
_LOCAL_WITH_ANY_ATTEMPTS = re.compile(r"local(?:\[\s*(\d+|\*)\s*(?:,\s*\d+\s*)?\])?")


def with_task_retries(master: str) -> str:
    """``master`` as the session is started: ``local`` and ``local[N]`` with
    :data:`LOCAL_TASK_ATTEMPTS` attempts per task (``local[N,4]``), any other URL unchanged."""
    match = _LOCAL_WITHOUT_ATTEMPTS.fullmatch(master.strip())
    if match is None:
        return master
    return f"local[{match.group(1) or 1},{LOCAL_TASK_ATTEMPTS}]"


# Spark settings of a session tanlu starts (a session already running keeps its own). Shuffle
# partitions: Spark's default of 200 suits a cluster; in one process 8 small tasks do better
# (the example's 2022 inventory on local[2], warm session, 3 alternating runs on 2026-12-04:
# median 1.54 s with 8 against 1.81 s with 200, 0.85x).
SESSION_SETTINGS: dict[str, str] = {
    # the emission lines come back to this process (the driver): Spark's default of 1 GiB of
    # driver memory lost task results on a million rows (TaskResultLost, seen 2026-12-04)
    "spark.driver.memory": "4g",
    "spark.driver.maxResultSize": "4g",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}


# Settings of a local session only. A task's result larger than spark.task.maxDirectResultSize
# (1 MiB by default) is put in the block manager and fetched from there by the driver; under
# load that fetch failed on each of a task's four attempts (TaskResultLost, "result lost from
# block manager", a million emission lines collected as Arrow batches, fresh-clone CI of
# 2026-12-05). In one process the results are sent to the driver directly instead, up to
# 512 MiB each (an RPC message may carry them: spark.rpc.message.maxSize, in MiB).
LOCAL_SESSION_SETTINGS: dict[str, str] = {
    "spark.task.maxDirectResultSize": "512m",
    "spark.rpc.message.maxSize": "512",
}


def session_settings(master: str) -> dict[str, str]:
    """The settings of a session tanlu starts on ``master``: :data:`SESSION_SETTINGS`, and
    :data:`LOCAL_SESSION_SETTINGS` for a local master."""
    local = _LOCAL_WITH_ANY_ATTEMPTS.fullmatch(master.strip()) is not None
    return {**SESSION_SETTINGS, **(LOCAL_SESSION_SETTINGS if local else {})}


def available() -> bool:
    """Whether pyspark is installed (the ``spark`` extra)."""
    return importlib.util.find_spec("pyspark") is not None


def connect(master: str | None = None) -> Any:
    """An Ibis connection to the process's Spark session (started on first use).

    Parameters
    ----------
    master
        Spark master URL for a session started here (default ``local[*]``; a local master
        retries a failed task, :func:`with_task_retries`); ignored when a session is already
        running in this process.
    """
    import ibis
    from pyspark.sql import SparkSession

    started = with_task_retries(master or DEFAULT_MASTER)
    builder = SparkSession.builder.master(started)
    builder = builder.appName("tanlu")
    for key, value in session_settings(started).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return ibis.pyspark.connect(session)


def _session() -> Any:
    from pyspark.sql import SparkSession

    return SparkSession.builder.getOrCreate()  # the running session


def register(con: Any, table: pa.Table, name: str) -> Any:
    """Put an Arrow table into the session as the temporary view ``name`` (replacing one)."""
    _session().createDataFrame(table).createOrReplaceTempView(name)
    return con.table(name)


def keep(con: Any, expr: Any, name: str) -> Any:
    """Cache an expression's result as the temporary view ``name`` (replacing one); dropping
    the view at :func:`close` uncaches it."""
    session = _session()
    session.sql(str(con.compile(expr))).createOrReplaceTempView(name)
    session.catalog.cacheTable(name)
    return con.table(name)


# The column that numbers a result's slices while it comes back (dropped before it reaches
# the caller).
SLICE_COLUMN = "__tanlu_slice"


def _typed(table: pa.Table, expr: Any) -> pa.Table:
    """Spark's Arrow result in the Arrow types of the expression's Ibis schema (Spark's
    timestamps carry the session's time zone, UTC; Ibis's have none)."""
    from ibis.formats.pyarrow import PyArrowData

    return PyArrowData.convert_table(table, expr.schema())


def to_arrow(con: Any, expr: Any) -> pa.Table:
    """An expression's whole result as Arrow, collected by Spark as Arrow (``toArrow``), not
    through pandas as Ibis's own ``to_pyarrow`` does on Spark."""
    return _typed(_session().sql(str(con.compile(expr))).toArrow(), expr)


def arrow_batches(con: Any, expr: Any, name: str, rows: int) -> pa.RecordBatchReader:
    """An expression's result read one slice at a time, in order.

    The result is computed once and cached as the temporary view ``name`` with each row's
    partition number (``spark_partition_id``); the partitions then come back to this process
    one after another, each collected as Arrow, and are handed on ``rows`` at a time. A sorted
    result is range-partitioned, so its partitions in number order are its rows in order. The
    driver and this process hold one partition at a time, never the whole result: 10 million
    ledger entries collected whole ran the driver's 4 GiB heap out (2026-12-05). The view is
    dropped (and uncached) when the last slice has been read, or at :func:`close`."""
    from pyspark.sql import functions

    session = _session()
    numbered = session.sql(str(con.compile(expr)))
    numbered.withColumn(SLICE_COLUMN, functions.spark_partition_id()).createOrReplaceTempView(name)
    session.catalog.cacheTable(name)
    cached = session.table(name)
    slices = sorted(row[0] for row in cached.select(SLICE_COLUMN).distinct().collect())

    def read() -> Iterator[pa.RecordBatch]:
        try:
            for number in slices:
                part = cached.filter(functions.col(SLICE_COLUMN) == number).drop(SLICE_COLUMN)
                yield from _typed(part.toArrow(), expr).to_batches(max_chunksize=rows)
        finally:
            session.catalog.dropTempView(name)

    return pa.RecordBatchReader.from_batches(expr.schema().to_pyarrow(), read())


def close(con: Any, names: list[str]) -> None:
    """Drop the temporary views tanlu registered; the session stays for the next use."""
    catalog = _session().catalog
    for name in names:
        catalog.dropTempView(name)

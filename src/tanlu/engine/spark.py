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

from tanlu.scratch import make_scratch_folder, remove_scratch_folder

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


# The column that numbers a result's rows while it comes back (dropped before it reaches the
# caller): Spark's monotonically_increasing_id, the row's partition in the upper 31 bits and
# its place within the partition in the lower 33.
ROW_COLUMN = "__tanlu_row"
PARTITION_SHIFT = 33


def _typed(table: pa.Table, expr: Any) -> pa.Table:
    """Spark's Arrow result in the Arrow types of the expression's Ibis schema (Spark's
    timestamps carry the session's time zone, UTC; Ibis's have none)."""
    from ibis.formats.pyarrow import PyArrowData

    return PyArrowData.convert_table(table, expr.schema())


def to_arrow(con: Any, expr: Any) -> pa.Table:
    """An expression's whole result as Arrow, collected by Spark as Arrow in one job
    (``toArrow``), not through pandas as Ibis's own ``to_pyarrow`` does on Spark: for a small
    result (a large one: :func:`arrow_batches`)."""
    return _typed(_session().sql(str(con.compile(expr))).toArrow(), expr)


def pieces(partition_rows: list[tuple[int, int]], rows: int) -> list[tuple[int, int]]:
    """The ranges ``[first, last)`` of row numbers (:data:`ROW_COLUMN`) to collect one after
    another, at most ``rows`` rows each, in the result's order: ``partition_rows`` holds each
    partition's number and its count of rows."""
    ranges = []
    for partition, count in sorted(partition_rows):
        base = partition << PARTITION_SHIFT
        ranges += [(base + at, base + min(at + rows, count)) for at in range(0, count, rows)]
    return ranges


def runs_locally(session: Any) -> bool:
    """Whether the session's executors run in this process (a ``local`` master), so that a
    folder here is theirs too."""
    return _LOCAL_WITH_ANY_ATTEMPTS.fullmatch(session.sparkContext.master.strip()) is not None


def arrow_batches(con: Any, expr: Any, name: str, rows: int) -> pa.RecordBatchReader:
    """An expression's result read in order, at most ``rows`` rows at a time.

    In a local session (:func:`runs_locally`) Spark writes the result once with its own
    Parquet writer, in parallel, to a scratch folder, and the files are read back in partition
    order (``part-00000``, ``part-00001``, ...), a batch of ``rows`` at a time; the folder is
    removed when the last batch has been read. On a cluster, whose executors cannot write
    here, :func:`collected_in_pieces`. A sorted result is range-partitioned, so its partitions
    in order are its rows in order either way. Neither the driver nor this process ever holds
    the whole result: 10 million ledger entries collected whole ran the driver's 4 GiB heap out
    (2026-12-05), and so did a million emission lines collected as one partition."""
    session = _session()
    if not runs_locally(session):
        return collected_in_pieces(con, expr, name, rows)
    from pyarrow import parquet

    folder = make_scratch_folder("tanlu-spark-result-")
    try:
        session.sql(str(con.compile(expr))).write.parquet(str(folder / "result"))
    except BaseException:
        remove_scratch_folder(folder)
        raise
    files = sorted((folder / "result").glob("part-*.parquet"))

    def read() -> Iterator[pa.RecordBatch]:
        try:
            for file in files:
                for batch in parquet.ParquetFile(file).iter_batches(batch_size=rows):
                    yield from _typed(pa.Table.from_batches([batch]), expr).to_batches()
        finally:
            remove_scratch_folder(folder)

    return pa.RecordBatchReader.from_batches(expr.schema().to_pyarrow(), read())


def collected_in_pieces(con: Any, expr: Any, name: str, rows: int) -> pa.RecordBatchReader:
    """An expression's result collected in order, at most ``rows`` rows at a time (for a
    cluster's session, whose executors cannot write to a folder here).

    The result is computed once and cached as the temporary view ``name``, each row numbered
    by Spark (:data:`ROW_COLUMN`: its partition, then its place in the partition); the rows
    then come back to this process a range of numbers at a time (:func:`pieces`), each
    collected as Arrow. A sorted result is range-partitioned, so its numbers follow its order.
    Each piece is a Spark job over the whole cache (whose per-batch statistics skip the batches
    outside the range, once read): on a 2-CPU local session whose cache had spilled to disk, a
    piece of 200,000 ledger entries took about a minute, hence the local sessions' own path.
    The view is dropped (and uncached) when the last piece has been read, or at :func:`close`."""
    from pyspark.sql import functions

    session = _session()
    numbered = session.sql(str(con.compile(expr)))
    numbered = numbered.withColumn(ROW_COLUMN, functions.monotonically_increasing_id())
    numbered.createOrReplaceTempView(name)
    session.catalog.cacheTable(name)
    cached = session.table(name)
    partition = functions.shiftright(functions.col(ROW_COLUMN), PARTITION_SHIFT)
    counts = cached.groupBy(partition.alias("partition")).count().collect()
    ranges = pieces([(int(row[0]), int(row[1])) for row in counts], rows)

    def read() -> Iterator[pa.RecordBatch]:
        try:
            for first, last in ranges:
                number = functions.col(ROW_COLUMN)
                piece = cached.filter((number >= first) & (number < last)).drop(ROW_COLUMN)
                yield from _typed(piece.toArrow(), expr).to_batches(max_chunksize=rows)
        finally:
            session.catalog.dropTempView(name)

    return pa.RecordBatchReader.from_batches(expr.schema().to_pyarrow(), read())


def close(con: Any, names: list[str]) -> None:
    """Drop the temporary views tanlu registered; the session stays for the next use."""
    catalog = _session().catalog
    for name in names:
        catalog.dropTempView(name)

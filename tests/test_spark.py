"""Spark, the distributed engine, against DuckDB: the same Ibis expressions, the same results.

Spark runs here as a local session (``local[2]``, started as ``local[2,4]`` so that a failed
task is run again) started once for this module; ``make test``
installs pyspark (the ``spark`` extra) and a Java runtime. Every emission line is identical;
summed figures agree to 1e-12 relative, because DuckDB adds floats with a compensated sum and
Spark plainly, each in its own order (:func:`tanlu.engine.expressions.float_sum`).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from typer.testing import CliRunner

import tanlu
from tanlu import engine
from tanlu.app import use_engine
from tanlu.cli import app
from tanlu.ingest.inputs import load_inputs
from tanlu.project import EngineBackend, ProjectError

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "internet-company"
MASTER = "local[2]"


def close_enough(duck: Any, spark: Any, path: str = "") -> None:
    """Equal documents, floats to 1e-12 relative (the engines add up in their own ways)."""
    if isinstance(duck, dict):
        assert sorted(duck) == sorted(spark), path
        for key in duck:
            close_enough(duck[key], spark[key], f"{path}/{key}")
    elif isinstance(duck, list):
        assert len(duck) == len(spark), path
        for index, (left, right) in enumerate(zip(duck, spark, strict=True)):
            close_enough(left, right, f"{path}[{index}]")
    elif isinstance(duck, float) and isinstance(spark, float):
        assert spark == pytest.approx(duck, rel=1e-12, abs=1e-9), path
    else:
        assert duck == spark, path


@pytest.fixture(scope="module")
def example() -> tuple[tanlu.Project, Any]:
    project = tanlu.load_project(EXAMPLE)
    return project, load_inputs(project)


def test_a_table_goes_through_spark_with_dates_as_days() -> None:
    con = engine.connect("spark", MASTER)
    assert con.name == "pyspark"
    frame = pd.DataFrame(
        {"site": ["a", "b"], "day": pd.to_datetime(["2022-01-31", "2022-12-31"]), "mwh": [1.5, 2]}
    )
    table = engine.to_table(con, frame, "t")
    # 1.5 + 2 = 3.5 MWh, summed by Spark; 2022-01-31 to 2022-12-31 is 334 days
    total = table.aggregate(
        total=table.mwh.sum(), days=table.day.max().delta(table.day.min(), unit="day")
    )
    assert engine.to_pandas(total).to_dict("records") == [{"total": 3.5, "days": 334}]
    assert engine.to_pandas(table.order_by("site"))["day"].astype(str).tolist() == [
        "2022-01-31",
        "2022-12-31",
    ]
    engine.close(con)
    # the session stays for the next connection; tanlu's tables are gone
    again = engine.connect("spark", MASTER)
    assert "t" not in again.list_tables()
    engine.close(again)


@pytest.mark.parametrize(
    ("given", "started"),
    [
        ("local", "local[1,4]"),
        ("local[2]", "local[2,4]"),
        ("local[*]", "local[*,4]"),
        (" local[ 8 ] ", "local[8,4]"),
        ("local[2,1]", "local[2,1]"),  # a count of its own is kept
        ("spark://head:7077", "spark://head:7077"),
        ("yarn", "yarn"),
        ("local-cluster[2,1,1024]", "local-cluster[2,1,1024]"),
    ],
)
def test_a_local_master_is_started_with_task_retries(given: str, started: str) -> None:
    from tanlu.engine.spark import with_task_retries

    assert with_task_retries(given) == started


@pytest.mark.parametrize(
    ("master", "direct"),
    [("local[2,4]", True), ("local", True), ("local[*,4]", True), ("spark://head:7077", False)],
)
def test_a_local_session_sends_task_results_to_the_driver_directly(
    master: str, direct: bool
) -> None:
    from tanlu.engine.spark import SESSION_SETTINGS, session_settings

    settings = session_settings(master)
    assert settings.items() >= SESSION_SETTINGS.items()
    # up to 512 MiB a result, not through the block manager (whose fetch was lost under load)
    assert ("spark.task.maxDirectResultSize" in settings) is direct
    if direct:
        assert settings["spark.task.maxDirectResultSize"] == "512m"
        assert settings["spark.rpc.message.maxSize"] == "512"


def test_the_running_local_session_has_the_direct_results_settings() -> None:
    from pyspark.sql import SparkSession

    engine.close(engine.connect("spark", MASTER))
    conf = SparkSession.builder.getOrCreate().sparkContext.getConf()
    assert conf.get("spark.task.maxDirectResultSize") == "512m"
    assert conf.get("spark.rpc.message.maxSize") == "512"


def test_a_failed_task_is_run_again_in_a_local_session() -> None:
    from pyspark import TaskContext
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    engine.close(engine.connect("spark", MASTER))
    session = SparkSession.builder.getOrCreate()
    assert session.sparkContext.master == "local[2,4]"

    def fails_at_first(value: int) -> int:
        # the first attempt of every task fails, as a lost task result would
        context = TaskContext.get()
        assert context is not None
        if context.attemptNumber() == 0:
            raise RuntimeError("first attempt")
        return value + 1

    frame = session.range(0, 4, numPartitions=2).select(F.udf(fails_at_first, "long")("id"))
    # 0..3 each plus one, after every task ran twice
    assert sorted(row[0] for row in frame.collect()) == [1, 2, 3, 4]


def _unordered_trips(rows: int) -> pa.Table:
    """``rows`` trips in a scrambled order: users repeat, a tenth of the ids are missing."""
    order = np.random.default_rng(7).permutation(rows)
    start = pd.Timestamp("2025-05-01") + pd.to_timedelta(order % 500, unit="min")
    return pa.table(
        {
            "user": pa.array([f"u{i % 37:02d}" for i in order]),
            "start_time": pa.array(start, type=pa.timestamp("us")),
            "event_id": pa.array([None if i % 10 == 0 else f"e{i:05d}" for i in order]),
            "distance_km": pa.array(order / 10, type=pa.float64()),
        }
    )


def test_the_pieces_of_a_result_follow_its_partitions_and_their_rows() -> None:
    from tanlu.engine.spark import pieces

    # partition 1 holds 5 rows, partition 0 holds 3; at most 2 rows a piece. A row's number is
    # its partition times 2**33 plus its place: partition 1's rows are 8,589,934,592 onwards
    first = 2**33
    assert pieces([(1, 5), (0, 3)], 2) == [
        (0, 2),
        (2, 3),
        (first, first + 2),
        (first + 2, first + 4),
        (first + 4, first + 5),
    ]
    assert pieces([(0, 0)], 2) == [] and pieces([], 2) == []


def _expected_trips(trips: pa.Table) -> pa.Table:
    """The trips sorted by DuckDB (ids missing last), in its Arrow types."""
    duck = engine.connect("duckdb")
    expected = engine.to_arrow(
        engine.to_table(duck, trips, "trips").order_by(["user", "start_time", "event_id"])
    )
    engine.close(duck)
    assert expected.schema.field("start_time").type == pa.timestamp("us")
    return expected


def test_a_result_is_written_by_spark_and_read_back_in_order(tmp_path: Path) -> None:
    from pyspark.sql import SparkSession

    trips = _unordered_trips(5_000)
    con = engine.connect("spark", MASTER)
    session = SparkSession.builder.getOrCreate()
    # Spark would merge 5,000 small rows into one partition; here they stay in its 8
    session.conf.set("spark.sql.adaptive.coalescePartitions.enabled", "false")
    scratch = list(Path(tempfile.gettempdir()).glob("tanlu-spark-result-*"))
    try:
        ordered = engine.to_table(con, trips, "trips").order_by(["user", "start_time", "event_id"])
        reader = engine.arrow_batches(ordered, rows=300)
        written = list(Path(tempfile.gettempdir()).glob("tanlu-spark-result-*"))
        # the sort's 8 partitions, each a file Spark wrote, read back a batch at a time
        assert len(set(written) - set(scratch)) == 1
        files = sorted(set(written) - set(scratch))[0].glob("result/part-*.parquet")
        assert len(list(files)) == 8
        batches = list(reader)
    finally:
        session.conf.unset("spark.sql.adaptive.coalescePartitions.enabled")
    assert max(batch.num_rows for batch in batches) <= 300
    # row for row what DuckDB gives, in its order and Arrow types; the folder is gone
    assert pa.Table.from_batches(batches).equals(_expected_trips(trips))
    assert list(Path(tempfile.gettempdir()).glob("tanlu-spark-result-*")) == scratch
    # an empty result: no batch, the same columns
    empty = engine.arrow_batches(ordered.filter(ordered.distance_km < 0))
    assert empty.schema.equals(_expected_trips(trips).schema) and empty.read_all().num_rows == 0
    # a whole small result at once, collected as Arrow
    assert engine.to_arrow(ordered).equals(_expected_trips(trips))
    engine.close(con)


def test_on_a_cluster_a_result_comes_back_a_piece_at_a_time_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pyspark.sql import SparkSession

    from tanlu.engine import spark as spark_engine

    trips = _unordered_trips(5_000)
    con = engine.connect("spark", MASTER)
    session = SparkSession.builder.getOrCreate()
    session.conf.set("spark.sql.adaptive.coalescePartitions.enabled", "false")
    collected: list[int] = []
    frames = type(session.range(1))  # the session's own DataFrame class
    to_arrow = frames.toArrow

    def counted(frame: Any) -> pa.Table:
        table = to_arrow(frame)
        collected.append(table.num_rows)
        return table

    partitions: list[list[tuple[int, int]]] = []
    pieces = spark_engine.pieces

    def seen(partition_rows: list[tuple[int, int]], rows: int) -> list[tuple[int, int]]:
        partitions.append(partition_rows)
        return pieces(partition_rows, rows)

    # executors elsewhere: the result cannot be written to a folder here
    monkeypatch.setattr(spark_engine, "runs_locally", lambda session: False)
    monkeypatch.setattr(frames, "toArrow", counted)
    monkeypatch.setattr(spark_engine, "pieces", seen)
    try:
        ordered = engine.to_table(con, trips, "trips").order_by(["user", "start_time", "event_id"])
        batches = list(engine.arrow_batches(ordered, rows=300))
    finally:
        session.conf.unset("spark.sql.adaptive.coalescePartitions.enabled")
    # the sort's 8 partitions of about 625 rows, each collected in pieces of at most 300 rows:
    # never the whole result, nor a whole partition, at once
    assert len(partitions[0]) == 8 and sum(n for _, n in partitions[0]) == 5_000
    assert sum(collected) == 5_000 and max(collected) <= 300
    assert len(collected) == sum(-(-n // 300) for _, n in partitions[0]) >= 17
    assert max(batch.num_rows for batch in batches) <= 300
    assert pa.Table.from_batches(batches).equals(_expected_trips(trips))
    # what was kept while it was read is gone: no view, nothing cached
    assert not [t for t in session.catalog.listTables() if t.name.startswith("tanlu_result")]
    assert session._jsparkSession.sharedState().cacheManager().isEmpty()
    engine.close(con)


def test_only_a_local_session_writes_results_here() -> None:
    from tanlu.engine.spark import runs_locally

    class Context:
        def __init__(self, master: str) -> None:
            self.master = master

    class Session:
        def __init__(self, master: str) -> None:
            self.sparkContext = Context(master)

    for master, local in [("local[2,4]", True), ("local", True), ("spark://head:7077", False)]:
        assert runs_locally(Session(master)) is local
    assert not runs_locally(Session("yarn"))


def test_the_example_inventory_is_the_same_on_spark(example: tuple[tanlu.Project, Any]) -> None:
    project, inputs = example
    duck = tanlu.calculate_inventory(project, 2022, inputs)
    on_spark = use_engine(project, EngineBackend.SPARK, MASTER)
    assert on_spark.config.engine.backend == EngineBackend.SPARK
    spark = tanlu.calculate_inventory(on_spark, 2022, inputs)
    # the rows were checked on DuckDB: they moved to Spark once, for every later inventory
    moved = inputs.activities.on("spark", MASTER)
    assert engine.backend_name(moved.con) == "spark" and moved.rows == inputs.activities.rows
    assert inputs.activities.on("spark") is moved
    # every emission line identical, to the last digit, in the same order
    pd.testing.assert_frame_equal(duck.lines, spark.lines, check_exact=True)
    assert len(spark.lines) == len(duck.lines) > 0
    close_enough(duck.to_dict(), spark.to_dict())


def test_engine_is_chosen_in_tanlu_toml_or_on_the_command_line(
    example: tuple[tanlu.Project, Any], tmp_path: Path
) -> None:
    # [engine] in tanlu.toml
    text = (EXAMPLE / "tanlu.toml").read_text(encoding="utf-8")
    (tmp_path / "tanlu.toml").write_text(
        text + f'\n[engine]\nbackend = "spark"\nspark_master = "{MASTER}"\n', encoding="utf-8"
    )
    for folder in ("data", "factors"):
        (tmp_path / folder).symlink_to(EXAMPLE / folder)
    configured = tanlu.load_project(tmp_path)
    assert configured.config.engine.backend == EngineBackend.SPARK
    assert configured.config.engine.spark_master == MASTER
    # --engine overrides it, both ways
    runner = CliRunner()
    by_spark = runner.invoke(app, ["inventory", str(tmp_path), "--year", "2022", "--json"])
    by_duckdb = runner.invoke(
        app, ["inventory", str(tmp_path), "--year", "2022", "--json", "--engine", "duckdb"]
    )
    assert by_spark.exit_code == 0 and by_duckdb.exit_code == 0, by_spark.output
    close_enough(json.loads(by_duckdb.stdout), json.loads(by_spark.stdout))
    bad = (tmp_path / "tanlu.toml").read_text(encoding="utf-8").replace('"spark"', '"flink"')
    (tmp_path / "tanlu.toml").write_text(bad, encoding="utf-8")
    with pytest.raises(ProjectError, match=r"engine\.backend"):
        tanlu.load_project(tmp_path)
    refused = runner.invoke(app, ["inventory", str(EXAMPLE), "--year", "2022", "--engine", "x"])
    assert refused.exit_code == 2 and "'x' is not one of" in refused.output


def test_a_million_rows_give_the_same_inventory_on_spark(tmp_path: Path) -> None:
    from benchmarks import command

    # the seeded project of the command benchmark: 1,000,000 rows at 2,000 sites
    generated = command.ensure_project(
        1_000_000, 2_000, 2021, "parquet", tmp_path, log=lambda _: None
    )
    project = tanlu.load_project(generated.root)
    inputs = load_inputs(project)
    duck = tanlu.calculate_inventory(project, 2021, inputs, check_base_year=False)
    # the whole pipeline on Spark: the checks, and the inventory on the rows they leave there
    on_spark = use_engine(project, EngineBackend.SPARK, MASTER)
    spark = tanlu.calculate_inventory(on_spark, 2021, load_inputs(on_spark), check_base_year=False)
    lines = duck.lines
    # every kind of row is in it: periods split at the year's end, leased assets re-scoped,
    # sites bought or sold in the year, instruments, factor fallbacks
    assert len(lines) > 1_000_000
    assert (lines["share_in_year"] < 1).any()
    assert (lines["category"] == "cat8_upstream_leased_assets").any()
    assert project.sites["owned_from"].notna().any() and project.sites["owned_until"].notna().any()
    assert len(inputs.instruments) > 0 and not duck.scope2_market.allocations.empty
    assert not duck.fallbacks.empty
    # the same lines to the last digit, except the leased electricity that instruments cover:
    # those are scaled by market / location tCO2e, a ratio of sums that each engine adds its
    # own way (DuckDB's compensated sum, Spark's plain one), so they agree to 1e-12; the same
    # totals and summaries to 1e-12
    scaled = lines["instrument_scale"] != 1.0
    assert scaled.any()
    pd.testing.assert_frame_equal(lines.loc[~scaled], spark.lines.loc[~scaled], check_exact=True)
    pd.testing.assert_frame_equal(lines.loc[scaled], spark.lines.loc[scaled], rtol=1e-12)
    close_enough(duck.to_dict(), spark.to_dict())
    # the line summary holds every line once
    assert duck.line_summary["line_count"].sum() == len(lines) == spark.emission_lines.count

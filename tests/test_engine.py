"""The engine's one entry point: connect() to a named backend, tables in and out through Arrow."""

from __future__ import annotations

import datetime

import pandas as pd
import pytest

from tanlu import engine


def test_connect_opens_duckdb_by_default() -> None:
    assert engine.DEFAULT_BACKEND == "duckdb"
    assert engine.connect().name == "duckdb"
    assert engine.connect("duckdb").name == "duckdb"


def test_an_unknown_backend_is_named() -> None:
    with pytest.raises(
        engine.EngineError, match="engine backend 'flink' is not one of duckdb, spark"
    ):
        engine.connect("flink")


def test_a_table_goes_in_and_comes_back_with_dates_as_days() -> None:
    con = engine.connect()
    frame = pd.DataFrame(
        {"site": ["a", "b"], "day": pd.to_datetime(["2022-01-31", "2022-12-31"]), "mwh": [1.5, 2]}
    )
    table = engine.to_table(con, frame, "t")
    # 1.5 + 2 = 3.5 MWh, summed by the backend
    assert engine.to_pandas(table.aggregate(total=table.mwh.sum()))["total"].tolist() == [3.5]
    back = engine.to_pandas(table)
    assert back["site"].tolist() == ["a", "b"]
    assert back["day"].tolist() == [datetime.date(2022, 1, 31), datetime.date(2022, 12, 31)]


def test_spark_without_pyspark_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    missing = replace(engine.BACKENDS["spark"], installed=lambda: False)
    monkeypatch.setitem(engine.BACKENDS, "spark", missing)
    with pytest.raises(engine.EngineError, match=r"pip install 'tanlu\[spark\]'"):
        engine.connect("spark")

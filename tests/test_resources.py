"""Long imports and short machines: the row count behind the progress bar, and one clear
message when memory or disk runs out (which file, how far it got, nothing half-written)."""

from __future__ import annotations

import errno
import io
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from rich.console import Console
from rich.progress import Progress

import tanlu
from tanlu.cli import _RowBar
from tanlu.ingest import activities as activities_module
from tanlu.ingest import inputs as inputs_module
from tanlu.ingest.inputs import count_project_rows, load_inputs
from tanlu.ingest.readers import count_activity_rows
from tanlu.output import write_files

from .conftest import ACTIVITY_HEADER, BASIC_TOML, MakeProject

ROWS = (
    "gz,2022-01-01,2022-12-31,electricity,1000,MWh\n"
    "\n"  # a blank line: counted (the count is for a progress bar), skipped when read
    "bj,2022-01-01,2022-12-31,electricity,2000,MWh\n"
)


def test_rows_are_counted_before_reading(tmp_path: Path) -> None:
    with_end = tmp_path / "a.csv"
    with_end.write_text(ACTIVITY_HEADER + ROWS, encoding="utf-8")
    without_end = tmp_path / "b.csv"
    without_end.write_text(ACTIVITY_HEADER + ROWS.rstrip("\n"), encoding="utf-8")
    # 4 lines after the header: 3 rows and 1 blank line, with or without the last line break
    assert count_activity_rows(with_end) == 3
    assert count_activity_rows(without_end) == 3
    header_only = tmp_path / "c.csv"
    header_only.write_text(ACTIVITY_HEADER, encoding="utf-8")
    assert count_activity_rows(header_only) == 0
    parquet = tmp_path / "d.parquet"
    pd.DataFrame({"site": ["gz"] * 7, "quantity": range(7)}).to_parquet(parquet)
    assert count_activity_rows(parquet) == 7  # from the file's metadata
    assert count_activity_rows(tmp_path / "e.xlsx") is None
    broken = tmp_path / "f.parquet"
    broken.write_bytes(b"not parquet")
    assert count_activity_rows(broken) is None  # the reader names the bad file later


def test_the_progress_bar_learns_its_total(make_project: MakeProject) -> None:
    project = tanlu.load_project(make_project(ROWS))
    assert count_project_rows(project) == 3
    progress = Progress(console=Console(file=io.StringIO(), force_terminal=True))
    bar = _RowBar(progress, progress.add_task("read", total=None))
    bar.expect(project)
    bar(2)
    task = progress.tasks[0]
    assert (task.total, task.completed) == (3, 2)


@pytest.mark.parametrize("reader", ["whole", "in chunks"])
def test_running_out_of_memory_names_the_file_and_the_rows_read(
    make_project: MakeProject, monkeypatch: pytest.MonkeyPatch, reader: str
) -> None:
    # a CSV file is read whole on Spark, in chunks into DuckDB (the default)
    toml = BASIC_TOML + ('\n[engine]\nbackend = "spark"\n' if reader == "whole" else "")
    project = tanlu.load_project(make_project(ROWS, toml=toml))

    def short_of_memory(path: Path, display: str, progress: Any, *more: Any) -> Any:
        progress(1234)  # rows read before the memory ran out
        raise MemoryError
        yield  # a generator, as the chunked reader is

    if reader == "whole":
        monkeypatch.setattr(inputs_module, "read_activity_table", short_of_memory)
    else:
        monkeypatch.setattr(activities_module, "csv_activity_chunks", short_of_memory)
    with pytest.raises(tanlu.ResourceError) as raised:
        load_inputs(project)
    message = str(raised.value)
    assert "activities.csv: out of memory after reading 1,234 activity rows" in message
    assert "nothing was computed or written" in message


def test_a_full_disk_leaves_nothing_half_written(tmp_path: Path) -> None:
    destination = tmp_path / "results"
    destination.mkdir()
    (destination / "kept.txt").write_text("an older file", encoding="utf-8")

    def full(path: Path) -> None:
        path.write_text("half", encoding="utf-8")
        raise OSError(errno.ENOSPC, "No space left on device")

    files = {
        "a.json": lambda path: path.write_text("{}", encoding="utf-8"),
        "b.csv": full,
        "c.csv": lambda path: path.write_text("x", encoding="utf-8"),
    }
    with pytest.raises(tanlu.ResourceError) as raised:
        write_files(destination, files)
    assert str(raised.value) == (
        f"{destination.resolve()}: no space left on the device while writing b.csv (files "
        "finished before it: a.json); nothing was written. Free some space and run again"
    )
    # the staging folder is gone and nothing new is in place; the older file is untouched
    assert [p.name for p in destination.iterdir()] == ["kept.txt"]
    # any other error goes through as it is
    with pytest.raises(PermissionError):
        write_files(destination, {"d.csv": lambda path: (_ for _ in ()).throw(PermissionError())})


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_validate_lists_a_few_of_each_kind_and_writes_them_all(
    make_project: MakeProject, tmp_path: Path, suffix: str
) -> None:
    from typer.testing import CliRunner

    from tanlu.cli import app

    # 45 negative quantities (lines 2-46) and 25 unknown units (lines 47-71)
    negative = "gz,2022-01-01,2022-01-31,electricity,-1,MWh\n" * 45
    unknown = "gz,2022-01-01,2022-01-31,electricity,1,furlongs\n" * 25
    root = make_project(negative + unknown)
    errors = tmp_path / "out" / f"errors{suffix}"
    runner = CliRunner()
    result = runner.invoke(app, ["validate", str(root), "--errors-out", str(errors)])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    # 20 of each kind, then the count of the rest of each kind, then the total
    assert sum("column 'quantity'" in line for line in lines) == 20 + 1
    assert sum("column 'unit'" in line for line in lines) == 20 + 1
    assert f"... and 25 more problems in column 'quantity' (all are in {errors.resolve()})" in lines
    assert f"... and 5 more problems in column 'unit' (all are in {errors.resolve()})" in lines
    assert lines[-1] == "70 problem(s) found; fix them and run again."
    table = pd.read_parquet(errors) if suffix == ".parquet" else pd.read_csv(errors)
    assert list(table.columns) == ["file", "sheet", "line", "column", "reason"]
    assert len(table) == 70
    assert table["column"].value_counts().to_dict() == {"quantity": 45, "unit": 25}
    assert sorted(table["line"]) == list(range(2, 72))
    # without --errors-out the listing says how to get them all
    plain = runner.invoke(app, ["validate", str(root)])
    assert "(--errors-out FILE lists them all)" in plain.stderr


def test_validate_writes_no_errors_file_for_a_valid_project(
    make_project: MakeProject, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from tanlu.cli import app

    errors = tmp_path / "errors.csv"
    result = CliRunner().invoke(
        app, ["validate", str(make_project(ROWS)), "--errors-out", str(errors)]
    )
    assert result.exit_code == 0, result.output
    assert not errors.exists()


# Seven lines of rows (a blank one among them), read two lines at a time below.
STREAMED = (
    "gz,2022-01-01,2022-01-31,electricity,100,MWh\n"
    "gz,2022-02-01,2022-02-28,electricity,200,MWh\n"
    "\n"
    "bj,2022-01-01,2022-06-30,electricity,300,kWh\n"
    "bj,2022-07-01,2022-12-31,electricity,400,kWh\n"
    "gz,2022-03-01,2022-03-31,natural_gas_stationary,5,m3\n"
    "bj,2022-01-01,2022-12-31,diesel_stationary,1,t\n"
)


def test_a_csv_file_read_in_chunks_gives_the_rows_of_a_file_read_whole(
    make_project: MakeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tanlu.load_project(make_project(STREAMED))
    whole = load_inputs(project).activities.frame()
    lines_read: list[int] = []
    monkeypatch.setattr(activities_module, "CSV_STREAM_ROWS", 2)
    chunked = load_inputs(project, progress=lines_read.append).activities.frame()
    pd.testing.assert_frame_equal(chunked, whole)
    # 7 lines in chunks of 2: 2 + 2 + 2 + 1 (the blank line counted, its row dropped)
    assert lines_read == [2, 2, 2, 1]
    assert list(chunked["source_line"]) == [2, 3, 5, 6, 7, 8]
    assert list(chunked["row_id"]) == [0, 1, 2, 3, 4, 5]


def test_bad_rows_in_a_later_chunk_name_their_lines(
    make_project: MakeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = STREAMED.replace("400,kWh", "-400,kWh").replace("5,m3", "5,furlongs")
    project = tanlu.load_project(make_project(bad))
    monkeypatch.setattr(activities_module, "CSV_STREAM_ROWS", 2)
    with pytest.raises(tanlu.InputError) as raised:
        load_inputs(project)
    found = [(i.line, i.column) for i in raised.value.issues]
    assert found == [(6, "quantity"), (7, "unit")]


def test_a_csv_file_that_breaks_in_a_later_chunk_is_one_problem(
    make_project: MakeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    # line 7 has a field too many: pandas stops there, after the first chunks went in
    broken = STREAMED.replace("5,m3", "5,m3,extra,fields")
    root = make_project(
        broken,
        files={
            "data/activities_other.csv": ACTIVITY_HEADER
            + "gz,2022-01-01,2022-01-31,electricity,-1,MWh\n"
        },
    )
    monkeypatch.setattr(activities_module, "CSV_STREAM_ROWS", 2)
    with pytest.raises(tanlu.InputError) as raised:
        load_inputs(tanlu.load_project(root))
    issues = raised.value.issues
    # the broken file is one problem, and the other file's rows are still checked
    assert [(i.file, i.line, i.column) for i in issues] == [
        ("project/data/activities.csv", None, None),
        ("project/data/activities_other.csv", 2, "quantity"),
    ]
    assert issues[0].reason.startswith("not valid CSV: Error tokenizing data")


def test_duckdb_running_out_of_memory_while_a_csv_file_goes_in(
    make_project: MakeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    import duckdb

    def full(con: Any, table: Any, name: str) -> None:
        raise duckdb.OutOfMemoryException("could not allocate block of size 256.0 KiB")

    monkeypatch.setattr(activities_module, "CSV_STREAM_ROWS", 2)
    monkeypatch.setattr(activities_module.duckdb_engine, "append", full)
    with pytest.raises(tanlu.ResourceError) as raised:
        load_inputs(tanlu.load_project(make_project(STREAMED)))
    message = str(raised.value)
    # the first chunk (2 lines) went in; the second (2 more) did not fit
    assert "activities.csv: DuckDB ran out of memory after reading 4 activity rows" in message
    assert "nothing was computed or written" in message and "memory_limit_gib" in message

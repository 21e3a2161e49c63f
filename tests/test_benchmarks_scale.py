"""The scale sweep (benchmarks/scale.py) and what it stands on in benchmarks/command.py: the
chunked generation of the activity file, the engine of the timed command, the memory of the
child's whole session, the merged JSON, the chart and the table. Sizes are tiny: the sweep itself
is for ``python -m benchmarks --only scale``."""

from __future__ import annotations

import json
import math
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from benchmarks import command, scale, synthetic
from benchmarks.__main__ import main, parse_args

import tanlu
from tanlu.app.validate import validate_project
from tanlu.factors import load_factor_library

YEAR = 2021
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def library() -> Any:
    return load_factor_library()


def chunks_frame(rows: int, chunk_rows: int, library: Any, n_sites: int = 50) -> pd.DataFrame:
    sites, _ = command.make_sites_and_instruments(n_sites, YEAR)
    chunks = list(command.make_activity_chunks(rows, sites, library, YEAR, chunk_rows))
    assert [c.num_rows for c in chunks[:-1]] == [chunk_rows] * (len(chunks) - 1)
    return pa.concat_tables(chunks).to_pandas()


# ---------------------------------------------------------------------------------------------
# Generation in chunks


def test_chunks_give_the_rows_asked_for_deterministically(library: Any) -> None:
    # 1,000 rows in chunks of 120 (10 series): 8 full chunks and one of 1,000 - 8 x 120 = 40
    sites, _ = command.make_sites_and_instruments(50, YEAR)
    chunks = list(command.make_activity_chunks(1_000, sites, library, YEAR, chunk_rows=120))
    assert [c.num_rows for c in chunks] == [120] * 8 + [40]
    assert chunks[0].column_names == [*command.ACTIVITY_COLUMNS, "meter"]
    first = pa.concat_tables(chunks).to_pandas()
    again = chunks_frame(1_000, 120, library)
    pd.testing.assert_frame_equal(first, again, check_exact=True)

    # one meter per twelve-month series, numbered across chunks: row 120 opens series 10
    assert first.loc[0, "meter"] == "M0000000" and first.loc[120, "meter"] == "M0000010"
    assert first["meter"].nunique() == math.ceil(1_000 / 12) == 84
    series = first.groupby("meter", sort=True)
    assert series.size().max() == 12 and series.size().iloc[-1] == 1_000 - 83 * 12  # 4
    months = first["period_start"].dt.month - 1
    assert (months.to_numpy() == (first.index.to_numpy() % 12)).all()
    assert (series["site"].nunique() == 1).all() and (series["activity"].nunique() == 1).all()

    # a chunk depends on its index, not on how many rows follow it
    shorter = chunks_frame(600, 120, library)
    pd.testing.assert_frame_equal(shorter, first.iloc[:600], check_exact=True)
    # another chunking draws other rows
    other = chunks_frame(1_000, 240, library)
    assert not other["quantity"].equals(first["quantity"])

    # the first chunk's first series take every (activity, unit) of the mix in turn (18 series:
    # in chunks of 240 rows, 20 series, all in the first), the rest are drawn from the mix
    firsts = other.iloc[: 12 * len(synthetic.ACTIVITY_MIX) : 12]
    assert list(zip(firsts["activity"].astype(str), firsts["unit"].astype(str), strict=True)) == [
        (activity, unit) for activity, unit, _, _ in synthetic.ACTIVITY_MIX
    ]


def test_a_chunk_holds_whole_series(library: Any) -> None:
    sites, _ = command.make_sites_and_instruments(10, YEAR)
    with pytest.raises(ValueError, match=r"chunk_rows must be a positive multiple of 12.*not 100"):
        next(command.make_activity_chunks(1_000, sites, library, YEAR, chunk_rows=100))


def test_the_files_stream_chunk_by_chunk_and_validate(tmp_path: Path, library: Any) -> None:
    projects = {
        file_format: command.ensure_project(
            1_000, 50, YEAR, file_format, tmp_path, library, log=lambda _: None, chunk_rows=120
        )
        for file_format in command.FORMATS
    }
    parquet, csv = projects["parquet"], projects["csv"]
    assert parquet.root.name.endswith("seed20261124c120_parquet")
    # one row group per chunk; the same bytes when written again elsewhere
    assert pq.ParquetFile(parquet.activity_file).metadata.num_row_groups == 9
    again = command.ensure_project(
        1_000, 50, YEAR, "parquet", tmp_path / "again", library, lambda _: None, 120
    )
    assert again.activity_file.read_bytes() == parquet.activity_file.read_bytes()

    # the CSV file holds the same rows: a header, plain dates, no quotes
    lines = csv.activity_file.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "site,period_start,period_end,activity,quantity,unit,meter"
    assert len(lines) == 1 + 1_000 and '"' not in csv.activity_file.read_text(encoding="utf-8")
    _, start, _, activity, _, unit, meter = lines[1].split(",")
    assert (activity, unit, meter) == ("electricity", "kWh", "M0000000")
    assert start in (f"{YEAR}-01-01", f"{YEAR}-01-15")
    from_csv = pd.read_csv(csv.activity_file, parse_dates=["period_start", "period_end"])
    from_parquet = pd.read_parquet(parquet.activity_file)
    for column in ("site", "activity", "unit"):
        from_parquet[column] = from_parquet[column].astype(str)
    pd.testing.assert_frame_equal(from_csv, from_parquet, check_dtype=False)

    # periods of one meter never overlap across the chunks' seams: the project validates
    checked = validate_project(csv.root)
    assert checked.valid, checked.issues[:3]
    assert (checked.activity_rows, checked.sites) == (1_000, 50)


def test_the_engine_memory_is_set_and_removed_in_the_projects_toml(
    tmp_path: Path, library: Any
) -> None:
    project = command.ensure_project(
        200, 10, YEAR, "parquet", tmp_path, library, log=lambda _: None, chunk_rows=120
    )
    toml = project.root / "tanlu.toml"
    original = toml.read_text(encoding="utf-8")
    command.set_engine_memory(project.root, 1.5)
    command.set_engine_memory(project.root, 0.5)  # replaces, never adds a second [engine]
    text = toml.read_text(encoding="utf-8")
    assert text.count("[engine]") == 1 and text.endswith("memory_limit_gib = 0.5\n")
    loaded = tanlu.load_project(project.root)
    assert loaded.config.engine.memory_limit_gib == 0.5
    command.set_engine_memory(project.root, None)
    assert toml.read_text(encoding="utf-8") == original


def test_a_failed_write_leaves_no_folder(tmp_path: Path, library: Any) -> None:
    root = tmp_path / "project"
    with pytest.raises(ValueError, match="a project needs rows and sites, not 0 rows"):
        command.write_project(root, 0, 10, YEAR, "csv", library)
    with pytest.raises(ValueError, match="chunk_rows must be a positive multiple"):
        command.write_project(root, 100, 10, YEAR, "csv", library, chunk_rows=13)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------
# The command: its engine, its memory


def test_the_engine_chooses_the_command() -> None:
    project = command.CommandProject(Path("/p"), 10, 1, YEAR, "parquet")
    plain = command.inventory_command(project)
    assert plain[1:] == ["-m", "tanlu.cli", "inventory", "/p", "--year", "2021", "--json"]
    assert command.inventory_command(project, "duckdb") == plain
    assert command.inventory_command(project, "spark") == [*plain, "--engine", "spark"]
    with pytest.raises(ValueError, match="engine 'flink' is not one of duckdb, spark"):
        command.inventory_command(project, "flink")


def test_the_session_memory_counts_a_process_the_child_started() -> None:
    # the child starts a process that holds 200 MiB and exits before it without waiting for it
    # (as Spark's JVM is not waited for): the child's own ru_maxrss misses it, the session's
    # sampled sum does not; the other process ends by itself a second later
    holder = "import time; x = b'1' * (200 * 2**20); time.sleep(2.5)"
    child = (
        "import os, subprocess, sys, time; "
        f"subprocess.Popen([sys.executable, '-c', {holder!r}]); time.sleep(1.5); os._exit(0)"
    )
    run = command.run_command([sys.executable, "-c", child])
    assert run.peak_rss_mib < 100
    assert run.peak_session_rss_mib >= 200


def test_the_peak_memory_is_the_commands_not_the_benchmarks() -> None:
    # this process holds 300 MiB more; a process forked from it would report that as its peak
    held = b"1" * (300 * 2**20)
    run = command.run_command([sys.executable, "-c", "pass"])
    assert len(held) == 300 * 2**20 and 0 < run.peak_rss_mib < 100
    assert 0 < run.wall_s < 30


def test_a_killed_command_fails_with_its_signal() -> None:
    argv = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"]
    with pytest.raises(RuntimeError, match=r"exited with -15"):
        command.run_command(argv)
    with pytest.raises(RuntimeError, match=r"exited with 127:\n/no/such/program: "):
        command.run_command(["/no/such/program"])


def test_a_run_over_the_memory_limit_is_stopped() -> None:
    argv = [sys.executable, "-c", "import time; x = b'1' * (300 * 2**20); time.sleep(30)"]
    with pytest.raises(RuntimeError, match=r"killed after \d+ s: .* over the limit of 100 MiB"):
        command.run_command(argv, memory_limit_mib=100)


# ---------------------------------------------------------------------------------------------
# The sweep


def test_the_default_cases_are_the_issues() -> None:
    cases = scale.plan_cases()
    duckdb = [c for c in cases if c.engine == "duckdb"]
    # 3 sizes x 2 site counts x 2 formats on DuckDB, and 10 M Parquet rows on Spark
    assert len(duckdb) == 12
    assert {(c.rows, c.sites, c.file_format) for c in duckdb} == {
        (rows, sites, file_format)
        for rows in (1_000_000, 10_000_000, 100_000_000)
        for sites in (10_000, 100_000)
        for file_format in ("parquet", "csv")
    }
    assert [c for c in cases if c.engine == "spark"] == [
        scale.ScaleCase("spark", "parquet", 10_000_000, 10_000),
        scale.ScaleCase("spark", "parquet", 10_000_000, 100_000),
    ]
    chosen = scale.plan_cases(rows=[2_000], engines=["duckdb", "spark"], formats=["csv"])
    assert [c.key for c in chosen] == [
        ("duckdb", "csv", 2_000, 10_000),
        ("duckdb", "csv", 2_000, 100_000),
        ("spark", "csv", 2_000, 10_000),
        ("spark", "csv", 2_000, 100_000),
    ]
    with pytest.raises(ValueError, match="engine 'flink' is not one of duckdb, spark"):
        scale.plan_cases(engines=["flink"])


def test_the_options_of_the_sweep() -> None:
    sizes = ["--scale-rows", "1000000,10_000_000", "--scale-sites", "10000"]
    args = parse_args(
        ["--only", "scale", *sizes, "--scale-engines", "duckdb,spark", "--format", "parquet", "csv"]
    )
    assert args.scale_rows == [1_000_000, 10_000_000] and args.scale_sites == [10_000]
    assert args.scale_engines == ["duckdb", "spark"] and args.format == ["parquet", "csv"]
    assert parse_args(["--format", "csv", "--format", "parquet"]).format == ["csv", "parquet"]
    assert parse_args([]).scale_duckdb_memory_gib is None
    assert parse_args(["--scale-duckdb-memory-gib", "6"]).scale_duckdb_memory_gib == 6.0
    for bad in (["--scale-engines", "flink"], ["--scale-rows", "ten"], ["--scale-rows", "0"]):
        with pytest.raises(SystemExit):
            parse_args(["--only", "scale", *bad])


def test_the_help_names_the_sweeps_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_args(["--help"])
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    assert "--scale-memory-limit-gib" in shown and "80% of this machine's memory" in shown


def test_a_tiny_sweep_runs_end_to_end(tmp_path: Path) -> None:
    results = tmp_path / "scale.json"
    cases = scale.plan_cases(rows=[2_000], sites=[50], engines=["duckdb"])
    assert [c.file_format for c in cases] == ["parquet", "csv"]
    messages: list[str] = []
    records = scale.sweep(
        cases, messages.append, repeat=1, data_dir=tmp_path / "data", results=results
    )
    assert [r["status"] for r in records] == ["ok", "ok"]
    assert [r["duckdb_memory_limit_gib"] for r in records] == [None, None]
    document = json.loads(results.read_text(encoding="utf-8"))
    assert [scale.record_key(r) for r in document["cases"]] == [
        ("duckdb", "parquet", 2_000, 50),
        ("duckdb", "csv", 2_000, 50),
    ]
    for record in document["cases"]:
        assert record["wall_s"] > 0 and len(record["runs"]) == 1 and record["repeat"] == 1
        assert record["rows_per_s"] == pytest.approx(2_000 / record["wall_s"], rel=1e-12)
        assert record["peak_session_rss_mib"] >= record["peak_rss_mib"] > 0
        assert record["tanlu_commit"] and record["date"]
    assert any(m.startswith("case 2/2: duckdb csv, 2,000 rows, 50 sites") for m in messages)

    # a later run of one case keeps the other
    again = scale.sweep(cases[1:], lambda _: None, repeat=1, data_dir=tmp_path / "data",
                        results=results)  # fmt: skip
    merged = scale.read_results(results)["cases"]
    assert len(merged) == 2 and merged[1]["wall_s"] == again[0]["wall_s"]
    assert merged[0] == document["cases"][0]

    # the chart and the table from the JSON
    doc = tmp_path / "performance.md"
    doc.write_text(f"# P\n\n{scale.TABLE_BEGIN}\nold\n{scale.TABLE_END}\n\nafter\n", "utf-8")
    scale.write_outputs(results, tmp_path / "img" / "scale.svg", doc)
    text = doc.read_text(encoding="utf-8")
    assert "old" not in text and text.endswith(f"{scale.TABLE_END}\n\nafter\n")
    assert "| duckdb | parquet | 2,000 | 50 |" in text and "| duckdb | csv | 2,000 | 50 |" in text
    root = ET.fromstring((tmp_path / "img" / "scale.svg").read_text(encoding="utf-8"))
    assert {g.get("data-series") for g in root.iter(f"{SVG}g") if g.get("class") == "series"} == {
        "duckdb parquet, 50 sites",
        "duckdb csv, 50 sites",
    }


def test_a_failed_case_is_recorded_not_raised(tmp_path: Path, library: Any) -> None:
    results = tmp_path / "scale.json"
    data = tmp_path / "data"
    broken = command.ensure_project(2_000, 50, YEAR, "csv", data, library, lambda _: None)
    broken.activity_file.write_text("site,quantity\nS00000,1\n", encoding="utf-8")
    messages: list[str] = []
    records = scale.sweep(
        [scale.ScaleCase("duckdb", "csv", 2_000, 50)],
        messages.append,
        repeat=1,
        data_dir=data,
        results=results,
    )
    assert records[0]["status"] == "failed"
    assert "exited with" in records[0]["error"] and "activities.csv" in records[0]["error"]
    assert any(m.startswith("skipped duckdb csv, 2,000 rows, 50 sites: failed:") for m in messages)

    # a run over the memory limit: stopped, recorded, and the sweep goes on to the next case
    records = scale.sweep(
        [scale.ScaleCase("duckdb", "parquet", 2_000, 50), scale.ScaleCase("duckdb", "csv", 12, 1)],
        lambda _: None,
        repeat=1,
        data_dir=data,
        results=results,
        memory_limit_mib=1,
    )
    assert [r["status"] for r in records] == ["failed", "failed"]
    assert "over the limit of 1 MiB" in records[0]["error"]
    cases = scale.read_results(results)["cases"]
    assert [(scale.record_key(r), r["status"]) for r in cases] == [
        (("duckdb", "parquet", 2_000, 50), "failed"),
        (("duckdb", "csv", 12, 1), "failed"),
        (("duckdb", "csv", 2_000, 50), "failed"),
    ]
    table = scale.render_table(cases)
    assert "| duckdb | csv | 2,000 | 50 | register | | failed: " in table
    root = ET.fromstring(scale.render_chart(cases))
    notes = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "failed"]
    assert "failed, not drawn: duckdb csv, 2,000 rows, 50 sites" in notes


# ---------------------------------------------------------------------------------------------
# The chart and the table


def measured(engine: str, file_format: str, rows: int, sites: int, wall_s: float, gib: float):
    return {
        "status": "ok",
        "engine": engine,
        "format": file_format,
        "rows": rows,
        "sites": sites,
        "wall_s": wall_s,
        "rows_per_s": rows / wall_s,
        "peak_rss_mib": gib * 1024,
        "peak_session_rss_mib": gib * 1024,
        "file_mib": rows / 100_000,
        "runs": [{}, {}, {}],
        "date": "2026-12-04",
        "tanlu_commit": "abc1234",
    }


CASES = [
    measured("duckdb", "parquet", 1_000_000, 10_000, 10.0, 0.5),
    measured("duckdb", "parquet", 10_000_000, 10_000, 100.0, 5.0),
    measured("duckdb", "csv", 1_000_000, 100_000, 20.0, 0.6),
    measured("spark", "parquet", 10_000_000, 10_000, 200.0, 20.0),
    {"status": "failed", "engine": "duckdb", "format": "csv", "rows": 100_000_000,
     "sites": 100_000, "error": "x exited with -9:\nKilled", "date": "2026-12-04"},
]  # fmt: skip


def test_the_chart_draws_each_series_on_log_log_axes() -> None:
    root = ET.fromstring(scale.render_chart(CASES))
    assert root.get("data-chart") == "scale" and root.find(f"{SVG}title") is not None
    groups = [g for g in root.iter(f"{SVG}g") if g.get("class") == "series"]
    labels = {g.get("data-series") for g in groups}
    assert labels == {
        "duckdb parquet, 10,000 sites",
        "duckdb csv, 100,000 sites",
        "spark parquet, 10,000 sites",
    }
    assert sorted(g.get("data-panel") for g in groups) == ["memory"] * 3 + ["time"] * 3
    texts = [t.text for t in root.iter(f"{SVG}text")]
    for label in ("wall time [s]", "peak resident memory [GiB]", "activity rows"):
        assert label in texts
    assert {"1M", "10M", "100M", "1", "10", "100", "1,000", "0.1"} <= set(texts)

    # rows span the decades 10^6..10^8, a tenth of a decade more each side (10^5.9..10^8.1),
    # over the 360 px from x = 80; time spans 10^0..10^3 (the data, 10 to 200 s, and the 1 M
    # rows/s line, 1 to 100 s), so 10^-0.1..10^3.1, over the 260 px up from y = 308
    def x_px(rows: float) -> float:
        return 80 + (math.log10(rows) - 5.9) / 2.2 * 360

    def time_px(seconds: float) -> float:
        return 308 - (math.log10(seconds) + 0.1) / 3.2 * 260

    marks = {
        (m.get("data-series"), m.get("data-x")): m
        for g in groups
        if g.get("data-panel") == "time"
        for m in g
        if m.get("data-value")
    }
    mark = marks[("duckdb parquet, 10,000 sites", "10000000")]
    assert float(mark.get("data-value", "")) == 100.0
    # x = 80 + 1.1 / 2.2 x 360 = 260; y = 308 - 2.1 / 3.2 x 260 = 137.375
    assert x_px(1e7) == pytest.approx(260.0) and time_px(100) == pytest.approx(137.375)
    assert float(mark.get("cx", "")) == 260.0
    assert float(mark.get("cy", "")) == pytest.approx(137.375, abs=0.005)
    assert ("duckdb csv, 100,000 sites", "1000000") in marks  # a one-point series: a mark

    lines = {line.get("data-reference"): line for line in root.iter(f"{SVG}line")}
    target, memory = lines["1000000 rows/s"], lines["8 GiB"]
    assert target.get("stroke-dasharray") and memory.get("stroke-dasharray")
    # across the plot: 10^-0.1 s at 10^5.9 rows (x 80, y 308) to 10^2.1 s at 10^8.1 rows
    # (x 440, y 308 - 2.2 / 3.2 x 260 = 129.25)
    assert [float(target.get(k, "")) for k in ("x1", "y1", "x2", "y2")] == [
        80.0,
        308.0,
        440.0,
        129.25,
    ]
    # memory spans 10^-1..10^2 GiB (0.5 to 20, and 8), padded to 10^-1.1..10^2.1: 8 GiB at
    # 308 - (log10 8 + 1.1) / 3.2 x 260 = 145.25
    y = 308 - (math.log10(8) + 1.1) / 3.2 * 260
    assert float(memory.get("y1", "")) == float(memory.get("y2", "")) == round(y, 2) == 145.25
    notes = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "failed"]
    assert notes == ["failed, not drawn: duckdb csv, 100,000,000 rows, 100,000 sites"]


def test_an_empty_sweep_draws_empty_axes() -> None:
    root = ET.fromstring(scale.render_chart([]))
    assert "no case measured yet" in [t.text for t in root.iter(f"{SVG}text")]


def test_the_table_gives_each_case() -> None:
    table = scale.render_table([{**CASES[0], "site_layout": "register"}, *CASES[1:]]).splitlines()
    assert table[0].startswith(
        "| engine | format | rows | sites | sites listed in | file MiB | wall s | rows/s |"
    )
    # sorted by engine, format, sites, rows; 10,000,000 rows in 100 s: 100,000 rows/s; a
    # record without site_layout is from before the register (sites in tanlu.toml)
    assert table[2:] == [
        "| duckdb | parquet | 1,000,000 | 10,000 | register | 10.0 | 10.00 | 100,000 | 0.50 | 3 "
        "| 2026-12-04 | abc1234 |",
        "| duckdb | parquet | 10,000,000 | 10,000 | tanlu.toml | 100.0 | 100.00 | 100,000 | 5.00 "
        "| 3 | 2026-12-04 | abc1234 |",
        "| duckdb | csv | 1,000,000 | 100,000 | tanlu.toml | 10.0 | 20.00 | 50,000 | 0.60 | 3 "
        "| 2026-12-04 | abc1234 |",
        "| duckdb | csv | 100,000,000 | 100,000 | tanlu.toml | | failed: Killed | | | "
        "| 2026-12-04 |  |",
        "| spark | parquet | 10,000,000 | 10,000 | tanlu.toml | 100.0 | 200.00 | 50,000 | 20.00 "
        "| 3 | 2026-12-04 | abc1234 |",
    ]


def test_chart_only_redraws_from_the_json(tmp_path: Path) -> None:
    results, chart, doc = tmp_path / "scale.json", tmp_path / "scale.svg", tmp_path / "p.md"
    scale.merge_results(results, CASES)
    doc.write_text(f"{scale.TABLE_BEGIN}\n{scale.TABLE_END}\n", encoding="utf-8")
    argv = ["--only", "scale", "--chart-only", "--scale-results", str(results)]
    assert main([*argv, "--scale-chart", str(chart), "--scale-doc", str(doc)]) == 0
    assert ET.fromstring(chart.read_text(encoding="utf-8")).get("data-chart") == "scale"
    assert doc.read_text(encoding="utf-8") == (
        f"{scale.TABLE_BEGIN}\n{scale.render_table(CASES)}{scale.TABLE_END}\n"
    )


def test_bad_results_and_docs_are_named(tmp_path: Path) -> None:
    missing = tmp_path / "none.json"
    with pytest.raises(ValueError, match=r"none\.json: no results yet"):
        scale.write_outputs(missing, tmp_path / "c.svg", None)
    bad = tmp_path / "bad.json"
    bad.write_text('{"cases": [{"engine": "duckdb"}]}', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.json: case 1 lacks format, rows, sites, status"):
        scale.read_results(bad)
    doc = tmp_path / "p.md"
    doc.write_text("# no markers\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"p\.md: no line '<!-- scale-table"):
        scale.write_doc_table(doc, "| x |\n")

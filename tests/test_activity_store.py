"""The checked rows stay on the engine (ActivityStore) and the inventory's lines are computed
only when read (EmissionLines); the line summary stands in for the lines downstream."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

import tanlu
from tanlu import engine, scratch
from tanlu.errors import InputError, ProjectError
from tanlu.ingest import CANONICAL_COLUMNS
from tanlu.ingest.activity_store import ActivityStore
from tanlu.ingest.inputs import load_inputs

from .conftest import BASIC_TOML, MakeProject

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "internet-company"


@pytest.fixture(scope="module")
def example() -> tuple[tanlu.Project, tanlu.ProjectInputs]:
    project = tanlu.load_project(EXAMPLE)
    return project, load_inputs(project)


def test_checked_rows_stay_on_the_engine_and_come_to_pandas_on_request(
    example: tuple[tanlu.Project, tanlu.ProjectInputs],
) -> None:
    _, inputs = example
    store = inputs.activities
    assert isinstance(store, ActivityStore)
    assert engine.backend_name(store.con) == "duckdb"
    assert store.rows == inputs.rows_read == int(store.table.count().to_pyarrow().as_py())
    frame = store.frame()
    assert list(frame.columns) == list(CANONICAL_COLUMNS)
    # row ids in reading order, 0-based and dense
    assert frame["row_id"].tolist() == list(range(store.rows))
    assert set(frame["source_file"]) == {
        f"internet-company/data/{name}"
        for name in ("activities_energy.csv", "activities_purchases.csv", "activities_travel.xlsx")
    }
    # the same engine asked again is the same store
    assert store.on("duckdb") is store


def test_a_store_restricted_to_sites_shares_its_connection(
    example: tuple[tanlu.Project, tanlu.ProjectInputs],
) -> None:
    _, inputs = example
    store = inputs.activities
    every = store.frame()
    sites = sorted(set(every["site"]))[:2]
    restricted = store.restricted_to(sites)
    assert restricted.con is store.con
    expected = every.loc[every["site"].isin(sites)].reset_index(drop=True)
    assert restricted.rows == len(expected) > 0
    pd.testing.assert_frame_equal(restricted.frame().reset_index(drop=True), expected)
    # closing the restricted store leaves its owner's connection open
    restricted.close()
    assert store.table.count().to_pyarrow().as_py() == store.rows


@pytest.mark.parametrize("year", [2021, 2022])
def test_the_line_summary_is_the_lines_summed(
    example: tuple[tanlu.Project, tanlu.ProjectInputs], year: int
) -> None:
    project, inputs = example
    result = tanlu.calculate_inventory(project, year, inputs, check_base_year=False)
    lines = result.lines
    summary = result.line_summary
    assert len(result.emission_lines) == len(lines) == summary["line_count"].sum() > 0
    keys = list(engine.LINE_SUMMARY_KEYS)
    by_key = lines.groupby(keys, as_index=False)[["emissions_t", "emissions_tco2e"]].sum()
    merged = summary.merge(by_key, on=keys, suffixes=("", "_lines"), validate="one_to_one")
    assert len(merged) == len(summary) == len(by_key)
    for column in ("emissions_t", "emissions_tco2e"):
        assert merged[column].to_numpy() == pytest.approx(
            merged[f"{column}_lines"].to_numpy(), rel=1e-12, abs=1e-9
        )
    # the quantity of each row once (a row has a line per gas): canonical quantity x share in
    # the year x consolidation share, by key but gas
    once = lines.drop_duplicates(["row_id", "activity", "scope"])
    counted = (once["quantity_canonical"] * once["share_in_year"]) * once["consolidation_share"]
    row_keys = [k for k in keys if k not in ("gas", "factor_id")]
    expected = counted.groupby([once[k] for k in row_keys]).sum()
    got = summary.groupby(row_keys)["quantity_counted"].sum()
    assert got.sort_index().to_numpy() == pytest.approx(expected.sort_index().to_numpy(), rel=1e-12)
    # the Montreal Protocol gases outside the scopes, from the summary as from the lines
    assert result.outside_scopes_tco2e == pytest.approx(
        float(lines.loc[lines["outside_scopes"], "emissions_tco2e"].sum()), rel=1e-12
    )


def test_lines_stream_in_batches_in_the_order_of_the_table(
    example: tuple[tanlu.Project, tanlu.ProjectInputs],
) -> None:
    project, inputs = example
    result = tanlu.calculate_inventory(project, 2022, inputs, check_base_year=False)
    # streamed before the table is made, 50 lines a batch
    reader = result.emission_lines.batches(rows=50)
    batches = list(reader)
    assert len(batches) > 1 and all(batch.num_rows <= 50 for batch in batches)
    streamed = pa.Table.from_batches(batches, reader.schema).to_pandas()
    frame = result.lines
    assert streamed["row_id"].is_monotonic_increasing
    pd.testing.assert_frame_equal(
        streamed.astype({"source_file": "string", "source_sheet": "string"}), frame
    )


def test_quantities_count_once_per_row_whatever_its_gases(make_project: MakeProject) -> None:
    # R-410A is two gases (HFC-32 and HFC-125, a line each); diesel gets a derived well-to-tank
    # row of its own; the electricity row runs from 1 July 2021 to 30 June 2022
    root = make_project(
        "gz,2022-03-01,2022-03-01,refrigerant_r410a,200,kg\n"
        "gz,2022-01-01,2022-12-31,diesel_stationary,10,t\n"
        "bj,2021-07-01,2022-06-30,electricity,1000,MWh\n"
    )
    project = tanlu.load_project(root)
    result = tanlu.calculate_inventory(project, 2022, check_base_year=False)
    summary = result.line_summary.set_index("activity")
    refrigerant = summary.loc[["refrigerant_r410a"]]
    assert sorted(refrigerant["gas"]) == ["HFC-125", "HFC-32"]
    # 200 kg = 0.2 t, once, not once per gas
    assert refrigerant["quantity_counted"].sum() == pytest.approx(0.2, rel=1e-12)
    assert refrigerant["line_count"].sum() == 2
    # 10 t of diesel, and the same 10 t again for its upstream (a row of its own)
    assert summary.at["diesel_stationary", "quantity_counted"] == pytest.approx(10.0, rel=1e-12)
    assert summary.at["wtt_diesel", "quantity_counted"] == pytest.approx(10.0, rel=1e-12)
    # 1,000 MWh x 181 of its 365 days in 2022 (January to June)
    assert summary.at["electricity", "quantity_counted"] == pytest.approx(
        1000 * 181 / 365, rel=1e-12
    )
    assert result.by_site.set_index("site").at["bj", "electricity_mwh"] == pytest.approx(
        1000 * 181 / 365, rel=1e-12
    )
    # 2 + 1 + 1 + 1 lines
    assert len(result.emission_lines) == summary["line_count"].sum() == len(result.lines) == 5


def test_duckdb_spills_under_the_configured_folder_and_memory(
    make_project: MakeProject, tmp_path: Path
) -> None:
    toml = BASIC_TOML + '\n[engine]\nmemory_limit_gib = 0.5\ntemp_directory = "spill"\n'
    root = make_project("gz,2022-01-01,2022-12-31,electricity,100,MWh\n", toml=toml)
    inputs = load_inputs(tanlu.load_project(root))
    store = inputs.activities
    limit, folder = store.con.raw_sql(
        "select current_setting('memory_limit'), current_setting('temp_directory')"
    ).fetchone()
    assert limit == "512.0 MiB"
    # a folder of its own under the project's "spill", removed when the store is closed
    spill = Path(folder)
    assert spill.parent == root / "spill" and spill.is_dir()
    store.close()
    assert not spill.exists()


def test_engine_settings_are_checked(make_project: MakeProject) -> None:
    toml = BASIC_TOML + "\n[engine]\nmemory_limit_gib = 0\n"
    root = make_project("gz,2022-01-01,2022-12-31,electricity,100,MWh\n", toml=toml)
    with pytest.raises(ProjectError, match="memory_limit_gib"):
        tanlu.load_project(root)


def test_a_process_that_exits_with_a_connection_open_leaves_no_spill_folder(
    tmp_path: Path,
) -> None:
    script = (
        "import sys; from pathlib import Path; from tanlu import engine; "
        "con = engine.connect(temp_directory=Path(sys.argv[1])); "
        "print(len(list(Path(sys.argv[1]).iterdir())))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, check=True
    )
    # one folder while it ran, none once it exited
    assert done.stdout.strip() == "1"
    assert list(tmp_path.iterdir()) == []


def test_a_process_stopped_by_sigterm_leaves_no_spill_folder(tmp_path: Path) -> None:
    script = (
        "import os, signal, sys, time; from pathlib import Path; from tanlu import engine; "
        "from tanlu.cli import exit_on_sigterm; exit_on_sigterm(); "
        "con = engine.connect(temp_directory=Path(sys.argv[1])); "
        "print(len(list(Path(sys.argv[1]).iterdir())), flush=True); "
        "os.kill(os.getpid(), signal.SIGTERM); time.sleep(30)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 128 + 15, done.stderr
    assert done.stdout.strip() == "1"
    assert list(tmp_path.iterdir()) == []


def test_spill_folders_of_killed_processes_are_removed_by_the_next_connection(
    tmp_path: Path,
) -> None:
    # a process that no longer exists: one started and waited for
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    host = scratch.host_name()
    dead = tmp_path / f"tanlu-duckdb-{host}-{gone.stdout.strip()}-abc123"
    (dead / "sub").mkdir(parents=True)
    (dead / "sub" / "spill.block").write_bytes(b"x" * 1000)
    alive = tmp_path / f"tanlu-duckdb-{host}-{os.getpid()}-def456"  # this process: kept
    alive.mkdir()
    other = tmp_path / "tanlu-duckdb-notapid"  # not named by tanlu's pattern: kept
    other.mkdir()
    # another machine's folder (a shared disk), and a number no process id can be: kept
    remote = tmp_path / f"tanlu-duckdb-otherhost-{gone.stdout.strip()}-ghi789"
    remote.mkdir()
    huge = tmp_path / f"tanlu-duckdb-{host}-{10**30}-jkl012"
    huge.mkdir()
    con = engine.connect(temp_directory=tmp_path)
    try:
        assert not dead.exists()
        assert alive.is_dir() and other.is_dir() and remote.is_dir() and huge.is_dir()
    finally:
        engine.close(con)


def test_row_ids_count_the_blank_rows_of_a_parquet_file(make_project: MakeProject) -> None:
    root = make_project("gz,2022-01-01,2022-01-31,electricity,1,MWh\n")
    pd.DataFrame(
        {
            "site": ["bj", None, "bj"],
            "period_start": ["2022-02-01", None, "2022-03-01"],
            "period_end": ["2022-02-28", None, "2022-03-31"],
            "activity": ["electricity", None, "electricity"],
            "quantity": [2.0, None, 3.0],
            "unit": ["MWh", None, "MWh"],
        }
    ).to_parquet(root / "data" / "more.parquet", index=False)
    frame = load_inputs(tanlu.load_project(root)).activities.frame()
    # the CSV file's one row is 0; DuckDB reads the Parquet file itself, blank row and all:
    # its rows 1 and 3 follow at 1 + 0 and 1 + 2
    assert frame["row_id"].tolist() == [0, 1, 3]
    assert frame["source_line"].tolist() == [2, 1, 3]
    assert frame["quantity"].tolist() == [1.0, 2.0, 3.0]


def test_rows_entering_a_derived_activity_are_counted_and_all_written(
    make_project: MakeProject, tmp_path: Path
) -> None:
    # 1,003 rows enter wtt_diesel, which tanlu derives from the diesel rows itself
    rows = "".join(f"gz,2022-01-01,2022-01-01,wtt_diesel,{n + 1},t\n" for n in range(1_003))
    root = make_project(rows)
    errors = tmp_path / "errors.csv"
    with pytest.raises(InputError) as raised:
        load_inputs(tanlu.load_project(root), errors_out=errors)
    # the first 1,000 listed, in file order, and the 3 more counted
    listed = raised.value.issues
    assert len(listed) == 1_000 and [i.line for i in listed[:2]] == [2, 3]
    assert all("derived from scope 1 fuel rows" in i.reason for i in listed)
    assert raised.value.unlisted == {"activity": 3}
    written = pd.read_csv(errors)
    assert len(written) == 1_003 and sorted(written["line"]) == list(range(2, 1_005))

"""The core fed tables instead of a folder (issue 11, item 5).

A project made from its configuration (:func:`tanlu.project_from_config`) and its inputs given as
tables (:class:`tanlu.InputTables`) give what the same project's folder gives; bad rows of a table
are named by table, row and reason, as a file's are by file, line and reason.
"""

from __future__ import annotations

import datetime
import math
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import tanlu
from tanlu.app import read_inputs, run_inventory, run_roadmap, validate_project
from tanlu.errors import InputError, InputIssue, ProjectError
from tanlu.ingest import load_inputs, read_input_tables

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "internet-company"
FOLDER = "internet-company/data/"  # how messages name the example's data files

# MEE/NBS 2022 factors [tCO2/MWh] (src/tanlu/factors/data/factors_electricity_cn.csv)
GUANGDONG_2022 = 0.4403
BEIJING_2022 = 0.558
NATIONAL_EXCL_2022 = 0.5856  # national, excluding market-traded non-fossil electricity

# DuckDB sums in threads, so the last bits of a sum differ from run to run (19004.0365248 and
# 19004.036524800005 t for the same folder): inventories agree to 1e-12, and the roadmap, an LP
# solved on those sums, to 1e-9 (1e-6 absolute for figures that are zero).
INVENTORY_RTOL = 1e-12
ROADMAP_RTOL = 1e-9
ROADMAP_ATOL = 1e-6


# ---------------------------------------------------------------- the example, in memory


def example_tables() -> tuple[dict[str, Any], tanlu.InputTables, dict[tuple[str, str], str]]:
    """The example's tanlu.toml and data files read here with tomllib and pandas (typed as
    pandas reads them: quantities as integers and floats), one table per file or sheet; and
    the table name of each (file, sheet) as the folder's results name it."""
    config = tomllib.loads((EXAMPLE / "tanlu.toml").read_text(encoding="utf-8"))
    data = EXAMPLE / "data"
    activities: dict[str, pd.DataFrame] = {}
    names: dict[tuple[str, str], str] = {}
    for path in sorted(data.glob("activities*")):
        if path.suffix == ".csv":
            activities[path.name] = pd.read_csv(path)
            names[(FOLDER + path.name, "")] = path.name
        else:
            for sheet, frame in pd.read_excel(path, sheet_name=None).items():
                activities[f"{path.name}/{sheet}"] = frame
                names[(FOLDER + path.name, sheet)] = f"{path.name}/{sheet}"
    tables = tanlu.InputTables(
        activities=activities,
        instruments={"instruments": pd.read_csv(data / "instruments.csv")},
        meter_hourly={"meter_hourly_hq": pd.read_csv(data / "meter_hourly_hq.csv")},
    )
    return config, tables, names


@pytest.fixture(scope="module")
def example() -> tuple[tanlu.Project, tanlu.InputTables, dict[tuple[str, str], str]]:
    config, tables, names = example_tables()
    return tanlu.project_from_config(config), tables, names


def assert_documents_agree(got: Any, expected: Any, rtol: float, atol: float = 0.0) -> None:
    """Two JSON documents equal, floats within the tolerances (NaN equals NaN)."""
    if isinstance(expected, dict):
        assert isinstance(got, dict) and got.keys() == expected.keys()
        for key in expected:
            assert_documents_agree(got[key], expected[key], rtol, atol)
    elif isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected)
        for left, right in zip(got, expected, strict=True):
            assert_documents_agree(left, right, rtol, atol)
    elif isinstance(expected, float) and isinstance(got, float):
        both_nan = math.isnan(got) and math.isnan(expected)
        assert both_nan or got == pytest.approx(expected, rel=rtol, abs=atol)
    else:
        assert got == expected


def test_the_example_in_memory_gives_the_folders_inventories(
    example: tuple[tanlu.Project, tanlu.InputTables, dict[tuple[str, str], str]],
) -> None:
    project, tables, names = example
    assert project.root is None
    inputs = tanlu.check_input_tables(project, tables)
    folder = tanlu.load_project(EXAMPLE)
    folder_inputs = load_inputs(folder)
    assert inputs.rows_read == folder_inputs.rows_read == 664
    for year in (2021, 2022):
        got = tanlu.calculate_inventory(project, year, inputs)
        expected = tanlu.calculate_inventory(folder, year, folder_inputs)
        # the whole JSON document: totals, scopes, categories, sites, market-based allocations,
        # fallbacks, factors used, base-year check (it names no file)
        assert_documents_agree(got.to_dict(), expected.to_dict(), INVENTORY_RTOL)
        assert got.total_location_tco2e == pytest.approx(
            expected.total_location_tco2e, rel=INVENTORY_RTOL
        )
        # every line, traced to its table and row instead of its file and line: a CSV file's
        # line N is row N - 1 of its table (line 1 is the header), a sheet's row N is row N - 1
        # of the sheet's table
        lines = expected.lines.copy()
        lines["source_file"] = [
            names[(str(f), "" if pd.isna(s) else str(s))]
            for f, s in zip(lines["source_file"], lines["source_sheet"], strict=True)
        ]
        lines["source_sheet"] = pd.NA
        lines["source_line"] = lines["source_line"] - 1
        pd.testing.assert_frame_equal(
            got.lines.reset_index(drop=True),
            lines.reset_index(drop=True),
            check_dtype=False,
            rtol=INVENTORY_RTOL,
        )
        assert set(got.lines["source_file"]) == set(tables.activities)


def test_the_example_in_memory_gives_the_folders_roadmap(
    example: tuple[tanlu.Project, tanlu.InputTables, dict[tuple[str, str], str]],
) -> None:
    project, tables, _ = example
    got = run_roadmap(project, inputs=tables).plan
    expected = run_roadmap(EXAMPLE).plan
    assert got.objective_cny == pytest.approx(expected.objective_cny, rel=ROADMAP_RTOL)
    assert_documents_agree(got.to_dict(), expected.to_dict(), ROADMAP_RTOL, ROADMAP_ATOL)


def test_read_input_tables_are_the_files_as_check_input_tables_takes_them() -> None:
    # the folder's files read into tables (with where each row is in its file) and checked as
    # tables give the folder's inputs, lines and all
    folder = tanlu.load_project(EXAMPLE)
    tables, issues = read_input_tables(folder)
    assert issues == []
    assert sorted(tables.activities) == [
        FOLDER + "activities_energy.csv",
        FOLDER + "activities_purchases.csv",
        FOLDER + "activities_travel.xlsx",
    ]
    from_tables = tanlu.check_input_tables(folder, tables)
    pd.testing.assert_frame_equal(
        from_tables.activities.frame(), load_inputs(folder).activities.frame()
    )


# ---------------------------------------------------------------- a tiny project by hand

TINY_CONFIG: dict[str, Any] = {
    "organisation": {"name": "Toy Co", "base_year": 2022, "reporting_years": [2022]},
    "entities": [{"id": "parent", "name": "Parent"}],
    "sites": [
        {"id": "gz", "name": "Guangzhou office", "entity": "parent", "province": "广东"},
        {"id": "bj", "name": "Beijing data centre", "entity": "parent", "province": "Beijing"},
    ],
}


def tiny_activities() -> pd.DataFrame:
    """Three rows, typed as a program holds them: floats, Timestamps, dates."""
    return pd.DataFrame(
        {
            "site": ["gz", "bj", "bj"],
            "period_start": pd.to_datetime(["2022-01-01", "2022-01-01", "2022-07-01"]),
            "period_end": [
                datetime.date(2022, 12, 31),
                datetime.date(2022, 6, 30),
                datetime.date(2022, 12, 31),
            ],
            "activity": ["electricity"] * 3,
            "quantity": [1000.0, 250.0, 120_000.0],
            "unit": ["MWh", "MWh", "kWh"],
        }
    )


def test_a_tiny_project_from_a_dict_and_three_rows() -> None:
    project = tanlu.project_from_config(TINY_CONFIG)
    instruments = pd.DataFrame(
        {"instrument_id": ["gec-1"], "kind": ["gec"], "vintage_year": [2022], "energy_mwh": [300.0]}
    )
    tables = tanlu.InputTables(
        activities={"electricity": tiny_activities()}, instruments={"gecs": instruments}
    )
    result = run_inventory(project, 2022, tables)
    # gz: 1,000 MWh x 0.4403 = 440.3 t
    # bj: 250 MWh + 120,000 kWh = 370 MWh x 0.558 = 206.46 t
    assert result.scope2_location_tco2e == pytest.approx(
        1000 * GUANGDONG_2022 + 370 * BEIJING_2022, rel=1e-12
    )
    assert result.scope2_location_tco2e == pytest.approx(440.3 + 206.46, rel=1e-12)
    # market-based: 1,370 MWh used, 300 MWh of GECs at zero, 1,070 MWh x 0.5856 = 626.592 t
    assert result.scope2_market_tco2e == pytest.approx(1070 * NATIONAL_EXCL_2022, rel=1e-12)
    assert result.scope1_tco2e == 0.0 and result.scope3_tco2e == 0.0
    by_site = result.by_site.set_index("site")
    assert by_site.loc["bj", "electricity_mwh"] == pytest.approx(370.0, rel=1e-12)
    # each line names its table and row
    lines = result.lines.sort_values("source_line")
    assert lines["source_file"].tolist() == ["electricity"] * 3
    assert lines["source_line"].tolist() == [1, 2, 3]


def test_text_and_typed_cells_check_the_same() -> None:
    # the same rows as text (as read from a CSV file), typed, and mixed in one column
    project = tanlu.project_from_config(TINY_CONFIG)
    typed = tiny_activities()
    text = typed.astype(str).assign(period_end=["2022-12-31", "2022-06-30", "2022-12-31"])
    mixed = typed.astype(object)
    mixed.loc[0, "quantity"] = "1000"
    mixed.loc[1, "period_start"] = "2022-01-01"
    checked = [
        tanlu.check_input_tables(
            project, tanlu.InputTables(activities={"a": frame})
        ).activities.frame()
        for frame in (typed, text, mixed)
    ]
    for other in checked[1:]:
        # text quantities that are whole numbers read as integers, as from a CSV file
        pd.testing.assert_frame_equal(other, checked[0], check_dtype=False)
    assert checked[0]["quantity"].tolist() == [1000.0, 250.0, 120_000.0]


def test_typed_price_and_instrument_rows_are_accepted() -> None:
    project = tanlu.project_from_config(TINY_CONFIG)
    prices = pd.DataFrame(
        {
            "parameter": ["grid_price_cny_per_mwh"],
            "region": ["广东"],
            "year": [2022],
            "value": [650.5],
            "unit": ["CNY/MWh"],
            "source": ["site bills 2022"],
        }
    )
    instruments = pd.DataFrame(
        {
            "instrument_id": ["gpc-1"],
            "kind": ["green_power_contract"],
            "vintage_year": [2022.0],  # a whole float, as pandas reads a column with gaps
            "energy_mwh": [100],
            "site": ["gz"],
            "production_start": [pd.Timestamp("2022-01-01")],
            "production_end": [datetime.date(2022, 12, 31)],
        }
    )
    tables = tanlu.InputTables(
        activities={"electricity": tiny_activities()},
        instruments={"contracts": instruments},
        prices={"prices": prices},
    )
    inputs = read_inputs(project, inputs=tables)
    [price] = inputs.prices.to_dict(orient="records")
    assert (price["year"], price["value"], price["status"]) == (2022, 650.5, "user")
    assert price["origin"] == "prices, row 1"
    [contract] = inputs.instruments.to_dict(orient="records")
    assert contract["vintage_year"] == 2022 and contract["energy_mwh"] == 100.0
    assert contract["production_end"] == pd.Timestamp("2022-12-31")
    # already-checked inputs are taken as they are
    assert read_inputs(project, inputs=inputs) is inputs


# ---------------------------------------------------------------- bad rows of tables


def issues_of(project: tanlu.Project, tables: tanlu.InputTables) -> list[InputIssue]:
    with pytest.raises(InputError) as caught:
        tanlu.check_input_tables(project, tables)
    issues: list[InputIssue] = caught.value.issues
    return issues


def test_bad_rows_name_the_table_the_row_and_the_reason() -> None:
    project = tanlu.project_from_config(TINY_CONFIG)
    activities = pd.DataFrame(
        {
            "site": ["sz", "gz", "bj", "bj"],
            "period_start": ["2022-01-01", "2022-01-01", "2022-01-01", "2022-13-01"],
            "period_end": ["2022-12-31", "2022-12-31", "2022-12-31", "2022-12-31"],
            "activity": ["electricity"] * 4,
            "quantity": [1.0, 2.0, -5.0, 3.0],
            "unit": ["MWh", "kg", "MWh", "MWh"],
        }
    )
    prices = pd.DataFrame(
        {
            "parameter": ["grid_price_cny_per_mwh"],
            "region": ["广东"],
            "year": [2022],
            "value": [-600],
            "unit": ["CNY/MWh"],
            "source": ["test"],
        }
    )
    meter = pd.DataFrame(
        {
            "site": ["gz", "gz"],
            "hour_start": ["2022-01-01 00:00", "2022-01-01 00:00"],
            "energy_mwh": [0.1, 0.1],
        }
    )
    issues = issues_of(
        project,
        tanlu.InputTables(
            activities={"energy": activities}, prices={"prices": prices}, meter_hourly={"m": meter}
        ),
    )
    found = {(i.file, i.line, i.column): i for i in issues}
    assert set(found) == {
        ("energy", 1, "site"),
        ("energy", 2, "unit"),
        ("energy", 3, "quantity"),
        ("energy", 4, "period_start"),
        ("prices", 1, "value"),
        ("m", 2, "hour_start"),
    }
    assert str(found[("energy", 1, "site")]) == (
        "energy, row 1, column 'site': unknown site 'sz' (not in tanlu.toml)"
    )
    assert str(found[("energy", 2, "unit")]).startswith("energy, row 2, column 'unit': ")
    assert "'kg'" in found[("energy", 2, "unit")].reason
    assert str(found[("energy", 3, "quantity")]) == (
        "energy, row 3, column 'quantity': negative quantity -5.0"
    )
    assert str(found[("energy", 4, "period_start")]) == (
        "energy, row 4, column 'period_start': '2022-13-01' is not a date (YYYY-MM-DD)"
    )
    assert str(found[("prices", 1, "value")]) == "prices, row 1, column 'value': -600 is negative"
    assert str(found[("m", 2, "hour_start")]) == (
        "m, row 2, column 'hour_start': gz 2022-01-01 00:00 is also on row 1"
    )


def test_bad_factor_and_instrument_rows_name_their_tables() -> None:
    project = tanlu.project_from_config(TINY_CONFIG)
    factors = pd.DataFrame(
        {
            "factor_id": ["own-1", "own-2"],
            "activity": ["electricity", "no_such_activity"],
            "gas": ["CO2", "CO2"],
            "value": [0.5, 0.5],
            "unit": ["t/MWh", "t/MWh"],
            "source": ["a letter", "a letter"],
        }
    )
    instruments = pd.DataFrame(
        {"instrument_id": ["x"], "kind": ["coupon"], "vintage_year": [2022], "energy_mwh": [1.0]}
    )
    issues = issues_of(
        project,
        tanlu.InputTables(
            activities={"energy": tiny_activities()},
            factors={"own factors": factors},
            instruments={"deals": instruments},
        ),
    )
    assert [str(i) for i in issues] == [
        "deals, row 1, column 'kind': 'coupon' is not one of green_power_contract, gec, irec, "
        "ppa, supplier_factor",
        "own factors, row 2, column 'activity': unknown activity 'no_such_activity'",
    ]


@pytest.mark.parametrize("form", ["text", "China time", "UTC", "no zone"])
def test_hourly_tables_take_hours_as_text_or_timestamps(form: str) -> None:
    project = tanlu.project_from_config(TINY_CONFIG)
    hours = pd.date_range(
        "2022-01-01", "2023-01-01", freq="h", inclusive="left", tz="Asia/Shanghai"
    )
    given = {
        "text": hours.strftime("%Y-%m-%d %H:%M"),  # as meter files write it
        "China time": hours,
        "UTC": hours.tz_convert("UTC"),
        "no zone": hours.tz_localize(None),  # China Standard Time, as in a file
    }[form]
    meter = pd.DataFrame({"site": "gz", "hour_start": given, "energy_mwh": 0.125})
    tables = tanlu.InputTables(activities={"a": tiny_activities()}, meter_hourly={"gz": meter})
    series = tanlu.check_input_tables(project, tables).meter_hourly
    assert len(series) == 8760
    assert series["hour_start"].iloc[0] == pd.Timestamp("2022-01-01 00:00", tz="Asia/Shanghai")
    # 8,760 h x 0.125 MWh = 1,095 MWh
    assert series["value"].sum() == pytest.approx(1095.0, rel=1e-12)


def test_a_duplicate_row_names_the_other_row() -> None:
    project = tanlu.project_from_config(TINY_CONFIG)
    rows = pd.concat([tiny_activities().iloc[[0]]] * 2, ignore_index=True)
    [issue] = issues_of(project, tanlu.InputTables(activities={"energy": rows}))
    assert str(issue) == "energy, row 2: duplicate of energy, row 1"


def test_a_table_without_a_required_column_or_without_tables() -> None:
    project = tanlu.project_from_config(TINY_CONFIG)
    [issue] = issues_of(
        project, tanlu.InputTables(activities={"energy": tiny_activities().drop(columns="unit")})
    )
    assert str(issue) == "energy: missing required column(s): unit"
    [issue] = issues_of(project, tanlu.InputTables())
    assert str(issue) == "tanlu.toml: no activity table is given (activities)"


def test_validate_lists_a_tables_problems() -> None:
    project = tanlu.project_from_config(TINY_CONFIG, name="acme (service)")
    bad = tiny_activities().assign(site=["gz", "bj", "xx"])
    found = validate_project(project, tables=tanlu.InputTables(activities={"energy": bad}))
    assert not found.valid
    [issue] = found.to_dict()["issues"]
    assert issue == {
        "file": "energy",
        "sheet": None,
        "line": 3,
        "column": "site",
        "reason": "unknown site 'xx' (not in tanlu.toml)",
    }
    good = validate_project(project, tables=tanlu.InputTables(activities={"a": tiny_activities()}))
    assert good.to_dict() == {
        "valid": True,
        "activity_rows": 3,
        "activity_files": 1,
        "instruments": 0,
        "sites": 2,
    }


def test_a_project_in_memory_has_no_files_to_read() -> None:
    project = tanlu.project_from_config(TINY_CONFIG)
    with pytest.raises(InputError, match="give its inputs as tables"):
        load_inputs(project)


# ---------------------------------------------------------------- the configuration


def test_a_bad_field_in_a_mapping_is_named() -> None:
    config = {**TINY_CONFIG, "organisation": {**TINY_CONFIG["organisation"], "base_year": 1800}}
    with pytest.raises(ProjectError) as caught:
        tanlu.project_from_config(config)
    message = str(caught.value)
    assert message.startswith("tanlu.toml: organisation.base_year: ")
    assert "greater than or equal to 1990" in message


def test_a_mapping_is_checked_as_tanlu_toml_is() -> None:
    sites = [*TINY_CONFIG["sites"], {**TINY_CONFIG["sites"][0], "id": "GZ "}]
    with pytest.raises(ProjectError, match=r"^acme: sites\[2\]\.id: duplicate site id"):
        tanlu.project_from_config({**TINY_CONFIG, "sites": sites}, name="acme")
    elsewhere = [{**TINY_CONFIG["sites"][0], "province": "Atlantis"}]
    with pytest.raises(ProjectError) as caught:
        tanlu.project_from_config({**TINY_CONFIG, "sites": elsewhere}, name="acme")
    assert str(caught.value) == ("acme: sites[0].province: unknown province 'Atlantis' (site 'gz')")


def test_toml_text_gives_the_line_of_a_bad_field() -> None:
    text = (EXAMPLE / "tanlu.toml").read_text(encoding="utf-8")
    assert tanlu.project_from_config(text).config == tanlu.load_project(EXAMPLE).config
    bad = text.replace("base_year = 2021", "base_year = 1800", 1)
    line = bad.splitlines().index("base_year = 1800") + 1
    with pytest.raises(ProjectError) as caught:
        tanlu.project_from_config(bad, name="upload.toml")
    assert str(caught.value).startswith(f"upload.toml: organisation.base_year (line {line}): ")
    with pytest.raises(ProjectError, match=r"^upload\.toml: "):
        tanlu.project_from_config("[organisation\n", name="upload.toml")


def test_messages_of_a_folder_still_name_its_tanlu_toml() -> None:
    folder = tanlu.load_project(EXAMPLE)
    assert folder.root == EXAMPLE
    assert folder.config_file == str(EXAMPLE / "tanlu.toml")
    # a later step's message about the configuration names the file, as before
    with pytest.raises(InputError) as caught:
        tanlu.calculate_inventory(folder, 2030)
    assert str(caught.value.issues[0]).startswith(f"{EXAMPLE / 'tanlu.toml'}, column ")
    in_memory = tanlu.project_from_config(TINY_CONFIG, name="acme")
    with pytest.raises(InputError) as caught:
        run_inventory(in_memory, 2030, tanlu.InputTables(activities={"a": tiny_activities()}))
    assert str(caught.value.issues[0]).startswith("acme, column 'organisation.reporting_years'")

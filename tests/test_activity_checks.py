"""The activity checks on the engine (tanlu.ingest.activity_checks): every rule, on DuckDB and
on Spark, with the same message; parsing as the checks always read numbers and dates; millions
of bad rows counted, the first of each kind listed and all of them written out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tanlu import engine
from tanlu.app import validate_project
from tanlu.errors import InputError
from tanlu.factors import load_factor_library
from tanlu.ingest.activities import normal_form, prepare_activities
from tanlu.ingest.activity_checks import _with_parsed_values

from .conftest import MakeProject

LIBRARY = load_factor_library()
SITES = ["gz", "bj", "HQ"]
COLUMNS = ["site", "period_start", "period_end", "activity", "quantity", "unit"]


def raw_rows(rows: list[tuple[str | None, ...]], file: str = "data/a.csv") -> pd.DataFrame:
    """Rows as a CSV reader gives them: text, lines from 2."""
    frame = pd.DataFrame(rows, columns=[*COLUMNS, "meter", "category"], dtype=object)
    for column in ("source_document", "note"):
        frame[column] = None
    frame["source_file"] = file
    frame["source_sheet"] = None
    frame["source_line"] = range(2, len(frame) + 2)
    return frame


JAN = ("2022-01-01", "2022-01-31")
# One row per rule, in the order the rules are applied, each breaking that rule only (and the
# rules after it, which a row is not reported for once it is bad).
EVERY_RULE = [
    ("gz", *JAN, "electricity", "10", "MWh", "M1", None),  # 2: good
    (None, *JAN, "electricity", "1", "MWh", None, None),  # 3: site empty
    ("gz", *JAN, None, "1", "MWh", None, None),  # 4: activity empty
    ("gz", *JAN, "electricity", "1", None, None, None),  # 5: unit empty
    ("gz", None, "2022-01-31", "electricity", "1", "MWh", None, None),  # 6: start empty
    ("gz", "2022-01-01", None, "electricity", "1", "MWh", None, None),  # 7: end empty
    ("gz", *JAN, "electricity", None, "MWh", None, None),  # 8: quantity empty
    ("hq", *JAN, "electricity", "1", "MWh", None, None),  # 9: unknown site (case)
    ("gz", *JAN, "electric", "1", "MWh", None, None),  # 10: unknown activity
    ("gz", *JAN, "electricity", "1", "kg", None, None),  # 11: wrong dimension
    ("gz", *JAN, "electricity", "1,000", "MWh", None, None),  # 12: not a number
    ("gz", *JAN, "electricity", "inf", "MWh", None, None),  # 13: not finite
    ("gz", *JAN, "electricity", "-2.5", "MWh", None, None),  # 14: negative
    ("gz", "2022-02-30", "2022-03-31", "electricity", "1", "MWh", None, None),  # 15: bad start
    ("gz", "2022-03-01", "31/03/2022", "electricity", "1", "MWh", None, None),  # 16: bad end
    ("gz", "2022-05-31", "2022-05-01", "electricity", "1", "MWh", None, None),  # 17: reversed
    ("gz", "2019-01-01", "2019-01-31", "electricity", "1", "MWh", None, None),  # 18: outside
    ("gz", *JAN, "electricity", "1", "MWh", None, "cat6_business_travel"),  # 19: category
    ("gz", *JAN, "electricity", "10000", "kWh", "M1", None),  # 20: duplicate of line 2
    ("gz", "2022-01-20", "2022-02-19", "electricity", "3", "MWh", "M1", None),  # 21: overlap
]
YEARS = "(2021, 2022)"
EXPECTED = [
    "data/a.csv, line 3, column 'site': site is empty",
    "data/a.csv, line 4, column 'activity': activity is empty",
    "data/a.csv, line 5, column 'unit': unit is empty",
    "data/a.csv, line 6, column 'period_start': period_start is empty",
    "data/a.csv, line 7, column 'period_end': period_end is empty",
    "data/a.csv, line 8, column 'quantity': quantity is empty",
    "data/a.csv, line 9, column 'site': unknown site 'hq' (not in tanlu.toml) "
    "(did you mean 'HQ'? ids are case-sensitive)",
    "data/a.csv, line 10, column 'activity': unknown activity 'electric' "
    "(see `tanlu factors list`)",
    "data/a.csv, line 11, column 'unit': 'kg' measures mass, but this activity is measured in "
    "energy (MWh) (activity 'electricity')",
    "data/a.csv, line 12, column 'quantity': '1,000' is not a number",
    "data/a.csv, line 13, column 'quantity': quantity is not finite",
    "data/a.csv, line 14, column 'quantity': negative quantity -2.5",
    "data/a.csv, line 15, column 'period_start': '2022-02-30' is not a date (YYYY-MM-DD)",
    "data/a.csv, line 16, column 'period_end': '31/03/2022' is not a date (YYYY-MM-DD)",
    "data/a.csv, line 17, column 'period_end': period_end is before period_start",
    f"data/a.csv, line 18, column 'period_start': the period lies outside every project year "
    f"{YEARS}",
    "data/a.csv, line 19, column 'category': 'cat6_business_travel' is not a scope 3 category "
    "(only scope 3 rows may change category)",
    # 10,000 kWh is 10 MWh: the same row as line 2
    "data/a.csv, line 20: duplicate of data/a.csv, line 2",
    "data/a.csv, line 21, column 'period_start': period overlaps data/a.csv, line 2 for the "
    "same site, activity and meter (double counting)",
]


@pytest.mark.parametrize("backend", ["duckdb", "spark"])
def test_every_rule_is_caught_with_the_same_message_on_both_engines(backend: str) -> None:
    prepared = prepare_activities(
        raw_rows(EVERY_RULE), LIBRARY, SITES, [2021, 2022], backend=backend, master="local[2]"
    )
    assert [str(issue) for issue in prepared.issues] == EXPECTED
    assert prepared.rows_read == len(EVERY_RULE)
    assert prepared.unlisted == {}
    assert prepared.table.empty


@pytest.mark.parametrize("backend", ["duckdb", "spark"])
def test_good_rows_come_back_converted_in_reading_order(backend: str) -> None:
    rows = [
        ("gz", *JAN, "electricity", "10", "MWh", None, None),
        ("bj", "2022-1-5", "2022-02-04", "electricity", "2,5".replace(",", "."), "kWh", None, None),
        ("ｇｚ", *JAN, "diesel_stationary", " 1e3 ", "kg", None, None),
    ]
    prepared = prepare_activities(
        raw_rows(rows), LIBRARY, SITES, [2022], backend=backend, master="local[2]"
    )
    assert prepared.issues == []
    table = prepared.table
    assert list(table["row_id"]) == [0, 1, 2]
    assert list(table["source_line"]) == [2, 3, 4]
    # the full-width site id is normalised (NFKC) to gz
    assert list(table["site"]) == ["gz", "bj", "gz"]
    assert list(table["quantity"]) == [10.0, 2.5, 1000.0]
    assert list(table["period_start"].dt.strftime("%Y-%m-%d")) == [
        "2022-01-01",
        "2022-01-05",
        "2022-01-01",
    ]
    assert list(table["scope"]) == [2, 2, 1]
    conversions = prepared.unit_conversions.set_index(["activity", "unit"])["multiplier"]
    # 1 kWh = 0.001 MWh; 1 kg = 0.001 t
    assert conversions[("electricity", "kWh")] == pytest.approx(0.001)
    assert conversions[("diesel_stationary", "kg")] == pytest.approx(0.001)


def parsed(texts: list[str | None], column: str) -> pd.Series:
    """Values of one column parsed on DuckDB, as the checks parse them."""
    n = len(texts)
    frame = pd.DataFrame(
        {
            "site": ["gz"] * n,
            "activity": ["electricity"] * n,
            "unit": ["MWh"] * n,
            "meter": [None] * n,
            "category": [None] * n,
            "source_document": [None] * n,
            "note": [None] * n,
            "quantity": texts if column == "quantity" else ["1"] * n,
            "period_start": texts if column == "period_start" else ["2022-01-01"] * n,
            "period_end": ["2022-01-31"] * n,
            "source_line": np.arange(2, n + 2),
        },
        dtype=object,
    )
    con = engine.connect()
    try:
        rows = engine.to_table(con, normal_form(frame, 0), "rows")
        values = engine.to_pandas(_with_parsed_values(rows).order_by("position"))[column]
    finally:
        engine.close(con)
    return values


NUMBERISH = st.text(alphabet="0123456789+-.eEinfatyINF ,_x", max_size=8)


@settings(max_examples=15, deadline=None)
@given(st.lists(NUMBERISH, min_size=1, max_size=40))
def test_quantities_parse_as_pandas_to_numeric_reads_them(texts: list[str]) -> None:
    engine_values = parsed(list(texts), "quantity").to_numpy(dtype="float64")
    expected = pd.to_numeric(pd.Series(texts, dtype=object), errors="coerce").to_numpy()
    np.testing.assert_array_equal(engine_values, expected)


DATEISH = st.text(alphabet="0123456789- /T:xX０２", max_size=14)


@settings(max_examples=15, deadline=None)
@given(st.lists(DATEISH, min_size=1, max_size=40))
def test_dates_parse_as_the_first_ten_characters_in_iso_form(texts: list[str]) -> None:
    values = pd.to_datetime(parsed(list(texts), "period_start"))
    # the rule: trimmed, first ten characters, YYYY-M-D (month and day with or without a
    # leading zero; a day also with a leading space); full-width digits read as digits
    head = (
        pd.Series(texts, dtype="string")
        .str.translate(str.maketrans("０２", "02"))
        .str.strip()
        .str.slice(0, 10)
    )
    expected = pd.to_datetime(head, format="%Y-%m-%d", errors="coerce")
    assert values.isna().tolist() == expected.isna().tolist()
    assert (values.dropna() == expected.dropna()).all()


def test_golden_numbers_and_dates() -> None:
    quantities = ["12", " 12\t", "1e3", "+5", ".5", "5.", "-0", "1_000", "0x10", "１２", "nan"]
    assert parsed(quantities, "quantity").tolist()[:7] == [12, 12, 1000, 5, 0.5, 5, 0]
    assert parsed(quantities, "quantity").iloc[7:].isna().all()
    days = [
        "2024-02-29",
        "2023-02-29",
        "2022-1-5",
        "2022-01-05T08:00",
        "2022-1-5 08:00",
        "２０２２-01-05",
    ]
    got = pd.to_datetime(parsed(days, "period_start"))
    assert got.dt.strftime("%Y-%m-%d").fillna("-").tolist() == [
        "2024-02-29",
        "-",  # 2023 is not a leap year
        "2022-01-05",
        "2022-01-05",
        "-",  # the first ten characters are "2022-1-5 0"
        "2022-01-05",
    ]


BAD_ROWS = 3_000_000


def test_three_million_bad_rows_are_counted_and_all_written(
    make_project: MakeProject, tmp_path: Path
) -> None:
    # two kinds of bad row, alternating: a negative quantity and an unknown site
    root = make_project("gz,2022-01-01,2022-01-31,electricity,1,MWh\n")
    line = np.arange(BAD_ROWS)
    frame = pd.DataFrame(
        {
            "site": np.where(line % 2 == 0, "gz", "nowhere"),
            "period_start": "2022-01-01",
            "period_end": "2022-01-31",
            "activity": "electricity",
            "quantity": np.where(line % 2 == 0, -1.0, 1.0),
            "unit": "MWh",
            "meter": pd.Series(line).map("M{:07d}".format),
        }
    )
    frame.to_parquet(root / "data" / "big.parquet", index=False)
    errors = tmp_path / "errors.parquet"
    found = validate_project(root, errors_out=errors)
    assert not found.valid
    assert found.problem_count == BAD_ROWS
    # 1,000 of each kind come back as objects; the rest are counted
    assert len(found.issues) == 2_000
    assert found.unlisted == {"quantity": 1_500_000 - 1_000, "site": 1_500_000 - 1_000}
    assert str(found.issues[0]) == (
        "project/data/big.parquet, row 1, column 'quantity': negative quantity -1.0"
    )
    assert str(found.issues[1]) == (
        "project/data/big.parquet, row 2, column 'site': unknown site 'nowhere' (not in tanlu.toml)"
    )
    listing = found.listing()
    assert f"... and {1_500_000 - 20:,} more problems in column 'site' (all are in {errors})" in (
        listing
    )
    written = pd.read_parquet(errors)
    assert len(written) == BAD_ROWS
    assert written["column"].value_counts().to_dict() == {"quantity": 1_500_000, "site": 1_500_000}
    assert written["line"].is_monotonic_increasing
    assert written["line"].iloc[-1] == BAD_ROWS


def test_a_bad_run_writes_no_partial_errors_file_and_raises_with_counts(
    make_project: MakeProject, tmp_path: Path
) -> None:
    from tanlu.ingest.inputs import load_inputs
    from tanlu.project import load_project

    negative = "gz,2022-01-01,2022-01-31,electricity,-1,MWh\n" * 1_005
    root = make_project(negative)
    errors = tmp_path / "e.csv"
    with pytest.raises(InputError) as raised:
        load_inputs(load_project(root), errors_out=errors)
    assert raised.value.problem_count == 1_005
    assert raised.value.unlisted == {"quantity": 5}
    assert "1,005 input problems" in str(raised.value)
    assert len(pd.read_csv(errors)) == 1_005
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_parquet_files_read_by_the_engine_are_checked_as_the_python_reader_checks_them(
    make_project: MakeProject,
) -> None:
    from tanlu.ingest.inputs import load_inputs
    from tanlu.project import load_project

    # a CSV file and two Parquet files the engine reads itself: one typed (numbers, moments)
    # with its header in capitals, one all text
    root = make_project("gz,2022-01-01,2022-01-31,electricity,-1,MWh\n")
    pd.DataFrame(
        {
            "Site": ["bj", "gz"],
            "Period_Start": pd.to_datetime(["2022-01-01", "2022-02-01"]),
            "period_end": pd.to_datetime(["2022-01-31", "2022-01-15"]),
            "activity": ["electricity", "electricity"],
            "quantity": [5.0, 1.0],
            "unit": ["MWh", "MWh"],
        }
    ).to_parquet(root / "data" / "b_typed.parquet", index=False)
    pd.DataFrame(
        {
            "site": ["gz", "gz"],
            "period_start": ["2022-03-01", "2022-04-01"],
            "period_end": ["2022-03-31", "2022-04-30"],
            "activity": ["electricity", "electricity"],
            "quantity": ["7", "seven"],
            "unit": ["MWh", "MWh"],
            "meter": ["M1", "M1"],
        }
    ).to_parquet(root / "data" / "c_text.parquet", index=False)
    with pytest.raises(InputError) as raised:
        load_inputs(load_project(root))
    assert [str(issue) for issue in raised.value.issues] == [
        "project/data/activities.csv, line 2, column 'quantity': negative quantity -1",
        "project/data/b_typed.parquet, row 2, column 'period_end': period_end is before "
        "period_start",
        "project/data/c_text.parquet, row 2, column 'quantity': 'seven' is not a number",
    ]


def test_good_rows_keep_the_order_of_the_files_and_a_moment_gives_its_day_in_china(
    make_project: MakeProject,
) -> None:
    from tanlu.ingest.inputs import load_inputs
    from tanlu.project import load_project

    root = make_project("gz,2022-01-01,2022-01-31,electricity,1,MWh\n")
    # 2021-12-31T16:30Z is 2022-01-01 00:30 in China: the period starts on 2022-01-01
    pd.DataFrame(
        {
            "site": ["bj"],
            "period_start": pd.to_datetime(["2021-12-31T16:30:00Z"]),
            "period_end": pd.to_datetime(["2022-01-31T01:00:00Z"]),
            "activity": ["electricity"],
            "quantity": [2.0],
            "unit": ["MWh"],
        }
    ).to_parquet(root / "data" / "moments.parquet", index=False)
    pd.DataFrame(
        {
            "site": ["bj"],
            "period_start": ["2022-02-01"],
            "period_end": ["2022-02-28"],
            "activity": ["electricity"],
            "quantity": [3.0],
            "unit": ["MWh"],
        }
    ).to_parquet(root / "data" / "plain.parquet", index=False)
    table = load_inputs(load_project(root)).activities.frame()
    assert list(table["source_file"]) == [
        "project/data/activities.csv",
        "project/data/moments.parquet",
        "project/data/plain.parquet",
    ]
    assert list(table["row_id"]) == [0, 1, 2]
    assert list(table["source_line"]) == [2, 1, 1]
    assert list(table["period_start"].dt.strftime("%Y-%m-%d")) == [
        "2022-01-01",
        "2022-01-01",
        "2022-02-01",
    ]
    assert list(table["quantity"]) == [1.0, 2.0, 3.0]


def test_a_parquet_file_without_a_required_column_is_named(make_project: MakeProject) -> None:
    from tanlu.ingest.inputs import load_inputs
    from tanlu.project import load_project

    root = make_project("gz,2022-01-01,2022-01-31,electricity,1,MWh\n")
    pd.DataFrame({"site": ["gz"], "quantity": [1.0]}).to_parquet(
        root / "data" / "short.parquet", index=False
    )
    (root / "data" / "broken.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(InputError) as raised:
        load_inputs(load_project(root))
    messages = [str(issue) for issue in raised.value.issues]
    assert messages[0].startswith("project/data/broken.parquet: cannot read Parquet: ")
    assert messages[1] == (
        "project/data/short.parquet, row 1: missing required column(s): period_start, "
        "period_end, "
        "activity, unit"
    )


def test_an_errors_file_cut_short_is_removed(
    make_project: MakeProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tanlu.ingest import activity_checks
    from tanlu.ingest.inputs import load_inputs
    from tanlu.project import load_project

    root = make_project("gz,2022-01-01,2022-01-31,electricity,-1,MWh\n" * 3)
    real = activity_checks.engine.to_batches

    def full_disk_after_one_batch(expr, rows=200_000):  # type: ignore[no-untyped-def]
        batches = real(expr, 1)
        yield next(batches)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(activity_checks.engine, "to_batches", full_disk_after_one_batch)
    out = tmp_path / "errors"
    out.mkdir()
    with pytest.raises(OSError, match="No space left"):
        load_inputs(load_project(root), errors_out=out / "e.csv")
    # neither the errors file nor the part written before the disk filled is left
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(
    "command", [["inventory", "--year", "2022"], ["electricity", "--year", "2022"]]
)
def test_a_computing_command_writes_every_problem_with_errors_out(
    make_project: MakeProject, tmp_path: Path, command: list[str]
) -> None:
    from typer.testing import CliRunner

    from tanlu.cli import app

    # 60 negative quantities: more than the 50 an error message lists
    root = make_project("gz,2022-01-01,2022-01-31,electricity,-1,MWh\n" * 60)
    errors = tmp_path / "problems.parquet"
    result = CliRunner().invoke(
        app, [command[0], str(root), *command[1:], "--errors-out", str(errors)]
    )
    assert result.exit_code == 1
    assert "60 input problems" in result.stderr
    assert "... and 10 more" in result.stderr
    assert f"Every problem is in {errors}." in result.stderr
    assert len(pd.read_parquet(errors)) == 60

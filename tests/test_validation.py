"""Bad input: every problem names its file, line (or sheet and row), column and reason.

One test per kind of bad input. Each asserts where the issue is (file, line, column), why (a
reason substring), and that nothing is computed from a project with bad rows:
``calculate_inventory`` raises :class:`InputError` with the same issues ``check_inputs`` lists.
Line numbers in CSV files count the header as line 1, so the first data row is line 2.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import tanlu
from tanlu.app import validate_project
from tanlu.errors import InputError, InputIssue, ProjectError
from tanlu.ingest import check_inputs, load_inputs

from .conftest import ACTIVITY_HEADER, BASIC_TOML, MakeProject

HEADER = ACTIVITY_HEADER.rstrip("\n")
# A good row at line 2 of most files below, so the bad row is line 3 (not just "the first row").
# Beijing in June: it cannot overlap or duplicate the Guangzhou rows used as bad rows.
GOOD = "bj,2022-06-01,2022-06-30,electricity,10,MWh\n"


def issues_of(root: Path, year: int = 2022) -> list[InputIssue]:
    """The issues of a project, after checking that nothing is computed from it."""
    project = tanlu.load_project(root)
    found = check_inputs(project)
    assert found, "expected at least one issue"
    with pytest.raises(InputError) as caught:
        tanlu.calculate_inventory(project, year)
    assert caught.value.issues == found
    return found


def only_issue(root: Path) -> InputIssue:
    found = issues_of(root)
    assert len(found) == 1, [str(i) for i in found]
    return found[0]


def assert_issue(
    issue: InputIssue,
    file: str,
    line: int | None,
    column: str | None,
    *reasons: str,
    sheet: str | None = None,
) -> None:
    assert issue.file.endswith(file), issue
    assert issue.line == line, issue
    assert issue.column == column, issue
    assert issue.sheet == sheet, issue
    for reason in reasons:
        assert reason in issue.reason, issue


# ---------------------------------------------------------------------------------------------
# Activity rows: one bad row at line 3 of data/activities.csv
# ---------------------------------------------------------------------------------------------

ROW_CASES = [
    pytest.param(
        "sh,2022-01-01,2022-01-31,electricity,10,MWh",
        "site",
        ["unknown site 'sh'", "tanlu.toml"],
        id="unknown-site",
    ),
    pytest.param(
        "gz,2022-01-01,2022-01-31,electriciti,10,MWh",
        "activity",
        ["unknown activity 'electriciti'"],
        id="unknown-activity",
    ),
    pytest.param(
        "gz,2022-01-01,2022-01-31,electricity,10,furlong",
        "unit",
        ["unknown unit 'furlong'"],
        id="unknown-unit",
    ),
    pytest.param(
        "gz,2022-01-01,2022-01-31,electricity,10,kg",
        "unit",
        ["'kg' measures mass", "energy (MWh)", "electricity"],
        id="electricity-in-kg",
    ),
    pytest.param(
        # diesel is measured in t; L, GJ, tce ... bridge via density and NCV, but km cannot.
        "gz,2022-01-01,2022-01-31,diesel_stationary,10,km",
        "unit",
        ["'km' measures distance", "mass (t)", "diesel_stationary"],
        id="diesel-in-km",
    ),
    pytest.param(
        "gz,2022-01-01,2022-01-31,electricity,ten,MWh",
        "quantity",
        ["'ten' is not a number"],
        id="non-numeric-quantity",
    ),
    pytest.param(
        "gz,2022-01-01,2022-01-31,electricity,-5,MWh",
        "quantity",
        ["negative quantity -5"],
        id="negative-quantity",
    ),
    pytest.param(
        "gz,2022-01-01,2022-01-31,electricity,,MWh",
        "quantity",
        ["quantity is empty"],
        id="empty-quantity",
    ),
    pytest.param(
        ",2022-01-01,2022-01-31,electricity,10,MWh",
        "site",
        ["site is empty"],
        id="empty-site",
    ),
    pytest.param(
        "gz,2022-02-30,2022-03-31,electricity,10,MWh",  # there is no 30 February
        "period_start",
        ["'2022-02-30' is not a date"],
        id="bad-date",
    ),
    pytest.param(
        "gz,2022-01-01,31/01/2022,electricity,10,MWh",
        "period_end",
        ["'31/01/2022' is not a date", "YYYY-MM-DD"],
        id="bad-date-format",
    ),
    pytest.param(
        "gz,2022-02-01,2022-01-31,electricity,10,MWh",
        "period_end",
        ["period_end is before period_start"],
        id="end-before-start",
    ),
    pytest.param(
        # project years are 2021 (base) and 2022: all of 2019 touches neither
        "gz,2019-01-01,2019-12-31,electricity,10,MWh",
        "period_start",
        ["outside every project year", "2021, 2022"],
        id="period-outside-project-years",
    ),
]


@pytest.mark.parametrize(("row", "column", "reasons"), ROW_CASES)
def test_bad_activity_row(
    make_project: MakeProject, row: str, column: str, reasons: list[str]
) -> None:
    issue = only_issue(make_project(GOOD + row + "\n"))
    assert_issue(issue, "data/activities.csv", 3, column, *reasons)
    assert str(issue).startswith("project/data/activities.csv, line 3, column")


def test_diesel_in_volume_mass_and_energy_units_is_valid(make_project: MakeProject) -> None:
    root = make_project(
        "gz,2022-01-01,2022-01-31,diesel_stationary,1000,L\n"
        "gz,2022-02-01,2022-02-28,diesel_stationary,100,GJ\n"
        "gz,2022-03-01,2022-03-31,diesel_stationary,10,tce\n"
        "gz,2022-04-01,2022-04-30,diesel_stationary,2,t\n"
        "gz,2022-05-01,2022-05-31,diesel_stationary,500,kWh\n"
    )
    project = tanlu.load_project(root)
    assert check_inputs(project) == []
    conversions = load_inputs(project).unit_conversions.set_index("unit")["multiplier"]
    # diesel_stationary: density 0.8299 t/m3, NCV 42.652 GJ/t (fuel_properties.csv)
    assert conversions["L"] == pytest.approx(0.001 * 0.8299, rel=1e-12)  # 1 L = 0.001 m3
    assert conversions["GJ"] == pytest.approx(1 / 42.652, rel=1e-12)
    assert conversions["tce"] == pytest.approx(29.3076 / 42.652, rel=1e-12)  # 1 tce = 29.3076 GJ
    assert conversions["t"] == pytest.approx(1.0)
    # kWh is energy like GJ: 1 kWh = 0.0036 GJ
    assert conversions["kWh"] == pytest.approx(0.0036 / 42.652, rel=1e-12)


def test_duplicate_row_names_the_line_it_duplicates(make_project: MakeProject) -> None:
    root = make_project(
        "gz,2022-01-01,2022-01-31,electricity,10,MWh\n"  # line 2
        "gz,2022-02-01,2022-02-28,electricity,12,MWh\n"  # line 3
        "gz,2022-01-01,2022-01-31,electricity,10,MWh\n"  # line 4: same as line 2
    )
    issue = only_issue(root)
    assert_issue(issue, "data/activities.csv", 4, None, "duplicate of", "activities.csv, line 2")


def test_overlapping_periods_for_the_same_site_and_activity(make_project: MakeProject) -> None:
    root = make_project(
        "gz,2022-01-01,2022-01-31,electricity,100,MWh\n"  # line 2
        "gz,2022-01-15,2022-02-14,electricity,90,MWh\n"  # line 3: 15-31 Jan counted twice
    )
    issue = only_issue(root)
    assert_issue(
        issue, "data/activities.csv", 3, "period_start", "overlaps", "activities.csv, line 2"
    )
    assert "double counting" in issue.reason


def test_every_row_overlapping_a_longer_period_is_reported(make_project: MakeProject) -> None:
    root = make_project(
        "gz,2022-01-01,2022-12-31,electricity,1200,MWh\n"  # line 2: the annual bill
        "gz,2022-02-01,2022-02-28,electricity,100,MWh\n"  # line 3: inside line 2
        "gz,2022-03-01,2022-03-31,electricity,100,MWh\n"  # line 4: also inside line 2
    )
    found = issues_of(root)
    assert [(i.line, i.column) for i in found] == [(3, "period_start"), (4, "period_start")]
    assert all("activities.csv, line 2" in i.reason for i in found)


def test_two_meters_on_overlapping_periods_are_not_flagged(make_project: MakeProject) -> None:
    header = HEADER + ",meter\n"
    root = make_project(
        files={
            "data/activities.csv": header
            + "gz,2022-01-01,2022-01-31,electricity,100,MWh,main\n"
            + "gz,2022-01-15,2022-02-14,electricity,50,MWh,chiller\n"
        }
    )
    project = tanlu.load_project(root)
    assert check_inputs(project) == []
    # both periods lie in 2022: (100 + 50) MWh x 0.4403 (Guangdong 2022) = 66.045 t
    result = tanlu.calculate_inventory(project, 2022)
    assert result.scope2_location_tco2e == pytest.approx(150 * 0.4403, rel=1e-12)


def test_overlapping_scope3_trips_are_not_flagged(make_project: MakeProject) -> None:
    root = make_project(
        "gz,2022-03-01,2022-03-03,air_travel_domestic,1500,passenger_km\n"
        "gz,2022-03-02,2022-03-04,air_travel_domestic,1500,passenger_km\n"
    )
    project = tanlu.load_project(root)
    assert check_inputs(project) == []
    result = tanlu.calculate_inventory(project, 2022)
    # two trips of the same distance: each row carries half of scope 3
    per_row = result.lines.groupby("source_line")["emissions_tco2e"].sum()
    assert per_row.loc[2] == pytest.approx(per_row.loc[3], rel=1e-12)
    assert result.scope3_tco2e == pytest.approx(2 * per_row.loc[2], rel=1e-12)
    assert result.scope3_tco2e > 0


def test_category_override_outside_the_activity_scope(make_project: MakeProject) -> None:
    header = HEADER + ",category\n"
    root = make_project(
        files={
            "data/activities.csv": header
            # line 2: a scope 3 row moved to another scope 3 category: allowed
            + "gz,2022-01-01,2022-01-31,spend_naics_334111,10,CNY,cat1_purchased_goods_services\n"
            # line 3: a scope 2 row may not change category (scope 2 splits by activity)
            + "gz,2022-02-01,2022-02-28,electricity,10,MWh,stationary_combustion\n"
        }
    )
    issue = only_issue(root)
    assert_issue(
        issue,
        "data/activities.csv",
        3,
        "category",
        "'stationary_combustion' is not a scope 3 category",
    )


# ---------------------------------------------------------------------------------------------
# Whole files
# ---------------------------------------------------------------------------------------------


def test_missing_required_column(make_project: MakeProject) -> None:
    body = (
        "site,period_start,period_end,activity,quantity\ngz,2022-01-01,2022-01-31,electricity,5\n"
    )
    issue = only_issue(make_project(files={"data/activities.csv": body}))
    assert_issue(issue, "data/activities.csv", 1, None, "missing required column", "unit")


def test_unknown_extra_column(make_project: MakeProject) -> None:
    body = HEADER + ",colour\ngz,2022-01-01,2022-01-31,electricity,5,MWh,red\n"
    issue = only_issue(make_project(files={"data/activities.csv": body}))
    assert_issue(issue, "data/activities.csv", 1, None, "unknown column", "colour")


def test_empty_file(make_project: MakeProject) -> None:
    issue = only_issue(make_project(files={"data/activities.csv": ""}))
    assert_issue(issue, "data/activities.csv", None, None, "empty")


def test_file_that_is_not_utf8(make_project: MakeProject) -> None:
    root = make_project()
    text = HEADER + ",note\ngz,2022-01-01,2022-01-31,electricity,5,MWh,一月电费\n"
    (root / "data" / "activities.csv").write_bytes(text.encode("gb18030"))
    issue = only_issue(root)
    assert_issue(issue, "data/activities.csv", None, None, "not UTF-8")


def _frame(rows: list[tuple[str, str, str, str, float, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=HEADER.split(","))


def test_xlsx_bad_rows_name_sheet_and_row(make_project: MakeProject) -> None:
    root = make_project()
    first = _frame(
        [
            ("gz", "2022-01-01", "2022-01-31", "electricity", 100.0, "MWh"),  # row 2
            ("gz", "2022-02-01", "2022-02-28", "electricity", -3.0, "MWh"),  # row 3: negative
        ]
    )
    second = _frame(
        [
            ("bj", "2022-01-01", "2022-01-31", "electricity", 10.0, "MWh"),  # row 2
            ("bj", "2022-02-01", "2022-02-28", "electricity", 10.0, "MWh"),  # row 3
            ("sh", "2022-03-01", "2022-03-31", "electricity", 10.0, "MWh"),  # row 4: site
        ]
    )
    with pd.ExcelWriter(root / "data" / "activities_x.xlsx", engine="openpyxl") as writer:
        first.to_excel(writer, sheet_name="Guangzhou", index=False)
        second.to_excel(writer, sheet_name="Beijing", index=False)
    found = issues_of(root)
    assert len(found) == 2, [str(i) for i in found]
    by_sheet = {i.sheet: i for i in found}
    assert_issue(
        by_sheet["Guangzhou"],
        "data/activities_x.xlsx",
        3,
        "quantity",
        "negative quantity",
        sheet="Guangzhou",
    )
    assert_issue(
        by_sheet["Beijing"],
        "data/activities_x.xlsx",
        4,
        "site",
        "unknown site 'sh'",
        sheet="Beijing",
    )
    assert "[sheet Guangzhou], row 3" in str(by_sheet["Guangzhou"])


def test_xlsx_duplicate_across_sheets_names_the_sheet(make_project: MakeProject) -> None:
    root = make_project()
    row = ("gz", "2022-01-01", "2022-01-31", "electricity", 100.0, "MWh")
    with pd.ExcelWriter(root / "data" / "activities_x.xlsx", engine="openpyxl") as writer:
        _frame([row]).to_excel(writer, sheet_name="January", index=False)
        _frame([row]).to_excel(writer, sheet_name="Copy", index=False)
    issue = only_issue(root)
    assert_issue(issue, "data/activities_x.xlsx", 2, None, "duplicate of", sheet="Copy")
    assert "January" in issue.reason


def test_parquet_bad_rows_are_numbered_from_one(make_project: MakeProject) -> None:
    root = make_project()
    frame = _frame(
        [
            ("gz", "2022-01-01", "2022-01-31", "electricity", -1.0, "MWh"),  # row 1: negative
            ("gz", "2022-02-01", "2022-02-28", "electricity", 10.0, "MWh"),  # row 2
            ("gz", "2022-03-01", "2022-03-31", "electriciti", 10.0, "MWh"),  # row 3: activity
        ]
    )
    frame["period_start"] = pd.to_datetime(frame["period_start"])
    frame["period_end"] = pd.to_datetime(frame["period_end"])
    frame.to_parquet(root / "data" / "bad.parquet")
    found = issues_of(root)
    assert len(found) == 2, [str(i) for i in found]
    assert_issue(found[0], "data/bad.parquet", 1, "quantity", "negative quantity")
    assert_issue(found[1], "data/bad.parquet", 3, "activity", "unknown activity 'electriciti'")


def test_parquet_issue_message_says_row(make_project: MakeProject) -> None:
    root = make_project()
    _frame([("gz", "2022-01-01", "2022-01-31", "electricity", -1.0, "MWh")]).to_parquet(
        root / "data" / "bad.parquet"
    )
    assert "bad.parquet, row 1," in str(only_issue(root))


def test_bad_rows_in_several_files_reported_at_once_sorted(make_project: MakeProject) -> None:
    root = make_project(
        "gz,2022-01-01,2022-01-31,electricity,10,MWh\n"  # line 2
        "sh,2022-01-01,2022-01-31,electricity,10,MWh\n"  # line 3: unknown site
        "gz,2022-02-01,2022-02-28,electricity,ten,MWh\n"  # line 4: not a number
        "gz,2022-03-01,2022-03-31,electricity,10,kg\n",  # line 5: wrong dimension
        files={
            "data/activities_b.csv": HEADER
            + "\nbj,2022-01-01,2022-01-31,electricity,-2,MWh\n",  # line 2: negative
            "data/instruments.csv": "instrument_id,kind,vintage_year,energy_mwh\n"
            "i1,rec,2022,5\n",  # line 2: unknown kind
        },
    )
    found = issues_of(root)
    where = [(Path(i.file).name, i.line, i.column) for i in found]
    assert where == [
        ("activities.csv", 3, "site"),
        ("activities.csv", 4, "quantity"),
        ("activities.csv", 5, "unit"),
        ("activities_b.csv", 2, "quantity"),
        ("instruments.csv", 2, "kind"),
    ]


def test_file_level_and_row_issues_are_sorted_together(make_project: MakeProject) -> None:
    root = make_project(
        "gz,2022-01-01,2022-01-31,electricity,ten,MWh\n",  # line 2: not a number
        files={"data/activities_b.csv": "site\ngz\n"},  # line 1: missing columns
    )
    found = issues_of(root)
    assert [(Path(i.file).name, i.line) for i in found] == [
        ("activities.csv", 2),
        ("activities_b.csv", 1),
    ]


def test_factor_file_and_activity_issues_are_reported_at_once(make_project: MakeProject) -> None:
    root = make_project(
        "gz,2022-01-01,2022-01-31,electricity,ten,MWh\n",  # line 2: not a number
        files={
            "factors/overrides.csv": "factor_id,activity,gas,value,unit,source\n"
            "f1,electricity,XO2,0.3,t/MWh,me\n"  # line 2: unknown gas
        },
    )
    found = issues_of(root)
    assert {(Path(i.file).name, i.line, i.column) for i in found} == {
        ("activities.csv", 2, "quantity"),
        ("overrides.csv", 2, "gas"),
    }


# ---------------------------------------------------------------------------------------------
# tanlu.toml
# ---------------------------------------------------------------------------------------------


def test_missing_tanlu_toml(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match=r"no tanlu\.toml"):
        tanlu.load_project(tmp_path)


def test_toml_syntax_error_names_the_line(make_project: MakeProject) -> None:
    # unterminated string on line 2 of the file
    root = make_project(toml=BASIC_TOML.replace('name = "Toy Co"', 'name = "Toy Co'))
    with pytest.raises(ProjectError) as caught:
        tanlu.load_project(root)
    message = str(caught.value)
    assert "tanlu.toml" in message
    assert "line 2" in message


TOML_CASES = [
    pytest.param(
        BASIC_TOML.replace('province = "Beijing"', 'province = "Atlantis"'),
        ["sites[1].province", "unknown province 'Atlantis'", "'bj'"],
        id="unknown-province",
    ),
    pytest.param(
        BASIC_TOML.replace('entity = "parent"\nkind', 'entity = "child"\nkind'),
        ["sites[1]", "unknown entity 'child'"],
        id="unknown-entity",
    ),
    pytest.param(
        BASIC_TOML.replace('id = "bj"', 'id = "gz"'),
        ["duplicate site id", "gz"],
        id="duplicate-site-id",
    ),
    pytest.param(
        BASIC_TOML.replace('name = "Parent"', 'name = "Parent"\nownership_share = 1.5'),
        ["entities[0].ownership_share", "less than or equal to 1"],
        id="ownership-share-above-one",
    ),
    pytest.param(
        BASIC_TOML.replace("base_year = 2021", "base_year = 2021\nbase_yaer = 2020"),
        ["organisation.base_yaer", "Extra inputs are not permitted"],
        id="unknown-field",
    ),
]


@pytest.mark.parametrize(("toml", "parts"), TOML_CASES)
def test_bad_tanlu_toml(make_project: MakeProject, toml: str, parts: list[str]) -> None:
    root = make_project(GOOD, toml=toml)
    with pytest.raises(ProjectError) as caught:
        tanlu.load_project(root)
    message = str(caught.value)
    assert "tanlu.toml" in message
    for part in parts:
        assert part in message


# ---------------------------------------------------------------------------------------------
# Instruments (data/instruments*.csv)
# ---------------------------------------------------------------------------------------------

INSTRUMENT_HEADER = (
    "instrument_id,kind,vintage_year,energy_mwh,site,supplier_factor_tco2e_per_mwh\n"
    "gec-1,gec,2022,100,,\n"  # line 2: good
)
INSTRUMENT_CASES = [
    pytest.param("rec-1,rec,2022,10,,", "kind", ["'rec' is not one of"], id="unknown-kind"),
    pytest.param(
        "gec-2,gec,2022,-5,,", "energy_mwh", ["-5 is not a non-negative"], id="negative-energy"
    ),
    pytest.param("gec-2,gec,2022,5,sh,", "site", ["unknown site 'sh'"], id="unknown-site"),
    pytest.param(
        "gec-1,gec,2022,5,,", "instrument_id", ["'gec-1' appears twice"], id="duplicate-id"
    ),
]


@pytest.mark.parametrize(("row", "column", "reasons"), INSTRUMENT_CASES)
def test_bad_instrument_row(
    make_project: MakeProject, row: str, column: str, reasons: list[str]
) -> None:
    files = {"data/instruments.csv": INSTRUMENT_HEADER + row + "\n"}
    issue = only_issue(make_project(GOOD, files=files))
    assert_issue(issue, "data/instruments.csv", 3, column, *reasons)


def test_supplier_factor_instrument_without_factor_column(make_project: MakeProject) -> None:
    files = {
        "data/instruments.csv": "instrument_id,kind,vintage_year,energy_mwh,site\n"
        "sup-1,supplier_factor,2022,5,bj\n"
    }
    issue = only_issue(make_project(GOOD, files=files))
    assert_issue(
        issue,
        "data/instruments.csv",
        2,
        "supplier_factor_tco2e_per_mwh",
        "needs a non-negative factor",
    )


def test_supplier_factor_instrument_with_empty_factor_cell(make_project: MakeProject) -> None:
    files = {"data/instruments.csv": INSTRUMENT_HEADER + "sup-1,supplier_factor,2022,5,bj,\n"}
    issue = only_issue(make_project(GOOD, files=files))
    assert_issue(
        issue,
        "data/instruments.csv",
        3,
        "supplier_factor_tco2e_per_mwh",
        "needs a non-negative factor",
    )


# ---------------------------------------------------------------------------------------------
# Factor overrides (factors/*.csv)
# ---------------------------------------------------------------------------------------------

FACTOR_HEADER = (
    "factor_id,activity,gas,value,unit,region_level,region,year_start,year_end,source\n"
    # line 2: good (Beijing 2022 override)
    "my_bj_2022,electricity,CO2,0.5,t/MWh,province,Beijing,2022,2022,meter audit 2023\n"
)
FACTOR_CASES = [
    pytest.param(
        "f1,electriciti,CO2,0.3,t/MWh,province,Guangdong,2022,2022,me",
        "activity",
        ["unknown activity 'electriciti'"],
        id="unknown-activity",
    ),
    pytest.param(
        "f1,electricity,XO2,0.3,t/MWh,province,Guangdong,2022,2022,me",
        "gas",
        ["unknown gas 'XO2'"],
        id="unknown-gas",
    ),
    pytest.param(
        "f1,electricity,CO2,0.3,kg/parsec,province,Guangdong,2022,2022,me",
        "unit",
        ["parsec"],
        id="bad-unit",
    ),
    pytest.param(
        "f1,electricity,CO2,-0.3,t/MWh,province,Guangdong,2022,2022,me",
        "value",
        ["-0.3", "non-negative"],
        id="negative-value",
    ),
    pytest.param(
        "f1,electricity,CO2,0.3,t/MWh,province,Guangdong,2022,2022,",
        "source",
        ["needs a source"],
        id="missing-source",
    ),
    pytest.param(
        "cn_mee_nbs_2022_province_guangdong_electricity,electricity,CO2,0.3,t/MWh,"
        "province,Guangdong,2022,2022,me",
        "factor_id",
        ["'cn_mee_nbs_2022_province_guangdong_electricity' is already in the library"],
        id="library-factor-id",
    ),
]


@pytest.mark.parametrize(("row", "column", "reasons"), FACTOR_CASES)
def test_bad_factor_override_row(
    make_project: MakeProject, row: str, column: str, reasons: list[str]
) -> None:
    files = {"factors/overrides.csv": FACTOR_HEADER + row + "\n"}
    issue = only_issue(make_project(GOOD, files=files))
    assert_issue(issue, "factors/overrides.csv", 3, column, *reasons)


def test_valid_factor_override_wins_over_the_library(make_project: MakeProject) -> None:
    files = {
        "factors/overrides.csv": "factor_id,activity,gas,value,unit,region_level,region,"
        "year_start,year_end,source\n"
        "my_gd_2022,electricity,CO2,0.3,t/MWh,province,Guangdong,2022,2022,supplier letter\n"
    }
    root = make_project("gz,2022-01-01,2022-12-31,electricity,1000,MWh\n", files=files)
    project = tanlu.load_project(root)
    assert check_inputs(project) == []
    result = tanlu.calculate_inventory(project, 2022)
    # 1,000 MWh x 0.3 t/MWh = 300 t (the library's Guangdong 2022 factor 0.4403 is not used)
    assert result.scope2_location_tco2e == pytest.approx(300.0, rel=1e-12)
    assert set(result.lines["factor_id"]) == {"my_gd_2022"}
    used = result.factors_used.set_index("factor_id")
    assert used.loc["my_gd_2022", "status"] == "user"
    assert used.loc["my_gd_2022", "source"] == "supplier letter"
    assert "cn_mee_nbs_2022_province_guangdong_electricity" not in used.index
    assert result.fallbacks.loc[result.fallbacks["activity"] == "electricity"].empty


# ---------------------------------------------------------------------------------------------
# Line numbers survive blank lines; names people type are accepted where they mean the same
# ---------------------------------------------------------------------------------------------


def test_blank_lines_are_skipped_but_counted(make_project: MakeProject) -> None:
    # line 2 good, line 3 blank, line 4 only commas, line 5 bad
    rows = GOOD + "\n" + ",,,,,\n" + "gz,2022-01-01,2022-01-31,electricity,-5,MWh\n"
    issue = only_issue(make_project(rows))
    assert_issue(issue, "data/activities.csv", 5, "quantity", "negative quantity")


def test_blank_lines_in_a_factor_file_keep_line_numbers(make_project: MakeProject) -> None:
    files = {
        "factors/overrides.csv": "factor_id,activity,gas,value,unit,source\n"
        "\n"
        "my_bad,electricity,CO2,0.3,t/kg,supplier letter\n"
    }
    issue = only_issue(make_project(GOOD, files=files))
    # line 3; the message says which side is which
    assert_issue(
        issue, "factors/overrides.csv", 3, "unit", "per 'kg' (mass)", "'electricity' is measured"
    )


def test_the_same_factor_id_in_two_project_files(make_project: MakeProject) -> None:
    header = "factor_id,activity,gas,value,unit,source\n"
    row = "my_gd,electricity,CO2,0.3,t/MWh,supplier letter\n"
    files = {"factors/a.csv": header + row, "factors/b.csv": header + row}
    issue = only_issue(make_project(GOOD, files=files))
    assert_issue(issue, "factors/b.csv", 2, "factor_id", "appears twice")


@pytest.mark.parametrize("market", ["china", "中国", "全国"])
def test_market_spellings_of_china(make_project: MakeProject, market: str) -> None:
    files = {
        "data/instruments.csv": "instrument_id,kind,vintage_year,energy_mwh,market\n"
        f"gec-1,gec,2022,4,{market}\n"
    }
    result = tanlu.calculate_inventory(tanlu.load_project(make_project(GOOD, files=files)), 2022)
    assert result.scope2_market.unallocated.empty
    # 10 MWh at bj, 4 MWh of GECs: 6 MWh x 0.5856 (national, excluding market-traded non-fossil)
    assert result.scope2_market_tco2e == pytest.approx(6 * 0.5856, rel=1e-12)


# ---------------------------------------------------------------------------------------------
# Instrument quality criteria: vintage, GEC validity, RE100 facility age
# ---------------------------------------------------------------------------------------------

QUALITY_HEADER = (
    "instrument_id,kind,vintage_year,energy_mwh,production_start,production_end,"
    "retirement_date,commissioning_date\n"
)


def test_vintage_outside_the_production_period(make_project: MakeProject) -> None:
    files = {"data/instruments.csv": QUALITY_HEADER + "g1,gec,2022,5,2020-01-01,2020-12-31,,\n"}
    issue = only_issue(make_project(GOOD, files=files))
    assert_issue(issue, "data/instruments.csv", 2, "vintage_year", "outside the production")


def test_expired_gec(make_project: MakeProject) -> None:
    # produced in March 2024: valid for 2 years from the production month, to 2026-03-31
    files = {
        "data/instruments.csv": QUALITY_HEADER + "g1,gec,2024,5,2024-03-01,2024-03-31,2026-06-01,\n"
    }
    toml = BASIC_TOML.replace(
        "reporting_years = [2021, 2022]", "reporting_years = [2021, 2022, 2024]"
    )
    issue = only_issue(make_project(GOOD, toml=toml, files=files))
    assert_issue(issue, "data/instruments.csv", 2, "retirement_date", "expired on 2026-03-31")


def test_gec_produced_before_2024_is_valid_to_the_end_of_2025(make_project: MakeProject) -> None:
    files = {
        "data/instruments.csv": QUALITY_HEADER + "g1,gec,2022,5,2022-05-01,2022-05-31,2025-12-31,\n"
    }
    project = tanlu.load_project(make_project(GOOD, files=files))
    assert check_inputs(project) == []


def test_bad_instrument_date(make_project: MakeProject) -> None:
    files = {"data/instruments.csv": QUALITY_HEADER + "g1,gec,2022,5,2022-13-01,,,\n"}
    issue = only_issue(make_project(GOOD, files=files))
    assert_issue(issue, "data/instruments.csv", 2, "production_start", "not a date")


def test_re100_facility_age(make_project: MakeProject) -> None:
    files = {
        "data/instruments.csv": QUALITY_HEADER
        + "new,green_power_contract,2022,3,,,,2015-06-30\n"  # 7 years old in 2022
        + "old,green_power_contract,2022,3,,,,2001-06-30\n"  # 21 years: not RE100-eligible
        + "unknown,green_power_contract,2022,3,,,,\n"
    }
    project = tanlu.load_project(make_project(GOOD, files=files))
    allocations = tanlu.calculate_inventory(project, 2022).scope2_market.allocations
    eligible = allocations.set_index("instrument_id")["re100_eligible"]
    assert bool(eligible["new"])
    assert not bool(eligible["old"])
    assert pd.isna(eligible["unknown"])


def test_instrument_cells_with_spaces_and_ignored_text(make_project: MakeProject) -> None:
    files = {
        "data/instruments.csv": "instrument_id,kind,vintage_year,energy_mwh,production_start,"
        "supplier_factor_tco2e_per_mwh\n"
        "g1,gec,2022,4,2022-01-01 ,n/a\n"  # a trailing space; text where a factor is ignored
    }
    project = tanlu.load_project(make_project(GOOD, files=files))
    assert check_inputs(project) == []
    # 10 MWh at bj, 4 MWh of GECs: 6 MWh x 0.5856
    result = tanlu.calculate_inventory(project, 2022)
    assert result.scope2_market_tco2e == pytest.approx(6 * 0.5856, rel=1e-12)


def test_extension_activity_can_name_a_bundled_upstream(make_project: MakeProject) -> None:
    files = {
        "factors/activities_extra.csv": "activity,name_en,name_zh,scope,category,canonical_unit,"
        "method,upstream_activity\n"
        "biodiesel_blend,Biodiesel blend,生物柴油,1,mobile_combustion,t,fuel-based,wtt_diesel\n",
        "factors/extra.csv": "factor_id,activity,gas,value,unit,source\n"
        "bd,biodiesel_blend,CO2,2.5,t/t,supplier data sheet\n",
    }
    rows = GOOD + "bj,2022-03-01,2022-03-31,biodiesel_blend,2,t\n"
    project = tanlu.load_project(make_project(rows, files=files))
    assert check_inputs(project) == []
    result = tanlu.calculate_inventory(project, 2022)
    # 2 t x 2.5 tCO2/t = 5 t in scope 1; its well-to-tank 2 t x 0.7520276 in category 3
    categories = result.by_category.set_index("category")["emissions_tco2e"]
    assert categories["mobile_combustion"] == pytest.approx(5.0)
    assert categories["cat3_fuel_energy_related"] == pytest.approx(2 * 0.7520276)


def test_tanlu_toml_errors_name_the_line(make_project: MakeProject) -> None:
    # the bad field's own line, and for a check over the whole file the line of the table
    toml = BASIC_TOML.replace('name = "Parent"', 'name = "Parent"\nownership_share = 1.5')
    line = toml.splitlines().index("ownership_share = 1.5") + 1
    with pytest.raises(ProjectError, match=rf"entities\[0\]\.ownership_share \(line {line}\):"):
        tanlu.load_project(make_project(GOOD, toml=toml))
    target = '\n[[targets]]\nkind = "carbon_neutral"\nyear = 2030\nmilestones = { 2025 = 0.5 }\n'
    toml = BASIC_TOML + target
    line = toml.splitlines().index("[[targets]]") + 1
    with pytest.raises(ProjectError, match=rf"targets\[0\] \(line {line}\): milestones apply"):
        tanlu.load_project(make_project(GOOD, toml=toml, name="milestones"))


def test_toml_key_lines() -> None:
    from tanlu.project import toml_key_lines

    text = (
        "[organisation]\n"  # 1
        'name = "X"  # a comment\n'  # 2
        "reporting_years = [\n"  # 3
        "  2021,\n"  # 4: inside the value
        "]\n"  # 5
        "[[sites]]\n"  # 6
        'id = "a"\n'  # 7
        "[[sites]]\n"  # 8
        "ranges = { a = [1, 2] }\n"  # 9
        "[roadmap.levers.gec]\n"  # 10
        "price_cny_per_mwh = 3\n"  # 11
    )
    lines = toml_key_lines(text)
    assert lines[("organisation", "name")] == 2
    assert lines[("organisation", "reporting_years")] == 3
    assert lines[("sites", 0, "id")] == 7
    assert lines[("sites", 1)] == 8
    assert lines[("sites", 1, "ranges")] == 9
    assert lines[("roadmap", "levers", "gec", "price_cny_per_mwh")] == 11

    # brackets inside strings and keys inside multi-line strings do not count
    tricky = '[organisation]\nname = "Acme [China"\nnote = """\nkind = 3\n"""\nbase_year = 2021\n'
    lines = toml_key_lines(tricky)
    assert lines[("organisation", "base_year")] == 6
    assert ("organisation", "kind") not in lines


@pytest.mark.parametrize(
    ("roadmap", "message"),
    [
        # a scenario's override out of its range
        (
            "[roadmap.scenarios.boom]\ngrowth_share_per_year = { office = 99 }\n",
            "roadmap.scenarios.boom: growth_share_per_year.office: Input should be less than or "
            "equal to 10",
        ),
        # a scenario naming a site the project does not have
        (
            "[roadmap.scenarios.elsewhere]\nsite_growth_share_per_year = { nowhere = 0.1 }\n",
            "roadmap.scenarios.elsewhere: roadmap.site_growth_share_per_year: unknown site "
            "'nowhere'",
        ),
        # a scenario naming a lever that does not exist
        (
            "[roadmap.scenarios.fiction]\nlevers = { teleport = { enabled = true } }\n",
            "roadmap.scenarios.fiction: roadmap.levers.teleport: unknown lever",
        ),
        # a scenario's negative price
        (
            "[roadmap.scenarios.cheap]\nlevers = { gec = { price_cny_per_mwh = -50 } }\n",
            "roadmap.scenarios.cheap: roadmap.levers.gec.price_cny_per_mwh: -50 is negative",
        ),
        # the settings as written: an unknown lever parameter
        (
            "[roadmap.levers.gec]\nwarp_factor = 3\n",
            "roadmap.levers.gec.warp_factor: unknown parameter",
        ),
    ],
)
def test_validation_reads_the_roadmap_settings_and_every_scenario(
    make_project: MakeProject, roadmap: str, message: str
) -> None:
    """`tanlu validate` fails on a roadmap setting a roadmap would fail on, naming the scenario,
    rather than a job or a report failing later on the same tanlu.toml."""
    root = make_project(GOOD, toml=BASIC_TOML + "\n" + roadmap)
    with pytest.raises(ProjectError) as caught:
        validate_project(root)
    assert message in str(caught.value)
    assert str(root / "tanlu.toml") in str(caught.value)
    # the same settings, good: the project is valid
    fine = make_project(GOOD, toml=BASIC_TOML, name="fine")
    assert validate_project(fine).to_dict()["valid"] is True

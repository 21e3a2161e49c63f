"""The ``tanlu`` command line: exit codes, one-line errors, and JSON a program can read."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from tanlu.cli import app

from .conftest import ACTIVITY_HEADER, MakeProject

GUANGDONG_2022 = 0.4403  # MEE/NBS 2022, Guangdong [tCO2/MWh] (factors_electricity_cn.csv)
TOTAL_KEYS = {
    "scope1_tco2e",
    "scope2_location_tco2e",
    "scope2_market_tco2e",
    "scope3_tco2e",
    "total_location_tco2e",
    "total_market_tco2e",
    "outside_scopes_tco2e",
}
TOP_KEYS = {
    "schema",
    "totals",
    "by_scope",
    "by_category",
    "by_site",
    "by_gas",
    "scope2_market",
    "fallbacks",
    "factors_used",
}
GOOD_ROWS = (
    "gz,2022-01-01,2022-12-31,electricity,1000,MWh\n"
    "bj,2022-03-01,2022-03-01,diesel_stationary,2,t\n"
)
BAD_ROWS = (
    "gz,2022-01-01,2022-01-31,electricity,10,MWh\n"  # line 2: good
    "sh,2022-02-01,2022-02-28,electricity,10,MWh\n"  # line 3: unknown site
    "gz,2022-03-01,2022-03-31,electricity,ten,MWh\n"  # line 4: not a number
)
BAD_FILES = {
    "data/activities_b.csv": ACTIVITY_HEADER + "bj,2022-01-01,2022-01-31,electricity,-1,MWh\n"
}


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def assert_clean_failure(result: Result, *parts: str) -> None:
    """Non-zero exit, a message naming the problem, and no Python traceback."""
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit), result.exception
    for part in parts:
        assert part in result.output, result.output


def inventory_json(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


# ---------------------------------------------------------------------------------------------
# init, validate, inventory
# ---------------------------------------------------------------------------------------------


def test_init_then_validate_then_inventory_json(tmp_path: Path) -> None:
    project = tmp_path / "new"
    result = invoke("init", project)
    assert result.exit_code == 0, result.output
    assert (project / "tanlu.toml").is_file()
    year = tomllib.loads((project / "tanlu.toml").read_text(encoding="utf-8"))["organisation"][
        "base_year"
    ]

    result = invoke("validate", project)
    assert result.exit_code == 0, result.output
    assert "OK" in result.output

    data = inventory_json(invoke("inventory", project, "--year", str(year), "--json"))
    assert set(data) >= TOP_KEYS
    assert data["schema"] == "tanlu.inventory/1"
    assert data["year"] == year
    totals = data["totals"]
    assert set(totals) == TOTAL_KEYS
    assert totals["total_location_tco2e"] == pytest.approx(
        totals["scope1_tco2e"] + totals["scope2_location_tco2e"] + totals["scope3_tco2e"],
        rel=1e-12,
    )
    assert totals["total_market_tco2e"] == pytest.approx(
        totals["scope1_tco2e"] + totals["scope2_market_tco2e"] + totals["scope3_tco2e"],
        rel=1e-12,
    )
    # The example rows: 120,000 + 110,000 kWh = 230 MWh of electricity at the Guangdong site,
    # times the (single-gas) electricity factor the inventory reports it used.
    electricity = [
        f
        for f in data["factors_used"]
        if f["activity"] == "electricity" and f["factor_kind"] == "default"
    ]
    assert len(electricity) == 1
    assert totals["scope2_location_tco2e"] == pytest.approx(
        230 * electricity[0]["value"], rel=1e-12
    )
    assert totals["scope1_tco2e"] > 0  # 400 L of diesel in the back-up generator
    # category 3 only, derived from that diesel: 400 L = 0.4 m3 x 0.8299 t/m3 x 0.7520276 t/t
    assert totals["scope3_tco2e"] == pytest.approx(0.4 * 0.8299 * 0.7520276, rel=1e-9)


def test_inventory_json_hand_checked(make_project: MakeProject) -> None:
    data = inventory_json(invoke("inventory", make_project(GOOD_ROWS), "--year", "2022", "--json"))
    totals = data["totals"]
    # gz: 1,000 MWh x 0.4403 = 440.3 tCO2
    assert totals["scope2_location_tco2e"] == pytest.approx(1000 * GUANGDONG_2022, rel=1e-12)
    assert totals["total_location_tco2e"] == pytest.approx(
        totals["scope1_tco2e"] + totals["scope2_location_tco2e"] + totals["scope3_tco2e"],
        rel=1e-12,
    )
    by_site = {row["site"]: row for row in data["by_site"]}
    assert by_site["gz"]["electricity_mwh"] == pytest.approx(1000.0)
    assert by_site["bj"]["scope1_tco2e"] == pytest.approx(totals["scope1_tco2e"], rel=1e-12)


def test_inventory_table_output(make_project: MakeProject) -> None:
    result = invoke("inventory", make_project(GOOD_ROWS), "--year", "2022")
    assert result.exit_code == 0, result.output
    assert "Total (location-based)" in result.output
    assert "440.3" in result.output  # scope 2 location-based, one decimal


def test_init_into_a_non_empty_folder_fails_in_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "busy"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me", encoding="utf-8")
    result = invoke("init", folder)
    assert_clean_failure(result, "not an empty folder")
    assert len(result.output.strip().splitlines()) == 1
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


def test_validate_reports_every_issue_with_file_and_line(make_project: MakeProject) -> None:
    result = invoke("validate", make_project(BAD_ROWS, files=BAD_FILES))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    for where in (
        "project/data/activities.csv, line 3, column 'site'",
        "project/data/activities.csv, line 4, column 'quantity'",
        "project/data/activities_b.csv, line 2, column 'quantity'",
    ):
        assert where in result.output
    assert "3 problem(s)" in result.output


def test_validate_json_lists_the_issues(make_project: MakeProject) -> None:
    result = invoke("validate", make_project(BAD_ROWS, files=BAD_FILES), "--json")
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["valid"] is False
    where = [(Path(i["file"]).name, i["line"], i["column"]) for i in data["issues"]]
    assert where == [
        ("activities.csv", 3, "site"),
        ("activities.csv", 4, "quantity"),
        ("activities_b.csv", 2, "quantity"),
    ]
    assert all(set(i) == {"file", "sheet", "line", "column", "reason"} for i in data["issues"])
    assert "unknown site 'sh'" in data["issues"][0]["reason"]


def test_validate_json_of_a_good_project(make_project: MakeProject) -> None:
    result = invoke("validate", make_project(GOOD_ROWS), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["valid"] is True
    assert data["activity_rows"] == 2
    assert data["sites"] == 2


def test_inventory_of_a_missing_folder(tmp_path: Path) -> None:
    assert_clean_failure(
        invoke("inventory", tmp_path / "nowhere", "--year", "2022"), "no tanlu.toml"
    )


def test_inventory_out_writes_json_and_csvs(make_project: MakeProject, tmp_path: Path) -> None:
    out = tmp_path / "results"
    project = make_project(GOOD_ROWS)
    result = invoke("inventory", project, "--year", "2022", "--out", out)
    assert result.exit_code == 0, result.output
    names = {p.name for p in out.iterdir()}
    assert names == {
        "inventory_2022.json",
        "inventory_2022_lines",
        "inventory_2022_lines.csv",
        "inventory_2022_by_category.csv",
        "inventory_2022_by_site.csv",
        "inventory_2022_by_gas.csv",
        "inventory_2022_scope2_market.csv",
        "inventory_2022_fallbacks.csv",
        "inventory_2022_factors_used.csv",
    }  # and no staging folder left behind
    written = json.loads((out / "inventory_2022.json").read_text(encoding="utf-8"))
    assert written["totals"]["scope2_location_tco2e"] == pytest.approx(440.3, rel=1e-12)
    # the lines as a Parquet dataset partitioned by scope, the same rows as the CSV
    dataset = pd.read_parquet(out / "inventory_2022_lines")
    csv = pd.read_csv(out / "inventory_2022_lines.csv")
    assert sorted(p.name for p in (out / "inventory_2022_lines").iterdir()) == sorted(
        f"scope={scope}" for scope in csv["scope"].unique()
    )
    assert len(dataset) == len(csv) > 0
    assert dataset["emissions_tco2e"].sum() == pytest.approx(csv["emissions_tco2e"].sum())
    # a second run replaces the files and the dataset, and leaves nothing else behind
    again = invoke("inventory", project, "--year", "2022", "--out", out)
    assert again.exit_code == 0, again.output
    assert {p.name for p in out.iterdir()} == names
    assert len(pd.read_parquet(out / "inventory_2022_lines")) == len(csv)


@pytest.mark.parametrize("existing", [False, True], ids=["absent", "empty"])
def test_inventory_out_writes_nothing_on_bad_input(
    make_project: MakeProject, tmp_path: Path, existing: bool
) -> None:
    out = tmp_path / "results"
    if existing:
        out.mkdir()
    result = invoke("inventory", make_project(BAD_ROWS), "--year", "2022", "--out", out)
    assert_clean_failure(result, "activities.csv, line 3")
    assert result.exit_code == 1
    assert not out.exists() or not any(out.iterdir())


def test_inventory_for_a_year_that_is_not_a_project_year(make_project: MakeProject) -> None:
    result = invoke("inventory", make_project(GOOD_ROWS), "--year", "2019")
    assert_clean_failure(result, "2019 is not a base or reporting year", "2021, 2022")


# ---------------------------------------------------------------------------------------------
# factors
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("region", ["广东", "Guangdong"])
def test_factors_show_guangdong_2022(region: str) -> None:
    result = invoke(
        "factors", "show", "electricity", "--region", region, "--year", "2022", "--json"
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["query"] == {
        "activity": "electricity",
        "region": region,
        "year": 2022,
        "kind": "default",
    }
    [factor] = data["factors"]
    assert factor["value"] == pytest.approx(GUANGDONG_2022)
    assert factor["unit"] == "t/MWh"
    assert factor["factor_t_per_unit"] == pytest.approx(GUANGDONG_2022)
    assert factor["region"] == "Guangdong"
    assert factor["source"].strip()
    assert factor["status"].strip()
    assert factor["fallback"] is None


def test_factors_show_reports_a_year_fallback() -> None:
    result = invoke(
        "factors", "show", "electricity", "--region", "广东", "--year", "2023", "--json"
    )
    assert result.exit_code == 0, result.output
    [factor] = json.loads(result.stdout)["factors"]
    # no Guangdong 2023 factor: the province's latest earlier one (2022) is used, and said so
    assert factor["year_start"] == 2022
    assert "2023" in factor["fallback"]
    assert "2022" in factor["fallback"]


def test_factors_show_text_output() -> None:
    result = invoke("factors", "show", "electricity", "--region", "Guangdong", "--year", "2023")
    assert result.exit_code == 0, result.output
    assert "cn_mee_nbs_2022_province_guangdong_electricity" in result.output
    assert "fallback" in result.output


def test_factors_show_unknown_region() -> None:
    result = invoke("factors", "show", "electricity", "--region", "Atlantis", "--year", "2022")
    assert_clean_failure(result, "unknown region 'Atlantis'")


def test_factors_show_unknown_activity() -> None:
    result = invoke("factors", "show", "electriciti", "--region", "Guangdong", "--year", "2022")
    assert_clean_failure(result, "unknown activity 'electriciti'")


def test_factors_list_json() -> None:
    result = invoke("factors", "list", "--json")
    assert result.exit_code == 0, result.output
    activities = {row["activity"]: row for row in json.loads(result.stdout)}
    assert activities["electricity"]["canonical_unit"] == "MWh"
    assert activities["electricity"]["scope"] == 2
    assert activities["diesel_stationary"]["canonical_unit"] == "t"
    assert activities["electricity"]["factors"] > 0


def test_help_keeps_bracketed_words() -> None:
    # rich markup must not swallow [roadmap.scenarios], [[sites]] or units in brackets
    runner = CliRunner()
    roadmap = runner.invoke(app, ["roadmap", "--help"], env={"COLUMNS": "200"}).output
    assert "[roadmap.scenarios]" in roadmap and "[roadmap.uncertainty]" in roadmap
    procure = runner.invoke(app, ["procure", "--help"], env={"COLUMNS": "200"}).output
    assert "[[sites]]" in procure and "[kWp]" in procure

"""The use cases of tanlu.app: one JSON shape per result, each result computed once, and
`tanlu validate` reading every input the later commands read."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

import tanlu
from tanlu.app import RoadmapOptions, read_inputs, run_project, run_roadmap, validate_project
from tanlu.cli import app
from tanlu.electricity import matching as matching_module
from tanlu.inventory import calculate as calculate_module

from .conftest import MakeProject
from .test_roadmap import ACTIVITIES, PRICES, toy_toml

# The one-office toy of tests/test_roadmap.py over two years: 1,000 MWh in the base year 2022
# and 1,100 MWh in 2023; neutral in scope 2 by 2025, planned from 2023 (the last reporting
# year), two Monte Carlo draws over the GEC price.
TWO_YEARS = ACTIVITIES + "office,2023-01-01,2023-12-31,electricity,1100,MWh\n"
TARGET_2025 = '[[targets]]\nkind = "carbon_neutral"\nscopes = [2]\nyear = 2025\n'
UNCERTAINTY = (
    "discount_rate_share = 0.0\n\n[roadmap.uncertainty]\nsamples = 2\nseed = 7\n"
    'ranges = { "levers.gec.price_cny_per_mwh" = [2.0, 10.0] }\n'
)


def two_year_toy(make_project: MakeProject) -> Path:
    toml = toy_toml(targets=TARGET_2025, settings=UNCERTAINTY).replace(
        "reporting_years = [2022]", "reporting_years = [2022, 2023]"
    )
    return make_project(TWO_YEARS, toml=toml, files={"data/prices.csv": PRICES})


def cli_json(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_cli_json_and_results_json_agree(make_project: MakeProject, tmp_path: Path) -> None:
    root = two_year_toy(make_project)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(root), "--out", str(out), "--no-pdf"])
    assert result.exit_code == 0, result.output
    document = json.loads((out / "results.json").read_text(encoding="utf-8"))
    # the roadmap: `tanlu run` plans with both MACCs and [roadmap.uncertainty]'s 2 draws
    roadmap = cli_json("roadmap", str(root), "--macc", "--samples", "2", "--json")
    assert roadmap == document["roadmap"]
    assert set(roadmap) >= {"macc", "monte_carlo", "sweep", "progress"}
    assert len(roadmap["monte_carlo"]["samples"]) == 2  # rows, not a count
    assert roadmap["macc"]["year"] == 2025 and roadmap["sweep"] is None
    # planned from 2023, the last reporting year: no later year to track
    assert roadmap["progress"] is None
    # progress in results.json is that of the plan made from the base year 2022
    earlier = cli_json("roadmap", str(root), "--from-year", "2022", "--json")
    assert earlier["progress"] == document["progress"]
    assert document["progress"]["plan_from_year"] == 2022
    assert [row["year"] for row in document["progress"]["summary"]] == [2023]
    # the inventory of each year, base-year check included
    for year in (2022, 2023):
        inventory = cli_json("inventory", str(root), "--year", str(year), "--json")
        assert inventory == document["inventories"][str(year)]
    assert document["inventories"]["2023"]["base_year_check"] is not None


def patch_everywhere(monkeypatch: pytest.MonkeyPatch, original: Any, replacement: Any) -> None:
    """Replace a function in every tanlu module that holds it (imported by name)."""
    name = original.__name__
    patched = 0
    for module in list(sys.modules.values()):
        module_name = getattr(module, "__name__", "")
        if module_name.startswith("tanlu") and getattr(module, name, None) is original:
            monkeypatch.setattr(module, name, replacement)
            patched += 1
    assert patched, f"no tanlu module holds {name}"


def test_run_computes_each_inventory_once(
    make_project: MakeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    # with a named scenario that plans from the base year 2022 instead of 2023
    root = two_year_toy(make_project)
    toml = (root / "tanlu.toml").read_text(encoding="utf-8")
    scenario = "[roadmap.scenarios.from_base]\nfrom_year = 2022\n\n"
    toml = toml.replace(
        "[roadmap.levers.building_efficiency]", scenario + "[roadmap.levers.building_efficiency]", 1
    )
    (root / "tanlu.toml").write_text(toml, encoding="utf-8")
    project = tanlu.load_project(root)
    original = calculate_module.calculate_inventory
    calls: list[tuple[bool, int]] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        called_with, year = args[0], args[1]
        calls.append((called_with is project, year))
        return original(*args, **kwargs)

    # every module that holds the name, the inventory's own (its base-year check) included
    patch_everywhere(monkeypatch, original, counted)
    result = run_project(project)
    assert [row["scenario"] for row in result.document["scenarios"]["summary"]] == [
        "default",
        "from_base",
    ]
    # 2022 and 2023 once each with the project (inventory, green electricity, the plan from
    # 2023, the scenario from 2022, the plan from 2022 and its progress in 2023 all reuse
    # them), and the base-year check of 2023 recalculates 2022 once in 2023's structure:
    # 3 calls. Before tanlu.app, one run made 5 of 2022 (the run, the check, the planning data,
    # the scenario, the plan from 2022) and 3 of 2023 (the run, the planning data, progress).
    assert sorted(calls) == [(False, 2022), (True, 2022), (True, 2023)]


def test_roadmap_use_case_reuses_given_inventories(
    make_project: MakeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tanlu.load_project(two_year_toy(make_project))
    inputs = read_inputs(project)
    inventories = {
        year: tanlu.calculate_inventory(project, year, inputs, check_base_year=False)
        for year in (2022, 2023)
    }

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an inventory was computed again")

    patch_everywhere(monkeypatch, calculate_module.calculate_inventory, refuse)
    document = run_roadmap(project, RoadmapOptions(from_year=2022), inputs, inventories)
    # planned from 2022: 2023 is a reporting year inside the plan, compared with it
    assert document.plan.from_year == 2022
    assert document.to_dict()["progress"]["plan_from_year"] == 2022
    assert document.progress.summary["year"].tolist() == [2023]


def test_run_computes_each_years_electricity_once(
    make_project: MakeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tanlu.load_project(two_year_toy(make_project))
    original = matching_module.calculate_electricity
    years: list[int] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        years.append(args[1])
        return original(*args, **kwargs)

    patch_everywhere(monkeypatch, original, counted)
    result = run_project(project)
    # the plan from the base year 2022 tracks 2023 against it with 2023's green share, taken
    # from the run's own electricity of 2023 (progress once computed it again)
    assert result.document["progress"]["summary"][0]["year"] == 2023
    assert sorted(years) == [2022, 2023]


BAD_PRICES = (
    "parameter,region,year,value,unit,status,source,note\n"
    "grid_price_cny_per_mwh,广东,2022,-600,CNY/MWh,user,test,\n"  # line 2: negative
)


def test_validate_reads_the_price_files(make_project: MakeProject) -> None:
    # activities and instruments are fine; only the prices file (read by roadmap and procure)
    # is bad, and validate says so with file, line and reason
    root = make_project(ACTIVITIES, toml=toy_toml(), files={"data/prices.csv": BAD_PRICES})
    result = CliRunner().invoke(app, ["validate", str(root), "--json"])
    assert result.exit_code == 1
    found = json.loads(result.stdout)
    assert found["valid"] is False
    [issue] = found["issues"]
    assert issue["file"].endswith("prices.csv") and issue["line"] == 2
    assert issue["column"] == "value" and "-600 is negative" in issue["reason"]
    # the same in plain words on stderr
    plain = CliRunner().invoke(app, ["validate", str(root)])
    assert plain.exit_code == 1
    assert "prices.csv, line 2" in plain.output and "-600 is negative" in plain.output
    # and the use case itself, fed the project folder
    assert not validate_project(root).valid


def test_validate_counts_a_valid_project(make_project: MakeProject) -> None:
    root = two_year_toy(make_project)
    found = validate_project(root)
    # two activity rows in one file, no instruments, one site
    assert found.to_dict() == {
        "valid": True,
        "activity_rows": 2,
        "activity_files": 1,
        "instruments": 0,
        "sites": 1,
    }


def test_cli_commands_are_thin() -> None:
    # each command parses its options, calls one use case and prints or writes its document:
    # at most 40 lines of body after its docstring (the house style: a longer command is a use
    # case missing from tanlu.app)
    tree = ast.parse(Path(tanlu.cli.__file__).read_text(encoding="utf-8"))
    lengths = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and any(
            "command" in ast.unparse(d) for d in node.decorator_list
        ):
            body = node.body[1:] if isinstance(node.body[0], ast.Expr) else node.body
            end = body[-1].end_lineno
            assert end is not None
            lengths[node.name] = end - body[0].lineno + 1
    assert {"validate", "inventory", "electricity", "procure", "roadmap", "run"} <= set(lengths)
    assert {name: n for name, n in lengths.items() if n > 40} == {}


def test_large_inventories_write_their_lines_as_parquet_only(
    make_project: MakeProject, tmp_path: Path
) -> None:
    from tanlu.app import LINES_CSV_MAX_ROWS, inventory_files
    from tanlu.output import write_files

    # Excel's 1,048,576 rows less the header row
    assert LINES_CSV_MAX_ROWS == 1_048_576 - 1
    result = tanlu.calculate_inventory(tanlu.load_project(two_year_toy(make_project)), 2022)
    rows = len(result.lines)
    written = write_files(tmp_path, inventory_files(result, csv_max_rows=rows - 1))
    names = {path.name for path in written}
    assert "inventory_2022_lines" in names and "inventory_2022_lines.csv" not in names
    assert len(pd.read_parquet(tmp_path / "inventory_2022_lines")) == rows
    at_limit = write_files(tmp_path / "at", inventory_files(result, csv_max_rows=rows))
    assert "inventory_2022_lines.csv" in {path.name for path in at_limit}

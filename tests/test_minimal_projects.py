"""Every command on every valid project gives a result or one plain sentence, never a traceback.

Minimal valid projects, each missing one kind of data (electricity, fuels, refrigerants, scope 3,
instruments, or every activity row), run through every command (issue 10, point 5).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from tanlu.cli import app

from .conftest import ACTIVITY_HEADER, BASIC_TOML

# The two sites of the shared toy project; procurement needs the Guangzhou site's coordinates.
TOML = BASIC_TOML.replace(
    'province = "广东"\n', 'province = "广东"\nlatitude = 23.13\nlongitude = 113.26\n'
)
# carbon neutral in 2030 (offsets may cover what no lever can cut: the cap is the whole base
# year, so that every minimal project has a plan) and 100% green electricity in 2030
TARGETS = """
[[targets]]
kind = "carbon_neutral"
scopes = [1, 2, 3]
year = 2030

[[targets]]
kind = "green_electricity"
share = 1.0
year = 2030

[roadmap]
offset_cap_share_of_base_year = 1.0

[roadmap.uncertainty]
samples = 2
seed = 1
ranges = { "grid_factor_change_share_per_year" = [-0.04, 0.0] }
"""
# one row per kind of data and year (2021 base year, 2022 reporting year)
ROWS = {
    "electricity": "gz,{y}-01-01,{y}-12-31,electricity,1000,MWh\n"
    "bj,{y}-01-01,{y}-12-31,electricity,2000,MWh\n",
    "fuels": "bj,{y}-03-01,{y}-03-01,diesel_stationary,2,t\n",
    "refrigerants": "gz,{y}-06-01,{y}-06-01,refrigerant_hfc_134a,0.01,t\n",
    "scope3": "gz,{y}-05-01,{y}-05-01,air_travel_domestic,100000,passenger_km\n",
}
INSTRUMENTS = (
    "instrument_id,kind,vintage_year,energy_mwh,technology,site,market,"
    "supplier_factor_tco2e_per_mwh,commissioning_date,source_document,note\n"
    "GPC-1,green_power_contract,2022,300,wind,gz,China,,2020-01-01,test contract,\n"
)
# the inventory categories each kind of data gives (fuels also give their upstream, category 3)
CATEGORIES = {
    "electricity": {"purchased_electricity"},
    "fuels": {"stationary_combustion", "cat3_fuel_energy_related"},
    "refrigerants": {"fugitive"},
    "scope3": {"cat6_business_travel"},
}
MISSING = ["electricity", "fuels", "refrigerants", "scope3", "instruments", "activities"]


def write_project(root: Path, missing: str, targets: bool = True) -> Path:
    """A valid project with every kind of data but ``missing`` ("activities": a header only)."""
    (root / "data").mkdir(parents=True)
    (root / "tanlu.toml").write_text(TOML + (TARGETS if targets else ""), encoding="utf-8")
    body = "".join(
        rows.format(y=year)
        for kind, rows in ROWS.items()
        if kind != missing and missing != "activities"
        for year in (2021, 2022)
    )
    (root / "data" / "activities.csv").write_text(ACTIVITY_HEADER + body, encoding="utf-8")
    if missing not in ("instruments", "activities"):
        (root / "data" / "instruments.csv").write_text(INSTRUMENTS, encoding="utf-8")
    return root


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def answered(result: Result) -> dict[str, Any] | None:
    """Exit 0, no traceback; the JSON on stdout when there is one."""
    assert result.exit_code == 0, result.output
    assert result.exception is None, result.exception
    text = result.stdout.strip()
    return json.loads(text) if text.startswith("{") else None


def one_sentence(result: Result, code: int, *parts: str) -> None:
    """The command stops with exit ``code`` and one line naming what is missing."""
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    for part in parts:
        assert part in lines[0], lines[0]


@pytest.mark.parametrize("missing", MISSING)
def test_every_command_answers(missing: str, tmp_path: Path) -> None:
    root = write_project(tmp_path / "project", missing)
    kinds = set() if missing == "activities" else set(ROWS) - {missing}

    validated = invoke("validate", root)
    answered(validated)
    assert "OK" in validated.output

    inventory = answered(invoke("inventory", root, "--year", "2022", "--json"))
    assert inventory is not None
    categories = {row["category"] for row in inventory["by_category"]}
    assert categories == set().union(*(CATEGORIES[k] for k in kinds))
    by_category = {row["category"]: row["emissions_tco2e"] for row in inventory["by_category"]}
    if "refrigerants" in kinds:
        # 0.01 t of HFC-134a x 1,300 (AR5 GWP100) = 13 tCO2e
        assert by_category["fugitive"] == pytest.approx(0.01 * 1300, rel=1e-9)
    if "electricity" in kinds:
        # 1,000 MWh x 0.4403 (Guangdong 2022) + 2,000 MWh x 0.558 (Beijing 2022) = 1,556.3 tCO2
        assert by_category["purchased_electricity"] == pytest.approx(1556.3, rel=1e-9)
    totals = inventory["totals"]
    assert totals["total_market_tco2e"] == pytest.approx(
        totals["scope1_tco2e"] + totals["scope2_market_tco2e"] + totals["scope3_tco2e"], abs=1e-9
    )
    if not kinds:
        assert all(value == 0 for value in totals.values())
    answered(invoke("inventory", root, "--year", "2021", "--out", tmp_path / "inventory"))
    assert (tmp_path / "inventory" / "inventory_2021.json").is_file()

    answered(invoke("electricity", root, "--year", "2022", "--hourly"))
    electricity = answered(invoke("electricity", root, "--year", "2022", "--json"))
    assert electricity is not None
    totals = electricity["totals"]
    if "electricity" in kinds:
        # 1,000 + 2,000 MWh; the 300 MWh contract (when there) is 300 / 3,000 = 10% green
        held = 0.0 if missing == "instruments" else 300.0
        assert totals["consumption_mwh"] == pytest.approx(3000.0)
        assert totals["contractual_mwh"] == pytest.approx(held)
        assert totals["green_share"] == pytest.approx(held / 3000.0)
    else:
        assert totals["consumption_mwh"] == totals["contractual_mwh"] == 0.0

    # Procurement reads the site's electricity and instruments only, so one solve (without
    # instruments) stands for the projects that have both; annual matching, since the hourly
    # model's 8,760 hours take about 30 s (tests/test_site_procurement.py solves it).
    procure = ("procure", root, "--site", "gz", "--year", "2022", "--cfe", "0.9", "--annual")
    if "electricity" not in kinds:
        one_sentence(invoke(*procure), 2, "site 'gz' has no electricity", "2022")
    elif missing == "instruments":
        plan = answered(invoke(*procure, "--json"))
        assert plan is not None
        # 1,000 MWh at gz, no clean supply held
        assert plan["load_mwh"] == pytest.approx(1000.0)
        assert plan["existing_clean_mwh"] == 0.0

    # `tanlu run` below computes both MACCs and the Monte Carlo of every project; the options
    # that print them are run on the projects without electricity or without any activity
    if missing in ("electricity", "activities"):
        options = ("--macc", "--samples", "2", "--out", tmp_path / "roadmap")
        answered(invoke("roadmap", root, *options))
        path = tmp_path / "roadmap" / "roadmap_default.json"
        roadmap = json.loads(path.read_text(encoding="utf-8"))
        assert len(roadmap["monte_carlo"]["samples"]) == 2
        assert {"bottom_up", "model"} <= set(roadmap["macc"])
    else:
        roadmap = answered(invoke("roadmap", root, "--json"))
    assert roadmap is not None
    assert all(row["met"] for row in roadmap["targets"])

    answered(invoke("run", root, "--out", tmp_path / "run", "--no-pdf", "--lang", "en"))
    assert (tmp_path / "run" / "report.html").is_file()

    answered(invoke("factors", "list", "--project", root))
    answered(invoke("factors", "show", "electricity", "--project", root))


@pytest.mark.parametrize("missing", ["electricity", "activities"])
def test_without_targets_the_roadmap_says_so(missing: str, tmp_path: Path) -> None:
    root = write_project(tmp_path / "project", missing, targets=False)
    one_sentence(invoke("roadmap", root), 1, "no [[targets]]", "needs at least one target")
    answered(invoke("run", root, "--out", tmp_path / "run", "--no-pdf"))
    assert (tmp_path / "run" / "report.html").is_file()


def test_report_pdf_of_a_project_without_activities(tmp_path: Path) -> None:
    """The emptiest valid project prints its PDF (in Chinese, the default language)."""
    root = write_project(tmp_path / "project", "activities")
    answered(invoke("run", root, "--out", tmp_path / "run"))
    pdf = tmp_path / "run" / "report.pdf"
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "Toy Co" in text

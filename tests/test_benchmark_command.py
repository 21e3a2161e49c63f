"""The whole-command benchmark (benchmarks/command.py) at a tiny size, so that it cannot rot: its
project validates, and the command it times gives the inventory of every row it wrote."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest
from benchmarks import command

import tanlu
from tanlu.app.validate import validate_project
from tanlu.inventory.boundary import define_boundary

ROWS = 1_000
SITES = 100
YEAR = 2021


@pytest.mark.parametrize("file_format", command.FORMATS)
def test_the_timed_command_gives_the_inventory_of_the_generated_project(
    tmp_path: Path, file_format: str
) -> None:
    project = command.ensure_project(ROWS, SITES, YEAR, file_format, tmp_path, log=lambda _: None)
    assert project.activity_file.exists()

    checked = validate_project(project.root)
    assert checked.valid, checked.issues[:3]
    assert (checked.activity_rows, checked.activity_files, checked.sites) == (ROWS, 1, SITES)

    # the command the benchmark times, its JSON kept this once
    out = tmp_path / "inventory.json"
    with out.open("w", encoding="utf-8") as stdout:
        run = command.run_command(command.inventory_command(project), stdout=stdout)
    assert run.wall_s > 0 and run.peak_rss_mib > 0
    printed = json.loads(out.read_text(encoding="utf-8"))
    assert printed["schema"] == "tanlu.inventory/1" and printed["year"] == YEAR

    loaded = tanlu.load_project(project.root)
    result = tanlu.calculate_inventory(loaded, YEAR)
    for key, value in result.totals.items():
        # DuckDB may add the same numbers in another order in another process
        assert printed["totals"][key] == pytest.approx(value, rel=1e-12), key
    assert printed["totals"]["scope1_tco2e"] > 0 and printed["totals"]["scope3_tco2e"] > 0
    assert printed["totals"]["outside_scopes_tco2e"] > 0  # HCFC-22 rows

    # every written row inside the boundary and the site's days of the year has lines: the
    # rows at sites not excluded whose period overlaps the year cut to the site's ownership
    raw = (
        pd.read_parquet(project.activity_file)
        if file_format == "parquet"
        else pd.read_csv(project.activity_file, parse_dates=["period_start", "period_end"])
    )
    assert len(raw) == ROWS
    boundary = define_boundary(loaded.sites, loaded.config.organisation.consolidation_approach)
    rows = raw.merge(boundary, on="site")
    first = rows["owned_from"].fillna(pd.Timestamp(YEAR, 1, 1)).clip(lower=pd.Timestamp(YEAR, 1, 1))
    last = rows["owned_until"].fillna(pd.Timestamp(YEAR, 12, 31))
    last = last.clip(upper=pd.Timestamp(YEAR, 12, 31))
    counted = (
        (rows["boundary"] != "excluded")
        & (rows["period_start"] <= last)
        & (rows["period_end"] >= first)
    )
    assert 0 < int(counted.sum()) < ROWS
    assert result.lines["row_id"].nunique() == int(counted.sum())
    # the generated project has every kind of row the example has
    assert {"electricity", "heat", "refrigerant_hcfc_22", "air_travel_domestic"} <= set(
        raw["activity"]
    )
    assert (raw["period_end"].dt.year > YEAR).any()  # December periods split by days
    assert (boundary["boundary"] == "leased_cat8").any()


def test_a_generated_project_is_reused(tmp_path: Path) -> None:
    messages: list[str] = []
    first = command.ensure_project(ROWS, SITES, YEAR, "parquet", tmp_path, log=messages.append)
    written = first.activity_file.stat().st_mtime_ns
    again = command.ensure_project(ROWS, SITES, YEAR, "parquet", tmp_path, log=messages.append)
    assert again == first
    assert again.activity_file.stat().st_mtime_ns == written
    assert messages[-1].startswith("reusing ")


def test_a_failing_command_names_its_exit_status_and_error() -> None:
    argv = [sys.executable, "-c", "import sys; sys.exit('no tanlu.toml here')"]
    with pytest.raises(RuntimeError, match=r"exited with 1:\n.*no tanlu.toml here"):
        command.run_command(argv)


def test_both_site_layouts_give_the_same_sites_and_inventory(tmp_path: Path) -> None:
    project = command.ensure_project(ROWS, SITES, YEAR, "parquet", tmp_path, log=lambda _: None)
    # the default: the sites in a register file that [data] sites names
    register = tanlu.load_project(project.root)
    assert register.site_files == (project.root.resolve() / command.SITE_REGISTER,)
    assert "[[sites]]" not in (project.root / "tanlu.toml").read_text(encoding="utf-8")
    command.set_site_layout(project, "toml")
    listed = tanlu.load_project(project.root)
    assert listed.site_files == () and not (project.root / command.SITE_REGISTER).exists()
    assert len(listed.config.sites) == SITES
    pd.testing.assert_frame_equal(register.sites, listed.sites)
    assert (
        tanlu.calculate_inventory(register, YEAR).totals
        == tanlu.calculate_inventory(listed, YEAR).totals
    )
    with pytest.raises(ValueError, match="site layout 'yaml' is not one of register, toml"):
        command.set_site_layout(project, "yaml")

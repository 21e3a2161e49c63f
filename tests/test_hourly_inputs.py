"""Hourly meter and delivery files, batteries and RE100 shares in projects, checked by hand."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

import tanlu
from tanlu.cli import app
from tanlu.electricity.matching import calculate_electricity

from .conftest import MakeProject
from .test_matching import DC_TOML, ROWS

HOURS_2022 = pd.date_range("2022-01-01", "2023-01-01", freq="h", inclusive="left")
# Day hours 08:00-19:59 (12 hours), night the other 12.
DAY = (HOURS_2022.hour >= 8) & (HOURS_2022.hour < 20)


def hourly_csv(id_column: str, name: str, values: list[float] | pd.Series) -> str:
    lines = [f"{id_column},hour_start,energy_mwh"]
    lines += [
        f"{name},{hour:%Y-%m-%d %H:%M},{value:g}"
        for hour, value in zip(HOURS_2022, values, strict=True)
    ]
    return "\n".join(lines) + "\n"


def day_night(day: float, night: float) -> list[float]:
    return [day if is_day else night for is_day in DAY]


def project(
    make_project: MakeProject,
    instruments: str = "",
    files: dict[str, str] | None = None,
    extra: str = "",
    name: str = "project",
) -> tanlu.Project:
    header = "instrument_id,kind,vintage_year,energy_mwh,technology,site,commissioning_date\n"
    all_files = dict(files or {})
    if instruments:
        all_files["data/instruments.csv"] = header + instruments
    root = make_project(ROWS, toml=DC_TOML.format(grid="0.0") + extra, files=all_files, name=name)
    return tanlu.load_project(root)


def score(project: tanlu.Project) -> pd.Series:
    return calculate_electricity(project, 2022, hourly=True).by_site.set_index("site").loc["dc"]


def test_metered_load_shapes_the_score(make_project: MakeProject) -> None:
    # meter: 1.5 MWh in each day hour, 0.5 at night (24 MWh a day, 8,760 in the year, as the
    # activity data); a flat 8,760 MWh hydro contract gives 1 MWh every hour.
    meter = hourly_csv("site", "dc", day_night(1.5, 0.5))
    row = score(
        project(
            make_project,
            "h1,green_power_contract,2022,8760,hydro,dc,\n",
            {"data/meter_hourly.csv": meter},
        )
    )
    assert row["load_profile"] == "meter"
    assert row["green_share"] == pytest.approx(1.0)
    # per day: nights min(0.5, 1) x 12 = 6, days min(1.5, 1) x 12 = 12: 18 of 24 MWh
    assert row["cfe_score_share"] == pytest.approx(18 / 24)


def test_meter_is_scaled_to_the_inventory(make_project: MakeProject) -> None:
    # The same shape metered at twice the level: the load still totals the inventory's 8,760
    meter = hourly_csv("site", "dc", day_night(3.0, 1.0))
    row = score(
        project(
            make_project,
            "h1,green_power_contract,2022,8760,hydro,dc,\n",
            {"data/meter_hourly.csv": meter},
        )
    )
    assert row["consumption_mwh"] == pytest.approx(8760)
    assert row["cfe_score_share"] == pytest.approx(18 / 24)


def test_delivery_file_shapes_the_contract(make_project: MakeProject) -> None:
    # 2 MWh in every day hour, none at night (8,760 MWh); flat load of 1 MWh an hour: only the
    # day's 12 MWh are matched in their hour: 12 / 24
    delivery = hourly_csv("instrument_id", "p1", day_night(2.0, 0.0))
    row = score(
        project(
            make_project,
            "p1,ppa,2022,8760,solar,dc,\n",
            {"data/delivery_hourly.csv": delivery},
        )
    )
    assert row["green_share"] == pytest.approx(1.0)
    assert row["cfe_score_share"] == pytest.approx(0.5)


def test_delivery_file_split_by_allocation(make_project: MakeProject) -> None:
    # Only 4,380 of the contract's 8,760 MWh are in 2022's instrument row: each hour delivers
    # half of the file's value (1 MWh in day hours): matched 12 of 24 again, green share 0.5
    delivery = hourly_csv("instrument_id", "p1", day_night(2.0, 0.0))
    row = score(
        project(
            make_project,
            "p1,ppa,2022,4380,solar,dc,\n",
            {"data/delivery_hourly.csv": delivery},
        )
    )
    assert row["green_share"] == pytest.approx(0.5)
    assert row["cfe_score_share"] == pytest.approx(0.5)


BATTERY = """
[[batteries]]
id = "bess"
site = "dc"
energy_mwh = 12
power_mw = 1
round_trip_efficiency_share = 1.0
{commissioned}
"""


def test_battery_moves_day_excess_to_the_night(make_project: MakeProject) -> None:
    delivery = hourly_csv("instrument_id", "p1", day_night(2.0, 0.0))
    row = score(
        project(
            make_project,
            "p1,ppa,2022,8760,solar,dc,\n",
            {"data/delivery_hourly.csv": delivery},
            BATTERY.format(commissioned=""),
        )
    )
    # 1 MWh of excess in each day hour fills the 12 MWh battery; it covers the next night. Only
    # 00:00-07:59 on 1 January (8 MWh, before the first charge) is left to the grid.
    assert row["battery_mwh"] == pytest.approx(8760 / 2 - 8)
    assert row["cfe_score_share"] == pytest.approx(1 - 8 / 8760)


def test_battery_counts_from_its_commissioning(make_project: MakeProject) -> None:
    delivery = hourly_csv("instrument_id", "p1", day_night(2.0, 0.0))
    row = score(
        project(
            make_project,
            "p1,ppa,2022,8760,solar,dc,\n",
            {"data/delivery_hourly.csv": delivery},
            BATTERY.format(commissioned="commissioned = 2022-07-01"),
        )
    )
    # Before 1 July (hour 4,344) no battery: 1 Jan 00-07 (8 MWh), 180 full nights to the morning
    # of 30 June (12 each), 30 June 20-23 (4) and, the battery empty at first, 1 July 00-07 (8)
    deficit = 8 + 180 * 12 + 4 + 8
    assert row["cfe_score_share"] == pytest.approx(1 - deficit / 8760)


def test_hourly_grid_share_by_region(make_project: MakeProject) -> None:
    # the grid carbon-free in day hours only (Guangdong's series), none at night; the national
    # series (all hours 0.9) is less specific and not used: 12 of 24 hours
    grid = hourly_csv("region", "广东省", day_night(1.0, 0.0)).replace("energy_mwh", "cfe_share")
    national = hourly_csv("region", "全国", [0.9] * 8760).split("\n", 1)[1]
    row = score(project(make_project, files={"data/grid_cfe_hourly.csv": grid + national}))
    assert row["grid_cfe_basis"] == "hourly: Guangdong"
    assert row["cfe_score_share"] == pytest.approx(0.5)


def test_national_hourly_grid_share(make_project: MakeProject) -> None:
    grid = hourly_csv("region", "China", [0.4] * 8760).replace("energy_mwh", "cfe_share")
    row = score(project(make_project, files={"data/grid_cfe_hourly.csv": grid}))
    assert row["grid_cfe_basis"] == "hourly: China"
    assert row["cfe_score_share"] == pytest.approx(0.4)


PV = """
[[pv_systems]]
id = "roof"
site = "dc"
capacity_kw = 1000
tilt_deg = 20
"""


def test_pv_typical_year_file(make_project: MakeProject) -> None:
    # a typical-year simulation: 0.5 MWh in every day hour (12 x 365 x 0.5 = 2,190 MWh)
    series = hourly_csv("pv_system", "roof", day_night(0.5, 0.0))
    row = score(project(make_project, files={"data/pv_hourly.csv": series}, extra=PV))
    assert row["onsite_pv_mwh"] == pytest.approx(2190)
    # used in its own hour against a 1 MWh load: all 2,190 MWh matched, of 8,760 + 2,190
    assert row["cfe_score_share"] == pytest.approx(2190 / 10950)
    # with a yield too, the file gives the shape: 1,000 kWp x 1.2 MWh/kWp
    scaled = score(
        project(
            make_project,
            files={"data/pv_hourly.csv": series},
            extra=PV + "annual_yield_mwh_per_kw = 1.2\n",
            name="scaled",
        )
    )
    assert scaled["onsite_pv_mwh"] == pytest.approx(1200)


def test_re100_share_counts_young_facilities_only(make_project: MakeProject) -> None:
    row = score(
        project(
            make_project,
            "young,gec,2022,2190,wind,dc,2012-05-01\n"
            "old,gec,2022,2190,hydro,dc,2001-01-01\n"
            "unknown,gec,2022,2190,solar,dc,\n",
        )
    )
    # 2022 - 2012 = 10 years (eligible); 2022 - 2001 = 21 > 15 (not); no date: unverified
    assert row["green_share"] == pytest.approx(3 * 2190 / 8760)
    assert row["re100_mwh"] == pytest.approx(2190)
    assert row["re100_unverified_mwh"] == pytest.approx(2190)
    assert row["re100_share"] == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "data/meter_hourly.csv",
            hourly_csv("site", "dc", [1.0] * 8760).rsplit("\n", 2)[0] + "\n",
            "site 'dc' has 8759 hours in 2022; 2022 has 8760 (first missing: 2022-12-31 23:00)",
        ),
        (
            "data/meter_hourly.csv",
            "site,hour_start,energy_mwh\nnowhere,2022-01-01 00:00,1\n",
            "data/meter_hourly.csv, line 2, column 'site': unknown site 'nowhere'",
        ),
        (
            "data/meter_hourly.csv",
            "site,hour_start,energy_mwh\ndc,yesterday,1\n",
            "line 2, column 'hour_start': 'yesterday' is not a date and hour",
        ),
        (
            "data/meter_hourly.csv",
            "site,hour_start,energy_mwh\ndc,2022-01-01 00:30,1\n",
            "line 2, column 'hour_start': '2022-01-01 00:30' is not the start of an hour",
        ),
        (
            "data/meter_hourly.csv",
            "site,hour_start,energy_mwh\ndc,2022-01-01 00:00,-1\n",
            "line 2, column 'energy_mwh': '-1' is negative",
        ),
        (
            "data/meter_hourly.csv",
            "site,hour_start,energy_mwh\ndc,2022-01-01 00:00,1\ndc,2022-01-01T00:00+08:00,1\n",
            "line 3, column 'hour_start': dc 2022-01-01 00:00 is also on line 2",
        ),
        (
            "data/meter_hourly.csv",
            "site,when,energy_mwh\ndc,2022-01-01 00:00,1\n",
            "line 1: missing column(s): hour_start",
        ),
        (
            "data/delivery_hourly.csv",
            "instrument_id,hour_start,energy_mwh\nx9,2022-01-01 00:00,1\n",
            "line 2, column 'instrument_id': unknown instrument 'x9'",
        ),
        (
            "data/pv_hourly.csv",
            "pv_system,hour_start,energy_mwh\nroof9,2022-01-01 00:00,0.5\n",
            "line 2, column 'pv_system': unknown PV system 'roof9'",
        ),
        (
            "data/grid_cfe_hourly.csv",
            "region,hour_start,cfe_share\nAtlantis,2022-01-01 00:00,0.5\n",
            "line 2, column 'region': unknown region 'Atlantis'",
        ),
        (
            "data/grid_cfe_hourly.csv",
            "region,hour_start,cfe_share\n广东,2022-01-01 00:00,35\n",
            "line 2, column 'cfe_share': '35' is above 1 (a share, 0..1)",
        ),
    ],
)
def test_bad_hourly_files(make_project: MakeProject, name: str, text: str, message: str) -> None:
    root = make_project(ROWS, toml=DC_TOML.format(grid="0.0"), files={name: text})
    with pytest.raises(tanlu.InputError) as caught:
        calculate_electricity(tanlu.load_project(root), 2022, hourly=True)
    assert message in str(caught.value)
    result = CliRunner().invoke(app, ["validate", str(root)])
    assert result.exit_code == 1
    assert message in " ".join(result.output.split())


def test_a_series_year_in_two_files(make_project: MakeProject) -> None:
    meter = hourly_csv("site", "dc", [1.0] * 8760)
    root = make_project(
        ROWS,
        toml=DC_TOML.format(grid="0.0"),
        files={"data/meter_hourly_a.csv": meter, "data/meter_hourly_b.csv": meter},
    )
    with pytest.raises(tanlu.InputError, match="'dc' 2022 is also given in"):
        calculate_electricity(tanlu.load_project(root), 2022, hourly=True)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("round_trip_efficiency_share = 1.0", "", "round_trip_efficiency_share (line 22): Field"),
        ("round_trip_efficiency_share = 1.0", "round_trip_efficiency_share = 85", "less than or"),
        ('site = "dc"', 'site = "moon"', "batteries[0] ('bess') names unknown site 'moon'"),
        (
            "energy_mwh = 12",
            "energy_mwh = 0",
            "energy_mwh (line 25): Input should be greater than 0",
        ),
    ],
)
def test_bad_battery_in_tanlu_toml(
    make_project: MakeProject, old: str, new: str, message: str
) -> None:
    extra = BATTERY.format(commissioned="").replace(old, new)
    with pytest.raises(tanlu.ProjectError) as caught:
        project(make_project, extra=extra)
    assert "tanlu.toml" in str(caught.value) and message in str(caught.value)


def test_hour_offsets_without_minutes() -> None:
    from tanlu.ingest.hourly import _parse_hours

    parsed = _parse_hours(pd.Series(["2022-01-01T00:00+08", "2022-01-01 01:00", "soon"]))
    # "+08" is ISO 8601 too; the plain time is China Standard Time; junk is left unread
    assert parsed.iloc[0] == pd.Timestamp("2022-01-01 00:00", tz="Asia/Shanghai")
    assert parsed.iloc[1] == pd.Timestamp("2022-01-01 01:00", tz="Asia/Shanghai")
    assert pd.isna(parsed.iloc[2])

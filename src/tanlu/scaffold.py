"""``tanlu init``: a new project folder with a commented tanlu.toml and example rows."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from tanlu.errors import ProjectError

_CONFIG = """\
# tanlu project file. Every field is described in docs/file-formats.md.

[organisation]
name = "{name}"
base_year = {year}
reporting_years = [{year}]
# operational_control | financial_control | equity_share (GHG Protocol Corporate Standard ch. 3)
consolidation_approach = "operational_control"
# AR5 (default; the Paris Agreement reporting rules use AR5 GWP100) or AR6
gwp_set = "AR5"
# Base-year recalculation threshold (SBTi C26: 5%)
base_year_significance_share = 0.05

[accounting]
# Residual factor for market-based scope 2 (docs/methods.md):
# excluding_market_traded_non_fossil (reading A, default) | grid_average (reading B)
market_residual_policy = "excluding_market_traded_non_fossil"
# region_first: province -> regional grid -> national before giving up the year; or year_first
factor_fallback_order = "region_first"
include_radiative_forcing = false
# China's default fuel table for diesel and gasoline (docs/factors.md): gb_t_2589 (NCV 42.652 /
# 43.070 GJ/t, default) or ndrc_2015 (43.33 / 44.80 GJ/t, the 2015 guidelines for other industries
# and public buildings)
cn_fuel_parameter_table = "gb_t_2589"

[[entities]]
id = "parent"
name = "{name}"
ownership_share = 1.0
operational_control = true
financial_control = true

[[sites]]
id = "hq"
name = "Headquarters"
entity = "parent"
kind = "office"
province = "广东"   # Chinese or English; the regional grid is derived

[data]
activities = ["data/activities*.csv", "data/activities*.xlsx", "data/*.parquet"]
factors = ["factors/*.csv"]
instruments = ["data/instruments*.csv"]
"""

_ACTIVITIES = """\
site,period_start,period_end,activity,quantity,unit,source_document,note
hq,{year}-01-01,{year}-01-31,electricity,120000,kWh,bill {year}-01,example: replace
hq,{year}-02-01,{year}-02-28,electricity,110000,kWh,bill {year}-02,example: replace
hq,{year}-03-15,{year}-03-15,diesel_stationary,400,L,fuel invoice,back-up generator test run
"""

_INSTRUMENTS = "instrument_id,kind,vintage_year,energy_mwh,site,market,source_document,note\n"

_FACTORS = (
    "factor_id,activity,gas,value,unit,region_level,region,year_start,year_end,method,source,"
    "status,note\n"
)


def scaffold_project(directory: Path, name: str, year: int | None = None) -> list[Path]:
    """Create a project folder.

    Parameters
    ----------
    directory
        Must not exist, or be empty.
    name
        Organisation name.
    year
        Base and reporting year of the example rows; defaults to last calendar year.

    Returns
    -------
    list of Path
        The files created.
    """
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise ProjectError(f"{directory}: exists and is not an empty folder")
    year = year or date.today().year - 1
    files = {
        directory / "tanlu.toml": _CONFIG.format(name=name.replace('"', "'"), year=year),
        directory / "data" / "activities.csv": _ACTIVITIES.format(year=year),
        directory / "data" / "instruments.csv": _INSTRUMENTS,
        directory / "factors" / "factors.csv": _FACTORS,
    }
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(files)

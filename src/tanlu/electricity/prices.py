"""Sourced prices for the procurement optimiser (data/procurement_prices.csv).

Every number :class:`~tanlu.electricity.procurement.ProcurementCosts` needs has rows in the
bundled file, each with its source and status (docs/prices.md lists them).
:func:`read_procurement_prices` reads the bundled file and a project's own price files (same
columns; a project row replaces the bundled row with the same parameter, region and year),
checks every row and reports every bad one at once. :func:`procurement_costs` then picks, for
one province and year, one row per parameter:

* region: the province, else ``China``;
* year: the year asked for, else the latest earlier year, else the earliest later year;
* region before year: a row of the province from another year beats a ``China`` row of the year.

A pick that is not the province's row of the year is reported as a plain sentence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from tanlu.electricity.procurement import ProcurementCosts, ProcurementError
from tanlu.errors import InputError, InputIssue
from tanlu.factors.regions import regions_table, resolve_region
from tanlu.tables import read_csv_table

DATA_DIR = Path(__file__).parent / "data"
BUNDLED_FILE = DATA_DIR / "procurement_prices.csv"
NATIONAL_REGION = "China"

PRICE_COLUMNS: tuple[str, ...] = (
    "parameter",
    "region",
    "year",
    "value",
    "unit",
    "status",
    "source",
    "note",
)
_REQUIRED_COLUMNS: tuple[str, ...] = ("parameter", "region", "year", "value", "unit", "source")
USED_COLUMNS: tuple[str, ...] = (
    "parameter",
    "value",
    "unit",
    "region",
    "year",
    "status",
    "source",
    "fallback",
)
# The unit of each ProcurementCosts field as price files write it. Nothing is converted: a row
# in another unit (CNY/W, CNY/kWh for a contract, 8 for 8 %) is an input error.
PARAMETER_UNITS: dict[str, str] = {
    "pv_capex_cny_per_kw": "CNY/kW",
    "pv_fixed_om_cny_per_kw_year": "CNY/kW/yr",
    "pv_lifetime_years": "yr",
    "wind_price_cny_per_mwh": "CNY/MWh",
    "solar_price_cny_per_mwh": "CNY/MWh",
    "battery_energy_capex_cny_per_kwh": "CNY/kWh",
    "battery_power_capex_cny_per_kw": "CNY/kW",
    "battery_lifetime_years": "yr",
    "battery_round_trip_efficiency_share": "share",
    "grid_price_cny_per_mwh": "CNY/MWh",
    "discount_rate_share": "share",
}
_POSITIVE = {"pv_lifetime_years", "battery_lifetime_years", "battery_round_trip_efficiency_share"}
_SHARES = {"battery_round_trip_efficiency_share", "discount_rate_share"}
# Statuses of the reference data (S, S3, D); U (unverified) is never accepted. A project row
# without a status is marked "user".
BUNDLED_STATUSES: tuple[str, ...] = ("S", "S3", "D")
USER_STATUS = "user"


def canonical_region(name: str) -> str | None:
    """``China``, or a province's Chinese name as regions.csv writes it; None if unknown.

    Parameters
    ----------
    name
        ``China``/``全国``/``中国``, or a province in Chinese or English with or without its
        suffix (``广东``, ``广东省``, ``Guangdong``).
    """
    resolved = resolve_region(str(name).strip())
    if resolved is None:
        return None
    level, region = resolved
    if level == "national":
        return NATIONAL_REGION
    if level != "province":
        return None
    table = regions_table()
    return str(table.loc[table["province_en"] == region, "province_zh"].iloc[0])


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _check_price_rows(
    frame: pd.DataFrame, name: str, *, user: bool
) -> tuple[pd.DataFrame, list[InputIssue]]:
    """Validate the rows of one price file.

    Returns the good rows (columns :data:`PRICE_COLUMNS` and ``origin``, region canonical,
    ``year`` int, ``value`` float) and one issue per bad cell.
    """
    missing = [c for c in _REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        return pd.DataFrame(columns=[*PRICE_COLUMNS, "origin"]), [
            InputIssue(name, 1, None, f"missing column(s): {', '.join(missing)}")
        ]
    issues: list[InputIssue] = []
    good: list[dict[str, Any]] = []
    allowed = (*BUNDLED_STATUSES, USER_STATUS) if user else BUNDLED_STATUSES
    for row in frame.to_dict(orient="records"):
        line = int(row["source_line"])
        cell = {
            c: "" if pd.isna(row.get(c, "")) else str(row.get(c, "")).strip() for c in PRICE_COLUMNS
        }
        found: list[InputIssue] = []

        def bad(
            column: str, reason: str, line: int = line, found: list[InputIssue] = found
        ) -> None:
            found.append(InputIssue(name, line, column, reason))

        parameter = cell["parameter"]
        if parameter not in PARAMETER_UNITS:
            bad("parameter", f"unknown parameter '{parameter}' (not a ProcurementCosts field)")
        region = canonical_region(cell["region"])
        if region is None:
            bad("region", f"unknown region '{cell['region']}' (give China or a province)")
        if not cell["year"].isdigit():
            bad("year", f"'{cell['year']}' is not a year")
        value = _number(cell["value"])
        if value is None:
            bad("value", f"'{cell['value']}' is not a number")
        elif value < 0:
            bad("value", f"{cell['value']} is negative")
        elif parameter in _SHARES and value > 1:
            bad("value", f"{cell['value']} is a share outside 0..1 (write 8 % as 0.08)")
        elif parameter in _POSITIVE and value == 0:
            bad("value", f"{parameter} must be greater than 0")
        expected = PARAMETER_UNITS.get(parameter)
        if expected is not None and cell["unit"] != expected:
            bad("unit", f"unit '{cell['unit']}' is not {expected}, the unit of {parameter}")
        if not cell["source"]:
            bad("source", "every price needs a source")
        status = cell["status"] or (USER_STATUS if user else "")
        if status not in allowed:
            bad("status", f"status '{status}' is not one of {', '.join(allowed)}")
        issues.extend(found)
        if not found:
            good.append(
                {
                    **cell,
                    "region": region,
                    "year": int(cell["year"]),
                    "value": value,
                    "status": status,
                    "origin": f"{name}, line {line}",
                }
            )
    return pd.DataFrame(good, columns=[*PRICE_COLUMNS, "origin"]), issues


def _duplicates(rows: pd.DataFrame) -> list[InputIssue]:
    """One issue per row whose (parameter, region, year) an earlier row already has."""
    key = ["parameter", "region", "year"]
    first = rows.drop_duplicates(key).set_index(key)["origin"]
    issues = []
    for row in rows.loc[rows.duplicated(key)].itertuples(index=False):
        file, _, line = str(row.origin).rpartition(", line ")
        earlier = first.loc[(row.parameter, row.region, row.year)]
        issues.append(
            InputIssue(
                file,
                int(line),
                None,
                f"{row.parameter} for {row.region} in {row.year} is already given ({earlier})",
            )
        )
    return issues


@cache
def _bundled_prices() -> pd.DataFrame:
    frame, read_issues = read_csv_table(BUNDLED_FILE, BUNDLED_FILE.name)
    rows, issues = (
        (pd.DataFrame(), read_issues)
        if read_issues
        else _check_price_rows(frame, BUNDLED_FILE.name, user=False)
    )
    issues = issues or _duplicates(rows)
    if issues:
        raise ProcurementError(
            "the bundled procurement price file is malformed:\n"
            + "\n".join(f"  {issue}" for issue in issues[:20])
        )
    return rows


def read_procurement_prices(
    paths: Sequence[Path] = (), display: Sequence[str] | None = None
) -> pd.DataFrame:
    """The bundled procurement prices, with a project's price files laid over them.

    Parameters
    ----------
    paths
        Price files with the columns ``parameter, region, year, value, unit, status, source,
        note`` (``status`` and ``note`` may be left out or empty; an empty status reads
        ``user``). A row replaces the bundled row with the same parameter, region and year.
    display
        How to name each file in messages; defaults to the path.

    Returns
    -------
    pandas.DataFrame
        One row per parameter, region and year: ``parameter, region, year, value, unit,
        status, source, note, origin``. ``region`` is ``China`` or a province's Chinese name
        (``广东``); ``value`` is in the parameter's unit (:data:`PARAMETER_UNITS`: [CNY/kW],
        [CNY/kW/yr], [yr], [CNY/MWh], [CNY/kWh] or [share]); ``origin`` is ``file, line N``.

    Raises
    ------
    InputError
        When a project file cannot be read or has bad rows: every bad cell is listed with file,
        line, column and reason (unknown parameter or region, a year or value that is not a
        number, a negative value, a share outside 0..1, a unit other than the parameter's, no
        source, status U or unknown, or a parameter, region and year given twice).
    """
    names = list(display) if display is not None else [str(path) for path in paths]
    issues: list[InputIssue] = []
    user_frames: list[pd.DataFrame] = []
    for path, name in zip(paths, names, strict=True):
        frame, read_issues = read_csv_table(Path(path), name)
        if read_issues:
            issues.extend(read_issues)
            continue
        rows, row_issues = _check_price_rows(frame, name, user=True)
        issues.extend(row_issues)
        user_frames.append(rows)
    user = pd.concat(user_frames, ignore_index=True) if user_frames else pd.DataFrame()
    if not user.empty:
        issues.extend(_duplicates(user))
    if issues:
        raise InputError(issues)
    bundled = _bundled_prices()
    if user.empty:
        return bundled.copy()
    key = ["parameter", "region", "year"]
    replaced = bundled.set_index(key).index.isin(user.set_index(key).index)
    merged = pd.concat([bundled.loc[~replaced], user], ignore_index=True)
    return merged.sort_values(key, kind="stable").reset_index(drop=True)


def _describe_fallback(province: str, year: int, region: str, row_year: int) -> str:
    if region == province and row_year == year:
        return ""
    used = f"no {year} value for {province}; used {region} {row_year}"
    if row_year < year:
        return used + " (latest earlier year)"
    if row_year > year:
        return used + " (earliest later year)"
    return used


def procurement_costs(
    prices: pd.DataFrame, province: str, year: int
) -> tuple[ProcurementCosts, pd.DataFrame]:
    """The procurement prices of one province and year, and the rows they came from.

    For each parameter: the province's rows if it has any, else the ``China`` rows; among them
    the row of ``year``, else the latest earlier one, else the earliest later one.

    Parameters
    ----------
    prices
        The table of :func:`read_procurement_prices`.
    province
        A province in Chinese or English (``广东``, ``Guangdong``), or ``China`` for national
        values only.
    year
        The year the prices are for.

    Returns
    -------
    ProcurementCosts
        Prices in the units of its fields: [CNY/kWp], [CNY/kWp/yr], [yr], [CNY/MWh],
        [CNY/kWh], [CNY/kW], [0..1].
    pandas.DataFrame
        One row per parameter (the order of the fields): ``parameter, value, unit, region,
        year, status, source, fallback``; ``fallback`` is empty when the row is the province's
        row of the year, else a sentence such as ``no 2024 value for 广东; used China 2023
        (latest earlier year)``.

    Raises
    ------
    ProcurementError
        If the province is unknown, or no row (of any region or year that may be used) gives
        a parameter; the message names every missing parameter.
    """
    wanted = canonical_region(province)
    if wanted is None:
        raise ProcurementError(f"unknown province '{province}'")
    regions = [wanted] if wanted == NATIONAL_REGION else [wanted, NATIONAL_REGION]
    used: list[dict[str, Any]] = []
    missing: list[str] = []
    for parameter in PARAMETER_UNITS:
        rows = prices.loc[prices["parameter"] == parameter]
        chosen = None
        for region in regions:
            candidates = rows.loc[rows["region"] == region]
            if candidates.empty:
                continue
            years = candidates["year"].astype(int)
            earlier = years.loc[years <= year]
            pick = earlier.idxmax() if not earlier.empty else years.idxmin()
            chosen = candidates.loc[pick]
            break
        if chosen is None:
            missing.append(parameter)
            continue
        used.append(
            {
                "parameter": parameter,
                "value": float(chosen["value"]),
                "unit": str(chosen["unit"]),
                "region": str(chosen["region"]),
                "year": int(chosen["year"]),
                "status": str(chosen["status"]),
                "source": str(chosen["source"]),
                "fallback": _describe_fallback(
                    wanted, year, str(chosen["region"]), int(chosen["year"])
                ),
            }
        )
    if missing:
        where = " or ".join(regions)
        raise ProcurementError(
            f"no procurement price for {', '.join(missing)} in {where} (any year): add a row "
            "for each to a project price file (data/prices*.csv, docs/prices.md)"
        )
    table = pd.DataFrame(used, columns=list(USED_COLUMNS))
    values = dict(zip(table["parameter"], table["value"], strict=True))
    return ProcurementCosts(**values), table

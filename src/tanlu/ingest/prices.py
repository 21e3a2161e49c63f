"""A project's procurement price files (``data/prices*.csv``) read and checked, with the other
inputs (docs/prices.md, "A project's own prices").

Each row gives one number the procurement optimiser and the roadmap need: ``parameter,
region, year, value, unit, status, source, note``. The rows are checked here, every bad one
reported at once; :mod:`tanlu.electricity.prices` lays the checked rows over the bundled table
(the same checks, with the statuses of reference data) and picks the prices of a province and
year.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from tanlu.errors import InputError, InputIssue
from tanlu.factors.regions import regions_table, resolve_region
from tanlu.project import Project
from tanlu.tables import ReadTable, given_tables, read_csv_tables

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
REQUIRED_PRICE_COLUMNS: tuple[str, ...] = (
    "parameter",
    "region",
    "year",
    "value",
    "unit",
    "source",
)
# The unit of each ProcurementCosts field (tanlu.electricity.procurement) as price files write
# it. Nothing is converted: a row in another unit (CNY/W, CNY/kWh for a contract, 8 for 8 %) is
# an input error.
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
# The checked rows: the price columns, then where each row came from (``file, line N``).
CHECKED_PRICE_COLUMNS: tuple[str, ...] = (*PRICE_COLUMNS, "origin")
# Where a checked row came from, kept until duplicates are found (:func:`price_duplicates`).
_PLACE_COLUMNS: tuple[str, ...] = ("origin_file", "origin_line", "origin_by_row")


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


def empty_price_table() -> pd.DataFrame:
    """Checked price rows with no row (a project without price files)."""
    return pd.DataFrame(columns=list(CHECKED_PRICE_COLUMNS))


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def check_price_rows(
    frame: pd.DataFrame, name: str, *, user: bool, by_row: bool = False
) -> tuple[pd.DataFrame, list[InputIssue]]:
    """Check the rows of one price table (a file's columns as text, and ``source_line``).

    Parameters
    ----------
    frame, name
        The table and its name in messages.
    user
        A project's rows (status may be empty, read ``user``) rather than reference data.
    by_row
        Whether the table was given in memory (rows numbered from 1: "row N").

    Returns
    -------
    rows, issues
        The good rows (:data:`CHECKED_PRICE_COLUMNS`: region canonical, ``year`` an integer,
        ``value`` a float in the parameter's unit, ``origin`` ``file, line N``; with
        ``origin_file``, ``origin_line`` and ``origin_by_row`` until :func:`without_places`)
        and one issue per bad cell.
    """
    missing = [c for c in REQUIRED_PRICE_COLUMNS if c not in frame.columns]
    if missing:
        return empty_price_table(), [
            InputIssue(
                name,
                None if by_row else 1,
                None,
                f"missing column(s): {', '.join(missing)}",
                by_row=by_row,
            )
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
            found.append(InputIssue(name, line, column, reason, by_row=by_row))

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
                    "origin": InputIssue(name, line, None, "", by_row=by_row).location(),
                    "origin_file": name,
                    "origin_line": line,
                    "origin_by_row": by_row,
                }
            )
    return pd.DataFrame(good, columns=[*CHECKED_PRICE_COLUMNS, *_PLACE_COLUMNS]), issues


def price_duplicates(rows: pd.DataFrame) -> list[InputIssue]:
    """One issue per row whose (parameter, region, year) an earlier row already has.

    ``rows``: checked rows of :func:`check_price_rows`, of one table or several, before
    :func:`without_places` drops where each row came from.
    """
    key = ["parameter", "region", "year"]
    first = rows.drop_duplicates(key).set_index(key)["origin"]
    issues = []
    for row in rows.loc[rows.duplicated(key)].itertuples(index=False):
        earlier = first.loc[(row.parameter, row.region, row.year)]
        issues.append(
            InputIssue(
                str(row.origin_file),
                int(row.origin_line),
                None,
                f"{row.parameter} for {row.region} in {row.year} is already given ({earlier})",
                by_row=bool(row.origin_by_row),
            )
        )
    return issues


def without_places(rows: pd.DataFrame) -> pd.DataFrame:
    """Checked price rows with only :data:`CHECKED_PRICE_COLUMNS`."""
    return rows[list(CHECKED_PRICE_COLUMNS)].reset_index(drop=True)


def check_price_tables(
    tables: Mapping[str, pd.DataFrame], in_memory: Collection[str] = ()
) -> tuple[pd.DataFrame, list[InputIssue]]:
    """Check a project's price tables: every row (:func:`check_price_rows`), and no parameter,
    region and year given twice, within a table or across tables.

    Parameters
    ----------
    tables
        Each table by its name in messages: the columns ``parameter, region, year, value, unit,
        status, source, note`` (``status`` and ``note`` may be left out or empty; an empty
        status reads ``user``) as text, and ``source_line``.
    in_memory
        The names of tables given in memory (rows numbered from 1: "row N").

    Returns
    -------
    rows, issues
        The project's price rows (:data:`CHECKED_PRICE_COLUMNS`; none when any is bad) and
        every problem, naming file (table), line (row), column and reason.
    """
    return _check_prices(given_tables(tables), in_memory)


def _check_prices(
    tables: Iterable[ReadTable], in_memory: Collection[str]
) -> tuple[pd.DataFrame, list[InputIssue]]:
    issues: list[InputIssue] = []
    frames: list[pd.DataFrame] = []
    for name, frame, read_issues in tables:
        if read_issues:
            issues.extend(read_issues)
            continue
        rows, row_issues = check_price_rows(frame, name, user=True, by_row=name in in_memory)
        issues.extend(row_issues)
        frames.append(rows)
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if rows.empty:
        return empty_price_table(), issues
    issues.extend(price_duplicates(rows))
    if issues:
        return empty_price_table(), issues
    return without_places(rows), []


def read_price_files(
    paths: Sequence[Path], displays: Sequence[str] | None = None
) -> tuple[pd.DataFrame, list[InputIssue]]:
    """Read and check a project's price files (:func:`check_price_tables` on each file's
    table); ``displays``: how messages name each file (default: its path)."""
    names = list(displays) if displays is not None else [str(path) for path in paths]
    return _check_prices(read_csv_tables([Path(path) for path in paths], names), ())


def load_project_prices(project: Project) -> pd.DataFrame:
    """A project's price files (``[data] prices``) read and checked on their own, for a caller
    that has no :class:`tanlu.ingest.ProjectInputs` (whose ``prices`` hold the same rows).

    Returns
    -------
    pandas.DataFrame
        The checked rows (:data:`CHECKED_PRICE_COLUMNS`); none for a project without price
        files, or made in memory.

    Raises
    ------
    InputError
        Listing every bad row of every price file.
    """
    rows, issues = read_price_files(
        project.price_files, [project.display_path(p) for p in project.price_files]
    )
    if issues:
        raise InputError(issues)
    return rows

"""Sourced prices for the procurement optimiser (data/procurement_prices.csv).

Every number :class:`~tanlu.electricity.procurement.ProcurementCosts` needs has rows in the
bundled file, each with its source and status (docs/prices.md lists them). A project's own price
files are read and checked with its other inputs (:mod:`tanlu.ingest.prices`; the checked rows
are :attr:`tanlu.ingest.ProjectInputs.prices`); :func:`procurement_prices` lays them over the
bundled rows (a project row replaces the bundled row with the same parameter, region and year),
and :func:`read_procurement_prices` does both from files. :func:`procurement_costs` then picks,
for one province and year, one row per parameter:

* region: the province, else ``China``;
* year: the year asked for, else the latest earlier year, else the earliest later year;
* region before year: a row of the province from another year beats a ``China`` row of the year.

A pick that is not the province's row of the year is reported as a plain sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from tanlu.electricity.procurement import ProcurementCosts, ProcurementError
from tanlu.errors import InputError
from tanlu.ingest.prices import (
    NATIONAL_REGION,
    PARAMETER_UNITS,
    PRICE_COLUMNS,
    canonical_region,
    check_price_rows,
    price_duplicates,
    read_price_files,
    without_places,
)
from tanlu.tables import read_csv_table

DATA_DIR = Path(__file__).parent / "data"
BUNDLED_FILE = DATA_DIR / "procurement_prices.csv"

__all__ = [
    "BUNDLED_FILE",
    "DATA_DIR",
    "NATIONAL_REGION",
    "PARAMETER_UNITS",
    "PRICE_COLUMNS",
    "USED_COLUMNS",
    "canonical_region",
    "procurement_costs",
    "procurement_prices",
    "read_procurement_prices",
]

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


@cache
def _bundled_prices() -> pd.DataFrame:
    frame, read_issues = read_csv_table(BUNDLED_FILE, BUNDLED_FILE.name)
    rows, issues = (
        (pd.DataFrame(), read_issues)
        if read_issues
        else check_price_rows(frame, BUNDLED_FILE.name, user=False)
    )
    issues = issues or price_duplicates(rows)
    if issues:
        raise ProcurementError(
            "the bundled procurement price file is malformed:\n"
            + "\n".join(f"  {issue}" for issue in issues[:20])
        )
    return without_places(rows)


def procurement_prices(project_prices: pd.DataFrame | None = None) -> pd.DataFrame:
    """The bundled procurement prices with a project's checked rows laid over them.

    Parameters
    ----------
    project_prices
        The project's rows as :mod:`tanlu.ingest.prices` checks them
        (:attr:`tanlu.ingest.ProjectInputs.prices`); a row replaces the bundled row with the
        same parameter, region and year. None or empty: the bundled rows alone.

    Returns
    -------
    pandas.DataFrame
        One row per parameter, region and year: ``parameter, region, year, value, unit,
        status, source, note, origin``. ``region`` is ``China`` or a province's Chinese name
        (``广东``); ``value`` is in the parameter's unit (:data:`PARAMETER_UNITS`: [CNY/kW],
        [CNY/kW/yr], [yr], [CNY/MWh], [CNY/kWh] or [share]); ``origin`` is ``file, line N``.
    """
    bundled = _bundled_prices()
    if project_prices is None or project_prices.empty:
        return bundled.copy()
    key = ["parameter", "region", "year"]
    replaced = bundled.set_index(key).index.isin(project_prices.set_index(key).index)
    merged = pd.concat([bundled.loc[~replaced], project_prices], ignore_index=True)
    return merged.sort_values(key, kind="stable").reset_index(drop=True)


def read_procurement_prices(
    paths: Sequence[Path] = (), display: Sequence[str] | None = None
) -> pd.DataFrame:
    """The bundled procurement prices, with a project's price files laid over them
    (:func:`tanlu.ingest.prices.read_price_files`, then :func:`procurement_prices`).

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
        As :func:`procurement_prices`.

    Raises
    ------
    InputError
        When a project file cannot be read or has bad rows: every bad cell is listed with file,
        line, column and reason (unknown parameter or region, a year or value that is not a
        number, a negative value, a share outside 0..1, a unit other than the parameter's, no
        source, status U or unknown, or a parameter, region and year given twice).
    """
    rows, issues = read_price_files(list(paths), display)
    if issues:
        raise InputError(issues)
    return procurement_prices(rows)


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
        The table of :func:`procurement_prices` (or :func:`read_procurement_prices`).
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

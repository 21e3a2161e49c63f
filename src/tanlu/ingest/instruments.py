"""Contractual instruments read from their files and checked (docs/file-formats.md, "Instruments").

One row per instrument (green-power contracts, GECs, I-RECs, PPAs, supplier factors); market-based
scope 2 allocates them (:mod:`tanlu.inventory.instruments`), electricity matches them by hour.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Iterable, Mapping
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from tanlu.errors import InputIssue
from tanlu.factors.regions import resolve_region
from tanlu.identifiers import (
    describe_collision,
    find_id_collisions,
    id_key,
    normalise_ids,
    unknown_id_hint,
)
from tanlu.tables import ReadTable, given_tables, read_csv_tables

INSTRUMENT_KINDS = ("green_power_contract", "gec", "irec", "ppa", "supplier_factor")
ZERO_EMISSION_KINDS = ("green_power_contract", "gec", "irec", "ppa")
# Unbundled certificates: an energy attribute without physical delivery (annual matching only).
CERTIFICATE_KINDS = ("gec", "irec")
REQUIRED = ("instrument_id", "kind", "vintage_year", "energy_mwh")
TECHNOLOGIES = ("solar", "wind", "hydro", "biomass", "geothermal", "nuclear", "unspecified")
DATE_COLUMNS = ("production_start", "production_end", "retirement_date", "commissioning_date")
OPTIONAL = (
    "technology",
    "site",
    "market",
    "supplier_factor_tco2e_per_mwh",
    *DATE_COLUMNS,
    "serial_start",
    "serial_end",
    "source_document",
    "note",
)
# Columns read as ids (tanlu.identifiers): normalised before any check.
ID_COLUMNS = ("instrument_id", "kind", "site", "technology", "market", "serial_start", "serial_end")
# One GEC stands for 1,000 kWh = 1 MWh of renewable electricity: NDRC/MOF/NEA notice
# 发改能源〔2023〕1044号 on full GEC coverage, as published by the NEA on 2023-08-15 (status S;
# docs/file-formats.md, "Serial ranges").
GEC_MWH_PER_CERTIFICATE = 1.0
_SERIAL = re.compile(r"^(.*?)(\d+)$")
# GECs are valid for 2 years from their production month; GECs for power produced before 2024
# are valid to the end of 2025 (NEA GEC rules announced 5 Sep 2024, status P-r; docs/methods.md).
GEC_VALIDITY_YEARS = 2
GEC_PRE_2024_VALID_UNTIL = date(2025, 12, 31)


def gec_valid_until(production_start: date) -> date:
    """Last day a GEC for power produced from ``production_start`` may be claimed."""
    if production_start < date(2024, 1, 1):
        return GEC_PRE_2024_VALID_UNTIL
    month_end: date = (pd.Timestamp(production_start) + pd.offsets.MonthEnd(0)).date()
    return month_end.replace(year=month_end.year + GEC_VALIDITY_YEARS)


def _date(text: object) -> date | None:
    if not isinstance(text, str):
        return None
    return _parsed_date(text)


@functools.lru_cache(maxsize=65_536)
def _parsed_date(text: str) -> date | None:
    """One text's date, parsed once (an instrument file repeats a few dates many times)."""
    parsed = pd.to_datetime(text.strip(), format="%Y-%m-%d", errors="coerce")
    return None if pd.isna(parsed) else parsed.date()


def read_instruments(
    paths: list[Path], displays: list[str], site_ids: set[str]
) -> tuple[pd.DataFrame, list[InputIssue]]:
    """Read and check instrument files (docs/file-formats.md, "Instruments"): the checks of
    :func:`check_instrument_tables` on each file's table (:func:`tanlu.tables.read_csv_table`)."""
    return _check_instruments(read_csv_tables(paths, displays), site_ids, ())


def check_instrument_tables(
    tables: Mapping[str, pd.DataFrame], site_ids: set[str], in_memory: Collection[str] = ()
) -> tuple[pd.DataFrame, list[InputIssue]]:
    """Check instrument tables, each with an instrument file's columns (docs/file-formats.md,
    "Instruments") as text and ``source_line``.

    Parameters
    ----------
    tables
        Each table by the name messages give it (a file's name, or a table's).
    site_ids
        The sites an instrument may name.
    in_memory
        The names of tables given in memory: their rows are numbered from 1 ("row N").

    Returns
    -------
    table, issues
        The instruments of every table (none when any row is bad), ``energy_mwh`` [MWh],
        ``vintage_year`` an integer and the dates as dates; every problem, naming table (file),
        row (line), column and reason, an instrument id or serial number claimed twice too.
    """
    return _check_instruments(given_tables(tables), site_ids, in_memory)


def _check_instruments(
    tables: Iterable[ReadTable], site_ids: set[str], in_memory: Collection[str]
) -> tuple[pd.DataFrame, list[InputIssue]]:
    frames = []
    issues: list[InputIssue] = []
    for display, frame, read_issues in tables:
        if read_issues:
            issues.extend(read_issues)
            continue
        by_row = display in in_memory
        missing = [c for c in REQUIRED if c not in frame.columns]
        if missing:
            issues.append(
                InputIssue(
                    display,
                    None if by_row else 1,
                    None,
                    f"missing column(s): {', '.join(missing)}",
                    by_row=by_row,
                )
            )
            continue
        frame = frame.copy()
        for column in OPTIONAL:
            if column not in frame.columns:
                frame[column] = pd.NA
        frame["written_id"] = frame["instrument_id"]
        for column in ID_COLUMNS:
            frame[column] = normalise_ids(frame[column])
        for row in frame.itertuples(index=False):
            line = int(row.source_line)

            def bad(
                column: str,
                reason: str,
                line: int = line,
                file: str = display,
                by_row: bool = by_row,
            ) -> None:
                issues.append(InputIssue(file, line, column, reason, by_row=by_row))

            if not isinstance(row.instrument_id, str):
                bad("instrument_id", "instrument_id is empty")
            serial_problem = _serial_range_problem(row.serial_start, row.serial_end)
            if serial_problem is not None:
                bad(*serial_problem)
            elif row.kind == "gec" and isinstance(row.serial_start, str):
                count = _certificates_in(row.serial_start, row.serial_end)
                try:
                    stated = float(row.energy_mwh)
                except ValueError:
                    stated = float("nan")  # reported below
                if np.isfinite(stated) and stated != count * GEC_MWH_PER_CERTIFICATE:
                    bad(
                        "energy_mwh",
                        f"{row.energy_mwh} MWh is not the {count} GECs of serial range "
                        f"{row.serial_start}..{row.serial_end} (1 GEC = 1 MWh)",
                    )

            if isinstance(row.technology, str) and row.technology not in TECHNOLOGIES:
                bad("technology", f"'{row.technology}' is not one of {', '.join(TECHNOLOGIES)}")
            if row.kind not in INSTRUMENT_KINDS:
                bad("kind", f"'{row.kind}' is not one of {', '.join(INSTRUMENT_KINDS)}")
            if not str(row.vintage_year).isdigit():
                bad("vintage_year", f"'{row.vintage_year}' is not a year")
            try:
                energy = float(row.energy_mwh)
                if not np.isfinite(energy) or energy < 0:
                    bad("energy_mwh", f"{row.energy_mwh} is not a non-negative number")
            except ValueError:
                bad("energy_mwh", f"'{row.energy_mwh}' is not a number")
            if isinstance(row.site, str) and row.site not in site_ids:
                bad(
                    "site",
                    f"unknown site '{row.site}' (not in tanlu.toml)"
                    + unknown_id_hint(row.site, site_ids),
                )
            dates = {c: _date(getattr(row, c)) for c in DATE_COLUMNS}
            for column in DATE_COLUMNS:
                if isinstance(getattr(row, column), str) and dates[column] is None:
                    bad(column, f"'{getattr(row, column)}' is not a date (YYYY-MM-DD)")
            start, end = dates["production_start"], dates["production_end"]
            if start and end and end < start:
                bad("production_end", "production_end is before production_start")
            vintage = int(row.vintage_year) if str(row.vintage_year).isdigit() else None
            if vintage and start and not (start.year <= vintage <= (end or start).year):
                bad(
                    "vintage_year",
                    f"vintage {vintage} is outside the production period "
                    f"{start}..{end or start} (quality criterion 4, vintage)",
                )
            retired = dates["retirement_date"]
            if row.kind == "gec" and start and retired and retired > gec_valid_until(start):
                bad(
                    "retirement_date",
                    f"the GEC expired on {gec_valid_until(start)} (2 years from its production "
                    f"month, NEA GEC rules 2024) before its retirement on {retired}",
                )
            if row.kind == "supplier_factor":
                try:
                    factor = float(row.supplier_factor_tco2e_per_mwh)
                except (TypeError, ValueError):
                    factor = float("nan")
                if not (np.isfinite(factor) and factor >= 0):
                    bad(
                        "supplier_factor_tco2e_per_mwh",
                        "a supplier_factor instrument needs a non-negative factor [tCO2e/MWh]",
                    )
        frame["source_file"] = display
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=[*REQUIRED, *OPTIONAL, "source_file", "source_line"]), issues
    table = pd.concat(frames, ignore_index=True)
    issues.extend(_id_collisions(table, in_memory))
    issues.extend(_serial_overlaps(table, in_memory))
    table = table.drop(columns="written_id")
    if issues:
        return table.iloc[0:0], issues
    table["technology"] = table["technology"].fillna("unspecified")
    for column in DATE_COLUMNS:
        table[column] = pd.to_datetime(table[column].map(_date))
    table["vintage_year"] = table["vintage_year"].astype("int64")
    table["energy_mwh"] = table["energy_mwh"].astype("float64")
    # checked for supplier_factor rows above; ignored (so not parsed strictly) for other kinds
    table["supplier_factor_tco2e_per_mwh"] = pd.to_numeric(
        table["supplier_factor_tco2e_per_mwh"], errors="coerce"
    )
    table["market"] = [
        "China" if pd.isna(m) or resolve_region(str(m)) == ("national", "China") else str(m)
        for m in table["market"]
    ]
    return table, []


def _serial_number(text: str) -> tuple[str, int] | None:
    """``GEC-2022-000123`` -> (``gec-2022-``, 123): the prefix (case-folded) and the number
    its trailing digits make; None when it does not end in digits."""
    found = _SERIAL.match(text)
    if found is None:
        return None
    return id_key(found.group(1)), int(found.group(2))


def _certificates_in(start: str, end: str) -> int:
    """How many serial numbers a checked range holds (both ends included)."""
    first, last = _serial_number(start), _serial_number(end)
    assert first is not None and last is not None  # checked by _serial_range_problem
    return last[1] - first[1] + 1


def _serial_range_problem(start: object, end: object) -> tuple[str, str] | None:
    """(column, reason) of what is wrong with a row's serial range, or None."""
    given = [isinstance(v, str) for v in (start, end)]
    if not any(given):
        return None
    if not all(given):
        missing = "serial_end" if given[0] else "serial_start"
        return missing, "a serial range needs both serial_start and serial_end"
    first, last = _serial_number(str(start)), _serial_number(str(end))
    if first is None or last is None:
        column = "serial_start" if first is None else "serial_end"
        return column, f"'{start if first is None else end}' does not end in digits"
    if first[0] != last[0]:
        return "serial_end", f"'{end}' does not have the prefix of serial_start '{start}'"
    if last[1] < first[1]:
        return "serial_end", f"'{end}' is before serial_start '{start}'"
    return None


def _id_collisions(table: pd.DataFrame, in_memory: Collection[str]) -> list[InputIssue]:
    """Rows whose instrument ids are one id once normalised (tanlu.identifiers), within a file
    and across files; each names both places and both spellings."""
    present = table.loc[table["instrument_id"].notna()]
    written = [str(w) for w in present["written_id"]]
    issues = []
    for first, later in find_id_collisions(written):
        other, row = present.iloc[first], present.iloc[later]
        issues.append(
            InputIssue(
                str(row["source_file"]),
                int(row["source_line"]),
                "instrument_id",
                f"instrument_id {describe_collision(written[later], written[first])} "
                f"(first on {_row_place(other, in_memory)}; each MWh is claimed once)",
                by_row=str(row["source_file"]) in in_memory,
            )
        )
    return issues


def _row_place(row: pd.Series, in_memory: Collection[str]) -> str:
    """``file, line N`` (``table, row N``) of an instrument row."""
    file = str(row["source_file"])
    return InputIssue(file, int(row["source_line"]), None, "", by_row=file in in_memory).location()


def _serial_overlaps(table: pd.DataFrame, in_memory: Collection[str]) -> list[InputIssue]:
    """Rows whose certificate serial range overlaps an earlier-starting range with the same
    prefix, within a file and across files (the same certificate claimed twice)."""
    ranges = []
    for position, (start, end) in enumerate(
        zip(table["serial_start"], table["serial_end"], strict=True)
    ):
        if not (isinstance(start, str) and isinstance(end, str)):
            continue
        first, last = _serial_number(start), _serial_number(end)
        if first is None or last is None or first[0] != last[0] or last[1] < first[1]:
            continue  # reported by _serial_range_problem
        ranges.append((first[0], first[1], last[1], position))
    issues = []
    reach: dict[str, tuple[int, int]] = {}  # prefix -> (largest end so far, its row)
    for prefix, low, high, position in sorted(ranges):
        held = reach.get(prefix)
        if held is not None and low <= held[0]:
            row, other = table.iloc[position], table.iloc[held[1]]
            issues.append(
                InputIssue(
                    str(row["source_file"]),
                    int(row["source_line"]),
                    "serial_start",
                    f"serial range {row['serial_start']}..{row['serial_end']} overlaps "
                    f"{other['serial_start']}..{other['serial_end']} on "
                    f"{_row_place(other, in_memory)} (a certificate is claimed once)",
                    by_row=str(row["source_file"]) in in_memory,
                )
            )
        if held is None or high > held[0]:
            reach[prefix] = (high, position)
    return issues

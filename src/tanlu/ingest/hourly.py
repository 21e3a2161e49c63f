"""Hourly series files: metered site load and contract deliveries (docs/file-formats.md).

Long format, one row per series and hour::

    site,hour_start,energy_mwh              (meter files: a site's electricity use)
    instrument_id,hour_start,energy_mwh     (delivery files: a contract's deliveries)
    region,hour_start,cfe_share             (grid files: the grid's carbon-free share)
    pv_system,hour_start,energy_mwh         (PV files: a PV system's generation, e.g. from a
                                             typical-year simulation)

``hour_start`` is the beginning of the hour, ISO 8601 (``2022-01-01 00:00`` or
``2022-01-01T00:00+08:00``); times without an offset are China Standard Time (UTC+8). A series
that has any hour of a year must have every hour of it (8,760, or 8,784 in a leap year), each
once. Every bad row is reported at once, naming file, line, column and reason.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from tanlu.errors import InputIssue
from tanlu.identifiers import normalise_ids, unknown_id_hint
from tanlu.tables import ReadTable, given_tables, read_csv_table, read_csv_tables

SeriesKind = Literal["meter", "delivery", "grid", "pv"]
TIMEZONE = "Asia/Shanghai"
ID_COLUMN: dict[SeriesKind, str] = {
    "meter": "site",
    "delivery": "instrument_id",
    "grid": "region",
    "pv": "pv_system",
}
VALUE_COLUMN: dict[SeriesKind, str] = {
    "meter": "energy_mwh",
    "delivery": "energy_mwh",
    "grid": "cfe_share",
    "pv": "energy_mwh",
}
WHAT: dict[SeriesKind, str] = {
    "meter": "site",
    "delivery": "instrument",
    "grid": "region",
    "pv": "PV system",
}
# Issues listed per file before the rest are summarised (a wrongly shifted file would otherwise
# give one line per hour).
MAX_ISSUES_PER_REASON = 20


def empty_hourly_table() -> pd.DataFrame:
    """An hourly table with no series."""
    return pd.DataFrame(
        {
            "series": pd.Series(dtype=str),
            "hour_start": pd.Series(dtype=f"datetime64[ns, {TIMEZONE}]"),
            "value": pd.Series(dtype="float64"),
            "source_line": pd.Series(dtype="int64"),
        }
    )


def _hours_in_year(year: int) -> int:
    return 8784 if calendar.isleap(year) else 8760


def _limit(issues: list[InputIssue], display: str, reason: str) -> list[InputIssue]:
    if len(issues) <= MAX_ISSUES_PER_REASON:
        return issues
    rest = len(issues) - MAX_ISSUES_PER_REASON
    summary = InputIssue(display, None, None, f"{rest} more row(s) where {reason}")
    return [*issues[:MAX_ISSUES_PER_REASON], summary]


def _parse_hours(text: pd.Series) -> pd.Series:
    """Timestamps in China Standard Time (NaT where unreadable)."""
    parsed = pd.Series(pd.NaT, index=text.index, dtype=f"datetime64[ns, {TIMEZONE}]")
    present = text.notna()
    if not present.any():
        return parsed
    values = text[present].astype(str).str.strip()
    has_offset = values.str.contains(r"(?:[+-]\d\d(?::?\d\d)?|Z)$", regex=True)
    for mask, aware in ((~has_offset, False), (has_offset, True)):
        part = values[mask]
        if part.empty:
            continue
        try:
            stamps = pd.to_datetime(part, format="ISO8601", errors="coerce", utc=aware)
        except (TypeError, ValueError):
            # mixed forms in one batch: each value on its own, unreadable ones left NaT
            stamps = pd.Series(
                [pd.to_datetime(v, format="ISO8601", errors="coerce", utc=aware) for v in part],
                index=part.index,
            )
            stamps = pd.to_datetime(stamps, errors="coerce", utc=aware)
        if aware:
            parsed[stamps.index] = stamps.dt.tz_convert(TIMEZONE)
        else:
            parsed[stamps.index] = stamps.dt.tz_localize(
                TIMEZONE, nonexistent="NaT", ambiguous="NaT"
            )
    return parsed


def read_hourly_file(
    path: Path,
    display: str,
    kind: SeriesKind,
    known_ids: set[str] | None = None,
    canonical: Callable[[str], str | None] | None = None,
) -> tuple[pd.DataFrame, list[InputIssue]]:
    """Read and check one hourly series file: :func:`check_hourly_table` on the file's table
    (:func:`tanlu.tables.read_csv_table`).

    Parameters
    ----------
    path, display
        The file, and its name as the user should see it.
    kind, known_ids, canonical
        As for :func:`check_hourly_table`.
    """
    frame, issues = read_csv_table(path, display)
    if issues:
        return empty_hourly_table(), issues
    return check_hourly_table(frame, display, kind, known_ids, canonical)


def check_hourly_table(
    frame: pd.DataFrame,
    display: str,
    kind: SeriesKind,
    known_ids: set[str] | None = None,
    canonical: Callable[[str], str | None] | None = None,
    by_row: bool = False,
) -> tuple[pd.DataFrame, list[InputIssue]]:
    """Check one hourly series table: a file's columns as text, and ``source_line``.

    Parameters
    ----------
    frame, display
        The table, and its name as the user should see it (a file's or a table's).
    kind
        ``"meter"`` (series are sites, values [MWh]), ``"delivery"`` (instrument ids, [MWh]) or
        ``"grid"`` (regions, carbon-free shares [0..1]) or ``"pv"`` (PV systems, [MWh]).
    known_ids
        The ids a series may name.
    canonical
        Instead of ``known_ids``: maps a name to its canonical id, or None when unknown.
    by_row
        Whether the table was given in memory (its rows are numbered from 1: "row N").

    Returns
    -------
    table, issues
        ``series, hour_start, value, source_line`` (hour_start in China Standard Time, value in
        the file's unit) and every problem found; the table is empty when there is any issue.
    """
    id_column = ID_COLUMN[kind]
    value_column = VALUE_COLUMN[kind]
    required = [id_column, "hour_start", value_column]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        reason = (
            f"missing column(s): {', '.join(missing)} (a {kind} file has {', '.join(required)})"
        )
        return empty_hourly_table(), [
            InputIssue(display, None if by_row else 1, None, reason, by_row=by_row)
        ]
    issues: list[InputIssue] = []
    lines = frame["source_line"].to_numpy()
    series = normalise_ids(frame[id_column]).fillna("").astype(str)
    hours = _parse_hours(frame["hour_start"])
    energy = pd.to_numeric(frame[value_column], errors="coerce")

    def rows(mask: pd.Series | np.ndarray, column: str, reason: str) -> list[InputIssue]:
        found = [
            InputIssue(display, int(line), column, reason.format(value=value), by_row=by_row)
            for line, value in zip(
                lines[np.asarray(mask)], frame.loc[np.asarray(mask), column], strict=True
            )
        ]
        return _limit(found, display, reason.format(value="..."))

    what = WHAT[kind]
    issues += rows(series == "", id_column, f"missing {id_column}")
    if canonical is not None:
        names = {name: canonical(name) for name in series.unique() if name}
        unknown = (series != "") & series.map(lambda name: names.get(name) is None)
        series = series.map(lambda name: names.get(name) or name)
        issues += rows(unknown, id_column, f"unknown {what} '{{value}}'")
    else:
        known = known_ids or set()
        unknown = (series != "") & ~series.isin(known)
        hints = {name: unknown_id_hint(name, known) for name in series[unknown].unique()}
        issues += _limit(
            [
                InputIssue(
                    display,
                    int(line),
                    id_column,
                    f"unknown {what} '{name}'{hints[name]}",
                    by_row=by_row,
                )
                for line, name in zip(lines[unknown.to_numpy()], series[unknown], strict=True)
            ],
            display,
            f"unknown {what} '...'",
        )
    issues += rows(
        hours.isna(),
        "hour_start",
        "'{value}' is not a date and hour (ISO 8601, e.g. 2022-01-01 00:00)",
    )
    off_hour = hours.notna() & (hours.dt.floor("h") != hours)
    issues += rows(off_hour, "hour_start", "'{value}' is not the start of an hour")
    issues += rows(energy.isna(), value_column, "'{value}' is not a number")
    issues += rows(energy < 0, value_column, "'{value}' is negative")
    if kind == "grid":
        issues += rows(energy > 1, value_column, "'{value}' is above 1 (a share, 0..1)")
    table = pd.DataFrame(
        {
            "series": series,
            "hour_start": hours,
            "value": energy,
            "source_line": frame["source_line"],
        }
    )
    clean = table.loc[table["hour_start"].notna() & (series != "")]
    twice = clean.duplicated(["series", "hour_start"], keep="first")
    for row in clean.loc[twice].head(MAX_ISSUES_PER_REASON).itertuples(index=False):
        first = clean.loc[
            (clean["series"] == row.series) & (clean["hour_start"] == row.hour_start),
            "source_line",
        ].iloc[0]
        word = "row" if by_row else "line"
        issues.append(
            InputIssue(
                display,
                int(row.source_line),
                "hour_start",
                f"{row.series} {row.hour_start:%Y-%m-%d %H:%M} is also on {word} {first}",
                by_row=by_row,
            )
        )
    if issues:
        return empty_hourly_table(), issues
    table = table.drop_duplicates(["series", "hour_start"])
    years = table["hour_start"].dt.year
    counts = table.groupby([table["series"], years]).size()
    for (name, year), count in counts.items():
        expected = _hours_in_year(int(year))
        if count != expected:
            have = table.loc[(table["series"] == name) & (years == year), "hour_start"]
            full = pd.date_range(
                f"{year}-01-01", f"{int(year) + 1}-01-01", freq="h", inclusive="left", tz=TIMEZONE
            )
            gap = full.difference(pd.DatetimeIndex(have))
            issues.append(
                InputIssue(
                    display,
                    None,
                    None,
                    f"{what} '{name}' has {count} hours in {year}; {year} has {expected} "
                    f"(first missing: {gap[0]:%Y-%m-%d %H:%M})",
                )
            )
    if issues:
        return empty_hourly_table(), issues
    return table.reset_index(drop=True), []


def read_hourly_files(
    paths: Sequence[Path],
    displays: Sequence[str],
    kind: SeriesKind,
    known_ids: set[str] | None = None,
    canonical: Callable[[str], str | None] | None = None,
) -> tuple[pd.DataFrame, list[InputIssue]]:
    """Read several hourly files of one kind; a series-year given in two files is an error."""
    return _check_hourly(read_csv_tables(paths, displays), kind, known_ids, canonical, ())


def check_hourly_tables(
    tables: Mapping[str, pd.DataFrame],
    kind: SeriesKind,
    known_ids: set[str] | None = None,
    canonical: Callable[[str], str | None] | None = None,
    in_memory: Collection[str] = (),
) -> tuple[pd.DataFrame, list[InputIssue]]:
    """Check several hourly tables of one kind (:func:`check_hourly_table`, ``in_memory``: the
    names of tables given in memory); a series-year given in two tables is an error."""
    return _check_hourly(given_tables(tables), kind, known_ids, canonical, in_memory)


def _check_hourly(
    tables: Iterable[ReadTable],
    kind: SeriesKind,
    known_ids: set[str] | None,
    canonical: Callable[[str], str | None] | None,
    in_memory: Collection[str],
) -> tuple[pd.DataFrame, list[InputIssue]]:
    frames = []
    issues: list[InputIssue] = []
    seen: dict[tuple[str, int], str] = {}
    for display, frame, read_issues in tables:
        if read_issues:
            issues.extend(read_issues)
            continue
        table, table_issues = check_hourly_table(
            frame, display, kind, known_ids, canonical, by_row=display in in_memory
        )
        issues.extend(table_issues)
        if table.empty:
            continue
        pairs = table.groupby([table["series"], table["hour_start"].dt.year]).size().index
        for name, year in pairs:
            key = (str(name), int(year))
            if key in seen:
                issues.append(
                    InputIssue(display, None, None, f"'{name}' {year} is also given in {seen[key]}")
                )
            else:
                seen[key] = display
        frames.append(table)
    if not frames:
        return empty_hourly_table(), issues
    return pd.concat(frames, ignore_index=True), issues


def hourly_series(table: pd.DataFrame, name: str, year: int) -> np.ndarray | None:
    """The 8,760 (8,784) values of one series in one year, or None when not given."""
    if table.empty:
        return None
    rows = table.loc[(table["series"] == name) & (table["hour_start"].dt.year == year)]
    if rows.empty:
        return None
    values: np.ndarray = rows.sort_values("hour_start")["value"].to_numpy(dtype="float64")
    return values

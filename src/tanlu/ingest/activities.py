"""Raw activity rows -> the canonical activity table, with every bad row reported.

Checks, in order, each reported with file, line, column and reason: unknown site, activity or
unit; a unit of the wrong dimension; a quantity that is missing, not a number or negative; dates
that do not parse or end before they start; a period outside every project year; duplicate rows;
overlapping periods for the same site, activity and meter (double counting, checked for scope 1
and scope 2 activities, whose rows are meter or invoice periods rather than transactions).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tanlu.errors import InputIssue, UnitError
from tanlu.factors.library import SCOPE_CATEGORIES, FactorLibrary
from tanlu.identifiers import normalise_ids, unknown_id_hint
from tanlu.units import conversion_factor

CANONICAL_COLUMNS: tuple[str, ...] = (
    "row_id",
    "source_file",
    "source_sheet",
    "source_line",
    "site",
    "activity",
    "meter",
    "period_start",
    "period_end",
    "quantity",
    "unit",
    "canonical_unit",
    "scope",
    "category",
    "source_document",
    "note",
)


@dataclass(frozen=True)
class PreparedActivities:
    """The outcome of checking activity rows.

    Attributes
    ----------
    table
        Good rows (``CANONICAL_COLUMNS``); empty when any row is bad.
    unit_conversions
        ``activity, unit, canonical_unit, multiplier``: one row per distinct pair in the data;
        ``quantity * multiplier`` is the quantity in the activity's canonical unit.
    issues
        Every problem found, in file and line order.
    rows_read
        How many rows the files held.
    """

    table: pd.DataFrame
    unit_conversions: pd.DataFrame
    issues: list[InputIssue]
    rows_read: int


def _issues(
    frame: pd.DataFrame,
    mask: pd.Series,
    column: str | None,
    reasons: Iterable[str],
    in_memory: Collection[str] = (),
) -> list[InputIssue]:
    rows = frame.loc[mask, ["source_file", "source_sheet", "source_line"]]
    return [
        InputIssue(
            str(f),
            int(line),
            column,
            reason,
            None if pd.isna(sheet) else str(sheet),
            by_row=str(f) in in_memory,
        )
        for (f, sheet, line), reason in zip(
            rows.itertuples(index=False, name=None), reasons, strict=True
        )
    ]


def _where(frame: pd.DataFrame, index: int, in_memory: Collection[str] = ()) -> str:
    """Name another row of the input the way issues name places ("file [sheet S], row N");
    ``in_memory``: the names of tables given in memory (numbered by row)."""
    sheet = frame.at[index, "source_sheet"]
    file = str(frame.at[index, "source_file"])
    return InputIssue(
        file,
        int(frame.at[index, "source_line"]),
        None,
        "",
        None if pd.isna(sheet) else str(sheet),
        by_row=file in in_memory,
    ).location()


def _parse_dates(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        if values.dt.tz is not None:  # a moment in time: the day it was in China
            values = values.dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
        return values.dt.normalize()
    text = values.astype("string").str.strip().str.slice(0, 10)
    return pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")


def prepare_activities(
    raw: pd.DataFrame,
    library: FactorLibrary,
    site_ids: Iterable[str],
    project_years: Iterable[int],
    in_memory: Collection[str] = (),
) -> PreparedActivities:
    """Check raw activity rows and convert quantities to canonical units.

    Parameters
    ----------
    raw
        Rows from :mod:`tanlu.ingest.readers` (strings, with ``source_file`` and ``source_line``).
    library
        The factor library (activity catalogue, unit properties).
    site_ids
        The sites of the project.
    project_years
        Base year and reporting years; a row whose period touches none of them is an error.
    in_memory
        The ``source_file`` names that are tables given in memory: their rows are numbered
        from 1 and named "row N" (:attr:`tanlu.errors.InputIssue.by_row`).
    """
    rows_read = len(raw)
    if raw.empty:
        return PreparedActivities(_empty(), _conversions({}, {}), [], 0)
    frame = raw.reset_index(drop=True)
    issues: list[InputIssue] = []
    bad = pd.Series(False, index=frame.index)

    def flag(
        mask: pd.Series, column: str | None, reason: str | Callable[[pd.Index], Iterable[str]]
    ) -> None:
        """Record an issue for every row in ``mask`` not already bad; reasons built lazily."""
        nonlocal bad
        mask = mask.fillna(False).astype(bool) & ~bad
        if not mask.any():
            return
        index = frame.index[mask.to_numpy()]
        reasons = [reason] * len(index) if isinstance(reason, str) else list(reason(index))
        issues.extend(_issues(frame, mask, column, reasons, in_memory))
        bad = bad | mask

    # every id and every name compared below in its one canonical spelling (tanlu.identifiers)
    for column in ("site", "activity", "unit", "meter", "category", "source_document"):
        frame[column] = normalise_ids(frame[column])
    for column in ("site", "activity", "unit", "period_start", "period_end", "quantity"):
        flag(frame[column].isna(), column, f"{column} is empty")

    known_sites = set(site_ids)
    flag(
        ~frame["site"].isin(known_sites),
        "site",
        lambda i: (
            f"unknown site '{s}' (not in tanlu.toml){unknown_id_hint(s, known_sites)}"
            for s in frame.loc[i, "site"]
        ),
    )

    catalogue = library.activities.set_index("activity")
    flag(
        ~frame["activity"].isin(catalogue.index),
        "activity",
        lambda i: (
            f"unknown activity '{a}' (see `tanlu factors list`)" for a in frame.loc[i, "activity"]
        ),
    )

    # Units: one pint conversion per distinct (activity, unit) pair.
    pairs = frame.loc[~bad, ["activity", "unit"]].drop_duplicates()
    multipliers: dict[tuple[str, str], float] = {}
    unit_errors: dict[tuple[str, str], str] = {}
    for activity, unit in pairs.itertuples(index=False, name=None):
        canonical = str(catalogue.at[activity, "canonical_unit"])
        try:
            multipliers[(activity, unit)] = conversion_factor(
                unit, canonical, library.properties.get(activity)
            )
        except UnitError as error:
            unit_errors[(activity, unit)] = f"{error} (activity '{activity}')"
    pair_index = pd.MultiIndex.from_frame(frame[["activity", "unit"]].fillna(""))
    error_series = pd.Series(unit_errors, dtype="string")
    reasons = (
        error_series.reindex(pair_index).to_numpy() if unit_errors else np.full(len(frame), pd.NA)
    )
    flag(
        pd.Series(pd.notna(reasons), index=frame.index),
        "unit",
        lambda i: (str(reasons[j]) for j in i),
    )

    quantity = pd.to_numeric(frame["quantity"], errors="coerce")
    flag(
        quantity.isna(),
        "quantity",
        lambda i: (f"'{q}' is not a number" for q in frame.loc[i, "quantity"]),
    )
    flag(~np.isfinite(quantity.fillna(0.0)), "quantity", "quantity is not finite")
    flag(
        quantity < 0,
        "quantity",
        lambda i: (f"negative quantity {q}" for q in frame.loc[i, "quantity"]),
    )

    start = _parse_dates(frame["period_start"])
    end = _parse_dates(frame["period_end"])
    flag(
        start.isna(),
        "period_start",
        lambda i: (f"'{v}' is not a date (YYYY-MM-DD)" for v in frame.loc[i, "period_start"]),
    )
    flag(
        end.isna(),
        "period_end",
        lambda i: (f"'{v}' is not a date (YYYY-MM-DD)" for v in frame.loc[i, "period_end"]),
    )
    flag(end < start, "period_end", "period_end is before period_start")

    years = sorted(set(project_years))
    touches = pd.Series(False, index=frame.index)
    for year in years:
        touches |= (start <= pd.Timestamp(year, 12, 31)) & (end >= pd.Timestamp(year, 1, 1))
    flag(
        ~touches,
        "period_start",
        f"the period lies outside every project year ({', '.join(map(str, years))})",
    )

    scope = frame["activity"].map(catalogue["scope"])
    default_category = frame["activity"].map(catalogue["category"])
    override = frame["category"]
    has_override = override.notna() & (override != "")
    valid_pairs = pd.MultiIndex.from_tuples([(3, c) for c in SCOPE_CATEGORIES[3]])
    pairs_given = pd.MultiIndex.from_arrays([scope.astype("Int64"), override.fillna("")])
    allowed = ~has_override | pairs_given.isin(valid_pairs)
    flag(
        ~pd.Series(allowed, index=frame.index),
        "category",
        lambda i: (
            f"'{c}' is not a scope 3 category (only scope 3 rows may change category)"
            for c in override.loc[i]
        ),
    )
    category = default_category.where(~has_override, override)

    # Duplicates are found on parsed values: dates as dates (2022-1-5 is 2022-01-05), quantities
    # in the activity's canonical unit (1e3 kWh is 1 MWh, to 12 significant digits), ids and
    # documents normalised; a row already bad is not compared.
    multiplier = (
        pd.Series(multipliers, dtype="float64").reindex(pair_index).to_numpy()
        if multipliers
        else np.full(len(frame), np.nan)
    )
    canonical = quantity * multiplier
    magnitude = np.floor(np.log10(canonical.abs().where(canonical != 0, 1.0)))
    mantissa = (canonical / 10.0**magnitude).round(11)
    # a value one ulp below a power of ten (0.9999999999999999) rounds up to a mantissa of 10:
    # carry it, so that it keys as 1.0 x 10^0 like 1.0 does
    carried = mantissa.abs() >= 10.0
    mantissa = mantissa.where(~carried, mantissa / 10.0)
    magnitude = magnitude.where(~carried, magnitude + 1.0)
    keyed = pd.DataFrame(
        {
            "site": frame["site"],
            "activity": frame["activity"],
            "meter": frame["meter"].fillna(""),
            "start": start,
            "end": end,
            "mantissa": mantissa,
            "magnitude": magnitude,
            "source_document": frame["source_document"].fillna(""),
        }
    ).loc[~bad]
    first_line = keyed.groupby(list(keyed.columns), sort=False, dropna=False).ngroup()
    first_seen = (
        pd.Series(keyed.index, index=keyed.index).groupby(first_line).transform("min")
    ).reindex(frame.index)
    duplicated = first_seen.notna() & (first_seen != frame.index)
    flag(
        duplicated,
        None,
        lambda i: (f"duplicate of {_where(frame, int(j), in_memory)}" for j in first_seen.loc[i]),
    )

    # Overlapping periods for the same site, activity and meter (scope 1 and 2 only): each
    # period is compared with the latest-ending period that started before it.
    metered = (scope.isin([1, 2])) & ~bad
    if metered.any():
        keys = ["site", "activity", "meter"]
        sub = pd.DataFrame(
            {
                "site": frame["site"],
                "activity": frame["activity"],
                "meter": frame["meter"].fillna(""),
                "start": start,
                "end": end,
                "row": frame.index,
            }
        ).loc[metered]
        sub = sub.sort_values([*keys, "start", "end"])
        groups = [sub[k] for k in keys]
        running_end = sub.groupby(keys, sort=False)["end"].cummax()
        holder = sub["row"].where(sub["end"] == running_end).groupby(groups, sort=False).ffill()
        previous_end = running_end.groupby(groups, sort=False).shift()
        previous_row = holder.groupby(groups, sort=False).shift()
        overlap = previous_end.notna() & (sub["start"] <= previous_end)
        partner = previous_row.loc[overlap].reindex(frame.index)
        flag(
            partner.notna(),
            "period_start",
            lambda i: (
                f"period overlaps {_where(frame, int(p), in_memory)} for the same site, activity "
                "and meter (double counting)"
                for p in partner.loc[i]
            ),
        )

    issues.sort(key=lambda i: (i.file, i.sheet or "", i.line or 0))
    if issues:
        return PreparedActivities(_empty(), _conversions({}, {}), issues, rows_read)

    table = pd.DataFrame(
        {
            "row_id": np.arange(len(frame), dtype="int64"),
            "source_file": frame["source_file"].astype("string"),
            "source_sheet": frame["source_sheet"].astype("string"),
            "source_line": frame["source_line"].astype("int64"),
            "site": frame["site"],
            "activity": frame["activity"],
            "meter": frame["meter"].astype("string"),
            "period_start": start,
            "period_end": end,
            "quantity": quantity,
            "unit": frame["unit"],
            "canonical_unit": frame["activity"].map(catalogue["canonical_unit"]).astype("string"),
            "scope": scope.astype("int64"),
            "category": category.astype("string"),
            "source_document": frame["source_document"].astype("string"),
            "note": frame["note"].astype("string"),
        }
    )
    canonical_units = dict(zip(catalogue.index, catalogue["canonical_unit"], strict=True))
    return PreparedActivities(table, _conversions(multipliers, canonical_units), [], rows_read)


_EMPTY_DTYPES: dict[str, str] = {
    "row_id": "int64",
    "source_line": "int64",
    "period_start": "datetime64[us]",
    "period_end": "datetime64[us]",
    "quantity": "float64",
    "scope": "int64",
}


def _empty() -> pd.DataFrame:
    """The canonical activity table with no rows, typed as a full one is (the engine needs a
    type for every column, even of an empty table)."""
    return pd.DataFrame(
        {
            column: pd.Series(dtype=_EMPTY_DTYPES.get(column, "string"))
            for column in CANONICAL_COLUMNS
        }
    )


def _conversions(
    multipliers: dict[tuple[str, str], float], canonical_units: dict[str, str]
) -> pd.DataFrame:
    rows = [
        {"activity": a, "unit": u, "canonical_unit": canonical_units[a], "multiplier": m}
        for (a, u), m in sorted(multipliers.items())
    ]
    frame = pd.DataFrame(rows, columns=["activity", "unit", "canonical_unit", "multiplier"])
    # typed even with no rows (the engine needs a type for every column)
    return frame.astype({"activity": str, "unit": str, "canonical_unit": str, "multiplier": float})

"""Action events and consent, read from operators' batch files (CSV or Parquet) and checked.

An action event is one low-carbon action of one user, as an operator reports it: a trip by bus,
metro or shared bike, a day's steps, a month's electricity saved. Its columns
(docs/ledger.md, "Batch files"): ``operator, event_id, user, action, channel, city,
start_time, end_time`` required; ``province, start_place, end_place, distance_km, quantity,
start_lat, start_lon, end_lat, end_lon`` optional. Times are China Standard Time (UTC+8) when
written without an offset; a time with an offset (or ``Z``) is converted to China time.

Every bad row is an :class:`~tanlu.errors.InputIssue` naming file, line (a Parquet file's row),
column and reason, each row for the first rule it breaks; a batch with any bad row is refused
whole (nothing is written to the ledger). Checks run on whole columns at once (pandas), the
messages only for the bad rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from tanlu.errors import InputError, InputIssue
from tanlu.identifiers import normalise_ids
from tanlu.ledger.methodologies import MethodologyRegistry, canonical_region
from tanlu.tables import CSV_OPTIONS, drop_blank_rows

EVENT_REQUIRED: tuple[str, ...] = (
    "operator",
    "event_id",
    "user",
    "action",
    "channel",
    "city",
    "start_time",
    "end_time",
)
EVENT_OPTIONAL: tuple[str, ...] = (
    "province",
    "start_place",
    "end_place",
    "distance_km",
    "quantity",
    "start_lat",
    "start_lon",
    "end_lat",
    "end_lon",
)
EVENT_COLUMNS: tuple[str, ...] = (*EVENT_REQUIRED, *EVENT_OPTIONAL)
ID_COLUMNS: tuple[str, ...] = (
    "operator",
    "event_id",
    "user",
    "action",
    "channel",
    "city",
    "province",
    "start_place",
    "end_place",
)
NUMBER_COLUMNS: tuple[str, ...] = (
    "distance_km",
    "quantity",
    "start_lat",
    "start_lon",
    "end_lat",
    "end_lon",
)
COORDINATES: tuple[str, ...] = ("start_lat", "start_lon", "end_lat", "end_lon")
# Coordinates are kept to 3 decimals (about 100 m): enough for the teleport check, and no
# more of where a person was than the rules need (docs/ledger.md, "Privacy").
COORDINATE_DECIMALS = 3
CHINA_TIME_ZONE = "Asia/Shanghai"
CONSENT_REQUIRED: tuple[str, ...] = ("user", "scenario", "granted_at")
CONSENT_COLUMNS: tuple[str, ...] = (*CONSENT_REQUIRED, "withdrawn_at")
# The checked events as the engine takes them (and the ledger stores them).
EVENT_SCHEMA = pa.schema(
    [
        ("operator", pa.string()),
        ("event_id", pa.string()),
        ("user", pa.string()),
        ("action", pa.string()),
        ("channel", pa.string()),
        ("city", pa.string()),
        ("province", pa.string()),
        ("start_time", pa.timestamp("us")),
        ("end_time", pa.timestamp("us")),
        ("start_place", pa.string()),
        ("end_place", pa.string()),
        ("distance_km", pa.float64()),
        ("quantity", pa.float64()),
        ("start_lat", pa.float64()),
        ("start_lon", pa.float64()),
        ("end_lat", pa.float64()),
        ("end_lon", pa.float64()),
        ("content_hash", pa.int64()),
        ("batch_file", pa.string()),
        ("batch_line", pa.int64()),
    ]
)
CONSENT_SCHEMA = pa.schema(
    [
        ("user", pa.string()),
        ("scenario", pa.string()),
        ("granted_at", pa.timestamp("us")),
        ("withdrawn_at", pa.timestamp("us")),
    ]
)
_OFFSET = r"(?:[zZ]|[+-]\d{2}:?\d{2})$"


@dataclass(frozen=True)
class EventBatch:
    """The checked events of one or more batch files.

    Attributes
    ----------
    table
        One row per distinct (operator, event_id), :data:`EVENT_SCHEMA`.
    rows_read
        Rows in the files (blank ones not counted).
    repeated_in_batch
        Rows that repeat an earlier row of the batch exactly (same operator, event id and
        content): read once.
    """

    table: pa.Table
    rows_read: int
    repeated_in_batch: int


def _read_frame(path: Path, display: str) -> tuple[pd.DataFrame, list[InputIssue], bool]:
    """A batch or consent file as a table with ``source_line``; whether rows are numbered by
    row (Parquet) rather than by line."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        try:
            frame = pd.read_csv(path, **CSV_OPTIONS)
        except UnicodeDecodeError:
            return pd.DataFrame(), [InputIssue(display, None, None, "not UTF-8 text")], False
        except pd.errors.EmptyDataError:
            return pd.DataFrame(), [InputIssue(display, None, None, "the file is empty")], False
        except pd.errors.ParserError as error:
            return (
                pd.DataFrame(),
                [InputIssue(display, None, None, f"not valid CSV: {error}")],
                False,
            )
        except OSError as error:
            return pd.DataFrame(), [InputIssue(display, None, None, f"cannot read: {error}")], False
        frame.columns = [str(c).strip().lower() for c in frame.columns]
        columns = list(frame.columns)
        frame["source_line"] = np.arange(2, len(frame) + 2, dtype="int64")
        return drop_blank_rows(frame, columns), [], False
    if suffix == ".parquet":
        try:
            frame = pd.read_parquet(path)
        except Exception as error:  # pyarrow raises ArrowInvalid, OSError ... for a bad file
            return (
                pd.DataFrame(),
                [InputIssue(display, None, None, f"cannot read Parquet: {error}")],
                True,
            )
        frame.columns = [str(c).strip().lower() for c in frame.columns]
        frame["source_line"] = np.arange(1, len(frame) + 1, dtype="int64")
        return frame, [], True
    return (
        pd.DataFrame(),
        [
            InputIssue(
                display, None, None, f"unsupported file type '{path.suffix}' (CSV or Parquet)"
            )
        ],
        False,
    )


def _header_issues(
    frame: pd.DataFrame, display: str, required: Sequence[str], known: Sequence[str]
) -> list[InputIssue]:
    missing = [c for c in required if c not in frame.columns]
    unknown = [
        c
        for c in frame.columns
        if c not in known and c != "source_line" and not c.startswith("unnamed")
    ]
    if missing:
        return [InputIssue(display, 1, None, f"missing required column(s): {', '.join(missing)}")]
    if unknown:
        return [InputIssue(display, 1, None, f"unknown column(s): {', '.join(unknown)}")]
    return []


def parse_times(values: pd.Series) -> pd.Series:
    """Times as China Standard Time without a zone (``datetime64[us]``; NaT where a value is
    not a time): text in ISO 8601 (``2025-05-01 08:30``, ``2025-05-01T08:30:00+08:00``, a date
    alone is its midnight), or typed timestamps (zoned ones converted to China time)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        stamps = pd.Series(values)
        if getattr(stamps.dt, "tz", None) is not None:
            stamps = stamps.dt.tz_convert(CHINA_TIME_ZONE).dt.tz_localize(None)
        return stamps.astype("datetime64[us]")
    text = values.astype("string").str.strip()
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us]")
    zoned = text.str.contains(_OFFSET, regex=True, na=False)
    plain = text.notna() & ~zoned
    if plain.any():
        parsed = pd.to_datetime(text[plain], format="ISO8601", errors="coerce")
        out[plain] = parsed.astype("datetime64[us]")
    if zoned.any():
        parsed = pd.to_datetime(text[zoned], format="ISO8601", errors="coerce", utc=True)
        out[zoned] = (
            parsed.dt.tz_convert(CHINA_TIME_ZONE).dt.tz_localize(None).astype("datetime64[us]")
        )
    return out


def _numbers(values: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype("float64")
    return pd.to_numeric(values.astype("string").str.strip(), errors="coerce").astype("float64")


class _Checks:
    """Rules over whole columns; each row keeps the first rule it breaks."""

    def __init__(self, frame: pd.DataFrame, display: str, by_row: bool) -> None:
        self.frame, self.display, self.by_row = frame, display, by_row
        self.bad = pd.Series(False, index=frame.index)
        self.issues: list[InputIssue] = []

    def rule(self, broken: pd.Series, column: str | None, reason: str | object) -> None:
        """Rows where ``broken`` holds (and no earlier rule broke) get ``reason``: a text, or a
        function of the row's index giving one."""
        hit = broken.fillna(False).astype(bool) & ~self.bad
        if not hit.any():
            return
        self.bad |= hit
        for index in hit[hit].index:
            text = reason(index) if callable(reason) else str(reason)
            line = int(self.frame.at[index, "source_line"])
            self.issues.append(InputIssue(self.display, line, column, text, by_row=self.by_row))


def _raw(frame: pd.DataFrame, index: object, column: str) -> str:
    return str(frame.at[index, column]).strip()


def check_events(
    frame: pd.DataFrame, display: str, registry: MethodologyRegistry, by_row: bool = False
) -> tuple[pd.DataFrame, list[InputIssue]]:
    """Check a batch's rows (its columns and ``source_line``) and type them.

    Returns
    -------
    events, issues
        The good rows (ids normalised, times and numbers parsed, coordinates rounded to
        :data:`COORDINATE_DECIMALS`) and one issue per bad row.
    """
    raw = frame
    out = pd.DataFrame(index=frame.index)
    for column in ID_COLUMNS:
        out[column] = normalise_ids(frame[column]) if column in frame.columns else pd.NA
    out["province"] = out["province"].astype("string")
    checks = _Checks(frame, display, by_row)
    for column in EVENT_REQUIRED:
        if column in ID_COLUMNS:
            checks.rule(out[column].isna(), column, f"{column} is empty")
        else:
            checks.rule(frame[column].isna(), column, f"{column} is empty")
    known = set(registry.actions)
    checks.rule(
        ~out["action"].isin(known),
        "action",
        lambda i: (
            f"unknown action '{out.at[i, 'action']}' (methodologies credit: "
            f"{', '.join(sorted(known))})"
        ),
    )
    provinces = {p: canonical_region(p, "province") for p in out["province"].dropna().unique()}
    out["province"] = out["province"].map(provinces, na_action="ignore").astype("string")
    checks.rule(
        frame["province"].notna() & out["province"].isna()
        if "province" in frame
        else pd.Series(False, index=frame.index),
        "province",
        lambda i: f"unknown province '{_raw(frame, i, 'province')}'",
    )
    cities = {c: canonical_region(c, "city") for c in out["city"].dropna().unique()}
    out["city"] = out["city"].map(cities, na_action="ignore").astype("string")
    for column in ("start_time", "end_time"):
        out[column] = parse_times(frame[column])
        checks.rule(
            out[column].isna(),
            column,
            lambda i, c=column: (
                f"{c} '{_raw(frame, i, c)}' is not a time (YYYY-MM-DD HH:MM[:SS], "
                "optionally with a UTC offset)"
            ),
        )
    checks.rule(
        out["end_time"] < out["start_time"],
        "end_time",
        lambda i: (
            f"end_time {out.at[i, 'end_time']} is before start_time {out.at[i, 'start_time']}"
        ),
    )
    for column in NUMBER_COLUMNS:
        given = (
            frame[column].notna()
            if column in frame.columns
            else pd.Series(False, index=frame.index)
        )
        values = (
            _numbers(frame[column])
            if column in frame.columns
            else pd.Series(np.nan, index=frame.index)
        )
        out[column] = values
        checks.rule(
            given & (values.isna() | ~np.isfinite(values.fillna(0.0))),
            column,
            lambda i, c=column: f"{c} '{_raw(frame, i, c)}' is not a number",
        )
        if column in ("distance_km", "quantity"):
            checks.rule(values < 0, column, lambda i, c=column: f"{c} {out.at[i, c]} is negative")
    for column, limit in (("start_lat", 90), ("end_lat", 90), ("start_lon", 180), ("end_lon", 180)):
        checks.rule(
            out[column].abs() > limit,
            column,
            lambda i, c=column, lim=limit: f"{c} {out.at[i, c]} is outside -{lim}..{lim} degrees",
        )
    for end in ("start", "end"):
        lat, lon = out[f"{end}_lat"], out[f"{end}_lon"]
        for given, missing in ((lat, f"{end}_lon"), (lon, f"{end}_lat")):
            checks.rule(
                given.notna() & out[missing].isna(),
                missing,
                f"give both {end}_lat and {end}_lon, or neither",
            )
    for column in COORDINATES:
        out[column] = out[column].round(COORDINATE_DECIMALS)
    out["source_line"] = frame["source_line"].astype("int64")
    del raw
    return out.loc[~checks.bad], checks.issues


def content_hashes(events: pd.DataFrame) -> pd.Series:
    """A 64-bit hash of each event's content (every column of :data:`EVENT_COLUMNS`), to tell
    a replay (same operator, event id and content) from a conflicting one."""
    columns = events[list(EVENT_COLUMNS)].astype("string").fillna("\x00")
    return pd.util.hash_pandas_object(columns, index=False).astype("int64")


def read_events(paths: Sequence[Path], registry: MethodologyRegistry) -> EventBatch:
    """Read and check batch files; the rows of all of them are one batch.

    Raises
    ------
    InputError
        Every bad row of every file (file, line or row, column, reason), and every
        (operator, event_id) given twice with different content; nothing is kept.
    """
    frames: list[pd.DataFrame] = []
    issues: list[InputIssue] = []
    rows_read = 0
    for path in paths:
        display = str(path)
        frame, read_issues, by_row = _read_frame(path, display)
        issues.extend(read_issues or _header_issues(frame, display, EVENT_REQUIRED, EVENT_COLUMNS))
        if read_issues or (issues and issues[-1].file == display):
            continue
        rows_read += len(frame)
        events, row_issues = check_events(frame, display, registry, by_row)
        issues.extend(row_issues)
        events["batch_file"] = display
        events["by_row"] = by_row
        frames.append(events)
    if issues:
        raise InputError(issues)
    events = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=[*EVENT_COLUMNS, "source_line", "batch_file", "by_row"])
    )
    events["content_hash"] = content_hashes(events) if len(events) else pd.Series(dtype="int64")
    key = ["operator", "event_id"]
    repeated = events.duplicated(key, keep="first")
    same = events.duplicated([*key, "content_hash"], keep="first")
    conflicting = repeated & ~same
    if conflicting.any():
        firsts = events.loc[~repeated].set_index(key)
        for index in conflicting[conflicting].index:
            row = events.loc[index]
            first = firsts.loc[(row["operator"], row["event_id"])]
            where = InputIssue(str(first["batch_file"]), int(first["source_line"]), None, "")
            issues.append(
                InputIssue(
                    str(row["batch_file"]),
                    int(row["source_line"]),
                    "event_id",
                    f"event '{row['event_id']}' of operator '{row['operator']}' is given again "
                    f"with other content (first on {where.location()}); an event id names one "
                    "event",
                    by_row=bool(row["by_row"]),
                )
            )
        raise InputError(issues)
    kept = events.loc[~repeated].rename(columns={"source_line": "batch_line"})
    table = pa.Table.from_pandas(
        kept[[f.name for f in EVENT_SCHEMA]], schema=EVENT_SCHEMA, preserve_index=False
    )
    return EventBatch(table, rows_read, int(repeated.sum()))


def read_consent(path: Path, registry: MethodologyRegistry) -> pd.DataFrame:
    """Read and check a consent file: one row per (user, scenario), ``granted_at`` and an
    optional ``withdrawn_at`` (:data:`CONSENT_SCHEMA`).

    Raises
    ------
    InputError
        Every bad row (empty cells, times, withdrawal before grant, unknown scenario, a
        (user, scenario) given twice).
    """
    display = str(path)
    frame, issues, by_row = _read_frame(path, display)
    issues = issues or _header_issues(frame, display, CONSENT_REQUIRED, CONSENT_COLUMNS)
    if issues:
        raise InputError(issues)
    out = pd.DataFrame(index=frame.index)
    checks = _Checks(frame, display, by_row)
    for column in ("user", "scenario"):
        out[column] = normalise_ids(frame[column])
        checks.rule(out[column].isna(), column, f"{column} is empty")
    checks.rule(frame["granted_at"].isna(), "granted_at", "granted_at is empty")
    scenarios = set(registry.scenarios)
    checks.rule(
        ~out["scenario"].isin(scenarios),
        "scenario",
        lambda i: (
            f"unknown scenario '{out.at[i, 'scenario']}' (methodologies name: "
            f"{', '.join(sorted(scenarios))})"
        ),
    )
    out["granted_at"] = parse_times(frame["granted_at"])
    checks.rule(
        out["granted_at"].isna(),
        "granted_at",
        lambda i: f"granted_at '{_raw(frame, i, 'granted_at')}' is not a time",
    )
    withdrawn = (
        frame["withdrawn_at"] if "withdrawn_at" in frame else pd.Series(pd.NA, index=frame.index)
    )
    out["withdrawn_at"] = (
        parse_times(withdrawn)
        if withdrawn.notna().any()
        else pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us]")
    )
    checks.rule(
        withdrawn.notna() & out["withdrawn_at"].isna(),
        "withdrawn_at",
        lambda i: f"withdrawn_at '{_raw(frame, i, 'withdrawn_at')}' is not a time",
    )
    checks.rule(
        out["withdrawn_at"] < out["granted_at"],
        "withdrawn_at",
        "withdrawn_at is before granted_at",
    )
    twice = out.duplicated(["user", "scenario"], keep="first") & ~checks.bad
    checks.rule(
        twice,
        "user",
        lambda i: (
            f"user '{out.at[i, 'user']}' has a second row for scenario "
            f"'{out.at[i, 'scenario']}' (one row per user and scenario)"
        ),
    )
    if checks.issues:
        raise InputError(checks.issues)
    return out[list(CONSENT_COLUMNS)].reset_index(drop=True)

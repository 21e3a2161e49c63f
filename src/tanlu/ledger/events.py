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

import csv
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from tanlu.errors import InputError, InputIssue
from tanlu.identifiers import normalise_id, normalise_ids
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
        One row per distinct (operator, event_id), :data:`EVENT_SCHEMA`, on the DuckDB
        connection that read it (:func:`read_events`).
    rows_read
        Rows in the files (blank ones not counted).
    repeated_in_batch
        Rows that repeat an earlier row of the batch exactly (same operator, event id and
        content): read once.
    """

    table: ir.Table
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


# Rows read, checked and put into the engine at a time (one Parquet row group of the benchmark's
# files): a batch file of any size passes through this process a slice at a time, so that its
# memory holds one slice besides what the engine holds (and spills to disk).
READ_SLICE_ROWS = 1_000_000
# DuckDB scans a registered Arrow table one record batch per thread: a slice is handed over in
# chunks of this many rows so that every core types and checks it (one 1 M-row chunk kept the
# scan on one thread: 1.8x slower on 2 cores)
SCAN_CHUNK_ROWS = 65_536
# China Standard Time is UTC+8 all year (no daylight saving since 1991).
CHINA_UTC_OFFSET_US = 8 * 3600 * 1_000_000
# A time as text: an ISO 8601 date, an optional time (after a space or T), an optional offset.
_TIME_TEXT = (
    r"\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?\s*([zZ]|[+-]\d{2}:?\d{2})?"
)
_ZONED_TEXT = r"([zZ]|[+-]\d{2}:?\d{2})$"
_NOT_A_TIME = "is not a time (YYYY-MM-DD HH:MM[:SS], optionally with a UTC offset)"
_SQL_TYPES: dict[pa.DataType, str] = {
    pa.string(): "VARCHAR",
    pa.timestamp("us"): "TIMESTAMP",
    pa.float64(): "DOUBLE",
    pa.int64(): "BIGINT",
}
_STORED = [f.name for f in EVENT_SCHEMA]
_TYPED = [c for c in _STORED if c not in ("content_hash", "batch_file", "batch_line")]


def _map_distinct(
    text: pa.Array, function: Callable[[str], str | None], rows: pa.Array
) -> pa.Array:
    """``function`` of each text where ``rows`` holds (the others kept), computed once per
    distinct text."""
    distinct = pc.unique(pc.filter(text, rows))
    mapped = pa.array([function(v) for v in distinct.to_pylist()], type=pa.string())
    return pc.if_else(rows, pc.take(mapped, pc.index_in(text, value_set=distinct)), text)


def normalise_id_array(values: pa.Array) -> pa.Array:
    """:func:`tanlu.identifiers.normalise_id` of a column, an empty id null: printable ASCII
    with single inner spaces and none around is normal already (checked on the whole column at
    once); the rest is normalised once per distinct text."""
    text = values if values.type == pa.string() else pc.cast(values, pa.string())
    spaced = pc.or_(
        pc.match_substring(text, "  "), pc.or_(pc.starts_with(text, " "), pc.ends_with(text, " "))
    )
    other = pc.invert(pc.fill_null(pc.and_(pc.ascii_is_printable(text), pc.invert(spaced)), True))
    if pc.any(other).as_py():
        text = _map_distinct(text, normalise_id, other)
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def _canonical(values: pa.Array, level: str) -> pa.Array:
    given = pc.is_valid(values)
    if not pc.any(given).as_py():
        return values
    return _map_distinct(values, lambda v: canonical_region(v, level), given)


def _slices(path: Path, display: str) -> tuple[list[str], Iterator[pa.RecordBatch], bool]:
    """A batch file's column names (stripped, lower case), its rows a slice at a time, and
    whether rows are numbered by row (Parquet) rather than by line (CSV: every column read as
    text, an empty cell missing, a blank line kept as a row so that lines keep their numbers).

    Raises
    ------
    InputError
        Naming the file, when it cannot be opened or its type is not CSV or Parquet.
    """
    suffix = path.suffix.lower()
    if suffix == ".csv":
        try:
            with open(path, encoding="utf-8-sig", newline="") as handle:
                header = next(csv.reader([handle.readline()]), [])
        except UnicodeDecodeError:
            raise InputError([InputIssue(display, None, None, "not UTF-8 text")]) from None
        except OSError as error:
            raise InputError([InputIssue(display, None, None, f"cannot read: {error}")]) from None
        if not header:
            raise InputError([InputIssue(display, None, None, "the file is empty")])
        generated = [f"c{i}" for i in range(len(header))]
        reader = pa_csv.open_csv(
            path,
            read_options=pa_csv.ReadOptions(column_names=generated, skip_rows=1),
            parse_options=pa_csv.ParseOptions(ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(generated, pa.string()),
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
        )
        return [c.strip().lower() for c in header], iter(reader), False
    if suffix == ".parquet":
        try:
            parquet = pq.ParquetFile(path)
        except Exception as error:  # pyarrow raises ArrowInvalid, OSError ... for a bad file
            issue = InputIssue(display, None, None, f"cannot read Parquet: {error}")
            raise InputError([issue]) from None
        names = [str(c).strip().lower() for c in parquet.schema_arrow.names]
        return names, parquet.iter_batches(batch_size=READ_SLICE_ROWS), True
    reason = f"unsupported file type '{path.suffix}' (CSV or Parquet)"
    raise InputError([InputIssue(display, None, None, reason)])


def _time_sql(column: str, kind: pa.DataType) -> str:
    """SQL: a time column as China time (``TIMESTAMP``; NULL where it is not a time)."""
    raw = f'"raw_{column}"'
    if pa.types.is_timestamp(kind):
        if kind.tz is not None:
            return f"make_timestamp(epoch_us({raw}) + {CHINA_UTC_OFFSET_US})"
        return f"CAST({raw} AS TIMESTAMP)"
    if pa.types.is_date(kind):
        return f"CAST({raw} AS TIMESTAMP)"
    text = f"trim(CAST({raw} AS VARCHAR))"
    return (
        f"CASE WHEN NOT regexp_full_match({text}, '{_TIME_TEXT}') THEN NULL "
        f"WHEN regexp_matches({text}, '{_ZONED_TEXT}') "
        f"THEN make_timestamp(epoch_us(TRY_CAST({text} AS TIMESTAMPTZ)) + {CHINA_UTC_OFFSET_US}) "
        f"ELSE TRY_CAST({text} AS TIMESTAMP) END"
    )


def _number_sql(column: str, kind: pa.DataType) -> tuple[str, str]:
    """SQL: a number column as DOUBLE (NULL where missing or not a number), and whether a
    value was given (a float NaN is missing, as pandas reads it)."""
    raw = f'"raw_{column}"'
    if pa.types.is_floating(kind):
        value = f"CASE WHEN isnan({raw}) THEN NULL ELSE CAST({raw} AS DOUBLE) END"
        return value, f"({raw} IS NOT NULL AND NOT isnan({raw}))"
    if pa.types.is_integer(kind) or pa.types.is_decimal(kind):
        return f"CAST({raw} AS DOUBLE)", f"({raw} IS NOT NULL)"
    return f"TRY_CAST(trim(CAST({raw} AS VARCHAR)) AS DOUBLE)", f"({raw} IS NOT NULL)"


@dataclass(frozen=True)
class _RowRule:
    """A check of a batch's rows: a SQL condition over the typed row, the column it names and
    the sentence (a function of the bad row's values)."""

    condition: str
    column: str
    reason: Callable[[dict[str, Any]], str]


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _empty(_row: dict[str, Any], column: str) -> str:
    return f"{column} is empty"


def _not_a_time(row: dict[str, Any], column: str) -> str:
    return f"{column} '{row[column + '__text']}' {_NOT_A_TIME}"


def _not_a_number(row: dict[str, Any], column: str) -> str:
    return f"{column} '{str(row[column + '__text']).strip()}' is not a number"


def _negative(row: dict[str, Any], column: str) -> str:
    return f"{column} {row[column]} is negative"


def _outside(row: dict[str, Any], column: str, limit: int) -> str:
    return f"{column} {row[column]} is outside -{limit}..{limit} degrees"


def _one_of_two(_row: dict[str, Any], end: str) -> str:
    return f"give both {end}_lat and {end}_lon, or neither"


def _row_rules(known_actions: Sequence[str]) -> list[_RowRule]:
    """The checks, in the order a bad row's reason is given (the first it breaks)."""
    actions = ", ".join(sorted(known_actions))
    listed = ", ".join(_sql_text(a) for a in sorted(known_actions)) or "NULL"
    rules: list[_RowRule] = []
    for column in EVENT_REQUIRED:
        empty = f"{column}__missing" if column.endswith("_time") else f'"{column}" IS NULL'
        rules.append(_RowRule(empty, column, partial(_empty, column=column)))
    rules.append(
        _RowRule(
            f"action NOT IN ({listed})",
            "action",
            lambda r: f"unknown action '{r['action']}' (methodologies credit: {actions})",
        )
    )
    rules.append(
        _RowRule(
            "province__text IS NOT NULL AND province IS NULL",
            "province",
            lambda r: f"unknown province '{str(r['province__text']).strip()}'",
        )
    )
    for column in ("start_time", "end_time"):
        rules.append(
            _RowRule(
                f"{column} IS NULL",
                column,
                partial(_not_a_time, column=column),
            )
        )
    rules.append(
        _RowRule(
            "end_time < start_time",
            "end_time",
            lambda r: (
                f"end_time {pd.Timestamp(r['end_time'])} is before start_time "
                f"{pd.Timestamp(r['start_time'])}"
            ),
        )
    )
    for column in NUMBER_COLUMNS:
        rules.append(
            _RowRule(
                f"{column}__given AND ({column} IS NULL OR NOT isfinite({column}))",
                column,
                partial(_not_a_number, column=column),
            )
        )
        if column in ("distance_km", "quantity"):
            rules.append(_RowRule(f"{column} < 0", column, partial(_negative, column=column)))
    for column, limit in (("start_lat", 90), ("end_lat", 90), ("start_lon", 180), ("end_lon", 180)):
        rules.append(
            _RowRule(
                f"abs({column}) > {limit}",
                column,
                partial(_outside, column=column, limit=limit),
            )
        )
    for end in ("start", "end"):
        for given, missing in ((f"{end}_lat", f"{end}_lon"), (f"{end}_lon", f"{end}_lat")):
            rules.append(
                _RowRule(
                    f"{given} IS NOT NULL AND {missing} IS NULL",
                    missing,
                    partial(_one_of_two, end=end),
                )
            )
    return rules


def _typed_sql(
    kinds: dict[str, pa.DataType], rules: list[_RowRule], file_no: int, display: str
) -> str:
    """SQL: the registered slice (``ledger_slice``, from :func:`_slice_table`) typed and
    checked: :data:`EVENT_SCHEMA`'s columns but the hash, ``broken`` (the index of the first
    rule broken, NULL for a good row), ``file_no`` and the texts the messages quote."""
    inner = ["source_line", *(f'"{c}"' for c in ID_COLUMNS), "province__text"]
    for column in ("start_time", "end_time"):
        kind = kinds.get(column)
        if kind is None:
            inner += [
                f"NULL::TIMESTAMP AS {column}",
                f"NULL::VARCHAR AS {column}__text",
                f"true AS {column}__missing",
            ]
            continue
        inner += [
            f"{_time_sql(column, kind)} AS {column}",
            f'trim(CAST("raw_{column}" AS VARCHAR)) AS {column}__text',
            f'("raw_{column}" IS NULL) AS {column}__missing',
        ]
    for column in NUMBER_COLUMNS:
        kind = kinds.get(column)
        if kind is None:
            inner += [
                f"NULL::DOUBLE AS {column}",
                f"false AS {column}__given",
                f"NULL::VARCHAR AS {column}__text",
            ]
            continue
        value, given = _number_sql(column, kind)
        inner += [
            f"{value} AS {column}",
            f"{given} AS {column}__given",
            f'CAST("raw_{column}" AS VARCHAR) AS {column}__text',
        ]
    broken = " ".join(f"WHEN {rule.condition} THEN {i}" for i, rule in enumerate(rules))
    return (
        f"SELECT *, CASE {broken} END AS broken, {file_no} AS file_no, "
        f"{_sql_text(display)} AS batch_file FROM (SELECT {', '.join(inner)} FROM ledger_slice)"
    )


def _hash_sql() -> str:
    """SQL: a 60-bit hash of an event's content (every column of :data:`EVENT_COLUMNS` as
    text): the first 15 hex digits of the MD5 of the columns joined, the same on every engine
    and version, so that a ledger written years ago still tells a replay (same operator, event
    id and content) from a conflicting one. DuckDB's own ``hash`` is about 0.3 s per million
    rows quicker but may change between versions."""
    parts = ", ".join(f'coalesce(CAST("{c}" AS VARCHAR), chr(0))' for c in EVENT_COLUMNS)
    return f"CAST(('0x' || left(md5(concat_ws(chr(31), {parts})), 15)) AS BIGINT)"


def _slice_table(
    batch: pa.RecordBatch, names: list[str], first_line: int, csv_file: bool
) -> pa.Table:
    """A slice as :func:`_typed_sql` reads it: ids normalised (city and province canonical),
    the province as given (``province__text``), the other columns as read (``raw_`` + name),
    ``source_line``; blank CSV lines dropped."""
    columns = {n: batch.column(i) for i, n in enumerate(names) if n in EVENT_COLUMNS}
    rows = batch.num_rows
    out: dict[str, pa.Array] = {
        "source_line": pa.array(np.arange(first_line, first_line + rows, dtype="int64"))
    }
    for column in ID_COLUMNS:
        given = columns.get(column)
        out[column] = (
            normalise_id_array(given) if given is not None else pa.nulls(rows, pa.string())
        )
    out["city"] = _canonical(out["city"], "city")
    out["province"] = _canonical(out["province"], "province")
    province = columns.get("province")
    out["province__text"] = (
        pc.cast(province, pa.string()) if province is not None else pa.nulls(rows, pa.string())
    )
    for column, values in columns.items():
        if column not in ID_COLUMNS:
            out[f"raw_{column}"] = values
    table = pa.table(out)
    if csv_file and rows and batch.num_columns:
        blank = pc.is_null(batch.column(0))
        for index in range(1, batch.num_columns):
            blank = pc.and_(blank, pc.is_null(batch.column(index)))
        table = table.filter(pc.invert(blank))
    return table


def _slice_tables(
    slices: Iterator[pa.RecordBatch], names: list[str], by_row: bool
) -> Iterator[pa.Table]:
    """Each slice as :func:`_slice_table` makes it, in chunks of :data:`SCAN_CHUNK_ROWS` rows
    (DuckDB scans one chunk per thread: one chunk of a whole slice kept its scan on one)."""
    first_line = 1 if by_row else 2
    for batch in slices:
        table = _slice_table(batch, names, first_line, not by_row)
        first_line += batch.num_rows
        yield pa.Table.from_batches(
            table.to_batches(max_chunksize=SCAN_CHUNK_ROWS), schema=table.schema
        )


_END = object()


def _one_ahead(items: Iterator[Any]) -> Iterator[Any]:
    """``items`` in order, the next one made in a worker thread while the caller works on the
    one before: reading a Parquet or CSV slice and normalising its ids in Arrow run on one
    core, and they overlap DuckDB's typing and checking of the slice before. An error making
    an item is raised where that item would have been given."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tanlu-ledger-read") as worker:
        pending = worker.submit(next, items, _END)
        while True:
            item = pending.result()
            if item is _END:
                return
            pending = worker.submit(next, items, _END)
            yield item


def _arrow_of(result: Any) -> pa.Table:
    """A DuckDB result as an Arrow table (``.arrow()`` gives a reader in DuckDB 1.4 and later,
    a table before)."""
    arrow = result.arrow()
    return arrow.read_all() if isinstance(arrow, pa.RecordBatchReader) else arrow


def _check_file(
    raw: Any, path: Path, file_no: int, rules: list[_RowRule], clean: bool
) -> tuple[int, list[InputIssue], bool]:
    """Read one batch file a slice at a time into ``ledger_checked`` (its good rows, while
    ``clean``: no issue so far in the batch); its rows read, its issues and whether its rows
    are numbered by row."""
    display = str(path)
    try:
        names, slices, by_row = _slices(path, display)
    except InputError as error:
        return 0, list(error.issues), False
    header = _header_issues(pd.DataFrame(columns=names), display, EVENT_REQUIRED, EVENT_COLUMNS)
    if header:
        return 0, header, by_row
    issues: list[InputIssue] = []
    rows_read = 0
    rounded = ", ".join(f"round({c}, {COORDINATE_DECIMALS}) AS {c}" for c in COORDINATES)
    try:
        for table in _one_ahead(_slice_tables(slices, names, by_row)):
            rows_read += table.num_rows
            kinds = {
                n.removeprefix("raw_"): table.schema.field(n).type
                for n in table.column_names
                if n.startswith("raw_")
            }
            typed = _typed_sql(kinds, rules, file_no, display)
            raw.register("ledger_slice", table)
            try:
                # while the batch is clean, its rows are typed, checked and kept in one pass
                # and the messages are worked out only when a row broke a rule; after a bad
                # row, the rest is only checked (nothing of the batch will be kept)
                kept = clean and not issues
                if kept:
                    raw.execute(
                        f"INSERT INTO ledger_checked SELECT {', '.join(_TYPED)}, {_hash_sql()}, "
                        f"batch_file, source_line, file_no, broken FROM "
                        f"(SELECT * REPLACE ({rounded}) FROM ({typed}))"
                    )
                    found = raw.execute(
                        "SELECT count(*) FROM ledger_checked WHERE broken IS NOT NULL"
                    ).fetchone()
                if not kept or (found is not None and found[0]):
                    issues += _bad_rows(raw, typed, rules, display, by_row)
            finally:
                raw.unregister("ledger_slice")
    except (pa.ArrowInvalid, OSError) as error:
        text = str(error)
        if "UTF8" in text or "UTF-8" in text:
            reason = "not UTF-8 text"
        else:
            reason = f"cannot read Parquet: {text}" if by_row else f"not valid CSV: {text}"
        issues.append(InputIssue(display, None, None, reason))
    return rows_read, issues, by_row


def _bad_rows(
    raw: Any, typed: str, rules: list[_RowRule], display: str, by_row: bool
) -> list[InputIssue]:
    """The registered slice's bad rows, each with the first rule it breaks."""
    bad = _arrow_of(
        raw.execute(f"SELECT * FROM ({typed}) WHERE broken IS NOT NULL ORDER BY source_line")
    )
    issues = []
    for row in bad.to_pylist():
        rule = rules[row["broken"]]
        issues.append(
            InputIssue(
                display, int(row["source_line"]), rule.column, rule.reason(row), by_row=by_row
            )
        )
    return issues


def _repeated_in_batch(raw: Any, by_row: dict[str, bool]) -> tuple[pa.Table, list[InputIssue]]:
    """Rows whose (operator, event_id) an earlier row of the batch has: ``file_no,
    batch_line`` of those with the same content (read once), and an issue for each with other
    content. The engine finds the ids given more than once; only their rows come here."""
    found = _arrow_of(
        raw.execute(
            "WITH twice AS (SELECT hash(operator, event_id) AS h FROM ledger_checked "
            "GROUP BY h HAVING count(*) > 1) "
            "SELECT * FROM ledger_checked WHERE hash(operator, event_id) IN (SELECT h FROM twice) "
            "ORDER BY file_no, batch_line"
        )
    ).to_pandas()
    key = ["operator", "event_id"]
    repeated = found.duplicated(key, keep="first")
    same = found.duplicated(list(EVENT_COLUMNS), keep="first")
    issues: list[InputIssue] = []
    firsts = found.loc[~repeated].set_index(key)
    for index in (repeated & ~same)[repeated & ~same].index:
        row = found.loc[index]
        first = firsts.loc[(row["operator"], row["event_id"])]
        where = InputIssue(str(first["batch_file"]), int(first["batch_line"]), None, "")
        issues.append(
            InputIssue(
                str(row["batch_file"]),
                int(row["batch_line"]),
                "event_id",
                f"event '{row['event_id']}' of operator '{row['operator']}' is given again "
                f"with other content (first on {where.location()}); an event id names one "
                "event",
                by_row=by_row.get(str(row["batch_file"]), False),
            )
        )
    dropped = found.loc[repeated & same, ["file_no", "batch_line"]]
    return pa.Table.from_pandas(dropped, preserve_index=False), issues


def read_events(paths: Sequence[Path], registry: MethodologyRegistry, con: Any) -> EventBatch:
    """Read and check batch files into a DuckDB connection; the rows of all of them are one
    batch.

    Each file is read :data:`READ_SLICE_ROWS` rows at a time: the ids are normalised in Arrow
    (whole columns; an id that is not plain ASCII once per distinct text), then DuckDB types
    and checks the rows in one query (times, numbers, ranges, each row's first broken rule)
    and appends the good ones, with their content hash, to the table ``ledger_checked``; the
    messages are written for the bad rows only. Nothing of the batch passes through pandas.

    Parameters
    ----------
    paths
        CSV or Parquet batch files.
    registry
        The methodologies (an action none credits is a bad row).
    con
        An Ibis DuckDB connection (:func:`tanlu.engine.connect`); the batch stays in it.

    Returns
    -------
    EventBatch
        Its ``table`` the view ``ledger_events`` on ``con``.

    Raises
    ------
    InputError
        Every bad row of every file (file, line or row, column, reason), and every
        (operator, event_id) given twice with different content; nothing is kept.
    """
    raw = con.con
    rules = _row_rules(registry.actions)
    empty = ", ".join(f'NULL::{_SQL_TYPES[f.type]} AS "{f.name}"' for f in EVENT_SCHEMA)
    raw.execute(
        f"CREATE OR REPLACE TABLE ledger_checked AS SELECT {empty}, NULL::INTEGER AS file_no, "
        "NULL::INTEGER AS broken "
        "WHERE false"
    )
    issues: list[InputIssue] = []
    by_row: dict[str, bool] = {}
    rows_read = 0
    for file_no, path in enumerate(paths):
        rows, file_issues, by_row[str(path)] = _check_file(raw, path, file_no, rules, not issues)
        rows_read += rows
        issues.extend(file_issues)
    if issues:
        raise InputError(issues)
    dropped, issues = _repeated_in_batch(raw, by_row)
    if issues:
        raise InputError(issues)
    stored = ", ".join(f'"{c}"' for c in _STORED)
    if dropped.num_rows:
        raw.register("ledger_dropped_view", dropped)
        raw.execute("CREATE OR REPLACE TABLE ledger_dropped AS SELECT * FROM ledger_dropped_view")
        raw.unregister("ledger_dropped_view")
        raw.execute(
            f"CREATE OR REPLACE VIEW ledger_events AS SELECT {stored} FROM ledger_checked "
            "ANTI JOIN ledger_dropped USING (file_no, batch_line)"
        )
    else:
        raw.execute(f"CREATE OR REPLACE VIEW ledger_events AS SELECT {stored} FROM ledger_checked")
    return EventBatch(con.table("ledger_events"), rows_read, dropped.num_rows)


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

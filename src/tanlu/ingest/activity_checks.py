"""Every check of the activity rows, run on the engine as Ibis expressions.

The rows never come into Python to be checked: ids are normalised, quantities and dates parsed,
every rule applied, duplicates and overlapping meter periods found, all as table expressions
that DuckDB or Spark run (:func:`tanlu.engine.connect`). Only what is small comes back: the
distinct ids that need Unicode normalisation, the distinct (activity, unit) pairs to convert,
the count of problems of each kind and the first problems of each kind; all problems stream to
an errors file when one is asked for (:class:`IssueFile`), a batch at a time.

The rows reach the engine in one *normal form* (:data:`NORMAL_COLUMNS`): every id and note as
text; a quantity and each date either typed (``quantity_number``, ``period_start_date``, as a
Parquet file or a table in memory may give them) or as the text read (``quantity_text``,
``period_start_text``, from a CSV file or a workbook); where each row is (``source_id``, an
index into the :class:`ActivitySource` list, ``source_line``) and ``position``, its place in
reading order (``source_id * 2**36 + its ordinal in the source``).

The rules and their order are those of docs/file-formats.md ("Checks"): a row is reported once,
for the first rule it breaks.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa

from tanlu import engine
from tanlu.errors import InputIssue, UnitError
from tanlu.factors.library import SCOPE_CATEGORIES, FactorLibrary
from tanlu.identifiers import id_key, normalise_id
from tanlu.ingest.activity_store import (
    STORE_COLUMNS,
    ActivityStore,
    empty_activities,
)
from tanlu.units import conversion_factor

NORMAL_COLUMNS: dict[str, str] = {
    "position": "int64",
    "source_id": "int64",
    "source_line": "int64",
    "site": "string",
    "activity": "string",
    "unit": "string",
    "meter": "string",
    "category": "string",
    "source_document": "string",
    "note": "string",
    "quantity_number": "float64",
    "quantity_text": "string",
    "period_start_date": "date",
    "period_start_text": "string",
    "period_end_date": "date",
    "period_end_text": "string",
}
_DATA_COLUMNS = [c for c in NORMAL_COLUMNS if c not in ("position", "source_id", "source_line")]
# The ids every comparison uses in their one canonical spelling (tanlu.identifiers).
ID_COLUMNS: tuple[str, ...] = ("site", "activity", "unit", "meter", "category", "source_document")
# position = source_id * POSITION_BASE + the row's ordinal in its source (2**36: 68 billion rows)
POSITION_BASE = 2**36
# How many problems of each kind (column) come back as InputIssue objects; the rest are counted
# (and written whole by an IssueFile): three million bad rows must not become three million
# Python objects.
LISTED_PER_KIND = 1_000
# An id needing no Unicode normalisation: printable ASCII words separated by single spaces
# (NFKC leaves such text as it is, and it has no format character or run of white space).
_CLEAN_ID = r"^[!-~]+( [!-~]+)*$"
# A number as pandas.to_numeric reads one (ASCII digits, optional sign, point and exponent),
# white space around it trimmed; and an infinity ("inf", "Infinity", any case, signed).
_NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_INFINITY = r"^[+-]?(inf|infinity)$"
# A date as read before: the first ten characters of the trimmed text, YYYY-M-D (month and day
# with or without their leading zero, a day also with a leading space); full-width digits are
# read as digits.
_DATE = r"^([0-9]{4})-(1[0-2]|0[1-9]|[1-9])-(3[01]|[12][0-9]|0[1-9]|[1-9]| [1-9])$"
_FULL_WIDTH_DIGITS = "０１２３４５６７８９"
_DATE_COLUMNS = ("period_start", "period_end")
_LARGEST_FLOAT = float(np.finfo("float64").max)  # above it: an infinity


@dataclass(frozen=True)
class ActivitySource:
    """One table of activity rows: a file, one sheet of a workbook, or a table given in memory.

    Attributes
    ----------
    file
        The name messages give it (a file's path as the user gave it, or a table's name).
    sheet
        The sheet of a workbook, or ``None``.
    by_row
        Whether its rows are named "row N" (a table given in memory), not by line; a Parquet
        file or a sheet is named by row whatever this says (:meth:`InputIssue.location`).
    """

    file: str
    sheet: str | None = None
    by_row: bool = False

    def place(self, line: int | None, column: str | None, reason: str) -> InputIssue:
        """An issue at ``line`` of this source."""
        return InputIssue(self.file, line, column, reason, self.sheet, by_row=self.by_row)


# code -> (column the problem is about, or None for the whole row)
CHECK_COLUMNS: dict[int, str | None] = {
    1: "site",
    2: "activity",
    3: "unit",
    4: "period_start",
    5: "period_end",
    6: "quantity",
    7: "site",
    8: "activity",
    9: "unit",
    10: "quantity",
    11: "quantity",
    12: "quantity",
    13: "period_start",
    14: "period_end",
    15: "period_end",
    16: "period_start",
    17: "category",
    18: None,
    19: "period_start",
}
_EMPTY_CODES = {1: "site", 2: "activity", 3: "unit", 4: "period_start", 5: "period_end"}
DUPLICATE = 18
OVERLAP = 19


@dataclass(frozen=True)
class IssueFile:
    """Every problem found, written as it streams from the engine to a CSV or Parquet file.

    Columns ``file, sheet, line, column, reason``. The file is written beside its place and
    moved there when complete (:meth:`close`), so that an interrupted run leaves nothing
    half-written.
    """

    path: Path
    _state: dict[str, Any] = field(default_factory=dict, repr=False)

    COLUMNS = ("file", "sheet", "line", "column", "reason")

    @property
    def _partial(self) -> Path:
        return self.path.with_name(f".{self.path.name}.partial")

    def _schema(self) -> pa.Schema:
        return pa.schema(
            [
                ("file", pa.string()),
                ("sheet", pa.string()),
                ("line", pa.int64()),
                ("column", pa.string()),
                ("reason", pa.string()),
            ]
        )

    def write(self, issues: pd.DataFrame) -> None:
        """Append issues (``file, sheet, line, column, reason``)."""
        table = pa.Table.from_pandas(
            issues[list(self.COLUMNS)], schema=self._schema(), preserve_index=False
        )
        writer = self._state.get("writer")
        if writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.suffix.lower() == ".parquet":
                import pyarrow.parquet as pq

                writer = pq.ParquetWriter(self._partial, self._schema())
            else:
                import pyarrow.csv as pacsv

                writer = pacsv.CSVWriter(self._partial, self._schema())
            self._state["writer"] = writer
        writer.write_table(table)
        self._state["rows"] = self._state.get("rows", 0) + len(table)

    def close(self) -> int:
        """Finish the file and move it into place; returns the number of problems written."""
        if "writer" not in self._state:
            self.write(pd.DataFrame(columns=list(self.COLUMNS)))
        self._state.pop("writer").close()
        self._partial.replace(self.path)
        return int(self._state.get("rows", 0))

    def discard(self) -> None:
        """Drop a file being written (the run failed for another reason)."""
        writer = self._state.pop("writer", None)
        if writer is not None:
            writer.close()
        self._partial.unlink(missing_ok=True)


def issue_frame(issues: Iterable[InputIssue]) -> pd.DataFrame:
    """Issues as rows of an errors file (``file, sheet, line, column, reason``)."""
    rows = [(i.file, i.sheet, i.line, i.column, i.reason) for i in issues]
    frame = pd.DataFrame(rows, columns=list(IssueFile.COLUMNS))
    frame["line"] = frame["line"].astype("Int64")
    return frame


@dataclass(frozen=True)
class PreparedActivities:
    """The outcome of checking activity rows.

    Attributes
    ----------
    store
        Good rows, kept on the engine (:class:`tanlu.ingest.activity_store.ActivityStore`);
        ``None`` when any row is bad.
    unit_conversions
        ``activity, unit, canonical_unit, multiplier``: one row per distinct pair in the data;
        ``quantity * multiplier`` is the quantity in the activity's canonical unit.
    issues
        The problems found, in file and line order: every one, up to :data:`LISTED_PER_KIND`
        of each kind (the column it is about, or the whole row).
    rows_read
        How many rows the files held.
    unlisted
        How many more problems of each kind there are than ``issues`` lists (``None``: whole
        rows); an :class:`IssueFile` given to :func:`check_activities` has them all.
    file_issues
        Files that could not be read while their rows went into the engine (one problem each;
        their rows are not checked), from :func:`tanlu.ingest.activities.check_sources`.
    """

    store: ActivityStore | None
    unit_conversions: pd.DataFrame
    issues: list[InputIssue]
    rows_read: int
    unlisted: dict[str | None, int] = field(default_factory=dict)
    file_issues: list[InputIssue] = field(default_factory=list)

    @property
    def table(self) -> pd.DataFrame:
        """The good rows as a pandas table (:data:`CANONICAL_COLUMNS`; empty when any row is
        bad): every row comes into memory."""
        return self.store.frame() if self.store is not None else empty_activities()


def unit_conversion_table(
    multipliers: dict[tuple[str, str], float], library: FactorLibrary
) -> pd.DataFrame:
    """``activity, unit, canonical_unit, multiplier``, one row per pair, sorted."""
    canonical_units = dict(
        zip(library.activities["activity"], library.activities["canonical_unit"], strict=True)
    )
    rows = [
        {"activity": a, "unit": u, "canonical_unit": canonical_units[a], "multiplier": m}
        for (a, u), m in sorted(multipliers.items())
    ]
    frame = pd.DataFrame(rows, columns=["activity", "unit", "canonical_unit", "multiplier"])
    # typed even with no rows (the engine needs a type for every column)
    return frame.astype({"activity": str, "unit": str, "canonical_unit": str, "multiplier": float})


def _strip(text: ir.StringValue) -> ir.StringValue:
    """Text without white space around it. Not Ibis's ``strip()``: on Spark it compiles to a
    TRIM whose "\\v\\f" Spark reads as the letters v and f ("inf" became "in")."""
    return text.re_replace(r"^\s+|\s+$", "")


# Id columns with few distinct values (sites, activities, units, categories): their distinct
# combinations are found in one pass over the rows and kept (a small table); meters and
# documents, which may be as many as the rows, each in a pass of their own.
_FEW_VALUES: tuple[str, ...] = ("site", "activity", "unit", "category")


def _normalised_ids(
    con: Any, rows: ir.Table, found_in: ir.Table, prefix: str
) -> tuple[ir.Table, ir.Table]:
    """``rows`` with every id column in its canonical spelling (:func:`normalise_id`), and the
    distinct combinations of :data:`_FEW_VALUES` (canonical too).

    Only the distinct values that are not plain printable ASCII come to Python; a column whose
    values all are stays as it is, and the others meet a small mapping table. The values are
    looked for in ``found_in``: the rows, or more of them (blank rows give only missing
    values, which need nothing)."""
    combos = engine.keep(con, found_in.select(*_FEW_VALUES).distinct(), f"{prefix}_id_combinations")
    sources = {c: combos if c in _FEW_VALUES else found_in for c in ID_COLUMNS}
    distinct = {c: table.select(raw=table[c]).distinct() for c, table in sources.items()}
    odd = [
        values.filter(values.raw.notnull() & ~values.raw.re_search(_CLEAN_ID)).select(
            column=ibis.literal(c), raw=values.raw
        )
        for c, values in distinct.items()
    ]
    found = engine.to_pandas(ibis.union(*odd))
    for column, values in found.groupby("column", sort=False)["raw"]:
        mapping = pd.DataFrame({"raw": values.astype(str).to_numpy()})
        mapping["canonical"] = [normalise_id(v) or None for v in mapping["raw"]]
        name = f"{prefix}_ids_{column}"
        table = engine.to_table(con, mapping.astype({"canonical": "string"}), name)
        rows = _mapped(rows, table, str(column))
        if column in _FEW_VALUES:
            combos = _mapped(combos, table, str(column))
    return rows, combos


def _mapped(rows: ir.Table, mapping: ir.Table, column: str) -> ir.Table:
    """``rows`` with the values of ``column`` that ``mapping`` (``raw, canonical``) has
    replaced."""
    joined = rows.left_join(mapping, rows[column] == mapping.raw)
    return joined.mutate(
        **{column: ibis.ifelse(joined.raw.notnull(), joined.canonical, joined[column])}
    ).drop("raw", "canonical")


def _with_parsed_values(rows: ir.Table) -> ir.Table:
    """``rows`` with ``quantity``, ``period_start`` and ``period_end`` parsed (missing where
    they do not parse); typed values are taken as they are.

    Each step is its own projection whose columns the next reads by name, so that the SQL
    states every expression once (an expression reused by value would be written out again
    at every use)."""
    heads = {
        column: _strip(rows[f"{column}_text"].translate(_FULL_WIDTH_DIGITS, "0123456789")).substr(
            0, 10
        )
        for column in _DATE_COLUMNS
    }
    staged = rows.mutate(
        q_text=_strip(rows.quantity_text),
        **{f"{c}_head": head for c, head in heads.items()},
    )
    staged = staged.mutate(
        q_lower=staged.q_text.lower(),
        **{f"{c}_match": staged[f"{c}_head"].re_search(_DATE) for c in _DATE_COLUMNS},
    )
    parts = {}
    for column in _DATE_COLUMNS:
        head, matches = staged[f"{column}_head"], staged[f"{column}_match"]
        parts[f"{column}_y"] = ibis.ifelse(matches, head.re_extract(_DATE, 1).cast("int64"), 2000)
        parts[f"{column}_m"] = ibis.ifelse(matches, head.re_extract(_DATE, 2).cast("int64"), 1)
        parts[f"{column}_d"] = ibis.ifelse(
            matches, _strip(head.re_extract(_DATE, 3)).cast("int64"), 1
        )
    staged = staged.mutate(
        quantity=staged.quantity_number.coalesce(
            ibis.cases(
                (staged.q_text.re_search(_NUMBER), staged.q_text.cast("float64")),
                # "Infinity" is the spelling both engines cast to an infinity
                (
                    staged.q_lower.re_search(_INFINITY),
                    ibis.ifelse(staged.q_lower.startswith("-"), "-Infinity", "Infinity").cast(
                        "float64"
                    ),
                ),
                else_=ibis.null("float64"),
            )
        ),
        **parts,
    )
    valid = {}
    for column in _DATE_COLUMNS:
        year, month, day = (staged[f"{column}_{p}"] for p in "ymd")
        leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
        month_days = ibis.cases(
            (month == 2, ibis.ifelse(leap, 29, 28)),
            (month.isin([4, 6, 9, 11]), 30),
            else_=31,
        )
        valid[f"{column}_valid"] = staged[f"{column}_match"] & (day <= month_days)
    staged = staged.mutate(**valid)
    dates = {}
    for column in _DATE_COLUMNS:
        ok = staged[f"{column}_valid"]
        day = ibis.date(
            staged[f"{column}_y"], staged[f"{column}_m"], ibis.ifelse(ok, staged[f"{column}_d"], 1)
        )
        dates[column] = staged[f"{column}_date"].coalesce(ibis.ifelse(ok, day, ibis.null("date")))
    helpers = [
        "q_text",
        "q_lower",
        *[f"{c}_{p}" for c in _DATE_COLUMNS for p in ("head", "match", "y", "m", "d", "valid")],
    ]
    return staged.mutate(**dates).drop(*helpers)


def _typed_text(typed: ir.Value, text: ir.StringValue) -> ir.StringValue:
    """The value as the user wrote it: the text read, or a typed value as text."""
    return text.coalesce(typed.cast("string"))


@dataclass(frozen=True)
class _Reference:
    """The small tables every row meets."""

    sites: ir.Table
    catalogue: ir.Table
    site_keys: dict[str, str]
    # ``offset_source_id, row_offset``: the rows (blank ones too) of the sources before each
    offsets: ir.Table


def _catalogue_frame(library: FactorLibrary) -> pd.DataFrame:
    catalogue = library.activities[["activity", "scope", "category", "canonical_unit"]]
    return pd.DataFrame(
        {
            "cat_activity": catalogue["activity"].astype(str).to_numpy(),
            "cat_scope": catalogue["scope"].astype("int64").to_numpy(),
            "cat_category": catalogue["category"].astype(str).to_numpy(),
            "cat_canonical_unit": catalogue["canonical_unit"].astype(str).to_numpy(),
        }
    )


def _unit_pairs(
    con: Any, combos: ir.Table, library: FactorLibrary, prefix: str
) -> tuple[ir.Table, dict[tuple[str, str], float], dict[tuple[str, str], str]]:
    """One pint conversion per distinct (activity, unit) pair of known activities (in the
    distinct id combinations of the rows, :func:`_normalised_ids`)."""
    catalogue = library.activities.set_index("activity")
    known = list(catalogue.index.astype(str))
    pairs = engine.to_pandas(
        combos.filter(combos.activity.isin(known) & combos.unit.notnull())
        .select("activity", "unit")
        .distinct()
    )
    multipliers: dict[tuple[str, str], float] = {}
    errors: dict[tuple[str, str], str] = {}
    for activity, unit in pairs.itertuples(index=False, name=None):
        canonical = str(catalogue.at[activity, "canonical_unit"])
        try:
            multipliers[(activity, unit)] = conversion_factor(
                unit, canonical, library.properties.get(activity)
            )
        except UnitError as error:
            errors[(activity, unit)] = f"{error} (activity '{activity}')"
    keys = sorted({*multipliers, *errors})
    frame = pd.DataFrame(
        {
            "pair_activity": pd.Series([a for a, _ in keys], dtype="string"),
            "pair_unit": pd.Series([u for _, u in keys], dtype="string"),
            "multiplier": pd.Series([multipliers.get(k, np.nan) for k in keys], dtype="float64"),
            "unit_ok": pd.Series([k in multipliers for k in keys], dtype="bool"),
        }
    )
    return engine.to_table(con, frame, f"{prefix}_unit_pairs"), multipliers, errors


def _checked(
    rows: ir.Table,
    reference: _Reference,
    units: ir.Table,
    years: Sequence[int],
) -> ir.Table:
    """Every row with its parsed values, scope, category and the code of the first rule it
    breaks (0: none of the rules on single rows)."""
    rows = rows.join(reference.offsets, rows.source_id == reference.offsets.offset_source_id)
    joined = rows.left_join(reference.catalogue, rows.activity == reference.catalogue.cat_activity)
    joined = joined.left_join(
        units, (joined.activity == units.pair_activity) & (joined.unit == units.pair_unit)
    )
    joined = joined.left_join(reference.sites, joined.site == reference.sites.known_site).drop(
        "cat_activity", "pair_activity", "pair_unit", "offset_source_id"
    )
    parsed = _with_parsed_values(joined)
    touches = ibis.literal(False)
    for year in sorted(set(years)):
        touches = touches | (
            (parsed.period_start <= ibis.date(year, 12, 31))
            & (parsed.period_end >= ibis.date(year, 1, 1))
        )
    override = parsed.category
    has_override = override.notnull() & (override != "")
    category_ok = ~has_override | (
        (parsed.cat_scope == 3) & override.isin(list(SCOPE_CATEGORIES[3]))
    )
    code = ibis.cases(
        (parsed.site.isnull(), 1),
        (parsed.activity.isnull(), 2),
        (parsed.unit.isnull(), 3),
        (parsed.period_start_date.isnull() & parsed.period_start_text.isnull(), 4),
        (parsed.period_end_date.isnull() & parsed.period_end_text.isnull(), 5),
        (parsed.quantity_number.isnull() & parsed.quantity_text.isnull(), 6),
        (parsed.known_site.isnull(), 7),
        (parsed.cat_scope.isnull(), 8),
        (~parsed.unit_ok.fill_null(False), 9),
        (parsed.quantity.isnull() | parsed.quantity.isnan(), 10),
        # not isinf(): Ibis 12 compiles it to FALSE on Spark
        (parsed.quantity.abs() > _LARGEST_FLOAT, 11),
        (parsed.quantity < 0, 12),
        (parsed.period_start.isnull(), 13),
        (parsed.period_end.isnull(), 14),
        (parsed.period_end < parsed.period_start, 15),
        (~touches, 16),
        (~category_ok, 17),
        else_=0,
    )
    coded = parsed.mutate(code=code.cast("int64"), override_given=has_override)
    # the value a message quotes, written out only for a bad row (a CASE evaluates a branch
    # only for the rows it selects)
    value = ibis.cases(
        (coded.code == 0, ibis.null("string")),
        (coded.code == 7, coded.site),
        (coded.code.isin([8, 9]), coded.activity),
        (coded.code.isin([10, 12]), _typed_text(coded.quantity_number, coded.quantity_text)),
        (coded.code == 13, _typed_text(coded.period_start_date, coded.period_start_text)),
        (coded.code == 14, _typed_text(coded.period_end_date, coded.period_end_text)),
        (coded.code == 17, coded.category),
        else_=ibis.null("string"),
    )
    return coded.select(
        "position",
        "source_id",
        "source_line",
        "site",
        "activity",
        "unit",
        "meter",
        "source_document",
        "note",
        "quantity",
        "period_start",
        "period_end",
        "multiplier",
        "code",
        # 0-based in reading order, blank rows counted: the row's place in its source after
        # the rows of the sources before it (no sort of the rows needed)
        row_id=(coded.position - coded.source_id * POSITION_BASE + coded.row_offset).cast("int64"),
        value=value,
        detail=ibis.ifelse(coded.code == 9, coded.unit, ibis.null("string")),
        scope=coded.cat_scope,
        category=ibis.ifelse(coded.override_given, coded.category, coded.cat_category),
        canonical_unit=coded.cat_canonical_unit,
    )


def _duplicates(good: ir.Table) -> ir.Table:
    """Rows equal to an earlier row on parsed values: dates as dates, quantities in the
    activity's canonical unit to 12 significant digits, ids and documents normalised.

    Returns ``position`` and ``partner_position`` (the first row of its kind)."""
    canonical = good.quantity * good.multiplier
    magnitude = ibis.ifelse(canonical != 0, canonical.abs(), 1.0).log10().floor().cast("float64")
    mantissa = (canonical / ibis.literal(10.0).pow(magnitude)).round(11)
    # a value one ulp below a power of ten (0.9999999999999999) rounds up to a mantissa of 10:
    # carry it, so that it keys as 1.0 x 10^0 like 1.0 does
    carried = mantissa.abs() >= 10.0
    keyed = good.mutate(
        k_meter=good.meter.fill_null(""),
        k_document=good.source_document.fill_null(""),
        k_mantissa=ibis.ifelse(carried, mantissa / 10.0, mantissa),
        k_magnitude=ibis.ifelse(carried, magnitude + 1.0, magnitude),
    )
    keys = [
        "site",
        "activity",
        "k_meter",
        "period_start",
        "period_end",
        "k_mantissa",
        "k_magnitude",
        "k_document",
    ]
    keyed = keyed.select(*keys, "position")
    groups = (
        keyed.group_by(keys)
        .aggregate(first_position=keyed.position.min(), rows=keyed.count())
        .filter(lambda t: t.rows > 1)
    )
    matched = keyed.join(groups, keys)
    return matched.filter(matched.position != matched.first_position).select(
        "position", partner_position=matched.first_position
    )


def _overlaps(metered: ir.Table) -> ir.Table:
    """Periods of one site, activity and meter that overlap: each period is compared with the
    latest-ending period before it (in order of start, end and reading order), and its partner
    is the last period in that order that ends then.

    Returns ``position`` and ``partner_position`` (the period it overlaps)."""
    keys = ["site", "activity", "k_meter"]
    table = metered.mutate(k_meter=metered.meter.fill_null("")).select(
        *keys, "period_start", "period_end", "position"
    )
    before = ibis.window(
        group_by=keys,
        order_by=[table.period_start, table.period_end, table.position],
        preceding=(None, 1),  # every earlier row of the series, up to the one before
    )
    compared = table.mutate(previous_end=table.period_end.max().over(before))
    overlapping = compared.filter(
        compared.previous_end.notnull() & (compared.period_start <= compared.previous_end)
    )
    # the partner: among the earlier periods of the series that end on previous_end, the last
    candidates = table.select(
        *[table[k].name(f"c_{k}") for k in keys],
        c_start=table.period_start,
        c_end=table.period_end,
        c_position=table.position,
    )
    pairs = overlapping.join(
        candidates,
        [
            overlapping.site == candidates.c_site,
            overlapping.activity == candidates.c_activity,
            overlapping.k_meter == candidates.c_k_meter,
            overlapping.previous_end == candidates.c_end,
        ],
    )
    earlier = (pairs.c_start < pairs.period_start) | (
        (pairs.c_start == pairs.period_start)
        & (
            (pairs.c_end < pairs.period_end)
            | ((pairs.c_end == pairs.period_end) & (pairs.c_position < pairs.position))
        )
    )
    pairs = pairs.filter(earlier)
    last = ibis.row_number().over(
        group_by=pairs.position,
        order_by=[pairs.c_start.desc(), pairs.c_position.desc()],
    )
    ranked = pairs.mutate(rank=last)
    return ranked.filter(ranked["rank"] == 0).select("position", partner_position=ranked.c_position)


def _hint_table(known: Collection[str]) -> dict[str, str]:
    """id key -> the first known id with that key (:func:`unknown_id_hint`, at once)."""
    keys: dict[str, str] = {}
    for candidate in known:
        keys.setdefault(id_key(candidate), candidate)
    return keys


# The reason of each code whose reason is one sentence with the row's value (``{}``) in it.
_VALUE_REASONS: dict[int, str] = {
    8: "unknown activity '{}' (see `tanlu factors list`)",
    10: "'{}' is not a number",
    12: "negative quantity {}",
    13: "'{}' is not a date (YYYY-MM-DD)",
    14: "'{}' is not a date (YYYY-MM-DD)",
    17: "'{}' is not a scope 3 category (only scope 3 rows may change category)",
}
_FIXED_REASONS: dict[int, str] = {
    **{code: f"{column} is empty" for code, column in _EMPTY_CODES.items()},
    6: "quantity is empty",
    11: "quantity is not finite",
    15: "period_end is before period_start",
}


def _join(*parts: Any) -> np.ndarray:
    """Texts joined element by element (numpy arrays of str, or single strings)."""
    out = np.asarray(parts[0], dtype=object)
    for part in parts[1:]:
        out = out + np.asarray(part, dtype=object)
    return out


@dataclass(frozen=True)
class _Formatter:
    """Turns the engine's issue rows (code, value, detail, partner) into the reasons and places
    of messages, a batch at a time (vectorised: millions of rows take seconds)."""

    sources: Sequence[ActivitySource]
    years: Sequence[int]
    unit_errors: dict[tuple[str, str], str]
    site_keys: dict[str, str]

    def _hint(self, site: str) -> str:
        candidate = self.site_keys.get(id_key(site))
        if candidate is not None and candidate != site:
            return f" (did you mean '{candidate}'? ids are case-sensitive)"
        return ""

    def _places(self, source_ids: np.ndarray, lines: np.ndarray) -> np.ndarray:
        """``file [sheet S], line N`` (or ``row N``) of each row, as :meth:`InputIssue.location`."""
        prefixes = []
        for source in self.sources:
            place = source.place(1, None, "").location()
            prefixes.append(place[: -len("1")])  # "file, line " or "file [sheet S], row "
        prefix = np.array(prefixes, dtype=object)[source_ids]
        return _join(prefix, lines.astype(str).astype(object))

    def frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of an errors file: ``file, sheet, line, column, reason``."""
        codes = frame["code"].to_numpy(dtype="int64")
        values = frame["value"].astype(object).to_numpy()
        reasons = np.empty(len(frame), dtype=object)
        for code, text in _FIXED_REASONS.items():
            reasons[codes == code] = text
        for code, template in _VALUE_REASONS.items():
            mask = codes == code
            if mask.any():
                head, tail = template.split("{}")
                reasons[mask] = _join(head, values[mask].astype(str), tail)
        sites = codes == 7
        if sites.any():
            hints = {v: self._hint(str(v)) for v in pd.unique(values[sites])}
            named = values[sites].astype(str)
            reasons[sites] = _join(
                "unknown site '", named, "' (not in tanlu.toml)", pd.Series(named).map(hints)
            )
        units = codes == 9
        if units.any():
            details = frame["detail"].astype(object).to_numpy()[units]
            reasons[units] = [
                self.unit_errors[(str(a), str(u))]
                for a, u in zip(values[units], details, strict=True)
            ]
        years = ", ".join(map(str, sorted(set(self.years))))
        reasons[codes == 16] = f"the period lies outside every project year ({years})"
        paired = np.isin(codes, [DUPLICATE, OVERLAP])
        if paired.any():
            where = self._places(
                frame["partner_source_id"][paired].to_numpy(dtype="int64"),
                frame["partner_line"][paired].to_numpy(dtype="int64"),
            )
            duplicate = codes[paired] == DUPLICATE
            reasons[paired] = np.where(
                duplicate,
                _join("duplicate of ", where),
                _join(
                    "period overlaps ",
                    where,
                    " for the same site, activity and meter (double counting)",
                ),
            )
        source_ids = frame["source_id"].to_numpy(dtype="int64")
        out = pd.DataFrame(
            {
                "file": np.array([s.file for s in self.sources], dtype=object)[source_ids],
                "sheet": np.array([s.sheet for s in self.sources], dtype=object)[source_ids],
                "line": frame["source_line"].astype("int64").to_numpy(),
                "column": pd.Series(codes).map(CHECK_COLUMNS).astype(object).to_numpy(),
                "reason": reasons,
            }
        )
        out["line"] = out["line"].astype("Int64")
        return out

    def issues(self, frame: pd.DataFrame) -> list[InputIssue]:
        """The rows as :class:`InputIssue` objects (for the few that are listed)."""
        rows = self.frame(frame)
        by_row = [self.sources[int(i)].by_row for i in frame["source_id"]]
        return [
            InputIssue(
                str(file),
                int(line),
                None if column is None or pd.isna(column) else str(column),
                str(reason),
                None if sheet is None or pd.isna(sheet) else str(sheet),
                by_row=flag,
            )
            for file, sheet, line, column, reason, flag in zip(
                rows["file"],
                rows["sheet"],
                rows["line"],
                rows["column"],
                rows["reason"],
                by_row,
                strict=True,
            )
        ]


def check_activities(
    con: Any,
    rows: ir.Table,
    sources: Sequence[ActivitySource],
    library: FactorLibrary,
    site_ids: Iterable[str],
    project_years: Iterable[int],
    *,
    listed_per_kind: int = LISTED_PER_KIND,
    issue_file: IssueFile | None = None,
    prefix: str = "activity",
    source_rows: Sequence[int] | None = None,
) -> PreparedActivities:
    """Check activity rows in normal form on the engine and convert their quantities.

    Parameters
    ----------
    con
        The engine connection ``rows`` lives on (:func:`tanlu.engine.connect`).
    rows
        The rows, in :data:`NORMAL_COLUMNS` form.
    sources
        Where the rows come from, by ``source_id``.
    library
        The factor library (activity catalogue, unit properties).
    site_ids
        The sites of the project.
    project_years
        Base year and reporting years; a row whose period touches none of them is an error.
    listed_per_kind
        How many problems of each kind come back as :class:`InputIssue` objects.
    issue_file
        Where every problem is written (streamed), when given.
    prefix
        Prefix of the names of the small tables registered on ``con``.
    source_rows
        How many rows each source holds, blank ones included (counted on the engine when not
        given): the ``row_id`` of a row is its place in its source after the rows before.
    """
    years = sorted(set(project_years))
    site_list = [str(s) for s in site_ids]
    known_sites = frozenset(site_list)
    if source_rows is None:
        ends = engine.to_pandas(rows.group_by("source_id").aggregate(last=rows.position.max()))
        last = dict(zip(ends["source_id"], ends["last"], strict=True))
        source_rows = [
            int(last[i] - i * POSITION_BASE + 1) if i in last else 0 for i in range(len(sources))
        ]
    # a row with no value at all is a blank line: skipped (its line keeps its number)
    every_row = rows
    rows = rows.filter(~ibis.and_(*[rows[c].isnull() for c in _DATA_COLUMNS]))
    rows, combos = _normalised_ids(con, rows, every_row, prefix)
    catalogue = engine.to_table(con, _catalogue_frame(library), f"{prefix}_catalogue")
    sites = engine.to_table(
        con,
        pd.DataFrame({"known_site": pd.Series(sorted(known_sites), dtype="string")}),
        f"{prefix}_sites",
    )
    units, multipliers, unit_errors = _unit_pairs(con, combos, library, prefix)
    offsets = engine.to_table(
        con,
        pd.DataFrame(
            {
                "offset_source_id": np.arange(len(sources), dtype="int64"),
                "row_offset": np.concatenate([[0], np.cumsum(source_rows)[:-1]]).astype("int64"),
            }
        ),
        f"{prefix}_offsets",
    )
    reference = _Reference(sites, catalogue, _hint_table(site_list), offsets)
    checked = engine.keep(con, _checked(rows, reference, units, years), f"{prefix}_checked")
    good = checked.filter(checked.code == 0)
    duplicates = engine.keep(con, _duplicates(good), f"{prefix}_duplicates")
    metered = good.filter(good.scope.isin([1, 2])).anti_join(duplicates, "position")
    overlaps = _overlaps(metered)
    partnered = duplicates.mutate(code=ibis.literal(DUPLICATE, "int64")).union(
        overlaps.mutate(code=ibis.literal(OVERLAP, "int64"))
    )
    lines = checked.select(partner=checked.position, partner_line=checked.source_line)
    paired = partnered.join(lines, partnered.partner_position == lines.partner)
    paired_issues = paired.join(
        checked.select("position", "source_id", "source_line"), "position"
    ).select(
        "position",
        "source_id",
        "source_line",
        code=paired.code.cast("int64"),
        value=ibis.null("string"),
        detail=ibis.null("string"),
        partner_source_id=(paired.partner_position // POSITION_BASE).cast("int64"),
        partner_line=paired.partner_line,
    )
    single = checked.filter(checked.code != 0).select(
        "position",
        "source_id",
        "source_line",
        "code",
        value=checked.value.cast("string"),
        detail=checked.detail.cast("string"),
        partner_source_id=ibis.null("int64"),
        partner_line=ibis.null("int64"),
    )
    all_issues = single.union(paired_issues)
    by_code = engine.to_pandas(all_issues.group_by("code").aggregate(problems=all_issues.count()))
    if by_code.empty:
        good_rows = checked.select(*STORE_COLUMNS)
        rows = int(good_rows.count().to_pyarrow().as_py())
        store = ActivityStore(con, good_rows, [(s.file, s.sheet) for s in sources], rows)
        return PreparedActivities(store, unit_conversion_table(multipliers, library), [], rows)
    rows_read = int(checked.count().to_pyarrow().as_py())
    counts: dict[str | None, int] = {}
    for code, problems in by_code.itertuples(index=False, name=None):
        column = CHECK_COLUMNS[int(code)]
        counts[column] = counts.get(column, 0) + int(problems)
    column_of = ibis.cases(
        *[(all_issues.code == code, column or "") for code, column in CHECK_COLUMNS.items()],
        else_="",
    )
    source_order = engine.to_table(
        con,
        pd.DataFrame(
            {
                "order_source_id": np.arange(len(sources), dtype="int64"),
                "order_rank": _source_ranks(sources),
            }
        ),
        f"{prefix}_source_order",
    )
    ordered = all_issues.join(source_order, all_issues.source_id == source_order.order_source_id)
    ordered = engine.keep(con, ordered.mutate(kind=column_of), f"{prefix}_issues")
    formatter = _Formatter(sources, years, unit_errors, reference.site_keys)
    listing_order = ["order_rank", "source_line", "position"]
    rank = ibis.row_number().over(group_by="kind", order_by=[ordered[c] for c in listing_order])
    first = engine.to_pandas(
        ordered.mutate(rank=rank)
        .filter(lambda t: t["rank"] < listed_per_kind)
        .order_by(listing_order)
    )
    issues = formatter.issues(first)
    unlisted = {
        column: problems - listed_per_kind
        for column, problems in counts.items()
        if problems > listed_per_kind
    }
    if issue_file is not None:
        for batch in engine.to_batches(ordered.order_by(listing_order)):
            issue_file.write(formatter.frame(batch))
    return PreparedActivities(None, unit_conversion_table({}, library), issues, rows_read, unlisted)


def _source_ranks(sources: Sequence[ActivitySource]) -> np.ndarray:
    """Each source's place in the order issues are listed: by file name, then sheet."""
    keys = [(s.file, s.sheet or "") for s in sources]
    order = sorted(range(len(keys)), key=lambda i: keys[i])
    ranks = np.empty(len(keys), dtype="int64")
    ranks[order] = np.arange(len(keys))
    return ranks

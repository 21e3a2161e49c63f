"""The methodology registry: versioned, sourced rules that turn a low-carbon action into credits.

A methodology says, for one action (``bus``, ``metro``, ``cycling``, ``walking``,
``household_electricity`` ...) in one region (a city, a province or the whole country) and for
the days it is valid, how many gCO2e one unit of the action avoids: a reduction per unit, or a
baseline and a project emission per unit whose difference is the reduction. It names its unit
(``passenger_km``, ``km``, ``trip``, ``step``, ``kwh``), the consent scenario a user must have
agreed to, its daily and monthly caps per user, its source and the source's status.

The bundled methodologies are ``ledger/data/methodologies.csv``; a ledger adds its own as CSV
files in its ``methodologies/`` folder (:func:`load_methodologies`), with the same columns. Every
credit stores the id and version of the methodology that credited it (docs/ledger.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tanlu.errors import InputError, InputIssue
from tanlu.factors.regions import resolve_province
from tanlu.identifiers import normalise_id
from tanlu.tables import read_csv_table

BUNDLED_FILE = Path(__file__).parent / "data" / "methodologies.csv"
COLUMNS: tuple[str, ...] = (
    "methodology_id",
    "version",
    "action",
    "scenario",
    "region",
    "region_level",
    "valid_from",
    "valid_until",
    "unit",
    "reduction_gco2e_per_unit",
    "baseline_gco2e_per_unit",
    "project_gco2e_per_unit",
    "daily_cap_gco2e",
    "monthly_cap_gco2e",
    "source",
    "status",
    "note",
)
REQUIRED: tuple[str, ...] = (
    "methodology_id",
    "version",
    "action",
    "scenario",
    "region",
    "region_level",
    "unit",
    "source",
    "status",
)
# Units a methodology may count in: a trip's distance (per passenger or per km ridden), the
# trip itself, or a quantity the operator reports (steps walked, kWh saved).
DISTANCE_UNITS: tuple[str, ...] = ("passenger_km", "km")
TRIP_UNITS: tuple[str, ...] = (*DISTANCE_UNITS, "trip")
QUANTITY_UNITS: tuple[str, ...] = ("step", "kwh")
UNITS: tuple[str, ...] = (*TRIP_UNITS, *QUANTITY_UNITS)
# How specific a region is: a city's methodology wins over its province's, which wins over the
# country's, for the same action and day.
REGION_LEVELS: dict[str, int] = {"city": 2, "province": 1, "national": 0}
STATUSES: tuple[str, ...] = ("S", "S3", "D", "S / D", "U")


@dataclass(frozen=True)
class MethodologyRegistry:
    """The methodologies a ledger credits by, checked.

    Attributes
    ----------
    table
        One row per (``methodology_id``, ``version``): :data:`COLUMNS` typed (dates as
        ``datetime64``, figures as floats), ``region`` canonical (a province in its English
        name), ``reduction_gco2e_per_unit`` filled from baseline - project where not given,
        ``level`` (:data:`REGION_LEVELS`) and ``origin`` (the file it came from).
    """

    table: pd.DataFrame

    @property
    def actions(self) -> list[str]:
        """The actions some methodology credits, sorted."""
        return sorted(self.table["action"].unique())

    @property
    def scenarios(self) -> list[str]:
        """The consent scenarios methodologies name, sorted."""
        return sorted(self.table["scenario"].unique())

    def engine_frame(self) -> pd.DataFrame:
        """The columns the rules join (:mod:`tanlu.ledger.rules`), typed for the engine; caps
        in whole mgCO2e (credits are counted in whole milligrams, docs/ledger.md)."""
        t = self.table
        return pd.DataFrame(
            {
                "m_methodology_id": t["methodology_id"].astype(str).to_numpy(),
                "m_version": t["version"].astype("int64").to_numpy(),
                "m_action": t["action"].astype(str).to_numpy(),
                "m_scenario": t["scenario"].astype(str).to_numpy(),
                "m_region": t["region"].astype(str).to_numpy(),
                "m_level": t["level"].astype("int64").to_numpy(),
                "m_valid_from": t["valid_from"].dt.date.to_numpy(),
                "m_valid_until": t["valid_until"].dt.date.to_numpy(),
                "m_unit": t["unit"].astype(str).to_numpy(),
                "m_reduction_gco2e_per_unit": t["reduction_gco2e_per_unit"].astype(float),
                "m_daily_cap_mgco2e": _milligrams(t["daily_cap_gco2e"]),
                "m_monthly_cap_mgco2e": _milligrams(t["monthly_cap_gco2e"]),
            }
        )


def _milligrams(grams: pd.Series) -> pd.Series:
    return (grams.astype(float) * 1000).round().astype("Int64")


def canonical_region(region: str, level: str) -> str | None:
    """A methodology's or an event's region as compared: a province by its English name
    (:func:`tanlu.factors.regions.resolve_province`: ``湖北``, ``湖北省`` and ``Hubei`` are one);
    a city by its id without a trailing ``市`` (``深圳市`` is ``深圳``); ``None`` for a province
    tanlu does not know."""
    if level == "province":
        return resolve_province(region)
    text = normalise_id(region)
    return text.removesuffix("市") or text


def _number(value: object) -> float | None:
    try:
        number = float(str(value))
    except ValueError:
        return None
    return number if np.isfinite(number) else None


def check_methodology_table(
    frame: pd.DataFrame, display: str
) -> tuple[pd.DataFrame, list[InputIssue]]:
    """Check a methodology table (as :func:`tanlu.tables.read_csv_table` reads it, with
    ``source_line``) and type it; every bad row is an issue naming file, line, column and
    reason."""
    missing = [c for c in REQUIRED if c not in frame.columns]
    unknown = [c for c in frame.columns if c not in COLUMNS and c != "source_line"]
    if missing or unknown:
        what = f"missing column(s): {', '.join(missing)}" if missing else ""
        what += ("; " if what else "") + (
            f"unknown column(s): {', '.join(unknown)}" if unknown else ""
        )
        return pd.DataFrame(), [InputIssue(display, 1, None, what)]
    issues: list[InputIssue] = []
    rows = []
    for record in frame.to_dict("records"):
        line = int(record["source_line"])
        cells = {
            c: (None if pd.isna(record.get(c)) else str(record.get(c)).strip()) for c in COLUMNS
        }

        def bad(column: str | None, reason: str, _line: int = line) -> None:
            issues.append(InputIssue(display, _line, column, reason))

        empty = [c for c in REQUIRED if not cells[c]]
        if empty:
            bad(empty[0], f"{empty[0]} is empty")
            continue
        ids = {c: normalise_id(str(cells[c])) for c in ("methodology_id", "action", "scenario")}
        version = _number(cells["version"])
        if version is None or not version.is_integer() or version < 1:
            bad("version", f"version '{cells['version']}' is not a whole number from 1")
            continue
        level = str(cells["region_level"])
        if level not in REGION_LEVELS:
            bad("region_level", f"region_level '{level}' is not one of {', '.join(REGION_LEVELS)}")
            continue
        region = canonical_region(str(cells["region"]), level)
        if region is None:
            bad("region", f"unknown province '{cells['region']}'")
            continue
        unit = str(cells["unit"])
        if unit not in UNITS:
            bad("unit", f"unit '{unit}' is not one of {', '.join(UNITS)}")
            continue
        if cells["status"] not in STATUSES:
            bad("status", f"status '{cells['status']}' is not one of {', '.join(STATUSES)}")
            continue
        figures: dict[str, float | None] = {}
        problem = False
        for column in (
            "reduction_gco2e_per_unit",
            "baseline_gco2e_per_unit",
            "project_gco2e_per_unit",
            "daily_cap_gco2e",
            "monthly_cap_gco2e",
        ):
            text = cells[column]
            figures[column] = None if text is None else _number(text)
            if text is not None and (figures[column] is None or figures[column] < 0):  # type: ignore[operator]
                bad(column, f"{column} '{text}' is not a number from 0")
                problem = True
                break
        if problem:
            continue
        reduction = figures["reduction_gco2e_per_unit"]
        baseline, project = figures["baseline_gco2e_per_unit"], figures["project_gco2e_per_unit"]
        if reduction is None:
            if baseline is None or project is None:
                bad(
                    "reduction_gco2e_per_unit",
                    "give reduction_gco2e_per_unit, or baseline_gco2e_per_unit and "
                    "project_gco2e_per_unit",
                )
                continue
            if project > baseline:
                bad(
                    "project_gco2e_per_unit",
                    f"project emissions {project} g are above the baseline {baseline} g: "
                    "the action would add emissions",
                )
                continue
            reduction = baseline - project
        elif baseline is not None or project is not None:
            bad(
                "reduction_gco2e_per_unit",
                "give reduction_gco2e_per_unit or baseline and project emissions, not both",
            )
            continue
        dates: dict[str, pd.Timestamp | None] = {}
        for column in ("valid_from", "valid_until"):
            text = cells[column]
            stamp = (
                None if text is None else pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
            )
            if text is not None and pd.isna(stamp):
                bad(column, f"{column} '{text}' is not a date (YYYY-MM-DD)")
                problem = True
                break
            dates[column] = stamp
        if problem:
            continue
        start, until = dates["valid_from"], dates["valid_until"]
        if start is not None and until is not None and until < start:
            bad("valid_until", f"valid_until {cells['valid_until']} is before valid_from")
            continue
        rows.append(
            {
                **ids,
                "version": int(version),
                "region": region,
                "region_level": level,
                "level": REGION_LEVELS[level],
                "valid_from": start,
                "valid_until": until,
                "unit": unit,
                "reduction_gco2e_per_unit": reduction,
                "baseline_gco2e_per_unit": baseline,
                "project_gco2e_per_unit": project,
                "daily_cap_gco2e": figures["daily_cap_gco2e"],
                "monthly_cap_gco2e": figures["monthly_cap_gco2e"],
                "source": cells["source"],
                "status": cells["status"],
                "note": cells["note"],
                "origin": display,
                "source_line": line,
            }
        )
    table = pd.DataFrame(rows, columns=[*COLUMNS, "level", "origin", "source_line"])
    for column in ("valid_from", "valid_until"):
        table[column] = pd.to_datetime(table[column])
    return table, issues


def _conflicts(table: pd.DataFrame) -> list[InputIssue]:
    """Two rows with one (id, version); one id crediting two actions, units or scenarios; two
    methodologies (or versions) that would both credit one action in one region on one day."""
    issues: list[InputIssue] = []
    seen: dict[tuple[str, int], pd.Series] = {}
    first_of_id: dict[str, pd.Series] = {}
    for _, row in table.iterrows():
        key = (row["methodology_id"], row["version"])
        where = f"{row['origin']}, line {row['source_line']}"
        if key in seen:
            other = seen[key]
            issues.append(
                InputIssue(
                    row["origin"],
                    int(row["source_line"]),
                    "version",
                    f"methodology '{key[0]}' version {key[1]} is defined twice (first on "
                    f"{other['origin']}, line {other['source_line']}); add a new version instead",
                )
            )
            continue
        seen[key] = row
        first = first_of_id.setdefault(row["methodology_id"], row)
        for column in ("action", "unit", "scenario"):
            if row[column] != first[column]:
                issues.append(
                    InputIssue(
                        row["origin"],
                        int(row["source_line"]),
                        column,
                        f"methodology '{row['methodology_id']}' has {column} '{first[column]}' "
                        f"in version {first['version']} and '{row[column]}' here ({where}): one "
                        "methodology credits one action in one unit",
                    )
                )
                break
    never = pd.Timestamp.max
    dawn = pd.Timestamp.min
    for _, group in table.groupby(["action", "region", "level"]):
        records = group.to_dict("records")
        for i, a in enumerate(records):
            for b in records[i + 1 :]:
                a_from, a_to = (
                    a["valid_from"] if pd.notna(a["valid_from"]) else dawn,
                    (a["valid_until"] if pd.notna(a["valid_until"]) else never),
                )
                b_from, b_to = (
                    b["valid_from"] if pd.notna(b["valid_from"]) else dawn,
                    (b["valid_until"] if pd.notna(b["valid_until"]) else never),
                )
                if a_from <= b_to and b_from <= a_to:
                    issues.append(
                        InputIssue(
                            b["origin"],
                            int(b["source_line"]),
                            "valid_from",
                            f"methodology '{b['methodology_id']}' version {b['version']} and "
                            f"'{a['methodology_id']}' version {a['version']} (on {a['origin']}, "
                            f"line {a['source_line']}) both credit '{a['action']}' in "
                            f"{a['region']} on some day: make their validity dates part",
                        )
                    )
    return issues


def load_methodologies(extra_files: Sequence[Path] = ()) -> MethodologyRegistry:
    """The bundled methodologies and those of ``extra_files`` (CSV, the bundled file's
    columns), checked together.

    Raises
    ------
    InputError
        Naming file, line, column and reason of every bad row, and of every clash between
        rows (one id and version twice; two methodologies for one action, region and day).
    """
    frames: list[pd.DataFrame] = []
    issues: list[InputIssue] = []
    for path in (BUNDLED_FILE, *extra_files):
        display = "tanlu/ledger/data/methodologies.csv" if path == BUNDLED_FILE else str(path)
        raw, read_issues = read_csv_table(path, display)
        if read_issues:
            issues.extend(read_issues)
            continue
        table, row_issues = check_methodology_table(raw, display)
        issues.extend(row_issues)
        if not table.empty:
            frames.append(table)
    if issues:
        raise InputError(issues)
    table = pd.concat(frames, ignore_index=True)
    issues = _conflicts(table)
    if issues:
        raise InputError(issues)
    return MethodologyRegistry(table.sort_values(["methodology_id", "version"], ignore_index=True))

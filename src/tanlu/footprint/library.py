"""The factor library a footprint uses, and the averages it is compared with.

The library is tanlu's bundled one (:func:`tanlu.factors.factor_library_from_tables`) with the
footprint's own activities and factors added: households' purchases of goods, spend-based,
from the same US EPA dataset as the bundled spend factors (``data/activities_household.csv``,
``data/factors_household.csv``). The averages (``data/averages.csv``) are per-person figures
and national intensities from named public sources, each with its status (S: read in the
source; S3: read in a transcription; D: derived here, the arithmetic in ``note``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd

from tanlu.errors import FactorError
from tanlu.factors.library import FactorLibrary, factor_library_from_tables
from tanlu.tables import read_csv_table

DATA_DIR = Path(__file__).parent / "data"
AVERAGE_COLUMNS = (
    "average_id",
    "name_en",
    "name_zh",
    "value",
    "unit",
    "year",
    "region",
    "source",
    "status",
    "note",
)
STATUSES = ("S", "S3", "D", "U")


@cache
def footprint_library() -> FactorLibrary:
    """The bundled factor library with the footprint's own activities and factors.

    Raises
    ------
    FactorError
        When the footprint's data files are malformed (a defect of the package).
    """
    tables = {}
    for name in ("activities_household.csv", "factors_household.csv"):
        frame, issues = read_csv_table(DATA_DIR / name, name)
        if issues:
            raise FactorError(f"footprint data {name}: " + "; ".join(map(str, issues)))
        tables[name] = frame
    try:
        return factor_library_from_tables(tables)
    except Exception as error:  # an InputError of bundled data is a defect, said as one
        raise FactorError(f"the footprint's factor data is malformed: {error}") from None


@cache
def spend_activities() -> frozenset[str]:
    """Every spend-based activity of :func:`footprint_library` (``spend_*``, in CNY)."""
    activities = footprint_library().activities
    spend = activities.loc[activities["method"] == "spend-based", "activity"]
    return frozenset(str(a) for a in spend if str(a).startswith("spend_"))


@dataclass(frozen=True)
class Average:
    """One sourced average (a row of ``data/averages.csv``).

    Attributes
    ----------
    average_id
        Its id, e.g. ``cn_ghg_per_capita_2023``.
    name_en, name_zh
        What it is.
    value, unit
        The figure and its unit as the file writes it (``tCO2e/person/yr``,
        ``gCO2e/person/day``, ``kWh/person/yr``, ``kgCO2e/CNY``).
    year, region
        What it describes.
    source, status, note
        Where it comes from (S, S3, D or U) and, for a derived one, its arithmetic.
    """

    average_id: str
    name_en: str
    name_zh: str
    value: float
    unit: str
    year: int
    region: str
    source: str
    status: str
    note: str


@cache
def load_averages() -> dict[str, Average]:
    """The bundled averages by id.

    Raises
    ------
    FactorError
        When a row has no source, an unknown status or a value that is not a positive number.
    """
    frame = pd.read_csv(DATA_DIR / "averages.csv", dtype=str, keep_default_na=False)
    found: dict[str, Average] = {}
    for line, row in enumerate(frame.itertuples(index=False), start=2):
        where = f"footprint data averages.csv, line {line}"
        try:
            value = float(row.value)
        except ValueError:
            raise FactorError(f"{where}: '{row.value}' is not a number") from None
        if not value > 0 or not str(row.source).strip() or row.status not in STATUSES:
            raise FactorError(f"{where}: every average needs a positive value, a source, a status")
        found[str(row.average_id)] = Average(
            average_id=str(row.average_id),
            name_en=str(row.name_en),
            name_zh=str(row.name_zh),
            value=value,
            unit=str(row.unit),
            year=int(row.year),
            region=str(row.region),
            source=str(row.source),
            status=str(row.status),
            note=str(row.note),
        )
    return found

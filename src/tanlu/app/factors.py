"""The ``factors list`` and ``factors show`` use cases: browse the emission-factor library
(with a project's overrides when a project is given)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from tanlu.factors import FactorLibrary, load_factor_library, lookup_factor
from tanlu.factors.library import ACTIVITY_COLUMNS
from tanlu.ingest.inputs import load_project_library
from tanlu.project import load_project

# The keys of each activity in ``tanlu factors list --json`` (docs/json-output.md).
ACTIVITY_KEYS = [*ACTIVITY_COLUMNS, "factors"]


def open_library(project: Path | None = None) -> FactorLibrary:
    """The bundled factor library, or a project's (bundled plus its overrides)."""
    if project is None:
        return load_factor_library()
    return load_project_library(load_project(project))


@dataclass(frozen=True)
class FactorCatalogue:
    """Every activity of the library with the number of its factors.

    Attributes
    ----------
    activities
        One row per activity: the library's activity columns and ``factors`` (a count).
    """

    activities: pd.DataFrame

    def to_records(self) -> list[dict[str, Any]]:
        """JSON-ready: one object per activity with :data:`ACTIVITY_KEYS`."""
        rows: list[dict[str, Any]] = (
            self.activities[ACTIVITY_KEYS].astype(object).to_dict(orient="records")
        )
        return rows


def list_factor_activities(project: Path | None = None) -> FactorCatalogue:
    """The ``factors list`` use case: the activities the library has factors for."""
    library = open_library(project)
    counts = library.factors.groupby("activity").size().rename("factors")
    table = library.activities.join(counts, on="activity")
    table["factors"] = table["factors"].fillna(0).astype(int)
    return FactorCatalogue(table)


@dataclass(frozen=True)
class FactorLookup:
    """The factors an activity gets in a region and year.

    Attributes
    ----------
    activity, region, year, kind
        The query as given.
    canonical_unit
        The activity's canonical unit.
    factors
        One row per gas: ``factor_id, activity, factor_kind, gas, value, unit,
        factor_t_per_unit, canonical_unit, region_level, region, year_start, year_end,
        dataset, source, status, fallback`` (docs/json-output.md).
    """

    activity: str
    region: str
    year: int
    kind: str
    canonical_unit: str
    factors: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``tanlu factors show --json``)."""
        return {
            "query": {
                "activity": self.activity,
                "region": self.region,
                "year": self.year,
                "kind": self.kind,
            },
            "factors": list(self.factors),
        }


def show_factor(
    activity: str,
    region: str = "China",
    year: int = 2022,
    kind: str = "default",
    project: Path | None = None,
) -> FactorLookup:
    """The ``factors show`` use case: the factor an activity gets in a region and year, with
    its source and the fallbacks taken."""
    library = open_library(project)
    found = lookup_factor(library, activity, region, year, kind)
    canonical = str(library.activity(activity)["canonical_unit"])
    rows = tuple(
        {
            "factor_id": row.factor_id,
            "activity": activity,
            "factor_kind": kind,
            "gas": row.gas,
            "value": float(row.value),
            "unit": row.unit,
            "factor_t_per_unit": float(row.factor_t_per_unit),
            "canonical_unit": canonical,
            "region_level": row.region_level,
            "region": row.factor_region,
            "year_start": int(row.year_start),
            "year_end": None if pd.isna(row.year_end) else int(row.year_end),
            "dataset": row.dataset,
            "source": row.source,
            "status": row.status,
            "fallback": row.fallback or None,
        }
        for row in found.itertuples(index=False)
    )
    return FactorLookup(activity, region, year, kind, canonical, rows)

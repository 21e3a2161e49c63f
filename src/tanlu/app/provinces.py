"""A year's inventory by province: the scope totals of its sites (``by_site`` of ``tanlu
inventory --json``) summed by each site's province, as a submission pins them for the roll-ups
(docs/service.md "Roll-ups"). Pure functions over plain data; the scope totals themselves
(:class:`ScopeTotals`) are shared by the roll-ups.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from tanlu.factors.regions import resolve_province

# The scopes a roll-up adds, as the inventory's ``totals`` and ``by_site`` name them [tCO2e].
SCOPE_KEYS: tuple[str, ...] = (
    "scope1_tco2e",
    "scope2_location_tco2e",
    "scope2_market_tco2e",
    "scope3_tco2e",
)
# The province of a site the project's sites do not name (never, for a year submitted since
# migration 0005: validation requires every site's province), or of the figures of a year whose
# sites could not be read.
UNKNOWN_PROVINCE = "unknown"


@dataclass(frozen=True)
class ScopeTotals:
    """Emissions by scope [tCO2e]: scope 1, scope 2 location- and market-based, scope 3."""

    scope1_tco2e: float = 0.0
    scope2_location_tco2e: float = 0.0
    scope2_market_tco2e: float = 0.0
    scope3_tco2e: float = 0.0

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> ScopeTotals:
        """The scope totals of a mapping that has :data:`SCOPE_KEYS` (missing ones are 0)."""
        return cls(*(float(values.get(key) or 0.0) for key in SCOPE_KEYS))

    def plus(self, other: ScopeTotals) -> ScopeTotals:
        """The sum of two, scope by scope."""
        return ScopeTotals(*(a + b for a, b in zip(self.values(), other.values(), strict=True)))

    def scaled(self, share: float) -> ScopeTotals:
        """Every scope times ``share`` [0..1]."""
        return ScopeTotals(*(value * share for value in self.values()))

    def values(self) -> tuple[float, float, float, float]:
        """The four totals in the order of :data:`SCOPE_KEYS` [tCO2e]."""
        return (
            self.scope1_tco2e,
            self.scope2_location_tco2e,
            self.scope2_market_tco2e,
            self.scope3_tco2e,
        )

    @property
    def total_location_tco2e(self) -> float:
        """Scope 1 + scope 2 location-based + scope 3 [tCO2e]."""
        return self.scope1_tco2e + self.scope2_location_tco2e + self.scope3_tco2e

    @property
    def total_market_tco2e(self) -> float:
        """Scope 1 + scope 2 market-based + scope 3 [tCO2e]."""
        return self.scope1_tco2e + self.scope2_market_tco2e + self.scope3_tco2e


@dataclass(frozen=True)
class ProvinceTotals:
    """One province's scope totals in a year's inventory; ``province`` is the canonical
    English name (:func:`tanlu.factors.regions.resolve_province`) or :data:`UNKNOWN_PROVINCE`."""

    province: str
    totals: ScopeTotals

    def to_dict(self) -> dict[str, Any]:
        return {"province": self.province, **asdict(self.totals)}


def site_provinces(sites: pd.DataFrame) -> dict[str, str]:
    """Site id -> its province in one spelling (the canonical English name), from a project's
    sites (:attr:`tanlu.project.Project.sites`, whose provinces are already canonical; a name
    given otherwise, 广东 or Guangdong Province, is resolved the same way)."""
    return {
        str(site): resolve_province(str(province)) or UNKNOWN_PROVINCE
        for site, province in zip(sites["site"], sites["province"], strict=True)
    }


def province_totals(
    by_site: Iterable[Mapping[str, Any]], provinces: Mapping[str, str]
) -> list[ProvinceTotals]:
    """The scope totals of ``by_site`` (rows with ``site`` and :data:`SCOPE_KEYS`) summed by
    each site's province, sorted by province; a site ``provinces`` does not name counts under
    :data:`UNKNOWN_PROVINCE`. The provinces' totals add up to the sites' (docs/json-output.md:
    ``by_site`` adds up to the inventory's scope totals)."""
    found: dict[str, ScopeTotals] = {}
    for row in by_site:
        province = provinces.get(str(row.get("site")), UNKNOWN_PROVINCE)
        found[province] = found.get(province, ScopeTotals()).plus(ScopeTotals.of(row))
    return [ProvinceTotals(name, found[name]) for name in sorted(found)]


def province_totals_json(rows: list[ProvinceTotals]) -> str:
    """The JSON text a submission pins (``reporting_years.by_province``)."""
    return json.dumps([row.to_dict() for row in rows], ensure_ascii=False, sort_keys=True)


def read_province_totals(text: str) -> list[ProvinceTotals]:
    """The rows of :func:`province_totals_json`'s text."""
    return [ProvinceTotals(str(row["province"]), ScopeTotals.of(row)) for row in json.loads(text)]


def unknown_province(totals: ScopeTotals) -> list[ProvinceTotals]:
    """A year's figures all under :data:`UNKNOWN_PROVINCE` (its sites could not be read)."""
    return [ProvinceTotals(UNKNOWN_PROVINCE, totals)]

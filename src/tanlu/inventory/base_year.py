"""Base-year recalculation when the organisation's structure changes.

GHG Protocol Corporate Standard ch. 5: recalculate the base year for structural changes
(acquisitions, divestments, outsourcing, insourcing), not for organic growth. The significance
threshold is the project's ``base_year_significance_share`` (default 5%, SBTi criterion C26; see
docs/methods.md). A site's ``owned_from`` / ``owned_until`` record when it joined or left.

The base year "as reported" counts each site for the days it was owned in the base year. The base
year "in the structure of year Y" counts every site owned at the end of Y for the whole base year
(so its base-year activity data must be in the project) and no site that had left by then.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class BaseYearCheck:
    """Whether the base year must be recalculated for the structure of a reporting year.

    Attributes
    ----------
    base_year, year
        The base year and the reporting year whose structure is applied.
    reported_tco2e
        Base-year scopes 1 + 2 (location-based) + 3 as first reported [tCO2e].
    recalculated_tco2e
        The same in the structure of ``year`` [tCO2e].
    change_share
        ``|recalculated - reported| / reported`` [0..1].
    threshold_share
        The significance threshold [0..1].
    recalculation_required
        ``change_share >= threshold_share``.
    sites_added, sites_removed
        Sites in the structure of ``year`` but not (fully) in the base year, and the reverse.
    """

    base_year: int
    year: int
    reported_tco2e: float
    recalculated_tco2e: float
    change_share: float
    threshold_share: float
    recalculation_required: bool
    sites_added: tuple[str, ...]
    sites_removed: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {
            "base_year": self.base_year,
            "year": self.year,
            "reported_tco2e": self.reported_tco2e,
            "recalculated_tco2e": self.recalculated_tco2e,
            "change_share": self.change_share,
            "threshold_share": self.threshold_share,
            "recalculation_required": self.recalculation_required,
            "sites_added": list(self.sites_added),
            "sites_removed": list(self.sites_removed),
        }


def _owned_whole_year(sites: pd.DataFrame, year: int) -> pd.Series:
    start, end = pd.Timestamp(year, 1, 1), pd.Timestamp(year, 12, 31)
    return (sites["owned_from"].isna() | (sites["owned_from"] <= start)) & (
        sites["owned_until"].isna() | (sites["owned_until"] >= end)
    )


def sites_in_structure_of(sites: pd.DataFrame, year: int) -> pd.DataFrame:
    """The site table as the organisation stood at the end of ``year``, ownership dates cleared.

    Sites owned at the end of ``year`` count in full; sites gone by then are dropped.
    """
    end = pd.Timestamp(year, 12, 31)
    present = (sites["owned_from"].isna() | (sites["owned_from"] <= end)) & (
        sites["owned_until"].isna() | (sites["owned_until"] >= end)
    )
    restructured = sites.loc[present].copy()
    restructured["owned_from"] = pd.NaT
    restructured["owned_until"] = pd.NaT
    return restructured.reset_index(drop=True)


def compare_structures(
    sites: pd.DataFrame,
    base_year: int,
    year: int,
    reported_tco2e: float,
    recalculated_tco2e: float,
    threshold_share: float,
) -> BaseYearCheck:
    """Build the :class:`BaseYearCheck` from the two base-year totals."""
    present = set(sites_in_structure_of(sites, year)["site"])
    whole_base = set(sites.loc[_owned_whole_year(sites, base_year), "site"])
    change = abs(recalculated_tco2e - reported_tco2e) / reported_tco2e if reported_tco2e else 0.0
    return BaseYearCheck(
        base_year=base_year,
        year=year,
        reported_tco2e=reported_tco2e,
        recalculated_tco2e=recalculated_tco2e,
        change_share=change,
        threshold_share=threshold_share,
        recalculation_required=change >= threshold_share,
        sites_added=tuple(sorted(present - whole_base)),
        sites_removed=tuple(sorted(whole_base - present)),
    )

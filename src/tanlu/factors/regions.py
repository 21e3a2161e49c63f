"""Provinces and regional grids of mainland China, in Chinese and English (data/regions.csv)."""

from __future__ import annotations

import re
from functools import cache

import pandas as pd

from tanlu.factors.bundled import read_data_csv

NATIONAL_REGION = "China"


def _key(text: str) -> str:
    return re.sub(r"[\s_\-]+", "", str(text)).lower()


@cache
def regions_table() -> pd.DataFrame:
    """One row per province: ``province_en, province_zh, regional_grid_en, regional_grid_zh``."""
    table = read_data_csv("regions.csv")
    table["regional_grid_en"] = table["regional_grid_en"].fillna("")
    table["regional_grid_zh"] = table["regional_grid_zh"].fillna("")
    table["aliases"] = table["aliases"].fillna("")
    return table


@cache
def _province_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for row in regions_table().itertuples():
        names = [row.province_en, row.province_zh, *str(row.aliases).split(";")]
        for name in names:
            if name.strip():
                index[_key(name)] = str(row.province_en)
    return index


@cache
def _grid_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for row in regions_table().itertuples():
        if row.regional_grid_en:
            index[_key(row.regional_grid_en)] = str(row.regional_grid_en)
            index[_key(row.regional_grid_zh)] = str(row.regional_grid_en)
            index[_key(str(row.regional_grid_zh) + "电网")] = str(row.regional_grid_en)
            index[_key(str(row.regional_grid_en) + " grid")] = str(row.regional_grid_en)
    return index


def resolve_province(name: str) -> str | None:
    """Canonical English name of a province given in Chinese or English, or None if unknown."""
    key = _key(name)
    index = _province_index()
    if key in index:
        return index[key]
    for suffix in ("省", "市", "province", "municipality", "autonomousregion", "自治区"):
        if key.endswith(suffix) and key.removesuffix(suffix) in index:
            return index[key.removesuffix(suffix)]
    return None


def resolve_grid_region(name: str) -> str | None:
    """Canonical English name of a regional grid given in Chinese or English, or None."""
    return _grid_index().get(_key(name))


@cache
def _grid_of_province() -> dict[str, str]:
    """Canonical province -> its regional grid (the first row of a province; none for Tibet)."""
    index: dict[str, str] = {}
    for province, grid in zip(
        regions_table()["province_en"], regions_table()["regional_grid_en"], strict=True
    ):
        index.setdefault(str(province), str(grid))
    return index


def grid_region_of_province(province: str) -> str | None:
    """The regional grid of a canonical province; None where the source maps none (Tibet)."""
    return _grid_of_province().get(province) or None


def resolve_region(name: str) -> tuple[str, str] | None:
    """Resolve a province, regional grid or ``China``/``全国`` to ``(level, canonical name)``."""
    if _key(name) in {_key(NATIONAL_REGION), _key("全国"), _key("中国"), "national", "cn"}:
        return ("national", NATIONAL_REGION)
    province = resolve_province(name)
    if province is not None:
        return ("province", province)
    grid = resolve_grid_region(name)
    if grid is not None:
        return ("regional_grid", grid)
    return None

"""Canonical units and the one conversion table.

pint lives here, at the boundary: user units are parsed once per distinct spelling, turned into a
plain multiplier to the activity's canonical unit, and the core computes on plain numbers.

Canonical units (docs/glossary.md): energy ``MWh`` (electricity) or ``GJ`` (heat), mass ``t``,
volume ``m3``, distance ``km``, passenger distance ``passenger_km``, lodging ``room_night``,
money ``CNY``, home-working time ``fte_hour``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import pint

from tanlu.errors import UnitError

CANONICAL_UNITS: tuple[str, ...] = (
    "MWh",
    "GJ",
    "t",
    "m3",
    "km",
    "passenger_km",
    "room_night",
    "CNY",
    "fte_hour",
)

# 1 kgce (kilogram of standard coal equivalent) = 29,307.6 kJ: GB/T 2589-2020 "General principles
# for calculation of the comprehensive energy consumption", clause 3.7 (status S3: read in public
# transcriptions of the standard). Hence 1 tce = 29.3076 GJ.
GJ_PER_TCE = 29.3076

_DEFINITIONS = (
    f"tce = {GJ_PER_TCE} * gigajoule = tonne_of_coal_equivalent",
    "yuan = [currency] = CNY = RMB",
    "wan_yuan = 10000 * yuan",
    "passenger = [passenger]",
    "passenger_km = passenger * kilometer",
    "room_night = [lodging]",
    "fte_hour = [fte_time]",
)

# How people write units in Chinese and English activity data -> a pint expression.
# Keys are compared after lower-casing and removing spaces.
_ALIASES: dict[str, str] = {
    "kwh": "kWh",
    "千瓦时": "kWh",
    "度": "kWh",
    "mwh": "MWh",
    "兆瓦时": "MWh",
    "gwh": "GWh",
    "gj": "GJ",
    "吉焦": "GJ",
    "mj": "MJ",
    "tj": "TJ",
    "tce": "tce",
    "吨标准煤": "tce",
    "吨标煤": "tce",
    "kgce": "0.001 * tce",
    "千克标准煤": "0.001 * tce",
    "万吨标准煤": "10000 * tce",
    "m3": "m**3",
    "m^3": "m**3",
    "立方米": "m**3",
    "nm3": "m**3",
    "标准立方米": "m**3",
    "10^4m3": "10000 * m**3",
    "10^4nm3": "10000 * m**3",
    "10⁴nm3": "10000 * m**3",
    "万m3": "10000 * m**3",
    "万nm3": "10000 * m**3",
    "万立方米": "10000 * m**3",
    "万标准立方米": "10000 * m**3",
    "l": "liter",
    "升": "liter",
    "litre": "liter",
    "litres": "liter",
    "liter": "liter",
    "t": "metric_ton",
    "吨": "metric_ton",
    "tonne": "metric_ton",
    "tonnes": "metric_ton",
    "kg": "kilogram",
    "千克": "kilogram",
    "公斤": "kilogram",
    "km": "kilometer",
    "公里": "kilometer",
    "千米": "kilometer",
    "passenger-km": "passenger_km",
    "passenger_km": "passenger_km",
    "pkm": "passenger_km",
    "人公里": "passenger_km",
    "人·公里": "passenger_km",
    "cny": "yuan",
    "rmb": "yuan",
    "元": "yuan",
    "人民币元": "yuan",
    "万元": "wan_yuan",
    "10^4cny": "wan_yuan",
    "room-night": "room_night",
    "room_night": "room_night",
    "roomnight": "room_night",
    "间夜": "room_night",
    "fte-hour": "fte_hour",
    "fte_hour": "fte_hour",
}

_CANONICAL_EXPRESSIONS: dict[str, str] = {
    "MWh": "MWh",
    "GJ": "GJ",
    "t": "metric_ton",
    "m3": "m**3",
    "km": "kilometer",
    "passenger_km": "passenger_km",
    "room_night": "room_night",
    "CNY": "yuan",
    "fte_hour": "fte_hour",
}

_DIMENSION_NAMES: dict[str, str] = {
    "[mass] * [length] ** 2 / [time] ** 2": "energy",
    "[mass]": "mass",
    "[length] ** 3": "volume",
    "[length]": "distance",
    "[length] * [passenger]": "passenger distance",
    "[lodging]": "room-nights",
    "[currency]": "money",
    "[fte_time]": "working time",
}


@dataclass(frozen=True)
class ActivityProperties:
    """Physical properties that let one activity be measured in more than one dimension.

    Attributes
    ----------
    ncv_gj_per_t
        Net calorific value by mass [GJ/t], or None.
    ncv_gj_per_m3
        Net calorific value by volume [GJ/m3], or None.
    density_t_per_m3
        Density [t/m3], or None.
    """

    ncv_gj_per_t: float | None = None
    ncv_gj_per_m3: float | None = None
    density_t_per_m3: float | None = None


@cache
def _registry() -> Any:
    registry: Any = pint.UnitRegistry()
    for definition in _DEFINITIONS:
        registry.define(definition)
    return registry


def _normalise(text: str) -> str:
    return re.sub(r"\s+", "", text.strip()).lower().replace("³", "3").replace("×", "*")


@cache
def parse_unit(text: str) -> Any:
    """Parse a unit as people write it (``kWh``, ``万元``, ``10^4 Nm3`` ...).

    Returns
    -------
    pint.Quantity
        One of the unit, with any scale folded in (``万元`` is 10,000 yuan).

    Raises
    ------
    UnitError
        When the spelling is not a unit tanlu knows.
    """
    key = _normalise(str(text))
    if not key:
        raise UnitError("the unit is empty")
    expression = _ALIASES.get(key)
    if expression is None:
        if key.upper() in {u.upper() for u in CANONICAL_UNITS}:
            expression = _CANONICAL_EXPRESSIONS[
                next(u for u in CANONICAL_UNITS if u.upper() == key.upper())
            ]
        else:
            raise UnitError(f"unknown unit '{text}'")
    registry = _registry()
    return registry.Quantity(1, "dimensionless") * registry.parse_expression(expression)


def describe_dimension(text: str) -> str:
    """Name the dimension of a unit in words, e.g. ``energy`` for ``kWh``."""
    dimensionality = str(parse_unit(text).dimensionality)
    return _DIMENSION_NAMES.get(dimensionality, dimensionality)


@cache
def conversion_factor(
    from_unit: str, to_unit: str, properties: ActivityProperties | None = None
) -> float:
    """Multiplier that turns a quantity in ``from_unit`` into ``to_unit``.

    A change of dimension (litres of diesel to tonnes, GJ of gas to m3) uses the activity's
    density or net calorific value, one step or two.

    Raises
    ------
    UnitError
        When either unit is unknown, or the dimensions differ and the properties cannot bridge them.
    """
    source = parse_unit(from_unit)
    target = parse_unit(to_unit)
    if source.dimensionality == target.dimensionality:
        return float((source / target).to("dimensionless").magnitude)
    registry = _registry()
    bridges = []
    if properties is not None:
        if properties.ncv_gj_per_t is not None:
            bridges.append(registry.Quantity(properties.ncv_gj_per_t, "GJ / metric_ton"))
        if properties.ncv_gj_per_m3 is not None:
            bridges.append(registry.Quantity(properties.ncv_gj_per_m3, "GJ / m**3"))
        if properties.density_t_per_m3 is not None:
            bridges.append(registry.Quantity(properties.density_t_per_m3, "metric_ton / m**3"))
    candidates = [source * b for b in bridges] + [source / b for b in bridges]
    candidates += [source * a * b for a in bridges for b in bridges if a is not b]
    candidates += [source / a / b for a in bridges for b in bridges if a is not b]
    candidates += [source * a / b for a in bridges for b in bridges if a is not b]
    for candidate in candidates:
        if candidate.dimensionality == target.dimensionality:
            return float((candidate / target).to("dimensionless").magnitude)
    raise UnitError(
        f"'{from_unit}' measures {describe_dimension(from_unit)}, "
        f"but this activity is measured in {describe_dimension(to_unit)} ({to_unit})"
    )


@cache
def energy_gj_per_unit(unit: str) -> float | None:
    """GJ in one of ``unit`` when it measures energy (``tce`` gives 29.3076), else None.

    Raises
    ------
    UnitError
        When the unit is unknown.
    """
    quantity = parse_unit(unit)
    gigajoule = _registry().Quantity(1, "GJ")
    if quantity.dimensionality != gigajoule.dimensionality:
        return None
    return float((quantity / gigajoule).to("dimensionless").magnitude)


_CURRENCY_YEAR = re.compile(r"^USD_(\d{4})$")


def parse_factor_unit(text: str) -> tuple[float, str, int | None]:
    """Split a factor unit ``<mass>/<denominator>`` into parts.

    Returns
    -------
    tuple
        (tonnes per the mass unit, denominator, dollar year or None). ``kg/USD_2022`` gives
        ``(0.001, 'USD_2022', 2022)``.
    """
    mass, sep, denominator = text.partition("/")
    if not sep or mass not in {"t", "kg", "g"} or not denominator:
        raise UnitError(f"factor unit '{text}' is not '<t|kg|g>/<activity unit>'")
    tonnes = {"t": 1.0, "kg": 1e-3, "g": 1e-6}[mass]
    match = _CURRENCY_YEAR.match(denominator)
    if match:
        return tonnes, denominator, int(match.group(1))
    parse_unit(denominator)
    return tonnes, denominator, None

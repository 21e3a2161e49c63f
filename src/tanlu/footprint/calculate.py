"""Answers x factors -> a footprint: one line per answer, each with its quantity, the factor
used (with its source and status) and its emissions; totals; and comparisons with sourced
averages.

Every line's emissions are ``quantity x factor_tco2e_per_unit``, the quantity in the canonical
unit of its activity and the factor the library's rows of one factor set weighted by their
GWPs (:func:`factors_for`), so that a line can be checked by hand. The totals are sums of the
lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict

from tanlu.factors.library import FactorLibrary
from tanlu.factors.lookup import lookup_factor
from tanlu.factors.regions import regions_table, resolve_province
from tanlu.footprint.inputs import Amount, FirmBills, HouseholdAnswers
from tanlu.footprint.items import CATEGORIES, ITEMS
from tanlu.footprint.library import Average, footprint_library, load_averages

# A diet average is per day; a footprint is per year.
DAYS_PER_YEAR = 365
G_PER_T = 1_000_000
KWH_PER_MWH = 1000
KG_PER_T = 1000
HOUSEHOLD_DOCUMENT = "tanlu.footprint.household/1"
FIRM_DOCUMENT = "tanlu.footprint.firm/1"
PERSON_CATEGORIES = ("home_energy", "transport", "diet", "goods")
FIRM_CATEGORIES = ("scope1", "scope2_location", "scope2_market", "scope3")


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FactorUsed(_Result):
    """One row of the factor set a line used.

    ``factor_tco2e_per_unit`` is the row's value in tCO2e per the line's canonical unit (its
    ``value`` in ``unit`` converted, times ``gwp``). For a diet line the "factor" is a sourced
    average per person (``factor_id`` is its ``average_id`` in the footprint's averages.csv).
    """

    factor_id: str
    gas: str
    value: float
    unit: str
    gwp: float
    factor_tco2e_per_unit: float
    dataset: str
    region: str
    year_start: int | None
    year_end: int | None
    source: str
    status: str
    fallback: str | None = None


class FootprintLine(_Result):
    """One line of a footprint.

    Attributes
    ----------
    line_id
        Where the answer is: ``electricity``, ``cars[0]``, ``bills[3]``, ``spend[1]`` ...
    item, category
        What it is (:data:`tanlu.footprint.items.ITEMS`, ``CATEGORIES``), named in English and
        Chinese.
    scope
        1, 2 or 3 for a firm's line; None for a household's.
    counts_in
        ``location`` or ``market``: a firm's electricity counts in one scope 2 method only;
        every other line counts in both (``both``).
    activity
        Its activity in the factor library (empty for a diet).
    quantity, unit
        The quantity in the activity's canonical unit (MWh, m3, t, km, passenger_km, CNY,
        person_year).
    quantity_given, unit_given
        As the answer wrote it.
    factors, factor_tco2e_per_unit
        The factor set used and its sum over gases [tCO2e per ``unit``].
    emissions_tco2e
        ``quantity x factor_tco2e_per_unit`` [tCO2e].
    """

    line_id: str
    item: str
    category: str
    name_en: str
    name_zh: str
    category_name_en: str
    category_name_zh: str
    scope: int | None = None
    counts_in: Literal["both", "location", "market"] = "both"
    activity: str
    quantity: float
    unit: str
    quantity_given: float | None
    unit_given: str | None
    factors: tuple[FactorUsed, ...]
    factor_tco2e_per_unit: float
    emissions_tco2e: float
    note: str | None = None


class Comparison(_Result):
    """A figure of the footprint beside a sourced average (``ratio`` = value / average)."""

    comparison_id: str
    name_en: str
    name_zh: str
    value: float
    average_value: float
    unit: str
    ratio: float
    average_id: str
    average_name_en: str
    average_name_zh: str
    average_year: int
    source: str
    status: str
    note: str


class CategoryTotal(_Result):
    """Emissions of one category [tCO2e] (per person for a household: / members)."""

    category: str
    name_en: str
    name_zh: str
    emissions_tco2e: float
    per_person_tco2e: float | None = None


class HouseholdFootprint(_Result):
    """A person's or household's footprint for one year (JSON: :meth:`to_document`).

    ``total_tco2e`` is the sum of the lines; ``per_person_tco2e`` = total / members.
    """

    document: str = HOUSEHOLD_DOCUMENT
    year: int
    province: str
    province_zh: str
    members: int
    gwp_set: str
    radiative_forcing: bool | None
    lines: tuple[FootprintLine, ...]
    by_category: tuple[CategoryTotal, ...]
    total_tco2e: float
    per_person_tco2e: float
    comparisons: tuple[Comparison, ...]
    fallbacks: tuple[str, ...]

    def to_document(self) -> dict[str, Any]:
        """The result as JSON-ready data (docs/footprint.md, "Results")."""
        return self.model_dump(mode="json")


class MarketScope2(_Result):
    """How the firm's electricity is counted market-based (GHG Protocol Scope 2 Guidance):
    certificates and green-power contracts at zero, supplier factors, the rest at the residual
    factor [MWh, tCO2e]."""

    policy: str
    electricity_mwh: float
    contractual_mwh: float
    supplier_mwh: float
    residual_mwh: float
    unallocated_mwh: float
    residual_factor: FactorUsed
    residual_tco2e: float
    supplier_tco2e: float
    market_tco2e: float


class FirmFootprint(_Result):
    """A small firm's light inventory for one year (JSON: :meth:`to_document`).

    Scope totals are sums of lines: scope 2 location-based over the lines counted in it, and
    market-based likewise (electricity counted once in each).
    """

    document: str = FIRM_DOCUMENT
    name: str
    year: int
    province: str
    province_zh: str
    employees: int | None
    revenue_cny: float | None
    gwp_set: str
    market_residual_policy: str
    lines: tuple[FootprintLine, ...]
    by_category: tuple[CategoryTotal, ...]
    scope1_tco2e: float
    scope2_location_tco2e: float
    scope2_market_tco2e: float
    scope3_tco2e: float
    total_location_tco2e: float
    total_market_tco2e: float
    scope2_market: MarketScope2 | None
    comparisons: tuple[Comparison, ...]
    fallbacks: tuple[str, ...]

    def to_document(self) -> dict[str, Any]:
        """The result as JSON-ready data (docs/footprint.md, "Results")."""
        return self.model_dump(mode="json")


def factors_for(
    library: FactorLibrary,
    activity: str,
    region: str,
    year: int,
    gwp_set: str,
    factor_kind: str = "default",
) -> tuple[tuple[FactorUsed, ...], float]:
    """The factor set an activity gets in a region and year, and its sum over gases.

    The lookup is the library's (:func:`tanlu.factors.lookup_factor`: province, then regional
    grid, then national, then default; a missing year falls back, and says so); each gas is
    weighted by its GWP in ``gwp_set`` (methane by its activity's origin, as the inventory).

    Returns
    -------
    tuple
        The rows used and ``factor_tco2e_per_unit`` [tCO2e per the activity's canonical unit].

    Raises
    ------
    FactorError
        When the library has no factor for it.
    """
    if library is footprint_library():
        # the bundled library never changes: each of its factor sets is looked up once (a
        # lookup takes tens of milliseconds; a footprint needs a dozen)
        return _bundled_factors(activity, region, year, gwp_set, factor_kind)
    return _factors(library, activity, region, year, gwp_set, factor_kind)


# bounded: a year and a province come from the caller (public routes)
@lru_cache(maxsize=4096)
def _bundled_factors(
    activity: str, region: str, year: int, gwp_set: str, factor_kind: str
) -> tuple[tuple[FactorUsed, ...], float]:
    return _factors(footprint_library(), activity, region, year, gwp_set, factor_kind)


def _factors(
    library: FactorLibrary,
    activity: str,
    region: str,
    year: int,
    gwp_set: str,
    factor_kind: str,
) -> tuple[tuple[FactorUsed, ...], float]:
    rows = lookup_factor(library, activity, region, year, factor_kind)
    origin = str(library.activity(activity)["ch4_origin"])
    gwps = library.gwps_of(
        pd.DataFrame(
            {
                "gas": rows["gas"],
                "gwp_set": gwp_set,
                "origin": [origin if gas == "CH4" else "" for gas in rows["gas"]],
            }
        )
    )
    used = tuple(
        FactorUsed(
            factor_id=str(row.factor_id),
            gas=str(row.gas),
            value=float(row.value),
            unit=str(row.unit),
            gwp=float(gwp),
            factor_tco2e_per_unit=float(row.factor_t_per_unit) * float(gwp),
            dataset=str(row.dataset),
            region=str(row.factor_region),
            year_start=int(row.year_start),
            year_end=None if pd.isna(row.year_end) else int(row.year_end),
            source=str(row.source),
            status=str(row.status),
            fallback=str(row.fallback) or None,
        )
        for row, gwp in zip(rows.itertuples(index=False), gwps, strict=True)
    )
    return used, sum(factor.factor_tco2e_per_unit for factor in used)


def _average_factor(average: Average) -> FactorUsed:
    """A diet average (gCO2e per person per day) as the factor of a line per person-year."""
    return FactorUsed(
        factor_id=average.average_id,
        gas="CO2e",
        value=average.value,
        unit=average.unit,
        gwp=1.0,
        factor_tco2e_per_unit=average.value * DAYS_PER_YEAR / G_PER_T,
        dataset="tanlu_footprint_averages",
        region=average.region,
        year_start=average.year,
        year_end=average.year,
        source=average.source,
        status=average.status,
    )


def _line(
    line_id: str,
    item: str,
    quantity: float,
    factors: tuple[FactorUsed, ...],
    factor: float,
    given: Amount | None = None,
    *,
    name_suffix: tuple[str, str] = ("", ""),
    name: tuple[str, str] | None = None,
    scope: int | None = None,
    counts_in: Literal["both", "location", "market"] = "both",
    activity: str | None = None,
    note: str | None = None,
) -> FootprintLine:
    spec = ITEMS[item]
    category_en, category_zh = CATEGORIES[spec.category]
    return FootprintLine(
        line_id=line_id,
        item=item,
        category=spec.category,
        name_en=(name[0] if name else spec.name_en) + name_suffix[0],
        name_zh=(name[1] if name else spec.name_zh) + name_suffix[1],
        category_name_en=category_en,
        category_name_zh=category_zh,
        scope=scope,
        counts_in=counts_in,
        activity=spec.activity if activity is None else activity,
        quantity=quantity,
        unit=spec.canonical_unit,
        quantity_given=given.quantity if given is not None else None,
        unit_given=given.unit if given is not None else None,
        factors=factors,
        factor_tco2e_per_unit=factor,
        emissions_tco2e=quantity * factor,
        note=note,
    )


def household_lines(
    answers: HouseholdAnswers, library: FactorLibrary | None = None
) -> list[FootprintLine]:
    """One line per answer of a household questionnaire, in the questionnaire's order.

    Raises
    ------
    FactorError
        When the library has no factor for an answer (not with the bundled library).
    """
    library = library or footprint_library()
    year, province, gwp = answers.year, answers.province, answers.gwp_set

    def factor(item: str, kind: str = "default") -> tuple[tuple[FactorUsed, ...], float]:
        return factors_for(library, ITEMS[item].activity, province, year, gwp, kind)

    lines: list[FootprintLine] = []
    if answers.electricity is not None:
        mwh = answers.electricity.per("MWh", "electricity")
        lines.append(_line("electricity", "electricity", mwh, *factor("electricity"),
                           answers.electricity))  # fmt: skip
    if answers.natural_gas is not None:
        m3 = answers.natural_gas.per("m3", "natural_gas_stationary")
        lines.append(_line("natural_gas", "natural_gas", m3, *factor("natural_gas"),
                           answers.natural_gas))  # fmt: skip
    for index, car in enumerate(answers.cars):
        given = car.fuel_used or car.distance
        note = None
        if car.l_per_100km is not None:
            note = f"litres = km x {car.l_per_100km:g} L/100 km (the answer's consumption)"
        lines.append(
            _line(f"cars[{index}]", car.item, car.quantity_per_canonical(), *factor(car.item),
                  given, name_suffix=(f" (car {index + 1})", f"（第{index + 1}辆）"), note=note)
        )  # fmt: skip
    kind = "with_rf" if answers.radiative_forcing else "default"
    for index, flight in enumerate(answers.flights):
        lines.append(
            _line(f"flights[{index}]", flight.item, flight.passenger_km(),
                  *factor(flight.item, kind), flight.distance,
                  note=f"{flight.trips} one-way flights x {flight.travellers} travellers"
                  + (", with radiative forcing" if answers.radiative_forcing else ""))
        )  # fmt: skip
    for index, trip in enumerate(answers.rail):
        lines.append(
            _line(f"rail[{index}]", "rail", trip.passenger_km(), *factor("rail"), trip.distance,
                  note=f"{trip.trips} one-way trips x {trip.travellers} travellers")
        )  # fmt: skip
    averages = load_averages()
    for index, group in enumerate(answers.diet):
        average = averages[group.average_id]
        diet = _average_factor(average)
        lines.append(
            _line(f"diet[{index}]", "diet", float(group.persons), (diet,),
                  diet.factor_tco2e_per_unit,
                  name=(average.name_en, average.name_zh),
                  note=f"{group.persons} persons x {average.value:g} gCO2e a day x "
                  f"{DAYS_PER_YEAR} days")
        )  # fmt: skip
    for index, purchase in enumerate(answers.goods):
        spec = ITEMS[purchase.item]
        cny = purchase.spend.per("CNY", spec.activity)
        lines.append(_line(f"goods[{index}]", purchase.item, cny, *factor(purchase.item),
                           purchase.spend))  # fmt: skip
    return lines


def _compare(
    comparison_id: str,
    names: tuple[str, str],
    value: float,
    average: Average,
    average_value: float | None = None,
    unit: str | None = None,
    note: str = "",
) -> Comparison:
    reference = average.value if average_value is None else average_value
    return Comparison(
        comparison_id=comparison_id,
        name_en=names[0],
        name_zh=names[1],
        value=value,
        average_value=reference,
        unit=unit or average.unit,
        ratio=value / reference,
        average_id=average.average_id,
        average_name_en=average.name_en,
        average_name_zh=average.name_zh,
        average_year=average.year,
        source=average.source,
        status=average.status,
        note=note or average.note,
    )


def _fallbacks(lines: Iterable[FootprintLine]) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for line in lines:
        for factor in line.factors:
            if factor.fallback:
                found[f"{line.line_id} ({factor.factor_id}): {factor.fallback}"] = None
    return tuple(found)


def _province_zh(province: str) -> tuple[str, str]:
    canonical = resolve_province(province) or province
    table = regions_table()
    match = table.loc[table["province_en"] == canonical, "province_zh"]
    return canonical, str(match.iloc[0]) if not match.empty else canonical


def household_footprint(
    answers: HouseholdAnswers, library: FactorLibrary | None = None
) -> HouseholdFootprint:
    """A household's (or one person's) footprint: its lines, totals by category, per person,
    and comparisons with the sourced averages (docs/footprint.md).

    Parameters
    ----------
    answers
        The questionnaire.
    library
        The factor library (default :func:`footprint_library`).
    """
    lines = household_lines(answers, library)
    members = answers.members
    total = sum(line.emissions_tco2e for line in lines)
    by_category = tuple(
        CategoryTotal(
            category=category,
            name_en=CATEGORIES[category][0],
            name_zh=CATEGORIES[category][1],
            emissions_tco2e=emissions,
            per_person_tco2e=emissions / members,
        )
        for category in PERSON_CATEGORIES
        for emissions in [sum(line.emissions_tco2e for line in lines if line.category == category)]
    )
    averages = load_averages()
    per_person = total / members
    comparisons = [
        _compare("per_person_vs_national_ghg", ("Footprint per person", "人均碳足迹"), per_person,
                 averages["cn_ghg_per_capita_2023"]),
        _compare("per_person_vs_household_footprint", ("Footprint per person", "人均碳足迹"),
                 per_person, averages["cn_household_footprint_per_capita_2012"]),
    ]  # fmt: skip
    electricity = [line for line in lines if line.item == "electricity"]
    if electricity:
        kwh = sum(line.quantity for line in electricity) * KWH_PER_MWH / members
        comparisons.append(
            _compare("electricity_per_person", ("Household electricity per person", "人均家庭用电"),
                     kwh, averages["cn_residential_electricity_per_capita_2023"])
        )  # fmt: skip
    diets = [line for line in lines if line.category == "diet"]
    if diets:
        eating = sum(line.quantity for line in diets)
        per_eater = sum(line.emissions_tco2e for line in diets) / eating
        current = averages["diet_current_adult"]
        comparisons.append(
            _compare("diet_per_person", ("Diet per person", "人均饮食碳排放"), per_eater, current,
                     current.value * DAYS_PER_YEAR / G_PER_T, "tCO2e/person/yr",
                     f"{current.value:g} gCO2e a day x {DAYS_PER_YEAR} days; {current.note}")
        )  # fmt: skip
    province, province_zh = _province_zh(answers.province)
    return HouseholdFootprint(
        year=answers.year,
        province=province,
        province_zh=province_zh,
        members=members,
        gwp_set=answers.gwp_set,
        radiative_forcing=answers.radiative_forcing,
        lines=tuple(lines),
        by_category=by_category,
        total_tco2e=total,
        per_person_tco2e=per_person,
        comparisons=tuple(comparisons),
        fallbacks=_fallbacks(lines),
    )


def firm_location_lines(
    bills: FirmBills, library: FactorLibrary | None = None
) -> list[FootprintLine]:
    """A firm's bills (scope 1 and 2, electricity location-based) and spend (scope 3), one
    line each, in the file's order.

    Raises
    ------
    FactorError
        When the library has no factor for a bill or spend (not with the bundled library).
    """
    library = library or footprint_library()
    lines: list[FootprintLine] = []
    for index, bill in enumerate(bills.bills):
        spec = ITEMS[bill.item]
        quantity = bill.amount.per(spec.canonical_unit, spec.activity)
        used, factor = factors_for(library, spec.activity, bills.province, bills.year,
                                   bills.gwp_set)  # fmt: skip
        scope = 2 if spec.category == "scope2_location" else 1
        counts_in: Literal["both", "location"] = (
            "location" if bill.kind == "electricity" else "both"
        )
        suffix = (f" ({bill.period})", f"（{bill.period}）") if bill.period else ("", "")
        lines.append(_line(f"bills[{index}]", bill.item, quantity, used, factor, bill.amount,
                           name_suffix=suffix, scope=scope, counts_in=counts_in))  # fmt: skip
    catalogue = library.activities.set_index("activity")
    for index, spend in enumerate(bills.spend):
        cny = spend.amount.per("CNY", spend.activity)
        used, factor = factors_for(library, spend.activity, bills.province, bills.year,
                                   bills.gwp_set)  # fmt: skip
        row = catalogue.loc[spend.activity]
        lines.append(
            _line(f"spend[{index}]", "firm_spend", cny, used, factor, spend.amount,
                  name=(str(row["name_en"]), str(row["name_zh"])), scope=3,
                  activity=spend.activity,
                  note=spend.note)
        )  # fmt: skip
    return lines


def market_electricity_line(
    market: MarketScope2, electricity: Sequence[FootprintLine]
) -> FootprintLine:
    """The firm's electricity counted market-based, as one line: the residual MWh at the
    residual factor plus what supplier factors cover (``emissions_tco2e`` is
    ``market.market_tco2e``; ``quantity`` every MWh of the bills)."""
    factor = market.market_tco2e / market.electricity_mwh if market.electricity_mwh > 0 else 0.0
    parts = [
        f"{market.contractual_mwh:g} MWh covered by certificates or green-power contracts at 0",
        f"{market.supplier_mwh:g} MWh at supplier factors ({market.supplier_tco2e:g} tCO2e)",
        f"{market.residual_mwh:g} MWh at the residual factor "
        f"{market.residual_factor.factor_tco2e_per_unit:g} tCO2e/MWh",
    ]
    given = [line for line in electricity if line.quantity_given is not None]
    return _line(
        "electricity_market",
        "firm_electricity_market",
        market.electricity_mwh,
        (market.residual_factor,),
        factor,
        scope=2,
        counts_in="market",
        note="; ".join(parts) + f" (bills: {', '.join(line.line_id for line in given)})",
    )


def firm_footprint(
    bills: FirmBills, lines: Sequence[FootprintLine], market: MarketScope2 | None
) -> FirmFootprint:
    """A small firm's footprint from its lines (:func:`firm_location_lines`, and the
    market-based electricity line when it has electricity), with scope totals and the
    comparison of its emissions per yuan of revenue with the national economy's.

    Parameters
    ----------
    bills
        The firm's answers.
    lines
        Every line: location-based ones and, with ``market``, the market-based electricity.
    market
        How its electricity counts market-based (None without electricity).
    """

    def total(scope: int, counts: tuple[str, ...] = ("both", "location", "market")) -> float:
        return sum(
            line.emissions_tco2e
            for line in lines
            if line.scope == scope and line.counts_in in counts
        )

    scope1 = total(1)
    scope2_location = total(2, ("both", "location"))
    scope2_market = total(2, ("both", "market"))
    scope3 = total(3)
    figures = {
        "scope1": scope1,
        "scope2_location": scope2_location,
        "scope2_market": scope2_market,
        "scope3": scope3,
    }
    by_category = tuple(
        CategoryTotal(
            category=category,
            name_en=CATEGORIES[category][0],
            name_zh=CATEGORIES[category][1],
            emissions_tco2e=figures[category],
        )
        for category in FIRM_CATEGORIES
    )
    revenue = bills.revenue.per("CNY", "") if bills.revenue is not None else None
    comparisons = []
    total_location = scope1 + scope2_location + scope3
    if revenue:
        comparisons.append(
            _compare("emissions_per_revenue", ("Emissions per yuan of revenue (location-based)",
                     "单位营业收入排放（基于位置）"), total_location * KG_PER_T / revenue,
                     load_averages()["cn_ghg_per_gdp_2023"])
        )  # fmt: skip
    province, province_zh = _province_zh(bills.province)
    return FirmFootprint(
        name=bills.name,
        year=bills.year,
        province=province,
        province_zh=province_zh,
        employees=bills.employees,
        revenue_cny=revenue,
        gwp_set=bills.gwp_set,
        market_residual_policy=bills.market_residual_policy,
        lines=tuple(lines),
        by_category=by_category,
        scope1_tco2e=scope1,
        scope2_location_tco2e=scope2_location,
        scope2_market_tco2e=scope2_market,
        scope3_tco2e=scope3,
        total_location_tco2e=total_location,
        total_market_tco2e=scope1 + scope2_market + scope3,
        scope2_market=market,
        comparisons=tuple(comparisons),
        fallbacks=_fallbacks(lines),
    )

"""Footprints of a person, a household and a small firm, on tanlu's factor library.

A household answers a questionnaire (:class:`HouseholdAnswers`: electricity at its province's
grid factor, gas, cars by fuel or distance, flights with or without radiative forcing, rail,
diet and goods by documented averages); a small firm gives its bills and spend
(:class:`FirmBills`: scope 1, scope 2 location- and market-based, scope 3 spend-based). Each
becomes lines with their factors and sources, totals and comparisons with sourced averages
(:mod:`tanlu.footprint.calculate`; docs/footprint.md). The use cases are
:mod:`tanlu.app.footprint`.
"""

from tanlu.footprint.calculate import (
    CategoryTotal,
    Comparison,
    FactorUsed,
    FirmFootprint,
    FootprintLine,
    HouseholdFootprint,
    MarketScope2,
    factors_for,
    firm_footprint,
    firm_location_lines,
    household_footprint,
    household_lines,
    market_electricity_line,
)
from tanlu.footprint.inputs import (
    Amount,
    Bill,
    Car,
    DietGroup,
    FirmBills,
    Flight,
    HouseholdAnswers,
    Instrument,
    Purchase,
    Spend,
    Trip,
)
from tanlu.footprint.items import CATEGORIES, ITEMS, Item
from tanlu.footprint.library import Average, footprint_library, load_averages

__all__ = [
    "CATEGORIES",
    "ITEMS",
    "Amount",
    "Average",
    "Bill",
    "Car",
    "CategoryTotal",
    "Comparison",
    "DietGroup",
    "FactorUsed",
    "FirmBills",
    "FirmFootprint",
    "Flight",
    "FootprintLine",
    "HouseholdAnswers",
    "HouseholdFootprint",
    "Instrument",
    "Item",
    "MarketScope2",
    "Purchase",
    "Spend",
    "Trip",
    "factors_for",
    "firm_footprint",
    "firm_location_lines",
    "footprint_library",
    "household_footprint",
    "household_lines",
    "load_averages",
    "market_electricity_line",
]

"""What a footprint is computed from: a person's or household's questionnaire and a small
firm's bills and spend, as pydantic models that check every answer when they are made.

A quantity is written with its unit, as a table ``{quantity = 2400, unit = "kWh"}`` or as text
``"2400 kWh"`` / ``"2400 度"``; the unit is any spelling :mod:`tanlu.units` knows, of the
dimension the answer needs (energy for electricity, volume or energy for gas, volume or mass
for fuel, distance for a car or a trip, money for goods and spend). Every unit is converted
once, here, to the canonical unit of the answer's activity (``*_per_canonical`` properties).
The file formats are in docs/footprint.md.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from tanlu.errors import UnitError
from tanlu.factors.library import activity_properties
from tanlu.factors.regions import resolve_province
from tanlu.footprint.items import BILLS, DIETS, FLIGHTS, GOODS, ITEMS
from tanlu.footprint.library import spend_activities
from tanlu.units import conversion_factor, describe_dimension

GwpSetName = Literal["AR5", "AR6"]
ResidualPolicyName = Literal["excluding_market_traded_non_fossil", "grid_average"]
_AMOUNT_TEXT = re.compile(r"^\s*([-+]?[0-9][0-9,]*(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?)\s*(.+?)\s*$")
Year = Annotated[int, Field(ge=1990, le=2100, description="The year the answers are for.")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Amount(_Strict):
    """A quantity with its unit, as the person wrote it.

    Written as ``{quantity = 2400, unit = "kWh"}`` or as the text ``"2400 kWh"``.
    """

    quantity: float = Field(description="How much, in ``unit``; not negative.")
    unit: str = Field(min_length=1, description="Any unit spelling tanlu knows (kWh, 度, m3, L).")

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            match = _AMOUNT_TEXT.match(value)
            if match is None:
                raise ValueError(f"'{value}' is not a quantity with its unit, e.g. '2400 kWh'")
            return {"quantity": float(match.group(1).replace(",", "")), "unit": match.group(2)}
        return value

    @field_validator("quantity")
    @classmethod
    def _not_negative(cls, value: float) -> float:
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{value} is not a finite number of at least 0")
        return value

    def per(self, canonical_unit: str, activity: str) -> float:
        """The quantity in ``canonical_unit`` (through the activity's density or calorific
        value where the dimensions differ).

        Raises
        ------
        ValueError
            Naming the unit and the dimension the answer needs.
        """
        try:
            return self.quantity * conversion_factor(
                self.unit, canonical_unit, activity_properties().get(activity)
            )
        except UnitError as error:
            raise ValueError(str(error)) from None


def _converted(amount: Amount | None, item: str, field: str) -> float | None:
    """``amount`` in the canonical unit of ``item``; a bad unit names ``field``."""
    if amount is None:
        return None
    spec = ITEMS[item]
    try:
        return amount.per(spec.canonical_unit, spec.activity)
    except ValueError as error:
        raise ValueError(f"{field}: {error}") from None


def _distance_km(amount: Amount, field: str) -> float:
    try:
        return amount.quantity * conversion_factor(amount.unit, "km")
    except UnitError:
        raise ValueError(
            f"{field}: '{amount.unit}' measures {_dimension(amount.unit)}, but a distance is "
            "measured in km"
        ) from None


def _dimension(unit: str) -> str:
    try:
        return describe_dimension(unit)
    except UnitError:
        return "nothing tanlu knows"


def _known_province(value: str) -> str:
    if resolve_province(value) is None:
        raise ValueError(f"unknown province '{value}' (a province of mainland China, e.g. 广东)")
    return value


Province = Annotated[
    str,
    AfterValidator(_known_province),
    Field(description="A province of mainland China in Chinese or English (广东, Guangdong)."),
]


class Car(_Strict):
    """One car of the household: the fuel it burned, or the distance it ran.

    Give ``fuel_used`` (litres or kg of petrol or diesel), or ``distance`` with, optionally,
    the car's own consumption ``l_per_100km`` (then the litres are distance x consumption);
    a distance alone is counted at the UK DESNZ average car's factor per km.
    """

    fuel: Literal["petrol", "diesel", "hybrid", "unknown"]
    fuel_used: Amount | None = None
    distance: Amount | None = None
    l_per_100km: float | None = Field(default=None, gt=0, le=100)

    @model_validator(mode="after")
    def _one_way(self) -> Car:
        if (self.fuel_used is None) == (self.distance is None):
            raise ValueError("give either fuel_used or distance, not both and not neither")
        by_fuel = self.fuel_used is not None or self.l_per_100km is not None
        if by_fuel and self.fuel not in ("petrol", "diesel"):
            raise ValueError(
                f"a '{self.fuel}' car is counted by distance alone (fuel_used and "
                "l_per_100km need petrol or diesel)"
            )
        self.quantity_per_canonical()
        return self

    @property
    def item(self) -> str:
        """The item of its line."""
        if self.fuel_used is not None or self.l_per_100km is not None:
            return f"car_fuel_{self.fuel}"
        return f"car_km_{self.fuel}"

    def quantity_per_canonical(self) -> float:
        """The quantity of its line in the item's canonical unit (t of fuel, or km)."""
        if self.fuel_used is not None:
            return _converted(self.fuel_used, self.item, "fuel_used") or 0.0
        assert self.distance is not None
        km = _distance_km(self.distance, "distance")
        if self.l_per_100km is None:
            return km
        litres = Amount(quantity=km * self.l_per_100km / 100, unit="L")
        return _converted(litres, self.item, "l_per_100km") or 0.0


class Trip(_Strict):
    """Journeys of one kind: ``distance`` one way, taken ``trips`` times by ``travellers``
    people (passenger-km = distance x trips x travellers)."""

    distance: Amount
    trips: int = Field(default=1, ge=0)
    travellers: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _is_distance(self) -> Trip:
        _distance_km(self.distance, "distance")
        return self

    def passenger_km(self) -> float:
        """Passenger-kilometres [passenger_km]."""
        return _distance_km(self.distance, "distance") * self.trips * self.travellers


class Flight(Trip):
    """Flights of one kind (``haul``); see :class:`Trip`."""

    haul: Literal["domestic", "short_haul", "long_haul", "international"]

    @property
    def item(self) -> str:
        """The item of its line."""
        return FLIGHTS[self.haul]


class DietGroup(_Strict):
    """``persons`` members who eat the diet ``kind`` (docs/footprint.md, "Diet")."""

    kind: Literal[
        "average",
        "average_man",
        "average_woman",
        "low_carbon",
        "low_carbon_man",
        "low_carbon_woman",
    ]
    persons: int = Field(ge=1)

    @property
    def average_id(self) -> str:
        """The diet's row in averages.csv."""
        return DIETS[self.kind]


class Purchase(_Strict):
    """Money spent in the year on one kind of goods (spend-based, US EPA factors)."""

    kind: Literal[
        "clothing",
        "footwear",
        "phones",
        "computers",
        "audio_video",
        "small_appliances",
        "major_appliances",
        "furniture",
        "toiletries",
        "toys",
    ]
    spend: Amount

    @model_validator(mode="after")
    def _is_money(self) -> Purchase:
        _converted(self.spend, self.item, "spend")
        return self

    @property
    def item(self) -> str:
        """The item of its line."""
        return GOODS[self.kind]


class HouseholdAnswers(_Strict):
    """A person's or household's answers for one year (docs/footprint.md).

    ``members`` is 1 for a person alone. Every part but the year, the province and the members
    may be left out; what is left out is not counted (the result lists what was counted).
    """

    year: Year
    province: Province
    members: int = Field(default=1, ge=1, le=50, description="People in the household.")
    electricity: Amount | None = None
    natural_gas: Amount | None = None
    cars: list[Car] = Field(default_factory=list)
    flights: list[Flight] = Field(default_factory=list)
    radiative_forcing: bool | None = Field(
        default=None,
        description="Count flights' non-CO2 effects (DESNZ 'with RF' factors): required, true "
        "or false, when flights are given.",
    )
    rail: list[Trip] = Field(default_factory=list)
    diet: list[DietGroup] = Field(default_factory=list)
    goods: list[Purchase] = Field(default_factory=list)
    gwp_set: GwpSetName = "AR5"

    @field_validator("electricity")
    @classmethod
    def _electricity(cls, value: Amount | None) -> Amount | None:
        _converted(value, "electricity", "electricity")
        return value

    @field_validator("natural_gas")
    @classmethod
    def _gas(cls, value: Amount | None) -> Amount | None:
        _converted(value, "natural_gas", "natural_gas")
        return value

    @model_validator(mode="after")
    def _whole(self) -> HouseholdAnswers:
        if self.flights and self.radiative_forcing is None:
            raise ValueError(
                "radiative_forcing: say true or false (count the non-CO2 effects of flights, "
                "the DESNZ 'with RF' factors, or not) when flights are given"
            )
        eating = sum(group.persons for group in self.diet)
        if eating > self.members:
            raise ValueError(
                f"diet: {eating} persons eat a diet, but the household has {self.members} members"
            )
        return self


class Bill(_Strict):
    """One bill of a small firm: what it bought or burned, and how much."""

    kind: Literal[
        "electricity",
        "heat",
        "natural_gas",
        "diesel_generator",
        "diesel_vehicles",
        "petrol_vehicles",
    ]
    amount: Amount
    period: str | None = Field(default=None, description="The bill's period, as text (shown).")

    @model_validator(mode="after")
    def _unit(self) -> Bill:
        _converted(self.amount, self.item, "amount")
        return self

    @property
    def item(self) -> str:
        """The item of its line."""
        return BILLS[self.kind]


class Spend(_Strict):
    """Money a small firm spent with one kind of supplier: a ``spend_*`` activity of the factor
    library (``tanlu factors list``), e.g. ``spend_naics_541511`` or ``spend_air_travel``."""

    activity: Annotated[str, Field(pattern=r"^spend_[a-z0-9_]+$")]
    amount: Amount
    note: str | None = None

    @field_validator("activity")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in spend_activities():
            raise ValueError(
                f"unknown spend activity '{value}' (one of the spend_* activities of "
                "`tanlu factors list`)"
            )
        return value

    @model_validator(mode="after")
    def _is_money(self) -> Spend:
        try:
            self.amount.per("CNY", self.activity)
        except ValueError as error:
            raise ValueError(f"amount: {error}") from None
        return self


class Instrument(_Strict):
    """A contractual instrument for the firm's electricity of the year: green electricity
    certificates (``gec``), a green-power contract, or a supplier's own emission factor."""

    kind: Literal["gec", "green_power_contract", "supplier_factor"]
    energy: Amount
    supplier_factor_tco2e_per_mwh: float | None = Field(default=None, ge=0)
    instrument_id: str | None = None

    @model_validator(mode="after")
    def _checked(self) -> Instrument:
        _converted(self.energy, "firm_electricity", "energy")
        if (self.kind == "supplier_factor") != (self.supplier_factor_tco2e_per_mwh is not None):
            raise ValueError(
                "supplier_factor_tco2e_per_mwh is given with kind 'supplier_factor', and only then"
            )
        return self

    def energy_mwh(self) -> float:
        """The electricity it covers [MWh]."""
        return _converted(self.energy, "firm_electricity", "energy") or 0.0


class FirmBills(_Strict):
    """A small firm's light inventory for one year: its bills (scope 1 and 2), its spend (scope
    3, spend-based) and its electricity instruments (market-based scope 2)."""

    name: str = Field(min_length=1)
    year: Year
    province: Province
    employees: int | None = Field(default=None, ge=1)
    revenue: Amount | None = Field(default=None, description="Revenue of the year (money).")
    bills: list[Bill] = Field(default_factory=list)
    spend: list[Spend] = Field(default_factory=list)
    instruments: list[Instrument] = Field(default_factory=list)
    market_residual_policy: ResidualPolicyName = "excluding_market_traded_non_fossil"
    gwp_set: GwpSetName = "AR5"

    @field_validator("revenue")
    @classmethod
    def _revenue(cls, value: Amount | None) -> Amount | None:
        if value is not None:
            try:
                value.per("CNY", "")
            except ValueError as error:
                raise ValueError(f"revenue: {error}") from None
        return value

    @model_validator(mode="after")
    def _something(self) -> FirmBills:
        if not self.bills and not self.spend:
            raise ValueError("bills, spend: give at least one bill or one line of spend")
        if self.instruments and not any(bill.kind == "electricity" for bill in self.bills):
            raise ValueError("instruments: there is no electricity bill for them to cover")
        return self

"""Footprints in the service (docs/footprint.md, "Footprint page and API"): a household's
footprint from its questionnaire and a small firm's light inventory from its bills, computed
and returned, nothing stored; and the words and choices of the footprint page
(``/app/footprint.html``). Public routes: no sign-in. Each calls a use case of
:mod:`tanlu.app.footprint`.

A body is checked by :func:`tanlu.app.footprint.answers_from_json`: what its JSON schema says
is wrong (a wrong JSON type, a missing or misspelt field, a choice that is not one) is FastAPI's
``422`` with the list of fields; what no schema says (an unknown province, a unit of the wrong
dimension, a number beyond what answers may hold) a ``422`` whose detail names each field and
its reason as text.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import FastAPI, HTTPException
from pydantic import ValidatorFunctionWrapHandler, WrapValidator

from tanlu.app.footprint import (
    FirmBills,
    FirmFootprint,
    HouseholdAnswers,
    HouseholdFootprint,
    answers_from_json,
    calculate_firm_footprint,
    calculate_household_footprint,
)
from tanlu.app.footprint_words import footprint_page
from tanlu.errors import InputError
from tanlu.service.deps import access

FOOTPRINT = "/api/footprint"


def _refusal(error: InputError) -> str:
    """The issues of refused answers as one text: ``field: reason; field: reason``."""
    return "; ".join(
        f"{issue.column}: {issue.reason}" if issue.column else issue.reason
        for issue in error.issues
    )


def _json_answers(model: type[HouseholdAnswers] | type[FirmBills]) -> WrapValidator:
    """A body validated by :func:`answers_from_json` (its schema stays the model's)."""

    def validate(value: Any, _handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return answers_from_json(model, value)
        except InputError as error:
            raise HTTPException(422, _refusal(error)) from None

    return WrapValidator(validate)


HouseholdBody = Annotated[HouseholdAnswers, _json_answers(HouseholdAnswers)]
FirmBody = Annotated[FirmBills, _json_answers(FirmBills)]


def add_footprint_routes(app: FastAPI) -> None:
    """The footprint routes, public, on ``app``."""

    @app.post(f"{FOOTPRINT}/household", openapi_extra=access("public"))
    def household(body: HouseholdBody) -> HouseholdFootprint:
        """A person's or household's footprint for one year from its questionnaire: every line
        with its factor and source, totals by category, total and per person [tCO2e], and
        comparisons with sourced averages. Nothing is stored."""
        return calculate_household_footprint(body)

    @app.post(f"{FOOTPRINT}/firm", openapi_extra=access("public"))
    def firm(body: FirmBody) -> FirmFootprint:
        """A small firm's light inventory for one year from its bills, spend and electricity
        instruments: scope 1, scope 2 location- and market-based, scope 3 spend-based [tCO2e],
        every line with its factor and source. Nothing is stored."""
        return calculate_firm_footprint(body)

    @app.get(f"{FOOTPRINT}/words/{{language}}", openapi_extra=access("public"))
    def words(language: Literal["en", "zh"]) -> dict[str, Any]:
        """The footprint page's words in a language (``en`` or ``zh``) and the questionnaire's
        choices (provinces, cars' fuels, flights, diets, goods), each with its name."""
        return footprint_page(language)

"""The footprint use cases: a person's or household's footprint from a questionnaire and a small
firm's light inventory from its bills and spend (``tanlu footprint ...``; docs/footprint.md).

Each takes the validated answers (:class:`tanlu.footprint.HouseholdAnswers`,
:class:`tanlu.footprint.FirmBills`: pydantic models, so a web route takes them as its body) and
returns one typed, JSON-ready result (``to_document()``). The ``*_from_file`` functions read a
TOML or JSON file first, every bad answer an :class:`tanlu.errors.InputError` naming the file,
the line (TOML), the field and the reason. Nothing is written anywhere.

A firm's market-based scope 2 is the inventory's (:func:`tanlu.inventory.instruments.
calculate_market_based_scope2`): its instruments claimed once, the rest at the residual factor
of its ``market_residual_policy`` (docs/methods.md, section 5).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from types import UnionType
from typing import Any, TypeVar, Union, get_args, get_origin

import pandas as pd
from pydantic import BaseModel, ValidationError
from pydantic_core import InitErrorDetails

from tanlu.errors import InputError, InputIssue
from tanlu.factors.library import FactorLibrary
from tanlu.footprint import (
    FirmBills,
    FirmFootprint,
    HouseholdAnswers,
    HouseholdFootprint,
    MarketScope2,
    factors_for,
    firm_footprint,
    firm_location_lines,
    footprint_library,
    household_footprint,
    market_electricity_line,
)
from tanlu.inventory.instruments import calculate_market_based_scope2
from tanlu.project import MarketResidualPolicy, toml_key_lines

__all__ = [
    "FirmBills",
    "FirmFootprint",
    "HouseholdAnswers",
    "HouseholdFootprint",
    "answers_from_json",
    "calculate_firm_footprint",
    "calculate_household_footprint",
    "firm_footprint_from_file",
    "household_footprint_from_file",
    "read_firm_bills",
    "read_household_answers",
]

Answers = TypeVar("Answers", bound=BaseModel)
# The firm's one "site" in the market-based allocation.
FIRM_SITE = "firm"
_FIELD_PREFIX = re.compile(r"^([A-Za-z_][\w]*(?:\[\d+\])?(?:, [A-Za-z_]\w*)*): ")
_TOML_LINE = re.compile(r"\(at line (\d+)")


def calculate_household_footprint(
    answers: HouseholdAnswers, library: FactorLibrary | None = None
) -> HouseholdFootprint:
    """A person's or household's footprint for one year.

    Parameters
    ----------
    answers
        The questionnaire (already checked: a pydantic model).
    library
        The factor library (default: the bundled one with the footprint's goods factors).

    Returns
    -------
    HouseholdFootprint
        Every line (quantity, unit, factor with its id, value, unit, source and status,
        emissions [tCO2e]), totals by category, total and per person [tCO2e], and comparisons
        with sourced averages.
    """
    return household_footprint(answers, library)


def calculate_firm_footprint(
    bills: FirmBills, library: FactorLibrary | None = None
) -> FirmFootprint:
    """A small firm's light inventory for one year: scope 1, scope 2 location- and
    market-based, scope 3 spend-based [tCO2e], each line with its factor and source, and its
    emissions per yuan of revenue beside the national economy's.

    Parameters
    ----------
    bills
        The firm's bills, spend and electricity instruments (a pydantic model).
    library
        The factor library (default: the bundled one with the footprint's goods factors).
    """
    library = library or footprint_library()
    lines = firm_location_lines(bills, library)
    electricity = [line for line in lines if line.item == "firm_electricity"]
    market = None
    if electricity:
        market = _market_scope2(bills, library, sum(line.quantity for line in electricity))
        lines.append(market_electricity_line(market, electricity))
    return firm_footprint(bills, lines, market)


def _market_scope2(bills: FirmBills, library: FactorLibrary, mwh: float) -> MarketScope2:
    """The firm's electricity market-based, by the inventory's allocation of instruments."""
    policy = MarketResidualPolicy(bills.market_residual_policy)
    kind = (
        "excluding_market_traded_non_fossil"
        if policy is MarketResidualPolicy.EXCLUDING_MARKET_TRADED_NON_FOSSIL
        else "default"
    )
    used, residual_factor = factors_for(
        library, "electricity", "China", bills.year, bills.gwp_set, kind
    )
    instruments = pd.DataFrame(
        {
            "instrument_id": [
                item.instrument_id or f"instruments[{index}]"
                for index, item in enumerate(bills.instruments)
            ],
            "kind": [item.kind for item in bills.instruments],
            "vintage_year": [bills.year] * len(bills.instruments),
            "energy_mwh": [item.energy_mwh() for item in bills.instruments],
            "site": [None] * len(bills.instruments),
            "market": ["China"] * len(bills.instruments),
            "supplier_factor_tco2e_per_mwh": [
                item.supplier_factor_tco2e_per_mwh for item in bills.instruments
            ],
        }
    ).astype({"energy_mwh": "float64", "supplier_factor_tco2e_per_mwh": "float64"})
    consumption = pd.DataFrame({"site": [FIRM_SITE], "electricity_mwh": [mwh]})
    result = calculate_market_based_scope2(consumption, instruments, bills.year, residual_factor)
    row = result.by_site.iloc[0]
    residual_tco2e = float(row["residual_mwh"]) * residual_factor
    market_tco2e = float(row["market_tco2e"])
    return MarketScope2(
        policy=policy.value,
        electricity_mwh=mwh,
        contractual_mwh=float(row["contractual_mwh"]),
        supplier_mwh=float(row["supplier_mwh"]),
        residual_mwh=float(row["residual_mwh"]),
        unallocated_mwh=float(result.unallocated["unallocated_mwh"].sum()),
        residual_factor=used[0]
        if len(used) == 1
        else used[0].model_copy(update={"factor_tco2e_per_unit": residual_factor, "gas": "CO2e"}),
        residual_tco2e=residual_tco2e,
        supplier_tco2e=market_tco2e - residual_tco2e,
        market_tco2e=market_tco2e,
    )


def read_household_answers(path: Path, display: str | None = None) -> HouseholdAnswers:
    """A household questionnaire from a TOML or JSON file (docs/footprint.md).

    Raises
    ------
    InputError
        Every bad answer, naming the file, the line (TOML), the field and the reason.
    """
    return _read(path, display or str(path), HouseholdAnswers)


def read_firm_bills(path: Path, display: str | None = None) -> FirmBills:
    """A small firm's bills, spend and instruments from a TOML or JSON file (docs/footprint.md).

    Raises
    ------
    InputError
        Every bad entry, naming the file, the line (TOML), the field and the reason.
    """
    return _read(path, display or str(path), FirmBills)


def household_footprint_from_file(path: Path) -> HouseholdFootprint:
    """:func:`read_household_answers`, then :func:`calculate_household_footprint`."""
    return calculate_household_footprint(read_household_answers(path))


def firm_footprint_from_file(path: Path) -> FirmFootprint:
    """:func:`read_firm_bills`, then :func:`calculate_firm_footprint`."""
    return calculate_firm_footprint(read_firm_bills(path))


def _read(path: Path, display: str, model: type[Answers]) -> Answers:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError([InputIssue(display, None, None, "no such file")]) from None
    except (OSError, UnicodeDecodeError) as error:
        reason = "not UTF-8 text" if isinstance(error, UnicodeDecodeError) else str(error)
        raise InputError([InputIssue(display, None, None, reason)]) from None
    is_json = path.suffix.lower() == ".json"
    try:
        raw: Any = json.loads(text) if is_json else tomllib.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(
            [InputIssue(display, error.lineno, None, f"not JSON: {error.msg}")]
        ) from None
    except tomllib.TOMLDecodeError as error:
        found = _TOML_LINE.search(str(error))
        line = int(found.group(1)) if found else None
        raise InputError([InputIssue(display, line, None, f"not TOML: {error}")]) from None
    if not isinstance(raw, dict):
        raise InputError([InputIssue(display, None, None, "not a table of answers")])
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        lines = {} if is_json else toml_key_lines(text)
        raise InputError(validation_issues(error, display, lines)) from None


def validation_issues(
    error: ValidationError,
    display: str,
    lines: dict[tuple[str | int, ...], int] | None = None,
) -> list[InputIssue]:
    """A pydantic error as one issue per problem: the file, the line where the TOML text
    writes the field (or its table), the field's path (``cars[0].fuel_used``) and the reason.

    A check over a whole entry names its field at the start of its message (``fuel_used:
    ...``); that field is moved into the path.
    """
    issues = []
    for item in error.errors(include_url=False):
        path: list[str | int] = [p for p in item["loc"] if not isinstance(p, str) or p[:1] != "_"]
        # a union's branch names (``Amount``, ``str``) are not fields
        path = [p for p in path if not (isinstance(p, str) and p[:1].isupper())]
        reason = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "missing":
            reason = "is required but missing"
        elif item["type"] == "extra_forbidden":
            reason = "is not a field here (misspelt?)"
        leading = _FIELD_PREFIX.match(reason)
        if leading and item["type"] == "value_error":
            named = leading.group(1)
            extra = [int(p) if p.isdigit() else p for p in re.split(r"[\[\]]+", named) if p]
            if "," not in named and path[-len(extra) :] != extra:
                path += extra
            reason = reason[leading.end() :] if "," not in named else reason
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
        issues.append(
            InputIssue(display, _line_of(tuple(path), lines or {}), where or None, reason)
        )
    return issues


def _line_of(path: tuple[str | int, ...], lines: dict[tuple[str | int, ...], int]) -> int | None:
    """The line of the longest prefix of ``path`` the text writes (of an array of tables: its
    first entry's)."""
    for end in range(len(path), 0, -1):
        if path[:end] in lines:
            return lines[path[:end]]
        within = [line for key, line in lines.items() if key[:end] == path[:end]]
        if within:
            return min(within)
    return None


# What a web request's answers may hold (:func:`answers_from_json`). No household's or small
# firm's answer comes near these; they keep every product of answers finite and a request's
# work bounded (a line takes tens of milliseconds to look up its factors).
MAX_ANSWER_NUMBER = 1e15
MAX_ANSWER_ENTRIES = 50
MAX_ANSWER_TEXT = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def answers_from_json(model: type[Answers], data: Any, display: str = "body") -> Answers:
    """Answers from JSON a client sent (the web service's body): JSON's types only, checked
    before pydantic would convert them, then the answers' own checks.

    A number takes a JSON number (not text, not true or false), a flag true or false (not 0
    or 1), a table (a quantity ``{"quantity": 2400, "unit": "kWh"}``) a JSON object (not the
    text ``"2400 kWh"`` a file may hold).

    Raises
    ------
    pydantic.ValidationError
        What the answers' JSON schema says is wrong: a wrong JSON type, a missing or misspelt
        field, a choice that is not one, a number out of the schema's range.
    InputError
        What no schema says, each issue naming the field (``cars[0].fuel_used``) and the
        reason: an unknown province, a unit of the wrong dimension, a car with both fuel and
        distance, flights without ``radiative_forcing``; a number larger than
        :data:`MAX_ANSWER_NUMBER`, a list of more than :data:`MAX_ANSWER_ENTRIES` entries, a
        text longer than :data:`MAX_ANSWER_TEXT` characters or with control characters.
    """
    wrong = list(_json_type_errors(model, data, ()))
    if wrong:
        raise ValidationError.from_exception_data(model.__name__, wrong)
    too_much = [
        InputIssue(display, None, _field_path(path) or None, reason)
        for path, reason in _beyond_limits(data, ())
    ]
    if too_much:
        raise InputError(too_much)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        if any(item["type"] != "value_error" for item in error.errors()):
            raise
        raise InputError(validation_issues(error, display)) from None


def _field_path(path: tuple[str | int, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def _json_type_errors(
    annotation: Any, value: Any, path: tuple[str | int, ...]
) -> Iterator[InitErrorDetails]:
    """The values of ``value`` whose JSON type is not the one its field's annotation needs."""
    if value is None:
        return
    kinds = [annotation]
    if get_origin(annotation) in (Union, UnionType):
        kinds = [kind for kind in get_args(annotation) if kind is not type(None)]
    if len(kinds) != 1:
        return
    kind = kinds[0]
    if kind is bool:
        if not isinstance(value, bool):
            yield InitErrorDetails(type="bool_type", loc=path, input=value)
    elif kind in (int, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            yield InitErrorDetails(type=f"{kind.__name__}_type", loc=path, input=value)
    elif get_origin(kind) is list:
        if isinstance(value, list):
            for index, item in enumerate(value):
                yield from _json_type_errors(get_args(kind)[0], item, (*path, index))
    elif isinstance(kind, type) and issubclass(kind, BaseModel):
        if not isinstance(value, dict):
            yield InitErrorDetails(type="dict_type", loc=path, input=value)
            return
        for name, field in kind.model_fields.items():
            if name in value:
                yield from _json_type_errors(field.annotation, value[name], (*path, name))


def _beyond_limits(
    value: Any, path: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every number, list and text of ``value`` beyond what a request's answers may hold."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _beyond_limits(item, (*path, str(key)))
    elif isinstance(value, list):
        if len(value) > MAX_ANSWER_ENTRIES:
            yield path, f"{len(value)} entries; at most {MAX_ANSWER_ENTRIES} are taken"
        for index, item in enumerate(value[:MAX_ANSWER_ENTRIES]):
            yield from _beyond_limits(item, (*path, index))
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if not abs(value) <= MAX_ANSWER_NUMBER:
            yield (
                path,
                f"{_shown(value)} is more than answers may hold (at most {MAX_ANSWER_NUMBER:g})",
            )
    elif isinstance(value, str):
        if len(value) > MAX_ANSWER_TEXT:
            yield path, f"a text of {len(value)} characters; at most {MAX_ANSWER_TEXT}"
        elif _CONTROL.search(value):
            yield path, "holds a control character (a line break, a tab, NUL ...)"


def _shown(number: float) -> str:
    try:
        return f"{number:.6g}"
    except OverflowError:  # an integer beyond any float
        return f"a number of {len(str(abs(int(number))))} digits"

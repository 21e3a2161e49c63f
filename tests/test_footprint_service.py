"""Footprints in the service (docs/footprint.md, "Footprint page and API"): the public routes
answer what the use cases and the CLI compute, store nothing, and refuse every kind of bad
body with a 422 that names the field and the reason, never a server error."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, func, select

from tanlu.app.footprint import (
    MAX_ANSWER_ENTRIES,
    calculate_household_footprint,
    firm_footprint_from_file,
    household_footprint_from_file,
    read_firm_bills,
    read_household_answers,
)
from tanlu.factors.regions import resolve_province
from tanlu.footprint import Car, DietGroup, Flight, HouseholdAnswers, Purchase
from tanlu.service import create_app
from tanlu.store.database import open_engine, upgrade

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "footprint"
HOUSEHOLD, FIRM = "/api/footprint/household", "/api/footprint/firm"
# 2,400 kWh in Guangdong, 2023, two people (the 2022 factor, the latest before 2023)
SMALL: dict[str, Any] = {
    "year": 2023,
    "province": "广东",
    "members": 2,
    "electricity": {"quantity": 2400, "unit": "kWh"},
}
FIRM_BODY: dict[str, Any] = {
    "name": "Studio",
    "year": 2023,
    "province": "浙江",
    "bills": [{"kind": "electricity", "amount": {"quantity": 10, "unit": "MWh"}}],
}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Any]]:
    database = tmp_path_factory.mktemp("footprint") / "tanlu.db"
    engine = open_engine(f"sqlite:///{database}")
    upgrade(engine)
    with TestClient(create_app(engine, job_threads=0)) as client:
        yield client, engine
    engine.dispose()


@pytest.fixture
def client(service: tuple[TestClient, Any]) -> TestClient:
    return service[0]


def _as_json(path: Path, read: Callable[[Path], Any]) -> dict[str, Any]:
    """An example's answers as the API takes them (every quantity as quantity and unit)."""
    data: dict[str, Any] = read(path).model_dump(mode="json")
    return data


def test_the_household_example_answers_what_the_use_case_and_the_cli_compute(
    client: TestClient,
) -> None:
    path = EXAMPLES / "household.toml"
    answer = client.post(HOUSEHOLD, json=_as_json(path, read_household_answers))
    assert answer.status_code == 200, answer.text
    assert answer.json() == household_footprint_from_file(path).to_document()
    cli = subprocess.run(
        [sys.executable, "-m", "tanlu.cli", "footprint", "person", str(path), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert answer.json() == json.loads(cli.stdout)
    # examples/footprint/README.md: 7.818 tCO2e, 2.606 per person (three people)
    assert answer.json()["total_tco2e"] == pytest.approx(7.818, abs=5e-4)
    assert answer.json()["per_person_tco2e"] == pytest.approx(7.818 / 3, abs=5e-4)


def test_the_firm_example_answers_what_the_use_case_computes(client: TestClient) -> None:
    path = EXAMPLES / "small-firm.toml"
    answer = client.post(FIRM, json=_as_json(path, read_firm_bills))
    assert answer.status_code == 200, answer.text
    assert answer.json() == firm_footprint_from_file(path).to_document()
    # examples/footprint/README.md: 34.519 location-based, 29.619 market-based
    assert answer.json()["total_location_tco2e"] == pytest.approx(34.519, abs=5e-4)
    assert answer.json()["total_market_tco2e"] == pytest.approx(29.619, abs=5e-4)


def test_a_small_household_by_hand(client: TestClient) -> None:
    answer = client.post(HOUSEHOLD, json=SMALL)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    (line,) = result["lines"]
    # 2,400 kWh = 2.4 MWh x 0.4403 tCO2/MWh (Guangdong, 2022) = 1.05672 t; / 2 = 0.52836
    assert line["quantity"] == pytest.approx(2.4)
    assert line["factor_tco2e_per_unit"] == pytest.approx(0.4403)
    assert result["total_tco2e"] == pytest.approx(1.05672, rel=1e-12)
    assert result["per_person_tco2e"] == pytest.approx(0.52836, rel=1e-12)
    expected = calculate_household_footprint(HouseholdAnswers.model_validate(SMALL))
    assert result == expected.to_document()


def test_a_footprint_is_public_and_stores_nothing(service: tuple[TestClient, Any]) -> None:
    client, engine = service
    tables = MetaData()
    tables.reflect(engine)

    def rows() -> dict[str, int]:
        with engine.connect() as connection:
            return {
                name: connection.execute(select(func.count()).select_from(table)).scalar_one()
                for name, table in tables.tables.items()
            }

    before = rows()
    anonymous = TestClient(client.app, base_url="https://testserver")
    assert anonymous.post(HOUSEHOLD, json=SMALL).status_code == 200
    assert anonymous.post(FIRM, json=FIRM_BODY).status_code == 200
    assert anonymous.post(HOUSEHOLD, json={**SMALL, "province": "x"}).status_code == 422
    assert rows() == before
    assert "set-cookie" not in anonymous.post(HOUSEHOLD, json=SMALL).headers


def _with(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**body, **changes}


CAR = {"fuel": "petrol", "fuel_used": {"quantity": 700, "unit": "L"}}
FLIGHT = {"haul": "domestic", "distance": {"quantity": 1900, "unit": "km"}}
# (body, the field the refusal names): a list of fields (FastAPI's) or a text naming it
BAD_HOUSEHOLDS: list[tuple[str, dict[str, Any], str]] = [
    ("negative", _with(SMALL, electricity={"quantity": -1, "unit": "kWh"}), "electricity.quantity"),
    ("unknown province", _with(SMALL, province="Atlantis"), "province"),
    ("hostile province", _with(SMALL, province="<img src=x onerror=alert(1)>"), "province"),
    ("wrong unit", _with(SMALL, electricity={"quantity": 5, "unit": "m3"}), "electricity"),
    ("unknown unit", _with(SMALL, natural_gas={"quantity": 5, "unit": "bushel"}), "natural_gas"),
    (
        "a distance in kg",
        _with(SMALL, rail=[{"distance": {"quantity": 5, "unit": "kg"}}]),
        "rail[0].distance",
    ),
    ("missing year", {k: v for k, v in SMALL.items() if k != "year"}, "year"),
    ("missing unit", _with(SMALL, electricity={"quantity": 5}), "electricity.unit"),
    ("misspelt field", _with(SMALL, electricty={"quantity": 5, "unit": "kWh"}), "electricty"),
    ("members as text", _with(SMALL, members="2"), "members"),
    ("members as true", _with(SMALL, members=True), "members"),
    ("members 2.5", _with(SMALL, members=2.5), "members"),
    ("members 0", _with(SMALL, members=0), "members"),
    ("flag as 0", _with(SMALL, flights=[FLIGHT], radiative_forcing=0), "radiative_forcing"),
    ("flag as text", _with(SMALL, flights=[FLIGHT], radiative_forcing="yes"), "radiative_forcing"),
    ("no flag with flights", _with(SMALL, flights=[FLIGHT]), "radiative_forcing"),
    (
        "quantity as text",
        _with(SMALL, electricity={"quantity": "2400", "unit": "kWh"}),
        "electricity.quantity",
    ),
    ("quantity as a text amount", _with(SMALL, electricity="2400 kWh"), "electricity"),
    ("a haul that is none", _with(SMALL, flights=[{**FLIGHT, "haul": "orbit"}]), "flights[0].haul"),
    (
        "a car with fuel and distance",
        _with(SMALL, cars=[{**CAR, "distance": {"quantity": 5, "unit": "km"}}]),
        "cars[0]",
    ),
    ("a hybrid by litres", _with(SMALL, cars=[{**CAR, "fuel": "hybrid"}]), "cars[0]"),
    (
        "diet of more than the members",
        _with(SMALL, diet=[{"kind": "average", "persons": 3}]),
        "diet",
    ),
    (
        "huge quantity",
        _with(SMALL, electricity={"quantity": 1e300, "unit": "kWh"}),
        "electricity.quantity",
    ),
    (
        "huge integer",
        _with(SMALL, rail=[{"distance": {"quantity": 1, "unit": "km"}, "trips": 10**400}]),
        "rail[0].trips",
    ),
    ("too many cars", _with(SMALL, cars=[CAR] * (MAX_ANSWER_ENTRIES + 1)), "cars"),
    ("NUL in the province", _with(SMALL, province="广东\x00"), "province"),
    (
        "line break in a unit",
        _with(SMALL, electricity={"quantity": 1, "unit": "kWh\n"}),
        "electricity.unit",
    ),
    ("a long text", _with(SMALL, province="广" * 1000), "province"),
    ("a year out of range", _with(SMALL, year=1800), "year"),
    ("a list where a table is", _with(SMALL, electricity=[1, "kWh"]), "electricity"),
]
BAD_FIRMS: list[tuple[str, dict[str, Any], str]] = [
    ("no bills nor spend", _with(FIRM_BODY, bills=[]), "bills, spend"),
    ("control character in the name", _with(FIRM_BODY, name="Studio\x1b[31m"), "name"),
    (
        "unknown spend",
        _with(
            FIRM_BODY,
            spend=[{"activity": "spend_nothing", "amount": {"quantity": 1, "unit": "元"}}],
        ),
        "spend[0].activity",
    ),
    (
        "a supplier factor as text",
        _with(
            FIRM_BODY,
            instruments=[
                {
                    "kind": "supplier_factor",
                    "energy": {"quantity": 1, "unit": "MWh"},
                    "supplier_factor_tco2e_per_mwh": "0.3",
                }
            ],
        ),
        "instruments[0].supplier_factor_tco2e_per_mwh",
    ),
    ("revenue in kWh", _with(FIRM_BODY, revenue={"quantity": 1, "unit": "kWh"}), "revenue"),
    ("employees as true", _with(FIRM_BODY, employees=True), "employees"),
]


def _names(detail: Any, field: str) -> bool:
    """Whether a 422's detail names ``field``: a FastAPI field whose path is it, or a text
    with ``field: reason``."""
    if isinstance(detail, str):
        return f"{field}: " in detail
    paths = [
        "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in item["loc"][1:]).lstrip(".")
        for item in detail
    ]
    return field in paths


@pytest.mark.parametrize(
    ("route", "body", "field"),
    [(HOUSEHOLD, body, field) for _, body, field in BAD_HOUSEHOLDS]
    + [(FIRM, body, field) for _, body, field in BAD_FIRMS],
    ids=[name for name, _, _ in BAD_HOUSEHOLDS] + [f"firm: {name}" for name, _, _ in BAD_FIRMS],
)
def test_a_bad_body_is_refused_naming_the_field(
    client: TestClient, route: str, body: dict[str, Any], field: str
) -> None:
    answer = client.post(route, json=body)
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert _names(detail, field), detail
    if isinstance(detail, str):
        assert "\x00" not in detail and len(detail) < 2000


def test_what_is_not_json_is_refused(client: TestClient) -> None:
    for content in (b"not json", b"[1, 2]", b'"text"', b"null", b'{"year": NaN}'):
        answer = client.post(
            HOUSEHOLD, content=content, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code in (400, 422), (content, answer.text)


def test_the_page_words_and_choices_are_what_the_api_takes(client: TestClient) -> None:
    words = {
        language: client.get(f"/api/footprint/words/{language}").json() for language in ("en", "zh")
    }
    assert set(words["en"]["words"]) == set(words["zh"]["words"])
    assert words["en"]["words"]["calculate"] == "Calculate"
    assert words["zh"]["words"]["calculate"] == "计算"
    for page in words.values():
        choices = page["choices"]
        assert len(choices["provinces"]) == 31
        assert all(resolve_province(p["value"]) for p in choices["provinces"])
        for key, model, field in (
            ("fuels", Car, "fuel"),
            ("hauls", Flight, "haul"),
            ("diets", DietGroup, "kind"),
            ("goods", Purchase, "kind"),
        ):
            allowed = set(model.model_fields[field].annotation.__args__)  # type: ignore[union-attr]
            assert {c["value"] for c in choices[key]} == allowed, key
            assert all(c["name"] for c in choices[key])
    assert words["zh"]["choices"]["provinces"][0]["value"] == "北京"
    assert client.get("/api/footprint/words/fr").status_code == 422

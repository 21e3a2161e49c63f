"""The footprint page (/app/footprint.html) in Debian's headless Chromium, driven by Playwright,
against a real `tanlu serve`, at a phone's size (390 x 844): a citizen, not signed in, fills the
questionnaire in Chinese and in English and reads the total, the figure per person and the
chart comparing it with the sourced averages, all the API's figures; hostile text stays text; a
bad entry shows the API's message. The screenshots in docs/images/footprint-*.png come from
here (TANLU_UPDATE_SCREENSHOT=1)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page

from tanlu.report.write import find_chromium
from tanlu.store.database import open_engine, upgrade
from tests.serving import chromium, served

DOCS_IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"
PHONE = {"width": 390, "height": 844}
HOSTILE = "<img src=x onerror=window.pwned=1>"
# What the citizen types: examples/footprint/household.toml's household, one diet for two
PROVINCE = {"zh": "广东", "en": "Guangdong"}
EXPECTED_BODY: dict[str, Any] = {
    "year": 2023,
    "members": 3,
    "electricity": {"quantity": 2760, "unit": "kWh"},
    "natural_gas": {"quantity": 150, "unit": "m3"},
    "cars": [{"fuel": "petrol", "fuel_used": {"quantity": 720, "unit": "L"}}],
    "flights": [
        {
            "haul": "domestic",
            "distance": {"quantity": 1900, "unit": "km"},
            "trips": 2,
            "travellers": 1,
        },
        {
            "haul": "short_haul",
            "distance": {"quantity": 1700, "unit": "km"},
            "trips": 2,
            "travellers": 3,
        },
    ],
    "radiative_forcing": False,
    "rail": [{"distance": {"quantity": 140, "unit": "km"}, "trips": 12}],
    "diet": [{"kind": "average", "persons": 2}],
    "goods": [
        {"kind": "clothing", "spend": {"quantity": 6000, "unit": "CNY"}},
        {"kind": "phones", "spend": {"quantity": 4000, "unit": "CNY"}},
        {"kind": "major_appliances", "spend": {"quantity": 3500, "unit": "CNY"}},
    ],
}

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="needs Chromium (make test)")


@dataclass
class Service:
    base: str
    folder: Path
    browser: Browser
    problems: list[str] = field(default_factory=list)

    def page(self) -> Page:
        """A new browser window at a phone's size, whose script errors and unexpected console
        errors are kept."""
        page = self.browser.new_context(viewport=PHONE).new_page()

        def console(message: ConsoleMessage) -> None:
            # Chromium logs every refused call: the refused answers (422) and, on the
            # dashboard's sign-in page, who is signed in (401)
            expected = ("status of 422", "status of 401")
            if message.type == "error" and not any(e in message.text for e in expected):
                self.problems.append(message.text)

        page.on("console", console)
        page.on("pageerror", lambda error: self.problems.append(str(error)))
        return page

    def footprint(self, body: dict[str, Any]) -> httpx.Response:
        return httpx.post(f"{self.base}/api/footprint/household", json=body, timeout=60)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp("footprint-page")
    database = f"sqlite:///{folder / 'tanlu.db'}"
    engine = open_engine(database)
    upgrade(engine)
    engine.dispose()
    with served(database, folder) as base, chromium() as browser:
        yield Service(base, folder, browser)


def open_page(page: Page, service: Service, language: str) -> None:
    page.goto(f"{service.base}/app/footprint.html#/{language}")
    page.locator(f"main[data-lang='{language}'] #questionnaire").wait_for()


def fill(page: Page, language: str) -> None:
    """Type :data:`EXPECTED_BODY`'s answers into the questionnaire, as a person would."""
    page.fill("input[name=year]", "2023")
    page.fill("input[name=members]", "3")
    page.fill("input[name=province]", PROVINCE[language])
    page.fill("input[name=electricity]", "2760")
    page.fill("input[name=natural_gas]", "150")
    car = page.locator("[data-car]").first
    car.locator("select[name=fuel]").select_option("petrol")
    car.locator("select[name=by]").select_option("fuel")
    car.locator("input[name=amount]").fill("720")
    page.click("#add-flight")
    for row, (haul, km, trips, travellers) in enumerate(
        (("domestic", "1900", "2", "1"), ("short_haul", "1700", "2", "3"))
    ):
        flight = page.locator("[data-flight]").nth(row)
        flight.locator("select[name=haul]").select_option(haul)
        flight.locator("input[name=distance]").fill(km)
        flight.locator("input[name=trips]").fill(trips)
        flight.locator("input[name=travellers]").fill(travellers)
    page.check("input[name=radiative_forcing][value=no]")
    page.fill("input[name=rail_distance]", "140")
    page.fill("input[name=rail_trips]", "12")
    page.select_option("select[name=diet_kind]", "average")
    page.fill("input[name=diet_persons]", "2")
    page.fill("input[name=goods_clothing]", "6000")
    page.fill("input[name=goods_phones]", "4000")
    page.fill("input[name=goods_major_appliances]", "3500")


def calculate(page: Page) -> Any:
    """Press the button; the API's answer to the page."""
    with page.expect_response("**/api/footprint/household") as answer:
        page.click("#calculate")
    return answer.value


def chart_data(page: Page, name: str) -> list[list[Any]]:
    """The data of every series of a chart as ECharts holds it once drawn."""
    node = page.locator(f"[data-chart='{name}'][data-rendered]")
    node.wait_for()
    # drawn at the element's size on a phone, not into an element that had none yet
    assert node.evaluate("n => echarts.getInstanceByDom(n).getWidth()") > 300
    data: list[list[Any]] = node.evaluate(
        "n => echarts.getInstanceByDom(n).getOption().series.map(s => s.data)"
    )
    return data


def screenshot(page: Page, name: str, folder: Path) -> None:
    """What the phone's screen shows of the result: the figures and the chart."""
    page.evaluate("() => document.getElementById('result').scrollIntoView()")
    target = (
        DOCS_IMAGES / f"{name}.png"
        if os.environ.get("TANLU_UPDATE_SCREENSHOT") == "1"
        else folder / f"{name}.png"
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target))
    assert target.stat().st_size > 20_000


def two(value: float) -> str:
    """A figure as the page writes it: two decimals, thousands grouped (both languages)."""
    return f"{value:,.2f}"


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_citizen_fills_the_questionnaire_on_a_phone_and_sees_the_footprint(
    service: Service, language: str
) -> None:
    page = service.page()
    open_page(page, service, language)
    fill(page, language)
    answer = calculate(page)
    assert answer.status == 200
    # what the page sent is what the citizen typed
    sent = answer.request.post_data_json
    assert sent == {**EXPECTED_BODY, "province": PROVINCE[language]}
    api = service.footprint(sent).json()
    assert answer.json() == api
    result = page.locator(f"#result[data-lang='{language}']")
    result.locator("[data-figure=total]").wait_for()
    assert result.locator("[data-figure=total] .value").inner_text() == two(api["total_tco2e"])
    assert result.locator("[data-figure=per-person] .value").inner_text() == two(
        api["per_person_tco2e"]
    )
    # the chart: the figure per person beside the averages in tonnes per person a year
    tonnes = [c for c in api["comparisons"] if c["comparison_id"].startswith("per_person_")]
    assert [c["average_id"] for c in tonnes] == [
        "cn_ghg_per_capita_2023",
        "cn_household_footprint_per_capita_2012",
    ]
    assert chart_data(page, "comparison") == [
        [api["per_person_tco2e"], *(c["average_value"] for c in tonnes)]
    ]
    # every comparison with its average's source; every line under its category, with its
    # factor's source
    comparisons = page.locator("#comparisons").inner_text()
    for comparison in api["comparisons"]:
        assert comparison[f"average_name_{language}"] in comparisons
        assert comparison["source"] in comparisons
    for line in api["lines"]:
        shown = page.locator(
            f"[data-category='{line['category']}'] [data-line='{line['line_id']}']"
        )
        assert line[f"name_{language}"] in shown.inner_text()
        assert line["factors"][0]["source"] in shown.inner_text()
    # a phone's page: one column, no sideways scrolling, touch targets of 44 px
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    for selector in ("#calculate", "input[name=electricity]", "select[name=diet_kind]"):
        box = page.locator(selector).bounding_box()
        assert box is not None and box["height"] >= 44, selector
    screenshot(page, f"footprint-{language}", service.folder)
    assert service.problems == [], service.problems


def test_hostile_text_stays_text_and_a_bad_entry_shows_the_apis_message(
    service: Service,
) -> None:
    page = service.page()
    open_page(page, service, "en")
    page.fill("input[name=year]", "2023")
    page.fill("input[name=province]", HOSTILE)
    page.fill("input[name=electricity]", "2400")
    assert calculate(page).status == 422
    alert = page.locator("#form-error [role=alert]")
    alert.wait_for()
    assert HOSTILE in alert.inner_text()
    assert f"province: unknown province '{HOSTILE}'" in alert.inner_text()
    assert page.locator("main img, main script").count() == 0
    assert page.evaluate("() => window.pwned === undefined")
    # a negative quantity: the API's own message, naming the field
    page.fill("input[name=province]", "Guangdong")
    page.fill("input[name=electricity]", "-5")
    before = alert.inner_text()
    assert calculate(page).status == 422
    body = {"year": 2023, "members": 1, "province": "Guangdong"}
    refused = service.footprint({**body, "electricity": {"quantity": -5, "unit": "kWh"}})
    deadline = time.monotonic() + 30
    while page.locator("#form-error [role=alert]").inner_text() == before:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert page.locator("#form-error [role=alert]").inner_text() == (
        f"Please check: {refused.json()['detail']}"
    )
    assert "electricity.quantity" in refused.json()["detail"]
    # mended: the result, and no message
    page.fill("input[name=electricity]", "2400")
    assert calculate(page).status == 200
    page.locator("#result [data-figure=total]").wait_for()
    expected = service.footprint({**body, "electricity": {"quantity": 2400, "unit": "kWh"}})
    shown = page.locator("#result [data-figure=total] .value").inner_text()
    assert shown == two(expected.json()["total_tco2e"])
    assert page.locator("#form-error [role=alert]").count() == 0
    assert service.problems == [], service.problems


def test_the_sign_in_page_leads_to_the_footprint_and_the_language_keeps_the_answers(
    service: Service,
) -> None:
    page = service.page()
    page.goto(f"{service.base}/app/#/en/")
    page.locator("#footprint-link").click()
    page.locator("main[data-lang='en'] #questionnaire").wait_for()
    assert page.locator("h1").inner_text() == "Your household's carbon footprint"
    page.fill("input[name=electricity]", "1234")
    page.fill("input[name=province]", "Hainan")
    page.click("#switch-language")
    page.locator("main[data-lang='zh'] #questionnaire").wait_for()
    assert page.locator("h1").inner_text() == "家庭碳足迹计算"
    assert page.locator("input[name=electricity]").input_value() == "1234"
    assert page.locator("input[name=province]").input_value() == "Hainan"
    assert service.problems == [], service.problems

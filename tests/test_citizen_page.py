"""The citizen's page (/app/citizen.html) in Debian's headless Chromium, driven by Playwright,
against a real `tanlu serve`, at a phone's size (390 x 844): a city's scheme registers an
operator, the operator sends its users' consent and a week's trips (tests/test_ledger_service.py's
batch) and issues a one-time link code; the citizen types it (lower case, no dashes) and reads
their balance and entries in Chinese and in English, with the arithmetic by hand; links a
second city with another code; signs out. A hostile pseudonym and city name stay text; a wrong
code, and too many of them, are refused in words. The screenshot docs/images/citizen-page.png
comes from here (TANLU_UPDATE_SCREENSHOT=1)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx2 as httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page

from tanlu.app.citizen_words import CITIZEN_WORDS
from tanlu.report.write import find_chromium
from tanlu.store.accounts import create_token, create_user
from tanlu.store.database import open_engine, upgrade
from tanlu.store.roles import OrganisationKind
from tests.serving import chromium, served
from tests.test_ledger_service import CITY, CODE, CONSENT, HEADER, OPERATOR, PASSWORD, _batch, _day

DOCS_IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"
PHONE = {"width": 390, "height": 844}
HOSTILE = "<img src=x onerror=window.pwned=1>"
# a second scheme whose name is hostile, where the hostile pseudonym took one bus trip
WUHAN = f"Wuhan {HOSTILE}"

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="needs Chromium (make test)")


def words(key: str, language: str) -> str:
    return CITIZEN_WORDS[key][0 if language == "en" else 1]


@dataclass
class Service:
    base: str
    folder: Path
    browser: Browser
    ids: dict[str, int]
    tokens: dict[str, str]
    problems: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def page(self) -> Page:
        """A new browser window at a phone's size, whose script errors, dialogs and unexpected
        console errors are kept."""
        page = self.browser.new_context(viewport=PHONE).new_page()

        def console(message: ConsoleMessage) -> None:
            # Chromium logs every refused call: who is signed in before signing in (401), a
            # refused code (401 to sign in, 422 to link) and the limit (429)
            expected = ("status of 401", "status of 422", "status of 429")
            if message.type == "error" and not any(e in message.text for e in expected):
                self.problems.append(message.text)

        page.on("console", console)
        page.on("pageerror", lambda error: self.problems.append(str(error)))

        def dialog(opened: Dialog) -> None:
            self.dialogs.append(opened.message)
            opened.dismiss()

        page.on("dialog", dialog)
        return page

    def post(self, who: str, tail: str, **kwargs: object) -> httpx.Response:
        return httpx.post(
            f"{self.base}/api/organisations/{self.ids[who]}/ledger/{tail}",
            headers={"Authorization": f"Bearer {self.tokens[who]}"},
            timeout=60,
            **kwargs,  # type: ignore[arg-type]
        )

    def send(self, city: str, tail: str, name: str, content: bytes) -> None:
        sent = self.post(OPERATOR, f"{tail}?city_id={self.ids[city]}&name={name}", content=content)
        assert sent.status_code == 201, sent.text

    def code(self, user: str, city: str = CITY) -> str:
        """A one-time link code for the operator's user ``user``, as its app would ask."""
        issued = self.post(OPERATOR, "link-codes", json={"city_id": self.ids[city], "user": user})
        assert issued.status_code == 201, issued.text
        code: str = issued.json()["code"]
        return code


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp("citizen-page")
    database = f"sqlite:///{folder / 'tanlu.db'}"
    engine = open_engine(database)
    upgrade(engine)
    ids, tokens = {}, {}
    for name, email, role, kind in (
        (CITY, "admin@shenzhen.example.com", "admin", OrganisationKind.CITY),
        (WUHAN, "admin@wuhan.example.com", "admin", OrganisationKind.CITY),
        (OPERATOR, "contributor@sz.example.com", "contributor", OrganisationKind.OPERATOR),
    ):
        ids[name] = create_user(engine, email, PASSWORD, name, role, "test", kind).organisation_id
        tokens[name] = create_token(engine, email, name, "t", "test")
    engine.dispose()
    ledgers = ("--ledger-dir", str(folder / "ledgers"))
    with served(database, folder, *ledgers) as base, chromium() as browser:
        service = Service(base, folder, browser, ids, tokens)
        # both schemes register the operator; it sends its users' consent and their trips
        for city in (CITY, WUHAN):
            made = service.post(city, "operators", json={"operator": OPERATOR, "code": CODE})
            assert made.status_code == 201, made.text
        consent = CONSENT + f"{HOSTILE},public_transport,2025-01-01 00:00:00,\n".encode()
        day = _day(3)
        # the hostile pseudonym: 5 km by metro in Shenzhen, 5 x 46.8 = 234 g; one bus trip in
        # Wuhan, 1 trip x 150 g (wuhan-bus) = 150 g
        times = f"{day} 07:00:00,{day} 07:20:00"
        shenzhen = f"{CODE},H1,{HOSTILE},metro,card,深圳,广东,{times},A,B,5.0\n"
        wuhan = f"{CODE},W1,{HOSTILE},bus,card,武汉,湖北,{times},X,Y,8.0\n"
        service.send(CITY, "consents", "consent.csv", consent)
        service.send(CITY, "batches", "week.csv", _batch())
        service.send(CITY, "batches", "more.csv", (HEADER + shenzhen).encode())
        service.send(WUHAN, "consents", "consent.csv", consent)
        service.send(WUHAN, "batches", "week.csv", (HEADER + wuhan).encode())
        yield service


def open_page(page: Page, service: Service, language: str) -> None:
    page.goto(f"{service.base}/app/citizen.html#/{language}")
    page.locator(f"main[data-lang='{language}'][data-view='code'] #code-form").wait_for()


def sign_in(page: Page, code: str) -> int:
    """Type a code and press the button: the API's status."""
    page.fill("input[name=code]", code)
    with page.expect_response("**/api/citizen/session") as answer:
        page.click("#sign-in")
    return answer.value.status


def account(page: Page, city_id: int) -> dict[str, str]:
    """The figures of one city's account as shown."""
    card = page.locator(f"[data-city-id='{city_id}']")
    card.wait_for()
    return {
        name: card.locator(f"[data-figure={name}] .value").inner_text()
        for name in ("balance", "credited", "reversed", "redeemed")
    }


def wait_for_text(page: Page, selector: str, text: str) -> str:
    """Wait until ``selector`` shows ``text`` (the CSP forbids Playwright's waits on a script)."""
    deadline = time.monotonic() + 30
    while True:
        shown = page.locator(selector)
        if shown.count() and text in shown.first.inner_text():
            return str(shown.first.inner_text())
        assert time.monotonic() < deadline, f"{selector} does not show {text!r}"
        time.sleep(0.05)


def screenshot(page: Page, folder: Path) -> None:
    target = (
        DOCS_IMAGES / "citizen-page.png"
        if os.environ.get("TANLU_UPDATE_SCREENSHOT") == "1"
        else folder / "citizen-page.png"
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target))
    assert target.stat().st_size > 20_000


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_citizen_types_the_apps_code_on_a_phone_and_reads_their_balance(
    service: Service, language: str
) -> None:
    page = service.page()
    open_page(page, service, language)
    assert page.locator("h1").inner_text() == words("title", language)
    # typed in lower case without its dashes, as the API takes it
    code = service.code("p-a")
    assert sign_in(page, code.replace("-", "").lower()) == 200
    page.locator(f"main[data-lang='{language}'][data-view='accounts']").wait_for()
    # p-a's two metro trips in Shenzhen: 2 x 10 km x 46.8 g = 936 g, nothing taken back or
    # redeemed; each trip 10 x 46.8 = 468 g
    shown = account(page, service.ids[CITY])
    assert shown == {"balance": "936", "credited": "936", "reversed": "0", "redeemed": "0"}
    card = page.locator(f"[data-city-id='{service.ids[CITY]}']")
    assert card.locator("h2").inner_text() == CITY
    assert card.locator(".pseudonym").inner_text() == "p-a"
    assert words("gco2e", language) in card.locator("[data-figure=balance] .label").inner_text()
    for event in ("E1", "E2"):
        line = card.locator(f"[data-event={event}]")
        assert line.locator(".num").inner_text() == "468 g"
        # 10 passenger-km each, in the page's words
        amount = f"10 {words('unit_passenger_km', language)}"
        assert (
            line.locator(".action").inner_text() == f"{words('action_metro', language)} · {amount}"
        )
        assert line.locator(".date").inner_text() == _day(2)
        assert line.locator(".state").inner_text() == words("status_accepted", language)
    # nobody else's entries: not p-b's, p-d's or the hostile pseudonym's
    assert card.locator("[data-event]").count() == 2
    # a phone's page: one column, no sideways scrolling, touch targets of 44 px
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    for selector in ("#link", "input[name=link_code]", "#sign-out"):
        box = page.locator(selector).bounding_box()
        assert box is not None and box["height"] >= 44, selector
    if language == "en":
        screenshot(page, service.folder)
    # the other language keeps the session; signing out returns to the code form
    other = "en" if language == "zh" else "zh"
    page.click("#switch-language")
    page.locator(f"main[data-lang='{other}'][data-view='accounts']").wait_for()
    page.click("#sign-out")
    page.locator(f"main[data-lang='{other}'][data-view='code'] #code-form").wait_for()
    assert page.locator("#notice").inner_text() == words("signed_out", other)
    # gone: a new window of the same browser finds no session
    page.reload()
    page.locator("main[data-view='code'] #code-form").wait_for()
    assert service.problems == [], service.problems


def test_held_entries_show_their_reason_in_words(service: Service) -> None:
    page = service.page()
    open_page(page, service, "en")
    assert sign_in(page, service.code("p-d")) == 200
    # p-d's two trips at once (E5 by bus, E6 by metro, 6 km each): both held for review,
    # credited nothing yet
    assert account(page, service.ids[CITY])["balance"] == "0"
    for event, action in (("E5", "Bus · 6 km"), ("E6", "Metro · 6 km")):
        line = page.locator(f"[data-event={event}]")
        assert line.get_attribute("data-status") == "held"
        assert line.locator(".action").inner_text() == action
        assert line.locator(".num").inner_text() == "0 g"
        assert line.locator(".state").inner_text() == (
            "Held for review: it overlaps another of your trips"
        )
    assert service.problems == [], service.problems


def test_hostile_names_stay_text_and_another_city_is_linked_with_its_code(
    service: Service,
) -> None:
    page = service.page()
    open_page(page, service, "en")
    assert sign_in(page, service.code(HOSTILE)) == 200
    assert account(page, service.ids[CITY])["balance"] == "234"  # 5 km x 46.8 g
    assert page.locator(".pseudonym").inner_text() == HOSTILE
    # Wuhan's code, typed in the form to link another city: its account added, 150 g
    wuhan = service.code(HOSTILE, WUHAN)
    page.fill("input[name=link_code]", wuhan)
    with page.expect_response("**/api/citizen/links") as answer:
        page.click("#link")
    assert answer.value.status == 201
    wait_for_text(page, "#notice", "Linked.")
    assert account(page, service.ids[WUHAN])["balance"] == "150"
    card = page.locator(f"[data-city-id='{service.ids[WUHAN]}']")
    assert card.locator("h2").inner_text() == WUHAN
    # Wuhan credits a bus ride by the trip: 1 trip x 150 g
    assert card.locator("[data-event=W1] .action").inner_text() == "Bus · 1 trip"
    # the used code again: refused in words, the accounts still shown
    page.fill("input[name=link_code]", wuhan)
    with page.expect_response("**/api/citizen/links") as answer:
        page.click("#link")
    assert answer.value.status == 422
    wait_for_text(page, "#notice [role=alert]", words("bad_code", "en"))
    assert page.locator("[data-city-id]").count() == 2
    # nothing of it was read as HTML, and no script ran
    assert page.locator("main img, main script").count() == 0
    assert page.evaluate("() => window.pwned === undefined")
    assert service.dialogs == []
    page.click("#sign-out")
    page.locator("main[data-view='code'] #code-form").wait_for()
    assert service.problems == [], service.problems


def test_a_wrong_code_is_refused_in_words_and_too_many_are_stopped(service: Service) -> None:
    """Last in the file: five refused codes from this address stop every code for 15 minutes."""
    page = service.page()
    open_page(page, service, "zh")
    # an empty code is not sent
    page.fill("input[name=code]", "   ")
    page.click("#sign-in")
    wait_for_text(page, "#notice [role=alert]", words("empty_code", "zh"))
    for attempt in range(5):
        assert sign_in(page, f"ABCD-EFGH-JKM{attempt + 2}") == 401
        page.locator("#sign-in:not([disabled])").wait_for()
        shown = page.locator("#notice [role=alert]").inner_text()
        assert shown == words("bad_code", "zh"), attempt
        # the code stays in the field, to be mended
        assert page.locator("input[name=code]").input_value() == f"ABCD-EFGH-JKM{attempt + 2}"
    # the sixth, even a good one, waits: 15 minutes at most
    assert sign_in(page, service.code("p-a")) == 429
    shown = wait_for_text(page, "#notice [role=alert]", "分钟后再试")
    assert shown == words("too_many", "zh").replace("{minutes}", "15")
    page.click("#switch-language")
    page.locator("main[data-lang='en'][data-view='code']").wait_for()
    assert service.problems == [], service.problems

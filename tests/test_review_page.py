"""The city's review of held ledger entries in the dashboard (/app/, the ledger's page), in
Debian's headless Chromium, driven by Playwright, against a real `tanlu serve`: a city's scheme
registers an operator, which sends its users' consent and a batch in which the rules hold five
trips (two pairs of overlapping trips, one a hostile pseudonym's with hostile event ids, and a
fourth identical trip in a day); a reviewer of the city reads each held entry with why it was
held and what it would credit, releases one (the credit shown), rejects another with a note, is
refused in words for one decided meanwhile through the API, and the list shrinks each time; a
viewer is not offered the section. Hostile text stays text. The screenshot
docs/images/review-queue.png comes from here (TANLU_UPDATE_SCREENSHOT=1)."""

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

from tanlu.app.words import WORDS
from tanlu.report.write import find_chromium
from tanlu.store.accounts import create_token, create_user
from tanlu.store.database import open_engine, upgrade
from tanlu.store.roles import OrganisationKind
from tests.serving import chromium, served
from tests.test_ledger_service import CITY, CODE, CONSENT, OPERATOR, PASSWORD, _batch, _day

DOCS_IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"
HOSTILE = "<img src=x onerror=window.pwned=1>"
# a hostile pseudonym's two overlapping metro trips, under hostile event ids
HOSTILE_IDS = ("<b>X1</b>", "<img src=x onerror=window.pwned=2>")
HOSTILE_NOTE = "<script>window.pwned=3</script> two cards, one person"
REVIEWER, VIEWER, ADMIN = (f"{role}@city.example.com" for role in ("reviewer", "viewer", "admin"))
MEMBER = "contributor@metro.example.com"

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="needs Chromium (make test)")


def words(key: str, language: str) -> str:
    return WORDS[key][0 if language == "en" else 1]


@dataclass
class Service:
    base: str
    folder: Path
    browser: Browser
    city_id: int
    # each member's organisation id and API token, by e-mail
    ids: dict[str, int]
    tokens: dict[str, str]
    problems: list[str] = field(default_factory=list)

    def page(self) -> Page:
        """A new browser window whose script errors and unexpected console errors are kept."""
        page = self.browser.new_context(viewport={"width": 1200, "height": 900}).new_page()

        def console(message: ConsoleMessage) -> None:
            # Chromium logs every refused call: who is signed in before signing in (401), and a
            # decision refused because another reviewer decided the entry meanwhile (409)
            expected = ("status of 401", "status of 409")
            if message.type == "error" and not any(e in message.text for e in expected):
                self.problems.append(message.text)

        page.on("console", console)
        page.on("pageerror", lambda error: self.problems.append(str(error)))
        return page

    def call(self, method: str, who: str, tail: str, **kwargs: Any) -> httpx.Response:
        """The ledger API of ``who``'s organisation, as ``who`` (by API token)."""
        return httpx.request(
            method,
            f"{self.base}/api/organisations/{self.ids[who]}/ledger/{tail}",
            headers={"Authorization": f"Bearer {self.tokens[who]}"},
            timeout=60,
            **kwargs,
        )


def _held_batch() -> bytes:
    """tests/test_ledger_service.py's batch (p-d's two overlapping trips held) and three more
    held trips: the hostile pseudonym's two overlapping metro trips, and p-e's fourth identical
    bus trip of a day (over `max_identical_trips_per_day`, 3)."""
    day = _day(2)
    rows = [
        f"{CODE},{HOSTILE_IDS[0]},{HOSTILE},metro,app,深圳,广东,{day} 14:00:00,{day} 14:30:00,"
        "A,B,4.0",
        f"{CODE},{HOSTILE_IDS[1]},{HOSTILE},metro,app,深圳,广东,{day} 14:10:00,{day} 14:40:00,"
        "C,D,2.0",
        *(
            f"{CODE},E{10 + i},p-e,bus,card,深圳,广东,{day} {8 + 2 * i:02d}:00:00,"
            f"{day} {8 + 2 * i:02d}:20:00,K,L,5.0"
            for i in range(4)
        ),
    ]
    return _batch() + "\n".join(rows).encode() + b"\n"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp("review-page")
    database = f"sqlite:///{folder / 'tanlu.db'}"
    engine = open_engine(database)
    upgrade(engine)
    ids, tokens = {}, {}
    for email, role, name, kind in (
        (ADMIN, "admin", CITY, OrganisationKind.CITY),
        (REVIEWER, "reviewer", CITY, OrganisationKind.CITY),
        (VIEWER, "viewer", CITY, OrganisationKind.CITY),
        (MEMBER, "contributor", OPERATOR, OrganisationKind.OPERATOR),
    ):
        ids[email] = create_user(engine, email, PASSWORD, name, role, "test", kind).organisation_id
        tokens[email] = create_token(engine, email, name, "t", "test")
    city_id = ids[ADMIN]
    engine.dispose()
    with (
        served(database, folder, "--ledger-dir", str(folder / "ledgers")) as base,
        chromium() as browser,
    ):
        service = Service(base, folder, browser, city_id, ids, tokens)
        made = service.call("POST", ADMIN, "operators", json={"operator": OPERATOR, "code": CODE})
        assert made.status_code == 201, made.text
        consent = CONSENT + "".join(
            f"{user},public_transport,2025-01-01 00:00:00,\n" for user in (HOSTILE, "p-e")
        ).encode("utf-8")
        for tail, content in (("consents", consent), ("batches", _held_batch())):
            sent = service.call(
                "POST", MEMBER, f"{tail}?city_id={city_id}&name={tail}.csv", content=content
            )
            assert sent.status_code == 201, sent.text
        # p-d's two trips, the hostile pseudonym's two and p-e's fourth bus trip are held
        assert sent.json()["held"] == 5, sent.text
        yield service


def sign_in(page: Page, service: Service, email: str, language: str) -> None:
    """Sign in to the dashboard and open the city's ledger page."""
    page.goto(f"{service.base}/app/#/{language}/")
    page.locator("#sign-in").wait_for()
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("#sign-in button")
    page.locator(f"[data-ledger='{service.city_id}']").click()
    page.locator(f"main[data-page='/organisations/{service.city_id}/ledger']").wait_for()


def held_rows(page: Page) -> dict[str, dict[str, str]]:
    """The held entries as shown: operator/event id -> each field's text."""
    rows = page.locator("#review tr[data-held]")
    shown = {}
    for i in range(rows.count()):
        row = rows.nth(i)
        fields = row.locator("[data-field]")
        shown[str(row.get_attribute("data-held"))] = {
            str(fields.nth(j).get_attribute("data-field")): fields.nth(j).inner_text()
            for j in range(fields.count())
            if fields.nth(j).get_attribute("data-field") != "decision"
        }
    return shown


def decide(page: Page, event: str, decision: str, note: str) -> str:
    """Give a held entry's reason and press its button: the result shown once the page is
    drawn again (a notice other than the one before)."""
    result = page.locator("#review-result .notice")
    before = result.inner_text() if result.count() else None
    row = page.locator(f"#review tr[data-held='{CODE}/{event}']")
    row.locator("input[name=note]").fill(note)
    row.locator(f"[data-decision={decision}]").click()
    deadline = time.monotonic() + 30
    while True:
        # the CSP forbids Playwright's waits on a script: poll
        if result.count() and result.inner_text() != before:
            return result.inner_text()
        assert time.monotonic() < deadline, f"no result shown for {event}"
        time.sleep(0.05)


def screenshot(page: Page, folder: Path) -> None:
    target = (
        DOCS_IMAGES / "review-queue.png"
        if os.environ.get("TANLU_UPDATE_SCREENSHOT") == "1"
        else folder / "review-queue.png"
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    page.locator("#review").screenshot(path=str(target))
    assert target.stat().st_size > 20_000


def test_a_reviewer_releases_and_rejects_held_entries_in_the_dashboard(service: Service) -> None:
    page = service.page()
    sign_in(page, service, REVIEWER, "en")
    review = page.locator("#review")
    assert review.locator("h2").inner_text() == words("review_queue", "en")
    shown = held_rows(page)
    overlap, repeated = words("held_overlap", "en"), words("held_repeated_trip", "en")
    # each with why it was held and what it would credit: E6, 6 km by metro x 46.8 g = 280.8 g;
    # E5, 6 km by bus x 26.9 g = 161.4 g; E13, 5 km by bus x 26.9 g = 134.5 g; the hostile
    # pseudonym's 4 km and 2 km by metro, 187.2 g and 93.6 g
    assert shown[f"{CODE}/E6"] == {
        "operator": CODE,
        "event": "E6",
        "user": "p-d",
        "methodology": "shenzhen-metro v1",
        "action": "metro · 6 km",
        "start": f"{_day(2)} 11:10",
        "reason": overlap,
        "raw": "280.8",
    }
    assert {key: (row["reason"], row["raw"]) for key, row in shown.items()} == {
        f"{CODE}/E5": (overlap, "161.4"),
        f"{CODE}/E6": (overlap, "280.8"),
        f"{CODE}/E13": (repeated, "134.5"),
        f"{CODE}/{HOSTILE_IDS[0]}": (overlap, "187.2"),
        f"{CODE}/{HOSTILE_IDS[1]}": (overlap, "93.6"),
    }
    # hostile pseudonyms and event ids are shown as text, never as HTML
    assert shown[f"{CODE}/{HOSTILE_IDS[1]}"]["event"] == HOSTILE_IDS[1]
    assert shown[f"{CODE}/{HOSTILE_IDS[0]}"]["user"] == HOSTILE
    assert page.locator("main img, main script, main b").count() == 0
    screenshot(page, service.folder)
    # a decision needs its reason: without one nothing is sent
    review.locator(f"tr[data-held='{CODE}/E6'] [data-decision=release]").click()
    assert review.locator("#review-result .notice").count() == 0
    assert len(held_rows(page)) == 5
    # E6 released: credited 280.8 g (no cap on shenzhen-metro), and it leaves the list
    said = decide(page, "E6", "release", "the operator confirms two cards of one family")
    assert said == f"{CODE}/E6: {words('released_credit', 'en')} 280.8 gCO2e"
    assert f"{CODE}/E6" not in held_rows(page)
    # the hostile second trip rejected with a hostile note: nothing credited, shown as text
    said = decide(page, HOSTILE_IDS[1], "reject", HOSTILE_NOTE)
    assert said == f"{CODE}/{HOSTILE_IDS[1]}: {words('rejected_entry', 'en')}"
    assert sorted(held_rows(page)) == sorted(
        [f"{CODE}/E5", f"{CODE}/E13", f"{CODE}/{HOSTILE_IDS[0]}"]
    )
    # another reviewer rejects E13 through the API while the page still shows it; releasing it
    # here is refused (409), in words, and the list is read again
    rejected = service.call(
        "POST",
        ADMIN,
        "reviews",
        json={"operator": CODE, "event_id": "E13", "decision": "reject", "reason": "same card"},
    )
    assert rejected.status_code == 201, rejected.text
    said = decide(page, "E13", "release", "a family of four")
    assert said.startswith(f"{CODE}/E13: {words('review_refused', 'en')} 409: ")
    assert "rejected on review already" in said and "a decision is final" in said
    assert sorted(held_rows(page)) == sorted([f"{CODE}/E5", f"{CODE}/{HOSTILE_IDS[0]}"])
    # in Chinese: the same entries, why held in Chinese
    page.goto(f"{service.base}/app/#/zh/organisations/{service.city_id}/ledger")
    page.locator("main[data-lang='zh'] #review").wait_for()
    assert review.locator("h2").inner_text() == words("review_queue", "zh")
    reasons = {key: row["reason"] for key, row in held_rows(page).items()}
    assert set(reasons.values()) == {words("held_overlap", "zh")}
    assert page.evaluate("() => window.pwned === undefined")
    # the month's reduction counts the release: p-a's 2 x 468 g, p-e's first three bus trips
    # 3 x 134.5 g, and E6's 280.8 g: 936 + 403.5 + 280.8 = 1,620.3 g
    totals = service.call("GET", VIEWER, "totals?by=month").json()
    assert [row["reduction_gco2e"] for row in totals] == [pytest.approx(1620.3, abs=1e-9)]
    # the reviewer's note is kept with the decision (its detail, the audit log), never in the
    # entries a user's account (the citizen's page among them) reads
    account = service.call("GET", ADMIN, "users/p-d").json()
    released = [e for e in account["entries"] if e["reason"] == "released"]
    assert [e["credited_gco2e"] for e in released] == [280.8]
    assert "two cards of one family" not in str(account)
    assert service.problems == [], service.problems


def test_a_viewer_of_the_city_is_not_offered_the_review(service: Service) -> None:
    page = service.page()
    sign_in(page, service, VIEWER, "zh")
    page.locator("#totals").wait_for()
    assert page.locator("#review").count() == 0
    assert page.get_by_text(words("review_queue", "zh")).count() == 0
    # and the API refuses a viewer the list and the decision
    assert service.call("GET", VIEWER, "held").status_code == 403
    decision = {"operator": CODE, "event_id": "E5", "decision": "release", "reason": "x"}
    assert service.call("POST", VIEWER, "reviews", json=decision).status_code == 403
    assert service.problems == [], service.problems

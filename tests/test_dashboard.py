"""The dashboard in Debian's headless Chromium, driven by Playwright, against a real `tanlu
serve`: signing in, uploading a file with bad rows and reading every problem, mending it,
submitting, reviewing and approving a year as three people, computing the results, the inventory
and results pages in Chinese and English with the API's figures in their charts and tables, and
the report downloaded. The screenshots in docs/ come from here (TANLU_UPDATE_SCREENSHOT=1)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page

from tanlu.ledger.rules import HELD, REASONS
from tanlu.report.write import find_chromium
from tanlu.store.accounts import create_token, create_user
from tanlu.store.database import open_engine, upgrade
from tanlu.store.roles import OrganisationKind, Role
from tests.serving import chromium, served
from tests.test_ledger_service import CITY, CODE, CONSENT, OPERATOR, _batch

PASSWORD = "correct horse battery"
ORGANISATION = "Gamma Co"
DOCS_IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"

# Two sites, two years, and a target: a project small enough to compute in seconds whose
# results hold every chart of the dashboard (roadmap, MACC, progress against the plan).
TOML = """\
[organisation]
name = "Gamma Co"
name_zh = "伽马公司"
base_year = 2021
reporting_years = [2021, 2022]

[[entities]]
id = "parent"
name = "Parent"

[[sites]]
id = "gz"
name = "Guangzhou office"
entity = "parent"
kind = "office"
province = "广东"

[[sites]]
id = "bj"
name = "Beijing data centre"
entity = "parent"
kind = "data_centre"
province = "Beijing"

[[targets]]
kind = "carbon_neutral"
scopes = [1, 2]
year = 2026
"""
HEADER = "site,period_start,period_end,activity,quantity,unit\n"
GOOD = (
    HEADER
    + "gz,2021-01-01,2021-12-31,electricity,400,MWh\n"
    + "bj,2021-01-01,2021-12-31,electricity,2000,MWh\n"
    + "gz,2021-01-01,2021-12-31,natural_gas_stationary,10000,m3\n"
    + "gz,2022-01-01,2022-12-31,electricity,380,MWh\n"
    + "bj,2022-01-01,2022-12-31,electricity,2100,MWh\n"
    + "gz,2022-01-01,2022-12-31,natural_gas_stationary,9000,m3\n"
)
# line 3: not a number; line 4: no such site
BAD = (
    HEADER
    + "gz,2021-01-01,2021-12-31,electricity,400,MWh\n"
    + "gz,2021-01-01,2021-12-31,electricity,lots,MWh\n"
    + "xx,2021-01-01,2021-12-31,electricity,5,MWh\n"
)

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="needs Chromium (make test)")


@dataclass
class Service:
    base: str
    organisation_id: int
    token: dict[str, str]  # the admin's API token, to read what the pages should show
    folder: Path
    browser: Browser
    problems: list[str] = field(default_factory=list)

    def api(self, path: str) -> Any:
        answer = httpx.get(f"{self.base}/api{path}", headers=self.token, timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def page(self) -> Page:
        """A new browser window, whose script errors and unexpected console errors are kept."""
        page = self.browser.new_context(viewport={"width": 1200, "height": 900}).new_page()

        def console(message: ConsoleMessage) -> None:
            # Chromium logs every refused call: the first page asks who is signed in (401
            # before signing in), and the test submits an invalid revision once (409)
            expected = ("status of 401", "status of 409")
            if message.type == "error" and not any(e in message.text for e in expected):
                self.problems.append(message.text)

        page.on("console", console)
        page.on("pageerror", lambda error: self.problems.append(str(error)))
        return page


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp("dashboard")
    database = f"sqlite:///{folder / 'tanlu.db'}"
    engine = open_engine(database)
    upgrade(engine)
    organisation_id = 0
    for role in Role:
        account = create_user(
            engine, f"{role.value}@gamma.example.com", PASSWORD, ORGANISATION, role.value, "test"
        )
        organisation_id = account.organisation_id
    token = create_token(engine, "admin@gamma.example.com", ORGANISATION, "t", "test")
    # a city's carbon-inclusion scheme and an operator (test_an_operator_sends_a_batch...)
    create_user(engine, CITY_ADMIN, PASSWORD, CITY, "admin", "test", OrganisationKind.CITY)
    create_user(engine, CITY_VIEWER, PASSWORD, CITY, "viewer", "test", OrganisationKind.CITY)
    create_user(
        engine,
        OPERATOR_MEMBER,
        PASSWORD,
        OPERATOR,
        "contributor",
        "test",
        OrganisationKind.OPERATOR,
    )
    engine.dispose()
    ledgers = ("--ledger-dir", str(folder / "ledgers"))
    with served(database, folder, *ledgers) as base, chromium() as browser:
        yield Service(
            base,
            organisation_id,
            {"Authorization": f"Bearer {token}"},
            folder,
            browser,
        )


def sign_in(page: Page, service: Service, who: str, language: str = "zh") -> None:
    page.goto(f"{service.base}/app/#/{language}/")
    page.locator("#sign-in").wait_for()
    page.fill("input[name=email]", f"{who}@gamma.example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("#sign-in button")
    page.locator(f"[data-organisation='{service.organisation_id}']").wait_for()


def show(page: Page, service: Service, path: str, language: str) -> None:
    """Open a page of the dashboard and wait until it is drawn."""
    page.goto(f"{service.base}/app/#/{language}{path}")
    page.locator(f"main[data-page='{path}'][data-lang='{language}']").wait_for()


def sign_out(page: Page) -> None:
    page.click("#sign-out")
    page.locator("#sign-in").wait_for()


def upload(page: Page, path: str, content: str, folder: Path) -> None:
    local = folder / path.replace("/", "_")
    local.write_text(content, encoding="utf-8")
    page.set_input_files("input[name=file]", str(local))
    page.fill("input[name=path]", path)
    before = page.locator("#files h2").inner_text()
    page.click("#upload button")
    wait_for_change(page, "#files h2", before)


def wait_for_change(page: Page, selector: str, before: str) -> None:
    """Wait until the page is drawn again with another text at ``selector`` (the CSP forbids
    Playwright's waits on a script)."""
    deadline = time.monotonic() + 60
    while page.locator(selector).inner_text() == before:
        assert time.monotonic() < deadline, f"{selector} still says {before!r}"
        time.sleep(0.05)


def step(page: Page, year: int, action: str) -> str:
    """Click a step of a year's workflow; the year's status shown after it."""
    before = page.locator(f"[data-status='{year}']").inner_text()
    page.click(f"button[data-action='{action}'][data-year='{year}']")
    wait_for_change(page, f"[data-status='{year}']", before)
    return page.locator(f"[data-status='{year}']").inner_text()


def screenshot(page: Page, name: str, folder: Path) -> None:
    target = (
        DOCS_IMAGES / f"{name}.png"
        if os.environ.get("TANLU_UPDATE_SCREENSHOT") == "1"
        else folder / f"{name}.png"
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 20_000


def chart_data(page: Page, name: str) -> list[list[Any]]:
    """The data of every series of a chart as ECharts holds it once drawn."""
    node = page.locator(f"[data-chart='{name}'][data-rendered]")
    node.wait_for()
    # drawn at the element's size, not into an element that had none yet
    assert node.evaluate("n => echarts.getInstanceByDom(n).getWidth()") > 300
    data: list[list[Any]] = node.evaluate(
        "n => echarts.getInstanceByDom(n).getOption().series.map(s => s.data)"
    )
    return data


def whole(value: float) -> str:
    """A figure as the pages write it: whole units, thousands grouped (both languages)."""
    return f"{round(value):,}"


def test_a_year_from_a_bad_upload_to_approved_figures_and_the_report(service: Service) -> None:
    page = service.page()
    # the admin makes the project
    sign_in(page, service, "admin")
    page.fill("input[name=project]", "Gamma 2021")
    page.click(f"[data-organisation='{service.organisation_id}'] button")
    page.locator("#files").wait_for()
    project_url = page.url
    sign_out(page)

    # a contributor uploads the configuration and a file with two bad rows, and reads them
    sign_in(page, service, "contributor")
    page.goto(project_url)
    page.locator("#upload").wait_for()
    # tanlu.toml typed into the page's editor, the data file uploaded
    before = page.locator("#files h2").inner_text()
    page.fill("textarea[name=configuration]", TOML)
    page.click("#configuration button")
    wait_for_change(page, "#files h2", before)
    sizes = dict(
        tuple(row.locator("td").all_inner_texts()[:2])
        for row in page.locator("#files tbody tr").all()
    )
    assert sizes == {"tanlu.toml": f"{len(TOML.encode()):,}"}
    upload(page, "data/activities.csv", BAD, service.folder)
    rows = page.locator("#problems tbody tr")
    assert rows.count() == 2
    shown = {tuple(rows.nth(i).locator("td").all_inner_texts()[:4]) for i in range(2)}
    assert shown == {
        ("data/activities.csv", "", "3", "quantity"),
        ("data/activities.csv", "", "4", "site"),
    }
    assert all(r.strip() for r in page.locator("#problems tbody td:nth-child(5)").all_inner_texts())
    # no year can be submitted from a revision with problems: the API refuses, the page says so
    page.click("button[data-action='submit'][data-year='2021']")
    page.locator("#step-result .error").wait_for()
    assert "409" in page.locator("#step-result").inner_text()
    screenshot(page, "dashboard-problems-zh", service.folder)
    # mended: valid, then submitted, and the results computed
    upload(page, "data/activities.csv", GOOD, service.folder)
    assert page.locator("#problems").count() == 0
    assert "有效" in page.locator("#validation").inner_text()
    assert step(page, 2021, "submit") == "已提交"
    page.click("#run button")
    page.locator("[data-results]").wait_for(timeout=180_000)
    sign_out(page)

    # the reviewer reviews; the admin approves (neither submitted it)
    sign_in(page, service, "reviewer")
    page.goto(project_url)
    page.locator("#years").wait_for()
    assert page.locator("button[data-action='approve']").count() == 0  # not a reviewer's step
    assert step(page, 2021, "review") == "已审核"
    sign_out(page)
    sign_in(page, service, "admin")
    page.goto(project_url)
    # a page loaded afresh in the session reads its CSRF token from GET /api/me
    page.reload()
    page.locator("#years").wait_for()
    assert step(page, 2021, "approve") == "已批准（锁定）"
    screenshot(page, "dashboard-project-zh", service.folder)

    organisation_id, project_id = project_url.split("/organisations/")[1].split("/projects/")
    api_project = f"/organisations/{organisation_id}/projects/{project_id}"
    inventory = service.api(f"{api_project}/years/2021/inventory")
    totals = inventory["totals"]

    # the inventory page in both languages: the API's figures, drawn
    for language, heading in (("zh", "排放清单 2021"), ("en", "Inventory 2021")):
        show(page, service, f"{api_project}/years/2021", language)
        assert heading in page.locator("h1").inner_text()
        for column in ("scope1_tco2e", "scope2_market_tco2e", "scope3_tco2e"):
            shown_value = page.locator(f"[data-figure='{column}'] .value").inner_text()
            assert shown_value == whole(totals[column])
        (by_scope,) = chart_data(page, "by-scope")
        assert by_scope == pytest.approx(
            [
                totals["scope1_tco2e"],
                totals["scope2_location_tco2e"],
                totals["scope2_market_tco2e"],
                totals["scope3_tco2e"],
            ]
        )
        by_site = chart_data(page, "by-site")
        assert sum(map(sum, by_site)) == pytest.approx(
            sum(
                s["scope1_tco2e"] + s["scope2_market_tco2e"] + s["scope3_tco2e"]
                for s in inventory["by_site"]
            )
        )
        assert "approved" in page.inner_text("main") or "已批准" in page.inner_text("main")
        screenshot(page, f"dashboard-inventory-{language}", service.folder)

    # the results page in both languages: roadmap, MACC, progress; the report downloads
    jobs = service.api(f"{api_project}/jobs")
    (run,) = [j for j in jobs if j["kind"] == "run"]
    results = httpx.get(
        f"{service.base}/api{api_project}/jobs/{run['id']}/files/results.json",
        headers=service.token,
    ).json()
    roadmap = results["roadmap"]
    for language, heading in (("zh", "路线图"), ("en", "Roadmap")):
        show(page, service, f"{api_project}/jobs/{run['id']}/results", language)
        assert page.locator("#roadmap h2").inner_text() == heading
        series = chart_data(page, "roadmap")
        net = [r["net_tco2e"] for r in roadmap["by_year"]]
        assert net in [pytest.approx(s) for s in series]
        macc = chart_data(page, "macc")[0]
        assert [b[1] - b[0] for b in macc] == pytest.approx(
            [m["abatement_tco2e"] for m in roadmap["macc"]["bottom_up"]]
        )
        assert len(page.locator("#progress tbody tr").all()) == len(results["progress"]["by_scope"])
        screenshot(page, f"dashboard-results-{language}", service.folder)
    with page.expect_download() as download:
        page.click("#download-report")
    saved = service.folder / "report.html"
    download.value.save_as(saved)
    expected = httpx.get(
        f"{service.base}/api{api_project}/jobs/{run['id']}/files/report.html",
        headers=service.token,
    ).content
    assert saved.read_bytes() == expected
    # started from the Chinese page: the report is in Chinese, with the Chinese name
    assert "伽马公司" in saved.read_text(encoding="utf-8")
    assert service.problems == []


def test_a_viewer_sees_the_project_without_the_means_to_change_it(service: Service) -> None:
    page = service.page()
    sign_in(page, service, "viewer", "en")
    links = page.locator(f"[data-organisation='{service.organisation_id}'] li a")
    links.first.wait_for()
    links.first.click()
    page.locator("#years").wait_for()
    assert page.locator("#upload").count() == 0
    assert page.locator("#run").count() == 0
    assert page.locator("button[data-action]").count() == 0
    assert page.locator("input[name=project]").count() == 0
    assert service.problems == []


def test_hostile_text_in_a_file_is_shown_as_text(service: Service) -> None:
    page = service.page()
    sign_in(page, service, "contributor", "en")
    made = httpx.post(
        f"{service.base}/api/organisations/{service.organisation_id}/projects",
        json={"name": "<img src=x onerror=window.pwned=1>"},
        headers=service.token,
    )
    assert made.status_code == 201
    show(
        page,
        service,
        f"/organisations/{service.organisation_id}/projects/{made.json()['id']}",
        "en",
    )
    upload(page, "tanlu.toml", TOML, service.folder)
    hostile = HEADER + "gz,2021-01-01,2021-12-31,electricity,<script>window.pwned=2</script>,MWh\n"
    upload(page, "data/activities.csv", hostile, service.folder)
    page.locator("#problems").wait_for()
    assert "<img src=x onerror=window.pwned=1>" in page.locator("h1").inner_text()
    assert page.locator("main img, main script").count() == 0
    assert page.evaluate("() => window.pwned === undefined")
    assert service.problems == []


CITY_ADMIN, OPERATOR_MEMBER = "admin@city.example.com", "contributor@metro.example.com"
CITY_VIEWER = "viewer@city.example.com"


def ledger_sign_in(page: Page, service: Service, email: str, language: str) -> str:
    """Sign in as a member of a city or an operator and open its ledger's page (its path)."""
    page.goto(f"{service.base}/app/#/{language}/")
    page.locator("#sign-in").wait_for()
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("#sign-in button")
    organisation = page.locator("[data-ledger]").get_attribute("data-ledger")
    page.locator("[data-ledger]").click()
    page.locator("main[data-page$='/ledger']").wait_for()
    return f"/organisations/{organisation}/ledger"


def decide(page: Page, event: str, decision: str, reason: str) -> None:
    """Give a held entry's reason and press its button."""
    row = page.locator(f"#review tr[data-held='{event}']")
    row.locator("input[name=note]").fill(reason)
    row.locator(f"[data-decision={decision}]").click()


def send(page: Page, kind: str, name: str, content: bytes, folder: Path) -> None:
    local = folder / name
    local.write_bytes(content)
    page.select_option("select[name=kind]", kind)
    page.set_input_files("input[name=file]", str(local))
    before = page.locator("#send-result").inner_text()
    page.click("#send-batch button")
    wait_for_change(page, "#send-result", before)


def test_an_operator_sends_a_batch_and_sees_accepted_held_and_rejected_counts(
    service: Service,
) -> None:
    # the city's admin registers the operator in the page
    city = service.page()
    city_page = ledger_sign_in(city, service, CITY_ADMIN, "en")
    city.fill("input[name=operator]", OPERATOR)
    city.fill("input[name=code]", CODE)
    city.click("#register-operator button")
    city.locator("main table", has_text=CODE).wait_for()
    # the operator's member sends its users' consent, then a batch, in Chinese
    operator = service.page()
    ledger_sign_in(operator, service, OPERATOR_MEMBER, "zh")
    send(operator, "consents", "consent.csv", CONSENT, service.folder)
    assert operator.locator("[data-figure='consent_rows'] .value").inner_text() == "3"
    send(operator, "batches", "week.csv", _batch(), service.folder)
    counts = {
        name: operator.locator(f"[data-figure='{name}'] .value").inner_text()
        for name in ("accepted", "held", "rejected", "replays", "credited_gco2e")
    }
    # 2 trips x 10 km x 46.8 g = 936 gCO2e; 2 held (overlap), 2 rejected (speed, no consent)
    assert counts == {
        "accepted": "2",
        "held": "2",
        "rejected": "2",
        "replays": "0",
        "credited_gco2e": "936",
    }
    assert operator.locator("#batches table", has_text="week.csv").count() == 1
    screenshot(operator, "ledger-operator", service.folder)
    # a batch with another operator's row: refused, the line shown, nothing written
    rows = _batch().decode().splitlines()
    rows[2] = rows[2].replace(CODE, "someone-else", 1)
    send(operator, "batches", "bad.csv", ("\n".join(rows) + "\n").encode(), service.folder)
    refused = operator.locator("[data-refused] table").inner_text()
    assert "bad.csv" in refused and "3" in refused and "operator" in refused
    # the city's totals: the month's reduction in the chart
    city.reload()
    city.locator(f"main[data-page='{city_page}'][data-lang='en']").wait_for()
    assert chart_data(city, "ledger-totals") == [[936]]
    # the city's admin reviews what the rules held: p-d's two trips at once, each with why
    review = city.locator("#review")
    assert review.locator("tr[data-held]").count() == 2
    assert review.inner_text().count("overlaps another trip of the same user") == 2
    assert "metro · 6 km" in review.locator(f"tr[data-held='{CODE}/E6']").inner_text()
    # a decision needs its reason: without one nothing is sent
    review.locator(f"tr[data-held='{CODE}/E6'] [data-decision=release]").click()
    assert review.locator("tr[data-held]").count() == 2
    # the metro trip released: a credit of 6 km x 46.8 g = 280.8 gCO2e
    decide(city, f"{CODE}/E6", "release", "the operator confirms two cards of one family")
    city.locator("#review-result", has_text="280.8 gCO2e").wait_for()
    assert city.locator("#review tr[data-held]").count() == 1
    # the bus trip rejected: nothing credited, and nothing is left to review
    decide(city, f"{CODE}/E5", "reject", "one person cannot ride both")
    city.locator("#review-result", has_text="rejected, nothing credited").wait_for()
    city.locator("#review [data-empty]").wait_for()
    # the month's reduction now counts the release: 936 + 280.8 = 1,216.8 gCO2e
    assert chart_data(city, "ledger-totals") == [[1216.8]]
    # a viewer of the city reads the totals but is not offered the review
    viewer = service.page()
    ledger_sign_in(viewer, service, CITY_VIEWER, "zh")
    chart_data(viewer, "ledger-totals")
    assert viewer.locator("#review").count() == 0
    # Chromium logged the refused batch's 422, as expected; nothing else
    service.problems[:] = [p for p in service.problems if "status of 422" not in p]
    assert service.problems == [], service.problems


def _approved_year(service: Service, group: str) -> tuple[int, int, dict[str, str]]:
    """A parent organisation whose project's 2021 is approved through the API (its members made
    here): its id, the project's id, and its admin's token."""
    engine = open_engine(f"sqlite:///{service.folder / 'tanlu.db'}")
    tokens = {}
    for role in ("admin", "contributor", "reviewer"):
        email = f"{role}@delta.example.com"
        account = create_user(engine, email, PASSWORD, group, role, "test", OrganisationKind.PARENT)
        token = create_token(engine, email, group, "t", "test")
        tokens[role] = {"Authorization": f"Bearer {token}"}
    create_user(
        engine,
        REGULATOR,
        PASSWORD,
        "Guangdong regulator",
        "admin",
        "test",
        OrganisationKind.REGULATOR,
    )
    engine.dispose()
    api = f"{service.base}/api/organisations/{account.organisation_id}/projects"

    def call(method: str, path: str, who: str, **kwargs: Any) -> Any:
        answer = httpx.request(method, f"{api}{path}", headers=tokens[who], timeout=120, **kwargs)
        assert answer.status_code < 300, answer.text
        return answer.json()

    project = call("POST", "", "admin", json={"name": "Delta 2021"})["id"]
    call("PUT", f"/{project}/files/tanlu.toml", "contributor", content=TOML.encode())
    revision = call(
        "PUT", f"/{project}/files/data/activities.csv", "contributor", content=GOOD.encode()
    )["revision"]["number"]
    year = call("POST", f"/{project}/years/2021/submit", "contributor", json={"revision": revision})
    year = call(
        "POST", f"/{project}/years/2021/review", "reviewer", json={"version": year["version"]}
    )
    call("POST", f"/{project}/years/2021/approve", "admin", json={"version": year["version"]})
    return account.organisation_id, project, tokens["admin"]


REGULATOR = "admin@regulator.example.com"


def test_a_parent_shares_its_approved_year_and_sees_its_consolidation(service: Service) -> None:
    group, project, admin = _approved_year(service, "Delta Group")
    inventory = httpx.get(
        f"{service.base}/api/organisations/{group}/projects/{project}/years/2021/inventory",
        headers=admin,
    ).json()
    page = service.page()
    page.goto(f"{service.base}/app/#/en/")
    page.locator("#sign-in").wait_for()
    page.fill("input[name=email]", "admin@delta.example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("#sign-in button")
    page.locator(f"[data-rollups='{group}']").click()
    page.locator("main[data-page^='/organisations'][data-lang='en']").wait_for()
    page.fill("input[name=year]", "2021")
    page.click("#rollup-year button")
    page.locator("main[data-page*='year=2021']").wait_for()
    # the group's own approved inventory, counted whole under operational control
    total = inventory["totals"]["total_location_tco2e"]
    assert page.locator("[data-figure='group_total'] .value").inner_text() == whole(total)
    row = page.locator("#consolidation tbody tr").first.locator("td").all_inner_texts()
    assert row[1:] == ["Delta 2021", "100%", whole(total), whole(total)]
    # shared with the regulator (its sector), shown among the shares
    page.select_option("select[name=relation]", "regulator")
    page.fill("input[name=target]", "Guangdong regulator")
    page.fill("input[name=sector]", "I")
    page.click("#share button")
    page.locator("#shares tbody tr", has_text="Guangdong regulator").wait_for()
    # the regulator sees one organisation counted and its cells withheld (fewer than 3)
    regulator = service.page()
    regulator.goto(f"{service.base}/app/#/zh/")
    regulator.locator("#sign-in").wait_for()
    regulator.fill("input[name=email]", REGULATOR)
    regulator.fill("input[name=password]", PASSWORD)
    regulator.click("#sign-in button")
    regulator.locator("[data-rollups]").click()
    regulator.locator("#regulator-totals").wait_for()
    regulator.fill("input[name=year]", "2021")
    regulator.click("#rollup-year button")
    regulator.locator("main[data-page*='year=2021']").wait_for()
    counted = regulator.locator("[data-figure='organisations_counted'] .value").inner_text()
    assert counted == "1"
    assert int(regulator.locator("[data-figure='suppressed_cells'] .value").inner_text()) >= 1
    assert regulator.locator("[data-chart='regulator-cells']").count() == 0
    assert "Delta" not in regulator.locator("main").inner_text()
    assert service.problems == [], service.problems


def test_every_answer_carries_the_security_headers(service: Service) -> None:
    """The pages with their Content Security Policy; every answer, the API's and its refusals
    included, with nosniff, no referrer and no framing."""
    everywhere = {
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "x-frame-options": "DENY",
    }
    for path, status in (
        ("/app/", 200),
        ("/app/app.js", 200),
        ("/api/health", 200),
        ("/api/me", 401),
        ("/api/words/en", 200),
        ("/api/words/fr", 422),
    ):
        answer = httpx.get(f"{service.base}{path}", timeout=30)
        assert answer.status_code == status, path
        for name, value in everywhere.items():
            assert answer.headers.get(name) == value, (path, name)
        policy = answer.headers.get("content-security-policy")
        if path.startswith("/app/"):
            assert policy is not None and "script-src 'self'" in policy
            assert "frame-ancestors 'none'" in policy
        else:
            assert policy is None
    home = httpx.get(f"{service.base}/", timeout=30)
    assert (home.status_code, home.headers["location"]) == (307, "/app/")


def test_every_word_the_dashboard_asks_for_is_there_in_both_languages() -> None:
    from tanlu.app.words import page_words

    script = (Path(__file__).resolve().parents[1] / "src/tanlu/service/static/app.js").read_text()
    # the words asked for by name (t("key")); keys built at run time (t(`held_${reason}`)) are
    # checked through their known values
    asked = set(re.findall(r'\bt\("([a-z0-9_]+)"\)', script))
    asked |= {f"held_{reason}" for reason, status in REASONS.items() if status == HELD}
    assert len(asked) > 100
    for language in ("en", "zh"):
        words = page_words(language)["words"]
        assert sorted(key for key in asked if not words.get(key)) == [], language

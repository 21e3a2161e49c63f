"""Roll-ups in the service, on SQLite and on a real PostgreSQL: shares made and revoked by the
sharing organisation's admin (refused for the wrong role, another organisation, itself, a
cycle, a target of the wrong kind, ownership past 1, a second controlling parent); a parent's
consolidation by each approach, checked by hand; a regulator's province x sector x scope
totals, which never show one organisation's figures; the provinces pinned at submission and
computed for a year submitted before they were.

Factors used by hand [tCO2/MWh], 2021 (src/tanlu/factors/data/): Guangdong's grid 0.4715,
Beijing's 0.5688 (location-based); the national residual 0.5856 (market-based, no
instruments). Every project here has only purchased electricity: scope 1 and 3 are zero.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from tanlu.app.projects import step_year
from tanlu.app.provinces import (
    ProvinceTotals,
    ScopeTotals,
    province_totals,
    read_province_totals,
    site_provinces,
)
from tanlu.app.rollups import (
    INDUSTRY_SECTIONS,
    RegulatedYear,
    ReportedYear,
    Subsidiary,
    calculate_consolidation_share,
    consolidate,
    regulator_totals,
)
from tanlu.project import ConsolidationApproach
from tanlu.service import create_app
from tanlu.service.rollups import (
    MIN_CELL_VARIABLE,
    P_SHARE_VARIABLE,
    cell_p_share,
    min_cell_organisations,
)
from tanlu.store.accounts import create_token, create_user
from tanlu.store.audit import verify_chain
from tanlu.store.database import open_engine, session_scope, upgrade
from tanlu.store.models import AuditEntry, ReportingYear
from tanlu.store.roles import OrganisationKind
from tanlu.store.workflow import YearAction

from .conftest import ACTIVITY_HEADER, BASIC_TOML

PASSWORD = "correct horse battery"
GZ_LOCATION, BJ_LOCATION, RESIDUAL = 0.4715, 0.5688, 0.5856  # tCO2/MWh, 2021
ORGANISATIONS = {
    # key: (name, kind)
    "P": ("Pine Holdings", OrganisationKind.PARENT),
    "A": ("Aspen Co", OrganisationKind.COMPANY),
    "B": ("Birch Co", OrganisationKind.COMPANY),
    "C": ("Cedar Co", OrganisationKind.COMPANY),
    "D": ("Dogwood Co", OrganisationKind.COMPANY),
    "R": ("Provincial Regulator", OrganisationKind.REGULATOR),
    "S": ("Second Regulator", OrganisationKind.REGULATOR),
}


def _electricity(gz_mwh: float, bj_mwh: float = 0.0) -> str:
    rows = f"gz,2021-01-01,2021-12-31,electricity,{gz_mwh},MWh\n"
    if bj_mwh:
        rows += f"bj,2021-01-01,2021-12-31,electricity,{bj_mwh},MWh\n"
    return ACTIVITY_HEADER + rows


@dataclass
class World:
    engine: Engine
    client: TestClient
    ids: dict[str, int]  # "P", "A", ... -> organisation id
    headers: dict[str, dict[str, str]]  # "P", "A", ... (their admin), "A-viewer"
    projects: dict[str, int]  # "P", "A", "B", "C", "D1", "D2" -> project id

    def url(self, who: str, rest: str = "") -> str:
        return f"/api/organisations/{self.ids[who]}{rest}"

    def share(self, who: str, project: str, target: str, **terms: Any) -> Any:
        """POST a share of ``project`` by ``who``'s admin with the organisation ``target`` (a
        key of ORGANISATIONS or a name)."""
        name = ORGANISATIONS[target][0] if target in ORGANISATIONS else target
        body = {"project_id": self.projects[project], "organisation": name, **terms}
        return self.client.post(self.url(who, "/shares"), json=body, headers=self.headers[who])

    def revoke(self, who: str, share_id: int) -> Any:
        return self.client.delete(self.url(who, f"/shares/{share_id}"), headers=self.headers[who])

    def consolidation(self, approach: str) -> dict[str, Any]:
        answer = self.client.get(
            self.url("P", f"/consolidation?year=2021&approach={approach}"),
            headers=self.headers["P"],
        )
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def totals(self, who: str = "R", client: TestClient | None = None) -> Any:
        return (client or self.client).get(
            self.url(who, "/totals?year=2021"), headers=self.headers[who]
        )


def _project(client: TestClient, base: str, headers: dict[str, str], name: str, csv: str) -> int:
    made = client.post(f"{base}/projects", json={"name": name}, headers=headers)
    assert made.status_code == 201, made.text
    project_id = int(made.json()["id"])
    url = f"{base}/projects/{project_id}"
    for path, text in (("tanlu.toml", BASIC_TOML), ("data/activities.csv", csv)):
        put = client.put(f"{url}/files/{path}", content=text.encode(), headers=headers)
        assert put.status_code == 201, put.text
    return project_id


def _submit(world: World, who: str, project: str) -> None:
    url = world.url(who, f"/projects/{world.projects[project]}")
    newest = world.client.get(url, headers=world.headers[who]).json()["revision"]
    submitted = world.client.post(
        f"{url}/years/2021/submit", json={"revision": newest}, headers=world.headers[who]
    )
    assert submitted.status_code == 200, submitted.text


def _approve(world: World, who: str, project: str) -> None:
    """Submit (by the organisation's admin, through the service), review and approve (by two
    others: whoever submitted neither reviews nor approves)."""
    _submit(world, who, project)
    for version, action in ((1, YearAction.REVIEW), (2, YearAction.APPROVE)):
        step_year(
            world.engine,
            world.ids[who],
            world.projects[project],
            2021,
            action,
            f"{action.value}r@test",
            expected_version=version,
        )


@pytest.fixture(scope="module")
def world(module_database_url: str) -> Iterator[World]:
    """Seven organisations, each with an admin (and Aspen a viewer), and their projects, all
    on BASIC_TOML (gz in 广东, bj in Beijing), approved for 2021 except Cedar's (submitted):

    - Pine (a parent): 100 MWh at gz;
    - Aspen: 1,000 MWh at gz and 100 MWh at bj;
    - Birch: 2,000 MWh at gz;
    - Cedar: 500 MWh at gz, submitted only;
    - Dogwood: two projects D1 and D2, 10 MWh at gz each.
    """
    engine = open_engine(module_database_url)
    upgrade(engine)
    ids, headers = {}, {}
    for key, (name, kind) in ORGANISATIONS.items():
        email = f"admin@{key.lower()}.example.com"
        ids[key] = create_user(engine, email, PASSWORD, name, "admin", "test", kind).organisation_id
        headers[key] = {"Authorization": f"Bearer {create_token(engine, email, name, 't', 'test')}"}
    create_user(engine, "viewer@a.example.com", PASSWORD, ORGANISATIONS["A"][0], "viewer", "test")
    token = create_token(engine, "viewer@a.example.com", ORGANISATIONS["A"][0], "t", "test")
    headers["A-viewer"] = {"Authorization": f"Bearer {token}"}
    app = create_app(engine, job_threads=0)
    with TestClient(app, base_url="https://testserver") as client:
        world = World(engine, client, ids, headers, {})
        for project, who, csv in (
            ("P", "P", _electricity(100)),
            ("A", "A", _electricity(1000, 100)),
            ("B", "B", _electricity(2000)),
            ("C", "C", _electricity(500)),
            ("D1", "D", _electricity(10)),
            ("D2", "D", _electricity(10)),
        ):
            base = world.url(who)
            world.projects[project] = _project(client, base, headers[who], project, csv)
        for project, who in (("P", "P"), ("A", "A"), ("B", "B"), ("D1", "D"), ("D2", "D")):
            _approve(world, who, project)
        _submit(world, "C", "C")
        # the group: Aspen 60% owned and operated by Pine, Birch 30% owned and financially
        # controlled, Cedar (not approved) and Dogwood (two approved projects) 70%, both controls
        for who, project, terms in (
            ("A", "A", (0.6, True, False)),
            ("B", "B", (0.3, False, True)),
            ("C", "C", (0.7, True, True)),
            ("D", "D1", (0.7, True, True)),
            ("D", "D2", (0.7, True, True)),
        ):
            ownership, operational, financial = terms
            made = world.share(
                who,
                project,
                "P",
                relation="parent",
                ownership_share=ownership,
                operational_control=operational,
                financial_control=financial,
            )
            assert made.status_code == 201, made.text
        # the regulator: Pine, Aspen, Birch and Cedar, all manufacturing (section C)
        for who in ("P", "A", "B", "C"):
            made = world.share(who, who, "R", relation="regulator", sector="C")
            assert made.status_code == 201, made.text
        yield world
    engine.dispose()


# ---------------------------------------------------------------- pure functions


def test_a_consolidation_by_hand() -> None:
    """Parent 100/120 (scope 1/scope 2 location) own; a subsidiary 60% owned and operated,
    another 30% owned and financially controlled, one missing, one with two approved years."""
    own = [ReportedYear(1, "own", 1, "operational_control", ScopeTotals(100, 120, 130, 10))]
    a = ReportedYear(2, "a", 3, "operational_control", ScopeTotals(1000, 500, 400, 200))
    b = ReportedYear(3, "b", 1, "equity_share", ScopeTotals(2000, 0, 50, 0))
    members = [
        Subsidiary(20, "A", 0.6, True, False, ("a",), (a,)),
        Subsidiary(30, "B", 0.3, False, True, ("b",), (b,)),
        Subsidiary(40, "C", 1.0, True, True, ("c",), ()),
        Subsidiary(50, "D", 1.0, True, True, ("d1", "d2"), (b, b)),
    ]
    equity = consolidate(10, "P", 2021, ConsolidationApproach.EQUITY_SHARE, own, members)
    # scope 1: 100 + 0.6 x 1000 + 0.3 x 2000 = 100 + 600 + 600 = 1,300
    # scope 2 location: 120 + 0.6 x 500 + 0.3 x 0 = 420; market: 130 + 240 + 15 = 385
    # scope 3: 10 + 0.6 x 200 = 130
    assert equity.group.values() == pytest.approx((1300, 420, 385, 130))
    assert equity.group.total_location_tco2e == pytest.approx(1300 + 420 + 130)
    assert equity.group.total_market_tco2e == pytest.approx(1300 + 385 + 130)
    assert [s.organisation for s in equity.subsidiaries] == ["A", "B"]
    assert [s.approach_matches for s in equity.subsidiaries] == [False, True]
    assert [m.organisation for m in equity.missing] == ["C"]
    assert [(c.organisation, c.projects) for c in equity.conflicts] == [("D", ("b", "b"))]
    assert not equity.complete
    operational = consolidate(
        10, "P", 2021, ConsolidationApproach.OPERATIONAL_CONTROL, own, members
    )
    # A wholly (operated), B not at all: 100 + 1000, 120 + 500, 130 + 400, 10 + 200
    assert operational.group.values() == pytest.approx((1100, 620, 530, 210))
    financial = consolidate(10, "P", 2021, ConsolidationApproach.FINANCIAL_CONTROL, own, members)
    # B wholly (financially controlled), A not at all: 100 + 2000, 120, 130 + 50, 10
    assert financial.group.values() == pytest.approx((2100, 120, 180, 10))
    # two own projects approved for the year: neither is counted, the conflict is listed
    both = consolidate(10, "P", 2021, ConsolidationApproach.EQUITY_SHARE, own * 2, members[:1])
    assert both.own is None
    assert both.group.values() == pytest.approx((600, 300, 240, 120))
    assert both.conflicts[0].organisation == "P"
    assert (
        calculate_consolidation_share(ConsolidationApproach.EQUITY_SHARE, 0.25, False, False)
        == 0.25
    )


def test_a_regulators_cells_by_hand_and_small_cells_suppressed() -> None:
    def year(organisation: int, sector: str, *rows: tuple[str, float, float]) -> RegulatedYear:
        provinces = tuple(ProvinceTotals(p, ScopeTotals(s1, 0.0, 0.0, s3)) for p, s1, s3 in rows)
        return RegulatedYear(organisation, sector, provinces)

    counted = [
        year(1, "C", ("Guangdong", 10, 1), ("Beijing", 7, 0)),
        year(2, "C", ("Guangdong", 20, 0)),
        year(3, "C", ("Guangdong", 30, 3)),
        year(4, "D", ("Guangdong", 40, 4)),
    ]
    found = regulator_totals(99, 2021, counted, sharing=6, missing=1, in_conflict=1)
    cells = [
        (c.province, c.sector, c.scope, c.emissions_tco2e, c.organisations) for c in found.cells
    ]
    # Guangdong x C x scope 1: 10 + 20 + 30 = 60 of three organisations: published
    assert cells == [("Guangdong", "C", "scope1", 60.0, 3)]
    # suppressed: Guangdong C scope 3 (organisations 1 and 3; 2's zero does not count),
    # Beijing C scope 1 (one), Guangdong D scope 1 and scope 3 (one each)
    assert found.suppressed_cells == 4
    assert (found.organisations_sharing, found.organisations_counted) == (6, 4)
    assert (found.organisations_missing, found.organisations_in_conflict) == (1, 1)
    # with a minimum of 4, nothing is published; with 1 and no p% rule, everything is; with 1
    # and the p% rule, a cell of one organisation is still withheld (the rest is 0 < 10% of it)
    assert regulator_totals(99, 2021, counted, 4).cells == ()
    assert len(regulator_totals(99, 2021, counted, 1, p_share=0.0).cells) == 5
    assert len(regulator_totals(99, 2021, counted, 1).cells) == 1


def test_a_cell_one_organisation_dominates_is_withheld_by_the_p_percent_rule() -> None:
    def year(organisation: int, scope1: float) -> RegulatedYear:
        totals = ScopeTotals(scope1, 0.0, 0.0, 0.0)
        return RegulatedYear(organisation, "C", (ProvinceTotals("Guangdong", totals),))

    # 100, 6 and 5: the rest after the two largest is 5, under 10% of 100 (10): the second
    # largest would learn the largest to within 5%: withheld
    dominated = [year(1, 100.0), year(2, 6.0), year(3, 5.0)]
    found = regulator_totals(99, 2021, dominated)
    assert (found.cells, found.suppressed_cells, found.p_share) == ((), 1, 0.10)
    # 100, 12 and 11: the rest after 100 and 12 is 11, at least 10: published, 123 of three
    spread = [year(1, 100.0), year(2, 12.0), year(3, 11.0)]
    (cell,) = regulator_totals(99, 2021, spread).cells
    assert (cell.emissions_tco2e, cell.organisations) == (123.0, 3)
    # a stricter p withholds it too: 11 < 0.2 x 100
    assert regulator_totals(99, 2021, spread, p_share=0.2).cells == ()
    with pytest.raises(ValueError, match="0 to 1"):
        regulator_totals(99, 2021, spread, p_share=1.5)


def test_provinces_of_a_year_add_up_to_its_sites() -> None:
    import pandas as pd

    sites = pd.DataFrame({"site": ["gz", "sz", "bj"], "province": ["广东", "Guangdong", "北京市"]})
    provinces = site_provinces(sites)
    assert provinces == {"gz": "Guangdong", "sz": "Guangdong", "bj": "Beijing"}
    by_site = [
        {"site": "gz", "scope1_tco2e": 1.0, "scope2_location_tco2e": 2.0, "scope3_tco2e": 0.5},
        {"site": "sz", "scope1_tco2e": 3.0, "scope2_market_tco2e": 4.0},
        {"site": "bj", "scope2_location_tco2e": 5.0},
        {"site": "gone", "scope1_tco2e": 7.0},  # no such site: the unknown bucket
    ]
    rows = province_totals(by_site, provinces)
    assert [(r.province, r.totals.values()) for r in rows] == [
        ("Beijing", (0.0, 5.0, 0.0, 0.0)),
        ("Guangdong", (4.0, 2.0, 4.0, 0.5)),  # 1 + 3, 2, 4, 0.5
        ("unknown", (7.0, 0.0, 0.0, 0.0)),
    ]


def test_the_minimum_of_a_cell_is_never_below_three(monkeypatch: pytest.MonkeyPatch) -> None:
    assert min_cell_organisations() == 3
    monkeypatch.setenv(MIN_CELL_VARIABLE, "5")
    assert min_cell_organisations() == 5
    with pytest.raises(ValueError, match="at least 3"):
        min_cell_organisations(2)


def test_tanlu_serve_takes_the_minimum_of_a_cell_never_below_three(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import uvicorn
    from typer.testing import CliRunner

    from tanlu.cli import app as cli

    served: list[int] = []
    # the service is not started: its application is built and its minimum read, as at start
    monkeypatch.setattr(uvicorn, "run", lambda *_a, **_k: served.append(min_cell_organisations()))
    # set through monkeypatch so that what `serve` writes into the environment is undone after
    monkeypatch.setenv(MIN_CELL_VARIABLE, "3")
    database = ["--db", f"sqlite:///{tmp_path / 'tanlu.db'}"]
    refused = CliRunner().invoke(cli, ["serve", *database, "--min-cell-organisations", "2"])
    assert refused.exit_code == 2
    assert "--min-cell-organisations" in refused.output and not served
    result = CliRunner().invoke(cli, ["serve", *database, "--min-cell-organisations", "5"])
    assert result.exit_code == 0, result.output
    assert served == [5]
    # the p% rule's share: 0 to 1, read by the application as it is built
    monkeypatch.setenv(P_SHARE_VARIABLE, "0.1")
    assert CliRunner().invoke(cli, ["serve", *database, "--cell-p-share", "1.5"]).exit_code == 2
    result = CliRunner().invoke(cli, ["serve", *database, "--cell-p-share", "0.25"])
    assert result.exit_code == 0, result.output
    assert cell_p_share() == 0.25


def test_the_sections_are_gbt_4754_2017s_twenty() -> None:
    assert "".join(INDUSTRY_SECTIONS) == "ABCDEFGHIJKLMNOPQRST"
    assert INDUSTRY_SECTIONS["C"] == ("制造业", "Manufacturing")


# ---------------------------------------------------------------- the service


def test_a_submission_pins_its_provinces(world: World) -> None:
    with session_scope(world.engine) as session:
        row = session.get(ReportingYear, (world.projects["A"], 2021))
        assert row is not None and row.by_province is not None
        rows = read_province_totals(row.by_province)
        totals = json.loads(row.inventory or "{}")["totals"]
    # Aspen: Beijing 100 MWh x 0.5688 = 56.88 location, x 0.5856 = 58.56 market;
    # Guangdong 1,000 MWh x 0.4715 = 471.5, x 0.5856 = 585.6
    assert [r.province for r in rows] == ["Beijing", "Guangdong"]
    assert rows[0].totals.values() == pytest.approx((0.0, 56.88, 58.56, 0.0))
    assert rows[1].totals.values() == pytest.approx((0.0, 471.5, 585.6, 0.0))
    summed = rows[0].totals.plus(rows[1].totals)
    assert summed.values() == pytest.approx(ScopeTotals.of(totals).values())


def test_a_parents_consolidation_by_each_approach(world: World) -> None:
    own = (100 * GZ_LOCATION, 100 * RESIDUAL)  # Pine: 47.15, 58.56
    aspen = (1000 * GZ_LOCATION + 100 * BJ_LOCATION, 1100 * RESIDUAL)  # 528.38, 644.16
    birch = (2000 * GZ_LOCATION, 2000 * RESIDUAL)  # 943.0, 1171.2
    assert aspen == pytest.approx((528.38, 644.16))

    operational = world.consolidation("operational_control")
    # Pine's own + Aspen (operated) x 1 + Birch x 0: 47.15 + 528.38 = 575.53 location,
    # 58.56 + 644.16 = 702.72 market
    group = operational["group"]
    assert (group["scope2_location_tco2e"], group["scope2_market_tco2e"]) == pytest.approx(
        (575.53, 702.72)
    )
    assert group["scope1_tco2e"] == group["scope3_tco2e"] == 0.0
    assert group["total_location_tco2e"] == pytest.approx(575.53)
    assert operational["own"]["project"] == "P"
    assert operational["own"]["consolidation_share"] == 1.0
    subsidiaries = {s["organisation"]: s for s in operational["subsidiaries"]}
    assert set(subsidiaries) == {"Aspen Co", "Birch Co"}
    assert subsidiaries["Aspen Co"]["consolidation_share"] == 1.0
    assert subsidiaries["Birch Co"]["consolidation_share"] == 0.0
    assert subsidiaries["Birch Co"]["reported"]["scope2_location_tco2e"] == pytest.approx(birch[0])
    assert subsidiaries["Birch Co"]["consolidated"]["scope2_location_tco2e"] == 0.0
    assert subsidiaries["Aspen Co"]["approach_matches"] is True
    # Cedar's year is only submitted: missing; Dogwood has two approved projects: a conflict
    assert operational["missing"] == [
        {"organisation_id": world.ids["C"], "organisation": "Cedar Co", "projects": ["C"]}
    ]
    assert operational["conflicts"] == [
        {"organisation_id": world.ids["D"], "organisation": "Dogwood Co", "projects": ["D1", "D2"]}
    ]
    assert operational["complete"] is False

    financial = world.consolidation("financial_control")["group"]
    # Pine's own + Birch (financially controlled): 47.15 + 943.0 = 990.15,
    # 58.56 + 1171.2 = 1229.76
    assert (financial["scope2_location_tco2e"], financial["scope2_market_tco2e"]) == pytest.approx(
        (own[0] + birch[0], own[1] + birch[1])
    )
    assert financial["scope2_location_tco2e"] == pytest.approx(990.15)

    equity = world.consolidation("equity_share")
    # 47.15 + 0.6 x 528.38 + 0.3 x 943.0 = 47.15 + 317.028 + 282.9 = 647.078;
    # 58.56 + 0.6 x 644.16 + 0.3 x 1171.2 = 58.56 + 386.496 + 351.36 = 796.416
    assert (
        equity["group"]["scope2_location_tco2e"],
        equity["group"]["scope2_market_tco2e"],
    ) == pytest.approx((647.078, 796.416))
    # the inventories were made under operational control: shown, not refused
    assert {s["approach_matches"] for s in equity["subsidiaries"]} == {False}

    # Birch revokes its share: it leaves the consolidation (neither counted nor missing)
    birch_share = _share_id(world, "B", "P")
    revoked = world.revoke("B", birch_share)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_by"] == "admin@b.example.com"
    after = world.consolidation("equity_share")
    assert "Birch Co" not in json.dumps(after)
    assert after["group"]["scope2_location_tco2e"] == pytest.approx(47.15 + 317.028)
    assert world.revoke("B", birch_share).status_code == 409  # revoked already
    again = world.share(
        "B",
        "B",
        "P",
        relation="parent",
        ownership_share=0.3,
        operational_control=False,
        financial_control=True,
    )
    assert again.status_code == 201, again.text
    assert world.consolidation("equity_share")["group"] == equity["group"]
    # the approach defaults to operational control; the year is required
    default = world.client.get(
        world.url("P", "/consolidation?year=2021"), headers=world.headers["P"]
    )
    assert default.json()["group"] == operational["group"]
    assert (
        world.client.get(world.url("P", "/consolidation"), headers=world.headers["P"]).status_code
        == 422
    )


def _share_id(world: World, who: str, target: str) -> int:
    shares = world.client.get(world.url(who, "/shares"), headers=world.headers[who]).json()
    name = ORGANISATIONS[target][0]
    return next(s["id"] for s in shares if s["organisation"] == name and s["revoked_at"] is None)


def test_a_regulator_sees_only_cells_of_three_organisations_or_more(world: World) -> None:
    # Birch's 2,000 MWh dominate Guangdong x C: 3,100 - 2,000 - 1,000 = 100 MWh is under 10%
    # of 2,000 (the p% rule: Aspen would learn Birch's figure to within 5%): withheld
    dominated = world.totals().json()
    assert (dominated["cells"], dominated["suppressed_cells"], dominated["p_share"]) == (
        [],
        4,
        0.1,
    )
    # the threshold rule alone (a service that sets the p% rule's share to 0)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(P_SHARE_VARIABLE, "0")
        lenient = TestClient(create_app(world.engine, job_threads=0), base_url="https://testserver")
    answer = world.totals(client=lenient)
    assert answer.status_code == 200, answer.text
    found = answer.json()
    # Guangdong x C: Pine 100 + Aspen 1,000 + Birch 2,000 = 3,100 MWh:
    # 3,100 x 0.4715 = 1,461.65 location, 3,100 x 0.5856 = 1,815.36 market.
    # Dogwood's approved 20 MWh in Guangdong are not shared with the regulator: not in it.
    assert found["cells"] == [
        {
            "province": "Guangdong",
            "sector": "C",
            "scope": "scope2_location",
            "emissions_tco2e": pytest.approx(1461.65),
            "organisations": 3,
        },
        {
            "province": "Guangdong",
            "sector": "C",
            "scope": "scope2_market",
            "emissions_tco2e": pytest.approx(1815.36),
            "organisations": 3,
        },
    ]
    # Beijing x C (Aspen alone): both scope 2 cells suppressed, their figures nowhere
    assert found["suppressed_cells"] == 2
    assert "56.88" not in answer.text and "58.56" not in answer.text
    assert (found["organisations_sharing"], found["organisations_counted"]) == (4, 3)
    assert found["organisations_missing"] == 1  # Cedar: submitted, not approved
    assert found["min_organisations"] == 3
    # no organisation's name, project or id is in the answer
    for name, _kind in ORGANISATIONS.values():
        assert name not in answer.text

    # Birch revokes: Guangdong has two organisations left, and is suppressed too
    birch = _share_id(world, "B", "R")
    assert world.revoke("B", birch).status_code == 200
    fewer = world.totals(client=lenient).json()
    assert (fewer["cells"], fewer["suppressed_cells"]) == ([], 4)
    assert fewer["organisations_counted"] == 2
    assert world.share("B", "B", "R", relation="regulator", sector="C").status_code == 201
    assert world.totals(client=lenient).json() == found

    # a regulator that only Aspen shares with sees none of Aspen's figures
    assert world.share("A", "A", "S", relation="regulator", sector="C").status_code == 201
    alone = world.totals("S")
    assert alone.json()["cells"] == []
    assert alone.json()["suppressed_cells"] == 4  # Guangdong and Beijing, location and market
    for figure in ("471.5", "585.6", "56.88", "58.56", "528.38", "644.16"):
        assert figure not in alone.text
    assert world.revoke("A", _share_id(world, "A", "S")).status_code == 200

    # a service that asks for 4 organisations a cell suppresses the Guangdong cells of 3
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(MIN_CELL_VARIABLE, "4")
        strict = create_app(world.engine, job_threads=0)
    with TestClient(strict, base_url="https://testserver") as client:
        answer = world.totals(client=client).json()
    assert (answer["cells"], answer["suppressed_cells"], answer["min_organisations"]) == ([], 4, 4)


def test_a_year_submitted_before_provinces_were_pinned_is_computed_from_its_revision(
    world: World,
) -> None:
    before = world.totals().json()
    with session_scope(world.engine) as session:
        session.execute(
            update(ReportingYear)
            .where(ReportingYear.project_id.in_([world.projects["A"], world.projects["B"]]))
            .values(by_province=None)
        )
    assert world.totals().json() == before


def test_shares_are_refused_for_the_wrong_caller_target_or_terms(world: World) -> None:
    parent = {
        "relation": "parent",
        "ownership_share": 0.5,
        "operational_control": False,
        "financial_control": False,
    }
    regulator = {"relation": "regulator", "sector": "C"}
    # a viewer may list the shares but not share
    listed = world.client.get(world.url("A", "/shares"), headers=world.headers["A-viewer"])
    assert listed.status_code == 200
    body = {"project_id": world.projects["A"], "organisation": "Second Regulator", **regulator}
    refused = world.client.post(
        world.url("A", "/shares"), json=body, headers=world.headers["A-viewer"]
    )
    assert refused.status_code == 403
    # another organisation's path, or its project from one's own
    other = world.client.post(world.url("B", "/shares"), json=body, headers=world.headers["A"])
    assert other.json() == {"detail": "no such organisation"}
    assert world.share("A", "B", "S", **regulator).json() == {"detail": "no such project"}
    # a target that does not exist and one of the wrong kind: one answer
    missing = world.share("A", "A", "Nobody Ltd", **regulator)
    wrong_kind = world.share("A", "A", "B", **regulator)
    assert missing.status_code == wrong_kind.status_code == 404
    assert missing.json() == wrong_kind.json() == {"detail": "no regulator of that name"}
    as_parent = world.share("A", "A", "R", **parent)  # a regulator is no parent
    assert as_parent.status_code == 404
    assert as_parent.json() == {
        "detail": "no organisation of that name can be shared with as a parent"
    }
    # itself
    assert world.share("A", "A", "A", **parent).json() == {
        "detail": "an organisation cannot share with itself"
    }
    # a cycle: Pine is Aspen's parent, so Aspen cannot be Pine's
    cycle = world.share("P", "P", "A", **parent)
    assert cycle.status_code == 409 and "cycle" in cycle.json()["detail"]
    # the same project with the same target twice; other terms than its other shares with it
    assert world.share("A", "A", "R", **regulator).status_code == 409
    made = world.share("D", "D1", "R", **regulator)
    assert made.status_code == 201, made.text
    other_terms = world.share("D", "D2", "R", relation="regulator", sector="D")
    assert other_terms.status_code == 409 and "sector C" in other_terms.json()["detail"]
    assert world.revoke("D", made.json()["id"]).status_code == 200
    # Dogwood is 70% Pine's, operated and financially controlled by it: Aspen as a second
    # parent may hold at most 30% and no control
    too_much = world.share("D", "D1", "A", **{**parent, "ownership_share": 0.4})
    assert too_much.status_code == 409 and "add up to 1.1" in too_much.json()["detail"]
    control = world.share(
        "D", "D1", "A", **{**parent, "ownership_share": 0.3, "operational_control": True}
    )
    assert control.status_code == 409 and "operational control" in control.json()["detail"]
    second = world.share("D", "D1", "A", **{**parent, "ownership_share": 0.3})
    assert second.status_code == 201, second.text
    # Pine above Dogwood twice over (directly, and through Aspen): Dogwood cannot be its parent
    assert "cycle" in world.share("P", "P", "D", **parent).json()["detail"]
    assert world.revoke("D", second.json()["id"]).status_code == 200
    # bad terms: the schema's bounds
    assert world.share("A", "A", "S", relation="regulator", sector="Z").status_code == 422
    assert world.share("A", "A", "P", **{**parent, "ownership_share": 1.5}).status_code == 422
    assert world.share("A", "A", "P", relation="parent", ownership_share=0.5).status_code == 422
    # another organisation's share, and one that does not exist
    pine_share = _share_id(world, "P", "R")
    assert world.revoke("A", pine_share).json() == {"detail": "no such share"}
    assert world.revoke("A", 999_999).json() == {"detail": "no such share"}


def test_every_share_and_revocation_is_in_the_audit_log(world: World) -> None:
    made = world.share("C", "C", "S", relation="regulator", sector="F")
    assert made.status_code == 201
    assert world.revoke("C", made.json()["id"]).status_code == 200
    entries = world.client.get(world.url("C", "/audit"), headers=world.headers["C"]).json()
    target = f"share {made.json()['id']}"
    assert [e["action"] for e in entries if e["target"] == target] == [
        "share.create",
        "share.revoke",
    ]
    with session_scope(world.engine) as session:
        actions = session.scalars(select(AuditEntry.action)).all()
    assert actions.count("share.create") >= 10
    verify_chain(world.engine)
    listed = world.client.get(world.url("C", "/shares"), headers=world.headers["C"]).json()
    assert listed[0]["id"] == made.json()["id"]  # newest first
    assert listed[0]["revoked_at"] is not None
    assert {s["relation"] for s in listed} == {"parent", "regulator"}


def test_a_company_or_parent_with_no_shares_sees_empty_roll_ups(world: World) -> None:
    totals = world.totals("P").json()  # Pine is no regulator: nobody shares with it as one
    assert (totals["cells"], totals["suppressed_cells"], totals["organisations_sharing"]) == (
        [],
        0,
        0,
    )
    alone = world.client.get(world.url("B", "/consolidation?year=2021"), headers=world.headers["B"])
    body = alone.json()
    # Birch's own approved inventory, nothing else: 2,000 MWh x 0.4715 = 943.0
    assert body["subsidiaries"] == [] and body["complete"] is True
    assert body["group"]["scope2_location_tco2e"] == pytest.approx(943.0)
    # a year nobody approved
    empty = world.client.get(world.url("P", "/consolidation?year=2022"), headers=world.headers["P"])
    assert empty.json()["own"] is None
    assert {m["organisation"] for m in empty.json()["missing"]} == {
        "Aspen Co",
        "Birch Co",
        "Cedar Co",
        "Dogwood Co",
    }

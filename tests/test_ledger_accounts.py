"""The ledger's accounts in the service, on SQLite and PostgreSQL: a city's reviewer releases
and rejects held entries; an operator redeems its user's credit; a citizen signs in with a
one-time code from the operator's app and reads their own balance in every city they are
linked in, and nothing else. The arithmetic by hand; every refusal with its reason."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text, update

from tanlu.store.accounts import create_token, create_user
from tanlu.store.audit import organisation_entries, verify_chain
from tanlu.store.database import session_scope
from tanlu.store.models import LedgerLinkCode
from tanlu.store.roles import OrganisationKind

from . import test_ledger_service
from .test_ledger_service import (
    CITY,
    CODE,
    CONSENT,
    HEADER,
    OPERATOR,
    OTHER,
    PASSWORD,
    World,
    _batch,
    _day,
    _register,
    _send,
)

# the world of tests/test_ledger_service.py: a city, two operators and a company, on each database
world = test_ledger_service.world

CITIZEN_COOKIE = "tanlu_citizen"
BAD_CODE = "the code is unknown, used already or expired: ask the app for a new one"


def _ledger(world: World) -> None:
    """The operator registered with the city, its users' consent and the week's batch: p-a two
    accepted metro trips (2 x 10 km x 46.8 g = 936 g), p-b and p-c rejected, p-d two
    overlapping trips held (E5 by bus, E6 by metro, 6 km each)."""
    _register(world)
    assert _send(world, "consents", CONSENT, "consent.csv").status_code == 201  # type: ignore[attr-defined]
    assert _send(world, "batches", _batch(), "week.csv").status_code == 201  # type: ignore[attr-defined]


def _post(world: World, who: str, tail: str, body: dict[str, object]) -> object:
    return world.client.post(world.url(who, tail), json=body, headers=world.as_(who))


def test_a_city_releases_and_rejects_held_entries(world: World) -> None:
    _ledger(world)

    def read(tail: str) -> Any:
        return world.client.get(world.url(CITY, tail), headers=world.as_(CITY)).json()

    # before review: E5 and E6 held (overlap), their users off the leaderboard
    assert sorted(e["event_id"] for e in read("held")) == ["E5", "E6"]
    board = {row["user"] for row in read("leaderboard")}
    release = {"operator": CODE, "event_id": "E6", "decision": "release", "reason": "two cards"}
    first = _post(world, CITY, "reviews", release)
    assert first.status_code == 201, first.text  # type: ignore[attr-defined]
    answer = first.json()  # type: ignore[attr-defined]
    # 6 km x 46.8 gCO2e per passenger-km (Shenzhen metro) = 280.8 g, credited on release
    assert answer["entry"]["credited_gco2e"] == pytest.approx(280.8)
    assert (answer["entry"]["entry_kind"], answer["entry"]["status"]) == ("credit", "accepted")
    assert answer["detail"] == "released on review: two cards (held for overlap)"
    again = _post(world, CITY, "reviews", release)
    assert again.status_code == 200 and again.json()["new"] is False  # type: ignore[attr-defined]
    reject = {"operator": CODE, "event_id": "E5", "decision": "reject", "reason": "same time"}
    rejected = _post(world, CITY, "reviews", reject)
    assert rejected.status_code == 201  # type: ignore[attr-defined]
    assert rejected.json()["entry"]["credited_gco2e"] == 0  # type: ignore[attr-defined]
    # the other decision after one, an accepted or rejected event, one that is not there
    for event, decision, status, words in (
        ("E5", "release", 409, "was rejected on review already"),
        ("E1", "release", 409, "was accepted, not held"),
        ("E3", "reject", 409, "was rejected, not held"),
        ("E99", "release", 404, "no entry of event 'E99'"),
    ):
        body = {"operator": CODE, "event_id": event, "decision": decision, "reason": "r"}
        refused = _post(world, CITY, "reviews", body)
        assert refused.status_code == status, refused.text  # type: ignore[attr-defined]
        detail = refused.json()["detail"]  # type: ignore[attr-defined]
        assert words in detail and str(world.ledgers) not in detail
    bad = {**release, "decision": "approve"}
    assert _post(world, CITY, "reviews", bad).status_code == 422  # type: ignore[attr-defined]
    # decided: no longer held, and their users back on the leaderboard
    assert read("held") == []
    users = {e["user"] for e in (answer["entry"], rejected.json()["entry"])}  # type: ignore[attr-defined]
    assert not users & board and {row["user"] for row in read("leaderboard")} == board | users
    # p-d's balance: the release only, 280.8 g; the city's evidence: 936 + 280.8 = 1,216.8 g
    p_d = world.client.get(world.url(CITY, "users/p-d"), headers=world.as_(CITY)).json()
    assert p_d["balance_gco2e"] == pytest.approx(280.8)
    evidence = world.client.get(world.url(CITY, "evidence"), headers=world.as_(CITY)).json()
    assert [(e["credits"], e["reduction_gco2e"]) for e in evidence] == [(3, pytest.approx(1216.8))]
    audit = organisation_entries(world.engine, world.ids[CITY], 0, 100)
    actions = [e["action"] for e in audit]
    assert actions.count("ledger.release") == 1 and actions.count("ledger.reject") == 1
    verify_chain(world.engine)


def test_an_operator_redeems_its_users_credit_once(world: World) -> None:
    _ledger(world)
    city = world.ids[CITY]

    def redeem(gco2e: object, rid: str, user: str = "p-a", who: str = OPERATOR) -> object:
        body = {"city_id": city, "user": user, "gco2e": gco2e, "redemption_id": rid}
        return _post(world, who, "redemptions", body)

    first = redeem(400, "R1")
    assert first.status_code == 201, first.text  # type: ignore[attr-defined]
    assert first.json()["entry"]["credited_gco2e"] == pytest.approx(-400.0)  # type: ignore[attr-defined]
    assert first.json()["entry"]["entry_kind"] == "redemption"  # type: ignore[attr-defined]
    again = redeem(400, "R1")
    assert again.status_code == 200 and again.json()["new"] is False  # type: ignore[attr-defined]
    # 936 - 400 = 536 g left: 600 g is too much; R1 again with another amount is refused
    for gco2e, rid, words in (
        (600, "R2", "user 'p-a' has 536.000 gCO2e, less than the 600.000 gCO2e to redeem"),
        (500, "R1", "the redemption id 'R1' was used already for another user or amount"),
    ):
        refused = redeem(gco2e, rid)
        assert refused.status_code == 409, refused.text  # type: ignore[attr-defined]
        assert refused.json() == {"detail": words}  # type: ignore[attr-defined]
    # a user the operator has sent nothing of, another operator: the same 404
    _post(world, CITY, "operators", {"operator": OTHER, "code": "other-bikes"})
    for user, who in (("p-nobody", OPERATOR), ("p-a", OTHER)):
        refused = redeem(10, "R3", user, who)
        assert refused.status_code == 404  # type: ignore[attr-defined]
        assert refused.json() == {"detail": "no such user in the ledger"}  # type: ignore[attr-defined]
    for gco2e in (0, -5, "5"):
        assert redeem(gco2e, "R4").status_code == 422  # type: ignore[attr-defined]
    account = world.client.get(world.url(CITY, "users/p-a"), headers=world.as_(CITY)).json()
    assert (account["redeemed_gco2e"], account["balance_gco2e"]) == (400.0, 536.0)
    for organisation in (OPERATOR, CITY):
        audit = organisation_entries(world.engine, world.ids[organisation], 0, 100)
        assert [e["action"] for e in audit].count("ledger.redeem") == 1
    verify_chain(world.engine)


def _code(world: World, user: str, who: str = OPERATOR, city: str = CITY) -> object:
    return _post(world, who, "link-codes", {"city_id": world.ids[city], "user": user})


def _citizen(world: World, code: str) -> tuple[TestClient, object]:
    browser = TestClient(world.client.app, base_url="https://testserver")
    return browser, browser.post("/api/citizen/session", json={"code": code})


def _second_city(world: World) -> None:
    """A second scheme, Wuhan's, with the operator registered and p-a's one bus trip there:
    1 trip x 150 g (wuhan-bus) = 150 g."""
    name = "Wuhan scheme"
    email = "admin@wuhan.example.com"
    made = create_user(world.engine, email, PASSWORD, name, "admin", "test", OrganisationKind.CITY)
    world.ids[name] = made.organisation_id
    world.tokens[name] = create_token(world.engine, email, name, "t", "test")
    body = {"operator": OPERATOR, "code": CODE}
    assert _post(world, name, "operators", body).status_code == 201  # type: ignore[attr-defined]
    day = _day(3)
    trip = HEADER + f"{CODE},W1,p-a,bus,card,武汉,湖北,{day} 09:00:00,{day} 09:30:00,X,Y,8.0\n"
    for tail, content, file in (("consents", CONSENT, "c.csv"), ("batches", trip, "w.csv")):
        data = content if isinstance(content, bytes) else content.encode()
        sent = world.client.post(
            world.url(OPERATOR, f"{tail}?city_id={world.ids[name]}&name={file}"),
            content=data,
            headers=world.as_(OPERATOR),
        )
        assert sent.status_code == 201, sent.text


def test_a_citizen_signs_in_with_a_code_and_reads_only_their_own(world: World) -> None:
    _ledger(world)
    issued = _code(world, "p-a")
    assert issued.status_code == 201, issued.text  # type: ignore[attr-defined]
    code = issued.json()["code"]  # type: ignore[attr-defined]
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", code)
    expires = datetime.fromisoformat(issued.json()["expires_at"])  # type: ignore[attr-defined]
    assert timedelta(minutes=14) < expires - datetime.now(UTC) <= timedelta(minutes=15)
    # the citizen types it in lower case without its dashes
    browser, signed_in = _citizen(world, code.replace("-", "").lower())
    assert signed_in.status_code == 200, signed_in.text  # type: ignore[attr-defined]
    cookie = signed_in.headers["set-cookie"]  # type: ignore[attr-defined]
    assert f"{CITIZEN_COOKIE}=" in cookie
    assert all(flag in cookie.lower() for flag in ("httponly", "secure", "samesite=strict"))
    csrf = signed_in.json()["csrf_token"]  # type: ignore[attr-defined]
    mine = browser.get("/api/citizen/ledger").json()
    # p-a's two metro trips: 2 x 10 km x 46.8 g = 936 g, and no one else's entry
    (account,) = mine["accounts"]
    assert (account["user"], account["city"], account["city_id"]) == ("p-a", CITY, world.ids[CITY])
    assert account["balance_gco2e"] == pytest.approx(936.0)
    assert sorted(e["event_id"] for e in account["entries"]) == ["E1", "E2"]
    assert {e["user"] for e in account["entries"]} == {"p-a"}
    assert mine["csrf_token"] == csrf
    # the code is good once
    reused = _citizen(world, code)[1]
    assert reused.status_code == 401 and reused.json() == {"detail": BAD_CODE}  # type: ignore[attr-defined]
    # the citizen reaches no organisation's route: not the city's users, not /api/me
    for path in (world.url(CITY, "users/p-b"), world.url(CITY, "held"), "/api/me"):
        assert browser.get(path).status_code == 401, path
    # p-a's account in Wuhan's scheme linked to the same account: 150 g there
    _second_city(world)
    wuhan = _code(world, "p-a", city="Wuhan scheme").json()["code"]  # type: ignore[attr-defined]
    without_csrf = browser.post("/api/citizen/links", json={"code": wuhan})
    assert without_csrf.status_code == 403
    linked = browser.post(
        "/api/citizen/links", json={"code": wuhan}, headers={"X-CSRF-Token": csrf}
    )
    assert linked.status_code == 201 and linked.json() == {"new": True}, linked.text
    accounts = browser.get("/api/citizen/ledger").json()["accounts"]
    assert [(a["city"], a["user"], a["balance_gco2e"]) for a in accounts] == [
        (CITY, "p-a", pytest.approx(936.0)),
        ("Wuhan scheme", "p-a", pytest.approx(150.0)),
    ]
    # signing in again later with a new code reaches the same account, both cities
    again, second = _citizen(world, _code(world, "p-a").json()["code"])  # type: ignore[attr-defined]
    assert second.status_code == 200  # type: ignore[attr-defined]
    assert len(again.get("/api/citizen/ledger").json()["accounts"]) == 2
    # signed out: the session is gone
    # p-a asks Shenzhen's scheme to forget them: the link there goes (and the unused code
    # issued for p-a there with it), Wuhan's stays; nothing of the service names p-a in Shenzhen
    unused = _code(world, "p-a").json()["code"]  # type: ignore[attr-defined]
    forget = {"user": "p-a", "reason": "the person's request of 5 May"}
    assert _post(world, CITY, "erasures", forget).status_code == 201  # type: ignore[attr-defined]
    accounts = browser.get("/api/citizen/ledger").json()["accounts"]
    assert [(a["city"], a["user"]) for a in accounts] == [("Wuhan scheme", "p-a")]
    assert _citizen(world, unused)[1].status_code == 401  # type: ignore[attr-defined]
    with world.engine.connect() as connection:
        for table in ("citizen_links", "ledger_link_codes"):
            rows = connection.execute(
                text(f"SELECT count(*) FROM {table} WHERE city_id = :c AND pseudonym = 'p-a'"),
                {"c": world.ids[CITY]},
            ).scalar_one()
            assert rows == 0, table
    audit = organisation_entries(world.engine, world.ids[CITY], 0, 100)
    assert "p-a" not in str(audit)
    out = browser.delete("/api/citizen/session", headers={"X-CSRF-Token": csrf})
    assert out.status_code == 204
    assert browser.get("/api/citizen/ledger").status_code == 401


def test_another_citizen_sees_only_their_own_and_codes_are_refused(world: World) -> None:
    _ledger(world)
    # p-d's account: their held trip E6 released, 6 km x 46.8 g = 280.8 g
    release = {"operator": CODE, "event_id": "E6", "decision": "release", "reason": "ok"}
    assert _post(world, CITY, "reviews", release).status_code == 201  # type: ignore[attr-defined]
    browser, _ = _citizen(world, _code(world, "p-d").json()["code"])  # type: ignore[attr-defined]
    (account,) = browser.get("/api/citizen/ledger").json()["accounts"]
    assert (account["user"], account["balance_gco2e"]) == ("p-d", pytest.approx(280.8))
    assert {e["user"] for e in account["entries"]} == {"p-d"}
    # p-a's pseudonym is another account's once p-a has signed in: p-d's account cannot take it
    _citizen(world, _code(world, "p-a").json()["code"])  # type: ignore[attr-defined]
    csrf = browser.get("/api/citizen/ledger").json()["csrf_token"]
    taken = browser.post(
        "/api/citizen/links",
        json={"code": _code(world, "p-a").json()["code"]},  # type: ignore[attr-defined]
        headers={"X-CSRF-Token": csrf},
    )
    assert taken.status_code == 409, taken.text
    # an expired code: 15 minutes passed (its expiry set back in the database)
    late = _code(world, "p-a").json()["code"]  # type: ignore[attr-defined]
    with session_scope(world.engine) as session:
        past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat(timespec="microseconds")
        session.execute(
            update(LedgerLinkCode).where(LedgerLinkCode.used_at.is_(None)).values(expires_at=past)
        )
    expired = _citizen(world, late)[1]
    assert expired.status_code == 401 and expired.json() == {"detail": BAD_CODE}  # type: ignore[attr-defined]
    assert _citizen(world, "ABCD-EFGH-JKMN")[1].status_code == 401  # type: ignore[attr-defined]
    # codes only for a user the operator has sent actions of, in a city that registered it
    for user, who in (("p-nobody", OPERATOR), ("p-a", OTHER)):
        refused = _code(world, user, who)
        assert refused.status_code == 404, refused.text  # type: ignore[attr-defined]
    # no code reaches the database as itself: only its SHA-256
    with session_scope(world.engine) as session:
        stored = [row.code_sha256 for row in session.query(LedgerLinkCode)]
    assert stored and all(re.fullmatch(r"[0-9a-f]{64}", s) for s in stored)

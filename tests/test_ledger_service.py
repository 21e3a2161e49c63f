"""The carbon-inclusion ledger in the service, on SQLite and PostgreSQL: a city's scheme
registers an operator, the operator sends its users' consent and a batch of their trips, and
sees what the ledger made of it (accepted, held, rejected), with the arithmetic by hand;
replays add nothing; every refusal names its reason and writes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tanlu.app.ledger_service import city_ledger_dir
from tanlu.ledger import LedgerFolder
from tanlu.service import create_app
from tanlu.store.accounts import create_token, create_user
from tanlu.store.audit import verify_chain
from tanlu.store.database import open_engine, upgrade
from tanlu.store.roles import OrganisationKind

PASSWORD = "correct horse battery"
CITY, OPERATOR, OTHER, COMPANY = "Shenzhen scheme", "SZ Metro Co", "Other Bikes", "A Company"
CODE = "sz-metro"
HEADER = (
    "operator,event_id,user,action,channel,city,province,start_time,end_time,"
    "start_place,end_place,distance_km\n"
)


@dataclass
class World:
    engine: Engine
    client: TestClient
    ledgers: Path
    ids: dict[str, int]
    tokens: dict[str, str]

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def url(self, who: str, tail: str) -> str:
        return f"/api/organisations/{self.ids[who]}/ledger/{tail}"


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    engine = open_engine(database_url)
    upgrade(engine)
    ids, tokens = {}, {}
    for name, kind, role in [
        (CITY, OrganisationKind.CITY, "admin"),
        (OPERATOR, OrganisationKind.OPERATOR, "contributor"),
        (OTHER, OrganisationKind.OPERATOR, "contributor"),
        (COMPANY, OrganisationKind.COMPANY, "admin"),
    ]:
        email = f"{role}@{name.split()[0].lower()}.example.com"
        ids[name] = create_user(engine, email, PASSWORD, name, role, "test", kind).organisation_id
        tokens[name] = create_token(engine, email, name, "t", "test")
    ledgers = tmp_path / "ledgers"
    app = create_app(engine, job_threads=0, ledger_dir=ledgers)
    with TestClient(app, base_url="https://testserver") as client:
        yield World(engine, client, ledgers, ids, tokens)
    engine.dispose()


def _day(days_ago: int) -> str:
    """A day a few days before today in China (inside the 30-day claim window)."""
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
    return (today - dt.timedelta(days=days_ago)).isoformat()


def _batch(code: str = CODE) -> bytes:
    day = _day(2)
    rows = [
        # p-a: 10 km by metro in 30 min, twice: 10 x 46.8 = 468 gCO2e each
        f"{code},E1,p-a,metro,card,深圳,广东,{day} 08:00:00,{day} 08:30:00,A,B,10.0",
        f"{code},E2,p-a,metro,card,深圳,广东,{day} 18:00:00,{day} 18:30:00,B,A,10.0",
        # p-b: 40 km in 3 minutes (800 km/h): rejected, impossible speed
        f"{code},E3,p-b,metro,card,深圳,广东,{day} 09:00:00,{day} 09:03:00,A,C,40.0",
        # p-c never consented: rejected
        f"{code},E4,p-c,metro,card,深圳,广东,{day} 10:00:00,{day} 10:20:00,A,D,5.0",
        # p-d: two trips by bus at once: both held, overlapping
        f"{code},E5,p-d,bus,card,深圳,广东,{day} 11:00:00,{day} 11:30:00,A,E,6.0",
        f"{code},E6,p-d,metro,card,深圳,广东,{day} 11:10:00,{day} 11:40:00,F,G,6.0",
    ]
    return (HEADER + "\n".join(rows) + "\n").encode("utf-8")


CONSENT = (
    b"user,scenario,granted_at,withdrawn_at\n"
    b"p-a,public_transport,2025-01-01 00:00:00,\n"
    b"p-b,public_transport,2025-01-01 00:00:00,\n"
    b"p-d,public_transport,2025-01-01 00:00:00,\n"
)


def _register(world: World) -> None:
    made = world.client.post(
        world.url(CITY, "operators"),
        json={"operator": OPERATOR, "code": CODE},
        headers=world.as_(CITY),
    )
    assert made.status_code == 201, made.text
    assert made.json()["code"] == CODE and made.json()["operator"] == OPERATOR


def _send(world: World, tail: str, body: bytes, name: str, who: str = OPERATOR) -> object:
    city = world.ids[CITY]
    return world.client.post(
        world.url(who, f"{tail}?city_id={city}&name={name}"), content=body, headers=world.as_(who)
    )


def test_an_operators_batch_by_hand_and_its_replay(world: World) -> None:
    _register(world)
    consent = _send(world, "consents", CONSENT, "consent.csv")
    assert consent.status_code == 201, consent.text  # type: ignore[attr-defined]
    answer = _send(world, "batches", _batch(), "week.csv")
    assert answer.status_code == 201, answer.text  # type: ignore[attr-defined]
    batch = answer.json()  # type: ignore[attr-defined]
    by_reason = batch["summary"]["by_reason"]
    assert (batch["accepted"], batch["held"], batch["rejected"]) == (2, 2, 2), batch
    assert by_reason["impossible_speed"] == 1 and by_reason["no_consent"] == 1
    assert by_reason["overlap"] == 2
    # 2 trips x 10 km x 46.8 gCO2e per passenger-km (Shenzhen metro) = 936 gCO2e
    assert batch["credited_gco2e"] == pytest.approx(2 * 10 * 46.8)
    month = _day(2)[:7]
    totals = world.client.get(world.url(CITY, "totals?by=month"), headers=world.as_(CITY))
    assert totals.json() == [
        {"key": month, "credits": 2, "reversals": 0, "reduction_gco2e": pytest.approx(936.0)}
    ]
    # the same batch again: every event a replay, nothing new, the totals the same
    again = _send(world, "batches", _batch(), "week.csv").json()  # type: ignore[attr-defined]
    assert (again["accepted"], again["held"], again["rejected"], again["replays"]) == (0, 0, 0, 6)
    assert world.client.get(world.url(CITY, "totals"), headers=world.as_(CITY)).json() == (
        totals.json()
    )
    # the operator sees its batches, the city what it received; both logged
    for who in (OPERATOR, CITY):
        listed = world.client.get(world.url(who, "batches"), headers=world.as_(who)).json()
        assert [b["file_name"] for b in listed] == ["week.csv", "week.csv", "consent.csv"]
    assert world.client.get(world.url(OTHER, "batches"), headers=world.as_(OTHER)).json() == []
    verify_chain(world.engine)


def test_a_batch_is_refused_whole_with_its_reasons(world: World) -> None:
    folder = LedgerFolder(city_ledger_dir(world.ledgers, world.ids[CITY]))
    # not registered with the city's scheme
    unregistered = _send(world, "batches", _batch(), "week.csv")
    assert unregistered.status_code == 404  # type: ignore[attr-defined]
    _register(world)
    # a row of another operator's: line 3 (the header is line 1)
    rows = _batch().decode().splitlines()
    rows[2] = rows[2].replace(CODE, "someone-else", 1)
    foreign = _send(world, "batches", ("\n".join(rows) + "\n").encode(), "week.csv")
    assert foreign.status_code == 422  # type: ignore[attr-defined]
    assert foreign.json()["issues"] == [  # type: ignore[attr-defined]
        {
            "file": "week.csv",
            "line": 3,
            "column": "operator",
            "reason": "'someone-else' is not this operator's code 'sz-metro' (an operator sends "
            "only its own users' actions)",
        }
    ]
    # a bad time in a row: the ledger's own check, named by the batch's name
    rows = _batch().decode().splitlines()
    rows[1] = rows[1].replace(f"{_day(2)} 08:30:00", "yesterday", 1)
    bad = _send(world, "batches", ("\n".join(rows) + "\n").encode(), "week.csv")
    assert bad.status_code == 422  # type: ignore[attr-defined]
    issues = bad.json()["issues"]  # type: ignore[attr-defined]
    assert issues and all(i["file"] == "week.csv" for i in issues)
    assert any(i["line"] == 2 and i["column"] == "end_time" for i in issues), issues
    # not a batch file; a city's route on a company; an operator that is not the city
    assert _send(world, "batches", b"x", "week.xlsx").status_code == 422  # type: ignore[attr-defined]
    on_company = world.client.get(world.url(COMPANY, "totals"), headers=world.as_(COMPANY))
    assert on_company.status_code == 404
    assert on_company.json() == {"detail": "this organisation runs no carbon-inclusion scheme"}
    as_operator = world.client.post(
        world.url(OPERATOR, "operators"),
        json={"operator": OTHER, "code": "x"},
        headers=world.as_(OPERATOR),
    )
    assert as_operator.status_code == 403  # a contributor: an admin's change
    # nothing was written to the ledger by any of them
    assert folder.entry_files() == []


def test_registrations_are_refused_for_the_wrong_name_kind_or_code(world: World) -> None:
    def register(operator: str, code: str) -> tuple[int, str]:
        answer = world.client.post(
            world.url(CITY, "operators"),
            json={"operator": operator, "code": code},
            headers=world.as_(CITY),
        )
        return answer.status_code, answer.json()["detail"]

    # no such organisation and one that is not an operator: the same answer
    assert register("Nobody", "n") == register(COMPANY, "n") == (404, "no operator of that name")
    _register(world)
    assert register(OPERATOR, "again")[0] == 409
    assert register(OTHER, CODE) == (409, f"the code '{CODE}' is another operator's")
    assert register(OTHER, "bad code!")[0] == 422
    company = world.client.post(
        world.url(COMPANY, "operators"),
        json={"operator": OPERATOR, "code": "y"},
        headers=world.as_(COMPANY),
    )
    assert company.status_code == 409  # only a city's scheme registers operators
    links = world.client.get(world.url(OPERATOR, "operators"), headers=world.as_(OPERATOR))
    assert [(link["city"], link["code"]) for link in links.json()] == [(CITY, CODE)]


def test_a_city_reviews_held_entries_reverses_a_credit_and_users_see_their_balance(
    world: World,
) -> None:
    _register(world)
    _send(world, "consents", CONSENT, "consent.csv")
    _send(world, "batches", _batch(), "week.csv")
    # the city's reviewers see the two overlapping trips held, with their reason
    held = world.client.get(world.url(CITY, "held"), headers=world.as_(CITY)).json()
    assert sorted((e["event_id"], e["reason"]) for e in held) == [
        ("E5", "overlap"),
        ("E6", "overlap"),
    ]
    # the operator's app shows p-a their balance: 2 x 468 = 936 gCO2e, and its entries
    as_operator = world.client.get(
        world.url(OPERATOR, f"users/p-a?city_id={world.ids[CITY]}"), headers=world.as_(OPERATOR)
    ).json()
    assert as_operator["balance_gco2e"] == pytest.approx(936.0)
    assert sorted(e["event_id"] for e in as_operator["entries"]) == ["E1", "E2"]
    # another operator has sent nothing of p-a's: the same 404 as a user who does not exist
    world.client.post(
        world.url(CITY, "operators"),
        json={"operator": OTHER, "code": "other-bikes"},
        headers=world.as_(CITY),
    )
    for who, user in ((OTHER, "p-a"), (OPERATOR, "p-nobody")):
        answer = world.client.get(
            world.url(who, f"users/{user}?city_id={world.ids[CITY]}"), headers=world.as_(who)
        )
        assert answer.status_code == 404
        assert answer.json() == {"detail": "no such user in the ledger"}
    # fraud found later: E1 reversed by a new entry; again, nothing new; p-a's balance 468
    body = {"operator": CODE, "event_id": "E1", "reason": "card reported stolen"}
    first = world.client.post(world.url(CITY, "reversals"), json=body, headers=world.as_(CITY))
    assert first.status_code == 201, first.text
    assert first.json()["entry"]["credited_gco2e"] == pytest.approx(-468.0)
    again = world.client.post(world.url(CITY, "reversals"), json=body, headers=world.as_(CITY))
    assert again.status_code == 200 and again.json()["new"] is False
    as_city = world.client.get(world.url(CITY, "users/p-a"), headers=world.as_(CITY)).json()
    assert as_city["balance_gco2e"] == pytest.approx(468.0)
    assert as_city["reversed_gco2e"] == pytest.approx(468.0)
    totals = world.client.get(world.url(CITY, "totals"), headers=world.as_(CITY)).json()
    assert totals[0]["reduction_gco2e"] == pytest.approx(468.0) and totals[0]["reversals"] == 1
    # a held or rejected event has nothing to reverse; an unknown one is not found
    for event, status in (("E5", 409), ("E3", 409), ("E99", 404)):
        body = {"operator": CODE, "event_id": event, "reason": "r"}
        answer = world.client.post(world.url(CITY, "reversals"), json=body, headers=world.as_(CITY))
        assert answer.status_code == status, answer.text
        assert "/" not in answer.json()["detail"].replace(f"{CODE}/", "")  # no server path
    # the reversal is in the city's audit log
    audit = world.client.get(
        f"/api/organisations/{world.ids[CITY]}/audit", headers=world.as_(CITY)
    ).json()
    assert [e["action"] for e in audit].count("ledger.reverse") == 1
    verify_chain(world.engine)


def test_a_registrys_evidence_and_a_leaderboard_without_held_accounts(world: World) -> None:
    import hashlib

    _register(world)
    _send(world, "consents", CONSENT, "consent.csv")
    _send(world, "batches", _batch(), "week.csv")
    month = _day(2)[:7]
    evidence = world.client.get(
        world.url(CITY, f"evidence?month={month}"), headers=world.as_(CITY)
    ).json()
    # only p-a's two accepted metro trips count: 2 x 10 km x 46.8 g = 936 gCO2e
    expected = hashlib.sha256(f"{CODE}/E1/credit/468000\n{CODE}/E2/credit/468000\n".encode())
    assert evidence == [
        {
            "month": month,
            "city": "深圳",
            "methodology_id": "shenzhen-metro",
            "methodology_version": 1,
            "credits": 2,
            "reversals": 0,
            "reduction_gco2e": pytest.approx(936.0),
            "users": 1,
            "operators": 1,
            "batches": 1,
            "first_start": f"{_day(2)} 08:00:00",
            "last_end": f"{_day(2)} 18:30:00",
            "entries_sha256": expected.hexdigest(),
        }
    ]
    assert (
        world.client.get(world.url(CITY, "evidence?month=1999-01"), headers=world.as_(CITY)).json()
        == []
    )
    bad = world.client.get(world.url(CITY, "evidence?month=2025-13"), headers=world.as_(CITY))
    assert bad.status_code == 422
    # a second user credited more, then one of theirs held: they leave the board
    day = _day(3)
    more = (
        HEADER
        + "\n".join(
            [
                f"{CODE},F1,p-b,metro,card,深圳,广东,{day} 08:00:00,{day} 08:40:00,A,B,20.0",
                f"{CODE},F2,p-b,metro,card,深圳,广东,{day} 12:00:00,{day} 12:40:00,B,A,20.0",
            ]
        )
        + "\n"
    )
    _send(world, "batches", more.encode(), "more.csv")
    board = world.client.get(world.url(CITY, "leaderboard"), headers=world.as_(CITY)).json()
    # p-b: 2 x 20 x 46.8 = 1,872 g; p-a: 936 g; p-d has held entries (overlap): left out
    assert board == [
        {"rank": 1, "user": "p-b", "credits": 2, "reduction_gco2e": pytest.approx(1872.0)},
        {"rank": 2, "user": "p-a", "credits": 2, "reduction_gco2e": pytest.approx(936.0)},
    ]
    overlap = HEADER + (f"{CODE},F3,p-b,bus,card,深圳,广东,{day} 12:10:00,{day} 12:30:00,C,D,5.0\n")
    _send(world, "batches", overlap.encode(), "overlap.csv")
    board = world.client.get(world.url(CITY, "leaderboard?top=5"), headers=world.as_(CITY)).json()
    assert [r["user"] for r in board] == ["p-a"]

"""The ledger's accounts in the service (docs/service.md "Carbon inclusion"): a city's
reviewers release or reject held entries; an operator redeems its users' credit and asks for
one-time link codes; a citizen signs in with such a code and reads their own balance and
entries, in every city they are linked in, and nothing else.

A citizen is a caller of their own kind (access ``citizen``): their session cookie
(:data:`CITIZEN_COOKIE`) is not the organisations' (``tanlu_session``), so that every route of
an organisation answers a citizen 401, and the citizen's routes answer 401 to everyone else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from tanlu.app.citizen_words import citizen_page
from tanlu.app.ledger_accounts import (
    BAD_CODE,
    citizen_ledger,
    decide_city_held,
    issue_link_code,
    link_citizen,
    redeem_for_user,
    sign_in_citizen,
)
from tanlu.app.ledger_service import ledger_root
from tanlu.errors import StoreError
from tanlu.service.deps import PRINTABLE, Body, Contributor, Reviewer, access
from tanlu.service.ledger import LEDGER, EntryOut, UserAccountOut
from tanlu.service.openapi import RETRY_AFTER, ErrorOut
from tanlu.service.security import CSRF_HEADER, UNSAFE_METHODS, SignInLimit
from tanlu.store.citizens import CITIZEN_SESSION_HOURS, citizen_session, end_citizen_session
from tanlu.store.roles import Role

CITIZEN = "citizen"
CITIZEN_COOKIE = "tanlu_citizen"
CITIZEN_API = "/api/citizen"
UserText = Annotated[str, Field(min_length=1, max_length=200, pattern=PRINTABLE)]
CityId = Annotated[int, Field(ge=1, le=2**31 - 1)]
# a code as typed: its 12 characters, with spaces or dashes between groups
CodeText = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9 -]+$")]


class Decision(Body):
    """A reviewer's decision on a held entry: its operator's code and event id, ``release``
    (credit it, within its methodology's caps) or ``reject``, and why."""

    operator: str = Field(min_length=1, max_length=100, pattern=PRINTABLE)
    event_id: str = Field(min_length=1, max_length=200, pattern=PRINTABLE)
    decision: Literal["release", "reject"]
    reason: str = Field(min_length=1, max_length=1000, pattern=PRINTABLE)


class DecisionOut(BaseModel):
    """The decision's new entry (or the one made before: ``new`` false), with its ``detail``:
    why, and what a cap left of a released credit."""

    entry: EntryOut
    detail: str | None
    new: bool


class NewRedemption(Body):
    """A redemption of ``gco2e`` of a user's balance in the ledger of ``city_id``, once per
    ``redemption_id`` of the operator's."""

    city_id: CityId
    user: UserText
    gco2e: float = Field(gt=0, le=1e9)
    redemption_id: str = Field(min_length=1, max_length=200, pattern=PRINTABLE)


class RedemptionOut(BaseModel):
    entry: EntryOut
    new: bool


class NewLinkCode(Body):
    """A one-time code for the operator's user ``user`` (their pseudonym) in the ledger of
    ``city_id``."""

    city_id: CityId
    user: UserText


class LinkCodeOut(BaseModel):
    """The code, shown once (the service keeps only its SHA-256), and when it expires (UTC)."""

    code: str
    expires_at: str


class CodeIn(Body):
    code: CodeText


class CitizenSessionOut(BaseModel):
    """A citizen's session: the CSRF token its changes send in ``X-CSRF-Token``."""

    csrf_token: str


class CitizenAccountOut(UserAccountOut):
    """The citizen's balance and newest entries in one city's ledger."""

    city: str


class CitizenLedgerOut(BaseModel):
    csrf_token: str
    accounts: list[CitizenAccountOut]


class LinkedOut(BaseModel):
    new: bool


def _citizen(request: Request) -> tuple[int, str]:
    """A dependency: the signed-in citizen's account id and CSRF token, or 401; a change
    without the session's CSRF token is 403."""
    cookie = request.cookies.get(CITIZEN_COOKIE)
    signed_in = citizen_session(request.app.state.engine, cookie) if cookie else None
    if signed_in is None:
        raise HTTPException(
            401, "sign in with a code from your app first (POST /api/citizen/session)"
        )
    if (
        request.method in UNSAFE_METHODS
        and request.headers.get(CSRF_HEADER) != signed_in.csrf_token
    ):
        raise HTTPException(403, f"a change from a browser session needs the {CSRF_HEADER} header")
    return signed_in.citizen_id, signed_in.csrf_token


Citizen = Annotated[tuple[int, str], Depends(_citizen)]


def add_ledger_account_routes(
    app: FastAPI, engine: Engine, limits: SignInLimit, root: Path | None = None
) -> None:
    """The review, redemption, link-code and citizen routes, on ``app``; the cities' ledgers
    under ``root`` (:func:`~tanlu.app.ledger_service.ledger_root`); a citizen's failed codes
    counted by the sign-in limit ``limits`` against the client's address."""
    ledgers = ledger_root(root)

    @app.post(
        LEDGER + "/reviews",
        status_code=201,
        openapi_extra=access(Role.REVIEWER.value),
        responses={200: {"model": DecisionOut, "description": "decided so already: nothing new"}},
    )
    def review(
        organisation_id: int, body: Decision, response: Response, account: Reviewer
    ) -> DecisionOut:
        """Release a held entry of the city's ledger (a new credit, within its methodology's
        caps) or reject it (a new entry crediting nothing), with the reason (recorded in the
        audit log); the same decision again changes nothing (200). 404 for an event the ledger
        has no entry of, 409 for one not held or decided the other way."""
        entry, new = decide_city_held(
            engine,
            ledgers,
            organisation_id,
            body.operator,
            body.event_id,
            body.decision,
            body.reason,
            account.email,
        )
        response.status_code = 201 if new else 200
        detail = entry.pop("detail")
        return DecisionOut(entry=EntryOut(**entry), detail=detail, new=new)

    @app.post(
        LEDGER + "/redemptions",
        status_code=201,
        openapi_extra=access(Role.CONTRIBUTOR.value),
        responses={200: {"model": RedemptionOut, "description": "redeemed already: nothing new"}},
    )
    def redeem(
        organisation_id: int, body: NewRedemption, response: Response, account: Contributor
    ) -> RedemptionOut:
        """Redeem part of the balance of a user whose actions the operator has sent to the
        city's ledger, once per ``redemption_id`` (the same again: 200, nothing new); 404 for
        a user it has sent none of, 409 for a balance too small or an id used for another
        user or amount. Recorded in the operator's and the city's audit logs."""
        entry, new = redeem_for_user(
            engine,
            ledgers,
            organisation_id,
            body.city_id,
            body.user,
            body.gco2e,
            body.redemption_id,
            account.email,
        )
        response.status_code = 201 if new else 200
        return RedemptionOut(entry=EntryOut(**entry), new=new)

    @app.post(LEDGER + "/link-codes", status_code=201, openapi_extra=access(Role.CONTRIBUTOR.value))
    def link_code(organisation_id: int, body: NewLinkCode, account: Contributor) -> LinkCodeOut:
        """A one-time code (15 minutes) for the operator's app to show its user, who enters it
        to sign in to their own account (POST /api/citizen/session) and read their balance;
        only for a user whose actions the operator has sent to the city's ledger (404
        otherwise)."""
        issued = issue_link_code(
            engine, ledgers, organisation_id, body.city_id, body.user, account.email
        )
        return LinkCodeOut(code=issued.code, expires_at=issued.expires_at)

    @app.post(
        CITIZEN_API + "/session",
        openapi_extra=access("public"),
        responses={
            401: {"model": ErrorOut, "description": BAD_CODE},
            429: {
                "model": ErrorOut,
                "description": "too many failed codes lately: try again later",
                "headers": RETRY_AFTER,
            },
        },
    )
    def citizen_sign_in(body: CodeIn, request: Request, response: Response) -> CitizenSessionOut:
        """Sign in as a citizen with a one-time code from an operator's app: to the account
        that reads the code's pseudonym, or a new one; sets the citizen's session cookie and
        returns its CSRF token. A code is good once, for 15 minutes (401 otherwise); 5 failed
        codes from one address in 15 minutes answer 429."""
        client = request.client.host if request.client else "unknown"
        key = f"citizen-code@{client}"
        limits.check(key, client)
        try:
            cookie, csrf = sign_in_citizen(engine, body.code)
        except StoreError:
            limits.failed(key, client)
            raise HTTPException(401, BAD_CODE) from None
        except BaseException:
            limits.failed(key, client)
            raise
        limits.succeeded(key, client)
        response.set_cookie(
            CITIZEN_COOKIE,
            cookie,
            httponly=True,
            secure=True,
            samesite="strict",
            max_age=CITIZEN_SESSION_HOURS * 3600,
            path="/",
        )
        return CitizenSessionOut(csrf_token=csrf)

    @app.post(
        CITIZEN_API + "/links",
        status_code=201,
        openapi_extra=access(CITIZEN, tokens=False),
        responses={200: {"model": LinkedOut, "description": "linked already: nothing new"}},
    )
    def citizen_link(body: CodeIn, response: Response, citizen: Citizen) -> LinkedOut:
        """Link another code's pseudonym (another city's, or another app's) to the signed-in
        citizen's account; 422 for a code unknown, used or expired, 409 for a pseudonym that
        is another account's."""
        new = link_citizen(engine, citizen[0], body.code)
        response.status_code = 201 if new else 200
        return LinkedOut(new=new)

    @app.get(CITIZEN_API + "/ledger", openapi_extra=access(CITIZEN, tokens=False))
    def citizen_accounts(citizen: Citizen) -> CitizenLedgerOut:
        """The signed-in citizen's own balance and newest 200 entries in every city's ledger
        they are linked in, and the session's CSRF token."""
        citizen_id, csrf = citizen
        return CitizenLedgerOut(
            csrf_token=csrf,
            accounts=[
                CitizenAccountOut(
                    **{k: v for k, v in found.items() if k != "entries"},
                    entries=[EntryOut(**e) for e in found["entries"]],
                )
                for found in citizen_ledger(engine, ledgers, citizen_id)
            ],
        )

    @app.get(CITIZEN_API + "/words/{language}", openapi_extra=access("public"))
    def citizen_words(language: Literal["en", "zh"]) -> dict[str, Any]:
        """The citizen's page's words (``/app/citizen.html``) in a language (``en`` or
        ``zh``), with the ledger's statuses, reasons and actions named."""
        return citizen_page(language)

    @app.delete(
        CITIZEN_API + "/session", status_code=204, openapi_extra=access(CITIZEN, tokens=False)
    )
    def citizen_sign_out(citizen: Citizen, request: Request, response: Response) -> None:
        """Sign the citizen's session out."""
        cookie = request.cookies.get(CITIZEN_COOKIE)
        if cookie:
            end_citizen_session(engine, cookie)
        response.delete_cookie(CITIZEN_COOKIE, path="/")

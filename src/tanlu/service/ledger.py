"""The carbon-inclusion ledger's routes (docs/service.md "Carbon inclusion"): a city's scheme
registers operators and reads its ledger's totals; an operator's members send batch files to
a city that registered it and see what the ledger made of each (accepted, held, rejected)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from tanlu.app.ledger_service import (
    BatchRecord,
    SchemeLink,
    city_erasures,
    city_totals,
    forget_city_user,
    held_entries,
    issuance_evidence,
    leaderboard,
    ledger_root,
    list_batches,
    receive_batch,
    receive_consent,
    register_scheme_operator,
    reverse_city_credit,
    scheme_links,
    user_account,
)
from tanlu.app.projects import Spool
from tanlu.errors import InputError, StoreError, TanluError
from tanlu.service.deps import PRINTABLE, Admin, Body, Contributor, Reviewer, Viewer, access
from tanlu.service.threads import HeavyThreads
from tanlu.store.roles import Role

LEDGER = "/api/organisations/{organisation_id}/ledger"
CityQuery = Annotated[int, Query(ge=1, le=2**31 - 1)]
NameQuery = Annotated[str, Query(min_length=1, max_length=255, pattern=PRINTABLE)]
MonthQuery = Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
# the same as a project file's upload: a MiB written at a time, on the thread pool
SPOOL_WRITE_BYTES = 1 << 20


class NewOperator(Body):
    """An operator for the city's scheme: the operator organisation's exact name and the code
    its batch files write in their ``operator`` column."""

    operator: str = Field(min_length=1, max_length=200, pattern=PRINTABLE)
    code: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class SchemeLinkOut(BaseModel):
    id: int
    city_id: int
    city: str
    operator_id: int
    operator: str
    code: str
    created_at: str
    created_by: str


class BatchOut(BaseModel):
    """A batch and what the ledger made of it: ``accepted``, ``held`` and ``rejected`` new
    entries, ``replays`` (events the ledger had already: nothing new), and the rest of the
    ingest's counts in ``summary``."""

    id: int
    city_id: int
    city: str
    operator_id: int
    operator: str
    file_name: str
    file_sha256: str
    received_at: str
    received_by: str
    accepted: int
    held: int
    rejected: int
    replays: int
    credited_gco2e: float
    summary: dict[str, Any]


class EntryOut(BaseModel):
    """An entry of the ledger as a city or an operator reads it back."""

    operator: str
    event_id: str
    user: str | None
    action: str | None
    channel: str | None
    city: str | None
    start_time: str | None
    end_time: str | None
    entry_kind: str
    status: str
    reason: str | None
    methodology_id: str | None
    methodology_version: int | None
    unit: str | None = None
    units: float | None = None
    # the credit before the caps: what a held entry would give if released (None: no methodology)
    raw_gco2e: float | None = None
    credited_gco2e: float


class UserAccountOut(BaseModel):
    """A user's (a pseudonym's) balance in a city's ledger and their newest entries."""

    user: str
    city_id: int
    credited_gco2e: float
    reversed_gco2e: float
    redeemed_gco2e: float
    balance_gco2e: float
    entries: list[EntryOut]


class NewReversal(Body):
    """A credit to take back (fraud found later): its operator's code and event id, and why."""

    operator: str = Field(min_length=1, max_length=100, pattern=PRINTABLE)
    event_id: str = Field(min_length=1, max_length=200, pattern=PRINTABLE)
    reason: str = Field(min_length=1, max_length=1000, pattern=PRINTABLE)


class ReversalOut(BaseModel):
    entry: EntryOut
    new: bool


class NewErasure(Body):
    """A person to forget on request: their pseudonym, and the request it answers (recorded in
    the erasure log and the audit log, so it must not name the pseudonym)."""

    user: str = Field(min_length=1, max_length=200, pattern=PRINTABLE)
    reason: str = Field(min_length=1, max_length=1000, pattern=PRINTABLE)


class ErasedFileOut(BaseModel):
    path: str
    rows: list[int]
    sha256_before: str
    sha256_after: str


class ErasedTotalOut(BaseModel):
    city: str | None
    methodology_id: str
    methodology_version: int
    month: str
    credits: int
    reversals: int
    reduction_gco2e: float


class ErasureOut(BaseModel):
    """An erasure as the ledger's erasure log holds it (docs/ledger.md "Privacy"): no
    pseudonym, the token its entries now carry, what they count, the files rewritten."""

    erasure: int
    erased_at: str
    reason: str
    token: str
    entries: int
    entries_by_kind: dict[str, int]
    consent_rows: int
    reduction_gco2e: float
    balance_gco2e: float
    totals: list[ErasedTotalOut]
    files: list[ErasedFileOut]


class EvidenceOut(BaseModel):
    """A registry's evidence for one month, city, methodology and version (docs/service.md
    "Carbon inclusion")."""

    month: str
    city: str | None
    methodology_id: str
    methodology_version: int
    credits: int
    reversals: int
    reduction_gco2e: float
    users: int
    operators: int
    batches: int
    first_start: str | None
    last_end: str | None
    entries_sha256: str


class RankOut(BaseModel):
    rank: int
    user: str
    credits: int
    reduction_gco2e: float


class TotalOut(BaseModel):
    """Reductions credited (credits less reversals) for one key of ``by``."""

    key: str
    credits: int
    reversals: int
    reduction_gco2e: float


def _link(link: SchemeLink) -> SchemeLinkOut:
    return SchemeLinkOut(**link.__dict__)


def _batch(batch: BatchRecord) -> BatchOut:
    summary = batch.summary
    return BatchOut(
        **{k: v for k, v in batch.__dict__.items() if k != "summary"},
        accepted=int(summary.get("accepted", 0)),
        held=int(summary.get("held", 0)),
        rejected=int(summary.get("rejected", 0)),
        replays=int(summary.get("replays", 0)),
        credited_gco2e=float(summary.get("credited_gco2e", 0.0)),
        summary=summary,
    )


def _refused(error: TanluError) -> JSONResponse:
    """A bad batch (every issue with file, line, column and reason) or a ledger's refusal."""
    content: dict[str, Any] = {"detail": str(error)}
    if isinstance(error, InputError):
        content["issues"] = [
            {"file": i.file, "line": i.line, "column": i.column, "reason": i.reason}
            for i in error.issues
        ]
    return JSONResponse(content, status_code=422)


def add_ledger_routes(
    app: FastAPI,
    engine: Engine,
    max_upload_bytes: int,
    heavy: HeavyThreads,
    root: Path | None = None,
) -> None:
    """The ledger routes, on ``app``; the cities' ledgers under ``root``
    (:func:`~tanlu.app.ledger_service.ledger_root`); batches ingested on the ``heavy``
    threads."""
    ledgers = ledger_root(root)

    @app.get(LEDGER + "/operators", openapi_extra=access(Role.VIEWER.value))
    def operators(organisation_id: int, account: Viewer) -> list[SchemeLinkOut]:
        """A city's registered operators, or the cities an operator is registered with."""
        return [_link(link) for link in scheme_links(engine, organisation_id)]

    @app.post(LEDGER + "/operators", status_code=201, openapi_extra=access(Role.ADMIN.value))
    def new_operator(organisation_id: int, body: NewOperator, account: Admin) -> SchemeLinkOut:
        """Register an operator, named exactly, with the city's scheme under the code its
        batches write (one answer, 404, for a name that is not there and one that is not an
        operator; 409 for an organisation that is not a city, an operator registered already
        or a code taken). Recorded in the audit log."""
        return _link(
            register_scheme_operator(
                engine, organisation_id, body.operator, body.code, account.email
            )
        )

    async def receive(
        request: Request, use_case: Any, organisation_id: int, city_id: int, name: str, actor: str
    ) -> Any:
        spool = await heavy.run(Spool, max_upload_bytes)
        try:
            pending = bytearray()
            async for piece in request.stream():
                pending += piece
                if len(pending) >= SPOOL_WRITE_BYTES:
                    await heavy.run(spool.write, bytes(pending))
                    pending.clear()
            await heavy.run(spool.write, bytes(pending))
            digest = await heavy.run(spool.finish)
            try:
                batch = await heavy.run(
                    use_case,
                    engine,
                    ledgers,
                    organisation_id,
                    city_id,
                    spool.path,
                    digest,
                    name,
                    actor,
                )
            except StoreError:
                raise  # 404, 409, 413, 422 as every route answers them
            except TanluError as error:
                return _refused(error)
        finally:
            await heavy.run(spool.close)
        return _batch(batch)

    upload = {
        "requestBody": {
            "required": False,
            "content": {"application/octet-stream": {"schema": {"type": "string"}}},
        }
    }

    @app.post(
        LEDGER + "/batches",
        status_code=201,
        openapi_extra=access(Role.CONTRIBUTOR.value) | upload,
        response_model=BatchOut,
        responses={413: {"description": "the file is too large"}},
    )
    async def new_batch(
        organisation_id: int,
        request: Request,
        account: Contributor,
        city_id: CityQuery,
        name: NameQuery,
    ) -> Any:
        """Send a batch file of the operator's users' actions (CSV or Parquet, docs/ledger.md
        "Batch files") to the ledger of a city whose scheme registered the operator, as the
        request's body: streamed to disk, checked (every row must be the operator's own) and
        judged; a bad batch (422, every bad row with file, line, column and reason) writes
        nothing; a batch sent again adds nothing (its events are replays)."""
        return await receive(request, receive_batch, organisation_id, city_id, name, account.email)

    @app.post(
        LEDGER + "/consents",
        status_code=201,
        openapi_extra=access(Role.CONTRIBUTOR.value) | upload,
        response_model=BatchOut,
        responses={413: {"description": "the file is too large"}},
    )
    async def new_consents(
        organisation_id: int,
        request: Request,
        account: Contributor,
        city_id: CityQuery,
        name: NameQuery,
    ) -> Any:
        """Send a consent file (docs/ledger.md "Consent": user, scenario, granted_at,
        withdrawn_at) to a city whose scheme registered the operator: its rows replace the
        city's of the same user and scenario (no consent, no credit); a bad file (422) writes
        nothing."""
        return await receive(
            request, receive_consent, organisation_id, city_id, name, account.email
        )

    @app.get(LEDGER + "/batches", openapi_extra=access(Role.VIEWER.value))
    def batches(organisation_id: int, account: Viewer) -> list[BatchOut]:
        """The newest 100 batches the operator sent, or the city received, newest first."""
        return [_batch(batch) for batch in list_batches(engine, organisation_id)]

    @app.get(LEDGER + "/held", openapi_extra=access(Role.REVIEWER.value))
    def held(
        organisation_id: int,
        account: Reviewer,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[EntryOut]:
        """The city's newest held entries, with the reason each was held (404 for an
        organisation that is not a city)."""
        return [EntryOut(**e) for e in held_entries(engine, ledgers, organisation_id, limit)]

    @app.get(LEDGER + "/users/{user}", openapi_extra=access(Role.VIEWER.value))
    def user_balance(
        organisation_id: int,
        user: Annotated[str, PathParam(min_length=1, max_length=200, pattern=PRINTABLE)],
        account: Viewer,
        city_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    ) -> UserAccountOut:
        """A user's balance in a city's ledger and their newest 200 entries: a city reads its
        own ledger; an operator reads, in the ledger of ``city_id``, the balance of a user it
        has sent actions of and its own entries of them (how an operator's app shows a citizen
        their credit). A user the reader has no entry of answers 404, as one who does not
        exist."""
        found = user_account(engine, ledgers, organisation_id, user, city_id)
        return UserAccountOut(
            **{k: v for k, v in found.items() if k != "entries"},
            entries=[EntryOut(**e) for e in found["entries"]],
        )

    @app.post(
        LEDGER + "/reversals",
        status_code=201,
        openapi_extra=access(Role.ADMIN.value),
        responses={200: {"model": ReversalOut, "description": "reversed already: nothing new"}},
    )
    def reverse(
        organisation_id: int, body: NewReversal, response: Response, account: Admin
    ) -> ReversalOut:
        """Reverse an accepted credit of the city's ledger by a new entry, with the reason
        (recorded in the audit log); the same reversal again changes nothing (200). 404 for an
        event the ledger has no credit of, 409 for one not accepted or credited nothing."""
        entry, new = reverse_city_credit(
            engine,
            ledgers,
            organisation_id,
            body.operator,
            body.event_id,
            body.reason,
            account.email,
        )
        response.status_code = 201 if new else 200
        return ReversalOut(entry=EntryOut(**entry), new=new)

    @app.get(LEDGER + "/evidence", openapi_extra=access(Role.VIEWER.value))
    def evidence(
        organisation_id: int, account: Viewer, month: MonthQuery = None
    ) -> list[EvidenceOut]:
        """What a registry needs to issue the city's reductions, by month of the actions, city,
        methodology and version: credits, reversals, the reduction, the users, operators and
        batches behind it, the first and last action and a SHA-256 of the entries counted (404
        for an organisation that is not a city)."""
        return [
            EvidenceOut(**row) for row in issuance_evidence(engine, ledgers, organisation_id, month)
        ]

    @app.get(LEDGER + "/leaderboard", openapi_extra=access(Role.VIEWER.value))
    def ranking(
        organisation_id: int,
        account: Viewer,
        month: MonthQuery = None,
        top: Annotated[int, Query(ge=1, le=1000)] = 20,
    ) -> list[RankOut]:
        """The city's users (pseudonyms) by reduction credited, most first; a user with a held
        entry is left out (404 for an organisation that is not a city)."""
        return [RankOut(**row) for row in leaderboard(engine, ledgers, organisation_id, month, top)]

    @app.get(LEDGER + "/totals", openapi_extra=access(Role.VIEWER.value))
    def totals(
        organisation_id: int,
        account: Viewer,
        by: Annotated[Literal["city", "methodology", "month"], Query()] = "month",
    ) -> list[TotalOut]:
        """The city's reductions credited (credits less reversals) by city, methodology or
        month of the action (404 for an organisation that is not a city)."""
        return [
            TotalOut(
                key=str(row[by]),
                credits=int(row["credits"]),
                reversals=int(row["reversals"]),
                reduction_gco2e=float(row["reduction_gco2e"]),
            )
            for row in city_totals(engine, ledgers, organisation_id, by)
        ]

    @app.post(LEDGER + "/erasures", status_code=201, openapi_extra=access(Role.ADMIN.value))
    def forget(organisation_id: int, body: NewErasure, account: Admin) -> ErasureOut:
        """Forget a person on request (a city's admin): every entry and consent row of the
        pseudonym rewritten under a token of the erasure, places and coordinates cleared, the
        totals and the registry's evidence unchanged; recorded in the ledger's erasure log and
        the audit log without the pseudonym. 404 for a pseudonym the ledger holds nothing of
        (never seen, or forgotten already), 422 for a reason that names it."""
        erasure = forget_city_user(
            engine, ledgers, organisation_id, body.user, body.reason, account.email
        )
        return ErasureOut(**erasure)

    @app.get(LEDGER + "/erasures", openapi_extra=access(Role.ADMIN.value))
    def erasures(organisation_id: int, account: Admin) -> list[ErasureOut]:
        """The city's erasure log, oldest first: each erasure's reason, token, counts, totals
        by city, methodology, version and month, and the files it rewrote with their SHA-256
        before and after (404 for an organisation that is not a city)."""
        return [ErasureOut(**e) for e in city_erasures(engine, ledgers, organisation_id)]

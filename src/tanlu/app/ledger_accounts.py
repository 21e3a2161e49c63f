"""Review of held entries, redemptions and the citizen's own account: the use cases of
``tanlu ledger release|reject-held`` and of the service's routes for them (docs/ledger.md
"Review, redemption and the citizen's account", docs/service.md "Carbon inclusion").
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from tanlu import engine
from tanlu.app.ledger import EntryDocument, china_now, ledger_redeem
from tanlu.app.ledger_service import ENTRY_FIELDS, city_ledger_dir, user_account
from tanlu.errors import ConflictError, NotFoundError, StoreError
from tanlu.ledger import LedgerError, LedgerFolder, load_methodologies
from tanlu.ledger.review import decide_held
from tanlu.store.citizens import (
    IssuedCode,
    citizen_links,
    create_link_code,
    link_with_code,
    sign_in_with_code,
)
from tanlu.store.ledger import (
    operator_link,
    organisation_kind,
    record_ledger_action,
    require_kind,
)
from tanlu.store.roles import OrganisationKind

__all__ = [
    "BAD_CODE",
    "IssuedCode",
    "citizen_ledger",
    "decide_city_held",
    "entry_as_json",
    "issue_link_code",
    "ledger_decide_held",
    "link_citizen",
    "redeem_for_user",
    "sign_in_citizen",
]


def entry_as_json(entry: dict[str, Any]) -> dict[str, Any]:
    """A ledger entry as JSON holds it: times as text (``2025-05-01 08:00:00``)."""
    return {k: v.isoformat(sep=" ") if isinstance(v, dt.datetime) else v for k, v in entry.items()}


def ledger_decide_held(
    ledger_dir: Path,
    operator: str,
    event_id: str,
    decision: str,
    reason: str,
    at: dt.datetime | None = None,
) -> EntryDocument:
    """Release (``decision`` ``release``: credit it, within its methodology's caps) or reject
    (``reject``) a held entry by a new entry; the same decision again changes nothing.

    Raises
    ------
    LedgerError
        No entry of the event, an entry that is not held, one decided the other way already,
        an unknown decision or an empty reason: nothing is written.
    """
    folder = LedgerFolder(ledger_dir)
    registry = load_methodologies(folder.methodology_files())
    con = engine.connect()
    try:
        entry, new = decide_held(
            con, folder, registry, operator, event_id, decision, reason, at or china_now()
        )
    finally:
        engine.close(con)
    return EntryDocument(entry, new)


# --- in the service: a city's review, an operator's redemptions and link codes, a citizen's
# own account (docs/service.md "Carbon inclusion")


def _as_read(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry as a city or an operator reads entries back (``ENTRY_FIELDS``, times as text,
    the credit in gCO2e)."""
    out = {k: entry.get(k) for k in ENTRY_FIELDS if not k.endswith("_mgco2e")}
    out = entry_as_json(out)
    raw = entry.get("raw_mgco2e")
    out["raw_gco2e"] = None if raw is None else int(raw) / 1000
    out["credited_gco2e"] = int(entry.get("credited_mgco2e") or 0) / 1000
    return out


def _without_folder(error: LedgerError, folder: Path) -> str:
    """The ledger's message without the folder on the server (not for the caller)."""
    return str(error).replace(f" in {folder}", "")


def decide_city_held(
    engine: Engine,
    root: Path,
    city_id: int,
    operator: str,
    event_id: str,
    decision: str,
    reason: str,
    actor: str,
) -> tuple[dict[str, Any], bool]:
    """Release or reject a held entry of the city's ledger (``tanlu ledger release`` or
    ``reject-held``) with the reviewer's reason, recorded in the city's audit log; the same
    decision again changes nothing. Returns the decision's entry as the city reads entries,
    with its ``detail``, and whether it is new. An event the ledger has no entry of is not
    found; one not held, or decided the other way, is a :class:`ConflictError`."""
    if organisation_kind(engine, city_id) is not OrganisationKind.CITY:
        raise NotFoundError("this organisation runs no carbon-inclusion scheme")
    folder = city_ledger_dir(root, city_id)
    try:
        done = ledger_decide_held(folder, operator, event_id, decision, reason)
    except LedgerError as error:
        text = _without_folder(error, folder)
        raise (NotFoundError if text.startswith("no entry") else ConflictError)(text) from None
    entry = {**_as_read(done.entry), "detail": done.entry["detail"]}
    if done.new:
        record_ledger_action(
            engine,
            city_id,
            f"ledger.{decision}",
            f"ledger entry {operator}/{event_id}",
            reason,
            # no pseudonym: the audit trail cannot be edited, and a person may be forgotten
            {"credited_gco2e": entry["credited_gco2e"]},
            actor,
        )
    return entry, done.new


def _sent_by(engine: Engine, root: Path, operator_id: int, city_id: int, user: str) -> str:
    """The operator's code in the city's scheme, when it has sent actions of ``user`` there;
    :class:`NotFoundError` otherwise (the same for a user who does not exist, a city that did
    not register the operator, and an organisation that is not an operator)."""
    require_kind(engine, operator_id, OrganisationKind.OPERATOR)
    link = operator_link(engine, operator_id, city_id)
    user_account(engine, root, operator_id, user, city_id, limit=1)
    return link.code


def redeem_for_user(
    engine: Engine,
    root: Path,
    operator_id: int,
    city_id: int,
    user: str,
    amount_gco2e: float,
    redemption_id: str,
    actor: str,
) -> tuple[dict[str, Any], bool]:
    """Redeem ``amount_gco2e`` of a user's balance in a city's ledger for the operator that has
    sent the user's actions there, once per (operator, ``redemption_id``): the same redemption
    again changes nothing; the id used for another user or amount, or a balance too small, is
    a :class:`ConflictError`. Recorded in the operator's and the city's audit logs."""
    code = _sent_by(engine, root, operator_id, city_id, user)
    folder = city_ledger_dir(root, city_id)
    try:
        done = ledger_redeem(folder, user, amount_gco2e, redemption_id, code)
    except LedgerError as error:
        raise ConflictError(_without_folder(error, folder)) from None
    entry = _as_read(done.entry)
    taken_mgco2e = -int(done.entry["credited_mgco2e"])
    if not done.new and (entry["user"] != user or taken_mgco2e != round(amount_gco2e * 1000)):
        raise ConflictError(
            f"the redemption id '{redemption_id}' was used already for another user or amount"
        )
    if done.new:
        for organisation_id in (operator_id, city_id):
            record_ledger_action(
                engine,
                organisation_id,
                "ledger.redeem",
                f"ledger redemption {code}/{redemption_id}",
                "",
                {"redeemed_gco2e": -entry["credited_gco2e"], "city_id": city_id},
                actor,
            )
    return entry, done.new


def issue_link_code(
    engine: Engine, root: Path, operator_id: int, city_id: int, user: str, actor: str
) -> IssuedCode:
    """A one-time code (15 minutes) with which the operator's user ``user`` signs in to their
    own account and reads their balance in the city's ledger; only for a user whose actions
    the operator has sent there (:class:`NotFoundError` otherwise)."""
    _sent_by(engine, root, operator_id, city_id, user)
    return create_link_code(engine, operator_id, city_id, user, actor)


BAD_CODE = "the code is unknown, used already or expired: ask the app for a new one"


def sign_in_citizen(engine: Engine, code: str) -> tuple[str, str]:
    """A citizen's session from a link code: (cookie, CSRF token);
    :class:`~tanlu.errors.StoreError` with :data:`BAD_CODE` for a code that is unknown, used or
    expired."""
    started = sign_in_with_code(engine, code)
    if started is None:
        raise StoreError(BAD_CODE)
    return started


def link_citizen(engine: Engine, citizen_id: int, code: str) -> bool:
    """Link a code's pseudonym to the signed-in citizen's account: ``True`` when new."""
    linked = link_with_code(engine, citizen_id, code)
    if linked is None:
        raise StoreError(BAD_CODE)
    return linked


def citizen_ledger(engine: Engine, root: Path, citizen_id: int) -> list[dict[str, Any]]:
    """The citizen's own balance and newest entries in every city's ledger their account is
    linked to (a pseudonym with no entry left, after an erasure, reads as nothing)."""
    accounts = []
    for link in citizen_links(engine, citizen_id):
        try:
            found = user_account(engine, root, link.city_id, link.user)
        except NotFoundError:
            found = {
                "user": link.user,
                "city_id": link.city_id,
                **dict.fromkeys(
                    ("credited_gco2e", "reversed_gco2e", "redeemed_gco2e", "balance_gco2e"), 0.0
                ),
                "entries": [],
            }
        accounts.append({**found, "city": link.city})
    return accounts

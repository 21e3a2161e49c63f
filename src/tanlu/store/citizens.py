"""The citizen's own account (docs/service.md "The citizen's account"): one-time link codes an
operator's app asks for one of its users, the citizens' accounts, the pseudonyms each is
linked to (one account per pseudonym of a city) and their browser sessions.

tanlu never learns who a citizen is: an account is an id; the operator, which knows its user,
vouches for the pseudonym by asking for a code, and whoever enters the code within its time is
signed in to the account that reads that pseudonym. Codes and session cookies are kept only as
their SHA-256 (a code is about 59 random bits and lives 15 minutes; a cookie is 256 bits).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, and_, bindparam, delete, select, update
from sqlalchemy.orm import Session

from tanlu.errors import ConflictError
from tanlu.store.database import now, read_connection, session_scope
from tanlu.store.models import (
    Citizen,
    CitizenLink,
    CitizenSession,
    LedgerLinkCode,
    Organisation,
)

# A code as a person types it from a phone: 12 characters of 30 (no 0/O, 1/I/L, U), about
# 12 x log2(30) = 58.9 bits, shown in groups of four (ABCD-EFGH-JKMN).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
CODE_LENGTH = 12
CODE_MINUTES = 15
CITIZEN_SESSION_HOURS = 8
_SEPARATORS = re.compile(r"[\s-]+")

__all__ = [
    "CITIZEN_SESSION_HOURS",
    "CODE_MINUTES",
    "CitizenLinkRow",
    "IssuedCode",
    "citizen_links",
    "citizen_session",
    "create_link_code",
    "end_citizen_session",
    "link_with_code",
    "sign_in_with_code",
]


@dataclass(frozen=True)
class IssuedCode:
    """A new link code, shown once (only its SHA-256 is kept), and when it expires (UTC)."""

    code: str
    expires_at: str


@dataclass(frozen=True)
class CitizenLinkRow:
    """A pseudonym (``user``) of a city's ledger that the citizen's account reads."""

    city_id: int
    city: str
    user: str
    linked_at: str


@dataclass(frozen=True)
class CitizenSignedIn:
    """A citizen's browser session: the account and the CSRF token its changes send."""

    citizen_id: int
    csrf_token: str


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def normal_code(code: str) -> str:
    """A code as typed (any case, spaces or dashes between groups) in its stored form."""
    return _SEPARATORS.sub("", code).upper()


def _utc(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def create_link_code(
    engine: Engine, operator_id: int, city_id: int, user: str, actor: str
) -> IssuedCode:
    """A new one-time code for the pseudonym ``user`` of the city's ledger, asked for by the
    operator (the caller checks that the operator has sent that user's actions there); codes
    expired already are deleted as new ones come."""
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    created = datetime.now(UTC)
    expires_at = _utc(created + timedelta(minutes=CODE_MINUTES))
    with session_scope(engine) as session:
        session.execute(delete(LedgerLinkCode).where(LedgerLinkCode.expires_at <= _utc(created)))
        session.add(
            LedgerLinkCode(
                code_sha256=_sha256(code),
                operator_id=operator_id,
                city_id=city_id,
                pseudonym=user,
                created_at=_utc(created),
                created_by=actor,
                expires_at=expires_at,
            )
        )
    return IssuedCode("-".join(code[i : i + 4] for i in range(0, CODE_LENGTH, 4)), expires_at)


def _use_code(session: Session, code: str) -> LedgerLinkCode | None:
    """Mark an unused, unexpired code used (once: of two uses at once, one changes the row)
    and return it; ``None`` for a code that is unknown, used or expired."""
    digest = _sha256(normal_code(code))
    moment = now()
    changed = session.execute(
        update(LedgerLinkCode)
        .where(
            and_(
                LedgerLinkCode.code_sha256 == digest,
                LedgerLinkCode.used_at.is_(None),
                LedgerLinkCode.expires_at > moment,
            )
        )
        .values(used_at=moment)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.scalar(select(LedgerLinkCode).where(LedgerLinkCode.code_sha256 == digest))


def _linked_citizen(session: Session, found: LedgerLinkCode) -> int | None:
    return session.scalar(
        select(CitizenLink.citizen_id).where(
            CitizenLink.city_id == found.city_id, CitizenLink.pseudonym == found.pseudonym
        )
    )


def _link(session: Session, citizen_id: int, found: LedgerLinkCode) -> None:
    session.add(
        CitizenLink(
            citizen_id=citizen_id,
            city_id=found.city_id,
            pseudonym=found.pseudonym,
            operator_id=found.operator_id,
            linked_at=now(),
        )
    )


def _new_session(session: Session, citizen_id: int) -> tuple[str, str]:
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    started = datetime.now(UTC)
    session.execute(delete(CitizenSession).where(CitizenSession.expires_at <= _utc(started)))
    session.add(
        CitizenSession(
            id_sha256=_sha256(cookie),
            citizen_id=citizen_id,
            csrf_token=csrf,
            created_at=_utc(started),
            expires_at=_utc(started + timedelta(hours=CITIZEN_SESSION_HOURS)),
        )
    )
    return cookie, csrf


def sign_in_with_code(engine: Engine, code: str) -> tuple[str, str] | None:
    """Use a code: a new session (cookie, CSRF token) of the account linked to the code's
    pseudonym, or of a new account linked to it; ``None`` for a code that is unknown, used or
    expired (one answer for the three)."""
    with session_scope(engine) as session:
        found = _use_code(session, code)
        if found is None:
            return None
        citizen_id = _linked_citizen(session, found)
        if citizen_id is None:
            citizen = Citizen(created_at=now())
            session.add(citizen)
            session.flush()
            citizen_id = citizen.id
            _link(session, citizen_id, found)
        return _new_session(session, citizen_id)


def link_with_code(engine: Engine, citizen_id: int, code: str) -> bool | None:
    """Link the code's pseudonym to a signed-in citizen's account (their account in another
    city, or of another operator's app): ``True`` when linked now, ``False`` when it was
    already this account's, ``None`` for a code that is unknown, used or expired.

    Raises
    ------
    ConflictError
        The pseudonym is another account's (the code is used all the same).
    """
    with session_scope(engine) as session:
        found = _use_code(session, code)
        if found is None:
            return None
        owner = _linked_citizen(session, found)
        if owner is None:
            _link(session, citizen_id, found)
            return True
    if owner != citizen_id:
        raise ConflictError(
            "this code's account in the ledger is linked to another citizen account: sign in "
            "with the code alone to read it"
        )
    return False


_CITIZEN_SESSION = select(CitizenSession.citizen_id, CitizenSession.csrf_token).where(
    CitizenSession.id_sha256 == bindparam("id_sha256"),
    CitizenSession.expires_at > bindparam("now"),
)


def citizen_session(engine: Engine, cookie: str) -> CitizenSignedIn | None:
    """The citizen of an unexpired session; ``None`` otherwise."""
    with read_connection(engine) as connection:
        row = connection.execute(
            _CITIZEN_SESSION, {"id_sha256": _sha256(cookie), "now": now()}
        ).first()
    return None if row is None else CitizenSignedIn(int(row[0]), str(row[1]))


def end_citizen_session(engine: Engine, cookie: str) -> None:
    """Sign a citizen's session out (nothing happens for an unknown one)."""
    with session_scope(engine) as session:
        session.execute(delete(CitizenSession).where(CitizenSession.id_sha256 == _sha256(cookie)))


def citizen_links(engine: Engine, citizen_id: int) -> list[CitizenLinkRow]:
    """The pseudonyms the citizen's account reads, by city id."""
    with session_scope(engine) as session:
        rows = session.execute(
            select(CitizenLink, Organisation.name)
            .join(Organisation, Organisation.id == CitizenLink.city_id)
            .where(CitizenLink.citizen_id == citizen_id)
            .order_by(CitizenLink.city_id, CitizenLink.pseudonym)
        ).all()
        return [
            CitizenLinkRow(link.city_id, name, link.pseudonym, link.linked_at)
            for link, name in rows
        ]


def forget_pseudonym(engine: Engine, city_id: int, pseudonym: str) -> int:
    """Delete every link of a citizen's account to ``pseudonym`` in the city, and every link
    code issued for it, used or not (an erasure: the service keeps no row naming the person's
    pseudonym). Returns how many links went; the citizen's account stays, with its other links."""
    with session_scope(engine) as session:
        links = session.execute(
            delete(CitizenLink).where(
                CitizenLink.city_id == city_id, CitizenLink.pseudonym == pseudonym
            )
        )
        session.execute(
            delete(LedgerLinkCode).where(
                LedgerLinkCode.city_id == city_id, LedgerLinkCode.pseudonym == pseudonym
            )
        )
        return int(getattr(links, "rowcount", 0) or 0)

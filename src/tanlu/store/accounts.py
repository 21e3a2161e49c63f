"""Organisations, users, their roles, and API tokens.

Passwords are kept only as Argon2id hashes (argon2-cffi, its default parameters: RFC 9106's
low-memory choice); API tokens only as SHA-256 (a token is 256 random bits, so a fast hash
suffices). Every change is written with its audit entry in one transaction.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, bindparam, delete, select
from sqlalchemy.orm import Session

from tanlu.errors import StoreError
from tanlu.store.audit import AuditRecord, append_in, write
from tanlu.store.database import now, read_connection, session_scope
from tanlu.store.models import ApiToken, BrowserSession, Membership, Organisation, User
from tanlu.store.roles import OrganisationKind, Role

# NIST SP 800-63B, 5.1.1.2: memorized secrets of at least 8 characters, longer allowed; tanlu
# asks for 12 for the accounts that can approve a year's inventory.
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")
TOKEN_PREFIX = "tanlu_"
_HASHER = PasswordHasher()


def hash_password(password: str) -> str:
    """The Argon2id hash of a password (with its own salt and parameters)."""
    return _HASHER.hash(password)


def warm_up() -> None:
    """Make the dummy hash now (the service calls this at start), so that the first sign-in
    with an unknown e-mail takes no longer than the others."""
    _dummy_hash()


@functools.cache
def _dummy_hash() -> str:
    """A hash of a random password, made once, that an unknown e-mail's sign-in is checked
    against."""
    return hash_password(secrets.token_urlsafe(16))


def password_matches(password_hash: str, password: str) -> bool:
    """Whether ``password`` is the one ``password_hash`` was made from."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StoreError(
            f"the password has {len(password)} characters: at least "
            f"{MIN_PASSWORD_LENGTH} are needed"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise StoreError(f"the password is longer than {MAX_PASSWORD_LENGTH} characters")


def _normal_email(email: str) -> str:
    normal = email.strip().lower()
    if not EMAIL.match(normal) or len(normal) > 254:
        raise StoreError(f"'{email}' is not an e-mail address")
    return normal


def _role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise StoreError(
            f"role '{role}' is not one of {', '.join(r.value for r in Role)}"
        ) from None


@dataclass(frozen=True)
class Account:
    """A user as one organisation sees them."""

    user_id: int
    email: str
    organisation_id: int
    organisation: str
    role: Role
    # the organisation's kind (OrganisationKind's value): what the pages offer in it
    kind: str = OrganisationKind.COMPANY.value


def _organisation(session: Session, name: str, kind: OrganisationKind, actor: str) -> Organisation:
    found = session.scalar(select(Organisation).where(Organisation.name == name))
    if found is not None:
        return found
    if not name.strip() or len(name) > 200:
        raise StoreError(f"'{name}' is not an organisation name (1 to 200 characters)")
    organisation = Organisation(name=name, kind=kind.value, created_at=now())
    session.add(organisation)
    session.flush()
    append_in(
        session,
        AuditRecord(
            actor=actor,
            action="organisation.create",
            target=f"organisation {organisation.id}",
            organisation_id=organisation.id,
            after={"name": name, "kind": kind.value},
        ),
    )
    return organisation


def create_user(
    engine: Engine,
    email: str,
    password: str,
    organisation: str,
    role: str,
    actor: str,
    kind: OrganisationKind = OrganisationKind.COMPANY,
) -> Account:
    """Add a user with a role in an organisation (created when it does not exist yet).

    Raises
    ------
    StoreError
        A bad e-mail, role or password, or an e-mail already taken; nothing is written.
    """
    normal = _normal_email(email)
    member_role = _role(role)
    _check_password(password)
    password_hash = hash_password(password)

    def work(session: Session) -> Account:
        if session.scalar(select(User.id).where(User.email == normal)) is not None:
            raise StoreError(f"a user with the e-mail {normal} already exists")
        org = _organisation(session, organisation, kind, actor)
        user = User(email=normal, password_hash=password_hash, active=True, created_at=now())
        session.add(user)
        session.flush()
        session.add(Membership(user_id=user.id, organisation_id=org.id, role=member_role.value))
        append_in(
            session,
            AuditRecord(
                actor=actor,
                action="user.create",
                target=f"user {user.id}",
                organisation_id=org.id,
                after={"email": normal, "organisation": org.name, "role": member_role.value},
            ),
        )
        return Account(user.id, normal, org.id, org.name, member_role, org.kind)

    return write(engine, work)


def authenticate(engine: Engine, email: str, password: str) -> list[Account]:
    """The memberships of an active user whose password matches; empty otherwise (the same
    answer for an unknown e-mail and a wrong password)."""
    with session_scope(engine) as session:
        user = session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None:
            # spend the same time as a real check, so that timing does not tell which e-mails exist
            password_matches(_dummy_hash(), password)
            return []
        # the password is checked first, so that an inactive account answers as slowly
        if not password_matches(user.password_hash, password) or not user.active:
            return []
        return _accounts(session, user)


def _accounts(session: Session, user: User) -> list[Account]:
    rows = session.execute(
        select(Membership.role, Organisation.id, Organisation.name, Organisation.kind)
        .join(Organisation, Organisation.id == Membership.organisation_id)
        .where(Membership.user_id == user.id)
        .order_by(Organisation.name)
    ).all()
    return [
        Account(user.id, user.email, org_id, name, Role(role), kind)
        for role, org_id, name, kind in rows
    ]


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(engine: Engine, email: str, organisation: str, name: str, actor: str) -> str:
    """A new API token for a member of an organisation, acting with the member's role there;
    the token itself is returned once and never stored."""
    if not name.strip() or len(name) > 100:
        raise StoreError(f"'{name}' is not a token name (1 to 100 characters)")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)

    def work(session: Session) -> None:
        account = _membership(session, email, organisation)
        row = ApiToken(
            user_id=account.user_id,
            organisation_id=account.organisation_id,
            name=name,
            token_sha256=_token_hash(token),
            created_at=now(),
        )
        session.add(row)
        session.flush()
        append_in(
            session,
            AuditRecord(
                actor=actor,
                action="token.create",
                target=f"token {row.id}",
                organisation_id=account.organisation_id,
                after={"user": account.email, "name": name},
            ),
        )

    write(engine, work)
    return token


def _membership(session: Session, email: str, organisation: str) -> Account:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise StoreError(f"no user with the e-mail {email.strip().lower()}")
    for account in _accounts(session, user):
        if account.organisation == organisation:
            return account
    raise StoreError(f"{user.email} is not a member of '{organisation}'")


# The account of a token, built once (every request by token asks it; building a statement costs
# more than running it on SQLite).
_TOKEN_ACCOUNT = (
    select(
        User.id, User.email, Organisation.id, Organisation.name, Membership.role, Organisation.kind
    )
    .select_from(ApiToken)
    .join(User, User.id == ApiToken.user_id)
    .join(
        Membership,
        (Membership.user_id == ApiToken.user_id)
        & (Membership.organisation_id == ApiToken.organisation_id),
    )
    .join(Organisation, Organisation.id == ApiToken.organisation_id)
    .where(
        ApiToken.token_sha256 == bindparam("token_sha256"),
        ApiToken.revoked_at.is_(None),
        User.active.is_(True),
    )
)


def token_account(engine: Engine, token: str) -> Account | None:
    """The account an unrevoked token of an active user acts as; ``None`` for any other token.
    One query: every request by token asks it."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    with read_connection(engine) as connection:
        row = connection.execute(_TOKEN_ACCOUNT, {"token_sha256": _token_hash(token)}).first()
    if row is None:
        return None
    user_id, email, organisation_id, organisation, role, kind = row
    return Account(user_id, email, organisation_id, organisation, Role(role), kind)


def revoke_token(engine: Engine, token: str, actor: str, reason: str) -> None:
    """Revoke a token (recorded with the reason); revoking it again is an error."""

    def work(session: Session) -> None:
        row = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == _token_hash(token)))
        if row is None:
            raise StoreError("no such token")
        if row.revoked_at is not None:
            raise StoreError(f"token {row.id} was already revoked at {row.revoked_at}")
        row.revoked_at = now()
        append_in(
            session,
            AuditRecord(
                actor=actor,
                action="token.revoke",
                target=f"token {row.id}",
                reason=reason,
                organisation_id=row.organisation_id,
                before={"revoked_at": None},
                after={"revoked_at": row.revoked_at},
            ),
        )

    write(engine, work)


SESSION_HOURS = 8


@dataclass(frozen=True)
class SignedIn:
    """A browser session: the user's memberships and the CSRF token its changes must send."""

    email: str
    accounts: tuple[Account, ...]
    csrf_token: str


def start_session(engine: Engine, email: str) -> tuple[str, str]:
    """A new session for a user who has just signed in: the cookie value (kept only as its
    SHA-256) and the CSRF token."""
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    started = datetime.now(UTC)
    with session_scope(engine) as session:
        user = session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None:
            raise StoreError(f"no user with the e-mail {email.strip().lower()}")
        # expired sessions go as new ones come, so that the table does not grow without end
        session.execute(delete(BrowserSession).where(BrowserSession.expires_at <= now()))
        session.add(
            BrowserSession(
                id_sha256=_token_hash(cookie),
                user_id=user.id,
                csrf_token=csrf,
                created_at=started.isoformat(timespec="microseconds"),
                expires_at=(started + timedelta(hours=SESSION_HOURS)).isoformat(
                    timespec="microseconds"
                ),
            )
        )
    return cookie, csrf


# A session's user and memberships in one statement (every page's request by cookie asks it):
# the session outer-joined to the user's memberships and their organisations, by name.
_SESSION_USER = (
    select(
        User.id,
        User.email,
        BrowserSession.csrf_token,
        Membership.role,
        Organisation.id.label("organisation_id"),
        Organisation.name,
        Organisation.kind,
    )
    .select_from(BrowserSession)
    .join(User, User.id == BrowserSession.user_id)
    .outerjoin(Membership, Membership.user_id == User.id)
    .outerjoin(Organisation, Organisation.id == Membership.organisation_id)
    .where(
        BrowserSession.id_sha256 == bindparam("id_sha256"),
        BrowserSession.expires_at > bindparam("now"),
        User.active.is_(True),
    )
    .order_by(Organisation.name)
)


def session_user(engine: Engine, cookie: str) -> SignedIn | None:
    """The signed-in user of an unexpired session of an active user; ``None`` otherwise."""
    with read_connection(engine) as connection:
        rows = connection.execute(
            _SESSION_USER, {"id_sha256": _token_hash(cookie), "now": now()}
        ).all()
    if not rows:
        return None
    user_id, email, csrf_token = rows[0].id, rows[0].email, rows[0].csrf_token
    accounts = tuple(
        Account(user_id, email, row.organisation_id, row.name, Role(row.role), row.kind)
        for row in rows
        if row.organisation_id is not None
    )
    return SignedIn(email, accounts, csrf_token)


def end_session(engine: Engine, cookie: str) -> None:
    """Sign a session out (nothing happens for an unknown one)."""
    with session_scope(engine) as session:
        row = session.get(BrowserSession, _token_hash(cookie))
        if row is not None:
            session.delete(row)


@dataclass(frozen=True)
class Member:
    email: str
    role: Role
    active: bool


def list_members(engine: Engine, organisation_id: int) -> list[Member]:
    """The members of one organisation, by e-mail."""
    with session_scope(engine) as session:
        rows = session.execute(
            select(User.email, Membership.role, User.active)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.organisation_id == organisation_id)
            .order_by(User.email)
        ).all()
    return [Member(email, Role(role), active) for email, role, active in rows]


@dataclass(frozen=True)
class OrganisationInfo:
    id: int
    name: str
    kind: str
    parent_id: int | None


def organisation_info(engine: Engine, organisation_id: int) -> OrganisationInfo | None:
    with session_scope(engine) as session:
        row = session.get(Organisation, organisation_id)
        if row is None:
            return None
        return OrganisationInfo(row.id, row.name, row.kind, row.parent_id)

"""The service's administration use cases: bring the database's schema up to date, add users
and API tokens, verify the audit log. Each opens the database by URL (``--db``, else
``$TANLU_DATABASE_URL``, else a SQLite file in the working folder) and closes it again."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Engine

from tanlu.store.accounts import Account, create_token, create_user, revoke_token
from tanlu.store.audit import ChainReport, verify_chain
from tanlu.store.database import (
    current_revision,
    head_revision,
    open_engine,
    require_current,
    upgrade,
)
from tanlu.store.roles import OrganisationKind

T = TypeVar("T")


@contextmanager
def _database(url: str | None, current: bool = True) -> Iterator[Engine]:
    engine = open_engine(url)
    try:
        if current:
            require_current(engine)
        yield engine
    finally:
        engine.dispose()


@dataclass(frozen=True)
class UpgradeDocument:
    """What ``tanlu db upgrade`` did: the database (password hidden) and its schema revision
    before (``None``: a new database) and after."""

    database: str
    before: str | None
    after: str


def upgrade_database(url: str | None = None) -> UpgradeDocument:
    """Create the database's tables or bring them to the newest schema (idempotent)."""
    with _database(url, current=False) as engine:
        before, after = upgrade(engine)
        return UpgradeDocument(engine.url.render_as_string(hide_password=True), before, after)


def upgrade_new_database(url: str | None = None) -> UpgradeDocument:
    """Give a database with no schema at all its tables (the service's first start); one at an
    older schema is left for ``tanlu db upgrade``, and refused."""
    with _database(url, current=False) as engine:
        name = engine.url.render_as_string(hide_password=True)
        if current_revision(engine) is None:  # raises StoreError when it cannot be opened
            before, after = upgrade(engine)
            return UpgradeDocument(name, before, after)
        require_current(engine)
        return UpgradeDocument(name, head_revision(), head_revision())


def _with(url: str | None, job: Callable[[Engine], T]) -> T:
    with _database(url) as engine:
        return job(engine)


def add_user(
    email: str,
    password: str,
    organisation: str,
    role: str,
    actor: str,
    kind: OrganisationKind = OrganisationKind.COMPANY,
    url: str | None = None,
) -> Account:
    """Add a user with a role in an organisation (:func:`tanlu.store.create_user`)."""
    return _with(url, lambda e: create_user(e, email, password, organisation, role, actor, kind))


def add_token(email: str, organisation: str, name: str, actor: str, url: str | None = None) -> str:
    """A new API token for a member of an organisation (:func:`tanlu.store.create_token`)."""
    return _with(url, lambda e: create_token(e, email, organisation, name, actor))


def remove_token(token: str, reason: str, actor: str, url: str | None = None) -> None:
    """Revoke an API token (:func:`tanlu.store.accounts.revoke_token`)."""
    _with(url, lambda e: revoke_token(e, token, actor, reason))


def verify_audit(url: str | None = None) -> ChainReport:
    """Recompute the audit log's hash chain (:func:`tanlu.store.verify_chain`)."""
    return _with(url, verify_chain)


__all__ = [
    "UpgradeDocument",
    "add_token",
    "add_user",
    "open_engine",
    "remove_token",
    "upgrade_database",
    "upgrade_new_database",
    "verify_audit",
]

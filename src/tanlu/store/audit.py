"""The audit trail: append-only, each entry hash-chained to the one before it.

An entry's hash is the SHA-256 of its fields (:data:`HASHED_FIELDS`) and the previous entry's
hash, written as canonical JSON; the first entry follows :data:`GENESIS`. :func:`verify_chain`
recomputes every hash in order, so that editing an entry (its hash no longer matches), removing
one (the next entry's ``previous_hash`` no longer matches, or the head points past the end) or
inserting one out of order is found and named.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from tanlu.errors import AuditError, BusyError, StoreError
from tanlu.store.database import now, session_scope
from tanlu.store.models import AuditEntry, AuditHead

GENESIS = "0" * 64
HASHED_FIELDS: tuple[str, ...] = (
    "id",
    "at",
    "actor",
    "organisation_id",
    "action",
    "target",
    "reason",
    "before_digest",
    "after_digest",
    "previous_hash",
)
# How often an append retries when another writer appended first (each retry reads the chain
# again); the unique previous_hash makes the losing insert fail instead of forking the chain.
# On PostgreSQL a write locks the chain's head row first (SELECT ... FOR UPDATE, :func:`write`),
# so writers wait for each other instead: only the very first entry's writers (no head row yet)
# and SQLite's (the whole file locked) retry. Without the lock, 3 writers of 15 entries each on
# PostgreSQL lost 20 times in a row under a full test run's load (fresh-clone CI, 2026-12-05).
APPEND_ATTEMPTS = 20
# PostgreSQL's deadlock_detected and serialization_failure: the transaction may be run again.
RETRY_SQLSTATES = frozenset({"40P01", "40001"})


def digest(value: Any) -> str:
    """SHA-256 of a value as canonical JSON (sorted keys, no spaces): the before/after digest
    of a change."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def entry_hash(fields: dict[str, Any]) -> str:
    """The hash of an entry from its :data:`HASHED_FIELDS`."""
    return digest({name: fields[name] for name in HASHED_FIELDS})


def _fields(entry: AuditEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in HASHED_FIELDS}


@dataclass(frozen=True)
class AuditRecord:
    """What happened, as the caller states it (who, what, on what, why, before and after)."""

    actor: str
    action: str
    target: str
    reason: str = ""
    organisation_id: int | None = None
    before: Any = None
    after: Any = None


def append_in(session: Session, record: AuditRecord) -> AuditEntry:
    """Append ``record`` inside the caller's transaction (so that the change and its entry are
    written together or not at all); the head moves to it, held locked until the transaction
    ends (PostgreSQL; SQLite locks the whole file when it writes)."""
    head = session.get(AuditHead, 1, with_for_update=True)
    previous_id, previous_hash = (head.last_id, head.last_hash) if head else (0, GENESIS)
    fields: dict[str, Any] = {
        "id": previous_id + 1,
        "at": now(),
        "actor": record.actor,
        "organisation_id": record.organisation_id,
        "action": record.action,
        "target": record.target,
        "reason": record.reason,
        "before_digest": None if record.before is None else digest(record.before),
        "after_digest": None if record.after is None else digest(record.after),
        "previous_hash": previous_hash,
    }
    entry = AuditEntry(**fields, entry_hash=entry_hash(fields))
    session.add(entry)
    if head is None:
        session.add(AuditHead(id=1, last_id=entry.id, last_hash=entry.entry_hash))
    else:
        head.last_id, head.last_hash = entry.id, entry.entry_hash
    session.flush()
    return entry


T = TypeVar("T")


def lock_chain(session: Session) -> None:
    """Lock the chain's head row until the transaction ends (PostgreSQL's ``SELECT ... FOR
    UPDATE``; nothing on SQLite, which locks the whole file when it writes, nor before the first
    entry, when there is no head row yet)."""
    session.get(AuditHead, 1, with_for_update=True)


def write(engine: Engine, work: Callable[[Session], T]) -> T:
    """Run ``work`` (a change and its audit entry) in one transaction, again from the start when
    another writer committed first: two writers that read the same head both try to append the
    same entry id after the same hash, and the second one's insert fails on the unique keys
    or finds the database locked (SQLite); on PostgreSQL the second waits for the head row's
    lock (:func:`lock_chain`, taken before ``work`` starts) and is run again only on a deadlock.
    ``work`` reads what it needs inside its transaction, so it sees the other writer's change,
    after the wait or on its retry (a duplicate e-mail then fails as a :class:`StoreError`). Any
    other database error becomes a :class:`StoreError` too.
    """
    for attempt in range(APPEND_ATTEMPTS):
        try:
            with session_scope(engine) as session:
                # before the work reads anything: what it checks is then what it writes after
                lock_chain(session)
                return work(session)
        except IntegrityError:
            continue
        except OperationalError as error:
            retry = getattr(error.orig, "sqlstate", None) in RETRY_SQLSTATES
            if not retry and "locked" not in str(error.orig):
                raise StoreError(f"the database refused the change: {_first_line(error)}") from None
            time.sleep(0.01 * (attempt + 1))
            continue
        except DBAPIError as error:
            raise StoreError(f"the database refused the change: {_first_line(error)}") from None
    raise BusyError(
        f"could not write after {APPEND_ATTEMPTS} attempts: other writers kept writing first"
    )


def _first_line(error: DBAPIError) -> str:
    return (
        str(error.orig).strip().splitlines()[0] if str(error.orig).strip() else type(error).__name__
    )


def append(engine: Engine, record: AuditRecord) -> AuditEntry:
    """Append ``record`` in its own transaction (:func:`write`)."""
    return write(engine, lambda session: append_in(session, record))


@dataclass(frozen=True)
class ChainReport:
    """A verified chain: how many entries, and the last one's id and hash (record the hash
    elsewhere to detect later removal of the whole tail, head included)."""

    entries: int
    last_id: int
    last_hash: str


def verify_chain(engine: Engine, batch: int = 10_000) -> ChainReport:
    """Recompute the chain from the first entry up to the head.

    The head is read first: entries appended while the chain is read lie beyond it and are
    left for the next verification, so that a live database is never reported as tampered.

    Raises
    ------
    AuditError
        Naming the first entry whose id, previous hash or own hash does not follow, or a head
        that does not point at the last entry.
    """
    previous_id, previous_hash, count = 0, GENESIS, 0
    with session_scope(engine) as session:
        head = session.get(AuditHead, 1)
        head_id, head_hash = (head.last_id, head.last_hash) if head else (0, GENESIS)
        # entries appended after the head was read are beyond it; with no head, all of them
        in_chain = [AuditEntry.id <= head_id] if head is not None else []
        total = session.scalar(select(func.count()).select_from(AuditEntry).where(*in_chain)) or 0
        while True:
            rows = session.scalars(
                select(AuditEntry)
                .where(AuditEntry.id > previous_id, *in_chain)
                .order_by(AuditEntry.id)
                .limit(batch)
            ).all()
            if not rows:
                break
            for entry in rows:
                if entry.id != previous_id + 1:
                    raise AuditError(
                        f"audit entry {previous_id + 1} is missing (the next entry is "
                        f"{entry.id}): entries were removed"
                    )
                if entry.previous_hash != previous_hash:
                    raise AuditError(
                        f"audit entry {entry.id} does not follow entry {previous_id}: its "
                        "previous hash differs (an entry before it was removed or replaced)"
                    )
                if entry_hash(_fields(entry)) != entry.entry_hash:
                    raise AuditError(
                        f"audit entry {entry.id} ({entry.action} {entry.target}) was edited: "
                        "its contents no longer match its hash"
                    )
                previous_id, previous_hash, count = entry.id, entry.entry_hash, count + 1
            session.expunge_all()  # memory bounded by the batch, not the log
        if count != total:
            raise AuditError(f"the audit log holds {total} entries but only {count} are chained")
        if head is None and count:
            raise AuditError("the audit log's head is missing")
        if head is not None and (head_id, head_hash) != (previous_id, previous_hash):
            raise AuditError(
                f"the audit log's head points at entry {head_id} but the chain ends at "
                f"entry {previous_id}: entries at the end were removed or the head was changed"
            )
    return ChainReport(count, previous_id, previous_hash)


def organisation_entries(
    engine: Engine, organisation_id: int, after_id: int = 0, limit: int = 100
) -> list[dict[str, Any]]:
    """One organisation's audit entries after ``after_id``, oldest first, at most ``limit``."""
    with session_scope(engine) as session:
        rows = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.organisation_id == organisation_id, AuditEntry.id > after_id)
            .order_by(AuditEntry.id)
            .limit(limit)
        ).all()
        return [{**_fields(row), "entry_hash": row.entry_hash} for row in rows]

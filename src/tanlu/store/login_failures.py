"""The sign-in limit's count in the database, so that every process of the service shares it
(:class:`tanlu.service.security.DatabaseLoginLimiter`; docs/service.md "Signing in").

A row is a failed sign-in, or one under way (``pending``), counted against a key: an e-mail
(``kind`` "email") or a client address (``kind`` "client"). Rows older than the window are
deleted as each new attempt starts, so the table holds at most the attempts of one window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Engine, delete, func, insert, select, update

from tanlu.store.models import LoginFailure

# The longest key kept [characters]: an e-mail is at most 254 (RFC 5321), an address less.
MAX_KEY_LENGTH = 254


@dataclass(frozen=True)
class Key:
    """What failures are counted against: ``kind`` "email" or "client", and its value."""

    kind: str
    value: str


@dataclass(frozen=True)
class Count:
    """A key's failures and attempts under way in the window, and when the oldest of them
    happened [s since the Unix epoch]; ``None`` when there are none."""

    attempts: int
    oldest_unix_s: float | None


def _where(key: Key) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return (LoginFailure.kind == key.kind, LoginFailure.key == key.value[:MAX_KEY_LENGTH])


def reserve_attempt(
    engine: Engine, keys: Sequence[Key], now_unix_s: float, window_s: float
) -> list[int]:
    """Record an attempt under way against each key (committed, so that every other process
    counts it at once) and delete the rows that have left the window; the new rows' ids."""
    with engine.begin() as connection:
        connection.execute(
            delete(LoginFailure).where(LoginFailure.at_unix_s <= now_unix_s - window_s)
        )
        return [
            connection.execute(
                insert(LoginFailure)
                .values(
                    kind=key.kind,
                    key=key.value[:MAX_KEY_LENGTH],
                    at_unix_s=now_unix_s,
                    pending=True,
                )
                .returning(LoginFailure.id)
            ).scalar_one()
            for key in keys
        ]


def count_attempts(engine: Engine, key: Key, now_unix_s: float, window_s: float) -> Count:
    """The key's failures and attempts under way in the window ending now."""
    with engine.connect() as connection:
        attempts, oldest = connection.execute(
            select(func.count(), func.min(LoginFailure.at_unix_s)).where(
                *_where(key), LoginFailure.at_unix_s > now_unix_s - window_s
            )
        ).one()
    return Count(int(attempts), None if oldest is None else float(oldest))


def drop_attempt(engine: Engine, ids: Sequence[int]) -> None:
    """Forget attempts under way (refused before they were tried)."""
    with engine.begin() as connection:
        connection.execute(delete(LoginFailure).where(LoginFailure.id.in_(ids)))


def record_failure(
    engine: Engine, ids: Sequence[int], keys: Sequence[Key], now_unix_s: float
) -> None:
    """Settle attempts under way (``ids``) as failures at ``now_unix_s``; with no ids, record a
    failure against each key."""
    with engine.begin() as connection:
        if ids:
            connection.execute(
                update(LoginFailure)
                .where(LoginFailure.id.in_(ids))
                .values(at_unix_s=now_unix_s, pending=False)
            )
        else:
            for key in keys:
                connection.execute(
                    insert(LoginFailure).values(
                        kind=key.kind,
                        key=key.value[:MAX_KEY_LENGTH],
                        at_unix_s=now_unix_s,
                        pending=False,
                    )
                )


def clear_failures(engine: Engine, ids: Sequence[int], key: Key) -> None:
    """Settle attempts under way (``ids``) as a success: they and the key's failures are
    deleted (others' attempts under way against the key still count)."""
    with engine.begin() as connection:
        if ids:
            connection.execute(delete(LoginFailure).where(LoginFailure.id.in_(ids)))
        connection.execute(
            delete(LoginFailure).where(*_where(key), LoginFailure.pending.is_(False))
        )

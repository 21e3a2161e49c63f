"""Who is calling: an API token (``Authorization: Bearer tanlu_...``) or a browser session
cookie, whose changes must carry the session's CSRF token; and the sign-in rate limit."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from fastapi import HTTPException, Request
from sqlalchemy import Engine

from tanlu.store.accounts import Account, SignedIn, session_user, token_account
from tanlu.store.login_failures import (
    Key,
    clear_failures,
    count_attempts,
    drop_attempt,
    record_failure,
    reserve_attempt,
)
from tanlu.store.roles import Role

SESSION_COOKIE = "tanlu_session"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Principal:
    """The caller: their e-mail and the organisations they act in, with their role in each."""

    email: str
    accounts: tuple[Account, ...]
    by_token: bool
    # a browser session's CSRF token, which its page reads back from ``GET /api/me``
    csrf_token: str | None = None

    def in_organisation(self, organisation_id: int) -> Account | None:
        for account in self.accounts:
            if account.organisation_id == organisation_id:
                return account
        return None


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def identify(engine: Engine, request: Request) -> Principal:
    """The caller of a request, or 401. A session's unsafe requests need its CSRF token (403
    without it): a token in a header is never sent by another site's page on its own."""
    token = _bearer(request)
    if token is not None:
        account = token_account(engine, token)
        if account is None:
            raise HTTPException(401, "the API token is unknown or revoked")
        return Principal(account.email, (account,), by_token=True)
    cookie = request.cookies.get(SESSION_COOKIE)
    signed_in: SignedIn | None = session_user(engine, cookie) if cookie else None
    if signed_in is None:
        raise HTTPException(401, "sign in first (POST /api/session) or send an API token")
    if (
        request.method in UNSAFE_METHODS
        and request.headers.get(CSRF_HEADER) != signed_in.csrf_token
    ):
        raise HTTPException(403, f"a change from a browser session needs the {CSRF_HEADER} header")
    return Principal(
        signed_in.email, signed_in.accounts, by_token=False, csrf_token=signed_in.csrf_token
    )


def require_role(principal: Principal, organisation_id: int, minimum: Role) -> Account:
    """The caller's account in the organisation if their role there is ``minimum`` or higher.

    An organisation the caller is not a member of answers 404, the same as one that does not
    exist, so that ids cannot be probed; a member below the role gets 403."""
    account = principal.in_organisation(organisation_id)
    if account is None:
        raise HTTPException(404, "no such organisation")
    if account.role.rank < minimum.rank:
        raise HTTPException(403, f"this needs the {minimum.value} role or higher")
    return account


class SignInLimit(Protocol):
    """The sign-in limit as ``POST /api/session`` uses it: :meth:`check` before the password
    is checked (429 beyond the limit; otherwise the attempt is reserved), then exactly one of
    :meth:`failed` or :meth:`succeeded`."""

    def check(self, email: str, client: str) -> None: ...

    def failed(self, email: str, client: str) -> None: ...

    def succeeded(self, email: str, client: str) -> None: ...


def too_many(wait_s: float) -> HTTPException:
    """The answer to a sign-in beyond the limit: 429, ``Retry-After`` when the oldest failure
    in the window leaves it [s]."""
    return HTTPException(
        429,
        "too many failed sign-ins: try again later",
        headers={"Retry-After": str(max(int(wait_s), 0) + 1)},
    )


class LoginLimiter:
    """Failed sign-ins allowed per e-mail and per client address in a sliding window; beyond
    them, 429 with ``Retry-After`` (OWASP Authentication Cheat Sheet: limit failed attempts).

    An attempt under way counts as a failure until it ends (:meth:`check` reserves it,
    :meth:`failed` or :meth:`succeeded` settles it), so that many sign-ins sent at once cannot
    all pass the check while their passwords are being hashed. Only failures are kept, and keys
    with none left in the window are dropped once the table holds :attr:`max_keys`, so that
    sign-ins with ever new e-mails cannot grow it without end. Kept in the process: several
    worker processes each keep their own count (:class:`DatabaseLoginLimiter` shares it).
    """

    max_keys = 100_000

    def __init__(self, per_email: int = 5, per_client: int = 50, window_s: float = 900.0) -> None:
        self.per_email, self.per_client, self.window_s = per_email, per_client, window_s
        self._failures: dict[str, deque[float]] = {}
        self._pending: dict[str, int] = {}
        self._lock = threading.Lock()

    def _count(self, key: str, now: float) -> int:
        times = self._failures.get(key)
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if times is not None and not times:
            del self._failures[key]
        return (len(times) if times else 0) + self._pending.get(key, 0)

    def _keys(self, email: str, client: str) -> tuple[tuple[str, int], tuple[str, int]]:
        return ((f"e:{email}", self.per_email), (f"c:{client}", self.per_client))

    def check(self, email: str, client: str) -> None:
        """Raise 429 when the e-mail or the client has failed too often lately; otherwise
        reserve the attempt (settle it with :meth:`failed` or :meth:`succeeded`)."""
        now = time.monotonic()
        with self._lock:
            for key, limit in self._keys(email, client):
                if self._count(key, now) >= limit:
                    times = self._failures.get(key)
                    raise too_many(times[0] + self.window_s - now if times else 0)
            for key, _ in self._keys(email, client):
                self._pending[key] = self._pending.get(key, 0) + 1

    def _settle(self, email: str, client: str) -> None:
        for key, _ in self._keys(email, client):
            left = self._pending.get(key, 0) - 1
            if left > 0:
                self._pending[key] = left
            else:
                self._pending.pop(key, None)

    def failed(self, email: str, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._settle(email, client)
            for key, _ in self._keys(email, client):
                self._failures.setdefault(key, deque()).append(now)
            if len(self._failures) > self.max_keys:
                for key in list(self._failures):
                    self._count(key, now)

    def succeeded(self, email: str, client: str) -> None:
        with self._lock:
            self._settle(email, client)
            self._failures.pop(f"e:{email}", None)


class DatabaseLoginLimiter:
    """The same limit as :class:`LoginLimiter`, counted in the service's database
    (:mod:`tanlu.store.login_failures`), so that every process of the service shares it.

    :meth:`check` first records the attempt as under way, committed, and only then counts the
    key's rows in the window, its own among them: of sign-ins sent at once, in one process or
    in several, each counts every other that was recorded before it counted, so that no more
    than the limit can pass (at the limit, several may all be refused). The attempt's rows are
    settled by the same process (it keeps their ids until then); the rows of a process that
    died mid-attempt count as failures until they leave the window. Rows older than the
    window are deleted as each attempt starts.
    """

    def __init__(
        self,
        engine: Engine,
        per_email: int = 5,
        per_client: int = 50,
        window_s: float = 900.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        # the time [s since the epoch] (the tests' own clock)
        self.clock = clock
        self.per_email, self.per_client, self.window_s = per_email, per_client, window_s
        # the ids of this process's attempts under way, by e-mail and client
        self._reserved: dict[tuple[str, str], list[list[int]]] = {}
        self._lock = threading.Lock()

    def _keys(self, email: str, client: str) -> list[tuple[Key, int]]:
        return [(Key("email", email), self.per_email), (Key("client", client), self.per_client)]

    def check(self, email: str, client: str) -> None:
        """Raise 429 when the e-mail or the client has failed too often lately; otherwise
        reserve the attempt (settle it with :meth:`failed` or :meth:`succeeded`)."""
        now = self.clock()
        keys = self._keys(email, client)
        ids = reserve_attempt(self.engine, [key for key, _ in keys], now, self.window_s)
        try:
            for key, limit in keys:
                count = count_attempts(self.engine, key, now, self.window_s)
                # the count holds this attempt too
                if count.attempts > limit:
                    oldest = now if count.oldest_unix_s is None else count.oldest_unix_s
                    raise too_many(oldest + self.window_s - now)
        except BaseException:
            drop_attempt(self.engine, ids)
            raise
        with self._lock:
            self._reserved.setdefault((email, client), []).append(ids)

    def _settle(self, email: str, client: str) -> list[int]:
        with self._lock:
            reserved = self._reserved.get((email, client))
            if not reserved:
                return []
            ids = reserved.pop()
            if not reserved:
                del self._reserved[(email, client)]
            return ids

    def failed(self, email: str, client: str) -> None:
        ids = self._settle(email, client)
        record_failure(
            self.engine, ids, [key for key, _ in self._keys(email, client)], self.clock()
        )

    def succeeded(self, email: str, client: str) -> None:
        clear_failures(self.engine, self._settle(email, client), Key("email", email))

"""Who is calling: an API token (``Authorization: Bearer tanlu_...``) or a browser session
cookie, whose changes must carry the session's CSRF token; and the sign-in rate limit."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

from fastapi import HTTPException, Request
from sqlalchemy import Engine

from tanlu.store.accounts import Account, SignedIn, session_user, token_account
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
    return Principal(signed_in.email, signed_in.accounts, by_token=False)


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


class LoginLimiter:
    """Failed sign-ins allowed per e-mail and per client address in a sliding window; beyond
    them, 429 with ``Retry-After`` (OWASP Authentication Cheat Sheet: limit failed attempts).
    Kept in the process: several worker processes each keep their own count."""

    def __init__(self, per_email: int = 5, per_client: int = 50, window_s: float = 900.0) -> None:
        self.per_email, self.per_client, self.window_s = per_email, per_client, window_s
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times

    def check(self, email: str, client: str) -> None:
        """Raise 429 when the e-mail or the client has failed too often lately."""
        now = time.monotonic()
        with self._lock:
            for key, limit in ((f"e:{email}", self.per_email), (f"c:{client}", self.per_client)):
                times = self._recent(key, now)
                if len(times) >= limit:
                    wait = int(times[0] + self.window_s - now) + 1
                    raise HTTPException(
                        429,
                        "too many failed sign-ins: try again later",
                        headers={"Retry-After": str(wait)},
                    )

    # Keys kept before the ones with no failure left in the window are dropped, so that sign-ins
    # with ever new e-mails cannot grow the table without end.
    max_keys = 100_000

    def failed(self, email: str, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in (f"e:{email}", f"c:{client}"):
                self._recent(key, now).append(now)
            if len(self._failures) > self.max_keys:
                for key in list(self._failures):
                    if not self._recent(key, now):
                        del self._failures[key]

    def succeeded(self, email: str) -> None:
        with self._lock:
            self._failures.pop(f"e:{email}", None)

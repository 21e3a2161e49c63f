"""The threads that run the service's blocking work.

A route that is not ``async`` runs on the thread pool of its worker process. A large pool makes
fast reads slow: with 40 threads (the default of anyio, under Starlette) all waiting on the
database and on the GIL, the event loop that reads and answers every request gets its turn
late, and a dashboard read at 50 clients waited over 400 ms at p99 (docs/performance.md
"The service under load"). So the pool is kept small (:data:`REQUEST_THREADS`), and the work
that takes seconds (validating an upload, computing a submitted year's inventory, hashing a
password to sign in) runs on its own few threads (:data:`HEAVY_THREADS`), so that it can
neither take every thread from the reads nor be starved by them."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import TypeVar
from weakref import WeakKeyDictionary

import anyio
import anyio.to_thread

# Threads for the routes and dependencies that are not async, per worker process: measured
# best among 40, 8, 4 and 2 for a year's page at 50 clients (docs/performance.md).
REQUEST_THREADS = 8
# Threads for the work of seconds (uploads, submissions, sign-ins), per worker process.
HEAVY_THREADS = 2

T = TypeVar("T")


def use_request_threads(count: int) -> None:
    """Size the thread pool of the running event loop's routes (call it in the lifespan)."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = count


class HeavyThreads:
    """At most ``count`` threads for the heavy work of one worker process (one limiter for
    each event loop: a test client may run several one after another)."""

    def __init__(self, count: int = HEAVY_THREADS) -> None:
        if count < 1:
            raise ValueError(f"heavy work needs at least one thread, not {count}")
        self.count = count
        self._limiters: WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
            WeakKeyDictionary()
        )

    async def run(self, function: Callable[..., T], *args: object) -> T:
        """``function(*args)`` on one of the heavy threads; its answer or its exception."""
        loop = asyncio.get_running_loop()
        limiter = self._limiters.get(loop)
        if limiter is None:
            limiter = self._limiters[loop] = anyio.CapacityLimiter(self.count)
        return await anyio.to_thread.run_sync(functools.partial(function, *args), limiter=limiter)

"""The worker processes of ``tanlu serve --workers N``, each listening on a socket of its own.

uvicorn's own workers share one listening socket. Whichever process wakes first accepts every
connection then waiting, so clients that connect at once can land on one worker and stay there
for as long as they keep their connections alive: in six loads of 50 connections, all 50 sat
on one of two workers twice, which then served 528 reads a second, against 1,720-1,840 when
the connections were split (10/40 to 18/32 in the other four; docs/performance.md). Here each
worker has its own socket, bound to the same address with ``SO_REUSEPORT``, and Linux hands
each new connection to one of them by a hash of the connection's addresses and ports
(socket(7)), so the connections are spread about evenly whenever they arrive.

Linux lets only sockets of the same user join such a group, and the port is first bound
without ``SO_REUSEPORT`` so that a port that is in use (by any process, another ``tanlu
serve`` included) is refused rather than shared. Elsewhere than Linux, ``SO_REUSEPORT`` does
not spread connections, and uvicorn's shared socket is used.

The supervisor does what uvicorn's does: it starts the workers, asks each every few seconds
whether it still answers, starts a worker again on its own socket when it died or hung (the
connections waiting on that socket are kept for it), stops everything if a worker could not
start at all, and ends the workers on SIGINT or SIGTERM.
"""

from __future__ import annotations

import logging
import signal
import socket
import sys
import threading

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Process

logger = logging.getLogger("uvicorn.error")

# how often the supervisor looks at its workers [s]
CHECK_EVERY_S = 0.5


def spreads_connections() -> bool:
    """Whether this system spreads a port's connections over sockets bound with
    ``SO_REUSEPORT`` (Linux does, by hash; BSD and macOS give them all to one socket)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def listening_sockets(host: str, port: int, count: int, backlog: int = 2048) -> list[socket.socket]:
    """``count`` sockets listening on ``host:port`` with ``SO_REUSEPORT``, or
    :class:`OSError` if the port is in use. Port 0 binds them all to one free port."""
    if count < 1:
        raise ValueError(f"at least one socket is needed, not {count}")
    # the port must be free: a plain bind fails if any socket holds it, one of a
    # SO_REUSEPORT group included
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
        if port == 0:
            port = int(probe.getsockname()[1])
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(_family(host), socket.SOCK_STREAM, socket.IPPROTO_TCP)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            # listening from the start: connections wait for their worker, and another
            # server's bind to the port fails
            sock.listen(backlog)
            sock.set_inheritable(True)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def serve_workers(config: uvicorn.Config, count: int) -> None:
    """Serve ``config``'s application in ``count`` worker processes, each on its own socket of
    ``config.host:config.port``, until SIGINT or SIGTERM (or a worker cannot start)."""
    try:
        sockets = listening_sockets(config.host, config.port, count, config.backlog)
    except OSError as error:
        logger.error(error)
        sys.exit(STARTUP_FAILURE)
    port = sockets[0].getsockname()[1]
    logger.info(
        "tanlu serve: %d worker processes on http://%s:%d, each with its own socket "
        "(SO_REUSEPORT; Press CTRL+C to quit)",
        count,
        config.host,
        port,
    )
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    workers = [Process(config, [sock]) for sock in sockets]
    try:
        for worker in workers:
            worker.start()
        while not stop.wait(CHECK_EVERY_S):
            for index, worker in enumerate(workers):
                if worker.is_alive(timeout=config.timeout_worker_healthcheck):
                    continue
                worker.kill()  # dead already, or hung
                worker.join()
                if worker.exitcode == STARTUP_FAILURE:
                    logger.error("worker [%s] could not start; stopping", worker.pid)
                    stop.set()
                    break
                logger.info("worker [%s] died; starting another on its socket", worker.pid)
                workers[index] = Process(config, [sockets[index]])
                workers[index].start()
    finally:
        started = [worker for worker in workers if worker.pid is not None]
        for worker in started:
            worker.terminate()
        for worker in started:
            worker.join()
        for sock in sockets:
            sock.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        logger.info("tanlu serve: stopped")

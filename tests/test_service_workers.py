"""Serving many clients: `tanlu serve --workers N` gives each worker process its own socket of
the port (SO_REUSEPORT), so that connections made at once are spread over the workers, a port
in use is refused, and a worker that dies is replaced on its socket (tanlu.service.workers);
and what a worker made at start-up is kept out of the garbage collector's full passes."""

from __future__ import annotations

import gc
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tanlu.service.app import JOB_THREADS_VARIABLE, app_from_environment, create_app
from tanlu.service.workers import listening_sockets, spreads_connections
from tanlu.store import URL_VARIABLE
from tanlu.store.database import open_engine, upgrade
from tests.serving import free_port, start_serve

pytestmark = pytest.mark.skipif(not spreads_connections(), reason="Linux's SO_REUSEPORT")

CONNECTIONS = 40


def test_the_sockets_share_one_port_and_a_port_in_use_is_refused() -> None:
    sockets = listening_sockets("127.0.0.1", 0, 3)
    try:
        ports = {sock.getsockname()[1] for sock in sockets}
        assert len(ports) == 1 and ports != {0}
        # another group on the same port, as a second `tanlu serve` would make, is refused
        with pytest.raises(OSError):
            listening_sockets("127.0.0.1", ports.pop(), 2)
    finally:
        for sock in sockets:
            sock.close()
    with pytest.raises(ValueError, match="at least one socket"):
        listening_sockets("127.0.0.1", 0, 0)


def test_a_port_held_by_a_plain_socket_is_refused() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        with pytest.raises(OSError):
            listening_sockets("127.0.0.1", held.getsockname()[1], 2)


def _children(pid: int) -> list[int]:
    """The worker processes of ``tanlu serve`` (not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [
        int(child)
        for child in children
        if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


def _established(port: int) -> set[int]:
    """The socket inodes of the connections established to ``port`` on loopback (IPv4)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        if local_port == port and fields[3] == "01":  # 01: ESTABLISHED
            inodes.add(int(fields[9]))
    return inodes


def _connections_of(pid: int, port: int) -> int:
    """How many of the connections established to ``port`` the process ``pid`` holds."""
    inodes = _established(port)
    held = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:[") and int(target[8:-1]) in inodes:
            held += 1
    return held


def _ask(connections: list[socket.socket], port: int) -> None:
    """One GET /api/health on each open connection, keeping it open, each answered 200."""
    request = f"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    for connection in connections:
        connection.sendall(request)
    for connection in connections:
        connection.settimeout(30)
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += connection.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200"), answer[:200]


def _connect_all(port: int, count: int) -> list[socket.socket]:
    """``count`` connections made at once, before any is asked anything."""
    return [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    database = f"sqlite:///{tmp_path / 'tanlu.db'}"
    engine = open_engine(database)
    upgrade(engine)
    engine.dispose()
    port = free_port()
    process = start_serve(database, port, "--workers", "2", "--job-threads", "0")
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port)) as probe:
                    _ask([probe], port)
                # both workers up: each has started its server
                if len(_children(process.pid)) == 2:
                    break
            except OSError:
                pass
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "tanlu serve did not answer in 60 s"
            time.sleep(0.2)
        yield process, port
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)


def test_connections_made_at_once_are_spread_over_the_workers(
    served: tuple[subprocess.Popen[bytes], int],
) -> None:
    process, port = served
    time.sleep(1)  # both workers' servers started
    connections = _connect_all(port, CONNECTIONS)
    try:
        _ask(connections, port)
        held = [_connections_of(child, port) for child in _children(process.pid)]
        assert sum(held) == CONNECTIONS, held
        # by the kernel's hash each worker gets about half; with one shared socket the first
        # worker to wake took all 50 of the benchmark's connections in two loads of six
        assert min(held) >= CONNECTIONS // 5, held
    finally:
        for connection in connections:
            connection.close()


def test_a_worker_killed_is_replaced_on_its_socket(
    served: tuple[subprocess.Popen[bytes], int],
) -> None:
    process, port = served
    killed = _children(process.pid)[0]
    os.kill(killed, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while True:
        children = _children(process.pid)
        if len(children) == 2 and killed not in children:
            break
        assert time.monotonic() < deadline, "no worker replaced the killed one in 60 s"
        time.sleep(0.2)
    # every new connection is answered: none waits on a socket that no worker accepts from
    connections = _connect_all(port, CONNECTIONS)
    try:
        _ask(connections, port)
        held = [_connections_of(child, port) for child in _children(process.pid)]
        assert sum(held) == CONNECTIONS and min(held) > 0, held
    finally:
        for connection in connections:
            connection.close()


def test_a_worker_freezes_what_start_up_made_and_a_test_application_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'tanlu.db'}")
    upgrade(engine)
    engine.dispose()
    # another tool run in this process may have frozen its own (mypy does)
    before = gc.get_freeze_count()
    # an application built by a test (many in one process): nothing frozen
    with TestClient(create_app(open_engine(f"sqlite:///{tmp_path / 'tanlu.db'}"), job_threads=0)):
        assert gc.get_freeze_count() == before
    # a worker process of `tanlu serve`: the modules, the application and its caches frozen
    monkeypatch.setenv(URL_VARIABLE, f"sqlite:///{tmp_path / 'tanlu.db'}")
    monkeypatch.setenv(JOB_THREADS_VARIABLE, "0")
    try:
        application = app_from_environment()
        assert gc.get_freeze_count() > before + 1_000
        # nothing left for a full collection to walk but what was made since
        assert len(gc.get_objects(generation=2)) < 1_000
        with TestClient(application) as client:
            assert client.get("/api/health").status_code == 200
    finally:
        gc.unfreeze()

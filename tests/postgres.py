"""A throw-away PostgreSQL cluster for the tests: Debian's server binaries (`make test`
installs the `postgresql` package), `initdb` and `pg_ctl` in a temporary folder, a Unix socket
there and no TCP port, stopped and removed afterwards. Run as the `postgres` system user when
the tests run as root (PostgreSQL refuses to run as root)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PORT = 5432


def server_bin() -> Path:
    """The folder of Debian's PostgreSQL server programs (the newest version installed)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if not found:
        raise RuntimeError(
            "PostgreSQL's server is not installed (Debian's postgresql package: make test "
            "installs it)"
        )
    return Path(found[-1]).parent


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@contextmanager
def cluster(fsync: bool = False) -> Iterator[str]:
    """Start a cluster; yields the folder of its socket (the host of its URLs). ``fsync``: as
    a production server writes (the tests leave it off: nothing they write must survive a
    crash of the machine)."""
    binaries = server_bin()
    root = Path(tempfile.mkdtemp(prefix="tanlu-pg-"))
    data, socket = root / "data", root / "socket"
    socket.mkdir()
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        for path in (root, socket):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    try:
        subprocess.run(
            _as_server_user(
                [
                    str(binaries / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "tanlu",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
        )
        options = (
            f"-c listen_addresses='' -k {socket} -p {PORT} -c fsync={'on' if fsync else 'off'}"
        )
        subprocess.run(
            _as_server_user(
                [
                    str(binaries / "pg_ctl"),
                    "-D",
                    str(data),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "-l",
                    str(root / "server.log"),
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
        )
        yield str(socket)
    finally:
        subprocess.run(
            _as_server_user([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def url(socket: str, database: str) -> str:
    return f"postgresql://tanlu@/{database}?host={socket}&port={PORT}"


@contextmanager
def fresh_database(socket: str) -> Iterator[str]:
    """A new, empty database on the cluster; dropped afterwards. Yields its URL."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = f"dbname=postgres user=tanlu host={socket} port={PORT}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url(socket, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

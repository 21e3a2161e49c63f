"""The service under load (``make bench ARGS="--only service"``): requests per second and p50 /
p99 latency of dashboard and API reads on loopback with 1, 10 and 50 concurrent clients, on
SQLite and on PostgreSQL, and the time of an upload of a million activity rows, all against a
real ``tanlu serve`` process (docs/performance.md).

The clients are, by default, the connections of wrk (Debian's ``wrk``, a load generator in C
that asks again on each connection as soon as it has its answer and keeps every latency in an
HdrHistogram): it takes a few percent of a CPU, so the figures are the server's. With ``client
="python"`` they are asyncio tasks of this process instead (httpx2's async client on one event
loop), which take about as much CPU per request as the server: the figures are then of the
whole machine serving and asking at once. Either runs on the same 2 CPUs as the server.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx

from benchmarks import command
from tanlu.service.security import SESSION_COOKIE
from tanlu.store.accounts import create_token, create_user
from tanlu.store.database import open_engine, upgrade

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "internet-company"
CONCURRENCY = (1, 10, 50)
DURATION_S = 10.0
UPLOAD_ROWS = 1_000_000
UPLOAD_SITES = 10_000
TARGET_P99_MS = 200.0
CLIENTS = ("wrk", "python")
# wrk's report, as JSON: its latencies are in µs; a status of 400 or above counts as an error
WRK_REPORT = """
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "status_errors": %d, "socket_errors": %d, '
    .. '"p50_us": %d, "p99_us": %d}\\n',
    summary.requests, summary.duration, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""
PASSWORD = "benchmark password"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    """A new database's URL: a SQLite file in ``folder``, or a database on a throw-away
    PostgreSQL cluster (tests/postgres.py: Debian's server, a Unix socket, fsync on)."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'tanlu.db'}"
        return
    from tests import postgres

    with postgres.cluster(fsync=True) as socket_dir, postgres.fresh_database(socket_dir) as url:
        yield url


@contextmanager
def server(
    url: str, folder: Path, workers: int = 1, request_threads: int | None = None
) -> Iterator[tuple[str, int]]:
    """``tanlu serve`` on the database (no job threads) with ``workers`` processes (and
    ``request_threads`` in each, else the command's default), its base URL and process id."""
    port = _free_port()
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "tanlu.cli", "serve", "--db", url),
            *("--port", str(port), "--job-threads", "0", "--workers", str(workers)),
            *(("--request-threads", str(request_threads)) if request_threads else ()),
        ],
        stdout=subprocess.DEVNULL,
        stderr=(folder / "server.log").open("wb"),
        env={**os.environ, "TMPDIR": str(folder)},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/api/health", timeout=2)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    message = f"tanlu serve did not start: {folder / 'server.log'}"
                    raise RuntimeError(message) from None
                time.sleep(0.2)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=60)


def peak_rss_mib(pid: int) -> float:
    """A running process's peak resident memory so far (``VmHWM``) [MiB]."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def seed(base: str, headers: dict[str, str]) -> str:
    """The example project uploaded and 2021 submitted: the URL of the project."""
    made = httpx.post(
        f"{base}/api/organisations/1/projects", json={"name": "example"}, headers=headers
    )
    made.raise_for_status()
    url = f"{base}/api/organisations/1/projects/{made.json()['id']}"
    files = [EXAMPLE / "tanlu.toml", *sorted((EXAMPLE / "data").iterdir())]
    for path in files:
        relative = path.relative_to(EXAMPLE).as_posix()
        answer = httpx.put(
            f"{url}/files/{relative}", content=path.read_bytes(), headers=headers, timeout=120
        )
        answer.raise_for_status()
    revision = httpx.get(url, headers=headers).json()["revision"]
    submitted = httpx.post(
        f"{url}/years/2021/submit", json={"revision": revision}, headers=headers, timeout=300
    )
    submitted.raise_for_status()
    return url


async def _load(
    target: str, headers: dict[str, str], clients: int, duration_s: float
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=60) as client:
        stop = time.perf_counter() + duration_s

        async def one() -> None:
            nonlocal errors
            while time.perf_counter() < stop:
                began = time.perf_counter()
                answer = await client.get(target)
                latencies.append(time.perf_counter() - began)
                if answer.status_code != 200:
                    errors += 1

        began = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(clients)))
        elapsed = time.perf_counter() - began
    ordered = sorted(latencies)
    return {
        "requests": len(latencies),
        "errors": errors,
        "requests_per_s": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
    }


def _load_wrk(
    target: str, headers: dict[str, str], clients: int, duration_s: float, folder: Path
) -> dict[str, Any]:
    """``clients`` connections of wrk (one thread) asking ``target`` for ``duration_s``."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed: `make bench` installs Debian's wrk")
    script = folder / "report.lua"
    script.write_text(WRK_REPORT)
    # wrk takes whole seconds
    command = [wrk, "-t1", f"-c{clients}", f"-d{max(1, round(duration_s))}s", "--timeout", "60s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    done = subprocess.run([*command, "-s", str(script), target], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "requests": report["requests"],
        "errors": report["status_errors"] + report["socket_errors"],
        "requests_per_s": report["requests"] / (report["duration_us"] / 1e6),
        "p50_ms": report["p50_us"] / 1000,
        "p99_ms": report["p99_us"] / 1000,
    }


def upload_million(
    base: str, headers: dict[str, str], log: Callable[[str], Any], pid: int
) -> dict[str, Any]:
    """A project of :data:`UPLOAD_ROWS` CSV activity rows (benchmarks/command.py's, cached):
    its configuration, sites and instruments put first, then the activity file, timed."""
    project = command.ensure_project(UPLOAD_ROWS, UPLOAD_SITES, 2021, "csv", log=log)
    made = httpx.post(
        f"{base}/api/organisations/1/projects", json={"name": "million"}, headers=headers
    )
    url = f"{base}/api/organisations/1/projects/{made.json()['id']}"
    root = project.root
    activity = project.activity_file.relative_to(root).as_posix()
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_file() and relative != activity:
            httpx.put(
                f"{url}/files/{relative}", content=path.read_bytes(), headers=headers, timeout=300
            ).raise_for_status()

    size = project.activity_file.stat().st_size

    def timed_upload() -> tuple[httpx.Response, float]:
        """The activity file streamed a MiB at a time, and the request's wall time [s]."""

        def pieces() -> Iterator[bytes]:
            with project.activity_file.open("rb") as stream:
                while piece := stream.read(1024 * 1024):
                    yield piece

        began = time.perf_counter()
        answer = httpx.put(
            f"{url}/files/{activity}",
            content=pieces(),
            headers={**headers, "Content-Length": str(size)},
            timeout=1800,
        )
        return answer, time.perf_counter() - began

    answer, wall = timed_upload()
    answer.raise_for_status()
    validation = answer.json()["validation"]
    if not validation.get("valid") or validation.get("activity_rows") != UPLOAD_ROWS:
        raise AssertionError(f"the uploaded project is not valid: {validation}")
    again, again_s = timed_upload()
    if again.json()["changed"]:
        raise AssertionError("the same file again made a new revision")
    return {
        "rows": UPLOAD_ROWS,
        "size_mib": size / 2**20,
        "upload_s": wall,
        "rows_per_s": UPLOAD_ROWS / wall,
        "same_again_s": again_s,
        "server_peak_rss_mib": peak_rss_mib(pid),
    }


def run(
    log: Callable[[str], Any] = print,
    kinds: tuple[str, ...] = ("sqlite", "postgresql"),
    concurrency: tuple[int, ...] = CONCURRENCY,
    duration_s: float = DURATION_S,
    upload: bool = True,
    workers: tuple[int, ...] = (1,),
    request_threads: tuple[int, ...] = (8,),
    client: str = "wrk",
) -> list[dict[str, Any]]:
    """Every figure: one record per database, number of worker processes and of their route
    threads, read and concurrency, and one per upload (with one worker process, whose memory
    is the server's). ``client``: ``wrk`` or ``python`` (the module's docstring)."""
    if client not in CLIENTS:
        raise ValueError(f"the clients are {' or '.join(CLIENTS)}, not {client!r}")
    records: list[dict[str, Any]] = []
    for kind in kinds:
        with tempfile.TemporaryDirectory(prefix="tanlu-bench-service-") as temp:
            folder = Path(temp)
            with database(kind, folder) as url:
                engine = open_engine(url)
                upgrade(engine)
                create_user(engine, "admin@bench.example.com", PASSWORD, "Bench", "admin", "bench")
                token = create_token(engine, "admin@bench.example.com", "Bench", "t", "bench")
                engine.dispose()
                headers = {"Authorization": f"Bearer {token}"}
                project = ""
                for count, threads in itertools.product(workers, request_threads):
                    with server(url, folder, count, threads) as (base, pid):
                        if not project:
                            log(f"{kind}: seeding the example project and submitting 2021 ...")
                            project = seed(base, headers).removeprefix(base)
                        setting = {
                            "database": kind,
                            "workers": count,
                            "request_threads": threads,
                            "client": client,
                        }
                        load = _loader(client, folder)
                        records += _reads(
                            base, project, headers, setting, concurrency, log, duration_s, load
                        )
                        if upload and count == 1 and threads == request_threads[0]:
                            records.append(_upload(base, headers, kind, pid, log))
    return records


def _loader(client: str, folder: Path) -> Callable[[str, dict[str, str], int, float], Any]:
    """The load of one read: ``(target, headers, clients, duration_s) -> figures``."""
    if client == "wrk":
        return lambda target, headers, clients, duration_s: _load_wrk(
            target, headers, clients, duration_s, folder
        )
    return lambda target, headers, clients, duration_s: asyncio.run(
        _load(target, headers, clients, duration_s)
    )


def _reads(
    base: str,
    project: str,
    headers: dict[str, str],
    setting: dict[str, Any],
    concurrency: tuple[int, ...],
    log: Callable[[str], Any],
    duration_s: float,
    load: Callable[[str, dict[str, str], int, float], Any],
) -> list[dict[str, Any]]:
    """The dashboard's reads, as its pages make them (with a browser session's cookie), and
    the API's (with a token), at each concurrency."""
    records = []
    signed_in = httpx.post(
        f"{base}/api/session", json={"email": "admin@bench.example.com", "password": PASSWORD}
    )
    signed_in.raise_for_status()
    # the cookie is Secure: sent by hand, as a browser sends it to localhost
    browser = {"Cookie": f"{SESSION_COOKIE}={signed_in.cookies[SESSION_COOKIE]}"}
    reads = {
        "dashboard: a year's status and steps": (f"{base}{project}/years/2021", browser),
        "dashboard: a year's inventory (JSON)": (f"{base}{project}/years/2021/inventory", browser),
        "API: the caller (/api/me)": (f"{base}/api/me", headers),
    }
    for name, (target, credentials) in reads.items():
        for clients in concurrency:
            figures = load(target, credentials, clients, duration_s)
            records.append({**setting, "read": name, "clients": clients, **figures})
            errors = figures["errors"]
            log(
                f"{setting['database']:10} {setting['workers']} worker(s) "
                f"{setting['request_threads']} threads {name:40} {clients:3} clients: "
                f"{figures['requests_per_s']:7.1f} req/s, p50 "
                f"{figures['p50_ms']:6.1f} ms, p99 {figures['p99_ms']:6.1f} ms"
                + (f", {errors} errors" if errors else "")
            )
    return records


def _upload(
    base: str, headers: dict[str, str], kind: str, pid: int, log: Callable[[str], Any]
) -> dict[str, Any]:
    """The million-row upload, timed."""
    log(f"{kind}: uploading {UPLOAD_ROWS:,} activity rows ...")
    figures = upload_million(base, headers, log, pid)
    log(
        f"{kind:10} upload of {figures['rows']:,} rows "
        f"({figures['size_mib']:.0f} MiB): {figures['upload_s']:.1f} s "
        f"({figures['rows_per_s']:,.0f} rows/s) stored and validated; the "
        f"same file again {figures['same_again_s']:.1f} s; server peak "
        f"{figures['server_peak_rss_mib']:.0f} MiB"
    )
    return {"database": kind, "read": "upload", **figures}

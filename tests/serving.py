"""A real `tanlu serve` and Debian's headless Chromium, for the tests that drive the pages
(tests/test_dashboard.py, tests/test_footprint_page.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx
from playwright.sync_api import Browser, sync_playwright

from tanlu.report.write import find_chromium


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_serve(database: str, port: int, *options: str, **popen: Any) -> subprocess.Popen[bytes]:
    """`tanlu serve --db database --port port options...` started as a process of its own
    (``popen``: subprocess.Popen's keywords; by default its output is kept in a pipe, one line
    to an event); not waited for."""
    settings: dict[str, Any] = {
        "stdout": subprocess.PIPE,
        "stderr": subprocess.STDOUT,
        "env": {**os.environ, "COLUMNS": "200"},
    }
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "tanlu.cli", "serve", "--db", database),
            *("--port", str(port), *options),
        ],
        **{**settings, **popen},
    )


@contextmanager
def served(database: str, folder: Path, *options: str) -> Iterator[str]:
    """`tanlu serve` on ``database`` (with ``options``), started in ``folder`` on a free port
    and stopped afterwards: its base URL once it answers."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_serve(
        database, port, *options, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/api/health", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, "tanlu serve stopped"
                assert time.monotonic() < deadline, "tanlu serve did not answer in 60 s"
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's headless Chromium, driven by Playwright (which downloads no browser)."""
    executable = find_chromium()
    assert executable is not None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield browser
        browser.close()

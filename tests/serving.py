"""A real `tanlu serve` and Debian's headless Chromium, for the tests that drive the pages
(tests/test_dashboard.py, tests/test_footprint_page.py)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2 as httpx
from playwright.sync_api import Browser, sync_playwright

from tanlu.report.write import find_chromium


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served(database: str, folder: Path, *options: str) -> Iterator[str]:
    """`tanlu serve` on ``database`` (with ``options``), started in ``folder`` on a free port
    and stopped afterwards: its base URL once it answers."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "tanlu.cli", "serve", "--db", database),
            *("--port", str(port), *options),
        ],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
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

"""benchmarks/service.py's load generator: wrk's connections ask with the headers given, and its
report (requests, errors, p50 and p99) is read back right."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from benchmarks import service


class _Answer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the service's connections are

    def do_GET(self) -> None:
        status = 200 if self.headers.get("Cookie") == "session=good" else 401
        body = b"{}"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/read"
    server.shutdown()
    server.server_close()


def test_wrk_asks_with_the_headers_and_its_report_is_read(url: str, tmp_path: Path) -> None:
    good = service._load_wrk(url, {"Cookie": "session=good"}, 2, 1, tmp_path)
    assert good["requests"] > 10
    assert good["errors"] == 0
    assert 0 < good["p50_ms"] <= good["p99_ms"] < 1000
    assert good["requests_per_s"] == pytest.approx(good["requests"], rel=0.5)  # over ~1 s
    # every answer a 401: each request an error
    bad = service._load_wrk(url, {"Cookie": "session=bad"}, 2, 1, tmp_path)
    assert bad["requests"] > 10
    assert bad["errors"] == bad["requests"]


def test_the_client_is_wrk_or_python() -> None:
    with pytest.raises(ValueError, match="wrk or python"):
        service.run(client="ab")

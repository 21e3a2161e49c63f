"""The dashboard: pages in Chinese and English served from the package (``/app/``), which read
and change everything through the same API as scripts do, with the caller's session and its
CSRF token (docs/dashboard.md).

The pages are static files: the HTML shell, its script and style, and Apache ECharts vendored
from the npm registry with its licence (``static/vendor/echarts/``; nothing is loaded from
another site). They hold no data: every figure comes from an API route under the caller's
rights, so the route table's access rules (tests/test_service.py) cover the dashboard as well.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tanlu.app.words import page_words
from tanlu.service.deps import access

STATIC = Path(__file__).resolve().parent / "static"
PAGES_PATH = "/app"

# The pages run only their own script, from this service; styles are their own, with the inline
# styles ECharts sets on its tooltips; no page may frame them (OWASP Content Security Policy
# Cheat Sheet).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
EVERY_ANSWER = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)
PAGE_ANSWER = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    # revalidated every time (the ETag makes that a 304), so a new release is seen at once
    (b"cache-control", b"no-cache"),
)


class SecurityHeaders:
    """ASGI middleware: every answer says not to sniff types, send referrers or be framed; the
    pages' answers also carry the Content Security Policy."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        extra = EVERY_ANSWER + (PAGE_ANSWER if not path.startswith("/api/") else ())
        replaced = {name for name, _ in extra}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() not in replaced
                ]
                message = {**message, "headers": headers + list(extra)}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def add_pages(app: FastAPI) -> None:
    """The dashboard's pages at ``/app/``, ``/`` sent there, the words of its two languages at
    ``/api/words/{language}``, and the security headers on every answer."""

    @app.get("/api/words/{language}", openapi_extra=access("public"))
    def words(language: Literal["en", "zh"]) -> dict[str, object]:
        """The dashboard's words in a language (``en`` or ``zh``): its own, the report's, and
        the names of categories, levers and units."""
        return page_words(language)

    async def home(_request: Request) -> RedirectResponse:
        return RedirectResponse(f"{PAGES_PATH}/", status_code=307)

    app.add_route("/", home, methods=["GET"], include_in_schema=False)
    app.mount(PAGES_PATH, StaticFiles(directory=STATIC, html=True), name="pages")
    app.add_middleware(SecurityHeaders)

"""The web service (issue 13): a FastAPI application over the service's database
(docs/service.md). :func:`create_app` builds it; ``tanlu serve`` runs it with uvicorn."""

from tanlu.service.app import create_app
from tanlu.service.deps import ACCESS_KEY, TOKEN_KEY
from tanlu.service.security import (
    CSRF_HEADER,
    SESSION_COOKIE,
    DatabaseLoginLimiter,
    LoginLimiter,
)

__all__ = [
    "ACCESS_KEY",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "TOKEN_KEY",
    "DatabaseLoginLimiter",
    "LoginLimiter",
    "create_app",
]

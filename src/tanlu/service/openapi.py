"""The service's answers in its OpenAPI document: besides each route's own success, the errors
it can give, derived from the route itself (docs/service.md "OpenAPI"), so that a route added
anywhere gets them and the document says what the service answers (schemathesis checks that
it does, tests/test_openapi_fuzz.py).

- ``401`` for every route that is not public (no session cookie or API token, or an unknown
  one), and for the sign-in (a wrong e-mail or password);
- ``403`` for a route that needs a role in the organisation of its path, one an API token may
  not call, and any change (POST, PUT, PATCH, DELETE) that a browser session makes without
  its CSRF token;
- ``404`` for a route whose path names an organisation, project or job (one the caller is not
  in answers as one that is not there);
- ``409`` (a change that does not fit the state it found) and ``503`` with ``Retry-After``
  (other writers kept changing the same rows) for every change in an organisation (written
  with its audit entry): the errors :func:`tanlu.service.projects.add_error_answers` answers,
  raised by the store's writes;
- ``413`` for a route that takes a file as its body (an upload);
- ``429`` with ``Retry-After`` for the sign-in (docs/service.md "Signing in");
- ``422`` for every route: FastAPI's list of the fields that are not valid, or the reason a
  change was refused as text (a :class:`tanlu.errors.StoreError`).

- ``400`` for a route that takes JSON, when the body is not JSON;

Every error's body is :class:`ErrorOut`. A file download (a route answering a
:class:`~fastapi.responses.StreamingResponse`) declares any content type: a file's is guessed
from its name (:func:`mimetypes.guess_type`), ``application/octet-stream`` when unknown.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.constants import REF_PREFIX
from fastapi.responses import StreamingResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict

from tanlu.service.deps import ACCESS_KEY, TOKEN_KEY
from tanlu.service.security import UNSAFE_METHODS

# the sign-in: the only public route that answers 401, and the only one that is rate-limited
SIGN_IN = ("POST", "/api/session")
# path parameters that name something in an organisation, which may not be there
FOUND_PARAMETERS = frozenset({"organisation_id", "project_id", "job_id"})


class FieldError(BaseModel):
    """One field of a request that is not valid, as FastAPI's request validation names it."""

    model_config = ConfigDict(extra="allow")

    loc: list[str | int]
    msg: str
    type: str


class ErrorOut(BaseModel):
    """Every error's answer: why, as text, or, for a request whose parameters or body are not
    valid, FastAPI's list of the fields."""

    detail: str | list[FieldError]


RETRY_AFTER = {
    "Retry-After": {
        "description": "when to try again [s]",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
}


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"{REF_PREFIX}ErrorOut"}}},
    }
    if headers:
        answer["headers"] = headers
    return answer


def route_answers(route: APIRoute, method: str) -> dict[str, dict[str, Any]]:
    """The error answers of ``route`` called with ``method``, by status code."""
    extra = route.openapi_extra or {}
    level = extra.get(ACCESS_KEY, "public")
    public = level == "public"
    change = method in UNSAFE_METHODS and not public
    in_organisation = level not in ("public", "user")
    sign_in = (method, route.path_format) == SIGN_IN
    answers: dict[str, dict[str, Any]] = {}
    if route.body_field is not None:
        answers["400"] = _error("the body is not JSON")
    if not public or sign_in:
        answers["401"] = _error(
            "wrong e-mail or password"
            if sign_in
            else "no session cookie or API token, or one that is unknown, revoked or expired"
        )
    if change or in_organisation or extra.get(TOKEN_KEY) is False:
        answers["403"] = _error(
            "below the role the route needs in the organisation, an API token where only a "
            "signed-in session may, or a change from a browser session without its CSRF token"
        )
    if FOUND_PARAMETERS & set(route.param_convertors):
        answers["404"] = _error(
            "no such organisation (or not the caller's), project, revision, year, file or job"
        )
    if change and in_organisation:
        answers["409"] = _error("the change does not fit the state it found")
    content = extra.get("requestBody", {}).get("content", {})
    if any(not kind.endswith("json") for kind in content):
        answers["413"] = _error("the file is larger than the service takes")
    answers["422"] = _error(
        "the request's parameters or body are not valid (the list of fields), or the change "
        "was refused (why, as text)"
    )
    if sign_in:
        answers["429"] = _error("too many failed sign-ins lately: try again later", RETRY_AFTER)
    if change and in_organisation:
        answers["503"] = _error(
            "other writers kept changing the same rows first: try again later", RETRY_AFTER
        )
    return answers


DOWNLOAD = {
    "description": "the file's bytes, its type guessed from its name "
    "(application/octet-stream when unknown)",
    "content": {"*/*": {"schema": {}}},
    "headers": {
        "Content-Disposition": {
            "description": "attachment, with the file's name",
            "required": True,
            "schema": {"type": "string", "pattern": "^attachment; filename\\*=UTF-8''"},
        },
        "ETag": {
            "description": "the SHA-256 of the file's bytes, quoted",
            "required": True,
            "schema": {"type": "string", "pattern": '^"[0-9a-f]{64}"$'},
        },
    },
}


def _declare(schema: dict[str, Any], routes: list[APIRoute]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    error_schema = ErrorOut.model_json_schema(ref_template=f"{REF_PREFIX}{{model}}")
    components.update(error_schema.pop("$defs", {}))
    components["ErrorOut"] = error_schema
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)  # FastAPI's 422 schema, replaced by ErrorOut
    for route in routes:
        for method in route.methods or ():
            operation = schema["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status, answer in route_answers(route, method).items():
                responses[status] = {**responses.get(status, {}), **answer}
            kind = route.response_class
            if isinstance(kind, type) and issubclass(kind, StreamingResponse):
                operation["responses"][str(route.status_code or 200)] = DOWNLOAD


def declare_answers(app: FastAPI) -> None:
    """Declare in ``app``'s OpenAPI document the error answers of every route in its route
    table (:func:`route_answers`) and the content of its file downloads; call it once every
    route is added."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            routes = [r for r in app.routes if isinstance(r, APIRoute) and r.include_in_schema]
            _declare(generate(), routes)
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

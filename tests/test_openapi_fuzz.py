"""Property-based calls of every operation of the service's OpenAPI spec (schemathesis), on
SQLite and on a real PostgreSQL: whatever request schemathesis makes of an operation's entry,
valid or not, the service never answers with a server error (5xx) nor fails with an exception.
Per operation, schemathesis's coverage phase sends each parameter's and body field's boundary
values, wrong types, missing fields, other methods and content types; its fuzzing phase then
random requests, valid and invalid, the same ones each run (derandomized).

The calls are an organisation admin's (an API token), so that they pass the access check and
reach the routes' bodies; path parameters are mostly an organisation, project, revision, year,
job and file that exist. Those the calls add (projects, files, revisions, jobs, steps of a
year) stay for the operations called after them.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from jsonschema_rs import validator_for
from schemathesis import Case, CheckContext, HookContext, Response
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    is_unexpected_http_status_case,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from tanlu.service import ACCESS_KEY, LoginLimiter, create_app
from tanlu.store.accounts import create_token, create_user
from tanlu.store.database import open_engine, upgrade
from tanlu.store.jobs import JobKind, create_job
from tanlu.store.projects import create_project, put_file

from .conftest import ACTIVITY_HEADER, BASIC_TOML

PASSWORD = "correct horse battery"
ORGANISATION = "Fuzz Co"
ACTIVITIES = "gz,2021-01-01,2021-12-31,electricity,1000,MWh\n"
# Random requests per operation in schemathesis's fuzzing phase (Hypothesis's max_examples);
# its coverage phase adds its own, about 10 to 70 an operation. The module takes about 60 s.
MAX_EXAMPLES = 25
BASE_URL = "http://testserver"


@dataclass
class Seeded:
    """The service on a database with an organisation whose admin has an API token, a valid
    project of two files (two revisions) and a queued job."""

    app: FastAPI
    headers: dict[str, str]
    # path parameters that exist, by name; the first is the one the coverage phase uses
    existing: dict[str, list[Any]]


# The seeded service the module's tests call now (module_database_url: one database at a time),
# for the strategy of the path parameters, which is built before any fixture
CURRENT: list[Seeded] = []


@pytest.fixture(scope="module")
def seeded(module_database_url: str) -> Iterator[Seeded]:
    engine = open_engine(module_database_url)
    upgrade(engine)
    email = "admin@fuzz.example.com"
    organisation_id = create_user(
        engine, email, PASSWORD, ORGANISATION, "admin", "test"
    ).organisation_id
    token = create_token(engine, email, ORGANISATION, "fuzz", "test")
    project = create_project(engine, organisation_id, "Fuzzed project", "test")
    files = {"data/activities.csv": ACTIVITY_HEADER + ACTIVITIES, "tanlu.toml": BASIC_TOML}
    with tempfile.TemporaryDirectory() as folder:
        for path, text in files.items():
            source = Path(folder) / "upload"
            source.write_text(text, encoding="utf-8")
            digest = hashlib.sha256(source.read_bytes()).hexdigest()
            put_file(engine, organisation_id, project.id, path, source, digest, "test")
    job = create_job(
        engine, organisation_id, project.id, len(files), JobKind.INVENTORY, {"year": 2021}, "test"
    )
    # sign-ins not throttled; no job threads: the jobs the calls queue stay queued
    app = create_app(engine, limiter=LoginLimiter(per_email=10**6, per_client=10**6), job_threads=0)
    service = Seeded(
        app,
        {"Authorization": f"Bearer {token}"},
        {
            "organisation_id": [organisation_id],
            "project_id": [project.id],
            "number": list(range(len(files), 0, -1)),
            "year": [2021, 2022],
            "job_id": [job.id],
            "path": [*files, "data/new.csv", "data/new.xlsx", "data/new.parquet"],
            "name": ["results.json", "inventory_2021.json"],
        },
    )
    CURRENT.append(service)
    yield service
    CURRENT.remove(service)
    engine.dispose()


# The spec is the application's whatever its database: taken from one on a database never
# opened, so that the operations are known when pytest collects the tests
schema = schemathesis.openapi.from_dict(
    create_app(open_engine("sqlite://"), job_threads=0).openapi()
)


# FastAPI ignores query parameters that a route does not name (the spec does not say that they
# are refused): requests with extra ones are not made, as they would be valid
schema.config.generation.update(allow_extra_parameters=False)


def _valid(context: HookContext, key: str, value: Any) -> bool:
    """Whether ``value`` is valid for the operation's path parameter ``key`` by its schema."""
    for parameter in context.operation.path_parameters if context.operation else ():
        if parameter.name == key:
            return bool(validator_for(parameter.definition.get("schema", {})).is_valid(value))
    return True


@schema.hook
def flatmap_path_parameters(context: HookContext, parameters: dict[str, Any] | None) -> Any:
    """The fuzzing phase's path parameters: three times in four one that exists (so that the
    call reaches the route's body, not only its 404), else schemathesis's own. A value that is
    not valid (a negative case's) is kept, so that its refusal is checked."""
    if not parameters or not CURRENT:
        return st.just(parameters)
    existing = CURRENT[-1].existing
    return st.fixed_dictionaries(
        {
            key: st.integers(0, 3).flatmap(
                lambda pick, key=key, value=value: (
                    st.sampled_from(existing[key])
                    if pick and key in existing and _valid(context, key, value)
                    else st.just(value)
                )
            )
            for key, value in parameters.items()
        }
    )


@schemathesis.check
def valid_requests_pass_validation(ctx: CheckContext, response: Response, case: Case) -> None:
    """A request that the spec says is valid passes the service's request validation: never
    a 400 (a body that is not JSON) nor a 422 with FastAPI's list of fields. The service's own
    refusals of what no schema can say (a 422 whose detail is the reason as text: an e-mail
    without @, a path that no project file has, a job's parameters for another kind) are
    answers, which schemathesis's positive_data_acceptance would count as failures."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    if is_unexpected_http_status_case(case):  # a probe of the request's shape
        return None
    detail = response.json().get("detail") if response.status_code in (400, 422) else None
    if response.status_code == 400 or isinstance(detail, list):
        raise AssertionError(f"a valid request refused: {response.status_code} {detail}")
    return None


# Whatever the request, the answer is no server error and is what the spec declares: its status
# code, its content type, its body's schema and its headers (Retry-After on a 429 or 503; a
# download's Content-Disposition and ETag); a request the spec says is not valid is refused
# (4xx), one it says is valid passes validation, and a method the spec does not name answers
# 405 with Allow. Not enabled: positive_data_acceptance (in its place
# valid_requests_pass_validation: a valid request may be refused with a reason, above);
# ignored_auth, use_after_free, ensure_resource_availability and the other stateful checks (the
# spec declares no security scheme nor links between operations: tests/test_service.py checks
# every route's access under every role instead).
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
    unsupported_method,
    valid_requests_pass_validation,
]


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    # a call hashes a password (sign-in, a new member) or computes an inventory (submit)
    suppress_health_check=[HealthCheck.too_slow],
)
def test_no_operation_answers_a_server_error(case: Case, seeded: Seeded) -> None:
    meta = case.meta
    if meta is not None and meta.phase.name == "coverage":
        # The coverage phase's cases vary one parameter or body field each and keep the others
        # fixed: organisation 0, which is nobody's (a 404 before the body is read). Path
        # parameters that exist instead, but for the one the case varies.
        varied = getattr(meta.phase.data, "parameter", None)
        for key in case.path_parameters:
            if key != varied and key in seeded.existing:
                case.path_parameters[key] = seeded.existing[key][0]
    case.call_and_validate(app=seeded.app, base_url=BASE_URL, headers=seeded.headers, checks=CHECKS)


def test_every_route_declares_its_error_answers() -> None:
    """Every route of the application's route table (the pages' and roll-ups' too) declares in
    the application's own OpenAPI document 401 unless it is public, 422, and every error with
    the one error schema; a file download declares any content type."""
    app = create_app(open_engine("sqlite://"), job_threads=0)
    document = app.openapi()
    routes = [r for r in app.routes if isinstance(r, APIRoute) and r.include_in_schema]
    assert len(routes) >= 30
    for route in routes:
        for method in route.methods:
            operation = document["paths"][route.path_format][method.lower()]
            responses = operation["responses"]
            public = operation[ACCESS_KEY] == "public"
            assert public or "401" in responses, (method, route.path_format)
            assert "422" in responses, (method, route.path_format)
            for status, answer in responses.items():
                if int(status) >= 400:
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (status, route)
            if "/files/" in route.path_format and method == "GET":
                assert "*/*" in responses["200"]["content"]
    detail = document["components"]["schemas"]["ErrorOut"]["properties"]["detail"]
    assert [kind.get("type") for kind in detail["anyOf"]] == ["string", "array"]

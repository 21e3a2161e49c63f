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
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import Case
from schemathesis.checks import not_a_server_error

from tanlu.service import LoginLimiter, create_app
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


@schema.hook
def flatmap_path_parameters(_context: Any, parameters: dict[str, Any] | None) -> Any:
    """The fuzzing phase's path parameters: three times in four one that exists (so that the
    call reaches the route's body, not only its 404), else schemathesis's own."""
    if not parameters or not CURRENT:
        return st.just(parameters)
    existing = CURRENT[-1].existing
    return st.fixed_dictionaries(
        {
            key: st.integers(0, 3).flatmap(
                lambda pick, key=key, value=value: (
                    st.sampled_from(existing[key]) if pick and key in existing else st.just(value)
                )
            )
            for key, value in parameters.items()
        }
    )


# Only the check for 5xx: schemathesis's conformance checks fail on answers that are right but
# that the spec, as FastAPI writes it, does not declare:
# - status_code_conformance: the spec declares 200 and 422, not the 401, 403, 404, 409, 413 and
#   503 the routes answer (tests/test_service.py checks those);
# - response_schema_conformance: the 422 of the service's own refusals (a StoreError, a path
#   that is no project file's) is {"detail": "why"}, not the list of fields of FastAPI's request
#   validation that the spec declares for every 422;
# - content_type_conformance: a file download is text/csv (its type by its name, as
#   mimetypes guesses it), the spec declares application/octet-stream;
# - response_headers_conformance: passes, but the spec declares no response headers to check.
CHECKS = [not_a_server_error]


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

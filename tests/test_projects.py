"""Projects in the service, on SQLite and on a real PostgreSQL: uploads checked by the same
validators as `tanlu validate`, kept as revisions and idempotent by content; the workflow of a
year from collecting to approved, locked, and restated with its check; uploads and steps at the
same time; a server killed in the middle of an upload."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, func, select, update

from tanlu.app import project_jobs, run_electricity, run_inventory
from tanlu.app.project_jobs import check_parameters, run_job, worker_gone, worker_name
from tanlu.app.roadmap import RoadmapOptions
from tanlu.electricity.procurement import ProcurementLimits
from tanlu.errors import NotFoundError, StoreError
from tanlu.output import json_text
from tanlu.scratch import host_name
from tanlu.service import create_app
from tanlu.store.accounts import create_token, create_user
from tanlu.store.audit import verify_chain
from tanlu.store.database import now, open_engine, session_scope, upgrade
from tanlu.store.jobs import (
    JobInfo,
    JobKind,
    JobStatus,
    create_job,
    fail_job,
    finish_job,
    get_job,
    requeue_orphans,
)
from tanlu.store.models import AuditEntry, Blob, BlobChunk, Job, JobFile, ProjectRevision
from tanlu.store.projects import check_file_path, refer_blob, remove_unused_blobs, save_blob
from tanlu.store.roles import Role
from tanlu.store.workflow import InventoryCache, year_inventory

from .conftest import ACTIVITY_HEADER, BASIC_TOML

PASSWORD = "correct horse battery"
ORGANISATION = "Gamma Co"
# Two rows of 2021 electricity in Guangdong: the inventory's total is their sum times one factor,
# so that a change of a quantity changes the total in the same proportion.
GOOD_ROWS = (
    "gz,2021-01-01,2021-06-30,electricity,400,MWh\ngz,2021-07-01,2021-12-31,electricity,600,MWh\n"
)


@dataclass
class Setup:
    engine: Engine
    client: TestClient
    organisation_id: int
    headers: dict[
        str, dict[str, str]
    ]  # by who: "viewer", "contributor", "reviewer", "admin", "admin2"

    def project(self, name: str) -> str:
        """A new project's URL."""
        made = self.client.post(
            f"/api/organisations/{self.organisation_id}/projects",
            json={"name": name},
            headers=self.headers["admin"],
        )
        assert made.status_code == 201, made.text
        return f"/api/organisations/{self.organisation_id}/projects/{made.json()['id']}"

    def put(
        self, url: str, path: str, content: bytes | str, who: str = "contributor"
    ) -> httpx.Response:
        data = content.encode() if isinstance(content, str) else content
        return self.client.put(f"{url}/files/{path}", content=data, headers=self.headers[who])

    def step(
        self,
        url: str,
        year: int,
        action: str,
        who: str,
        reason: str = "",
        version: int | None = None,
    ) -> httpx.Response:
        """A step of the workflow, at the version of the year (or the project's newest revision,
        for a submission) as it stands now, unless ``version`` is given."""
        viewer = self.headers["viewer"]
        if action == "submit":
            newest = self.client.get(url, headers=viewer).json()["revision"]
            body: dict[str, object] = {"revision": newest if version is None else version}
        else:
            seen = self.client.get(f"{url}/years/{year}", headers=viewer)
            current = seen.json().get("version", 0) if seen.status_code == 200 else 0
            body = {"reason": reason, "version": current if version is None else version}
        return self.client.post(
            f"{url}/years/{year}/{action}", json=body, headers=self.headers[who]
        )


@pytest.fixture(scope="module")
def setup(module_database_url: str) -> Iterator[Setup]:
    engine = open_engine(module_database_url)
    upgrade(engine)
    headers = {}
    people = [(r.value, r.value) for r in Role] + [("admin2", Role.ADMIN.value)]
    organisation_id = 0
    for who, role in people:
        email = f"{who}@gamma.example.com"
        account = create_user(engine, email, PASSWORD, ORGANISATION, role, "test")
        organisation_id = account.organisation_id
        token = create_token(engine, email, ORGANISATION, "t", "test")
        headers[who] = {"Authorization": f"Bearer {token}"}
    app = create_app(engine, max_upload_bytes=64 * 1024)
    with TestClient(app, base_url="https://testserver") as client:
        yield Setup(engine, client, organisation_id, headers)
    engine.dispose()


def _count(engine: Engine, model: type) -> int:
    with session_scope(engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _counts(engine: Engine) -> tuple[int, ...]:
    return tuple(_count(engine, m) for m in (ProjectRevision, Blob, BlobChunk, AuditEntry))


def test_an_upload_shows_every_bad_row_and_the_mended_file_validates(setup: Setup) -> None:
    url = setup.project("validation")
    config = setup.put(url, "tanlu.toml", BASIC_TOML)
    assert config.status_code == 201
    # a configuration without activity files yet: one problem, of tanlu.toml
    assert config.json()["validation"]["valid"] is False
    assert config.json()["validation"]["issues"][0]["file"] == "tanlu.toml"
    bad = (
        ACTIVITY_HEADER
        + "gz,2021-01-01,2021-12-31,electricity,1000,MWh\n"  # line 2: good
        + "gz,2021-01-01,2021-12-31,electricity,lots,MWh\n"  # line 3: not a number
        + "xx,2021-01-01,2021-12-31,electricity,5,MWh\n"  # line 4: no such site
    )
    answer = setup.put(url, "data/activities.csv", bad)
    assert answer.status_code == 201
    body = answer.json()
    assert body["revision"] == {**body["revision"], "number": 2, "valid": False}
    found = {(i["file"], i["line"], i["column"]) for i in body["validation"]["issues"]}
    assert found == {("data/activities.csv", 3, "quantity"), ("data/activities.csv", 4, "site")}
    assert all(i["reason"] for i in body["validation"]["issues"])
    assert body["validation"]["problem_count"] == 2
    # the folder the revision was checked in appears nowhere
    assert tempfile.gettempdir() not in answer.text
    mended = setup.put(url, "data/activities.csv", ACTIVITY_HEADER + GOOD_ROWS)
    assert mended.json()["validation"] == {
        "revision": 3,
        "valid": True,
        "activity_rows": 2,
        "activity_files": 1,
        "instruments": 0,
        "sites": 2,
        # the base year and the reporting years of tanlu.toml, for the page's choice of year
        "years": [2021, 2022],
    }
    # the revision's page says the same, files listed with their SHA-256
    detail = setup.client.get(f"{url}/revisions/3", headers=setup.headers["viewer"]).json()
    assert detail["valid"] is True
    assert [f["path"] for f in detail["files"]] == ["data/activities.csv", "tanlu.toml"]
    assert detail["files"][1]["sha256"] == hashlib.sha256(BASIC_TOML.encode()).hexdigest()


def test_the_same_file_twice_changes_nothing(setup: Setup) -> None:
    url = setup.project("idempotent")
    first = setup.put(url, "tanlu.toml", BASIC_TOML)
    assert first.status_code == 201
    before = _counts(setup.engine)
    again = setup.put(url, "tanlu.toml", BASIC_TOML, who="admin")
    assert again.status_code == 200
    assert again.json()["changed"] is False
    assert again.json()["revision"]["number"] == first.json()["revision"]["number"]
    assert _counts(setup.engine) == before  # no revision, blob, chunk or audit entry
    # the same content at another path is a new revision but no new blob
    other = setup.put(url, "data/copy.csv", BASIC_TOML)
    assert other.status_code == 201
    revisions, blobs, chunks, entries = _counts(setup.engine)
    assert (revisions, blobs, chunks, entries) == (
        before[0] + 1,
        before[1],
        before[2],
        before[3] + 1,
    )


def test_revisions_keep_every_version_and_downloads_return_its_bytes(setup: Setup) -> None:
    url = setup.project("versions")
    one, two = "site\ngz\n", "site\ngz\nbj\n"
    assert setup.put(url, "data/list.csv", one).status_code == 201
    assert setup.put(url, "data/list.csv", two).status_code == 201
    viewer = setup.headers["viewer"]
    newest = setup.client.get(f"{url}/files/data/list.csv", headers=viewer)
    assert newest.content == two.encode()
    assert newest.headers["etag"] == f'"{hashlib.sha256(two.encode()).hexdigest()}"'
    assert "filename*=UTF-8''list.csv" in newest.headers["content-disposition"]
    first = setup.client.get(f"{url}/files/data/list.csv?revision=1", headers=viewer)
    assert first.content == one.encode()
    listed = setup.client.get(f"{url}/revisions", headers=viewer).json()
    assert [(r["number"], r["change"]) for r in listed] == [(2, "put"), (1, "put")]
    removed = setup.client.delete(
        f"{url}/files/data/list.csv", headers=setup.headers["contributor"]
    )
    assert removed.json()["number"] == 3 and removed.json()["change"] == "remove"
    gone = setup.client.get(f"{url}/files/data/list.csv", headers=viewer)
    assert gone.status_code == 404 and gone.json() == {
        "detail": "revision 3 has no file 'data/list.csv'"
    }
    # an older revision still has it
    assert (
        setup.client.get(f"{url}/files/data/list.csv?revision=2", headers=viewer).content
        == two.encode()
    )
    again = setup.client.delete(f"{url}/files/data/list.csv", headers=setup.headers["contributor"])
    assert again.status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "../escape.csv",
        "data/../../escape.csv",
        "/etc/passwd.csv",
        ".hidden.csv",
        "data/.hidden.csv",
        "a/b/c/d/e.csv",
        "data/run.exe",
        "data/other.toml",
        "data/back\\slash.csv",
        "data//twice.csv",
        "data/ space.csv",
        "x" * 197 + ".csv",
        "",
        "x.csv/y.csv",  # a folder named like a file
        "数" * 86 + ".csv",  # 262 bytes of UTF-8: over what a file system takes
        "data\n/a.csv",
        "data/a.csv\n",
    ],
)
def test_a_bad_file_path_is_refused_naming_the_rule(path: str) -> None:
    with pytest.raises(StoreError, match=r"path|project holds|only \.toml|folder"):
        check_file_path(path)


@pytest.mark.parametrize(
    "path", ["%2E%2E/escape.csv", "data/%2E%2E/%2E%2E/x.csv", "run.exe", "a.toml"]
)
def test_a_bad_upload_path_writes_nothing(setup: Setup, path: str) -> None:
    url = setup.project(f"paths {path}")
    before = _counts(setup.engine)
    answer = setup.client.put(
        f"{url}/files/{path}", content=b"x", headers=setup.headers["contributor"]
    )
    assert answer.status_code == 422, answer.text
    assert _counts(setup.engine) == before


def _upload_folders() -> list[Path]:
    return list(Path(tempfile.gettempdir()).glob(f"tanlu-upload-{host_name()}-{os.getpid()}-*"))


def test_a_file_too_large_is_refused_and_leaves_nothing(setup: Setup) -> None:
    url = setup.project("large")
    before = _counts(setup.engine)
    big = b"site\n" + b"gz\n" * 30_000  # 90 kB, over the 64 KiB this app takes
    declared = setup.put(url, "data/big.csv", big)
    assert declared.status_code == 413, declared.text

    def pieces() -> Iterator[bytes]:  # no Content-Length: the limit is counted as it streams
        for start in range(0, len(big), 8192):
            yield big[start : start + 8192]

    streamed = setup.client.put(
        f"{url}/files/data/big.csv", content=pieces(), headers=setup.headers["contributor"]
    )
    assert streamed.status_code == 413, streamed.text
    assert streamed.json() == {"detail": "the file is larger than the 64 KiB this service takes"}
    assert _counts(setup.engine) == before
    assert _upload_folders() == []


def _restated_rows(first_half_mwh: int) -> str:
    return ACTIVITY_HEADER + GOOD_ROWS.replace(",400,", f",{first_half_mwh},")


def test_the_inventory_read_follows_its_year_through_return_and_resubmission(
    setup: Setup,
) -> None:
    """The service keeps the inventories it read by the year's version: a step of the year
    (here a return, then a new submission of other figures) is seen at once."""
    url = setup.project("inventory kept")
    setup.put(url, "tanlu.toml", BASIC_TOML)
    setup.put(url, "data/activities.csv", ACTIVITY_HEADER + GOOD_ROWS)
    first = setup.step(url, 2021, "submit", "contributor").json()["total_tco2e"]
    read = f"{url}/years/2021/inventory"
    viewer = setup.headers["viewer"]
    for _ in range(2):  # read, then read again from what the service kept
        shown = setup.client.get(read, headers=viewer).json()["totals"]["total_location_tco2e"]
        assert shown == pytest.approx(first)
    assert setup.step(url, 2021, "return", "reviewer", reason="figures to check").status_code == 200
    assert setup.client.get(read, headers=viewer).status_code == 404
    setup.put(url, "data/activities.csv", _restated_rows(200))
    second = setup.step(url, 2021, "submit", "contributor").json()["total_tco2e"]
    assert second != pytest.approx(first)
    shown = setup.client.get(read, headers=viewer).json()["totals"]["total_location_tco2e"]
    assert shown == pytest.approx(second)
    # the project's ownership is asked on every read, kept or not
    project_id = int(url.rsplit("/", 1)[1])
    kept = InventoryCache()
    assert year_inventory(setup.engine, setup.organisation_id, project_id, 2021, kept)
    with pytest.raises(NotFoundError):
        year_inventory(setup.engine, setup.organisation_id + 1000, project_id, 2021, kept)


def test_a_year_goes_from_collecting_to_approved_and_is_restated_with_its_check(
    setup: Setup,
) -> None:
    url = setup.project("workflow")
    setup.put(url, "tanlu.toml", BASIC_TOML)
    assert setup.put(url, "data/activities.csv", ACTIVITY_HEADER + GOOD_ROWS).json()["validation"][
        "valid"
    ]
    # a viewer cannot submit; the contributor can
    assert setup.step(url, 2021, "submit", "viewer").status_code == 403
    submitted = setup.step(url, 2021, "submit", "contributor")
    assert submitted.status_code == 200, submitted.text
    year = submitted.json()
    assert (year["status"], year["revision"], year["submitted_by"]) == (
        "submitted",
        2,
        "contributor@gamma.example.com",
    )
    total = year["total_tco2e"]
    assert total > 0
    # the figures are the CLI's inventory of the submitted revision
    inventory = setup.client.get(
        f"{url}/years/2021/inventory", headers=setup.headers["viewer"]
    ).json()
    assert inventory["year"] == 2021
    assert inventory["totals"]["total_location_tco2e"] == pytest.approx(total)
    # a year is submitted once; approval needs a review first
    assert setup.step(url, 2021, "submit", "contributor").status_code == 409
    assert setup.step(url, 2021, "approve", "admin").status_code == 409
    assert setup.step(url, 2021, "review", "reviewer").json()["status"] == "reviewed"
    assert setup.step(url, 2021, "approve", "admin").json()["status"] == "approved"
    # locked: a later upload makes a new revision, but the approved year keeps its figures
    assert setup.put(url, "data/activities.csv", _restated_rows(500)).status_code == 201
    after = setup.client.get(f"{url}/years/2021", headers=setup.headers["viewer"]).json()
    assert (after["status"], after["revision"], after["total_tco2e"]) == ("approved", 2, total)
    assert setup.step(url, 2021, "submit", "contributor").status_code == 409
    assert setup.step(url, 2021, "return", "reviewer", "late data").status_code == 409
    # a restatement needs an admin and a reason
    assert setup.step(url, 2021, "restate", "reviewer", "meter error").status_code == 403
    no_reason = setup.step(url, 2021, "restate", "admin", "  ")
    assert no_reason.status_code == 422
    assert no_reason.json() == {"detail": "to restate a year, give the reason"}
    restated = setup.step(url, 2021, "restate", "admin", "the January meter read 100 MWh low")
    assert restated.json()["status"] == "collecting"
    assert restated.json()["restatement"]["approved_total_tco2e"] == total
    # resubmitted with 500 + 600 = 1,100 MWh instead of 400 + 600 = 1,000: the total grows by
    # 1,100 / 1,000 - 1 = 10%, over the 5% threshold, in the base year (2021): the base year
    # must be recalculated
    resubmitted = setup.step(url, 2021, "submit", "contributor")
    assert resubmitted.status_code == 200, resubmitted.text
    assert resubmitted.json()["revision"] == 3
    assert resubmitted.json()["total_tco2e"] == pytest.approx(total * 1.1)
    events = setup.client.get(f"{url}/years/2021", headers=setup.headers["viewer"]).json()["events"]
    assert [e["action"] for e in events] == ["submit", "review", "approve", "restate", "submit"]
    check = events[-1]["detail"]
    assert check["change_share"] == pytest.approx(0.1)
    assert check["change_tco2e"] == pytest.approx(total * 0.1)
    assert check["threshold_share"] == 0.05
    assert check["significant"] is True
    assert check["is_base_year"] is True
    assert check["base_year_recalculation_required"] is True
    assert check["reason"] == "the January meter read 100 MWh low"
    assert events[3]["reason"] == "the January meter read 100 MWh low"
    # the submitter can neither review nor approve their own figures
    own = setup.step(url, 2021, "review", "contributor")
    assert own.status_code == 403  # a contributor cannot review at all
    setup.step(url, 2021, "return", "reviewer", "resubmit by the admin")
    assert setup.step(url, 2021, "submit", "admin").status_code == 200
    assert setup.step(url, 2021, "review", "admin").status_code == 409
    assert "someone else" in setup.step(url, 2021, "review", "admin").json()["detail"]
    assert setup.step(url, 2021, "review", "reviewer").status_code == 200
    assert setup.step(url, 2021, "approve", "admin").status_code == 409
    approved = setup.step(url, 2021, "approve", "admin2")
    assert approved.json()["status"] == "approved"
    assert approved.json()["approved_total_tco2e"] == pytest.approx(total * 1.1)
    assert approved.json()["restatement"] is None
    # every step is in the audit log, and the chain holds
    audit = setup.client.get(
        f"/api/organisations/{setup.organisation_id}/audit?limit=1000",
        headers=setup.headers["admin"],
    ).json()
    steps = [
        e["action"]
        for e in audit
        if e["target"].endswith("year 2021") and url.endswith(e["target"].split()[1])
    ]
    assert steps == [
        "year.submit",
        "year.review",
        "year.approve",
        "year.restate",
        "year.submit",
        "year.return",
        "year.submit",
        "year.review",
        "year.approve",
    ]
    verify_chain(setup.engine)


def test_a_year_is_submitted_only_from_a_valid_revision_and_for_a_year_of_the_project(
    setup: Setup,
) -> None:
    url = setup.project("submit refused")
    assert setup.step(url, 2021, "submit", "contributor", version=1).json() == {
        "detail": "the project has no files to submit"
    }
    setup.put(url, "tanlu.toml", BASIC_TOML)
    setup.put(
        url, "data/activities.csv", ACTIVITY_HEADER + "gz,2021-01-01,2021-12-31,electricity,x,MWh\n"
    )
    invalid = setup.step(url, 2021, "submit", "contributor")
    assert invalid.status_code == 409
    assert invalid.json() == {"detail": "revision 2 has 1 problems: mend them before submitting"}
    setup.put(url, "data/activities.csv", ACTIVITY_HEADER + GOOD_ROWS)
    other = setup.step(url, 2025, "submit", "contributor")
    assert other.status_code == 409
    assert "neither the base year nor a reporting year" in other.json()["detail"]
    assert setup.step(url, 1989, "submit", "contributor").status_code == 422
    assert (
        setup.client.get(f"{url}/years/2021/inventory", headers=setup.headers["viewer"]).status_code
        == 404
    )
    assert setup.client.get(f"{url}/years", headers=setup.headers["viewer"]).json() == []


def test_uploads_at_the_same_time_lose_nothing(setup: Setup) -> None:
    url = setup.project("concurrent")
    files = {f"data/part{i}.csv": f"site\nsite{i}\n" for i in range(6)}
    answers: dict[str, int] = {}
    start = threading.Barrier(len(files))

    def upload(path: str, text: str) -> None:
        start.wait()
        answers[path] = setup.put(url, path, text).status_code

    threads = [threading.Thread(target=upload, args=item) for item in files.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == dict.fromkeys(files, 201)
    listed = setup.client.get(f"{url}/revisions", headers=setup.headers["viewer"]).json()
    assert sorted(r["number"] for r in listed) == [1, 2, 3, 4, 5, 6]
    newest = setup.client.get(f"{url}/revisions/6", headers=setup.headers["viewer"]).json()
    assert sorted(f["path"] for f in newest["files"]) == sorted(files)
    for path, text in files.items():
        got = setup.client.get(f"{url}/files/{path}", headers=setup.headers["viewer"])
        assert got.text == text
    verify_chain(setup.engine)


def test_two_reviews_at_the_same_time_apply_once(setup: Setup) -> None:
    url = setup.project("race")
    setup.put(url, "tanlu.toml", BASIC_TOML)
    setup.put(url, "data/activities.csv", ACTIVITY_HEADER + GOOD_ROWS)
    assert setup.step(url, 2021, "submit", "contributor").status_code == 200
    answers: list[int] = []
    start = threading.Barrier(3)

    def review(who: str) -> None:
        start.wait()
        answers.append(setup.step(url, 2021, "review", who).status_code)

    threads = [threading.Thread(target=review, args=(w,)) for w in ("reviewer", "admin", "admin2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200, 409, 409]
    events = setup.client.get(f"{url}/years/2021", headers=setup.headers["viewer"]).json()["events"]
    assert [e["action"] for e in events] == ["submit", "review"]


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(database: str, port: int, tmp: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tanlu.cli", "serve", "--db", database, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "TMPDIR": str(tmp)},
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)
            return process
        except httpx.TransportError:
            assert process.poll() is None, "tanlu serve stopped"
            assert time.monotonic() < deadline, "tanlu serve did not answer in 60 s"
            time.sleep(0.2)


def test_a_server_killed_in_the_middle_of_an_upload_leaves_nothing(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'tanlu.db'}"
    engine = open_engine(database)
    upgrade(engine)
    create_user(engine, "admin@delta.example.com", PASSWORD, "Delta", "admin", "test")
    token = create_token(engine, "admin@delta.example.com", "Delta", "t", "test")
    headers = {"Authorization": f"Bearer {token}"}
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _serve(database, port, scratch)
    try:
        made = httpx.post(
            f"{base}/api/organisations/1/projects", json={"name": "p"}, headers=headers
        )
        url = f"{base}/api/organisations/1/projects/{made.json()['id']}"
        sent, release = threading.Event(), threading.Event()

        def body() -> Iterator[bytes]:
            yield b"site\n" + b"gz\n" * 1_000_000  # 3 MB, then the server is killed
            sent.set()
            release.wait(120)
            yield b"never sent\n"

        def upload() -> None:
            with contextlib.suppress(httpx.TransportError):
                httpx.put(f"{url}/files/data/big.csv", content=body(), headers=headers, timeout=60)

        uploader = threading.Thread(target=upload, daemon=True)
        uploader.start()
        assert sent.wait(30)
        deadline = time.monotonic() + 30
        # the server writes what it received a MiB at a time
        while sum(f.stat().st_size for f in scratch.glob("tanlu-upload-*/upload")) < 2**21:
            assert time.monotonic() < deadline, "the upload did not reach the server's disk"
            time.sleep(0.05)
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)
        release.set()  # the client's upload now fails on the closed connection
        uploader.join(30)
    finally:
        if server.poll() is None:
            server.kill()
    # the killed server left its half upload on disk, and nothing in the database
    assert len(list(scratch.glob("tanlu-upload-*"))) == 1
    assert _count(engine, ProjectRevision) == 0
    assert _count(engine, Blob) == 0 and _count(engine, BlobChunk) == 0
    server = _serve(database, port, scratch)
    try:
        assert httpx.get(f"{url}/revisions", headers=headers).json() == []
        done = httpx.put(f"{url}/files/data/small.csv", content=b"site\ngz\n", headers=headers)
        assert done.status_code == 201
        # the next upload removed the dead process's folder
        assert list(scratch.glob("tanlu-upload-*")) == []
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    verify_chain(engine)
    engine.dispose()


def _wait_for_job(setup: Setup, url: str, job_id: int, timeout_s: float = 120) -> dict[str, Any]:
    """Poll a job until it ends; every answer's progress never goes back."""
    deadline = time.monotonic() + timeout_s
    seen = 0
    while True:
        job = setup.client.get(f"{url}/jobs/{job_id}", headers=setup.headers["viewer"]).json()
        assert job["steps_done"] >= seen
        seen = job["steps_done"]
        if job["status"] in ("done", "failed"):
            return dict(job)
        assert time.monotonic() < deadline, f"job {job_id} did not end in {timeout_s} s: {job}"
        time.sleep(0.1)


def test_jobs_compute_the_clis_figures_with_progress_and_their_files_download(
    setup: Setup, tmp_path: Path
) -> None:
    url = setup.project("jobs")
    activities = ACTIVITY_HEADER + GOOD_ROWS
    setup.put(url, "tanlu.toml", BASIC_TOML)
    setup.put(url, "data/activities.csv", activities)
    queued = setup.client.post(
        f"{url}/jobs",
        json={"kind": "inventory", "year": 2021},
        headers=setup.headers["contributor"],
    )
    assert queued.status_code == 202, queued.text
    assert (queued.json()["status"], queued.json()["revision"]) == ("queued", 2)
    done = _wait_for_job(setup, url, queued.json()["id"])
    assert done["status"] == "done", done
    assert (done["steps_done"], done["steps_total"], done["attempts"]) == (3, 3, 1)
    names = {f["path"] for f in done["files"]}
    assert {
        "inventory_2021.json",
        "inventory_2021_by_site.csv",
        "inventory_2021_lines.csv",
    } <= names
    # the same document as `tanlu inventory --json` of the same files
    folder = tmp_path / "p"
    (folder / "data").mkdir(parents=True)
    (folder / "tanlu.toml").write_text(BASIC_TOML, encoding="utf-8")
    (folder / "data" / "activities.csv").write_text(activities, encoding="utf-8")
    cli = json.loads(json_text(run_inventory(folder, 2021).to_dict()))
    got = setup.client.get(
        f"{url}/jobs/{done['id']}/files/inventory_2021.json", headers=setup.headers["viewer"]
    )
    assert got.status_code == 200
    assert got.headers["etag"] == f'"{hashlib.sha256(got.content).hexdigest()}"'
    assert json.loads(got.content) == cli
    # the main job: the report and the results, in English, without the PDF
    run = setup.client.post(
        f"{url}/jobs",
        json={"kind": "run", "language": "en", "pdf": False},
        headers=setup.headers["contributor"],
    )
    finished = _wait_for_job(setup, url, run.json()["id"])
    assert finished["status"] == "done", finished
    assert {f["path"] for f in finished["files"]} == {"report.html", "results.json", "results.xlsx"}
    results = setup.client.get(
        f"{url}/jobs/{finished['id']}/files/results.json", headers=setup.headers["viewer"]
    ).json()
    assert results["language"] == "en"
    listed = setup.client.get(f"{url}/jobs", headers=setup.headers["viewer"]).json()
    assert [j["id"] for j in listed] == [finished["id"], done["id"]]
    missing = setup.client.get(
        f"{url}/jobs/{done['id']}/files/report.pdf", headers=setup.headers["viewer"]
    )
    assert missing.status_code == 404


def test_a_job_needs_a_valid_revision_and_its_parameters(setup: Setup) -> None:
    url = setup.project("jobs refused")
    contributor = setup.headers["contributor"]
    none = setup.client.post(f"{url}/jobs", json={"kind": "run"}, headers=contributor)
    assert none.status_code == 409 and none.json() == {
        "detail": "the project has no files to compute"
    }
    setup.put(url, "tanlu.toml", BASIC_TOML)
    invalid = setup.client.post(f"{url}/jobs", json={"kind": "run"}, headers=contributor)
    assert invalid.status_code == 409
    assert invalid.json() == {"detail": "revision 1 has 1 problems: mend them first"}
    setup.put(url, "data/activities.csv", ACTIVITY_HEADER + GOOD_ROWS)
    for body in (
        {"kind": "inventory"},
        {"kind": "run", "language": "fr"},
        {"kind": "forecast"},
        {"kind": "inventory", "year": 1800},
    ):
        assert setup.client.post(f"{url}/jobs", json=body, headers=contributor).status_code == 422
    assert (
        setup.client.post(
            f"{url}/jobs", json={"kind": "run"}, headers=setup.headers["viewer"]
        ).status_code
        == 403
    )
    # a year the project does not report fails with the reason
    other = setup.client.post(
        f"{url}/jobs", json={"kind": "inventory", "year": 2030}, headers=contributor
    )
    failed = _wait_for_job(setup, url, other.json()["id"])
    assert failed["status"] == "failed"
    assert failed["error"] == "2030 is neither the base year nor a reporting year of tanlu.toml"
    assert failed["files"] == []


def test_a_server_killed_in_the_middle_of_a_job_leaves_no_files_and_the_job_runs_again(
    tmp_path: Path,
) -> None:
    database = f"sqlite:///{tmp_path / 'tanlu.db'}"
    engine = open_engine(database)
    upgrade(engine)
    create_user(engine, "admin@epsilon.example.com", PASSWORD, "Epsilon", "admin", "test")
    token = create_token(engine, "admin@epsilon.example.com", "Epsilon", "t", "test")
    headers = {"Authorization": f"Bearer {token}"}
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api/organisations/1/projects/1"
    server = _serve(database, port, scratch)
    try:
        httpx.post(
            f"http://127.0.0.1:{port}/api/organisations/1/projects",
            json={"name": "p"},
            headers=headers,
        )
        httpx.put(f"{url}/files/tanlu.toml", content=BASIC_TOML.encode(), headers=headers)
        httpx.put(
            f"{url}/files/data/activities.csv",
            content=(ACTIVITY_HEADER + GOOD_ROWS).encode(),
            headers=headers,
        )
        job = httpx.post(f"{url}/jobs", json={"kind": "run", "pdf": False}, headers=headers).json()
        deadline = time.monotonic() + 60
        while True:  # killed once the job has finished a step and is computing the next
            state = httpx.get(f"{url}/jobs/{job['id']}", headers=headers).json()
            if state["status"] == "running" and state["steps_done"] >= 1:
                break
            assert state["status"] in ("queued", "running"), state.get("error")
            assert time.monotonic() < deadline, state
            time.sleep(0.05)
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
    with session_scope(engine) as session:
        row = session.get(Job, job["id"])
        assert row is not None and (row.status, row.attempts) == ("running", 1)
    assert _count(engine, JobFile) == 0
    assert list(scratch.glob("tanlu-job-*"))  # the dead worker's output folder
    server = _serve(database, port, scratch)
    try:
        deadline = time.monotonic() + 120
        while True:  # the new worker queues it again and runs it to the end
            state = httpx.get(f"{url}/jobs/{job['id']}", headers=headers).json()
            if state["status"] in ("done", "failed"):
                break
            assert time.monotonic() < deadline, state
            time.sleep(0.2)
        assert (state["status"], state["attempts"]) == ("done", 2), state
        assert {f["path"] for f in state["files"]} == {
            "report.html",
            "results.json",
            "results.xlsx",
        }
        assert not list(scratch.glob("tanlu-job-*"))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    engine.dispose()


def test_a_step_decided_on_what_has_since_changed_is_refused(setup: Setup) -> None:
    url = setup.project("stale")
    setup.put(url, "tanlu.toml", BASIC_TOML)
    setup.put(url, "data/activities.csv", ACTIVITY_HEADER + GOOD_ROWS)
    # a submission names the revision checked: a newer one since is refused
    setup.put(url, "data/activities.csv", _restated_rows(450))
    stale_revision = setup.step(url, 2021, "submit", "contributor", version=2)
    assert stale_revision.status_code == 409
    assert stale_revision.json() == {
        "detail": "revision 3 is the project's newest, not 2: check it and submit that one"
    }
    assert setup.step(url, 2021, "submit", "contributor").status_code == 200
    # the reviewer opened the year at version 1; it was returned and submitted again since
    seen = setup.client.get(f"{url}/years/2021", headers=setup.headers["reviewer"]).json()
    assert seen["version"] == 1
    assert setup.step(url, 2021, "return", "admin", "wrong meter").status_code == 200
    assert setup.step(url, 2021, "submit", "contributor").status_code == 200
    late = setup.step(url, 2021, "review", "reviewer", version=seen["version"])
    assert late.status_code == 409
    assert "changed while this step was prepared (it is now submitted)" in late.json()["detail"]
    assert setup.step(url, 2021, "review", "reviewer").status_code == 200


def test_a_reason_holds_lines_but_no_control_characters(setup: Setup) -> None:
    url = setup.project("reasons")
    setup.put(url, "tanlu.toml", BASIC_TOML)
    setup.put(url, "data/activities.csv", ACTIVITY_HEADER + GOOD_ROWS)
    setup.step(url, 2021, "submit", "contributor")
    assert setup.step(url, 2021, "return", "reviewer", "bad\x00reason").status_code == 422
    assert setup.step(url, 2021, "return", "reviewer", "bad\x1breason").status_code == 422
    back = setup.step(url, 2021, "return", "reviewer", "two lines:\nthe meter\tis wrong")
    assert back.status_code == 200
    events = setup.client.get(f"{url}/years/2021", headers=setup.headers["viewer"]).json()["events"]
    assert events[-1]["reason"] == "two lines:\nthe meter\tis wrong"


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("../*/activities.csv", "reaches outside the project folder"),
        ("data/../../*.csv", "reaches outside the project folder"),
        ("/etc/*.csv", "is not a pattern relative to the project folder"),
        ("~/*.csv", "is not a pattern relative to the project folder"),
    ],
)
def test_an_uploaded_configuration_reads_no_file_outside_its_project(
    setup: Setup, pattern: str, reason: str
) -> None:
    url = setup.project(f"escape {pattern}")
    setup.put(url, "data/activities.csv", ACTIVITY_HEADER + GOOD_ROWS)
    toml = BASIC_TOML + f'\n[data]\nactivities = ["{pattern}"]\n'
    answer = setup.put(url, "tanlu.toml", toml)
    assert answer.status_code == 201
    validation = answer.json()["validation"]
    assert validation["valid"] is False
    [issue] = validation["issues"]
    assert issue["file"] == "tanlu.toml"
    assert issue["reason"] == f"tanlu.toml: data.activities: '{pattern}' {reason}"


def test_a_bad_roadmap_scenario_makes_the_revision_invalid_and_no_job_starts(
    setup: Setup,
) -> None:
    url = setup.project("scenario")
    setup.put(url, "data/activities.csv", ACTIVITY_HEADER + GOOD_ROWS)
    toml = BASIC_TOML + "\n[roadmap.scenarios.boom]\ngrowth_share_per_year = { office = 99 }\n"
    validation = setup.put(url, "tanlu.toml", toml).json()["validation"]
    assert validation["valid"] is False
    [issue] = validation["issues"]
    assert issue["file"] == "tanlu.toml"
    assert issue["reason"].startswith("tanlu.toml: roadmap.scenarios.boom: growth_share_per_year")
    refused = setup.client.post(
        f"{url}/jobs", json={"kind": "run"}, headers=setup.headers["contributor"]
    )
    assert refused.status_code == 409


def test_an_uploaded_configuration_does_not_choose_the_services_engine(setup: Setup) -> None:
    url = setup.project("engine")
    toml = BASIC_TOML + '\n[engine]\nbackend = "spark"\nspark_master = "spark://elsewhere:7077"\n'
    toml += 'temp_directory = "/nonexistent/spill"\nmemory_limit_gib = 100000\n'
    setup.put(url, "tanlu.toml", toml)
    answer = setup.put(url, "data/activities.csv", ACTIVITY_HEADER + GOOD_ROWS)
    assert answer.json()["validation"]["valid"] is True
    submitted = setup.step(url, 2021, "submit", "contributor")
    assert submitted.status_code == 200, submitted.text
    assert not Path("/nonexistent/spill").exists()


def test_blobs_nothing_refers_to_are_removed_after_an_hour(setup: Setup, tmp_path: Path) -> None:
    url = setup.project("unused blobs")
    setup.put(url, "data/kept.csv", "site\nkept\n")
    organisation = setup.organisation_id
    young, old = tmp_path / "young.csv", tmp_path / "old.csv"
    young.write_text("site\nyoung\n")
    old.write_text("site\nold\n")
    young_id = save_blob(
        setup.engine, organisation, young, hashlib.sha256(young.read_bytes()).hexdigest()
    )
    old_id = save_blob(
        setup.engine, organisation, old, hashlib.sha256(old.read_bytes()).hexdigest()
    )
    with session_scope(setup.engine) as session:
        blob = session.get(Blob, old_id)
        assert blob is not None
        blob.last_used_at = "2000-01-01T00:00:00.000000+00:00"
        kept_id = session.scalar(
            select(Blob.id).where(Blob.sha256 == hashlib.sha256(b"site\nkept\n").hexdigest())
        )
        session.execute(
            update(Blob)
            .where(Blob.id == kept_id)
            .values(last_used_at="2000-01-01T00:00:00.000000+00:00")
        )
    # (the fixture's job worker removes unused blobs too, every 30 s: whoever removes it)
    remove_unused_blobs(setup.engine)
    with session_scope(setup.engine) as session:
        assert session.get(Blob, old_id) is None
        assert (
            session.scalar(
                select(func.count()).select_from(BlobChunk).where(BlobChunk.blob_id == old_id)
            )
            == 0
        )
        assert session.get(Blob, young_id) is not None  # unused, but stored a moment ago
        assert session.get(Blob, kept_id) is not None  # old, but a revision refers to it
    assert (
        setup.client.get(f"{url}/files/data/kept.csv", headers=setup.headers["viewer"]).text
        == "site\nkept\n"
    )


def test_a_worker_is_gone_when_its_process_is_or_another_took_its_id() -> None:
    me = worker_name(0)
    host, pid, started, index = me.rsplit("-", 3)
    assert (int(pid), index) == (os.getpid(), "0")
    assert worker_gone(me) is False
    # a process started since with the same id (a container's service restarted as process 1)
    assert worker_gone(f"{host}-{pid}-{int(started) + 1}-0") is True
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert worker_gone(f"{host}-{finished.stdout.strip()}-1-0") is True
    # another machine's worker, or a name not made by worker_name: not known to be gone
    assert worker_gone(f"elsewhere-{finished.stdout.strip()}-1-0") is False
    assert worker_gone("not a worker") is False


def _running_job(setup: Setup, name: str, worker: str) -> tuple[str, JobInfo]:
    url = setup.project(name)
    setup.put(url, "tanlu.toml", BASIC_TOML)
    setup.put(url, "data/activities.csv", ACTIVITY_HEADER + GOOD_ROWS)
    project_id = int(url.rsplit("/", 1)[1])
    create_job(
        setup.engine,
        setup.organisation_id,
        project_id,
        2,
        JobKind.INVENTORY,
        {"year": 2021},
        "test",
    )
    # claimed here, not by the fixture's worker thread: the claim is taken from the queue
    # directly, and the job's row is then given to ``worker`` with a fresh heartbeat (without
    # one, the fixture's worker thread would find the job stale and queue it again)
    with session_scope(setup.engine) as session:
        job_id = session.scalar(select(func.max(Job.id)).where(Job.project_id == project_id))
        session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(status="running", worker=worker, attempts=1, heartbeat_at=now())
        )
    return url, get_job(setup.engine, setup.organisation_id, project_id, job_id)


def test_a_job_queued_again_and_claimed_by_another_worker_is_not_finished_by_the_first(
    setup: Setup, tmp_path: Path
) -> None:
    url, job = _running_job(setup, "lost job", "elsewhere-1-1-0")
    result = tmp_path / "result.json"
    result.write_text("{}")
    # the first worker, which lost the job, cannot finish it or fail it
    assert finish_job(setup.engine, job.id, "gone-2-2-0", {"result.json": result}) is False
    fail_job(setup.engine, job.id, "gone-2-2-0", "late")
    # and run_job gives it up at its first step, leaving it to the worker that holds it
    run_job(setup.engine, job, "gone-2-2-0")
    held = setup.client.get(f"{url}/jobs/{job.id}", headers=setup.headers["viewer"]).json()
    assert (held["status"], held["files"], held["error"]) == ("running", [], None)
    # the worker that holds it finishes it
    assert finish_job(setup.engine, job.id, "elsewhere-1-1-0", {"result.json": result}) is True
    done = setup.client.get(f"{url}/jobs/{job.id}", headers=setup.headers["viewer"]).json()
    assert (done["status"], [f["path"] for f in done["files"]]) == ("done", ["result.json"])


def test_a_job_of_a_worker_that_is_gone_is_queued_again_then_failed(setup: Setup) -> None:
    url, job = _running_job(setup, "orphan", "gone-3-3-0")
    assert requeue_orphans(setup.engine, lambda worker: worker == "gone-3-3-0") == [job.id]
    with session_scope(setup.engine) as session:
        session.execute(
            update(Job)
            .where(Job.id == job.id)
            .values(status="running", worker="gone-3-3-0", attempts=3, heartbeat_at=now())
        )
    assert requeue_orphans(setup.engine, lambda worker: worker == "gone-3-3-0") == [job.id]
    failed = setup.client.get(f"{url}/jobs/{job.id}", headers=setup.headers["viewer"]).json()
    assert (failed["status"], failed["error"]) == (
        "failed",
        "its worker stopped 3 times before it ended",
    )


def test_a_blob_removed_before_it_is_referred_to_is_stored_again(
    setup: Setup, tmp_path: Path
) -> None:
    source = tmp_path / "x.csv"
    source.write_text("site\nagain\n")
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    blob_id = save_blob(setup.engine, setup.organisation_id, source, digest)
    with session_scope(setup.engine) as session:  # what remove_unused_blobs would do
        session.execute(delete(BlobChunk).where(BlobChunk.blob_id == blob_id))
        session.execute(delete(Blob).where(Blob.id == blob_id))
    with session_scope(setup.engine) as session:
        kept = refer_blob(session, setup.organisation_id, blob_id, source, digest)
    with session_scope(setup.engine) as session:
        chunks = session.scalars(select(BlobChunk.data).where(BlobChunk.blob_id == kept)).all()
    assert b"".join(chunks) == source.read_bytes()


def test_every_computation_of_the_cli_runs_as_a_job(setup: Setup) -> None:
    """Electricity (the same JSON as `tanlu electricity --json`), procurement and the roadmap
    as jobs; the toy project has no hourly load and no targets, so those two fail with the
    reason their command gives."""
    url = setup.project("every kind")
    setup.put(url, "tanlu.toml", BASIC_TOML)
    setup.put(url, "data/activities.csv", ACTIVITY_HEADER + GOOD_ROWS)
    contributor = setup.headers["contributor"]

    def job(body: dict[str, object]) -> dict[str, Any]:
        queued = setup.client.post(f"{url}/jobs", json=body, headers=contributor)
        assert queued.status_code == 202, queued.text
        return _wait_for_job(setup, url, queued.json()["id"])

    electricity = job({"kind": "electricity", "year": 2021})
    assert electricity["status"] == "done", electricity
    assert [f["path"] for f in electricity["files"]] == ["electricity_2021.json"]
    got = setup.client.get(
        f"{url}/jobs/{electricity['id']}/files/electricity_2021.json",
        headers=setup.headers["viewer"],
    ).json()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "data").mkdir()
        (root / "tanlu.toml").write_text(BASIC_TOML, encoding="utf-8")
        (root / "data" / "activities.csv").write_text(ACTIVITY_HEADER + GOOD_ROWS)
        assert got == json.loads(json_text(run_electricity(root, 2021).to_dict()))
    roadmap = job({"kind": "roadmap"})
    assert roadmap["status"] == "failed" and "target" in roadmap["error"], roadmap
    procure = job({"kind": "procure", "site": "gz", "year": 2021, "cfe": 0.9})
    assert procure["status"] == "failed" and procure["error"], procure
    assert tempfile.gettempdir() not in procure["error"]
    # what a kind needs is checked before it is queued
    for body in (
        {"kind": "electricity"},
        {"kind": "procure", "year": 2021, "cfe": 0.9},
        {"kind": "procure", "site": "gz", "year": 2021},
        {"kind": "procure", "site": "gz", "year": 2021, "cfe": 1.5},
        {"kind": "roadmap", "samples": 0},
        {"kind": "procure", "site": "gz", "year": 2021, "cfe": 0.9, "curve": [0.5, 1.2]},
        {"kind": "procure", "site": "gz", "year": 2021, "cfe": 0.9, "wind_max_mw": -1},
        {"kind": "roadmap", "sweep_path": "discount_rate_share"},  # no values
        {"kind": "roadmap", "sweep_values": [0.1]},  # no path
        {"kind": "roadmap", "sweep_path": "a b", "sweep_values": [0.1]},
    ):
        refused = setup.client.post(f"{url}/jobs", json=body, headers=contributor)
        assert refused.status_code == 422, (body, refused.text)
    # `procure --curve` and its capacity limits, and `roadmap --sweep`, as the job's parameters
    curve = {"curve": [0.5, 0.8], "wind_max_mw": 0.1, "pv_max_kw": 0}
    queued = setup.client.post(
        f"{url}/jobs",
        json={"kind": "procure", "site": "gz", "year": 2021, "cfe": 0.9, **curve},
        headers=contributor,
    )
    assert queued.status_code == 202, queued.text
    assert queued.json()["parameters"] == {
        "site": "gz",
        "year": 2021,
        "cfe": 0.9,
        "annual": False,
        "curve": [0.5, 0.8],
        "pv_max_kw": 0.0,
        "wind_max_mw": 0.1,
        "solar_max_mw": None,
        "battery_max_mwh": None,
    }
    sweep = {"sweep_path": "growth_share_per_year.office", "sweep_values": [0, 0.1]}
    queued = setup.client.post(
        f"{url}/jobs", json={"kind": "roadmap", **sweep}, headers=contributor
    )
    assert queued.status_code == 202, queued.text
    assert queued.json()["parameters"]["sweep_values"] == [0.0, 0.1]
    assert queued.json()["parameters"]["sweep_path"] == "growth_share_per_year.office"


def test_a_jobs_curve_limits_and_sweep_reach_the_clis_use_cases(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What a procurement or roadmap job computes with: the same arguments as `tanlu procure
    --curve 0.5,0.8 --wind-max-mw 0.1` and `tanlu roadmap --sweep PATH=0,0.1` pass."""
    seen: dict[str, Any] = {}

    def procurement(*arguments: Any, **keywords: Any) -> Any:
        seen["procure"] = (arguments, keywords)
        raise StoreError("stop here")

    def roadmap(project: Any, options: RoadmapOptions, inputs: Any) -> Any:
        seen["roadmap"] = options
        raise StoreError("stop here")

    monkeypatch.setattr(project_jobs, "run_procurement", procurement)
    monkeypatch.setattr(project_jobs, "run_roadmap", roadmap)
    monkeypatch.setattr(project_jobs, "read_inputs", lambda project: "inputs")
    given = check_parameters(
        JobKind.PROCURE,
        {"site": "gz", "year": 2021, "cfe": 0.9, "curve": [0.5, 0.8], "wind_max_mw": 0.1},
    )
    job = JobInfo(
        1,
        1,
        1,
        1,
        JobKind.PROCURE,
        given,
        JobStatus.RUNNING,
        "",
        0,
        0,
        1,
        "w",
        None,
        "t",
        "t",
        None,
        None,
    )
    with pytest.raises(StoreError, match="stop here"):
        project_jobs._computed(cast(Any, "project"), job, lambda name, total: None)
    arguments, keywords = seen["procure"]
    assert arguments == (
        "project",
        "gz",
        2021,
        0.9,
        False,
        ProcurementLimits(None, 0.1, None, None),
        [0.5, 0.8],
    )
    assert keywords == {"inputs": "inputs"}
    given = check_parameters(
        JobKind.ROADMAP, {"sweep_path": "growth_share_per_year.office", "sweep_values": [0, 1]}
    )
    job = replace(job, kind=JobKind.ROADMAP, parameters=given)
    with pytest.raises(StoreError, match="stop here"):
        project_jobs._computed(cast(Any, "project"), job, lambda name, total: None)
    assert seen["roadmap"] == RoadmapOptions(
        None, None, False, None, "growth_share_per_year.office", (0.0, 1.0)
    )

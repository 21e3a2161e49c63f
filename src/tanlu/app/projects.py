"""The service's project use cases: files uploaded into a project's revisions and checked by
the same validators as ``tanlu validate``; a reporting year submitted with the inventory the
CLI computes, reviewed, approved, returned and restated (with the restatement's check).

A revision is checked and computed on a copy of its files written into a scratch folder (a
project folder as the CLI reads it), removed afterwards, or by the next process when this one
was killed (:mod:`tanlu.scratch`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from tanlu.app.inputs import open_project
from tanlu.app.jobs import run_inventory
from tanlu.app.provinces import province_totals, province_totals_json, site_provinces
from tanlu.app.validate import validate_project
from tanlu.errors import (
    ConflictError,
    NotFoundError,
    ProjectError,
    StoreError,
    TanluError,
    TooLargeError,
)
from tanlu.inventory.calculate import InventoryResult
from tanlu.output import json_text
from tanlu.project import load_project
from tanlu.scratch import make_scratch_folder, remove_scratch_folder
from tanlu.store.projects import (
    CONFIG_PATH,
    PutResult,
    RevisionInfo,
    check_file_path,
    get_revision,
    put_file,
    set_validation,
    write_revision,
)
from tanlu.store.workflow import (
    Submission,
    YearAction,
    YearState,
    change_year,
    year_state,
)

UPLOAD_PREFIX = "tanlu-upload-"
COPY_PREFIX = "tanlu-project-"
# The largest upload the service takes by default [bytes]: a million activity rows are about
# 100 MB of CSV (benchmarks/); ``tanlu serve --max-upload-mib`` changes it.
MAX_UPLOAD_BYTES = 1024 * 1024 * 1024
# The folder name a revision's copy is written under: what validation messages start with
# before they are made relative to the project.
_COPY_NAME = "project"


def too_large(max_bytes: int) -> str:
    """The message of an upload over ``max_bytes``."""
    mib = max_bytes / (1024 * 1024)
    size = f"{mib:,.0f} MiB" if mib >= 1 else f"{max_bytes / 1024:,.0f} KiB"
    return f"the file is larger than the {size} this service takes"


class Spool:
    """An upload as it arrives: written to a scratch file a piece at a time and hashed, never
    held whole in memory; refused (:class:`TooLargeError`) past ``max_bytes``. :meth:`close`
    it however the upload ended: its file is removed."""

    def __init__(self, max_bytes: int = MAX_UPLOAD_BYTES, parent: Path | None = None) -> None:
        self.max_bytes = max_bytes
        self._folder = make_scratch_folder(UPLOAD_PREFIX, parent)
        self.path = self._folder / "upload"
        self._out = self.path.open("wb")
        self._hash = hashlib.sha256()
        self.size_bytes = 0

    def write(self, piece: bytes) -> None:
        """Append a piece of the upload."""
        self.size_bytes += len(piece)
        if self.size_bytes > self.max_bytes:
            raise TooLargeError(too_large(self.max_bytes))
        self._hash.update(piece)
        self._out.write(piece)

    def finish(self) -> str:
        """Close the file; its SHA-256."""
        self._out.close()
        return self._hash.hexdigest()

    def close(self) -> None:
        """Remove the file (and its folder)."""
        self._out.close()
        remove_scratch_folder(self._folder)


@contextmanager
def revision_copy(
    engine: Engine, organisation_id: int, project_id: int, number: int
) -> Iterator[Path]:
    """A revision's files written as a project folder, removed when the block ends."""
    folder = make_scratch_folder(COPY_PREFIX)
    try:
        root = folder / _COPY_NAME
        root.mkdir()
        write_revision(engine, organisation_id, project_id, number, root)
        yield root
    finally:
        remove_scratch_folder(folder)


def _relative(text: str | None, root: Path) -> str | None:
    """A file name or message with the copy's folder taken out of it."""
    if text is None:
        return None
    text = text.replace(f"{root}/", "")
    prefix = f"{_COPY_NAME}/"
    return text[len(prefix) :] if text.startswith(prefix) else text


def _validation(root: Path) -> dict[str, Any]:
    """``tanlu validate --json`` of the project folder ``root``, its file names relative to the
    project; a bad or missing ``tanlu.toml`` is one issue of that file."""
    if not (root / CONFIG_PATH).is_file():
        found: dict[str, Any] = {
            "valid": False,
            "problem_count": 1,
            "unlisted": [],
            "issues": [_whole_file_issue(f"the project has no {CONFIG_PATH} yet")],
        }
        return found
    try:
        document = validate_project(root, confined=True).to_dict()
    except ProjectError as error:
        return {
            "valid": False,
            "problem_count": 1,
            "unlisted": [],
            "issues": [_whole_file_issue(_relative(str(error), root) or "")],
        }
    for issue in document.get("issues", []):
        issue["file"] = _relative(issue["file"], root)
        issue["reason"] = _relative(issue["reason"], root)
    # the years a submission may name, for the dashboard's choice of year
    organisation = load_project(root, confined=True).config.organisation
    document["years"] = sorted({organisation.base_year, *organisation.reporting_years})
    return document


def _whole_file_issue(reason: str) -> dict[str, Any]:
    return {"file": CONFIG_PATH, "sheet": None, "line": None, "column": None, "reason": reason}


@dataclass(frozen=True)
class Upload:
    """What an upload did: the revision the project is at (new, or the same one when the
    project already held this content at this path) and what validating it found
    (``tanlu validate --json``, with the revision's number)."""

    revision: RevisionInfo
    changed: bool
    validation: dict[str, Any]


def validate_revision(
    engine: Engine, organisation_id: int, project_id: int, number: int | None = None
) -> tuple[RevisionInfo, dict[str, Any]]:
    """What validating a revision (the newest when ``number`` is ``None``) finds, computed once
    and kept with the revision."""
    revision, _ = get_revision(engine, organisation_id, project_id, number)
    if revision.validation is not None:
        return revision, json.loads(revision.validation)
    with revision_copy(engine, organisation_id, project_id, revision.number) as root:
        document = {"revision": revision.number, **_validation(root)}
    text = json_text(document)
    set_validation(engine, organisation_id, project_id, revision.number, text)
    return replace(revision, validation=text), document


def upload_file(
    engine: Engine,
    organisation_id: int,
    project_id: int,
    path: str,
    spool: Spool,
    actor: str,
) -> Upload:
    """Put an upload received into ``spool`` at ``path`` in the project, and validate the
    revision it makes (the same file at the same path twice makes no new revision)."""
    check_file_path(path)
    sha256 = spool.finish()
    result: PutResult = put_file(
        engine, organisation_id, project_id, path, spool.path, sha256, actor
    )
    revision, document = validate_revision(
        engine, organisation_id, project_id, result.revision.number
    )
    return Upload(revision, result.changed, document)


def _inventory(root: Path, year: int) -> tuple[InventoryResult, Any]:
    project = open_project(root, confined=True)
    organisation = project.config.organisation
    years = {organisation.base_year, *organisation.reporting_years}
    if year not in years:
        raise ConflictError(
            f"{year} is neither the base year nor a reporting year of {CONFIG_PATH} "
            f"({', '.join(map(str, sorted(years)))})"
        )
    return run_inventory(project, year), project


def restatement_check(
    state: YearState, result: InventoryResult, threshold_share: float, base_year: int
) -> dict[str, Any]:
    """What a restated year's new figures change (GHG Protocol Corporate Standard ch. 5: a
    correction of a significant error in the base year's data triggers the base year's
    recalculation; tanlu's significance threshold is ``base_year_significance_share`` of
    ``tanlu.toml``): the change from the total last approved, whether it is significant, and
    the base-year check of the new figures' structure."""
    assert state.restatement is not None
    approved = float(state.restatement.get("approved_total_tco2e") or 0.0)
    restated = result.total_location_tco2e
    change = restated - approved
    share = abs(change) / approved if approved else (0.0 if restated == 0 else 1.0)
    significant = share >= threshold_share
    structural = result.base_year_check
    is_base = result.year == base_year
    required = (is_base and significant) or bool(
        structural is not None and structural.recalculation_required
    )
    return {
        "reason": state.restatement.get("reason", ""),
        "approved_revision": state.restatement.get("approved_revision"),
        "approved_total_tco2e": approved,
        "restated_total_tco2e": restated,
        "change_tco2e": change,
        "change_share": share,
        "threshold_share": threshold_share,
        "significant": significant,
        "is_base_year": is_base,
        "base_year": base_year,
        "base_year_check": structural.to_dict() if structural is not None else None,
        "base_year_recalculation_required": required,
    }


def submit_year(
    engine: Engine,
    organisation_id: int,
    project_id: int,
    year: int,
    actor: str,
    revision_number: int,
) -> YearState:
    """Submit a year with the revision the submitter checked, which must be the project's
    newest and valid; the year's inventory is computed from it (the same figures as ``tanlu
    inventory``) and pinned with it, so that later uploads do not change what is reviewed and
    approved. A restated year's submission carries the restatement's check
    (:func:`restatement_check`), and every submission the inventory's scope totals by province
    (:func:`tanlu.app.provinces.province_totals`), for a regulator's roll-up."""
    state = year_state(engine, organisation_id, project_id, year)
    if state.status.value != "collecting":
        raise ConflictError(f"{year} is {state.status.value}: only a collecting year is submitted")
    try:
        revision, document = validate_revision(engine, organisation_id, project_id)
    except NotFoundError:
        raise ConflictError("the project has no files to submit") from None
    if revision.number != revision_number:
        raise ConflictError(
            f"revision {revision.number} is the project's newest, not {revision_number}: "
            "check it and submit that one"
        )
    if not document.get("valid"):
        raise ConflictError(
            f"revision {revision.number} has {document.get('problem_count', 0):,} problems: "
            "mend them before submitting"
        )
    with revision_copy(engine, organisation_id, project_id, revision.number) as root:
        try:
            result, project = _inventory(root, year)
        except StoreError:
            raise
        except TanluError as error:  # what validation does not check: named, not a 500
            raise ConflictError(_relative(str(error), root) or "") from None
    organisation = project.config.organisation
    check = (
        restatement_check(
            state, result, organisation.base_year_significance_share, organisation.base_year
        )
        if state.restatement is not None
        else None
    )
    figures = result.to_dict()
    submission = Submission(
        revision_number=revision.number,
        inventory=json_text(figures),
        total_tco2e=result.total_location_tco2e,
        check=check,
        # the roll-ups' provinces, pinned with the figures (docs/service.md "Roll-ups")
        by_province=province_totals_json(
            province_totals(figures["by_site"], site_provinces(project.sites))
        ),
    )
    return change_year(
        engine,
        organisation_id,
        project_id,
        year,
        YearAction.SUBMIT,
        actor,
        expected_version=state.version,
        submission=submission,
    )


def step_year(
    engine: Engine,
    organisation_id: int,
    project_id: int,
    year: int,
    action: YearAction,
    actor: str,
    *,
    expected_version: int,
    reason: str = "",
) -> YearState:
    """Review, approve, return or restate a year at the version the actor saw
    (:func:`submit_year` submits one)."""
    if action is YearAction.SUBMIT:
        raise ValueError("submit with submit_year, which computes the figures")
    return change_year(
        engine,
        organisation_id,
        project_id,
        year,
        action,
        actor,
        expected_version=expected_version,
        reason=reason,
    )

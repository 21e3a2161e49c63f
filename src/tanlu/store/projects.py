"""Projects in the service: their files, kept as revisions.

A revision is the whole set of a project's files (paths in the project folder, each pointing
at a blob) after one change: a file put or removed. The bytes of a file are stored once per
organisation and SHA-256 (:class:`~tanlu.store.models.Blob`), in 1 MiB chunks, so that putting
the same content again stores nothing and changes nothing, and a file is written to and read
from the database a chunk at a time, never whole in memory. A revision, its files, any new
blob and the audit entry are written in one transaction: a process killed in the middle of an
upload leaves nothing of it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import CursorResult, Engine, delete, exists, func, insert, select, update
from sqlalchemy.orm import Session

from tanlu.errors import NotFoundError, StoreError
from tanlu.store.audit import AuditRecord, append_in, write
from tanlu.store.database import now, session_scope
from tanlu.store.models import (
    Blob,
    BlobChunk,
    JobFile,
    Project,
    ProjectRevision,
    RevisionFile,
)

CHUNK_BYTES = 1024 * 1024
CONFIG_PATH = "tanlu.toml"
# The files a project holds: its configuration and data files in the formats the readers take.
DATA_SUFFIXES = (".csv", ".xlsx", ".parquet", ".toml")
MAX_PATH_LENGTH = 200
MAX_PATH_PARTS = 4
# The longest name of one file or folder [bytes of UTF-8]: Linux file systems take 255.
MAX_PART_BYTES = 255
_PART = re.compile(r"^[\w][\w.\- ]*$")  # letters (any script), digits, _, ., - and spaces
MAX_NAME_LENGTH = 100


@dataclass(frozen=True)
class ProjectInfo:
    """A project: id, organisation, name, and its newest revision (0 before any file)."""

    id: int
    organisation_id: int
    name: str
    created_at: str
    created_by: str
    revision: int


@dataclass(frozen=True)
class FileInfo:
    """A file of a revision."""

    path: str
    sha256: str
    size_bytes: int


@dataclass(frozen=True)
class RevisionInfo:
    """A revision of a project: the change that made it, and its validation (JSON text, or
    ``None`` when not yet checked)."""

    project_id: int
    number: int
    created_at: str
    created_by: str
    change: str
    path: str
    validation: str | None


@dataclass(frozen=True)
class PutResult:
    """What putting a file did: the revision it is in, and whether that is a new revision
    (``False``: the project already held the same content at that path)."""

    revision: RevisionInfo
    changed: bool


def check_project_name(name: str) -> str:
    """The name, trimmed; :class:`StoreError` for an empty, long or unprintable one."""
    trimmed = name.strip()
    if not trimmed or len(trimmed) > MAX_NAME_LENGTH:
        raise StoreError(f"a project's name has 1 to {MAX_NAME_LENGTH} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in trimmed):
        raise StoreError("a project's name cannot hold control characters")
    return trimmed


def check_file_path(path: str) -> str:
    """The path of a file in a project folder, or :class:`StoreError` naming what is wrong:
    relative, ``/``-separated, at most 4 parts of letters, digits, ``_ . -`` and spaces (none
    starting with a dot, so no ``..`` and no hidden files, or a space; each at most
    :data:`MAX_PART_BYTES` bytes of UTF-8, what a file system takes), ending in .csv, .xlsx,
    .parquet, or the configuration ``tanlu.toml`` at the top. A folder's name never ends like a
    file's, so that a file and a folder of one revision cannot have the same path."""
    if not path or len(path) > MAX_PATH_LENGTH:
        raise StoreError(f"a file's path has 1 to {MAX_PATH_LENGTH} characters")
    parts = path.split("/")
    if len(parts) > MAX_PATH_PARTS or not all(_PART.fullmatch(part) for part in parts):
        raise StoreError(
            f"'{path}' is not a file path in a project: use up to {MAX_PATH_PARTS} parts of "
            "letters, digits, _ . - and spaces separated by /, none starting with . or a space"
        )
    if any(len(part.encode("utf-8")) > MAX_PART_BYTES for part in parts):
        raise StoreError(
            f"'{path}': a folder or file name of a project has at most {MAX_PART_BYTES} bytes"
        )
    if any(PurePosixPath(part).suffix.lower() in DATA_SUFFIXES for part in parts[:-1]):
        raise StoreError(f"'{path}': a folder's name cannot end in a file's suffix")
    suffix = PurePosixPath(path).suffix.lower()
    if suffix not in DATA_SUFFIXES:
        raise StoreError(
            f"'{path}': a project holds {CONFIG_PATH} and .csv, .xlsx or .parquet files only"
        )
    if suffix == ".toml" and path != CONFIG_PATH:
        raise StoreError(f"'{path}': the only .toml file of a project is {CONFIG_PATH}")
    return path


def _info(project: Project, revision: int) -> ProjectInfo:
    return ProjectInfo(
        project.id,
        project.organisation_id,
        project.name,
        project.created_at,
        project.created_by,
        revision,
    )


def _revision_info(row: ProjectRevision) -> RevisionInfo:
    return RevisionInfo(
        row.project_id,
        row.number,
        row.created_at,
        row.created_by,
        row.change,
        row.path,
        row.validation,
    )


def _latest(session: Session, project_id: int) -> ProjectRevision | None:
    return session.scalars(
        select(ProjectRevision)
        .where(ProjectRevision.project_id == project_id)
        .order_by(ProjectRevision.number.desc())
        .limit(1)
    ).first()


def owned_project(session: Session, organisation_id: int, project_id: int) -> Project:
    """The project if the organisation has it; :class:`NotFoundError` ("no such project") for
    another organisation's and for none, alike, so that ids cannot be probed."""
    project = session.get(Project, project_id)
    if project is None or project.organisation_id != organisation_id:
        raise NotFoundError("no such project")
    return project


def create_project(engine: Engine, organisation_id: int, name: str, actor: str) -> ProjectInfo:
    """A new project (no files yet) in the organisation, recorded in the audit log."""
    checked = check_project_name(name)

    def work(session: Session) -> ProjectInfo:
        taken = session.scalar(
            select(Project.id).where(
                Project.organisation_id == organisation_id, Project.name == checked
            )
        )
        if taken is not None:
            raise StoreError(f"the organisation already has a project named '{checked}'")
        project = Project(
            organisation_id=organisation_id, name=checked, created_at=now(), created_by=actor
        )
        session.add(project)
        session.flush()
        append_in(
            session,
            AuditRecord(
                actor=actor,
                action="project.create",
                target=f"project {project.id}",
                organisation_id=organisation_id,
                after={"name": checked},
            ),
        )
        return _info(project, 0)

    return write(engine, work)


def list_projects(engine: Engine, organisation_id: int) -> list[ProjectInfo]:
    """The organisation's projects, oldest first, each with its newest revision number."""
    with session_scope(engine) as session:
        newest = (
            select(ProjectRevision.project_id, func.max(ProjectRevision.number).label("number"))
            .group_by(ProjectRevision.project_id)
            .subquery()
        )
        rows = session.execute(
            select(Project, newest.c.number)
            .outerjoin(newest, newest.c.project_id == Project.id)
            .where(Project.organisation_id == organisation_id)
            .order_by(Project.id)
        ).all()
        return [_info(project, number or 0) for project, number in rows]


def get_project(engine: Engine, organisation_id: int, project_id: int) -> ProjectInfo:
    """One project of the organisation (:class:`NotFoundError` for another's or none)."""
    with session_scope(engine) as session:
        project = owned_project(session, organisation_id, project_id)
        latest = _latest(session, project_id)
        return _info(project, latest.number if latest else 0)


def _file_rows(session: Session, revision_id: int) -> list[tuple[str, Blob]]:
    return [
        (path, blob)
        for path, blob in session.execute(
            select(RevisionFile.path, Blob)
            .join(Blob, Blob.id == RevisionFile.blob_id)
            .where(RevisionFile.revision_id == revision_id)
            .order_by(RevisionFile.path)
        ).all()
    ]


def store_blob(session: Session, organisation_id: int, source: Path, sha256: str) -> Blob:
    """The organisation's blob of this content, stored from ``source`` a chunk at a time when
    it is not there yet (its ``last_used_at`` renewed when it is)."""
    blob = session.scalars(
        select(Blob).where(Blob.organisation_id == organisation_id, Blob.sha256 == sha256)
    ).first()
    if blob is not None:
        blob.last_used_at = now()
        session.flush()
        return blob
    blob = Blob(
        organisation_id=organisation_id,
        sha256=sha256,
        size_bytes=source.stat().st_size,
        last_used_at=now(),
    )
    session.add(blob)
    session.flush()
    check = hashlib.sha256()
    with source.open("rb") as stream:
        seq = 0
        while chunk := stream.read(CHUNK_BYTES):
            check.update(chunk)
            # a Core insert: the session keeps no object per chunk, so that memory is bounded
            # by one chunk, not the file
            session.execute(insert(BlobChunk).values(blob_id=blob.id, seq=seq, data=chunk))
            seq += 1
    if check.hexdigest() != sha256:
        raise StoreError("the uploaded file changed while it was stored")
    return blob


def save_blob(engine: Engine, organisation_id: int, source: Path, sha256: str) -> int:
    """Store a file's content in its own transaction (:func:`store_blob`); its blob's id. Done
    before the change that refers to it, so that a change retried after another writer's
    (:func:`tanlu.store.audit.write`) does not store the bytes again."""
    return write(engine, lambda session: store_blob(session, organisation_id, source, sha256).id)


def refer_blob(
    session: Session, organisation_id: int, blob_id: int, source: Path, sha256: str
) -> int:
    """The blob about to be referred to in this transaction, its ``last_used_at`` renewed (so
    that :func:`remove_unused_blobs` leaves it), or stored again from ``source`` if it was
    removed since :func:`save_blob` stored it; its id."""
    renewed: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(Blob)
        .where(Blob.id == blob_id)
        .values(last_used_at=now())
        .execution_options(synchronize_session=False)
    )
    if renewed.rowcount == 1:
        return blob_id
    return store_blob(session, organisation_id, source, sha256).id


def _unused(cutoff: str) -> Any:
    """The condition of a blob :func:`remove_unused_blobs` removes."""
    return (
        (Blob.last_used_at < cutoff)
        & ~exists().where(RevisionFile.blob_id == Blob.id)
        & ~exists().where(JobFile.blob_id == Blob.id)
    )


def remove_unused_blobs(engine: Engine, older_than_s: float = 3600.0) -> int:
    """Remove the blobs no revision or job refers to whose ``last_used_at`` is older than
    ``older_than_s``; how many. The blobs are locked as they are chosen (PostgreSQL; SQLite
    writes one transaction at a time) and the condition is checked again as they are deleted,
    so that a blob stored again or referred to meanwhile stays whole."""
    cutoff = (datetime.now(UTC) - timedelta(seconds=older_than_s)).isoformat(
        timespec="microseconds"
    )
    with session_scope(engine) as session:
        unused = session.scalars(select(Blob.id).where(_unused(cutoff)).with_for_update()).all()
        if not unused:
            return 0
        chosen = select(Blob.id).where(Blob.id.in_(unused), _unused(cutoff))
        session.execute(delete(BlobChunk).where(BlobChunk.blob_id.in_(chosen)))
        removed: CursorResult[Any] = session.execute(  # type: ignore[assignment]
            delete(Blob)
            .where(Blob.id.in_(unused), _unused(cutoff))
            .execution_options(synchronize_session=False)
        )
        return int(removed.rowcount)


def _new_revision(
    session: Session,
    project: Project,
    latest: ProjectRevision | None,
    files: dict[str, int],
    change: str,
    path: str,
    actor: str,
) -> ProjectRevision:
    revision = ProjectRevision(
        project_id=project.id,
        number=(latest.number if latest else 0) + 1,
        created_at=now(),
        created_by=actor,
        change=change,
        path=path,
    )
    session.add(revision)
    session.flush()
    session.add_all(
        RevisionFile(revision_id=revision.id, path=p, blob_id=b) for p, b in sorted(files.items())
    )
    session.flush()
    return revision


def put_file(
    engine: Engine,
    organisation_id: int,
    project_id: int,
    path: str,
    source: Path,
    sha256: str,
    actor: str,
) -> PutResult:
    """Put the file ``source`` (whose SHA-256 is ``sha256``) at ``path`` in the project: a new
    revision with it, unless the newest revision holds the same content there already. The
    bytes are stored first, in their own transaction (:func:`save_blob`); the revision, its
    files and the audit entry then in one short one."""
    checked = check_file_path(path)
    get_project(engine, organisation_id, project_id)  # before any bytes are stored
    blob_id = save_blob(engine, organisation_id, source, sha256)

    def work(session: Session) -> PutResult:
        project = owned_project(session, organisation_id, project_id)
        latest = _latest(session, project_id)
        files = {p: blob.id for p, blob in _file_rows(session, latest.id)} if latest else {}
        if latest is not None and files.get(checked) == blob_id:
            return PutResult(_revision_info(latest), changed=False)
        files[checked] = refer_blob(session, organisation_id, blob_id, source, sha256)
        revision = _new_revision(session, project, latest, files, "put", checked, actor)
        append_in(
            session,
            AuditRecord(
                actor=actor,
                action="project.file.put",
                target=f"project {project_id} {checked}",
                organisation_id=organisation_id,
                after={"path": checked, "sha256": sha256, "revision": revision.number},
            ),
        )
        return PutResult(_revision_info(revision), changed=True)

    return write(engine, work)


def remove_file(
    engine: Engine, organisation_id: int, project_id: int, path: str, actor: str
) -> RevisionInfo:
    """A new revision without the file at ``path`` (:class:`NotFoundError` when the newest
    revision has none there)."""

    def work(session: Session) -> RevisionInfo:
        project = owned_project(session, organisation_id, project_id)
        latest = _latest(session, project_id)
        files = {p: blob for p, blob in _file_rows(session, latest.id)} if latest else {}
        if path not in files:
            raise NotFoundError(f"the project has no file '{path}'")
        removed = files.pop(path)
        revision = _new_revision(
            session,
            project,
            latest,
            {p: blob.id for p, blob in files.items()},
            "remove",
            path,
            actor,
        )
        append_in(
            session,
            AuditRecord(
                actor=actor,
                action="project.file.remove",
                target=f"project {project_id} {path}",
                organisation_id=organisation_id,
                before={"path": path, "sha256": removed.sha256},
                after={"revision": revision.number},
            ),
        )
        return _revision_info(revision)

    return write(engine, work)


def _revision(
    session: Session, organisation_id: int, project_id: int, number: int | None
) -> ProjectRevision:
    owned_project(session, organisation_id, project_id)
    if number is None:
        row = _latest(session, project_id)
    else:
        row = session.scalars(
            select(ProjectRevision).where(
                ProjectRevision.project_id == project_id, ProjectRevision.number == number
            )
        ).first()
    if row is None:
        raise NotFoundError(
            "the project has no files yet" if number is None else f"no revision {number}"
        )
    return row


def get_revision(
    engine: Engine, organisation_id: int, project_id: int, number: int | None = None
) -> tuple[RevisionInfo, list[FileInfo]]:
    """A revision (the newest when ``number`` is ``None``) and its files."""
    with session_scope(engine) as session:
        row = _revision(session, organisation_id, project_id, number)
        files = [
            FileInfo(p, blob.sha256, blob.size_bytes) for p, blob in _file_rows(session, row.id)
        ]
        return _revision_info(row), files


def list_revisions(
    engine: Engine, organisation_id: int, project_id: int, limit: int = 100
) -> list[RevisionInfo]:
    """The project's newest revisions, newest first, at most ``limit``."""
    with session_scope(engine) as session:
        owned_project(session, organisation_id, project_id)
        rows = session.scalars(
            select(ProjectRevision)
            .where(ProjectRevision.project_id == project_id)
            .order_by(ProjectRevision.number.desc())
            .limit(limit)
        ).all()
        return [_revision_info(row) for row in rows]


def set_validation(
    engine: Engine, organisation_id: int, project_id: int, number: int, validation: str
) -> None:
    """Record what validating a revision found (JSON text); a revision's files never change,
    so neither does this once written."""

    def work(session: Session) -> None:
        row = _revision(session, organisation_id, project_id, number)
        row.validation = validation

    write(engine, work)


def _chunks(session: Session, blob_id: int) -> Iterator[bytes]:
    seq = 0
    while True:
        data = session.scalar(
            select(BlobChunk.data).where(BlobChunk.blob_id == blob_id, BlobChunk.seq == seq)
        )
        if data is None:
            return
        yield bytes(data)
        seq += 1


def write_revision(
    engine: Engine, organisation_id: int, project_id: int, number: int, folder: Path
) -> list[Path]:
    """Write a revision's files into ``folder`` (a project folder, as the CLI reads one), a
    chunk at a time; returns the files written."""
    written = []
    with session_scope(engine) as session:
        row = _revision(session, organisation_id, project_id, number)
        for path, blob in _file_rows(session, row.id):
            target = folder.joinpath(*path.split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as out:
                for chunk in _chunks(session, blob.id):
                    out.write(chunk)
            written.append(target)
    return written


def read_file(
    engine: Engine, organisation_id: int, project_id: int, number: int | None, path: str
) -> tuple[FileInfo, Iterator[bytes]]:
    """A file of a revision and its bytes, a chunk at a time (each chunk read in its own
    short transaction, so that a slow reader holds no transaction open)."""
    with session_scope(engine) as session:
        row = _revision(session, organisation_id, project_id, number)
        found = {p: blob for p, blob in _file_rows(session, row.id)}.get(path)
        if found is None:
            raise NotFoundError(f"revision {row.number} has no file '{path}'")
        info, blob_id = FileInfo(path, found.sha256, found.size_bytes), found.id

    return info, blob_chunks(engine, blob_id)


def blob_chunks(engine: Engine, blob_id: int) -> Iterator[bytes]:
    """A blob's bytes a chunk at a time, each chunk read in its own short transaction, so that
    a slow reader (a download) holds no transaction open."""
    seq = 0
    while True:
        with session_scope(engine) as session:
            data = session.scalar(
                select(BlobChunk.data).where(BlobChunk.blob_id == blob_id, BlobChunk.seq == seq)
            )
        if data is None:
            return
        yield bytes(data)
        seq += 1

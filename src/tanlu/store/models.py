"""The service's tables as SQLAlchemy 2 models (docs/database.md describes each column).

The schema itself is created and changed only by the Alembic migrations in
``tanlu/store/migrations`` (``tanlu db upgrade``); these models are what the code reads and
writes, and a test checks that the two agree.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from tanlu.store.roles import OrganisationKind, Role

__all__ = ["OrganisationKind", "Role"]

# Constraint names fixed by convention, so that a migration can name what it drops on any database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Organisation(Base):
    """A tenant: every row of its data carries its id, and no other organisation sees it."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default=OrganisationKind.COMPANY.value)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), default=None)
    created_at: Mapped[str] = mapped_column(String(32))


class User(Base):
    """A person who signs in: e-mail (lower case) and an Argon2id hash of the password."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[str] = mapped_column(String(32))


class Membership(Base):
    """A user's role in one organisation (a user may belong to several)."""

    __tablename__ = "memberships"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20))


class ApiToken(Base):
    """A token a script sends instead of a password: only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    name: Mapped[str] = mapped_column(String(100))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[str] = mapped_column(String(32))
    revoked_at: Mapped[str | None] = mapped_column(String(32), default=None)


class AuditEntry(Base):
    """One recorded change: append-only, each entry holding the hash of the one before it.

    ``previous_hash`` is unique: two writers that both read the same last entry cannot both
    append after it (the second one's insert fails and it reads the chain again), so the log
    stays one chain.
    """

    __tablename__ = "audit_log"
    __table_args__ = (UniqueConstraint("previous_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(254))
    organisation_id: Mapped[int | None] = mapped_column(Integer, default=None)
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(String(500))
    reason: Mapped[str] = mapped_column(Text, default="")
    before_digest: Mapped[str | None] = mapped_column(String(64), default=None)
    after_digest: Mapped[str | None] = mapped_column(String(64), default=None)
    previous_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The last entry of the audit log (one row), written in the same transaction as each
    entry: removing entries from the end of the chain leaves the head pointing past them."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_id: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))


class BrowserSession(Base):
    """A signed-in browser: only the SHA-256 of its cookie is stored, with the CSRF token its
    pages send back on every change and the time it expires."""

    __tablename__ = "sessions"

    id_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[str] = mapped_column(String(32))


class Project(Base):
    """A project in the service: an organisation's ``tanlu.toml`` and data files, as revisions."""

    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(254))


class Blob(Base):
    """The content of an uploaded file or a job's file, once per organisation and SHA-256
    (storing the same content again stores nothing new); its bytes are in :class:`BlobChunk`
    rows. ``last_used_at``: when it was last stored or stored again; a blob no revision or job
    refers to is removed once that is an hour old (a process killed between storing a blob and
    the revision that refers to it leaves one)."""

    __tablename__ = "blobs"
    __table_args__ = (UniqueConstraint("organisation_id", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    last_used_at: Mapped[str] = mapped_column(String(32))


class BlobChunk(Base):
    """One piece of a blob's bytes (1 MiB but the last), in order of ``seq``."""

    __tablename__ = "blob_chunks"

    blob_id: Mapped[int] = mapped_column(ForeignKey("blobs.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ProjectRevision(Base):
    """One version of a project: the change that made it (a file put or removed) and, once
    checked, what validation found (JSON). Numbered 1, 2, ... per project; the number is unique,
    so that two uploads at once cannot both become the same revision (the second one retries on
    top of the first)."""

    __tablename__ = "project_revisions"
    __table_args__ = (UniqueConstraint("project_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    number: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(254))
    change: Mapped[str] = mapped_column(String(20))
    path: Mapped[str] = mapped_column(String(200))
    validation: Mapped[str | None] = mapped_column(Text, default=None)


class RevisionFile(Base):
    """A file of a revision: its path in the project folder and its content."""

    __tablename__ = "revision_files"

    revision_id: Mapped[int] = mapped_column(ForeignKey("project_revisions.id"), primary_key=True)
    path: Mapped[str] = mapped_column(String(200), primary_key=True)
    blob_id: Mapped[int] = mapped_column(ForeignKey("blobs.id"))


class ReportingYear(Base):
    """Where one year of a project stands in the workflow (collecting, submitted, reviewed,
    approved), the revision it was submitted with and the inventory computed from it (JSON, the
    CLI's ``tanlu inventory --json``). ``version`` grows with every transition: a transition
    changes the row only at the version it read, so that two at once cannot both apply."""

    __tablename__ = "reporting_years"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer)
    revision_number: Mapped[int | None] = mapped_column(Integer, default=None)
    inventory: Mapped[str | None] = mapped_column(Text, default=None)
    total_tco2e: Mapped[float | None] = mapped_column(Float, default=None)
    submitted_by: Mapped[str | None] = mapped_column(String(254), default=None)
    approved_total_tco2e: Mapped[float | None] = mapped_column(Float, default=None)
    restatement: Mapped[str | None] = mapped_column(Text, default=None)
    updated_at: Mapped[str] = mapped_column(String(32))
    # the submitted inventory's scope totals by province (JSON, ``0005``; docs/database.md)
    by_province: Mapped[str | None] = mapped_column(Text, default=None)


class YearEvent(Base):
    """One step of a year's workflow: who, when, what, why, on which revision, and what it
    found (JSON: the restatement's check)."""

    __tablename__ = "year_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    year: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(254))
    at: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    revision_number: Mapped[int | None] = mapped_column(Integer, default=None)
    detail: Mapped[str | None] = mapped_column(Text, default=None)


class Job(Base):
    """A long computation on one revision of a project (docs/service.md "Jobs"): queued, then
    running in a worker (``worker``: machine and process; ``heartbeat_at`` renewed at each
    step), then done with its files (:class:`JobFile`) or failed with the reason. A job whose
    worker died is queued again, at most :data:`tanlu.store.jobs.MAX_ATTEMPTS` times."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    revision_number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    parameters: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    step: Mapped[str] = mapped_column(String(200), default="")
    steps_done: Mapped[int] = mapped_column(Integer, default=0)
    steps_total: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(200), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[str | None] = mapped_column(String(32), default=None)
    heartbeat_at: Mapped[str | None] = mapped_column(String(32), default=None)
    finished_at: Mapped[str | None] = mapped_column(String(32), default=None)


class JobFile(Base):
    """A file a job wrote (the report, results, tables), its bytes a blob."""

    __tablename__ = "job_files"

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(300), primary_key=True)
    blob_id: Mapped[int] = mapped_column(ForeignKey("blobs.id"))


class LoginFailure(Base):
    """A failed sign-in, or one under way (``pending``), counted against an e-mail
    (``kind`` "email") or a client address (``kind`` "client") by every process of the service
    (:class:`tanlu.service.security.DatabaseLoginLimiter`); rows older than the limit's window
    are deleted."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_kind", "kind", "key", "at_unix_s"),
        Index("ix_login_failures_at_unix_s", "at_unix_s"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    key: Mapped[str] = mapped_column(String(254))
    at_unix_s: Mapped[float] = mapped_column(Float)
    pending: Mapped[bool] = mapped_column(Boolean, default=True)


class Share(Base):
    """A project's approved years shared by its organisation (``organisation_id``) with another
    (``target_id``), as its parent (``relation`` "parent": the parent's ``ownership_share`` of
    the organisation and whether it has operational and financial control of it) or with a
    regulator (``relation`` "regulator": the organisation's GB/T 4754-2017 ``sector``).
    Revoked shares stay, with when and by whom (docs/service.md "Roll-ups")."""

    __tablename__ = "shares"
    __table_args__ = (
        Index("ix_shares_target", "target_id", "relation", "revoked_at"),
        Index("ix_shares_organisation", "organisation_id", "revoked_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    target_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    relation: Mapped[str] = mapped_column(String(20))
    ownership_share: Mapped[float | None] = mapped_column(Float, default=None)
    operational_control: Mapped[bool | None] = mapped_column(Boolean, default=None)
    financial_control: Mapped[bool | None] = mapped_column(Boolean, default=None)
    sector: Mapped[str | None] = mapped_column(String(1), default=None)
    created_at: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(254))
    revoked_at: Mapped[str | None] = mapped_column(String(32), default=None)
    revoked_by: Mapped[str | None] = mapped_column(String(254), default=None)


class SchemeOperator(Base):
    """An operator (an organisation of kind "operator": a metro, bus or bike-sharing company,
    an app) whose batches a city's carbon-inclusion scheme (kind "city") takes, under the
    ``code`` its batch files name it by in their ``operator`` column."""

    __tablename__ = "scheme_operators"
    __table_args__ = (
        UniqueConstraint("city_id", "operator_id", name="uq_scheme_operators_city_operator"),
        UniqueConstraint("city_id", "code", name="uq_scheme_operators_city_code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    operator_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    code: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(254))


class LedgerBatch(Base):
    """A batch file an operator sent to a city's ledger: its name and SHA-256, when and by whom,
    and what the ledger made of it (``summary``: JSON of the ingest's counts)."""

    __tablename__ = "ledger_batches"
    __table_args__ = (
        Index("ix_ledger_batches_city", "city_id", "id"),
        Index("ix_ledger_batches_operator", "operator_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    operator_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    file_name: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[str] = mapped_column(String(32))
    received_by: Mapped[str] = mapped_column(String(254))
    summary: Mapped[str] = mapped_column(Text)


class LedgerLinkCode(Base):
    """A one-time code an operator's app asked for one of its users (``pseudonym``, their
    ``user`` in the ledger of ``city_id``), which the citizen enters to sign in to their own
    account (``0007``): only its SHA-256 is kept, with its expiry and when it was used (once)."""

    __tablename__ = "ledger_link_codes"
    __table_args__ = (Index("ix_ledger_link_codes_expires_at", "expires_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    city_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    pseudonym: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(254))
    expires_at: Mapped[str] = mapped_column(String(32))
    used_at: Mapped[str | None] = mapped_column(String(32), default=None)


class Citizen(Base):
    """A citizen's own account: nothing but an id (tanlu never learns who the person is); the
    pseudonyms it reads are its :class:`CitizenLink` rows."""

    __tablename__ = "citizens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[str] = mapped_column(String(32))


class CitizenLink(Base):
    """A pseudonym (the ledger's ``user``) in a city's ledger that a citizen's account reads,
    linked by a code of the operator ``operator_id``; a pseudonym of a city is one account's."""

    __tablename__ = "citizen_links"
    __table_args__ = (
        UniqueConstraint("city_id", "pseudonym", name="uq_citizen_links_city_pseudonym"),
        Index("ix_citizen_links_citizen", "citizen_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"))
    city_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    pseudonym: Mapped[str] = mapped_column(String(200))
    operator_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    linked_at: Mapped[str] = mapped_column(String(32))


class CitizenSession(Base):
    """A citizen's signed-in browser: only the SHA-256 of its cookie, with its CSRF token and
    expiry (the same as :class:`BrowserSession`, for a citizen rather than a user)."""

    __tablename__ = "citizen_sessions"

    id_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[str] = mapped_column(String(32))

"""The service's database: SQLAlchemy 2 models, Alembic migrations, accounts and roles, and the
hash-chained audit log (docs/database.md)."""

from tanlu.store.accounts import (
    Account,
    Member,
    OrganisationInfo,
    SignedIn,
    authenticate,
    create_token,
    create_user,
    end_session,
    list_members,
    organisation_info,
    revoke_token,
    session_user,
    start_session,
    token_account,
)
from tanlu.store.audit import (
    AuditRecord,
    ChainReport,
    append,
    organisation_entries,
    verify_chain,
)
from tanlu.store.database import (
    DEFAULT_URL,
    URL_VARIABLE,
    current_revision,
    database_url,
    head_revision,
    open_engine,
    require_current,
    upgrade,
)
from tanlu.store.models import OrganisationKind, Role

__all__ = [
    "DEFAULT_URL",
    "URL_VARIABLE",
    "Account",
    "AuditRecord",
    "ChainReport",
    "Member",
    "OrganisationInfo",
    "OrganisationKind",
    "Role",
    "SignedIn",
    "append",
    "authenticate",
    "create_token",
    "create_user",
    "current_revision",
    "database_url",
    "end_session",
    "head_revision",
    "list_members",
    "open_engine",
    "organisation_entries",
    "organisation_info",
    "require_current",
    "revoke_token",
    "session_user",
    "start_session",
    "token_account",
    "upgrade",
    "verify_chain",
]

"""The service's database: SQLAlchemy 2 models, Alembic migrations, accounts and roles, and the
hash-chained audit log (docs/database.md)."""

from tanlu.store.accounts import (
    Account,
    authenticate,
    create_token,
    create_user,
    revoke_token,
    token_account,
)
from tanlu.store.audit import AuditRecord, ChainReport, append, verify_chain
from tanlu.store.database import (
    DEFAULT_URL,
    URL_VARIABLE,
    database_url,
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
    "OrganisationKind",
    "Role",
    "append",
    "authenticate",
    "create_token",
    "create_user",
    "database_url",
    "open_engine",
    "require_current",
    "revoke_token",
    "token_account",
    "upgrade",
    "verify_chain",
]

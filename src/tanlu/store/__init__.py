"""The service's database: SQLAlchemy 2 models, Alembic migrations, accounts and roles, and the
hash-chained audit log (docs/database.md).

Import what you need from the submodules (``tanlu.store.accounts``, ``tanlu.store.audit``,
``tanlu.store.database``, ``tanlu.store.models``): this package itself holds only what needs no
database library, so that ``import tanlu`` and every command that does not use the database stay
as quick to start as before (SQLAlchemy, Alembic and the Argon2 set-up take about 1.5 s here).
"""

from tanlu.store.roles import OrganisationKind, Role

# The embedded default: a SQLite file in the working folder.
DEFAULT_URL = "sqlite:///tanlu.db"
# The environment variable a database URL (with its password) is read from.
URL_VARIABLE = "TANLU_DATABASE_URL"

__all__ = ["DEFAULT_URL", "URL_VARIABLE", "OrganisationKind", "Role"]

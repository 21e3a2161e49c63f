"""The sign-in limit's count, shared by every process of the service: one row per failed
sign-in (or sign-in under way) of an e-mail and one of the client address, kept for the
limit's window (docs/service.md "Signing in").

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("key", sa.String(254), nullable=False),
        sa.Column("at_unix_s", sa.Float(), nullable=False),
        sa.Column("pending", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_login_failures"),
    )
    op.create_index("ix_login_failures_kind", "login_failures", ["kind", "key", "at_unix_s"])
    op.create_index("ix_login_failures_at_unix_s", "login_failures", ["at_unix_s"])


def downgrade() -> None:
    op.drop_index("ix_login_failures_at_unix_s", table_name="login_failures")
    op.drop_index("ix_login_failures_kind", table_name="login_failures")
    op.drop_table("login_failures")

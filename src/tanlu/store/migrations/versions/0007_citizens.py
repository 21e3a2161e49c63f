"""The citizen's own account in the carbon-inclusion ledger (docs/service.md "Carbon
inclusion", "The citizen's account"): one-time link codes an operator's app asks for one of
its users (``ledger_link_codes``: only the code's SHA-256, with its expiry and when it was
used), citizens' accounts (``citizens``: nothing but an id; tanlu never learns who the person
is), the pseudonyms each is linked to, one per city (``citizen_links``), and their signed-in
browsers (``citizen_sessions``: only the SHA-256 of the cookie).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-09
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_link_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_sha256", sa.String(64), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("pseudonym", sa.String(200), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(254), nullable=False),
        sa.Column("expires_at", sa.String(32), nullable=False),
        sa.Column("used_at", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["organisations.id"],
            name="fk_ledger_link_codes_operator_id_organisations",
        ),
        sa.ForeignKeyConstraint(
            ["city_id"], ["organisations.id"], name="fk_ledger_link_codes_city_id_organisations"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_link_codes"),
        sa.UniqueConstraint("code_sha256", name="uq_ledger_link_codes_code_sha256"),
    )
    op.create_index("ix_ledger_link_codes_expires_at", "ledger_link_codes", ["expires_at"])
    op.create_table(
        "citizens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_citizens"),
    )
    op.create_table(
        "citizen_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("pseudonym", sa.String(200), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("linked_at", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizens.id"], name="fk_citizen_links_citizen_id_citizens"
        ),
        sa.ForeignKeyConstraint(
            ["city_id"], ["organisations.id"], name="fk_citizen_links_city_id_organisations"
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["organisations.id"],
            name="fk_citizen_links_operator_id_organisations",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_citizen_links"),
        sa.UniqueConstraint("city_id", "pseudonym", name="uq_citizen_links_city_pseudonym"),
    )
    op.create_index("ix_citizen_links_citizen", "citizen_links", ["citizen_id"])
    op.create_table(
        "citizen_sessions",
        sa.Column("id_sha256", sa.String(64), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("expires_at", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizens.id"], name="fk_citizen_sessions_citizen_id_citizens"
        ),
        sa.PrimaryKeyConstraint("id_sha256", name="pk_citizen_sessions"),
    )


def downgrade() -> None:
    op.drop_table("citizen_sessions")
    op.drop_index("ix_citizen_links_citizen", table_name="citizen_links")
    op.drop_table("citizen_links")
    op.drop_table("citizens")
    op.drop_index("ix_ledger_link_codes_expires_at", table_name="ledger_link_codes")
    op.drop_table("ledger_link_codes")

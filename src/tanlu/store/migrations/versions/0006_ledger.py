"""The carbon-inclusion ledger in the service: the operators a city's scheme takes batches
from (``scheme_operators``) and every batch an operator sent (``ledger_batches``, with what the
ledger made of it; docs/service.md "Carbon inclusion"). The ledger's entries themselves are the
city's ledger folder (Parquet, docs/ledger.md), not rows of this database.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scheme_operators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(100), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(254), nullable=False),
        sa.ForeignKeyConstraint(
            ["city_id"], ["organisations.id"], name="fk_scheme_operators_city_id_organisations"
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["organisations.id"],
            name="fk_scheme_operators_operator_id_organisations",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_scheme_operators"),
        sa.UniqueConstraint("city_id", "operator_id", name="uq_scheme_operators_city_operator"),
        sa.UniqueConstraint("city_id", "code", name="uq_scheme_operators_city_code"),
    )
    op.create_table(
        "ledger_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("received_at", sa.String(32), nullable=False),
        sa.Column("received_by", sa.String(254), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["city_id"], ["organisations.id"], name="fk_ledger_batches_city_id_organisations"
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["organisations.id"],
            name="fk_ledger_batches_operator_id_organisations",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_batches"),
    )
    op.create_index("ix_ledger_batches_city", "ledger_batches", ["city_id", "id"])
    op.create_index("ix_ledger_batches_operator", "ledger_batches", ["operator_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_ledger_batches_operator", table_name="ledger_batches")
    op.drop_index("ix_ledger_batches_city", table_name="ledger_batches")
    op.drop_table("ledger_batches")
    op.drop_table("scheme_operators")

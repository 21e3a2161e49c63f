"""Roll-ups: projects' approved years shared with a parent or a regulator (``shares``), and
each submitted year's scope totals by province (``reporting_years.by_province``;
docs/service.md "Roll-ups"). Years submitted before this revision keep ``by_province`` empty:
their provinces are computed when read, from the revision they were submitted with.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("reporting_years", sa.Column("by_province", sa.Text(), nullable=True))
    op.create_table(
        "shares",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("relation", sa.String(20), nullable=False),
        sa.Column("ownership_share", sa.Float(), nullable=True),
        sa.Column("operational_control", sa.Boolean(), nullable=True),
        sa.Column("financial_control", sa.Boolean(), nullable=True),
        sa.Column("sector", sa.String(1), nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(254), nullable=False),
        sa.Column("revoked_at", sa.String(32), nullable=True),
        sa.Column("revoked_by", sa.String(254), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name="fk_shares_organisation_id_organisations",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name="fk_shares_project_id_projects"
        ),
        sa.ForeignKeyConstraint(
            ["target_id"], ["organisations.id"], name="fk_shares_target_id_organisations"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_shares"),
    )
    op.create_index("ix_shares_target", "shares", ["target_id", "relation", "revoked_at"])
    op.create_index("ix_shares_organisation", "shares", ["organisation_id", "revoked_at"])


def downgrade() -> None:
    op.drop_index("ix_shares_organisation", table_name="shares")
    op.drop_index("ix_shares_target", table_name="shares")
    op.drop_table("shares")
    with op.batch_alter_table("reporting_years") as batch:
        batch.drop_column("by_province")

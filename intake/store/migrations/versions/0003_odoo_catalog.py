"""Odoo: outbox state on quotations, and the catalog cache synced from Odoo by write_date.

Revision ID: 0003_odoo
Revises: 0002_imap
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0003_odoo"
down_revision = "0002_imap"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("quotations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=20), server_default="kept", nullable=False)
        )
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("odoo_name", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("findings", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_quotations_status", ["status"], unique=False)

    op.create_table(
        "odoo_catalog",
        sa.Column("origin", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("odoo_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("write_date", sa.String(length=30), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("origin", "kind", "odoo_id"),
    )
    op.create_table(
        "odoo_sync",
        sa.Column("origin", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("watermark", sa.String(length=30), nullable=True),
        sa.Column("boundary_ids", sa.JSON(), nullable=True),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("origin", "kind"),
    )


def downgrade() -> None:
    op.drop_table("odoo_sync")
    op.drop_table("odoo_catalog")
    with op.batch_alter_table("quotations", schema=None) as batch_op:
        batch_op.drop_index("ix_quotations_status")
        batch_op.drop_column("sent_at")
        batch_op.drop_column("findings")
        batch_op.drop_column("odoo_name")
        batch_op.drop_column("last_error")
        batch_op.drop_column("attempts")
        batch_op.drop_column("status")

"""Review: labeled examples, learned mappings, and a note on each review item.

A person's approved correction is kept as a labeled example (for evaluation and per-customer
LLM examples) and as learned mappings (customer product code → product, ship-to text →
delivery address) that the matcher consults before its own rules. ``review_items.note`` keeps
why an item was rejected.

Revision ID: 0005_review
Revises: 0004_llm
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0005_review"
down_revision = "0004_llm"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "labeled_examples",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=32), nullable=False),
        sa.Column("sender", sa.String(length=1000), nullable=True),
        sa.Column("partner_id", sa.Integer(), nullable=True),
        sa.Column("original", sa.JSON(), nullable=False),
        sa.Column("corrected", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("labeled_examples", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_labeled_examples_message_id"), ["message_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_labeled_examples_sender"), ["sender"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_labeled_examples_partner_id"), ["partner_id"], unique=False
        )
    op.create_table(
        "learned_mappings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=500), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("target_name", sa.String(length=500), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("message_id", sa.String(length=32), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "partner_id", "key"),
    )
    with op.batch_alter_table("review_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("review_items", schema=None) as batch_op:
        batch_op.drop_column("note")
    op.drop_table("learned_mappings")
    with op.batch_alter_table("labeled_examples", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_labeled_examples_partner_id"))
        batch_op.drop_index(batch_op.f("ix_labeled_examples_sender"))
        batch_op.drop_index(batch_op.f("ix_labeled_examples_message_id"))
    op.drop_table("labeled_examples")

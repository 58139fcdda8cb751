"""the outbox of third-party measurement pixel calls

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 23:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tastegraph.kernel.tables


revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pixel_outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("event_key", sa.String(length=64), nullable=False),
        sa.Column("url_index", sa.Integer(), nullable=False),
        sa.Column("ad_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event", sa.String(length=12), nullable=False),
        sa.Column("url", sa.String(length=2100), nullable=False),
        sa.Column("host", sa.String(length=300), nullable=False),
        sa.Column("created_at", tastegraph.kernel.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", tastegraph.kernel.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_id", sa.String(length=24), nullable=True),
        sa.Column("lease_until", tastegraph.kernel.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("done_at", tastegraph.kernel.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=12), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["ad_id"], ["ads.id"], name=op.f("fk_pixel_outbox_ad_id_ads"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pixel_outbox")),
        sa.UniqueConstraint("event_key", "url_index", name="uq_pixel_outbox_event_url"),
        info={"personal": False},
    )
    with op.batch_alter_table("pixel_outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pixel_outbox_ad_id"), ["ad_id"], unique=False)
        batch_op.create_index("ix_pixel_outbox_due", ["done_at", "next_attempt_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pixel_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_pixel_outbox_due")
        batch_op.drop_index(batch_op.f("ix_pixel_outbox_ad_id"))
    op.drop_table("pixel_outbox")

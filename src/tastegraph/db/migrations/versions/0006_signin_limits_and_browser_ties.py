"""shared rate counters (sign-in limits); browser links are retired at sign-out instead of living on

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tastegraph.kernel.tables


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'rate_counters',
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('window', sa.BigInteger(), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('expires_at', tastegraph.kernel.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key', 'window', name=op.f('pk_rate_counters')),
    )
    with op.batch_alter_table('rate_counters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rate_counters_expires_at'), ['expires_at'], unique=False)
    with op.batch_alter_table('browser_links', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('retired_at', tastegraph.kernel.tables.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table('browser_links', schema=None) as batch_op:
        batch_op.drop_column('retired_at')
    with op.batch_alter_table('rate_counters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rate_counters_expires_at'))
    op.drop_table('rate_counters')

"""feed controls: hides.reason, topic_exclusions (topics a person removed from their feed)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 18:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tastegraph.kernel.tables


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('hides', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason', sa.String(length=20), nullable=True))
    op.create_table('topic_exclusions',
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('topic_id', sa.Integer(), nullable=False),
    sa.Column('created_at', tastegraph.kernel.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['topic_id'], ['topics.id'], name=op.f('fk_topic_exclusions_topic_id_topics'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_topic_exclusions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'topic_id', name=op.f('pk_topic_exclusions')),
    info={'personal': True}
    )


def downgrade() -> None:
    op.drop_table('topic_exclusions')
    with op.batch_alter_table('hides', schema=None) as batch_op:
        batch_op.drop_column('reason')

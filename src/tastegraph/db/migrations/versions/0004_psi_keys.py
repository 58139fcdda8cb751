"""private set intersection prepared ahead: the platform's key and everyone's blinded identifier

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 09:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tastegraph.kernel.tables


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('psi_keys',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('secret', sa.LargeBinary(length=32), nullable=False),
    sa.Column('created_at', tastegraph.kernel.tables.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_psi_keys')),
    info={'personal': False}
    )
    op.create_table('psi_points',
    sa.Column('key_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('point', sa.LargeBinary(length=32), nullable=False),
    sa.ForeignKeyConstraint(['key_id'], ['psi_keys.id'], name=op.f('fk_psi_points_key_id_psi_keys'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_psi_points_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('key_id', 'kind', 'user_id', name=op.f('pk_psi_points')),
    info={'personal': True}
    )
    with op.batch_alter_table('psi_points', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_psi_points_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('psi_points', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_psi_points_user_id'))

    op.drop_table('psi_points')
    op.drop_table('psi_keys')

"""off-site visits without third-party cookies

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-03 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tastegraph.kernel.tables


revision = '0009'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('offsite_link_tickets',
    sa.Column('ticket_hash', sa.String(length=64), nullable=False),
    sa.Column('partition_id', sa.String(length=32), nullable=False),
    sa.Column('domain', sa.String(length=253), nullable=False),
    sa.Column('host', sa.String(length=253), nullable=False),
    sa.Column('created_at', tastegraph.kernel.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', tastegraph.kernel.tables.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('ticket_hash', name=op.f('pk_offsite_link_tickets')),

    )
    with op.batch_alter_table('offsite_link_tickets', schema=None) as batch_op:
        batch_op.create_index('ix_offsite_link_tickets_expires', ['expires_at'], unique=False)

    op.create_table('offsite_partition_links',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('partition_id', sa.String(length=32), nullable=False),
    sa.Column('domain', sa.String(length=253), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('visits', sa.Integer(), nullable=False),
    sa.Column('linked_at', tastegraph.kernel.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_offsite_partition_links_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offsite_partition_links')),

    )
    with op.batch_alter_table('offsite_partition_links', schema=None) as batch_op:
        batch_op.create_index('ix_offsite_partition_links_partition', ['partition_id', 'domain'], unique=True)
        batch_op.create_index('ix_offsite_partition_links_user', ['user_id'], unique=False)

    op.create_table('offsite_click_ids',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('click_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('pin_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('host', sa.String(length=253), nullable=False),
    sa.Column('bound_to', sa.String(length=32), nullable=True),
    sa.Column('created_at', tastegraph.kernel.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', tastegraph.kernel.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['pin_id'], ['pins.id'], name=op.f('fk_offsite_click_ids_pin_id_pins'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_offsite_click_ids_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offsite_click_ids')),
    sa.UniqueConstraint('click_hash', name=op.f('uq_offsite_click_ids_click_hash')),

    )
    with op.batch_alter_table('offsite_click_ids', schema=None) as batch_op:
        batch_op.create_index('ix_offsite_click_ids_expires', ['expires_at'], unique=False)
        batch_op.create_index('ix_offsite_click_ids_user', ['user_id'], unique=False)

    with op.batch_alter_table('offsite_visits', schema=None) as batch_op:
        batch_op.add_column(sa.Column('partition_id', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('tied_by', sa.String(length=16), nullable=True))
        batch_op.create_index('ix_offsite_visits_partition', ['partition_id', 'domain'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('offsite_visits', schema=None) as batch_op:
        batch_op.drop_index('ix_offsite_visits_partition')
        batch_op.drop_column('tied_by')
        batch_op.drop_column('partition_id')

    with op.batch_alter_table('offsite_click_ids', schema=None) as batch_op:
        batch_op.drop_index('ix_offsite_click_ids_user')
        batch_op.drop_index('ix_offsite_click_ids_expires')

    op.drop_table('offsite_click_ids')
    with op.batch_alter_table('offsite_partition_links', schema=None) as batch_op:
        batch_op.drop_index('ix_offsite_partition_links_user')
        batch_op.drop_index('ix_offsite_partition_links_partition')

    op.drop_table('offsite_partition_links')
    with op.batch_alter_table('offsite_link_tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_offsite_link_tickets_expires')

    op.drop_table('offsite_link_tickets')

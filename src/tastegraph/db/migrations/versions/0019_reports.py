"""advertiser report rollups and the differential-privacy ledger

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 23:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tastegraph.kernel.tables


revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('report_state',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('text', sa.String(length=40), nullable=False),
    sa.Column('at', tastegraph.kernel.tables.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_report_state')),
    info={'personal': False}
    )
    op.create_table('report_cells',
    sa.Column('ad_account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('object_id', sa.BigInteger(), nullable=False),
    sa.Column('metric', sa.String(length=40), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('people', sa.Integer(), nullable=True),
    sa.Column('withheld', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['ad_account_id'], ['ad_accounts.id'], name=op.f('fk_report_cells_ad_account_id_ad_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ad_account_id', 'level', 'day', 'object_id', 'metric', name=op.f('pk_report_cells')),
    info={'personal': False},
    sqlite_with_rowid=False
    )
    op.create_table('report_dp_cells',
    sa.Column('ad_account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('object_id', sa.BigInteger(), nullable=False),
    sa.Column('metric', sa.String(length=40), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('noise_sd', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['ad_account_id'], ['ad_accounts.id'], name=op.f('fk_report_dp_cells_ad_account_id_ad_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ad_account_id', 'level', 'day', 'object_id', 'metric', name=op.f('pk_report_dp_cells')),
    info={'personal': False},
    sqlite_with_rowid=False
    )
    op.create_table('report_dp_ledger',
    sa.Column('ad_account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('epoch_start', sa.String(length=10), nullable=False),
    sa.Column('spent', sa.Float(), nullable=False),
    sa.Column('updated_at', tastegraph.kernel.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ad_account_id'], ['ad_accounts.id'], name=op.f('fk_report_dp_ledger_ad_account_id_ad_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ad_account_id', 'epoch_start', name=op.f('pk_report_dp_ledger')),
    info={'personal': False}
    )
    op.create_table('report_dp_releases',
    sa.Column('ad_account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('windows', sa.String(length=20), nullable=False),
    sa.Column('epsilon', sa.Float(), nullable=False),
    sa.Column('released_at', tastegraph.kernel.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ad_account_id'], ['ad_accounts.id'], name=op.f('fk_report_dp_releases_ad_account_id_ad_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ad_account_id', 'day', name=op.f('pk_report_dp_releases')),
    info={'personal': False}
    )
    op.create_table('report_dirty',
    sa.Column('ad_account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('kind', sa.String(length=4), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('start_at', tastegraph.kernel.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('end_at', tastegraph.kernel.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ad_account_id'], ['ad_accounts.id'], name=op.f('fk_report_dirty_ad_account_id_ad_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ad_account_id', 'day', 'kind', name=op.f('pk_report_dirty')),
    info={'personal': False}
    )
    with op.batch_alter_table('ad_attributions', schema=None) as batch_op:
        batch_op.create_index('ix_ad_attributions_computed_at', ['computed_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ad_attributions', schema=None) as batch_op:
        batch_op.drop_index('ix_ad_attributions_computed_at')

    op.drop_table('report_dirty')
    op.drop_table('report_dp_releases')
    op.drop_table('report_dp_ledger')
    op.drop_table('report_dp_cells')
    op.drop_table('report_cells')
    op.drop_table('report_state')

"""a site's most saved Pins from one index: pins (domain, save_count, id) replaces pins (domain)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 18:05:00
"""

from __future__ import annotations

from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('pins', schema=None) as batch_op:
        batch_op.create_index('ix_pins_domain_popular', ['domain', 'save_count', 'id'], unique=False)
        batch_op.drop_index('ix_pins_domain')


def downgrade() -> None:
    with op.batch_alter_table('pins', schema=None) as batch_op:
        batch_op.create_index('ix_pins_domain', ['domain'], unique=False)
        batch_op.drop_index('ix_pins_domain_popular')

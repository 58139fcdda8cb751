"""conversion attribution: the consent decision taken when an advertiser's event arrives
(advertiser_events.attributable), and the indexes attribution reads the ad logs by

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 23:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_LOGS = {"ad_clicks": "click_id", "ad_engagements": "ad_id", "ad_impressions": "ad_id"}
# Plain ids from now on (measure.attribution_tables says why).
_PLAIN = {
    "event_id": "advertiser_events",
    "ad_account_id": "ad_accounts",
    "user_id": "users",
    "click_ad_id": "ads",
    "engagement_ad_id": "ads",
    "view_ad_id": "ads",
}


def upgrade() -> None:
    # Events stored before this revision keep NULL: nobody knows what their people allowed when they
    # arrived, so they are never attributed (they stay in the advertiser's totals).
    with op.batch_alter_table("advertiser_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attributable", sa.Boolean(), nullable=True))
        batch_op.create_index(
            "ix_advertiser_events_click",
            ["click_id"],
            unique=False,
            postgresql_where=sa.text("click_id IS NOT NULL"),
            sqlite_where=sa.text("click_id IS NOT NULL"),
        )
    for name, last in _LOGS.items():
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.create_index(f"ix_{name}_at", ["at"], unique=False)
            batch_op.create_index(
                f"ix_{name}_person_account_at", ["user_id", "ad_account_id", "at", last], unique=False
            )
    with op.batch_alter_table("ad_attributions", schema=None) as batch_op:
        for column, target in _PLAIN.items():
            batch_op.drop_constraint(f"fk_ad_attributions_{column}_{target}", type_="foreignkey")
        batch_op.create_index("ix_ad_attributions_event_time", ["event_time"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ad_attributions", schema=None) as batch_op:
        batch_op.drop_index("ix_ad_attributions_event_time")
        for column, target in _PLAIN.items():
            batch_op.create_foreign_key(
                f"fk_ad_attributions_{column}_{target}", target, [column], ["id"], ondelete="CASCADE"
            )
    for name in reversed(list(_LOGS)):
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{name}_person_account_at")
            batch_op.drop_index(f"ix_{name}_at")
    with op.batch_alter_table("advertiser_events", schema=None) as batch_op:
        batch_op.drop_index("ix_advertiser_events_click")
        batch_op.drop_column("attributable")

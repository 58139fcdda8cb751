"""The demo's advertiser: TrailPeak Gear, the invented camping shop, with the tag on its pages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from tastegraph.ads import AdAccount, NewToken, accounts
from tastegraph.demo.vocabulary import TOPIC_DOMAINS

# Fixed, so the demo shop's pages (web.demo_sites) can carry the tag without asking the database.
DEMO_SHOP_TAG_ID = "trailpeakdemo001"
DEMO_SHOP_NAME = "TrailPeak Gear"


def ensure_demo_advertiser(conn: Connection, now: datetime) -> tuple[AdAccount, NewToken | None]:
    """The demo shop's ad account, created once; the token is returned only when it was just made."""
    existing = accounts.account_for_tag(conn, DEMO_SHOP_TAG_ID)
    if existing is not None:
        return accounts.get_account(conn, existing), None
    account, token = accounts.create_account(
        conn, DEMO_SHOP_NAME, now, website=TOPIC_DOMAINS["outdoors"][0], tag_id=DEMO_SHOP_TAG_ID
    )
    return account, token

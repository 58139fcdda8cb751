"""What people did with Promoted Pins — impressions, clicks, engagement (saves, close-ups) and hides —
and the personal-data duties for them (export, erasure, retention). Measurement reads these logs
(attribution, reports); charging is ads.spend's, against the same token ids."""

from __future__ import annotations

import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, TypedDict

from sqlalchemy import Connection, Table, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from tastegraph.ads.tables import (
    ad_accounts,
    ad_clicks,
    ad_engagements,
    ad_groups,
    ad_hides,
    ad_impressions,
    ads,
    campaigns,
)
from tastegraph.ads.tokens import AdToken
from tastegraph.catalog import content
from tastegraph.kernel import NotFound

# Ad logs are kept for 90 days: long enough for 30-day attribution windows and a month of reports, then
# swept (`tastegraph sweep`), for people and signed-out browsers alike.
AD_LOG_RETENTION = timedelta(days=90)
Recorded = Literal["recorded", "duplicate"]
EngagementKind = Literal["save", "closeup"]
ENGAGEMENT_KINDS: tuple[EngagementKind, ...] = ("save", "closeup")


def _insert_once(conn: Connection, table: Table, values: dict[str, Any]) -> bool:
    """Insert unless the key is there already (at most once under concurrent reports); True if new."""
    maker = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    key = next(iter(table.primary_key.columns))
    # RETURNING, not rowcount: psycopg does not report an INSERT ... ON CONFLICT's row count reliably.
    return (
        conn.execute(maker(table).values(**values).on_conflict_do_nothing().returning(key)).first()
        is not None
    )


def _who(token: AdToken) -> dict[str, Any]:
    subject = token.subject or ""
    return {
        "user_id": token.user_id,
        "browser_key": subject[2:] if subject.startswith("b:") else None,
    }


def record_impression(conn: Connection, token: AdToken, charged_micro: int, now: datetime) -> Recorded:
    new = _insert_once(
        conn,
        ad_impressions,
        {
            "token_id": token.id,
            "ad_id": token.ad_id,
            "ad_group_id": token.ad_group_id,
            "ad_account_id": token.ad_account_id,
            **_who(token),
            "placement": token.placement,
            "position": token.position,
            "charged_micro": charged_micro,
            "served_at": token.issued_at,
            "at": now,
        },
    )
    return "recorded" if new else "duplicate"


def record_click(conn: Connection, token: AdToken, charged_micro: int, now: datetime) -> tuple[Recorded, str]:
    """The click and its click id (the first click's, for a repeated one)."""
    click_id = secrets.token_urlsafe(18)
    new = _insert_once(
        conn,
        ad_clicks,
        {
            "click_id": click_id,
            "token_id": token.id,
            "ad_id": token.ad_id,
            "ad_group_id": token.ad_group_id,
            "ad_account_id": token.ad_account_id,
            **_who(token),
            "placement": token.placement,
            "position": token.position,
            "charged_micro": charged_micro,
            "at": now,
        },
    )
    if new:
        return "recorded", click_id
    first = conn.execute(select(ad_clicks.c.click_id).where(ad_clicks.c.token_id == token.id)).scalar_one()
    return "duplicate", str(first)


def record_engagement(conn: Connection, token: AdToken, kind: EngagementKind, now: datetime) -> Recorded:
    """The person saved the Promoted Pin or opened it up close where it was served; once per token and
    kind (engagement is never charged: ads are billed by impression or click)."""
    maker = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    values = {
        "token_id": token.id,
        "kind": kind,
        "ad_id": token.ad_id,
        "ad_group_id": token.ad_group_id,
        "ad_account_id": token.ad_account_id,
        **_who(token),
        "placement": token.placement,
        "position": token.position,
        "at": now,
    }
    new = conn.execute(
        maker(ad_engagements).values(**values).on_conflict_do_nothing().returning(ad_engagements.c.token_id)
    ).first()
    return "recorded" if new is not None else "duplicate"


@dataclass(frozen=True)
class TouchLogs:
    """The ad logs as read-only sources for set-based measurement SQL: measure.attribution embeds them in
    its statements (a person's last touch before a conversion); only this module writes them."""

    impressions: Table
    clicks: Table
    engagements: Table


def touch_logs() -> TouchLogs:
    return TouchLogs(ad_impressions, ad_clicks, ad_engagements)


def click_owners(
    conn: Connection, ad_account_id: int, click_ids: Collection[str]
) -> dict[str, tuple[int | None, str | None]]:
    """Who made each of these clicks, among the ad account's own clicks only (another account's click id
    names nothing): click id -> (user id, signed-out browser key)."""
    out: dict[str, tuple[int | None, str | None]] = {}
    wanted = sorted({c for c in click_ids if c and len(c) <= 32})
    for start in range(0, len(wanted), 500):
        rows = conn.execute(
            select(ad_clicks.c.click_id, ad_clicks.c.user_id, ad_clicks.c.browser_key).where(
                ad_clicks.c.click_id.in_(wanted[start : start + 500]),
                ad_clicks.c.ad_account_id == ad_account_id,
            )
        )
        for r in rows:
            out[str(r.click_id)] = (None if r.user_id is None else int(r.user_id), r.browser_key)
    return out


# --- what an ad group delivered (counts only) -----------------------------------------------------------


class Delivered(TypedDict):
    impressions: int
    clicks: int
    spend_in_micro: int  # what its impressions (CPM) and clicks (CPC) were charged


def delivered(
    conn: Connection, ad_group_id: int, start: datetime | None = None, end: datetime | None = None
) -> Delivered:
    """An ad group's impressions, clicks and their charges reported in [start, end) (all kept, when
    neither is given: the logs go back AD_LOG_RETENTION). Sums only: no row says who."""
    out: dict[str, int] = {}
    for name, table in (("impressions", ad_impressions), ("clicks", ad_clicks)):
        where = [table.c.ad_group_id == ad_group_id]
        if start is not None:
            where.append(table.c.at >= start)
        if end is not None:
            where.append(table.c.at < end)
        n, charged = conn.execute(
            select(func.count(), func.coalesce(func.sum(table.c.charged_micro), 0)).where(*where)
        ).one()
        out[name] = int(n)
        out[name + "_micro"] = int(charged)
    return {
        "impressions": out["impressions"],
        "clicks": out["clicks"],
        "spend_in_micro": out["impressions_micro"] + out["clicks_micro"],
    }


# --- hides ------------------------------------------------------------------------------------------------


class HideJson(TypedDict):
    id: int
    scope: str  # ad | advertiser
    ad_id: int | None
    ad_account_id: int
    advertiser: str
    ad_title: str | None  # the hidden ad's Pin title (scope "ad"); None for a whole advertiser
    created_at: str


def _owner(user_id: int | None, browser_key: str | None) -> Any:
    if user_id is not None:
        return ad_hides.c.user_id == user_id
    return (ad_hides.c.browser_key == browser_key) & ad_hides.c.user_id.is_(None)


def hide(conn: Connection, token: AdToken, scope: Literal["ad", "advertiser"], now: datetime) -> int:
    """Hide the token's ad (or every ad of its advertiser) from whom it was served to; idempotent."""
    who = _who(token)
    existing = conn.execute(
        select(ad_hides.c.id).where(
            _owner(who["user_id"], who["browser_key"]),
            ad_hides.c.scope == scope,
            ad_hides.c.ad_account_id == token.ad_account_id,
            ad_hides.c.ad_id == token.ad_id if scope == "ad" else ad_hides.c.ad_id.is_(None),
        )
    ).scalar_one_or_none()
    if existing is not None:
        return int(existing)
    result = conn.execute(
        ad_hides.insert().values(
            **who,
            scope=scope,
            ad_id=token.ad_id if scope == "ad" else None,
            ad_account_id=token.ad_account_id,
            created_at=now,
        )
    )
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])


def hidden(conn: Connection, user_id: int | None, browser_key: str | None) -> tuple[set[int], set[int]]:
    """(hidden ad ids, hidden ad account ids) for a person or a signed-out browser."""
    if user_id is None and browser_key is None:
        return set(), set()
    rows = conn.execute(
        select(ad_hides.c.scope, ad_hides.c.ad_id, ad_hides.c.ad_account_id).where(
            _owner(user_id, browser_key)
        )
    )
    ads_hidden: set[int] = set()
    accounts: set[int] = set()
    for scope, ad_id, account_id in rows:
        if scope == "ad" and ad_id is not None:
            ads_hidden.add(int(ad_id))
        else:
            accounts.add(int(account_id))
    return ads_hidden, accounts


def list_hides(conn: Connection, user_id: int | None, browser_key: str | None) -> list[HideJson]:
    if user_id is None and browser_key is None:
        return []
    rows = conn.execute(
        select(ad_hides, ad_accounts.c.name.label("advertiser"), ads.c.pin_id)
        .join(ad_accounts, ad_accounts.c.id == ad_hides.c.ad_account_id)
        .outerjoin(ads, ads.c.id == ad_hides.c.ad_id)
        .where(_owner(user_id, browser_key))
        .order_by(ad_hides.c.id.desc())
    ).all()
    shown = content.get_pins(conn, [int(r.pin_id) for r in rows if r.pin_id is not None])
    return [
        {
            "id": int(r.id),
            "scope": r.scope,
            "ad_id": None if r.ad_id is None else int(r.ad_id),
            "ad_account_id": int(r.ad_account_id),
            "advertiser": r.advertiser,
            "ad_title": shown[r.pin_id]["title"] if r.pin_id in shown else None,
            "created_at": r.created_at.isoformat(),
        }
        for r in rows
    ]


def unhide(conn: Connection, user_id: int | None, browser_key: str | None, hide_id: int) -> None:
    """Undo one of the caller's own hides; anyone else's is NotFound."""
    if user_id is None and browser_key is None:
        raise NotFound("no such hidden ad among yours", field="hide_id")
    n = conn.execute(delete(ad_hides).where(ad_hides.c.id == hide_id, _owner(user_id, browser_key))).rowcount
    if n == 0:
        raise NotFound("no such hidden ad among yours", field="hide_id")


# --- personal data -----------------------------------------------------------------------------------


class AdActivity(TypedDict):
    impressions: list[dict[str, Any]]
    clicks: list[dict[str, Any]]
    engagements: list[dict[str, Any]]
    hides: list[HideJson]


def _rows(conn: Connection, table: Table, user_id: int, columns: list[str]) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(*[table.c[c] for c in columns]).where(table.c.user_id == user_id).order_by(table.c.at)
    ).mappings()
    return [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items()} for r in rows]


def export(conn: Connection, user_id: int) -> AdActivity:
    common = ["ad_id", "ad_account_id", "placement", "position", "at"]
    return {
        "impressions": _rows(conn, ad_impressions, user_id, common),
        "clicks": _rows(conn, ad_clicks, user_id, ["click_id", *common]),
        "engagements": _rows(conn, ad_engagements, user_id, ["kind", *common]),
        "hides": list_hides(conn, user_id, None),
    }


def erase(conn: Connection, user_id: int) -> int:
    n = 0
    for table in (ad_impressions, ad_clicks, ad_engagements, ad_hides):
        n += conn.execute(delete(table).where(table.c.user_id == user_id)).rowcount
    return n


def sweep(conn: Connection, now: datetime) -> int:
    """Impressions, clicks and engagement older than AD_LOG_RETENTION; hides stay until undone (a signed-out
    browser's after the same 90 days)."""
    cutoff = now - AD_LOG_RETENTION
    n = conn.execute(delete(ad_impressions).where(ad_impressions.c.at < cutoff)).rowcount
    n += conn.execute(delete(ad_clicks).where(ad_clicks.c.at < cutoff)).rowcount
    n += conn.execute(delete(ad_engagements).where(ad_engagements.c.at < cutoff)).rowcount
    n += conn.execute(
        delete(ad_hides).where(ad_hides.c.user_id.is_(None), ad_hides.c.created_at < cutoff)
    ).rowcount
    return n


@dataclass(frozen=True)
class LogTables:
    """The ad logs and the objects they name, for measurement's set-based reads inside the database
    (reports, attribution): read them, never write them."""

    impressions: Table
    clicks: Table
    engagements: Table
    ads: Table
    ad_groups: Table
    campaigns: Table
    accounts: Table


def log_tables() -> LogTables:
    return LogTables(ad_impressions, ad_clicks, ad_engagements, ads, ad_groups, campaigns, ad_accounts)

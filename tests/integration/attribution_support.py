"""Helpers for the attribution tests: ads made by direct inserts, touches (impressions, clicks,
engagements) recorded at chosen times, conversions sent through the real ingest, and an independent
model of what attribution should store."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from tastegraph.ads.tables import ad_clicks, ad_engagements, ad_groups, ad_impressions, ads, campaigns
from tastegraph.bootstrap import System
from tastegraph.catalog.tables import pins
from tastegraph.collect import advertiser_events
from tastegraph.collect.advertiser_events import Ingest
from tastegraph.consent import RequestSignals
from tastegraph.kernel.tables import inserted_id
from tastegraph.measure import Windows, attribution
from tastegraph.measure.attribution_tables import ad_attributions
from tastegraph.usecases import advertiser_events as events_usecase
from tests.integration.ads_support import sha

MAX = timedelta(days=60)


@dataclass(frozen=True)
class Touch:
    kind: str  # click | engagement | view
    ad_account_id: int
    ad_id: int
    at: datetime
    user_id: int | None
    browser_key: str | None = None
    click_id: str | None = None


def make_ads(system: System, ad_account_id: int, n: int) -> list[int]:
    """n ads of one campaign and ad group of the account (inserted directly)."""
    now = system.clock.now()
    with system.write() as conn:
        campaign = inserted_id(
            conn.execute(
                insert(campaigns).values(
                    ad_account_id=ad_account_id,
                    name="c",
                    objective="conversions",
                    status="active",
                    created_at=now,
                    updated_at=now,
                )
            )
        )
        group = inserted_id(
            conn.execute(
                insert(ad_groups).values(
                    ad_account_id=ad_account_id,
                    campaign_id=campaign,
                    name="g",
                    status="active",
                    billable_event="impression",
                    bid_in_micro=1_000_000,
                    budget_in_micro=100_000_000,
                    budget_type="daily",
                    pacing_delivery_type="standard",
                    placement="all",
                    targeting_spec={},
                    created_at=now,
                    updated_at=now,
                )
            )
        )
        out = []
        for i in range(n):
            pin = inserted_id(
                conn.execute(
                    insert(pins).values(
                        title=f"ad pin {i}",
                        image_url="https://img.example/x.jpg",
                        link_url="https://shop.example/x",
                        domain="shop.example",
                        created_at=now,
                    )
                )
            )
            out.append(
                inserted_id(
                    conn.execute(
                        insert(ads).values(
                            ad_account_id=ad_account_id,
                            ad_group_id=group,
                            pin_id=pin,
                            name=f"ad {i}",
                            status="active",
                            destination_url="https://shop.example/x",
                            created_at=now,
                            updated_at=now,
                        )
                    )
                )
            )
    return out


def touch(
    system: System,
    kind: str,
    ad_id: int,
    at: datetime,
    user_id: int | None,
    *,
    browser_key: str | None = None,
) -> Touch:
    """Record one touch of `ad_id` at `at` (the ad logs' row, as ads.ad_log writes it)."""
    with system.write() as conn:
        ad = conn.execute(select(ads.c.ad_group_id, ads.c.ad_account_id).where(ads.c.id == ad_id)).one()
        common = {
            "token_id": secrets.token_hex(8),
            "ad_id": ad_id,
            "ad_group_id": ad.ad_group_id,
            "ad_account_id": ad.ad_account_id,
            "user_id": user_id,
            "browser_key": browser_key if user_id is None else None,
            "placement": "browse",
            "position": 1,
            "at": at,
        }
        click_id = None
        if kind == "view":
            conn.execute(insert(ad_impressions).values(**common, charged_micro=0, served_at=at))
        elif kind == "click":
            click_id = secrets.token_urlsafe(18)
            conn.execute(insert(ad_clicks).values(**common, click_id=click_id, charged_micro=0))
        else:
            conn.execute(insert(ad_engagements).values(**common, kind="save"))
    return Touch(kind, int(ad.ad_account_id), ad_id, at, user_id, browser_key, click_id)


def convert(
    system: System,
    ad_account_id: int,
    event_id: str,
    when: datetime,
    *,
    email: str | None = None,
    click_id: str | None = None,
    event_name: str = "checkout",
    signals: RequestSignals | None = None,
    opt_out: bool = False,
    value: float | None = None,
) -> int | None:
    """Send one conversion through the real ingest (conversions API shape; the tag's signals when
    given); the stored event's id (None: not stored, a duplicate)."""
    user_data: dict[str, Any] = {}
    if email:
        user_data["em"] = [sha(email)]
    if click_id:
        user_data["click_id"] = click_id
    if not user_data:
        user_data["external_id"] = [sha(event_id)]
    raw: dict[str, Any] = {
        "event_name": event_name,
        "action_source": "web",
        "event_time": int(when.timestamp()),
        "event_id": event_id,
        "user_data": user_data,
        "opt_out": opt_out,
    }
    if value is not None:
        raw["custom_data"] = {"value": str(value), "currency": "USD"}
    now = system.clock.now()
    item = advertiser_events.prepare(raw, "data[0]", now)
    assert not isinstance(item, advertiser_events.EventError), item
    ingest = Ingest(
        ad_account_id,
        "tag" if signals is not None else "api",
        signals or RequestSignals(),
        click_owners=events_usecase._click_owners,
    )
    with system.write() as conn:
        (outcome,) = advertiser_events.record_events(
            conn, system.identity, system.consent, ingest, [item], now
        )
        if outcome.status.value != "processed":
            return None
        table = advertiser_events.event_log()
        return int(
            conn.execute(
                select(table.c.id).where(table.c.event_id == event_id, table.c.ad_account_id == ad_account_id)
            ).scalar_one()
        )


def run(system: System, **kw: Any) -> attribution.RunResult:
    return attribution.run(system.engine, system.clock.now(), **kw)


def rows(system: System) -> dict[int, dict[str, Any]]:
    with system.read() as conn:
        return {
            int(r["event_id"]): dict(r)
            for r in conn.execute(select(ad_attributions).order_by(ad_attributions.c.event_id)).mappings()
        }


def candidates(system: System) -> dict[int, tuple[Any, ...]]:
    """What a row holds apart from when it was computed."""
    return {
        k: tuple(
            v[c]
            for c in (
                "person_key",
                "click_ad_id",
                "click_at",
                "engagement_ad_id",
                "engagement_at",
                "view_ad_id",
                "view_at",
            )
        )
        for k, v in rows(system).items()
    }


def credited(
    system: System, ad_account_id: int, windows: Windows | None = None
) -> dict[int, tuple[str | None, int | None]]:
    """Each row's credited (kind, ad) under `windows`, computed by the database (credited_expr)."""
    w = windows or Windows()
    kind, ad = attribution.credited_expr(w)
    with system.read() as conn:
        return {
            int(r.event_id): (r.kind, None if r.ad is None else int(r.ad))
            for r in conn.execute(
                select(ad_attributions.c.event_id, kind.label("kind"), ad.label("ad")).where(
                    ad_attributions.c.ad_account_id == ad_account_id
                )
            )
        }


def model_candidates(
    touches: list[Touch], ad_account_id: int, user_id: int | None, when: datetime, click: Touch | None
) -> dict[str, Touch | None]:
    """The independent model: the last touch of each kind of the person, of the account, in the 60 days
    up to `when`; a click id's click (of the account, in the window) competes with the person's clicks,
    and alone when no person was matched."""

    def inside(t: Touch) -> bool:
        return t.ad_account_id == ad_account_id and when - MAX <= t.at <= when

    out: dict[str, Touch | None] = {}
    for kind in ("click", "engagement", "view"):
        mine = [
            t
            for t in touches
            if t.kind == kind and user_id is not None and t.user_id == user_id and inside(t)
        ]
        if kind == "click" and click is not None and inside(click):
            mine.append(click)
        out[kind] = max(mine, key=lambda t: t.at) if mine else None
    return out

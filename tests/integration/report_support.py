"""Helpers for the report tests: an ad account with campaigns, ad groups and ads, and its ad logs and
attributions written directly (the attribution code has its own tests; here the rows it writes are the
input). People are signed-out browsers ("b:{key}"), so no user rows are needed."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert

from tastegraph.ads import accounts, ad_pins
from tastegraph.ads.tables import ad_clicks, ad_engagements, ad_groups, ad_impressions, ads, campaigns
from tastegraph.bootstrap import System
from tastegraph.catalog import content
from tastegraph.collect.tables import advertiser_events
from tastegraph.kernel.tables import inserted_id
from tastegraph.measure.attribution_tables import ad_attributions
from tastegraph.usecases import reports

_seq = itertools.count(1)


@dataclass
class World:
    account_id: int
    token: str
    timezone: str
    campaigns: dict[str, int] = field(default_factory=dict)
    groups: dict[str, int] = field(default_factory=dict)
    ads: dict[str, int] = field(default_factory=dict)
    ad_group_of: dict[int, int] = field(default_factory=dict)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def url(self) -> str:
        return f"/v1/ad_accounts/{self.account_id}/reports"


def world(
    system: System, tree: dict[str, dict[str, list[str]]], *, timezone: str = "UTC", name: str = "Acme"
) -> World:
    """A new ad account with tree: campaign name -> ad group name -> ad names."""
    with system.write() as conn:
        account, token = accounts.create_account(
            conn, name, system.clock.now(), timezone=timezone, website="acme.example"
        )
    w = World(account.id, token.token, timezone)
    add_objects(system, w, tree)
    return w


def add_objects(system: System, w: World, tree: dict[str, dict[str, list[str]]]) -> None:
    """Campaigns, ad groups and ads (and one Pin) for the account of `w`, written directly."""
    now = system.clock.now()
    with system.write() as conn:
        account = accounts.get_account(conn, w.account_id)
        content.ensure_topic(conn, "hiking", "Hiking")
        link = f"https://{account.website_domain}/shoe"
        pin = ad_pins.create(
            conn,
            account,
            title="Trail shoe",
            description="Light",
            link=link,
            topics=["hiking"],
            image_url=link + ".png",
            now=now,
        )
        for cname, groups in tree.items():
            cid = inserted_id(
                conn.execute(
                    insert(campaigns).values(
                        ad_account_id=account.id,
                        name=cname,
                        objective="conversions",
                        status="active",
                        created_at=now,
                        updated_at=now,
                    )
                )
            )
            w.campaigns[cname] = cid
            for gname, ad_names in groups.items():
                gid = inserted_id(
                    conn.execute(
                        insert(ad_groups).values(
                            ad_account_id=account.id,
                            campaign_id=cid,
                            name=gname,
                            status="active",
                            billable_event="impression",
                            bid_in_micro=1_000_000,
                            budget_in_micro=10_000_000,
                            budget_type="daily",
                            pacing_delivery_type="standard",
                            placement="all",
                            targeting_spec={},
                            created_at=now,
                            updated_at=now,
                        )
                    )
                )
                w.groups[gname] = gid
                for aname in ad_names:
                    aid = inserted_id(
                        conn.execute(
                            insert(ads).values(
                                ad_account_id=account.id,
                                ad_group_id=gid,
                                pin_id=pin.id,
                                name=aname,
                                status="active",
                                destination_url=link,
                                created_at=now,
                                updated_at=now,
                            )
                        )
                    )
                    w.ads[aname] = aid
                    w.ad_group_of[aid] = gid


def _common(w: World, ad: int, person: str, at: datetime) -> dict[str, Any]:
    return {
        "ad_id": ad,
        "ad_group_id": w.ad_group_of[ad],
        "ad_account_id": w.account_id,
        "user_id": None,
        "browser_key": person,
        "placement": "browse",
        "position": 1,
        "at": at,
    }


def impressions(
    system: System, w: World, ad: int, people: list[str], at: datetime, charged: int = 1000
) -> None:
    with system.write() as conn:
        conn.execute(
            insert(ad_impressions),
            [
                {
                    **_common(w, ad, p, at),
                    "token_id": f"t{next(_seq)}",
                    "charged_micro": charged,
                    "served_at": at,
                }
                for p in people
            ],
        )


def clicks(system: System, w: World, ad: int, people: list[str], at: datetime, charged: int = 0) -> None:
    with system.write() as conn:
        conn.execute(
            insert(ad_clicks),
            [
                {
                    **_common(w, ad, p, at),
                    "click_id": f"c{next(_seq)}",
                    "token_id": f"t{next(_seq)}",
                    "charged_micro": charged,
                }
                for p in people
            ],
        )


def engagements(
    system: System, w: World, ad: int, people: list[str], at: datetime, kind: str = "save"
) -> None:
    with system.write() as conn:
        conn.execute(
            insert(ad_engagements),
            [{**_common(w, ad, p, at), "token_id": f"t{next(_seq)}", "kind": kind} for p in people],
        )


def conversion(
    system: System,
    w: World,
    person: str,
    event_time: datetime,
    *,
    event_name: str = "checkout",
    value: float | None = None,
    click: tuple[int, datetime] | None = None,
    engagement: tuple[int, datetime] | None = None,
    view: tuple[int, datetime] | None = None,
) -> None:
    """An advertiser event and the attribution row the attribution code would write for it."""
    now = system.clock.now()
    with system.write() as conn:
        event_id = inserted_id(
            conn.execute(
                insert(advertiser_events).values(
                    ad_account_id=w.account_id,
                    source="api",
                    event_name=event_name,
                    event_id=f"e{next(_seq)}",
                    action_source="web",
                    event_time=event_time,
                    received_at=now,
                    value=value,
                    currency="USD" if value is not None else None,
                )
            )
        )
        conn.execute(
            insert(ad_attributions).values(
                event_id=event_id,
                ad_account_id=w.account_id,
                user_id=None,
                person_key=f"b:{person}",
                event_name=event_name,
                event_time=event_time,
                value=value,
                currency="USD" if value is not None else None,
                click_ad_id=click[0] if click else None,
                click_at=click[1] if click else None,
                engagement_ad_id=engagement[0] if engagement else None,
                engagement_at=engagement[1] if engagement else None,
                view_ad_id=view[0] if view else None,
                view_at=view[1] if view else None,
                computed_at=now,
            )
        )


def people(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i:03d}" for i in range(n)]


def refresh(system: System, *, full: bool = False) -> reports.Refreshed:
    return reports.refresh(system, full=full)

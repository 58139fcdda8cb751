"""The demo's Promoted Pins: three invented advertisers with a campaign each, so `make demo` shows ads in
the home feed (interest targeting), on Pin pages (contextual) and in search (keywords).

Their Pin images are drawn here with Pillow (a colour field, a simple emblem and the product's name)
and go through the same re-encoding and media store as an advertiser's upload."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import Connection

from tastegraph.ads import (
    AdAccount,
    Ceilings,
    accounts,
    ad_groups,
    ad_pins,
    ads,
    campaigns,
    paging,
    tracking_urls,
)
from tastegraph.bootstrap import System
from tastegraph.catalog import media
from tastegraph.demo.advertiser import DEMO_SHOP_NAME, DEMO_SHOP_TAG_ID
from tastegraph.demo.vocabulary import TOPIC_DOMAINS

UNIT = 1_000_000  # micro-units per currency unit


@dataclass(frozen=True)
class DemoAd:
    title: str
    description: str
    path: str  # on the advertiser's site
    colour: tuple[int, int, int]


@dataclass(frozen=True)
class DemoGroup:
    name: str
    billable_event: str  # impression | click
    bid: float  # per 1,000 impressions (CPM) or per click (CPC), in units
    daily_budget: float  # units
    targeting: dict[str, object]
    ads: tuple[DemoAd, ...]
    placement: str = "all"
    frequency_cap: dict[str, int] | None = None


@dataclass(frozen=True)
class DemoAdvertiser:
    name: str
    tag_id: str
    website: str
    campaign: str
    objective: str
    groups: tuple[DemoGroup, ...]


DEMO_ADVERTISERS = (
    DemoAdvertiser(
        DEMO_SHOP_NAME,
        DEMO_SHOP_TAG_ID,
        TOPIC_DOMAINS["outdoors"][0],
        "Autumn on the trail",
        "awareness",
        (
            DemoGroup(
                "Outdoor lovers",
                "impression",
                6.0,
                40.0,
                {"interests": ["outdoors", "travel"]},
                (
                    DemoAd(
                        "Ridgeline 2-person tent",
                        "Pitches in four minutes, 1.9 kg.",
                        "/tents/ridgeline-2",
                        (46, 94, 72),
                    ),
                    DemoAd(
                        "Summit down jacket",
                        "800-fill down for cold mornings.",
                        "/jackets/summit-down",
                        (190, 84, 46),
                    ),
                ),
                frequency_cap={"impressions": 6, "days": 1},
            ),
            DemoGroup(
                "Camping searches",
                "click",
                0.8,
                20.0,
                {"keywords": ["tent", "camping", "hiking", "backpack"]},
                (
                    DemoAd(
                        "Trailhead 45 L backpack",
                        "A pack for weekends away.",
                        "/packs/trailhead-45",
                        (52, 84, 130),
                    ),
                ),
                placement="search",
            ),
        ),
    ),
    DemoAdvertiser(
        "Simmer & Sage",
        "simmersagedemo01",
        TOPIC_DOMAINS["cooking"][0],
        "Cast iron season",
        "consideration",
        (
            DemoGroup(
                "Home cooks",
                "click",
                0.6,
                25.0,
                {"interests": ["cooking"], "keywords": ["skillet", "recipe", "dinner"]},
                (
                    DemoAd(
                        "Seasoned cast-iron skillet",
                        "Made to last a lifetime of dinners.",
                        "/shop/skillet",
                        (122, 60, 44),
                    ),
                ),
            ),
        ),
    ),
    DemoAdvertiser(
        "Linen & Loft",
        "linenloftdemo001",
        TOPIC_DOMAINS["home-decor"][0],
        "Cosy rooms",
        "awareness",
        (
            DemoGroup(
                "Home makers",
                "impression",
                4.0,
                30.0,
                {"interests": ["home-decor"], "expanded": True},
                (
                    DemoAd(
                        "Washed linen throw",
                        "Soft from the first day.",
                        "/throws/washed-linen",
                        (168, 142, 112),
                    ),
                ),
            ),
        ),
    ),
)


def draw_image(ad: DemoAd, size: tuple[int, int] = (600, 800)) -> bytes:
    """A PNG: the ad's colour, a lighter disc and band, and its title."""
    w, h = size
    image = Image.new("RGB", size, ad.colour)
    draw = ImageDraw.Draw(image)
    light = tuple(min(255, c + 70) for c in ad.colour)
    draw.ellipse((w * 0.18, h * 0.12, w * 0.82, h * 0.12 + w * 0.64), fill=light)
    draw.rectangle((0, h * 0.72, w, h), fill=(250, 248, 244))
    font = ImageFont.load_default(size=38)
    draw.multiline_text((36, h * 0.76), _wrap(ad.title, 24), font=font, fill=(34, 34, 34), spacing=8)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _wrap(text: str, width: int) -> str:
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "\n".join(lines)


def _account(conn: Connection, spec: DemoAdvertiser, now: datetime) -> AdAccount:
    existing = accounts.account_for_tag(conn, spec.tag_id)
    if existing is not None:
        return accounts.get_account(conn, existing)
    account, _token = accounts.create_account(conn, spec.name, now, website=spec.website, tag_id=spec.tag_id)
    return account


def ensure_demo_ads(system: System) -> int:
    """Create the demo advertisers' campaigns once (an account that has any campaign is left alone);
    the number of ads made."""
    now = system.clock.now()
    ceilings = Ceilings(system.settings.ad_max_bid_micro, system.settings.ad_max_budget_micro)
    made = 0
    for spec in DEMO_ADVERTISERS:
        with system.write() as conn:
            account = _account(conn, spec, now)
            has_campaigns, _ = campaigns.list_page(conn, account.id, paging.page_request(1, None))
        if has_campaigns:
            continue
        # Images first, outside the transaction (as an upload does); an unused copy is swept later.
        images = {
            ad.title: media.served_url(
                system.media.put(media.reencode(draw_image(ad), formats=frozenset({"PNG"})))
            )
            for group in spec.groups
            for ad in group.ads
        }
        with system.write() as conn:
            campaign = campaigns.create(
                conn, account.id, {"name": spec.campaign, "objective": spec.objective}, ceilings, now
            )
            for group in spec.groups:
                made_group = ad_groups.create(
                    conn,
                    account.id,
                    {
                        "campaign_id": campaign.id,
                        "name": group.name,
                        "billable_event": group.billable_event,
                        "bid_in_micro": round(group.bid * UNIT),
                        "budget_in_micro": round(group.daily_budget * UNIT),
                        "budget_type": "daily",
                        # Standard pacing starts by entering 5 % of auctions until it has seen a minute
                        # of spend: on a demo's handful of requests nobody would meet an ad.
                        "pacing_delivery_type": "accelerated",
                        "placement": group.placement,
                        "frequency_cap": group.frequency_cap,
                        "targeting_spec": group.targeting,
                    },
                    ceilings,
                    now,
                )
                for ad in group.ads:
                    interests = group.targeting.get("interests")
                    topics = [str(t) for t in interests[:1]] if isinstance(interests, list) else []
                    pin = ad_pins.create(
                        conn,
                        account,
                        title=ad.title,
                        description=ad.description,
                        link=f"https://{spec.website}{ad.path}",
                        topics=topics,
                        image_url=images[ad.title],
                        now=now,
                    )
                    ads.create(
                        conn,
                        account,
                        {"ad_group_id": made_group.id, "pin_id": pin.id},
                        now,
                        tracking_urls.Rules(platform_host=""),
                    )
                    made += 1
    return made

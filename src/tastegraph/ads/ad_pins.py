"""The advertisers' own Pins: ordinary catalog Pins (they can be saved and found by search) that an ad
account made and may promote. Their links must lead to the account's website."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import Connection, insert, select

from tastegraph.ads.accounts import AdAccount
from tastegraph.ads.paging import PageRequest, paged, split_page
from tastegraph.ads.tables import ad_pins
from tastegraph.catalog import content
from tastegraph.kernel import InvalidInput, NotFound
from tastegraph.kernel.untrusted_text import text_problem
from tastegraph.kernel.urls import clean_link, domain_of

MAX_TITLE = 100  # Pinterest's own limit for a Pin title
MAX_DESCRIPTION = 800
MAX_TOPICS = 10


class AdPinJson(TypedDict):
    id: int
    ad_account_id: int
    title: str
    description: str
    link: str
    topics: list[str]
    image_url: str
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class AdPin:
    id: int
    ad_account_id: int
    title: str
    description: str
    link: str
    topics: list[str]
    image_url: str
    created_at: datetime
    updated_at: datetime

    def as_dict(self) -> AdPinJson:
        return {
            "id": self.id,
            "ad_account_id": self.ad_account_id,
            "title": self.title,
            "description": self.description,
            "link": self.link,
            "topics": self.topics,
            "image_url": self.image_url,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


def on_website(account: AdAccount, url: str, field: str) -> str:
    """`url` cleaned, if it is on the account's website (the domain or a sub-domain of it)."""
    if account.website_domain is None:
        raise InvalidInput("set the ad account's website first: links must lead there", field=field)
    link = clean_link(url, field=field)
    host = domain_of(link, field=field)
    site = account.website_domain
    if host != site and not host.endswith("." + site):
        raise InvalidInput(f"the link must be on {site}", field=field)
    return link


def _text(value: str, most: int, field: str, required: bool) -> str:
    text = " ".join(value.split()) if field == "title" else value.strip()
    if problem := text_problem(text):
        raise InvalidInput(problem, field=field)
    if required and not text:
        raise InvalidInput("give a title", field=field)
    if len(text) > most:
        raise InvalidInput(f"at most {most} characters", field=field)
    return text


def check_fields(
    conn: Connection, account: AdAccount, title: str, description: str, link: str, topics: Sequence[str]
) -> tuple[str, str, str, list[int]]:
    """The clean title, description, link and topic ids, or the first bad field (before any image work)."""
    clean_title = _text(title, MAX_TITLE, "title", required=True)
    clean_description = _text(description, MAX_DESCRIPTION, "description", required=False)
    clean = on_website(account, link, "link")
    if len(topics) > MAX_TOPICS:
        raise InvalidInput(f"at most {MAX_TOPICS} topics", field="topics")
    known = content.topic_ids(conn, topics)
    topic_ids = []
    for i, slug in enumerate(topics):
        if slug not in known:
            raise InvalidInput("no such topic", field=f"topics[{i}]")
        topic_ids.append(known[slug])
    return clean_title, clean_description, clean, topic_ids


def create(
    conn: Connection,
    account: AdAccount,
    *,
    title: str,
    description: str,
    link: str,
    topics: Sequence[str],
    image_url: str,
    now: datetime,
) -> AdPin:
    clean_title, clean_description, clean, topic_ids = check_fields(
        conn, account, title, description, link, topics
    )
    pin_id = content.create_pin(
        conn,
        title=clean_title,
        description=clean_description,
        link_url=clean,
        image_url=image_url,
        topic_ids=topic_ids,
        now=now,
    )
    conn.execute(
        insert(ad_pins).values(pin_id=pin_id, ad_account_id=account.id, created_at=now, updated_at=now)
    )
    return get(conn, account.id, pin_id)


def _pins(conn: Connection, rows: list[Any]) -> list[AdPin]:
    ids = [int(r.pin_id) for r in rows]
    pins = content.get_pins(conn, ids)
    out = []
    for r in rows:
        pin = pins[int(r.pin_id)]
        out.append(
            AdPin(
                int(r.pin_id),
                int(r.ad_account_id),
                pin["title"],
                pin["description"],
                pin["link"],
                pin["topics"],
                pin["image_url"],
                r.created_at,
                r.updated_at,
            )
        )
    return out


def get(conn: Connection, ad_account_id: int, pin_id: int, field: str = "pin_id") -> AdPin:
    """One of the account's Pins; any other Pin is NotFound, as if it did not exist."""
    row = conn.execute(
        select(ad_pins).where(ad_pins.c.pin_id == pin_id, ad_pins.c.ad_account_id == ad_account_id)
    ).first()
    if row is None:
        raise NotFound("no such Pin among this ad account's Pins", field=field)
    return _pins(conn, [row])[0]


def list_page(conn: Connection, ad_account_id: int, page: PageRequest) -> tuple[list[AdPin], str | None]:
    query = select(ad_pins).where(ad_pins.c.ad_account_id == ad_account_id)
    rows = list(conn.execute(paged(query, ad_pins.c.pin_id, page)))
    kept, bookmark = split_page(rows, page, lambda r: r.pin_id)
    return _pins(conn, kept), bookmark

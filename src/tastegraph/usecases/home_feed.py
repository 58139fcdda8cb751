"""The home feed, one Pin, "why am I seeing this", saving and other engagement, my boards.

The feed's reads run in one transaction with the caller's lookup (a hot path: every page view). Off-site
data is read only under the consent decision for this request (`callers.offsite_permit`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection

from tastegraph.bootstrap import System
from tastegraph.catalog import content
from tastegraph.catalog.content import Board, Pin
from tastegraph.collect import EngagementIn, EngagementOutcome, Kind, engagement
from tastegraph.consent import Decision, Reason
from tastegraph.recommend import MAX_LIMIT, FeedItem, ReasonJson, ToneDown
from tastegraph.recommend import home_feed_shaped as rank_home_feed
from tastegraph.recommend import why as explain
from tastegraph.usecases.callers import Caller, Visitor, offsite_permit, read_with
from tastegraph.usecases.promoted_pins import AdItem, PromotedJson, page_ads

__all__ = [
    "MAX_LIMIT",
    "Board",
    "EngagementIn",
    "EngagementOutcome",
    "FeedPage",
    "Kind",
    "Pin",
    "PinPage",
    "PinWithReasons",
    "ReasonJson",
    "feed",
    "my_boards",
    "pin",
    "pin_with_reasons",
    "record",
    "why",
]


@dataclass(frozen=True)
class PinWithReasons:
    pin_id: int
    reasons: list[ReasonJson]  # as docs/api.md gives them; for an ad, why this ad
    pin: Pin
    # A Promoted Pin: {ad_id, ad_account_id, advertiser_name, token} (usecases.promoted_pins).
    promoted: PromotedJson | None = None


def with_ads(items: list[PinWithReasons], ads: list[AdItem]) -> list[PinWithReasons]:
    """The organic items with the page's Promoted Pins at their positions."""
    merged = list(items)
    for ad in ads:
        merged.insert(ad.position - 1, PinWithReasons(ad.pin["id"], ad.reasons, ad.pin, ad.promoted))
    return merged


@dataclass(frozen=True)
class FeedPage:
    items: list[PinWithReasons]
    offsite_data_used: bool
    offsite_data_note: str | None  # why off-site data was not used, when something was withheld
    # Feed controls: sites and topics the viewer's hides and removed topics show less of.
    toned_down: list[ToneDown] = field(default_factory=list)


def with_pins(conn: Connection, items: Sequence[FeedItem]) -> list[PinWithReasons]:
    """The items with their Pins; a Pin deleted since its source ranked it (e.g. a cached popular list)
    is left out."""
    pins = content.get_pins(conn, [i.pin_id for i in items])
    return [PinWithReasons(i.pin_id, i.reasons, pins[i.pin_id]) for i in items if i.pin_id in pins]


def feed(system: System, who: Caller | Visitor, limit: int) -> FeedPage:
    """Up to `limit` Pins for this caller, each with every reason it earned."""

    def work(conn: Connection, caller: Caller) -> FeedPage:
        now = system.clock.now()
        permit = offsite_permit(system, conn, caller)
        shaped = rank_home_feed(
            conn, caller.user_id, permit, limit, now=now, model=system.models.current(now)
        )
        organic = with_pins(conn, shaped.items)
        ads = page_ads(system, conn, caller, "browse", [i.pin_id for i in organic], permit=permit)
        return FeedPage(
            with_ads(organic, ads),
            permit.allowed,
            # A browser we have never seen has nothing withheld, so it gets no note.
            None if permit.allowed or permit.reason is Reason.NO_SUBJECT else permit.explain(),
            shaped.toned_down,
        )

    return read_with(system, who, work)


def pin(system: System, pin_id: int) -> Pin:
    """One Pin (NotFound for an unknown one)."""
    with system.read() as conn:
        return content.get_pin(conn, pin_id)


def reasons_for(
    system: System, conn: Connection, caller: Caller, permit: Decision, pin_id: int
) -> list[ReasonJson]:
    now = system.clock.now()
    return explain(conn, caller.user_id, permit, pin_id, now=now, model=system.models.current(now))


def why(system: System, caller: Caller, pin_id: int) -> list[ReasonJson]:
    """Every reason the feed has for `pin_id` now (NotFound for an unknown Pin)."""
    with system.read() as conn:
        content.get_pin(conn, pin_id)
        return reasons_for(system, conn, caller, offsite_permit(system, conn, caller), pin_id)


@dataclass(frozen=True)
class PinPage:
    pin: Pin
    reasons: list[ReasonJson]
    topic_names: dict[str, str]  # the Pin's topics: slug -> name in the catalogue


def pin_with_reasons(system: System, caller: Caller, pin_id: int) -> PinPage:
    """One Pin and why the feed would show it, read together."""
    with system.read() as conn:
        found = content.get_pin(conn, pin_id)
        reasons = reasons_for(system, conn, caller, offsite_permit(system, conn, caller), pin_id)
        topics = content.topics_by_slug(conn)
        names = {t: topics[t][1] for t in found["topics"] if t in topics}
    return PinPage(found, reasons, names)


def record(system: System, user_id: int, events: list[EngagementIn]) -> list[EngagementOutcome]:
    """Saves, clicks, close-ups, hides, follows and searches by the signed-in person (idempotent by
    event id); each event's outcome."""
    with system.write() as conn:
        return engagement.record_engagement(conn, user_id, events, system.clock.now())


def my_boards(system: System, user_id: int) -> list[Board]:
    with system.read() as conn:
        return content.boards_of(conn, user_id)

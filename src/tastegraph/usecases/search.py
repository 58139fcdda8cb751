"""Search by words: Pins matching a query, ranked by text match, saves and (when consent allows) the
searcher's interests, every result with what matched and why it ranks where it does; Promoted Pins
at the configured slots, targeted by the search's words (always) and what else consent allows.

The consent decision `personalize_search` (the Personalization setting, DNT, GPC, the signed-out
opt-out cookie) decides both whether the searcher's topics may rank results and whether the search is
kept as engagement (kind "search": shown in the feed tuner, exported and erased with the rest; queued
and written in batches, collect.search_history). A
signed-out or opted-out searcher gets the same ranking as everyone, and nothing is kept."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from tastegraph.bootstrap import System
from tastegraph.catalog.content import Pin
from tastegraph.catalog.search import MAX_QUERY_CHARS, MAX_TERMS, parse_query
from tastegraph.consent import Decision, Purpose, Reason
from tastegraph.recommend import ReasonJson
from tastegraph.recommend import search as rank
from tastegraph.usecases.callers import Caller, Visitor, read_with
from tastegraph.usecases.promoted_pins import AdItem, PromotedJson, page_ads

MAX_LIMIT = rank.MAX_LIMIT

__all__ = ["MAX_LIMIT", "MAX_QUERY_CHARS", "MAX_TERMS", "SearchItem", "SearchPage", "search"]


@dataclass(frozen=True)
class SearchItem:
    pin_id: int
    pin: Pin
    matches: list[rank.MatchJson]  # which fields matched, with the words (docs/api.md)
    reasons: list[ReasonJson]  # what moved it: saves, the searcher's topics; for an ad, why this ad
    # A Promoted Pin: {ad_id, ad_account_id, advertiser_name, token} (usecases.promoted_pins).
    promoted: PromotedJson | None = None


def with_ads(items: list[SearchItem], ads: list[AdItem]) -> list[SearchItem]:
    """The results with the page's Promoted Pins at their positions (an ad matched no words of its own)."""
    merged = list(items)
    for ad in ads:
        merged.insert(ad.position - 1, SearchItem(ad.pin["id"], ad.pin, [], ad.reasons, ad.promoted))
    return merged


@dataclass(frozen=True)
class SearchPage:
    query: str
    terms: list[str]
    items: list[SearchItem]
    personalized: bool
    personalization_note: str | None  # why results were not personalized (signed in, refused)
    recorded: bool  # kept as the signed-in person's engagement


def search(system: System, who: Caller | Visitor, q: str | None, limit: int) -> SearchPage:
    """Up to `limit` Pins for `q` (InvalidInput, nothing read or written, for an empty, over-long or
    wordless query)."""
    query = parse_query(q)

    def work(
        conn: Connection, caller: Caller
    ) -> tuple[Caller, Decision, list[rank.SearchResult], list[AdItem]]:
        decision = system.consent.decide(
            conn,
            Purpose.PERSONALIZE_SEARCH,
            caller.user_id,
            caller.browser_id,
            caller.signals,
            system.clock.now(),
        )
        personal = decision.allowed and caller.user_id is not None
        results = rank.search(conn, query, caller.user_id, personal, limit)
        ads = page_ads(system, conn, caller, "search", [r.pin_id for r in results], query=query.text)
        return caller, decision, results, ads

    caller, decision, results, ads = read_with(system, who, work)
    recorded = caller.user_id is not None and decision.allowed
    if recorded and caller.user_id is not None:  # written within a second, off the request path
        system.search_history.add(caller.user_id, query.text, system.clock.now())
    refused = not decision.allowed and decision.reason is not Reason.NO_SUBJECT
    note = None
    if refused and caller.user_id is not None:
        why = (
            "Personalization is off in your settings."
            if decision.reason is Reason.PERSONALIZATION_OFF
            else decision.explain()
        )
        note = f"{why} Results are ranked the same as for everyone, and this search was not kept."
    return SearchPage(
        query.text,
        list(query.terms),
        with_ads([SearchItem(r.pin_id, r.pin, r.matches_json, r.reasons) for r in results], ads),
        personalized=caller.user_id is not None and decision.allowed,
        personalization_note=note,
        recorded=recorded,
    )

"""Which of an ad group's targeting a request matches, through which signal — and only through
signals the consent decisions for this request allowed.

`allowed_signals` is the one place that drops what consent refused: audiences (advertiser data) only
when the person's "use info from advertisers" decision allows it; interests learned from off-site visits
only when the Personalization decision for this request allows them (DNT, GPC, the signed-out opt-out);
on-site interests for a signed-in person, the search's words and the Pin being looked at always.
Signed-out browsers get contextual signals only. `match` then sees nothing else, so an ad can never be
chosen, nor explained, through a refused signal.

The rules of a targeting spec (docs/api.md): each part that is given narrows. `audience_include`: the
person is in one of them. `interests` and `keywords` together: one interest is among the person's
interests or the topic of the Pin being looked at, or one keyword is in the search. Nothing given: broad.
`expanded`: when the parts do not all match, the ad group may still serve (reason `ad_broad`, with
any part that did match), except to
someone in an `audience_exclude` audience (when advertiser data may be used for them).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from tastegraph.ads.why_this_ad import (
    AdActalike,
    AdBroad,
    AdContextual,
    AdCustomerList,
    AdEngaged,
    AdInterest,
    AdInterestFromVisit,
    AdKeyword,
    AdReason,
    AdVisitedSite,
)

PLACEMENTS_OF = {"browse": ("all", "browse"), "search": ("all", "search")}


@dataclass(frozen=True)
class OnSiteInterest:
    topic: str
    topic_name: str
    engagements: int


@dataclass(frozen=True)
class OffSiteInterest:
    topic: str
    topic_name: str
    site: str
    visited_at: datetime


@dataclass(frozen=True)
class Membership:
    audience_id: int
    ad_account_id: int
    advertiser: str
    kind: str  # visitor | engagement | customer_list | actalike
    last_event_at: datetime | None = None  # visitor audiences: the advertiser's last event about them


@dataclass(frozen=True)
class AdSignals:
    """What may target one request. Build it with `allowed_signals`, never by hand in serving code."""

    placement: str  # browse (home feed, related Pins) | search
    query: str | None = None  # the search, as typed (trimmed)
    viewed_pin: int | None = None
    viewed_topics: Mapping[str, str] = field(default_factory=dict)  # slug -> name
    onsite: Mapping[str, OnSiteInterest] = field(default_factory=dict)
    offsite: Mapping[str, OffSiteInterest] = field(default_factory=dict)
    audiences: Mapping[int, Membership] = field(default_factory=dict)
    blocked_ad_accounts: frozenset[int] = frozenset()  # advertisers the person turned off

    @cached_property
    def normalized_query(self) -> str | None:
        return normalize(self.query) if self.query else None

    @cached_property
    def query_words(self) -> frozenset[str]:
        # Cached: serving asks once per reachable ad group, and normalizing is the costly part.
        return frozenset(self.normalized_query.split()) if self.normalized_query else frozenset()


def normalize(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def allowed_signals(
    *,
    placement: str,
    signed_in: bool,
    offsite_allowed: bool,
    advertiser_data_allowed: bool,
    query: str | None = None,
    viewed_pin: int | None = None,
    viewed_topics: Mapping[str, str] | None = None,
    onsite: Mapping[str, OnSiteInterest] | None = None,
    offsite: Mapping[str, OffSiteInterest] | None = None,
    audiences: Mapping[int, Membership] | None = None,
    blocked_ad_accounts: frozenset[int] = frozenset(),
) -> AdSignals:
    """The request's signals with every refused one dropped (see the module docstring)."""
    if placement not in PLACEMENTS_OF:
        raise ValueError(f"unknown placement {placement!r}")
    personal = signed_in
    return AdSignals(
        placement=placement,
        query=query.strip() if query else None,
        viewed_pin=viewed_pin,
        viewed_topics=dict(viewed_topics or {}),
        onsite=dict(onsite or {}) if personal else {},
        offsite=dict(offsite or {}) if personal and offsite_allowed else {},
        audiences={a: m for a, m in (audiences or {}).items() if m.ad_account_id not in blocked_ad_accounts}
        if personal and advertiser_data_allowed
        else {},
        blocked_ad_accounts=blocked_ad_accounts,
    )


@dataclass(frozen=True)
class Targeting:
    """An ad group's targeting as serving keeps it (ads.serving_index)."""

    ad_account_id: int
    advertiser: str
    placement: str  # all | browse | search
    interests: frozenset[str] = frozenset()
    keywords: tuple[str, ...] = ()  # normalized
    audience_include: frozenset[int] = frozenset()
    audience_exclude: frozenset[int] = frozenset()
    expanded: bool = False

    @property
    def broad(self) -> bool:
        return not (self.interests or self.keywords or self.audience_include)


def _audience_reason(m: Membership) -> AdReason:
    if m.kind == "visitor":
        return AdVisitedSite(m.advertiser, m.audience_id, m.last_event_at)
    if m.kind == "customer_list":
        return AdCustomerList(m.advertiser, m.audience_id)
    if m.kind == "engagement":
        return AdEngaged(m.advertiser, m.audience_id)
    return AdActalike(m.advertiser, m.audience_id)


def _keyword_hits(t: Targeting, s: AdSignals) -> list[AdReason]:
    if not s.query or not t.keywords:
        return []
    asked, words = s.normalized_query, s.query_words
    return [AdKeyword(s.query, k) for k in t.keywords if k == asked or set(k.split()) <= words]


def _interest_hits(t: Targeting, s: AdSignals) -> list[AdReason]:
    hits: list[AdReason] = []
    for topic in sorted(t.interests):
        if topic in s.viewed_topics and s.viewed_pin is not None:
            hits.append(AdContextual(s.viewed_pin, topic, s.viewed_topics[topic]))
        elif topic in s.onsite:
            i = s.onsite[topic]
            hits.append(AdInterest(topic, i.topic_name, i.engagements))
        elif topic in s.offsite:
            o = s.offsite[topic]
            hits.append(AdInterestFromVisit(topic, o.topic_name, o.site, o.visited_at))
    return hits


def match(t: Targeting, s: AdSignals) -> list[AdReason] | None:
    """The reasons this request matches the targeting (each from the signal that matched), or None."""
    if t.placement not in PLACEMENTS_OF[s.placement] or t.ad_account_id in s.blocked_ad_accounts:
        return None
    if t.audience_exclude.intersection(s.audiences):
        return None
    if t.broad:
        return [AdBroad(t.advertiser)]
    reasons: list[AdReason] = []
    parts_met = True
    if t.audience_include:
        found = [s.audiences[a] for a in sorted(t.audience_include.intersection(s.audiences))]
        reasons += [_audience_reason(m) for m in found]
        parts_met = bool(found)
    if t.interests or t.keywords:
        hits = _interest_hits(t, s) + _keyword_hits(t, s)
        reasons += hits
        parts_met = parts_met and bool(hits)
    if parts_met:
        return reasons
    if t.expanded:  # what did match still says so; the rest is the advertiser's broad reach
        return [*reasons, AdBroad(t.advertiser)]
    return None


def matches(t: Targeting, s: AdSignals) -> bool:
    """Whether ``match(t, s)`` would match, without building its reasons: the same rules, as set tests.
    Serving filters every reachable ad group with this and asks ``match`` for the reasons of the few
    it shows (tests/unit/test_ad_targeting.py checks the two agree)."""
    if t.placement not in PLACEMENTS_OF[s.placement] or t.ad_account_id in s.blocked_ad_accounts:
        return False
    if t.audience_exclude and not t.audience_exclude.isdisjoint(s.audiences):
        return False
    if t.expanded or t.broad:
        return True
    if t.audience_include and t.audience_include.isdisjoint(s.audiences):
        return False
    if t.interests or t.keywords:
        return (
            (not t.interests.isdisjoint(s.onsite))
            or (not t.interests.isdisjoint(s.offsite))
            or (s.viewed_pin is not None and not t.interests.isdisjoint(s.viewed_topics))
            or (
                bool(s.query)
                and any(k == s.normalized_query or set(k.split()) <= s.query_words for k in t.keywords)
            )
        )
    return True

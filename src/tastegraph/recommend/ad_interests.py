"""A person's interests as Promoted Pins may use them: topics from what they saved, clicked and looked
at closely here (on-site), and topics of the sites with the save button they visited (off-site, read
only under the consent decision for this request). The same profile the home feed uses, so an ad's
"your interest" reason can never claim an interest the feed would not."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection

from tastegraph.collect import visits as visit_store
from tastegraph.consent import Decision
from tastegraph.recommend.sources import Profile, domain_topics, load_profile, viewer_topics

TOPICS = 10


@dataclass(frozen=True)
class OnSite:
    topic: str
    name: str
    engagements: int


@dataclass(frozen=True)
class OffSite:
    topic: str
    name: str
    site: str
    visited_at: datetime  # the latest usable visit


@dataclass(frozen=True)
class AdInterests:
    onsite: dict[str, OnSite] = field(default_factory=dict)
    offsite: dict[str, OffSite] = field(default_factory=dict)
    # Each on-site topic's share of the person's engagements (the pCTR model's affinity feature).
    affinity: dict[str, float] = field(default_factory=dict)


def _onsite(conn: Connection, profile: Profile) -> dict[str, OnSite]:
    return {slug: OnSite(slug, name, n) for _, slug, name, n in viewer_topics(conn, profile, TOPICS)}


def _shares(onsite: dict[str, OnSite]) -> dict[str, float]:
    total = sum(i.engagements for i in onsite.values())
    return {t: i.engagements / total for t, i in onsite.items()} if total else {}


def topic_affinity(conn: Connection, user_id: int) -> dict[str, float]:
    """The person's topic affinities as `ad_interests` gives them (`AdInterests.affinity`): shares of
    their on-site saves, clicks and close-ups, without their removed topics. Reads nothing off-site (no
    consent decision is needed for it, exactly as serving uses it for any signed-in person); for
    training the pCTR model (ads.ctr_training)."""
    return _shares(_onsite(conn, load_profile(conn, user_id, [])))


def ad_interests(conn: Connection, user_id: int | None, offsite_permit: Decision) -> AdInterests:
    if user_id is None:
        return AdInterests()
    visits = visit_store.usable_visits(conn, offsite_permit) if offsite_permit.allowed else []
    profile = load_profile(conn, user_id, visits)
    onsite = _onsite(conn, profile)
    offsite: dict[str, OffSite] = {}
    latest: dict[str, datetime] = {}
    for v in visits:
        if v.domain not in latest or v.visited_at > latest[v.domain]:
            latest[v.domain] = v.visited_at
    for domain, at in sorted(latest.items(), key=lambda kv: kv[1], reverse=True):
        for _, slug, name, _n in domain_topics(conn, domain):
            if slug not in profile.removed_topics and slug not in offsite:
                offsite[slug] = OffSite(slug, name, domain, at)
    return AdInterests(onsite, offsite, _shares(onsite))

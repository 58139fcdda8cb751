"""The viewer's profile: what the sources need to know about the viewer, read once per request (saves,
hides, clicks and close-ups, top topics, the titles of Pins the reasons name)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection

from tastegraph.catalog import content, feed_controls, graph_reads
from tastegraph.collect import Visit, engagement_reads
from tastegraph.recommend.sources._lists import TopicCount, top_topics

SAVED_DEPTH = 500  # the newest saves the sources look at
RECENT_SAVES = 40  # of which the newest, with when they were saved (TASTE_SAVES and the co-save seeds)
# How many of the newest saves the trained model sees per request (recommend.sources similar_taste);
# their titles are read with the first titles a request needs.
TASTE_SAVES = 40


@dataclass
class Profile:
    """What we know about the viewer that the sources need, read once per request."""

    user_id: int | None
    saved_ids: list[int] = field(default_factory=list)  # the newest SAVED_DEPTH saves, newest first
    # (pin, saved_at) of the newest RECENT_SAVES of them: what reasons name (with when) and the model sees.
    saved: list[tuple[int, datetime]] = field(default_factory=list)
    # Every Pin the viewer saved or hid: never recommended again.
    excluded: set[int] = field(default_factory=set)
    visits: list[Visit] = field(default_factory=list)
    # Feed controls: the hidden Pins with the reason given (None: none), and the topics (slugs) the
    # viewer removed from their feed, which no source may use as an interest (recommend.shaping).
    hides: dict[int, str | None] = field(default_factory=dict)
    removed_topics: frozenset[str] = frozenset()
    _engaged: list[int] | None = None
    _topics: list[TopicCount] | None = None
    _titles: dict[int, str] = field(default_factory=dict)


def load_profile(conn: Connection, user_id: int | None, visits: list[Visit]) -> Profile:
    profile = Profile(user_id=user_id, visits=visits)
    if user_id is None:
        return profile
    # Every save is excluded; the newest SAVED_DEPTH feed the sources.
    saved = graph_reads.saved_newest_first(conn, user_id)
    profile.saved_ids = saved[:SAVED_DEPTH]
    if saved:
        profile.saved = graph_reads.recent_saves(conn, user_id, RECENT_SAVES)
    profile.hides = feed_controls.hides_with_reasons(conn, user_id)
    profile.removed_topics = feed_controls.excluded_topics(conn, user_id)
    profile.excluded = set(saved) | profile.hides.keys()
    return profile


def excluded_pins(conn: Connection, user_id: int | None) -> set[int]:
    """Every Pin the person saved (not only the newest 500 the sources look at) or hid."""
    if user_id is None:
        return set()
    return graph_reads.saved_pins(conn, user_id) | graph_reads.hidden_pins(conn, user_id)


def excluded_key(profile: Profile) -> tuple[int, ...]:
    """The viewer's saved and hidden Pins as part of a memo key."""
    return tuple(sorted(profile.excluded))


def engaged_pins(conn: Connection, profile: Profile, limit: int = 100) -> list[int]:
    """Pins the viewer clicked or looked at closely, newest first (with repeats, for counting)."""
    if profile.user_id is None:
        return []
    if profile._engaged is None:
        profile._engaged = engagement_reads.recent_clicks_and_closeups(conn, profile.user_id, limit)
    return profile._engaged


def viewer_topics(conn: Connection, profile: Profile, k: int = 3) -> list[TopicCount]:
    """The viewer's top topics by what they saved, clicked and looked at closely:
    (topic id, slug, name, engagements)."""
    if profile.user_id is None:
        return []
    if profile._topics is None:
        engaged = profile.saved_ids[:100] + engaged_pins(conn, profile)
        # A topic the viewer removed (feed controls) never counts as an interest.
        removed = profile.removed_topics
        found = top_topics(conn, engaged, k + len(removed))
        profile._topics = [t for t in found if t[1] not in removed][:k]
    return profile._topics


def in_removed_topic(conn: Connection, profile: Profile, pin_ids: Iterable[int]) -> set[int]:
    """Which of the Pins are in a topic the viewer removed from their feed (feed controls)."""
    if not profile.removed_topics:
        return set()
    facts = content.pin_facts(conn, set(pin_ids))
    return {p for p, f in facts.items() if profile.removed_topics.intersection(f["topics"])}


def pin_titles(conn: Connection, profile: Profile, pin_ids: Iterable[int]) -> dict[int, str]:
    """Titles of Pins the reasons name, read once per request: the first read also takes the titles of
    the viewer's recent saves, which the other sources name too."""
    wanted = set(pin_ids)
    missing = wanted - profile._titles.keys()
    if missing:
        missing |= {p for p, _ in profile.saved[:TASTE_SAVES]} - profile._titles.keys()
        facts = content.pin_facts(conn, missing)
        profile._titles.update({p: str(facts[p]["title"]) if p in facts else "" for p in missing})
    return {p: profile._titles[p] for p in wanted}

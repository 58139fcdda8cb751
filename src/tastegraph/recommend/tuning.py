"""What shapes a person's home feed, as "Tune your home feed" shows it: the topics the sources use as
the viewer's interests (from what they saved, clicked and looked at closely, and the topics of the sites
they visited), and what their hides and removed topics tone down. Read from the same profile the feed
is built from, so the page can never claim more (or less) than the feed uses."""

from __future__ import annotations

from typing import TypedDict

from sqlalchemy import Connection

from tastegraph.collect import visits as visit_store
from tastegraph.consent import Decision
from tastegraph.recommend.shaping import ToneDown, shaping
from tastegraph.recommend.sources import domain_topics, load_profile, viewer_topics

TOPICS_SHOWN = 8


class TopicSignal(TypedDict):
    """A topic that shapes the feed (JSON as docs/api.md gives it)."""

    topic: str  # slug
    name: str
    engagements: int  # the viewer's saves, clicks and close-ups of its Pins that the sources count
    sites: list[str]  # visited sites whose Pins are mostly in it (off-site data, when allowed)
    hides: int  # strikes from the viewer's hides of its Pins (recommend.shaping)


class Tuning(TypedDict):
    topics: list[TopicSignal]
    toned_down: list[ToneDown]


def feed_tuning(conn: Connection, user_id: int, offsite_permit: Decision) -> Tuning:
    visits = visit_store.usable_visits(conn, offsite_permit)
    profile = load_profile(conn, user_id, visits)
    shape = shaping(conn, profile)
    found: dict[str, TopicSignal] = {}
    for _, slug, name, n in viewer_topics(conn, profile, TOPICS_SHOWN):
        found[slug] = {
            "topic": slug,
            "name": name,
            "engagements": n,
            "sites": [],
            "hides": shape.topics[slug],
        }
    for domain in dict.fromkeys(v.domain for v in visits):
        for _, slug, name, _n in domain_topics(conn, domain):
            if slug in profile.removed_topics:
                continue
            entry = found.setdefault(
                slug,
                {"topic": slug, "name": name, "engagements": 0, "sites": [], "hides": shape.topics[slug]},
            )
            entry["sites"].append(domain)
    return {"topics": list(found.values()), "toned_down": shape.toned_down()}

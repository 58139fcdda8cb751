"""Topic interests: popular Pins in the topics of what the viewer saved, clicked and looked at closely."""

from __future__ import annotations

import functools

from sqlalchemy import Connection

from tastegraph.recommend.reasons import TopicInterest
from tastegraph.recommend.sources._base import Candidate, FeedSource
from tastegraph.recommend.sources._lists import popular_in_topic, unseen
from tastegraph.recommend.sources._profile import Profile, viewer_topics


def topic_interests(conn: Connection, profile: Profile, limit: int) -> list[Candidate]:
    """Popular Pins in the topics of what the viewer saved, clicked and looked at closely."""
    top = viewer_topics(conn, profile)
    out: list[Candidate] = []
    per_topic = max(1, limit // max(1, len(top)))
    for topic_id, slug, name, n in top:
        reason = TopicInterest(slug, name, n)
        ranked = unseen(functools.partial(popular_in_topic, conn, topic_id), per_topic, profile.excluded)
        out.extend(Candidate(pin_id, reason) for pin_id in ranked)
    return out


SOURCE = FeedSource("topic_interest", 2, lambda conn, profile, ask: topic_interests(conn, profile, ask.limit))

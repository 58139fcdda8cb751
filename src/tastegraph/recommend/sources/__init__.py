"""Candidate sources for the home feed, one module each behind the `Source` protocol, and the viewer's
profile they read. Each source returns ranked candidates, each with the reason that put it there,
derived from the very rows that produced it (recommend.reasons); recommend.feed blends them.

Only what this module names is for use elsewhere (recommend.feed, related, follow; tests).
"""

from tastegraph.recommend.sources import (
    _follows,
    _new_in_topic,
    _offsite,
    _popular,
    _saved_alongside,
    _similar_taste,
    _topic_interests,
)
from tastegraph.recommend.sources._base import Ask, Candidate, Source
from tastegraph.recommend.sources._follows import followed_boards, followed_people
from tastegraph.recommend.sources._lists import domain_topics, popular_from_domain, popular_in_topic
from tastegraph.recommend.sources._new_in_topic import new_in_topic, new_pins_in_topic
from tastegraph.recommend.sources._offsite import offsite
from tastegraph.recommend.sources._popular import popular
from tastegraph.recommend.sources._profile import (
    Profile,
    engaged_pins,
    excluded_pins,
    load_profile,
    pin_titles,
    viewer_topics,
)
from tastegraph.recommend.sources._saved_alongside import saved_alongside
from tastegraph.recommend.sources._similar_taste import similar_taste
from tastegraph.recommend.sources._topic_interests import topic_interests

# Every home-feed source, in blending order (recommend.feed).
FEED_SOURCES: tuple[Source, ...] = (
    _offsite.SOURCE,
    _similar_taste.SOURCE,
    _saved_alongside.SOURCE,
    _follows.BOARDS_SOURCE,
    _follows.PEOPLE_SOURCE,
    _topic_interests.SOURCE,
    _new_in_topic.SOURCE,
    _popular.SOURCE,
)

__all__ = [
    "FEED_SOURCES",
    "Ask",
    "Candidate",
    "Profile",
    "Source",
    "domain_topics",
    "engaged_pins",
    "excluded_pins",
    "followed_boards",
    "followed_people",
    "load_profile",
    "new_in_topic",
    "new_pins_in_topic",
    "offsite",
    "pin_titles",
    "popular",
    "popular_from_domain",
    "popular_in_topic",
    "saved_alongside",
    "similar_taste",
    "topic_interests",
    "viewer_topics",
]

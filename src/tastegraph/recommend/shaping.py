"""Feed controls in the ranking: hides ("See fewer like this") and removed topics push Pins of the same
site or topic down the home feed.

Each hide gives its Pin's site and each of its topics strikes by its reason: none given or "not
interested" 1, "offensive" 2, "seen it" 0 (the person has seen that Pin, which says nothing against its
kind; the Pin itself is still never shown again). A Pin's strikes are the most of its site's and its
topics' strikes, plus REMOVED_TOPIC_STRIKES when it is in a topic the person removed in "Tune your home
feed". After blending, every Pin's place is multiplied by DEMOTION per strike (at most MAX_STRIKES)
and the feed re-sorted: one hide moves that site's and topic's Pins from place n to 2n, three hides
to 8n. The strikes are derived from the same rows that make them (the hides and removals), and
`toned_down` names them for the pages and the tuner.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, TypedDict

from sqlalchemy import Connection

from tastegraph.catalog import content
from tastegraph.recommend.sources import Profile

HIDE_STRIKES: dict[str | None, int] = {None: 1, "not_interested": 1, "offensive": 2, "seen_it": 0}
REMOVED_TOPIC_STRIKES = 3
DEMOTION = 2.0
MAX_STRIKES = 8


class ToneDown(TypedDict):
    """A site or topic the feed shows less of, and why (JSON as docs/api.md gives it)."""

    kind: Literal["site", "topic"]
    value: str  # the domain or the topic's slug
    hides: int  # the person's hides of its Pins that count (strikes, by reason)
    removed: bool  # a topic the person removed from their feed
    factor: float  # its Pins' places are multiplied by this


@dataclass(frozen=True)
class Shaping:
    """What the viewer's hides and removed topics do to the ranking."""

    sites: Counter[str] = field(default_factory=Counter)  # domain -> strikes
    topics: Counter[str] = field(default_factory=Counter)  # slug -> strikes
    removed_topics: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(+self.sites or +self.topics or self.removed_topics)

    def strikes(self, domain: str, topics: Sequence[str]) -> int:
        n = max([self.sites[domain], *(self.topics[t] for t in topics)])
        if self.removed_topics.intersection(topics):
            n += REMOVED_TOPIC_STRIKES
        return min(n, MAX_STRIKES)

    def toned_down(self) -> list[ToneDown]:
        out: list[ToneDown] = []
        for domain, n in sorted(self.sites.items(), key=lambda kv: (-kv[1], kv[0])):
            if n > 0:
                out.append(
                    {"kind": "site", "value": domain, "hides": n, "removed": False, "factor": _factor(n)}
                )
        slugs = {t for t, n in self.topics.items() if n > 0} | self.removed_topics
        for slug in sorted(slugs, key=lambda t: (-self.topics[t], t)):
            removed = slug in self.removed_topics
            n = min(self.topics[slug] + (REMOVED_TOPIC_STRIKES if removed else 0), MAX_STRIKES)
            out.append(
                {
                    "kind": "topic",
                    "value": slug,
                    "hides": self.topics[slug],
                    "removed": removed,
                    "factor": _factor(n),
                }
            )
        return out


def _factor(strikes: int) -> float:
    return float(DEMOTION ** min(strikes, MAX_STRIKES))


def shaping(conn: Connection, profile: Profile) -> Shaping:
    """The viewer's strikes per site and topic, from their hides (with reasons) and removed topics."""
    if not profile.hides and not profile.removed_topics:
        return Shaping()
    facts = content.pin_facts(conn, profile.hides.keys())
    sites: Counter[str] = Counter()
    topics: Counter[str] = Counter()
    for pin_id, reason in profile.hides.items():
        f = facts.get(pin_id)
        weight = HIDE_STRIKES.get(reason, 1)
        if f is None or weight == 0:
            continue
        sites[f["domain"]] += weight
        for t in f["topics"]:
            topics[t] += weight
    return Shaping(sites, topics, profile.removed_topics)


def demote(conn: Connection, shape: Shaping, ranked: list[int]) -> list[int]:
    """`ranked` re-sorted by place x DEMOTION ** strikes (stable: Pins without strikes keep their order)."""
    if not shape:
        return ranked
    facts = content.pin_facts(conn, ranked)

    def place(item: tuple[int, int]) -> tuple[float, int]:
        i, pin_id = item
        f = facts.get(pin_id)
        n = 0 if f is None else shape.strikes(f["domain"], f["topics"])
        return ((i + 1) * _factor(n), i)

    return [p for _, p in sorted(enumerate(ranked), key=place)]

"""Off-site visits: Pins linking to sites the viewer visited, then popular Pins in those sites' topics
("other stuff people have added from those websites"). Visits come only through the request's consent
decision (`Profile.visits`)."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Connection

from tastegraph.collect import Visit
from tastegraph.recommend.reasons import OffsiteVisit
from tastegraph.recommend.sources._base import Candidate, FeedSource
from tastegraph.recommend.sources._lists import domain_topics, popular_from_domain, popular_in_topic
from tastegraph.recommend.sources._profile import Profile


def offsite(conn: Connection, profile: Profile, limit: int, max_domains: int = 5) -> list[Candidate]:
    """Pins linking to sites the viewer visited, then popular Pins in those sites' topics."""
    if not profile.visits:
        return []
    latest: dict[str, Visit] = {}
    visits_per_domain: Counter[str] = Counter()
    for v in profile.visits:  # newest first
        latest.setdefault(v.domain, v)
        visits_per_domain[v.domain] += 1
    domains = sorted(latest, key=lambda d: (-visits_per_domain[d], -latest[d].visited_at.timestamp(), d))
    domains = domains[:max_domains]
    per_domain = max(2, limit // len(domains))
    out: list[Candidate] = []
    for d in domains:
        at, n = latest[d].visited_at, visits_per_domain[d]
        from_site = OffsiteVisit(d, at, n, "pins_from_site")
        out.extend(Candidate(p, from_site) for p in popular_from_domain(conn, d, per_domain))
        for topic_id, slug, name, _ in domain_topics(conn, d):
            if slug in profile.removed_topics:  # feed controls: a removed topic stops counting
                continue
            in_topic = OffsiteVisit(d, at, n, "site_topic", slug, name)
            out.extend(Candidate(p, in_topic) for p in popular_in_topic(conn, topic_id, per_domain))
    return out


SOURCE = FeedSource("offsite_visit", 4, lambda conn, profile, ask: offsite(conn, profile, ask.limit))

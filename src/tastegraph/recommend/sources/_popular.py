"""Popular: the most saved Pins of all, filling what the other sources leave."""

from __future__ import annotations

import functools

from sqlalchemy import Connection

from tastegraph.recommend.reasons import Popular
from tastegraph.recommend.sources._base import Candidate, FeedSource
from tastegraph.recommend.sources._lists import most_saved, unseen


def popular(conn: Connection, limit: int, excluded: set[int] | None = None) -> list[Candidate]:
    """The most saved Pins of all but `excluded` (the top POPULAR_DEPTH kept for POPULAR_TTL_SECONDS)."""
    rows = unseen(functools.partial(most_saved, conn), limit, excluded or set(), key=lambda r: r[0])
    return [Candidate(p, Popular(n)) for p, n in rows]


SOURCE = FeedSource("popular", 1, lambda conn, profile, ask: popular(conn, ask.limit, profile.excluded))

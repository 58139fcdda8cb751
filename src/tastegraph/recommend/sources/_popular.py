"""Popular: the most saved Pins of all, filling what the other sources leave."""

from __future__ import annotations

import functools

from sqlalchemy import Connection

from tastegraph.recommend.reasons import Popular
from tastegraph.recommend.sources._base import Ask, Candidate
from tastegraph.recommend.sources._lists import most_saved, unseen
from tastegraph.recommend.sources._profile import Profile


def popular(conn: Connection, limit: int, excluded: set[int] | None = None) -> list[Candidate]:
    """The most saved Pins of all but `excluded` (the top POPULAR_DEPTH kept for POPULAR_TTL_SECONDS)."""
    rows = unseen(functools.partial(most_saved, conn), limit, excluded or set(), key=lambda r: r[0])
    return [Candidate(p, Popular(n)) for p, n in rows]


class _Popular:
    name = "popular"
    weight = 1

    def candidates(self, conn: Connection, profile: Profile, ask: Ask) -> list[Candidate]:
        return popular(conn, ask.limit, profile.excluded)


SOURCE = _Popular()

"""Followed people: the newest saves of people the viewer follows."""

from __future__ import annotations

from sqlalchemy import Connection

from tastegraph.catalog import graph_reads
from tastegraph.kernel.fastsql import StoredTime
from tastegraph.recommend.reasons import FollowedPerson
from tastegraph.recommend.sources._base import Ask, Candidate
from tastegraph.recommend.sources._profile import Profile


def followed_people(conn: Connection, profile: Profile, limit: int) -> list[Candidate]:
    if profile.user_id is None:
        return []
    rows = graph_reads.saves_by_followed_people(conn, profile.user_id, limit)
    return [Candidate(int(r[0]), FollowedPerson(int(r[1]), r[2], StoredTime(r[3]))) for r in rows]


class _FollowedPeople:
    name = "followed_person"
    weight = 2

    def candidates(self, conn: Connection, profile: Profile, ask: Ask) -> list[Candidate]:
        return followed_people(conn, profile, ask.limit)


SOURCE = _FollowedPeople()

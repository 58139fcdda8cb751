"""Followed boards: the newest saves to boards the viewer follows."""

from __future__ import annotations

from sqlalchemy import Connection

from tastegraph.catalog import graph_reads
from tastegraph.kernel.fastsql import StoredTime
from tastegraph.recommend.reasons import FollowedBoard
from tastegraph.recommend.sources._base import Ask, Candidate
from tastegraph.recommend.sources._profile import Profile


def followed_boards(conn: Connection, profile: Profile, limit: int) -> list[Candidate]:
    if profile.user_id is None:
        return []
    rows = graph_reads.saves_on_followed_boards(conn, profile.user_id, limit)
    return [Candidate(int(r[0]), FollowedBoard(int(r[1]), r[2], StoredTime(r[3]))) for r in rows]


class _FollowedBoards:
    name = "followed_board"
    weight = 2

    def candidates(self, conn: Connection, profile: Profile, ask: Ask) -> list[Candidate]:
        return followed_boards(conn, profile, ask.limit)


SOURCE = _FollowedBoards()

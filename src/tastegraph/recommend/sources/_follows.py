"""Follows: the newest saves to boards the viewer follows, and the newest saves of people the viewer
follows. Two sources, each Pin with the board or the person and when it was saved."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from tastegraph.catalog import graph_reads
from tastegraph.kernel.fastsql import StoredTime
from tastegraph.recommend.reasons import FollowedBoard, FollowedPerson
from tastegraph.recommend.sources._base import Candidate, FeedSource
from tastegraph.recommend.sources._profile import Profile


def followed_boards(conn: Connection, profile: Profile, limit: int) -> list[Candidate]:
    return _newest_saves(conn, profile, limit, graph_reads.saves_on_followed_boards, FollowedBoard)


def followed_people(conn: Connection, profile: Profile, limit: int) -> list[Candidate]:
    return _newest_saves(conn, profile, limit, graph_reads.saves_by_followed_people, FollowedPerson)


def _newest_saves(
    conn: Connection,
    profile: Profile,
    limit: int,
    read: Callable[[Connection, int, int], list[tuple[Any, ...]]],
    reason: Callable[[int, str, StoredTime], FollowedBoard | FollowedPerson],
) -> list[Candidate]:
    """`read`'s (Pin, board or person, its name, saved at) rows for a signed-in viewer, as candidates."""
    if profile.user_id is None:
        return []
    rows = read(conn, profile.user_id, limit)
    return [Candidate(int(r[0]), reason(int(r[1]), r[2], StoredTime(r[3]))) for r in rows]


BOARDS_SOURCE = FeedSource(
    "followed_board", 2, lambda conn, profile, ask: followed_boards(conn, profile, ask.limit)
)
PEOPLE_SOURCE = FeedSource(
    "followed_person", 2, lambda conn, profile, ask: followed_people(conn, profile, ask.limit)
)

"""Boards and people to follow, each with its reasons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tastegraph.bootstrap import System
from tastegraph.catalog import content
from tastegraph.recommend import boards_to_follow, people_to_follow


@dataclass(frozen=True)
class Suggested:
    id: int
    reasons: list[dict[str, Any]]
    card: dict[str, Any]  # catalog.content's board or person card


def boards(system: System, user_id: int, limit: int) -> list[Suggested]:
    model = system.models.current(system.clock.now())
    with system.read() as conn:
        found = boards_to_follow(conn, user_id, model, limit)
        cards = content.get_boards(conn, [s.id for s in found])
    return [Suggested(s.id, s.reasons, cards[s.id]) for s in found if s.id in cards]


def people(system: System, user_id: int, limit: int) -> list[Suggested]:
    model = system.models.current(system.clock.now())
    with system.read() as conn:
        found = people_to_follow(conn, user_id, model, limit)
        cards = content.get_people(conn, [s.id for s in found])
    return [Suggested(s.id, s.reasons, cards[s.id]) for s in found if s.id in cards]

"""Boards and people to follow, each with its reasons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from tastegraph.bootstrap import System
from tastegraph.catalog import content
from tastegraph.catalog.content import BoardCard, PersonCard
from tastegraph.recommend import ReasonJson, boards_to_follow, people_to_follow

Card = TypeVar("Card", BoardCard, PersonCard)


@dataclass(frozen=True)
class Suggested(Generic[Card]):
    id: int
    reasons: list[ReasonJson]
    card: Card  # catalog.content's board or person card


def boards(system: System, user_id: int, limit: int) -> list[Suggested[BoardCard]]:
    model = system.models.current(system.clock.now())
    with system.read() as conn:
        found = boards_to_follow(conn, user_id, model, limit)
        cards = content.get_boards(conn, [s.id for s in found])
    return [Suggested(s.id, s.reasons, cards[s.id]) for s in found if s.id in cards]


def people(system: System, user_id: int, limit: int) -> list[Suggested[PersonCard]]:
    model = system.models.current(system.clock.now())
    with system.read() as conn:
        found = people_to_follow(conn, user_id, model, limit)
        cards = content.get_people(conn, [s.id for s in found])
    return [Suggested(s.id, s.reasons, cards[s.id]) for s in found if s.id in cards]

"""Boards and people to follow, each with its reasons."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Connection

from tastegraph.bootstrap import System
from tastegraph.catalog import content
from tastegraph.catalog.content import BoardCard, PersonCard
from tastegraph.recommend import Model, ReasonJson, Suggestion, boards_to_follow, people_to_follow

Card = TypeVar("Card", BoardCard, PersonCard)


@dataclass(frozen=True)
class Suggested(Generic[Card]):
    id: int
    reasons: list[ReasonJson]
    card: Card  # catalog.content's board or person card


def boards(system: System, user_id: int, limit: int) -> list[Suggested[BoardCard]]:
    return _suggest(system, user_id, limit, boards_to_follow, content.get_boards)


def people(system: System, user_id: int, limit: int) -> list[Suggested[PersonCard]]:
    return _suggest(system, user_id, limit, people_to_follow, content.get_people)


def _suggest(
    system: System,
    user_id: int,
    limit: int,
    find: Callable[[Connection, int, Model | None, int], list[Suggestion]],
    cards_of: Callable[[Connection, list[int]], Mapping[int, Card]],
) -> list[Suggested[Card]]:
    """What `find` suggests, with the catalogue's card of each (one that is gone since is left out)."""
    model = system.models.current(system.clock.now())
    with system.read() as conn:
        found = find(conn, user_id, model, limit)
        cards = cards_of(conn, [s.id for s in found])
    return [Suggested(s.id, s.reasons, cards[s.id]) for s in found if s.id in cards]

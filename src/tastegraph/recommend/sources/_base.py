"""What every home-feed candidate source has in common: the candidate, what a request asks for, and the
`Source` protocol the feed blends over."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection

from tastegraph.recommend.model import Model
from tastegraph.recommend.reasons import PlainReason, Reason, from_plain, to_plain
from tastegraph.recommend.sources._profile import Profile


@dataclass(slots=True)
class Candidate:
    """A Pin a source proposes, with the reason that put it there (from the very rows that produced it)."""

    pin_id: int
    reason: Reason


@dataclass(frozen=True, slots=True)
class Ask:
    """What one feed request asks of every source."""

    limit: int  # candidates wanted from each source (more than the page: the blend drops and merges)
    now: datetime  # the request's clock
    model: Model | None  # the trained model, or None for the live sources only


class Source(Protocol):
    """A home-feed candidate source: its name, its share of the feed in the blend, and its ranked
    candidates for one request, each with its reason."""

    @property
    def name(self) -> str: ...

    @property
    def weight(self) -> int: ...

    def candidates(self, conn: Connection, profile: Profile, ask: Ask) -> list[Candidate]: ...


@dataclass(frozen=True, slots=True)
class FeedSource:
    """A `Source` from its name, its weight and the function that finds its candidates."""

    name: str
    weight: int
    find: Callable[[Connection, Profile, Ask], list[Candidate]]

    def candidates(self, conn: Connection, profile: Profile, ask: Ask) -> list[Candidate]:
        return self.find(conn, profile, ask)


# Candidates as a model's memo keeps them: tuples of plain values, which the garbage collector stops
# tracking (see reasons.to_plain).
Memoized = tuple[tuple[int, PlainReason], ...]


def memoizable(candidates: list[Candidate]) -> Memoized:
    return tuple((c.pin_id, to_plain(c.reason)) for c in candidates)


def from_memo(found: Memoized) -> list[Candidate]:
    return [Candidate(pin_id, from_plain(reason)) for pin_id, reason in found]

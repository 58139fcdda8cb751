"""Why an item is recommended: one frozen dataclass per kind of reason, holding the data that produced
the item. Its sentence for people (`text`) and its JSON (`to_json`) are built from those fields alone,
so an explanation can never say more than the data that put the item there.

Times stay as the sources read them (a `StoredTime` is parsed only when read) until `to_json` writes out
those of the items actually shown: formatting every candidate's times costs more than ranking them.

The JSON of each kind is documented in docs/api.md; its keys come in the order listed in `to_json`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any, ClassVar, Literal

from tastegraph.kernel.fastsql import StoredTime

Time = datetime | StoredTime
# A reason as the API and the pages get it: "kind", the reason's fields (times in ISO 8601) and "text".
ReasonJson = dict[str, Any]


def _when(at: Time) -> datetime:
    return at.get() if isinstance(at, StoredTime) else at


def _iso(at: Time) -> str:
    return _when(at).isoformat()


def _day(at: Time) -> str:
    when = _when(at)
    return f"{when.day} {when.strftime('%b %Y')}"


def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many.format(n=n)


# --- the home feed -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OffsiteVisit:
    """The viewer visited `domain` (`visits` times, last `at`), and the Pin links to that site
    (`pins_from_site`), is popular in one of the site's topics (`site_topic`), or is what the trained
    model scores highest for people who visit it (`similar_taste`)."""

    kind: ClassVar[Literal["offsite_visit"]] = "offsite_visit"
    domain: str
    at: Time
    visits: int
    via: Literal["pins_from_site", "site_topic", "similar_taste"]
    topic: str | None = None  # site_topic only
    topic_name: str | None = None

    def text(self) -> str:
        visited = f"You visited {self.domain} (last on {_day(self.at)})"
        if self.via == "similar_taste":
            return f"{visited}; people who visit it also like this."
        if self.via == "site_topic":
            return f"{visited}; this is popular in {self.topic_name}, like what people save from there."
        return f"{visited}; this Pin links to that site."

    def to_json(self) -> ReasonJson:
        if self.via == "similar_taste":
            return {
                "kind": "offsite_visit",
                "via": self.via,
                "domain": self.domain,
                "at": _iso(self.at),
                "visits": self.visits,
                "text": self.text(),
            }
        out: ReasonJson = {
            "kind": "offsite_visit",
            "domain": self.domain,
            "at": _iso(self.at),
            "visits": self.visits,
            "via": self.via,
        }
        if self.via == "site_topic":
            out["topic"] = self.topic
            out["topic_name"] = self.topic_name
        out["text"] = self.text()
        return out


@dataclass(frozen=True, slots=True)
class SimilarTaste:
    """The item of the viewer's history (a save, with when, or a click or close-up) that contributes most
    to the trained model's score of the Pin."""

    kind: ClassVar[Literal["similar_taste"]] = "similar_taste"
    via: Literal["save", "engagement"]
    pin_id: int
    pin_title: str
    at: Time | None = None  # saves only

    def text(self) -> str:
        did = "looked at" if self.via == "engagement" else "saved"
        return f"People who {did} “{self.pin_title}” also like this."

    def to_json(self) -> ReasonJson:
        out: ReasonJson = {"kind": "similar_taste", "via": self.via, "pin_id": self.pin_id}
        if self.at is not None:
            out["at"] = _iso(self.at)
        out["pin_title"] = self.pin_title
        out["text"] = self.text()
        return out


@dataclass(frozen=True, slots=True)
class SavedAlongside:
    """The Pin shares `boards_in_common` boards with the viewer's save `pin_id` (saved `at`)."""

    kind: ClassVar[Literal["saved_alongside"]] = "saved_alongside"
    pin_id: int
    pin_title: str
    boards_in_common: int
    at: Time

    def text(self) -> str:
        return f"People who saved “{self.pin_title}” also saved this."

    def to_json(self) -> ReasonJson:
        return {
            "kind": "saved_alongside",
            "pin_id": self.pin_id,
            "pin_title": self.pin_title,
            "boards_in_common": self.boards_in_common,
            "at": _iso(self.at),
            "text": self.text(),
        }


@dataclass(frozen=True, slots=True)
class FollowedBoard:
    """Saved `at` to a board the viewer follows."""

    kind: ClassVar[Literal["followed_board"]] = "followed_board"
    board_id: int
    board_name: str
    at: Time

    def text(self) -> str:
        return f"Saved to “{self.board_name}”, a board you follow."

    def to_json(self) -> ReasonJson:
        return {
            "kind": "followed_board",
            "board_id": self.board_id,
            "board_name": self.board_name,
            "at": _iso(self.at),
            "text": self.text(),
        }


@dataclass(frozen=True, slots=True)
class FollowedPerson:
    """Saved `at` by someone the viewer follows."""

    kind: ClassVar[Literal["followed_person"]] = "followed_person"
    user_id: int
    user_name: str
    at: Time

    def text(self) -> str:
        return f"Saved by {self.user_name}, whom you follow."

    def to_json(self) -> ReasonJson:
        return {
            "kind": "followed_person",
            "user_id": self.user_id,
            "user_name": self.user_name,
            "at": _iso(self.at),
            "text": self.text(),
        }


@dataclass(frozen=True, slots=True)
class TopicInterest:
    """Popular in one of the viewer's top topics (`engagements`: their saves, clicks and close-ups of
    Pins in it)."""

    kind: ClassVar[Literal["topic_interest"]] = "topic_interest"
    topic: str
    topic_name: str
    engagements: int

    def text(self) -> str:
        return f"Popular in {self.topic_name}, a topic you engage with."

    def to_json(self) -> ReasonJson:
        return {
            "kind": "topic_interest",
            "topic": self.topic,
            "topic_name": self.topic_name,
            "engagements": self.engagements,
            "text": self.text(),
        }


@dataclass(frozen=True, slots=True)
class NewInTopic:
    """A Pin created lately (`created_at`) with few `saves`, in one of the viewer's top topics."""

    kind: ClassVar[Literal["new_in_topic"]] = "new_in_topic"
    topic: str
    topic_name: str
    created_at: Time
    saves: int

    def text(self) -> str:
        return f"New in {self.topic_name}, a topic you engage with."

    def to_json(self) -> ReasonJson:
        return {
            "kind": "new_in_topic",
            "topic": self.topic,
            "topic_name": self.topic_name,
            "created_at": _iso(self.created_at),
            "saves": self.saves,
            "text": self.text(),
        }


@dataclass(frozen=True, slots=True)
class Popular:
    """Among the most saved Pins of all."""

    kind: ClassVar[Literal["popular"]] = "popular"
    saves: int

    def text(self) -> str:
        return "Popular on Tastegraph right now."

    def to_json(self) -> ReasonJson:
        return {"kind": "popular", "saves": self.saves, "text": self.text()}


# --- related Pins ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SavedTogether:
    """`board_id` holds the Pin and links it to the query Pin `pin_id` (it holds the query Pin too when
    `shares_board`); `boards` boards hold both."""

    kind: ClassVar[Literal["saved_together"]] = "saved_together"
    pin_id: int
    boards: int
    board_id: int
    board_name: str
    shares_board: bool

    def text(self) -> str:
        return f"Saved to boards like “{self.board_name}”"

    def to_json(self) -> ReasonJson:
        return {
            "kind": "saved_together",
            "pin_id": self.pin_id,
            "boards": self.boards,
            "board_id": self.board_id,
            "board_name": self.board_name,
            "shares_board": self.shares_board,
            "text": self.text(),
        }


@dataclass(frozen=True, slots=True)
class SameTopic:
    """Popular in a topic of the query Pin `pin_id`."""

    kind: ClassVar[Literal["same_topic"]] = "same_topic"
    pin_id: int
    topic: str
    topic_name: str

    def text(self) -> str:
        return f"Popular in {self.topic_name}, like this Pin."

    def to_json(self) -> ReasonJson:
        return {
            "kind": "same_topic",
            "pin_id": self.pin_id,
            "topic": self.topic,
            "topic_name": self.topic_name,
            "text": self.text(),
        }


# --- boards and people to follow ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BoardMatch:
    """`pins` of the board's Pins are like the viewer's (`yours` of them they saved or looked at);
    `pin_id` is the best of them. `from_` (JSON "from"): matched on `saves`, or on `engagement` for
    someone who saved nothing yet."""

    kind: ClassVar[Literal["board_match"]] = "board_match"
    pins: int
    yours: int
    pin_id: int
    pin_title: str
    from_: Literal["saves", "engagement"]

    def text(self) -> str:
        what = "ones you saved" if self.from_ == "saves" else "ones you looked at"
        has = _plural(self.pins, "Has a Pin", "Has {n} Pins")
        return f"{has} like {what}, such as “{self.pin_title}”."

    def to_json(self) -> ReasonJson:
        return {
            "kind": "board_match",
            "pins": self.pins,
            "yours": self.yours,
            "pin_id": self.pin_id,
            "pin_title": self.pin_title,
            "from": self.from_,
            "text": self.text(),
        }


@dataclass(frozen=True, slots=True)
class SavedSamePin:
    """The viewer and this person both saved `pins` Pins; `pin_id` is the least saved of them."""

    kind: ClassVar[Literal["saved_same_pin"]] = "saved_same_pin"
    pins: int
    pin_id: int
    pin_title: str

    def text(self) -> str:
        others = self.pins - 1
        more = _plural(others, " and 1 more Pin", " and {n} more Pins") if others else ""
        return f"You both saved “{self.pin_title}”{more}."

    def to_json(self) -> ReasonJson:
        return {
            "kind": "saved_same_pin",
            "pins": self.pins,
            "pin_id": self.pin_id,
            "pin_title": self.pin_title,
            "text": self.text(),
        }


@dataclass(frozen=True, slots=True)
class SharedTopic:
    """This person saves in one of the viewer's top topics (`saves`: their saves in it)."""

    kind: ClassVar[Literal["shared_topic"]] = "shared_topic"
    topic: str
    topic_name: str
    saves: int

    def text(self) -> str:
        return f"Saves Pins in {self.topic_name}, a topic you engage with."

    def to_json(self) -> ReasonJson:
        return {
            "kind": "shared_topic",
            "topic": self.topic,
            "topic_name": self.topic_name,
            "saves": self.saves,
            "text": self.text(),
        }


FeedReason = (
    OffsiteVisit
    | SimilarTaste
    | SavedAlongside
    | FollowedBoard
    | FollowedPerson
    | TopicInterest
    | NewInTopic
    | Popular
)
RelatedReason = SavedTogether | SameTopic
FollowReason = BoardMatch | SavedSamePin | SharedTopic
Reason = FeedReason | RelatedReason | FollowReason

KINDS: tuple[type[Reason], ...] = (
    OffsiteVisit,
    SimilarTaste,
    SavedAlongside,
    FollowedBoard,
    FollowedPerson,
    TopicInterest,
    NewInTopic,
    Popular,
    SavedTogether,
    SameTopic,
    BoardMatch,
    SavedSamePin,
    SharedTopic,
)


def reasons_json(reasons: tuple[Reason, ...] | list[Reason]) -> list[ReasonJson]:
    """The reasons as they leave the recommenders: each one's JSON, with its text."""
    return [r.to_json() for r in reasons]


# --- reasons in long-lived caches --------------------------------------------------------------------

# A model's memo keeps candidates for thousands of requests. Dataclass instances stay tracked by the
# cycle collector for their whole life (only tuples and dicts of plain values become untracked), so the
# memo keeps each reason as (kind, its field values): plain values all the way down.
PlainReason = tuple[str, tuple[Any, ...]]


def _fields(cls: type[Reason]) -> tuple[str, ...]:
    return tuple(cls.__match_args__)


_VALUES = {cls.kind: attrgetter(*_fields(cls)) for cls in KINDS if len(_fields(cls)) > 1}
_SINGLE = {cls.kind: _fields(cls)[0] for cls in KINDS if len(_fields(cls)) == 1}
_CLASSES: dict[str, Callable[..., Reason]] = {cls.kind: cls for cls in KINDS}


def to_plain(reason: Reason) -> PlainReason:
    kind = reason.kind
    values = _VALUES.get(kind)
    if values is None:
        return kind, (getattr(reason, _SINGLE[kind]),)
    found: tuple[Any, ...] = values(reason)
    return kind, found


def from_plain(plain: PlainReason) -> Reason:
    return _CLASSES[plain[0]](*plain[1])

"""Why an item is recommended: one frozen dataclass per kind of reason, holding the data that produced
the item. Its sentence for people (`text`) and its JSON (`to_json`) are built from those fields alone,
so an explanation can never say more than the data that put the item there.

Times stay as the sources read them (a `StoredTime` is parsed only when read) until `to_json` writes out
those of the items actually shown: formatting every candidate's times costs more than ranking them.

The JSON of each kind is documented in docs/api.md: "kind", the fields in the order they are declared,
"text" (`_FromFields`); the two kinds whose JSON differs by case (`OffsiteVisit`, `SimilarTaste`) list
their keys in their own `to_json`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any, ClassVar, Literal, get_type_hints

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


class _FromFields:
    """A reason whose JSON is "kind", each of its fields in the order declared (a time in ISO 8601; a
    name with a trailing underscore, which avoids a Python keyword, without it: `from_` is "from"),
    then "text". This `to_json` says what that is; each kind in `KINDS` gets the same dict written out
    (`_written_out`), which is as fast as writing it by hand: it runs for every reason shown."""

    __slots__ = ()
    kind: ClassVar[str]
    __match_args__: ClassVar[tuple[str, ...]]

    def text(self) -> str:
        raise NotImplementedError

    def to_json(self) -> ReasonJson:
        times = _time_fields(type(self))
        out: ReasonJson = {"kind": self.kind}
        for name in self.__match_args__:
            value = getattr(self, name)
            out[name.rstrip("_")] = _iso(value) if name in times else value
        out["text"] = self.text()
        return out


def _time_fields(cls: type[_FromFields]) -> frozenset[str]:
    return frozenset(name for name, hint in get_type_hints(cls).items() if hint == Time)


def _written_out(cls: type[_FromFields]) -> Callable[[_FromFields], ReasonJson]:
    """`_FromFields.to_json` for `cls` as one dict display, compiled once (the way `dataclasses` writes
    `__init__`)."""
    times = _time_fields(cls)
    items = [f"'kind': {cls.kind!r}"]
    for name in cls.__match_args__:
        value = f"_iso(self.{name})" if name in times else f"self.{name}"
        items.append(f"{name.rstrip('_')!r}: {value}")
    items.append("'text': self.text()")
    namespace: dict[str, Any] = {}
    exec(f"def to_json(self):\n    return {{{', '.join(items)}}}\n", {"_iso": _iso}, namespace)
    to_json: Callable[[_FromFields], ReasonJson] = namespace["to_json"]
    to_json.__qualname__ = f"{cls.__qualname__}.to_json"
    return to_json


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
class SavedAlongside(_FromFields):
    """The Pin shares `boards_in_common` boards with the viewer's save `pin_id` (saved `at`)."""

    kind: ClassVar[Literal["saved_alongside"]] = "saved_alongside"
    pin_id: int
    pin_title: str
    boards_in_common: int
    at: Time

    def text(self) -> str:
        return f"People who saved “{self.pin_title}” also saved this."


@dataclass(frozen=True, slots=True)
class FollowedBoard(_FromFields):
    """Saved `at` to a board the viewer follows."""

    kind: ClassVar[Literal["followed_board"]] = "followed_board"
    board_id: int
    board_name: str
    at: Time

    def text(self) -> str:
        return f"Saved to “{self.board_name}”, a board you follow."


@dataclass(frozen=True, slots=True)
class FollowedPerson(_FromFields):
    """Saved `at` by someone the viewer follows."""

    kind: ClassVar[Literal["followed_person"]] = "followed_person"
    user_id: int
    user_name: str
    at: Time

    def text(self) -> str:
        return f"Saved by {self.user_name}, whom you follow."


@dataclass(frozen=True, slots=True)
class TopicInterest(_FromFields):
    """Popular in one of the viewer's top topics (`engagements`: their saves, clicks and close-ups of
    Pins in it)."""

    kind: ClassVar[Literal["topic_interest"]] = "topic_interest"
    topic: str
    topic_name: str
    engagements: int

    def text(self) -> str:
        return f"Popular in {self.topic_name}, a topic you engage with."


@dataclass(frozen=True, slots=True)
class NewInTopic(_FromFields):
    """A Pin created lately (`created_at`) with few `saves`, in one of the viewer's top topics."""

    kind: ClassVar[Literal["new_in_topic"]] = "new_in_topic"
    topic: str
    topic_name: str
    created_at: Time
    saves: int

    def text(self) -> str:
        return f"New in {self.topic_name}, a topic you engage with."


@dataclass(frozen=True, slots=True)
class Popular(_FromFields):
    """Among the most saved Pins of all."""

    kind: ClassVar[Literal["popular"]] = "popular"
    saves: int

    def text(self) -> str:
        return "Popular on Tastegraph right now."


# --- related Pins ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SavedTogether(_FromFields):
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


@dataclass(frozen=True, slots=True)
class SameTopic(_FromFields):
    """Popular in a topic of the query Pin `pin_id`."""

    kind: ClassVar[Literal["same_topic"]] = "same_topic"
    pin_id: int
    topic: str
    topic_name: str

    def text(self) -> str:
        return f"Popular in {self.topic_name}, like this Pin."


# --- boards and people to follow ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BoardMatch(_FromFields):
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


@dataclass(frozen=True, slots=True)
class SavedSamePin(_FromFields):
    """The viewer and this person both saved `pins` Pins; `pin_id` is the least saved of them."""

    kind: ClassVar[Literal["saved_same_pin"]] = "saved_same_pin"
    pins: int
    pin_id: int
    pin_title: str

    def text(self) -> str:
        others = self.pins - 1
        more = _plural(others, " and 1 more Pin", " and {n} more Pins") if others else ""
        return f"You both saved “{self.pin_title}”{more}."


@dataclass(frozen=True, slots=True)
class SharedTopic(_FromFields):
    """This person saves in one of the viewer's top topics (`saves`: their saves in it)."""

    kind: ClassVar[Literal["shared_topic"]] = "shared_topic"
    topic: str
    topic_name: str
    saves: int

    def text(self) -> str:
        return f"Saves Pins in {self.topic_name}, a topic you engage with."


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


for _kind in KINDS:
    if issubclass(_kind, _FromFields):
        setattr(_kind, "to_json", _written_out(_kind))  # noqa: B010 (mypy refuses assigning a method)


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

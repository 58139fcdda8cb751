"""Typed reasons: each kind's JSON (keys in order, times in ISO 8601) and sentence are exactly what the
API has always returned for the same data (docs/api.md), and the memo's plain form round-trips."""

from __future__ import annotations

import gc
from datetime import UTC, datetime
from typing import Any

import pytest

from tastegraph.kernel.fastsql import StoredTime
from tastegraph.recommend.reasons import (
    KINDS,
    BoardMatch,
    FollowedBoard,
    FollowedPerson,
    NewInTopic,
    OffsiteVisit,
    Popular,
    Reason,
    SameTopic,
    SavedAlongside,
    SavedSamePin,
    SavedTogether,
    SharedTopic,
    SimilarTaste,
    TopicInterest,
    _FromFields,
    from_plain,
    reasons_json,
    to_plain,
)

AT = datetime(2026, 5, 30, 9, 15, tzinfo=UTC)
STORED = StoredTime("2026-05-28 17:40:00.000000")  # as SQLite's driver gives a time: naive UTC text

CASES: list[tuple[Reason, list[tuple[str, Any]]]] = [
    (
        OffsiteVisit("trailpeak-gear.com", AT, 3, "pins_from_site"),
        [
            ("kind", "offsite_visit"),
            ("domain", "trailpeak-gear.com"),
            ("at", "2026-05-30T09:15:00+00:00"),
            ("visits", 3),
            ("via", "pins_from_site"),
            ("text", "You visited trailpeak-gear.com (last on 30 May 2026); this Pin links to that site."),
        ],
    ),
    (
        OffsiteVisit("trailpeak-gear.com", AT, 3, "site_topic", "outdoors", "Outdoors"),
        [
            ("kind", "offsite_visit"),
            ("domain", "trailpeak-gear.com"),
            ("at", "2026-05-30T09:15:00+00:00"),
            ("visits", 3),
            ("via", "site_topic"),
            ("topic", "outdoors"),
            ("topic_name", "Outdoors"),
            (
                "text",
                "You visited trailpeak-gear.com (last on 30 May 2026); this is popular in Outdoors, "
                "like what people save from there.",
            ),
        ],
    ),
    (
        OffsiteVisit("summitcamp.shop", AT, 1, "similar_taste"),
        [
            ("kind", "offsite_visit"),
            ("via", "similar_taste"),
            ("domain", "summitcamp.shop"),
            ("at", "2026-05-30T09:15:00+00:00"),
            ("visits", 1),
            (
                "text",
                "You visited summitcamp.shop (last on 30 May 2026); people who visit it also like this.",
            ),
        ],
    ),
    (
        SimilarTaste("save", 12, "Trail tent", AT),
        [
            ("kind", "similar_taste"),
            ("via", "save"),
            ("pin_id", 12),
            ("at", "2026-05-30T09:15:00+00:00"),
            ("pin_title", "Trail tent"),
            ("text", "People who saved “Trail tent” also like this."),
        ],
    ),
    (
        SimilarTaste("engagement", 13, "Camp stove"),
        [
            ("kind", "similar_taste"),
            ("via", "engagement"),
            ("pin_id", 13),
            ("pin_title", "Camp stove"),
            ("text", "People who looked at “Camp stove” also like this."),
        ],
    ),
    (
        SavedAlongside(12, "Trail tent", 4, AT),
        [
            ("kind", "saved_alongside"),
            ("pin_id", 12),
            ("pin_title", "Trail tent"),
            ("boards_in_common", 4),
            ("at", "2026-05-30T09:15:00+00:00"),
            ("text", "People who saved “Trail tent” also saved this."),
        ],
    ),
    (
        FollowedBoard(7, "Weekend hikes", STORED),
        [
            ("kind", "followed_board"),
            ("board_id", 7),
            ("board_name", "Weekend hikes"),
            ("at", "2026-05-28T17:40:00+00:00"),
            ("text", "Saved to “Weekend hikes”, a board you follow."),
        ],
    ),
    (
        FollowedPerson(9, "Ann", STORED),
        [
            ("kind", "followed_person"),
            ("user_id", 9),
            ("user_name", "Ann"),
            ("at", "2026-05-28T17:40:00+00:00"),
            ("text", "Saved by Ann, whom you follow."),
        ],
    ),
    (
        TopicInterest("outdoors", "Outdoors", 11),
        [
            ("kind", "topic_interest"),
            ("topic", "outdoors"),
            ("topic_name", "Outdoors"),
            ("engagements", 11),
            ("text", "Popular in Outdoors, a topic you engage with."),
        ],
    ),
    (
        NewInTopic("outdoors", "Outdoors", AT, 2),
        [
            ("kind", "new_in_topic"),
            ("topic", "outdoors"),
            ("topic_name", "Outdoors"),
            ("created_at", "2026-05-30T09:15:00+00:00"),
            ("saves", 2),
            ("text", "New in Outdoors, a topic you engage with."),
        ],
    ),
    (
        Popular(250),
        [("kind", "popular"), ("saves", 250), ("text", "Popular on Tastegraph right now.")],
    ),
    (
        SavedTogether(5, 3, 8, "Camping", True),
        [
            ("kind", "saved_together"),
            ("pin_id", 5),
            ("boards", 3),
            ("board_id", 8),
            ("board_name", "Camping"),
            ("shares_board", True),
            ("text", "Saved to boards like “Camping”"),
        ],
    ),
    (
        SameTopic(5, "outdoors", "Outdoors"),
        [
            ("kind", "same_topic"),
            ("pin_id", 5),
            ("topic", "outdoors"),
            ("topic_name", "Outdoors"),
            ("text", "Popular in Outdoors, like this Pin."),
        ],
    ),
    (
        BoardMatch(1, 1, 12, "Trail tent", "saves"),
        [
            ("kind", "board_match"),
            ("pins", 1),
            ("yours", 1),
            ("pin_id", 12),
            ("pin_title", "Trail tent"),
            ("from", "saves"),
            ("text", "Has a Pin like ones you saved, such as “Trail tent”."),
        ],
    ),
    (
        BoardMatch(4, 2, 12, "Trail tent", "engagement"),
        [
            ("kind", "board_match"),
            ("pins", 4),
            ("yours", 2),
            ("pin_id", 12),
            ("pin_title", "Trail tent"),
            ("from", "engagement"),
            ("text", "Has 4 Pins like ones you looked at, such as “Trail tent”."),
        ],
    ),
    (
        SavedSamePin(1, 12, "Trail tent"),
        [
            ("kind", "saved_same_pin"),
            ("pins", 1),
            ("pin_id", 12),
            ("pin_title", "Trail tent"),
            ("text", "You both saved “Trail tent”."),
        ],
    ),
    (
        SavedSamePin(2, 12, "Trail tent"),
        [
            ("kind", "saved_same_pin"),
            ("pins", 2),
            ("pin_id", 12),
            ("pin_title", "Trail tent"),
            ("text", "You both saved “Trail tent” and 1 more Pin."),
        ],
    ),
    (
        SavedSamePin(5, 12, "Trail tent"),
        [
            ("kind", "saved_same_pin"),
            ("pins", 5),
            ("pin_id", 12),
            ("pin_title", "Trail tent"),
            ("text", "You both saved “Trail tent” and 4 more Pins."),
        ],
    ),
    (
        SharedTopic("outdoors", "Outdoors", 6),
        [
            ("kind", "shared_topic"),
            ("topic", "outdoors"),
            ("topic_name", "Outdoors"),
            ("saves", 6),
            ("text", "Saves Pins in Outdoors, a topic you engage with."),
        ],
    ),
]


@pytest.mark.parametrize(
    ("reason", "expected"), CASES, ids=[f"{r.kind}-{i}" for i, (r, _) in enumerate(CASES)]
)
def test_json_and_text_are_what_the_api_returns(reason: Reason, expected: list[tuple[str, Any]]) -> None:
    out = reason.to_json()
    assert list(out.items()) == expected  # the same keys, in the same order, with the same values
    assert reason.text() == dict(expected)["text"]


@pytest.mark.parametrize("reason", [r for r, _ in CASES if isinstance(r, _FromFields)], ids=lambda r: r.kind)
def test_the_written_out_json_is_the_fields_json(reason: _FromFields) -> None:
    assert type(reason).to_json is not _FromFields.to_json  # each kind has its own, compiled once
    assert list(reason.to_json().items()) == list(_FromFields.to_json(reason).items())


def test_every_kind_has_a_case() -> None:
    assert {type(r) for r, _ in CASES} == set(KINDS)
    assert len({cls.kind for cls in KINDS}) == len(KINDS)


def test_a_stored_time_is_parsed_only_when_written_out() -> None:
    raw = StoredTime("not a time")  # parsing it would fail: building and comparing reasons must not parse
    a, b = FollowedBoard(7, "Weekend hikes", raw), FollowedBoard(7, "Weekend hikes", StoredTime("not a time"))
    assert a == b and a in [b] and hash(a) == hash(b)
    with pytest.raises(ValueError):
        a.to_json()
    aware = FollowedPerson(9, "Ann", StoredTime(datetime(2026, 5, 28, 19, 40, tzinfo=UTC)))  # PostgreSQL
    assert aware.to_json()["at"] == "2026-05-28T19:40:00+00:00"


def test_reasons_of_different_kinds_or_data_differ() -> None:
    assert TopicInterest("outdoors", "Outdoors", 2) != SharedTopic("outdoors", "Outdoors", 2)
    assert SameTopic(5, "outdoors", "Outdoors") != SameTopic(6, "outdoors", "Outdoors")
    assert OffsiteVisit("a.com", AT, 1, "pins_from_site") != OffsiteVisit("a.com", AT, 1, "similar_taste")


def test_reasons_json_keeps_order() -> None:
    reasons: list[Reason] = [Popular(3), TopicInterest("outdoors", "Outdoors", 11)]
    assert [r["kind"] for r in reasons_json(reasons)] == ["popular", "topic_interest"]


@pytest.mark.parametrize(
    "reason", [r for r, _ in CASES], ids=[f"{r.kind}-{i}" for i, (r, _) in enumerate(CASES)]
)
def test_the_plain_form_round_trips(reason: Reason) -> None:
    plain = to_plain(reason)
    assert from_plain(plain) == reason and type(from_plain(plain)) is type(reason)


def test_the_plain_form_is_untracked_by_the_garbage_collector() -> None:
    kept = tuple(
        (n, to_plain(r))
        for n, (r, _) in enumerate(CASES)
        if not isinstance(r, FollowedBoard | FollowedPerson)
    )
    for _ in range(4):  # a tuple is untracked in the pass after its items are: one pass per level
        gc.collect()
    assert not gc.is_tracked(kept)

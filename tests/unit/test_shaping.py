"""Feed controls' strikes (recommend.shaping): how hides and removed topics weigh, and what they report."""

from __future__ import annotations

from collections import Counter

from tastegraph.recommend.shaping import HIDE_STRIKES, MAX_STRIKES, REMOVED_TOPIC_STRIKES, Shaping


def test_strikes_take_the_strongest_signal_and_removed_topics_add() -> None:
    shape = Shaping(Counter({"a.com": 2}), Counter({"outdoors": 3, "cooking": 1}), frozenset({"fitness"}))
    assert shape.strikes("a.com", []) == 2
    assert shape.strikes("a.com", ["outdoors"]) == 3  # the most of site and topics, not the sum
    assert shape.strikes("b.com", ["cooking"]) == 1
    assert shape.strikes("b.com", ["fitness"]) == REMOVED_TOPIC_STRIKES
    assert shape.strikes("a.com", ["outdoors", "fitness"]) == 3 + REMOVED_TOPIC_STRIKES
    assert shape.strikes("b.com", ["travel"]) == 0
    many = Shaping(Counter({"a.com": 50}))
    assert many.strikes("a.com", []) == MAX_STRIKES


def test_reasons_weigh_differently() -> None:
    assert HIDE_STRIKES["seen_it"] == 0 < HIDE_STRIKES[None] == HIDE_STRIKES["not_interested"]
    assert HIDE_STRIKES["offensive"] > HIDE_STRIKES["not_interested"]


def test_nothing_to_tone_down_is_falsy_and_reports_nothing() -> None:
    empty = Shaping(Counter({"a.com": 0}), Counter())
    assert not empty and empty.toned_down() == []
    shape = Shaping(Counter({"a.com": 1}), Counter({"outdoors": 1}), frozenset({"cooking"}))
    assert shape
    assert shape.toned_down() == [
        {"kind": "site", "value": "a.com", "hides": 1, "removed": False, "factor": 2.0},
        {"kind": "topic", "value": "outdoors", "hides": 1, "removed": False, "factor": 2.0},
        {"kind": "topic", "value": "cooking", "hides": 0, "removed": True, "factor": 8.0},
    ]

"""Targeting under consent: for any settings, signals and targeting spec, an ad group is never matched
through a signal the decisions refused, its reasons never name one, and refused data has no influence
at all (changing it changes nothing)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tastegraph.ads.targeting import (
    Membership,
    OffSiteInterest,
    OnSiteInterest,
    Targeting,
    allowed_signals,
    match,
    matches,
)

TOPICS = ["hiking", "camping", "baking", "jazz"]
WHEN = datetime(2026, 6, 1, tzinfo=UTC)

topic = st.sampled_from(TOPICS)
onsite = st.dictionaries(topic, st.integers(1, 9)).map(
    lambda d: {t: OnSiteInterest(t, t.title(), n) for t, n in d.items()}
)
offsite = st.dictionaries(topic, st.sampled_from(["a.example", "b.example"])).map(
    lambda d: {t: OffSiteInterest(t, t.title(), site, WHEN) for t, site in d.items()}
)
audiences = st.dictionaries(
    st.integers(1, 6),
    st.tuples(st.integers(1, 3), st.sampled_from(["visitor", "engagement", "customer_list", "actalike"])),
).map(lambda d: {a: Membership(a, acct, f"Adv{acct}", kind, WHEN) for a, (acct, kind) in d.items()})
targeting = st.builds(
    Targeting,
    ad_account_id=st.integers(1, 3),
    advertiser=st.just("Adv"),
    placement=st.sampled_from(["all", "browse", "search"]),
    interests=st.frozensets(topic, max_size=3),
    keywords=st.lists(st.sampled_from(["trail", "tent", "sourdough bread"]), max_size=2).map(tuple),
    audience_include=st.frozensets(st.integers(1, 6), max_size=2),
    audience_exclude=st.frozensets(st.integers(1, 6), max_size=2),
    expanded=st.booleans(),
)
request = st.fixed_dictionaries(
    {
        "placement": st.sampled_from(["browse", "search"]),
        "signed_in": st.booleans(),
        "offsite_allowed": st.booleans(),
        "advertiser_data_allowed": st.booleans(),
        "query": st.none() | st.sampled_from(["trail", "Sourdough  BREAD recipes", "tent"]),
        "viewed_pin": st.none() | st.just(7),
        "viewed_topics": st.dictionaries(topic, st.just("Name"), max_size=2),
        "blocked_ad_accounts": st.frozensets(st.integers(1, 3), max_size=1),
    }
)


def signals_of(req: dict[str, Any], on: Any, off: Any, aud: Any) -> Any:
    return allowed_signals(**req, onsite=on, offsite=off, audiences=aud)


@settings(max_examples=400, deadline=None)
@given(targeting, request, onsite, offsite, audiences)
def test_reasons_only_name_allowed_signals(
    t: Targeting, req: dict[str, Any], on: Any, off: Any, aud: Any
) -> None:
    reasons = match(t, signals_of(req, on, off, aud))
    if reasons is None:
        return
    assert reasons, "a match always says why"
    for reason in reasons:
        if reason.signal == "on_site":
            assert req["signed_in"]
        if reason.signal == "off_site":
            assert req["signed_in"] and req["offsite_allowed"]
        if reason.signal == "advertiser_data":
            assert req["signed_in"] and req["advertiser_data_allowed"]
            assert reason.to_json()["audience_id"] in aud
        assert reason.to_json()["text"]
    assert t.ad_account_id not in req["blocked_ad_accounts"]


@settings(max_examples=400, deadline=None)
@given(targeting, request, onsite, offsite, audiences, onsite, offsite, audiences)
def test_refused_data_has_no_influence(
    t: Targeting, req: dict[str, Any], on: Any, off: Any, aud: Any, on2: Any, off2: Any, aud2: Any
) -> None:
    """Swap every refused kind of data for other data: the match and its reasons stay the same."""
    first = match(t, signals_of(req, on, off, aud))
    signed_in = req["signed_in"]
    second = match(
        t,
        signals_of(
            req,
            on if signed_in else on2,
            off if signed_in and req["offsite_allowed"] else off2,
            aud if signed_in and req["advertiser_data_allowed"] else aud2,
        ),
    )
    assert first == second


def test_signed_out_gets_contextual_only() -> None:
    t = Targeting(1, "Trailpeak", "all", interests=frozenset({"hiking"}))
    on = {"hiking": OnSiteInterest("hiking", "Hiking", 5)}
    common: dict[str, Any] = {"placement": "browse", "offsite_allowed": True, "advertiser_data_allowed": True}
    assert match(t, allowed_signals(**common, signed_in=False, onsite=on)) is None
    reasons = match(
        t, allowed_signals(**common, signed_in=False, viewed_pin=3, viewed_topics={"hiking": "Hiking"})
    )
    assert reasons is not None and [r.kind for r in reasons] == ["ad_contextual"]
    assert match(t, allowed_signals(**common, signed_in=True, onsite=on)) is not None


def test_audiences_need_advertiser_data_and_exclusions_win() -> None:
    member = {4: Membership(4, 1, "Trailpeak", "visitor", WHEN)}
    t = Targeting(1, "Trailpeak", "all", audience_include=frozenset({4}))
    on: dict[str, Any] = {"placement": "browse", "signed_in": True, "offsite_allowed": True}
    reasons = match(t, allowed_signals(**on, advertiser_data_allowed=True, audiences=member))
    assert reasons is not None and reasons[0].to_json()["kind"] == "ad_visited_site"
    assert match(t, allowed_signals(**on, advertiser_data_allowed=False, audiences=member)) is None
    excluded = Targeting(1, "Trailpeak", "all", audience_exclude=frozenset({4}), expanded=True)
    assert match(excluded, allowed_signals(**on, advertiser_data_allowed=True, audiences=member)) is None
    # Turning one advertiser off removes its audiences and its ads.
    blocked = allowed_signals(
        **on, advertiser_data_allowed=True, audiences=member, blocked_ad_accounts=frozenset({1})
    )
    assert match(t, blocked) is None


def test_keywords_match_whole_words_of_the_search_and_only_there() -> None:
    t = Targeting(1, "Bakery", "all", keywords=("sourdough bread",))
    base: dict[str, Any] = {"signed_in": False, "offsite_allowed": False, "advertiser_data_allowed": False}
    hit = match(t, allowed_signals(**base, placement="search", query="Best  SOURDOUGH bread"))
    assert hit is not None and hit[0].to_json()["keyword"] == "sourdough bread"
    assert match(t, allowed_signals(**base, placement="search", query="sourdoughs")) is None
    assert match(t, allowed_signals(**base, placement="browse")) is None
    search_only = Targeting(1, "Bakery", "search")
    assert match(search_only, allowed_signals(**base, placement="browse")) is None
    assert match(search_only, allowed_signals(**base, placement="search", query="x")) is not None


@settings(max_examples=1500, deadline=None)
@given(targeting, request, onsite, offsite, audiences)
def test_matches_agrees_with_match(t: Targeting, req: dict[str, Any], on: Any, off: Any, aud: Any) -> None:
    """Serving filters with the cheap `matches` and builds reasons with `match` for the ads it shows:
    the two must never disagree."""
    s = signals_of(req, on, off, aud)
    assert matches(t, s) == (match(t, s) is not None)

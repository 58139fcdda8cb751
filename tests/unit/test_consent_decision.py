"""The consent decision over every combination of setting x DNT x GPC x opt-out cookie x signed in/out
x data age, against an independent statement of the rules."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from tastegraph.consent import Policy, Purpose, Reason, RequestSignals, Subject, decide

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
POLICY = Policy(offsite_retention=timedelta(days=30))
AGES = {
    "fresh": timedelta(0),
    "29d": timedelta(days=29, hours=23),
    "exactly 30d": timedelta(days=30),
    "30d+1s": timedelta(days=30, seconds=1),
    "90d": timedelta(days=90),
    "none": None,
}


def expected(
    personalization: bool, dnt: bool, gpc: bool, opted_out: bool, signed_in: bool, age: timedelta | None
) -> Reason | None:
    if gpc:
        return Reason.GLOBAL_PRIVACY_CONTROL
    if dnt:
        return Reason.DO_NOT_TRACK
    if opted_out:
        return Reason.BROWSER_OPTED_OUT
    if signed_in and not personalization:
        return Reason.PERSONALIZATION_OFF
    if age is not None and age > timedelta(days=30):
        return Reason.RETENTION_EXPIRED
    return None


CASES = list(
    itertools.product(
        [Purpose.COLLECT_OFFSITE, Purpose.PERSONALIZE_WITH_OFFSITE],
        [True, False],
        [True, False],
        [True, False],
        [True, False],
        [True, False],
        list(AGES),
    )
)


@pytest.mark.parametrize(("purpose", "setting", "dnt", "gpc", "opted_out", "signed_in", "age"), CASES)
def test_every_combination(
    purpose: Purpose, setting: bool, dnt: bool, gpc: bool, opted_out: bool, signed_in: bool, age: str
) -> None:
    subject = Subject(user_id=7 if signed_in else None, browser_id="a" * 32, personalization=setting)
    signals = RequestSignals(do_not_track=dnt, global_privacy_control=gpc, browser_opted_out=opted_out)
    delta = AGES[age]
    data_time = None if delta is None else NOW - delta
    decision = decide(purpose, subject, signals, NOW, POLICY, data_time=data_time)
    want = expected(setting, dnt, gpc, opted_out, signed_in, delta)
    assert decision.reason == want
    assert decision.allowed is (want is None)
    assert decision.usable_since == NOW - timedelta(days=30)
    assert decision.purpose is purpose
    assert decision.explain()


def test_no_subject_is_refused_but_signals_are_named_first() -> None:
    d = decide(Purpose.COLLECT_OFFSITE, Subject(None, None), RequestSignals(), NOW, POLICY)
    assert not d.allowed and d.reason is Reason.NO_SUBJECT
    opted_out = RequestSignals(browser_opted_out=True)
    d = decide(Purpose.COLLECT_OFFSITE, Subject(None, None), opted_out, NOW, POLICY)
    assert d.reason is Reason.BROWSER_OPTED_OUT


def test_signed_out_browser_ignores_account_setting_field() -> None:
    # A signed-out browser has no account setting; only its own signals count.
    d = decide(
        Purpose.PERSONALIZE_WITH_OFFSITE,
        Subject(None, "b" * 32, personalization=False),
        RequestSignals(),
        NOW,
        POLICY,
    )
    assert d.allowed


def test_retention_window_is_configurable() -> None:
    short = Policy(offsite_retention=timedelta(days=7))
    subject = Subject(1, None)
    old = NOW - timedelta(days=8)
    assert not decide(Purpose.COLLECT_OFFSITE, subject, RequestSignals(), NOW, short, data_time=old).allowed
    assert decide(Purpose.COLLECT_OFFSITE, subject, RequestSignals(), NOW, POLICY, data_time=old).allowed


@pytest.mark.parametrize(
    ("headers", "cookies", "want"),
    [
        ({}, {}, RequestSignals()),
        ({"DNT": "1"}, {}, RequestSignals(do_not_track=True)),
        ({"dnt": "0"}, {}, RequestSignals()),
        ({"Sec-GPC": "1"}, {}, RequestSignals(global_privacy_control=True)),
        ({"sec-gpc": " 1 "}, {}, RequestSignals(global_privacy_control=True)),
        ({"Sec-GPC": "0"}, {}, RequestSignals()),
        ({}, {"tg_optout": "1"}, RequestSignals(browser_opted_out=True)),
        ({}, {"tg_optout": "yes"}, RequestSignals()),
    ],
)
def test_signals_from_request(headers: dict[str, str], cookies: dict[str, str], want: RequestSignals) -> None:
    assert RequestSignals.from_request(headers, cookies) == want

"""The advertiser-data purpose over every combination of the person's setting, a per-advertiser block,
GPC (on the current request or on the request that brought the event), the event's opt_out and
limited-data-processing flags, DNT, signed in or not, and the event's age, against the rules as the
issue states them."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from tastegraph.consent import AdvertiserDatum, Policy, Purpose, Reason, RequestSignals, Subject, decide

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
POLICY = Policy(offsite_retention=timedelta(days=30), advertiser_retention=timedelta(days=540))
ACCOUNT = 41
AGES = {"fresh": timedelta(0), "539d": timedelta(days=539), "541d": timedelta(days=541), "none": None}


def expected(
    setting: bool,
    blocked: bool,
    gpc_now: bool,
    gpc_event: bool,
    opt_out: bool,
    ldp: bool,
    signed_in: bool,
    age: timedelta | None,
) -> Reason | None:
    if gpc_now or gpc_event:
        return Reason.GLOBAL_PRIVACY_CONTROL
    if opt_out:
        return Reason.EVENT_OPTED_OUT
    if ldp:
        return Reason.LIMITED_DATA_PROCESSING
    if signed_in and not setting:
        return Reason.ADVERTISER_DATA_OFF
    if blocked:
        return Reason.ADVERTISER_BLOCKED
    if age is not None and age > timedelta(days=540):
        return Reason.RETENTION_EXPIRED
    return None


FLAGS = [True, False]
CASES = list(itertools.product(*[FLAGS] * 8, list(AGES)))


@pytest.mark.parametrize(
    ("setting", "blocked", "gpc_now", "gpc_event", "opt_out", "ldp", "dnt", "signed_in", "age"), CASES
)
def test_every_combination(
    setting: bool,
    blocked: bool,
    gpc_now: bool,
    gpc_event: bool,
    opt_out: bool,
    ldp: bool,
    dnt: bool,
    signed_in: bool,
    age: str,
) -> None:
    subject = Subject(
        user_id=7 if signed_in else None,
        browser_id="a" * 32,
        advertiser_data=setting,
        blocked_ad_accounts=frozenset({ACCOUNT} if blocked else ()),
    )
    signals = RequestSignals(do_not_track=dnt, global_privacy_control=gpc_now)
    datum = AdvertiserDatum(
        ACCOUNT, opt_out=opt_out, limited_data_processing=ldp, global_privacy_control=gpc_event
    )
    delta = AGES[age]
    decision = decide(
        Purpose.ADS_WITH_ADVERTISER_DATA,
        subject,
        signals,
        NOW,
        POLICY,
        data_time=None if delta is None else NOW - delta,
        advertiser_datum=datum,
    )
    want = expected(setting, blocked, gpc_now, gpc_event, opt_out, ldp, signed_in, delta)
    assert decision.reason == want
    assert decision.allowed is (want is None)
    assert decision.usable_since == NOW - timedelta(days=540)
    assert decision.explain()


def test_a_block_is_per_advertiser() -> None:
    subject = Subject(7, None, blocked_ad_accounts=frozenset({ACCOUNT}))
    other = AdvertiserDatum(ACCOUNT + 1)
    d = decide(
        Purpose.ADS_WITH_ADVERTISER_DATA, subject, RequestSignals(), NOW, POLICY, advertiser_datum=other
    )
    assert d.allowed


def test_no_subject_is_refused() -> None:
    d = decide(Purpose.ADS_WITH_ADVERTISER_DATA, Subject(None, None), RequestSignals(), NOW, POLICY)
    assert d.reason is Reason.NO_SUBJECT

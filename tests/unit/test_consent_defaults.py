"""Consent defaults for the place of deployment (TASTEGRAPH_CONSENT_DEFAULTS): the decision under opt-in
against an independent statement of the rules, the opt-out deployment unchanged by the opt-in yes, and
property tests over every purpose and signal."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tastegraph.consent import (
    SETTING_DEFAULTS,
    AdvertiserDatum,
    ConsentDefaults,
    Policy,
    Purpose,
    Reason,
    RequestSignals,
    Subject,
    browser_choice,
    decide,
    setting_defaults,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
OPT_IN = Policy(offsite_retention=timedelta(days=30), defaults=ConsentDefaults.OPT_IN)
OPT_OUT = Policy(offsite_retention=timedelta(days=30))
OFFSITE = [Purpose.COLLECT_OFFSITE, Purpose.PERSONALIZE_WITH_OFFSITE]


def expected_opt_in(
    personalization: bool, dnt: bool, gpc: bool, opted_out: bool, opted_in: bool, signed_in: bool
) -> Reason | None:
    """The off-site rules where defaults are opt-in, written out independently of consent.decision."""
    if gpc:
        return Reason.GLOBAL_PRIVACY_CONTROL
    if dnt:
        return Reason.DO_NOT_TRACK
    if opted_out:
        return Reason.BROWSER_OPTED_OUT
    if not signed_in and not opted_in:
        return Reason.BROWSER_NOT_OPTED_IN
    if signed_in and not personalization:
        return Reason.PERSONALIZATION_OFF
    return None


@pytest.mark.parametrize(
    ("purpose", "setting", "dnt", "gpc", "opted_out", "opted_in", "signed_in"),
    list(itertools.product(OFFSITE, *([[True, False]] * 6))),
)
def test_opt_in_every_combination(
    purpose: Purpose, setting: bool, dnt: bool, gpc: bool, opted_out: bool, opted_in: bool, signed_in: bool
) -> None:
    subject = Subject(user_id=7 if signed_in else None, browser_id="a" * 32, personalization=setting)
    signals = RequestSignals(
        do_not_track=dnt, global_privacy_control=gpc, browser_opted_out=opted_out, browser_opted_in=opted_in
    )
    decision = decide(purpose, subject, signals, NOW, OPT_IN)
    want = expected_opt_in(setting, dnt, gpc, opted_out, opted_in, signed_in)
    assert decision.reason == want
    assert decision.allowed is (want is None)
    assert decision.explain()


def test_signed_out_browser_without_a_yes_gets_nothing_under_opt_in_and_everything_under_opt_out() -> None:
    browser = Subject(None, "b" * 32)
    for purpose in OFFSITE:
        assert decide(purpose, browser, RequestSignals(), NOW, OPT_IN).reason is Reason.BROWSER_NOT_OPTED_IN
        assert decide(purpose, browser, RequestSignals(), NOW, OPT_OUT).allowed
        yes = RequestSignals(browser_opted_in=True)
        assert decide(purpose, browser, yes, NOW, OPT_IN).allowed
    # A browser we have never seen hears the missing yes, not "nothing to personalize with".
    unknown = decide(Purpose.COLLECT_OFFSITE, Subject(None, None), RequestSignals(), NOW, OPT_IN)
    assert unknown.reason is Reason.BROWSER_NOT_OPTED_IN


def test_advertiser_data_for_signed_in_people_follows_only_their_setting_in_both_modes() -> None:
    datum = AdvertiserDatum(3)
    for policy in (OPT_IN, OPT_OUT):
        on, off = Subject(5, None, advertiser_data=True), Subject(5, None, advertiser_data=False)
        # Audiences are built with no request at all (RequestSignals()): the account setting decides.
        p = Purpose.ADS_WITH_ADVERTISER_DATA
        assert decide(p, on, RequestSignals(), NOW, policy, advertiser_datum=datum).allowed
        off_decision = decide(p, off, RequestSignals(), NOW, policy, advertiser_datum=datum)
        assert off_decision.reason is Reason.ADVERTISER_DATA_OFF
    browser = Subject(None, "c" * 32)
    p = Purpose.ADS_WITH_ADVERTISER_DATA
    assert decide(p, browser, RequestSignals(), NOW, OPT_OUT).allowed
    assert decide(p, browser, RequestSignals(), NOW, OPT_IN).reason is Reason.BROWSER_NOT_OPTED_IN
    assert decide(p, browser, RequestSignals(browser_opted_in=True), NOW, OPT_IN).allowed


def test_browser_choice_and_setting_defaults() -> None:
    assert browser_choice(RequestSignals(), OPT_OUT) is True
    assert browser_choice(RequestSignals(), OPT_IN) is False
    assert browser_choice(RequestSignals(browser_opted_in=True), OPT_IN) is True
    assert browser_choice(RequestSignals(browser_opted_out=True), OPT_OUT) is False
    assert setting_defaults(ConsentDefaults.OPT_OUT) == SETTING_DEFAULTS
    assert setting_defaults(ConsentDefaults.OPT_IN) == dict.fromkeys(SETTING_DEFAULTS, False)


@pytest.mark.parametrize(
    ("cookie", "want"),
    [
        ("1", RequestSignals(browser_opted_out=True)),
        ("0", RequestSignals(browser_opted_in=True)),
        ("", RequestSignals()),
        ("00", RequestSignals()),
    ],
)
def test_choice_cookie_values(cookie: str, want: RequestSignals) -> None:
    assert RequestSignals.from_request({}, {"tg_optout": cookie}) == want


signals_st = st.builds(
    RequestSignals,
    do_not_track=st.booleans(),
    global_privacy_control=st.booleans(),
    browser_opted_out=st.booleans(),
    browser_opted_in=st.booleans(),
)
subjects_st = st.builds(
    Subject,
    user_id=st.none() | st.integers(1, 10**6),
    browser_id=st.none() | st.just("d" * 32),
    personalization=st.booleans(),
    advertiser_data=st.booleans(),
)
data_times = st.none() | st.integers(0, 90 * 86400).map(lambda s: NOW - timedelta(seconds=s))


@given(st.sampled_from(list(Purpose)), subjects_st, signals_st, data_times)
def test_opt_in_never_allows_what_opt_out_refuses_and_needs_a_yes_signed_out(
    purpose: Purpose, subject: Subject, signals: RequestSignals, when: datetime | None
) -> None:
    strict = decide(purpose, subject, signals, NOW, OPT_IN, data_time=when)
    lax = decide(purpose, subject, signals, NOW, OPT_OUT, data_time=when)
    # Opt-in only ever refuses more: the same settings and signals never allow more than opt-out does.
    if strict.allowed:
        assert lax.allowed
    if not subject.signed_in and not signals.browser_opted_in:
        assert not strict.allowed
    # The yes can never outweigh a refusal: GPC always; the opt-out cookie and DNT for off-site data.
    refused = signals.global_privacy_control or (
        purpose is not Purpose.ADS_WITH_ADVERTISER_DATA
        and (signals.browser_opted_out or signals.do_not_track)
    )
    if refused:
        assert not strict.allowed and not lax.allowed
    # Where defaults are opt-out the yes cookie changes nothing: decisions are as before opt-in existed.
    flipped = RequestSignals(
        signals.do_not_track,
        signals.global_privacy_control,
        signals.browser_opted_out,
        not signals.browser_opted_in,
    )
    other = decide(purpose, subject, flipped, NOW, OPT_OUT, data_time=when)
    assert (other.allowed, other.reason) == (lax.allowed, lax.reason)

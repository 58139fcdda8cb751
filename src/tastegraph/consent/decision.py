"""The one consent decision: may this purpose use (or collect) this person's data, right now?

Every rule about DNT, GPC, the Personalization setting, the signed-out opt-out cookie, the advertiser
data setting, advertisers' opt-out and limited-data-processing flags and the retention windows lives here
and nowhere else. The function is pure: callers hand it the person's settings snapshot
(`Subject`), the request's signals and the clock's "now"; it returns a `Decision`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Purpose(StrEnum):
    # Store an off-site visit reported by the save button.
    COLLECT_OFFSITE = "collect_offsite"
    # Use stored off-site visits to shape recommendations.
    PERSONALIZE_WITH_OFFSITE = "personalize_with_offsite"
    # Let data an advertiser shared about the person (tag, conversions API, customer list) shape the ads
    # they see: audiences, retargeting, actalikes. Without it such data is kept for aggregate
    # measurement only.
    ADS_WITH_ADVERTISER_DATA = "ads_with_advertiser_data"
    # Search (issue 14): rank a signed-in person's search results by their interests, and keep their
    # searches (engagement of kind "search"). The Personalization setting, DNT, GPC and the opt-out
    # cookie govern it as they govern off-site data; without it results are ranked for everyone alike.
    PERSONALIZE_SEARCH = "personalize_search"


class Reason(StrEnum):
    PERSONALIZATION_OFF = "personalization_off"
    DO_NOT_TRACK = "do_not_track"
    GLOBAL_PRIVACY_CONTROL = "global_privacy_control"
    BROWSER_OPTED_OUT = "browser_opted_out"
    RETENTION_EXPIRED = "retention_expired"
    NO_SUBJECT = "no_subject"
    ADVERTISER_DATA_OFF = "advertiser_data_off"
    ADVERTISER_BLOCKED = "advertiser_blocked"
    EVENT_OPTED_OUT = "event_opted_out"
    LIMITED_DATA_PROCESSING = "limited_data_processing"
    # Opt-in deployments: a signed-out browser that has not said yes on the choice page.
    BROWSER_NOT_OPTED_IN = "browser_not_opted_in"


class ConsentDefaults(StrEnum):
    """What holds before a person has chosen (TASTEGRAPH_CONSENT_DEFAULTS): the place of deployment decides.

    OPT_OUT: settings on until turned off. OPT_IN: settings off until the person turns them on (consent
    law in the EU and UK), and a signed-out browser is not personalized until it says yes."""

    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"


REASON_TEXT: dict[Reason, str] = {
    Reason.PERSONALIZATION_OFF: "Personalization using sites you visit is turned off in your settings.",
    Reason.DO_NOT_TRACK: "Your browser sent Do Not Track.",
    Reason.GLOBAL_PRIVACY_CONTROL: "Your browser sent Global Privacy Control.",
    Reason.BROWSER_OPTED_OUT: "This browser opted out of personalization using sites you visit.",
    Reason.RETENTION_EXPIRED: "The data is older than the retention window.",
    Reason.NO_SUBJECT: "We know nothing about this browser yet, so there is nothing to personalize with.",
    Reason.ADVERTISER_DATA_OFF: "Using info from advertisers to improve ads is turned off in your settings.",
    Reason.ADVERTISER_BLOCKED: "You turned off this advertiser's info in your privacy center.",
    Reason.EVENT_OPTED_OUT: "The advertiser said you opted out of this use of your data.",
    Reason.LIMITED_DATA_PROCESSING: "The advertiser asked for limited data processing for this event.",
    Reason.BROWSER_NOT_OPTED_IN: "This browser has not said yes to personalization using sites you visit.",
}

# The signed-out choice: "1" refused, "0" said yes (opt-in deployments set it; opt-out ones clear it).
OPT_OUT_COOKIE = "tg_optout"


@dataclass(frozen=True)
class RequestSignals:
    """What the current request says about the person's wishes."""

    do_not_track: bool = False
    global_privacy_control: bool = False
    browser_opted_out: bool = False
    browser_opted_in: bool = False  # the choice page said yes (needed where defaults are opt-in)

    @classmethod
    def from_request(cls, headers: Mapping[str, str], cookies: Mapping[str, str]) -> RequestSignals:
        """Read DNT, Sec-GPC and the opt-out cookie. Header names are matched case-insensitively."""
        lowered = {k.lower(): v.strip() for k, v in headers.items()}
        return cls(
            do_not_track=lowered.get("dnt") == "1",
            global_privacy_control=lowered.get("sec-gpc") == "1",
            browser_opted_out=cookies.get(OPT_OUT_COOKIE) == "1",
            browser_opted_in=cookies.get(OPT_OUT_COOKIE) == "0",
        )


@dataclass(frozen=True)
class Subject:
    """Whom the data is about: an account, a browser, or both, with the account's settings snapshot."""

    user_id: int | None
    browser_id: str | None
    personalization: bool = True  # the account setting; a signed-out browser has no account setting
    advertiser_data: bool = True  # "Use info from advertisers to improve ads"
    blocked_ad_accounts: frozenset[int] = frozenset()  # advertisers the person turned off one by one

    @property
    def signed_in(self) -> bool:
        return self.user_id is not None


@dataclass(frozen=True)
class Policy:
    offsite_retention: timedelta = timedelta(days=30)
    # The longest a visitor audience may look back (retention_days 1-540).
    advertiser_retention: timedelta = timedelta(days=540)
    defaults: ConsentDefaults = ConsentDefaults.OPT_OUT


def browser_choice(signals: RequestSignals, policy: Policy) -> bool:
    """The signed-out choice as it stands for this browser (what the choice page shows ticked)."""
    if signals.browser_opted_out:
        return False
    return policy.defaults is ConsentDefaults.OPT_OUT or signals.browser_opted_in


def _awaits_browser_yes(subject: Subject, signals: RequestSignals, policy: Policy) -> bool:
    return not subject.signed_in and not browser_choice(signals, policy)


@dataclass(frozen=True)
class AdvertiserDatum:
    """What an advertiser's event said about its own use, and what its request carried."""

    ad_account_id: int
    opt_out: bool = False
    limited_data_processing: bool = False
    global_privacy_control: bool = False  # the tag request that brought it carried Sec-GPC: 1


@dataclass(frozen=True)
class Decision:
    purpose: Purpose
    subject: Subject
    allowed: bool
    reason: Reason | None
    # Data recorded before this instant may not be used (None: no age limit for this purpose).
    usable_since: datetime | None

    def explain(self) -> str:
        return "allowed" if self.reason is None else REASON_TEXT[self.reason]


def decide(
    purpose: Purpose,
    subject: Subject,
    signals: RequestSignals,
    now: datetime,
    policy: Policy,
    *,
    data_time: datetime | None = None,
    advertiser_datum: AdvertiserDatum | None = None,
) -> Decision:
    """Decide whether `purpose` may touch `subject`'s data now.

    `data_time`, when given, is when the datum in question was recorded: data older than the retention
    window is refused even if no sweep has deleted it yet. `advertiser_datum` describes an advertiser's
    event for ADS_WITH_ADVERTISER_DATA.
    """
    if purpose is Purpose.ADS_WITH_ADVERTISER_DATA:
        return _decide_advertiser_data(subject, signals, now, policy, data_time, advertiser_datum)
    usable_since = now - policy.offsite_retention

    def deny(reason: Reason) -> Decision:
        return Decision(purpose, subject, False, reason, usable_since)

    # Browser signals first: they speak for this request whoever is signed in, and a browser we have
    # never seen (no subject yet) should still hear why nothing will be kept.
    if signals.global_privacy_control:
        return deny(Reason.GLOBAL_PRIVACY_CONTROL)
    if signals.do_not_track:
        return deny(Reason.DO_NOT_TRACK)
    if signals.browser_opted_out:
        return deny(Reason.BROWSER_OPTED_OUT)
    if _awaits_browser_yes(subject, signals, policy):
        return deny(Reason.BROWSER_NOT_OPTED_IN)
    if subject.user_id is None and subject.browser_id is None:
        return deny(Reason.NO_SUBJECT)
    if subject.signed_in and not subject.personalization:
        return deny(Reason.PERSONALIZATION_OFF)
    if data_time is not None and data_time < usable_since:
        return deny(Reason.RETENTION_EXPIRED)
    return Decision(purpose, subject, True, None, usable_since)


def _decide_advertiser_data(
    subject: Subject,
    signals: RequestSignals,
    now: datetime,
    policy: Policy,
    data_time: datetime | None,
    datum: AdvertiserDatum | None,
) -> Decision:
    """Advertiser data may shape ads only with the setting on, no GPC, and no opt-out or LDP on the event.

    Do Not Track is not a condition here: the issue that defined this purpose names GPC as the browser
    signal (an opt-out of sharing); DNT still governs the save button's off-site data.
    """
    purpose = Purpose.ADS_WITH_ADVERTISER_DATA
    usable_since = now - policy.advertiser_retention

    def deny(reason: Reason) -> Decision:
        return Decision(purpose, subject, False, reason, usable_since)

    if signals.global_privacy_control or (datum is not None and datum.global_privacy_control):
        return deny(Reason.GLOBAL_PRIVACY_CONTROL)
    if datum is not None and datum.opt_out:
        return deny(Reason.EVENT_OPTED_OUT)
    if datum is not None and datum.limited_data_processing:
        return deny(Reason.LIMITED_DATA_PROCESSING)
    # Opt-in deployments: nothing an advertiser says about a signed-out browser is used before it says
    # yes (signed-in people have the account setting, off until they turn it on).
    if policy.defaults is ConsentDefaults.OPT_IN and _awaits_browser_yes(subject, signals, policy):
        return deny(Reason.BROWSER_NOT_OPTED_IN)
    if subject.user_id is None and subject.browser_id is None:
        return deny(Reason.NO_SUBJECT)
    if subject.signed_in and not subject.advertiser_data:
        return deny(Reason.ADVERTISER_DATA_OFF)
    if datum is not None and datum.ad_account_id in subject.blocked_ad_accounts:
        return deny(Reason.ADVERTISER_BLOCKED)
    if data_time is not None and data_time < usable_since:
        return deny(Reason.RETENTION_EXPIRED)
    return Decision(purpose, subject, True, None, usable_since)

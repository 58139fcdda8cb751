"""The one consent decision: may this purpose use (or collect) this person's data, right now?

Every rule about DNT, GPC, the Personalization setting, the signed-out opt-out cookie and the retention
window lives here and nowhere else. The function is pure: callers hand it the person's settings snapshot
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


class Reason(StrEnum):
    PERSONALIZATION_OFF = "personalization_off"
    DO_NOT_TRACK = "do_not_track"
    GLOBAL_PRIVACY_CONTROL = "global_privacy_control"
    BROWSER_OPTED_OUT = "browser_opted_out"
    RETENTION_EXPIRED = "retention_expired"
    NO_SUBJECT = "no_subject"


REASON_TEXT: dict[Reason, str] = {
    Reason.PERSONALIZATION_OFF: "Personalization using sites you visit is turned off in your settings.",
    Reason.DO_NOT_TRACK: "Your browser sent Do Not Track.",
    Reason.GLOBAL_PRIVACY_CONTROL: "Your browser sent Global Privacy Control.",
    Reason.BROWSER_OPTED_OUT: "This browser opted out of personalization using sites you visit.",
    Reason.RETENTION_EXPIRED: "The data is older than the retention window.",
    Reason.NO_SUBJECT: "We know nothing about this browser yet, so there is nothing to personalize with.",
}

OPT_OUT_COOKIE = "tg_optout"


@dataclass(frozen=True)
class RequestSignals:
    """What the current request says about the person's wishes."""

    do_not_track: bool = False
    global_privacy_control: bool = False
    browser_opted_out: bool = False

    @classmethod
    def from_request(cls, headers: Mapping[str, str], cookies: Mapping[str, str]) -> RequestSignals:
        """Read DNT, Sec-GPC and the opt-out cookie. Header names are matched case-insensitively."""
        lowered = {k.lower(): v.strip() for k, v in headers.items()}
        return cls(
            do_not_track=lowered.get("dnt") == "1",
            global_privacy_control=lowered.get("sec-gpc") == "1",
            browser_opted_out=cookies.get(OPT_OUT_COOKIE) == "1",
        )


@dataclass(frozen=True)
class Subject:
    """Whom the data is about: an account, a browser, or both, with the account's settings snapshot."""

    user_id: int | None
    browser_id: str | None
    personalization: bool = True  # the account setting; a signed-out browser has no account setting

    @property
    def signed_in(self) -> bool:
        return self.user_id is not None


@dataclass(frozen=True)
class Policy:
    offsite_retention: timedelta = timedelta(days=30)


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
) -> Decision:
    """Decide whether `purpose` may touch `subject`'s data now.

    `data_time`, when given, is when the datum in question was recorded: data older than the retention
    window is refused even if no sweep has deleted it yet.
    """
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
    if subject.user_id is None and subject.browser_id is None:
        return deny(Reason.NO_SUBJECT)
    if subject.signed_in and not subject.personalization:
        return deny(Reason.PERSONALIZATION_OFF)
    if data_time is not None and data_time < usable_since:
        return deny(Reason.RETENTION_EXPIRED)
    return Decision(purpose, subject, True, None, usable_since)

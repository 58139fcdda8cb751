"""Off-site collection: what the save button on other sites reports, and the signed-out choice.

Collection asks consent too (inside collect.visits), so a visit that may never be used is not stored.
The adapter sets the browser cookie when `Recorded.new_browser_id` says so, and the opt-out cookie."""

from __future__ import annotations

from dataclasses import dataclass

from tastegraph.bootstrap import System
from tastegraph.collect import VisitIn, VisitOutcome, visits
from tastegraph.consent import OPT_OUT_COOKIE, ConsentDefaults, RequestSignals, browser_choice
from tastegraph.kernel import InvalidInput
from tastegraph.kernel.urls import domain_of
from tastegraph.usecases.callers import Caller

__all__ = [
    "OPT_OUT_COOKIE",
    "Recorded",
    "VisitIn",
    "VisitOutcome",
    "browser_allows",
    "check_reporting_origin",
    "choice_cookie_value",
    "record_visits",
    "set_browser_choice",
]


@dataclass(frozen=True)
class Recorded:
    outcomes: list[VisitOutcome]
    new_browser_id: str | None  # a browser id to set as a cookie: only when something was kept


def check_reporting_origin(origin: str | None, urls: list[str]) -> None:
    """A page may only report itself: when the browser names the calling origin, the URL must be on it.
    An origin that names no site (`null`: a sandboxed frame, a file, a redirect across sites) is a
    foreign one, so it can report nothing."""
    if origin is None:
        return
    try:
        origin_host = None if origin == "null" else domain_of(origin, field="origin")
    except InvalidInput:
        origin_host = None
    for i, url in enumerate(urls):
        if origin_host is None or domain_of(url) != origin_host:
            field = "url" if len(urls) == 1 else f"visits[{i}].url"
            raise InvalidInput("a page can only report visits to its own site", field=field)


def record_visits(system: System, caller: Caller, origin: str | None, items: list[VisitIn]) -> Recorded:
    """Store the visits this browser reports (each under the consent decision for its subject)."""
    check_reporting_origin(origin, [v.url for v in items])
    browser_id = caller.browser_id
    issued = False
    with system.write() as conn:
        user_id = caller.user_id or system.identity.user_for_browser(conn, browser_id)
        if browser_id is None and user_id is None:
            browser_id, issued = system.identity.new_browser_id(), True
        outcomes = visits.record_visits(
            conn, system.consent, user_id, browser_id, caller.signals, items, system.clock.now()
        )
    kept = issued and any(o.stored and not o.duplicate for o in outcomes)
    return Recorded(outcomes, browser_id if kept else None)


def set_browser_choice(system: System, caller: Caller, allow: bool, previous: bool) -> None:
    """The signed-out checkbox, logged for this browser. Unchecking deletes what this browser reported
    while signed out. (The adapter sets or clears the opt-out cookie.)"""
    if caller.browser_id is not None:
        with system.write() as conn:
            user_id = caller.user_id or system.identity.user_for_browser(conn, caller.browser_id)
            system.consent.record_browser_choice(
                conn, caller.browser_id, user_id, allow, previous, system.clock.now()
            )


def browser_allows(system: System, signals: RequestSignals) -> bool:
    """The signed-out choice as it stands: refused by the opt-out cookie; where consent defaults are
    opt-in, allowed only once the choice page said yes (consent.browser_choice decides)."""
    return browser_choice(signals, system.consent.policy)


def choice_cookie_value(system: System, allow: bool) -> str | None:
    """What the choice cookie must hold after the choice: "1" refused; "0" said yes where defaults are
    opt-in (the yes must be remembered); None, no cookie, for yes where yes is the default."""
    if not allow:
        return "1"
    return "0" if system.consent.policy.defaults is ConsentDefaults.OPT_IN else None

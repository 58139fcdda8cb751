"""Off-site collection: what the save button on other sites reports, and the signed-out choice.

Collection asks consent too (inside collect.visits), so a visit that may never be used is not stored.
The adapter sets the browser cookie when `Recorded.new_browser_id` says so, and the opt-out cookie.

Without third-party cookies (issue 14) a visit reaches its person in one of four ways, each asking
consent exactly as the first does: the first-party browser cookie (third-party cookies allowed, or the
frame was granted storage access), a click id the person's own outbound click put in the landing URL,
or a partitioned cookie whose visits the person ties to themselves by acting on that site (a Save from
the Pin It popup, `link_partitioned_visits`). Nothing else ever ties a visit to anyone."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

from tastegraph.bootstrap import System
from tastegraph.catalog import content
from tastegraph.collect import VisitIn, VisitOutcome, offsite_ids, visits
from tastegraph.collect.offsite_ids import CLICK_PARAMETER, PARTITION_COOKIE
from tastegraph.consent import OPT_OUT_COOKIE, ConsentDefaults, Purpose, RequestSignals, browser_choice
from tastegraph.kernel import InvalidInput
from tastegraph.kernel.urls import domain_of
from tastegraph.usecases.callers import Caller

__all__ = [
    "CLICK_PARAMETER",
    "OPT_OUT_COOKIE",
    "PARTITION_COOKIE",
    "Recorded",
    "VisitIn",
    "VisitOutcome",
    "browser_allows",
    "check_reporting_origin",
    "choice_cookie_value",
    "link_partitioned_visits",
    "outbound_click",
    "record_visits",
    "set_browser_choice",
    "valid_partition_id",
]


@dataclass(frozen=True)
class Recorded:
    outcomes: list[VisitOutcome]
    new_browser_id: str | None  # a browser id to set as a cookie: only when something was kept
    new_partition_id: str | None = None  # a partitioned cookie (CHIPS) to set: only when something was kept
    # A single-use ticket for the Pin It popup: whoever saves there may tie these visits to themselves.
    partition_token: str | None = None


valid_partition_id = offsite_ids.valid_partition_id


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


def _frame_origin(system: System, origin: str | None, embedder: str | None) -> str | None:
    """The origin a visit is checked against. The save button's frame runs on our own origin and says
    which page embeds it (it checks that in the browser, where the page cannot lie to it); `embedder` is
    refused from anywhere else, so no page can claim to be another."""
    if embedder is None:
        return origin
    if origin is None or origin.rstrip("/") != system.settings.public_origin.rstrip("/"):
        raise InvalidInput("embedder is accepted only from the save button's frame", field="embedder")
    return embedder


def record_visits(
    system: System,
    caller: Caller,
    origin: str | None,
    items: list[VisitIn],
    *,
    partitioned: bool = False,
    partition_id: str | None = None,
    click_id: str | None = None,
    embedder: str | None = None,
) -> Recorded:
    """Store the visits this browser reports (each under the consent decision for its subject).

    `partitioned`: the frame says this browser keeps only partitioned cookies here (no storage access),
    so a new browser id would be thrown away; the visits are kept under `partition_id` (the `tg_pid`
    cookie, or a new one) instead, tied to nobody. `click_id`: the `tg_click` the landing page kept;
    it ties the visits to the person who clicked when it is theirs, unexpired, for this host, and this
    browser is the first to come back with it.
    """
    check_reporting_origin(_frame_origin(system, origin, embedder), [v.url for v in items])
    browser_id = caller.browser_id
    issued = issued_partition = False
    token: str | None = None
    with system.write() as conn:
        now = system.clock.now()
        user_id = caller.user_id or system.identity.user_for_browser(conn, browser_id)
        tied_by = None if user_id is None else "account" if caller.user_id else "browser"
        pid = None
        if browser_id is None and user_id is None:
            if partitioned:
                pid = offsite_ids.valid_partition_id(partition_id)
                if pid is None:
                    pid, issued_partition = offsite_ids.new_partition_id(), True
            else:
                browser_id, issued = system.identity.new_browser_id(), True
        # Each URL checked with the field a person can act on (visits.record checks them all again).
        hosts = {
            domain_of(v.url, field="url" if len(items) == 1 else f"visits[{i}].url")
            for i, v in enumerate(items)
        }
        if click_id and user_id is None and len(hosts) == 1:
            presenter = browser_id or pid
            assert presenter is not None
            owner = offsite_ids.click_owner(conn, click_id, hosts.pop(), presenter, now)
            if owner is not None:
                user_id, tied_by = owner, "click"
        outcomes = visits.record_visits(
            conn,
            system.consent,
            user_id,
            browser_id,
            caller.signals,
            items,
            now,
            partition_id=pid,
            tied_by=tied_by,
        )
        kept = any(o.stored and not o.duplicate for o in outcomes)
        if pid is not None and kept:
            first = next((i for i, o in zip(items, outcomes, strict=True) if o.stored and not o.linked), None)
            if first is not None:
                domain = _stored_domain(first)
                token = offsite_ids.mint_ticket(conn, pid, domain, domain_of(first.url), now)
    return Recorded(
        outcomes,
        browser_id if issued and kept else None,
        pid if issued_partition and kept else None,
        token,
    )


def _stored_domain(item: VisitIn) -> str:
    """The site a visit is stored under (a loopback page may name the one it stands for)."""
    return item.site.strip().lower() if item.site else domain_of(item.url)


def link_partitioned_visits(system: System, caller: Caller, partition_token: str, site: str | None) -> int:
    """Tie a partition's stored visits on `site` to the signed-in caller, who is acting there now (a Save
    from the Pin It popup that the partition's frame opened); returns how many visits were tied.

    `partition_token` is the single-use ticket the frame put in the popup URL (`partition=`); `site` is
    the page's URL or host (the ticket must be for it). Only visits within the retention window, only
    when the caller's settings and this request's signals (GPC, DNT, the opt-out cookie) allow
    collecting off-site data: otherwise the partition's unclaimed visits there are deleted, since the
    one person who could ever claim them said no. A partition is tied to one person at most: a ticket
    someone else replays ties nothing to them. Signed out, a used, expired or unknown ticket: 0.
    """
    if caller.user_id is None or not partition_token:
        return 0
    host = None
    if site:
        host = domain_of(site) if "://" in site else site.strip().lower()
    with system.write() as conn:
        now = system.clock.now()
        ticket = offsite_ids.redeem_ticket(conn, partition_token, host, now)
        if ticket is None:
            return 0
        decision = system.consent.decide(
            conn, Purpose.COLLECT_OFFSITE, caller.user_id, caller.browser_id, caller.signals, now
        )
        if not decision.allowed:
            offsite_ids.drop_partition_visits(conn, ticket.partition_id, ticket.domain)
            return 0
        assert decision.usable_since is not None
        return offsite_ids.link_partition(
            conn, ticket.partition_id, ticket.domain, caller.user_id, decision.usable_since, now
        )


def outbound_click(system: System, caller: Caller, pin_id: int) -> str:
    """Where a click from a Pin to its site goes: the Pin's link, with a fresh click id (`tg_click`) when
    the caller is signed in and their settings and this request's signals allow personalizing with
    sites they visit; otherwise the plain link. Unknown Pin: NotFound."""
    with system.write() as conn:
        now = system.clock.now()
        pin = content.get_pin(conn, pin_id)
        link = pin["link"]
        parts = urlsplit(link)
        if caller.user_id is None or parts.scheme not in ("http", "https") or not parts.hostname:
            return link
        for purpose in (Purpose.COLLECT_OFFSITE, Purpose.PERSONALIZE_WITH_OFFSITE):
            decision = system.consent.decide(
                conn, purpose, caller.user_id, caller.browser_id, caller.signals, now
            )
            if not decision.allowed:
                return link
        token = offsite_ids.mint_click(conn, caller.user_id, pin_id, domain_of(link), now)
    query = f"{parts.query}&" if parts.query else ""
    return urlunsplit(parts._replace(query=query + urlencode({CLICK_PARAMETER: token})))


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

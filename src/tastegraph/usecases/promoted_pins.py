"""Promoted Pins as people meet them: the ads a page carries (home feed, related Pins, search), and what
people do with them — impressions, clicks, hides and their undo.

Consent decides at serving time, per signal (ads.targeting.allowed_signals): audiences only under the
person's advertiser-data decision, off-site interests only under this request's Personalization
decision, on-site interests for a signed-in person, the search's words and the Pin looked at always.
A token speaks only for whom it was served to: an impression, click or hide reported by anyone else
changes nothing and charges nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, NotRequired, TypedDict
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import Connection

from tastegraph.ads import (
    ad_log,
    audiences,
    delivery,
    pacing,
    serving_index,
    slots,
    spend,
    targeting,
    tracking_urls,
)
from tastegraph.ads import ads as ad_rows
from tastegraph.ads.tokens import AdToken, TokenRefused, subject_key
from tastegraph.bootstrap import System
from tastegraph.catalog import content, graph_reads
from tastegraph.catalog.content import Pin
from tastegraph.collect import advertiser_events
from tastegraph.consent import Decision, Purpose
from tastegraph.kernel import Forbidden, InvalidInput, NotFound
from tastegraph.measure import pixels
from tastegraph.recommend import ReasonJson, ad_interests
from tastegraph.usecases.callers import Caller, offsite_permit

log = logging.getLogger("tastegraph.ads")

Placement = Literal["browse", "search"]
CLICK_PARAMETER = "tg_click"


class PromotedJson(TypedDict):
    """What marks an item as an ad (docs/api.md)."""

    ad_id: int
    ad_account_id: int
    advertiser_name: str
    token: str
    # TASTEGRAPH_MEASUREMENT_PIXELS=browser, when the person's consent allows: the ad's third-party
    # measurement URLs (macros expanded) for the page to call after the event counted.
    pixels: NotRequired[tracking_urls.TrackingUrlsJson]


@dataclass(frozen=True)
class AdItem:
    position: int  # 1-based, in the merged page
    pin: Pin
    reasons: list[ReasonJson]  # why this ad
    promoted: PromotedJson


def _subject(caller: Caller) -> tuple[spend.Subject | None, str | None]:
    key = subject_key(caller.user_id, caller.browser_id)
    if key is None:
        return None, None
    if caller.user_id is not None:
        return spend.Subject(user_id=caller.user_id), key
    return spend.Subject(browser_id=key[2:]), key


def _advertiser_decision(system: System, conn: Connection, caller: Caller) -> Decision:
    return system.consent.decide(
        conn,
        Purpose.ADS_WITH_ADVERTISER_DATA,
        caller.user_id,
        caller.browser_id,
        caller.signals,
        system.clock.now(),
    )


def _memberships(conn: Connection, user_id: int) -> dict[int, targeting.Membership]:
    members = audiences.memberships_of(conn, user_id)
    if not members:  # most people: no need to look at advertisers' events at all
        return {}
    last = {
        a["ad_account_id"]: a["last_at"] for a in advertiser_events.accounts_with_data_about(conn, user_id)
    }
    return {
        m["audience_id"]: targeting.Membership(
            m["audience_id"], m["ad_account_id"], m["advertiser"], m["kind"], last.get(m["ad_account_id"])
        )
        for m in members
    }


def signals_for(
    system: System,
    conn: Connection,
    caller: Caller,
    placement: Placement,
    *,
    query: str | None = None,
    viewed_pin: int | None = None,
    permit: Decision | None = None,
) -> tuple[targeting.AdSignals, dict[str, float]]:
    """The request's allowed signals, reading nothing consent refused, and the allowed topic affinities."""
    permit = permit or offsite_permit(system, conn, caller)
    signed_in = caller.user_id is not None
    advertiser = _advertiser_decision(system, conn, caller) if signed_in else None
    interests = ad_interests(conn, caller.user_id, permit) if signed_in else None
    viewed: dict[str, str] = {}
    if viewed_pin is not None:
        names = content.topics_by_slug(conn)
        viewed = {t: names[t][1] for t in content.get_pin(conn, viewed_pin)["topics"] if t in names}
    allowed_ads = advertiser is not None and advertiser.allowed
    signals = targeting.allowed_signals(
        placement=placement,
        signed_in=signed_in,
        offsite_allowed=permit.allowed,
        advertiser_data_allowed=allowed_ads,
        query=query,
        viewed_pin=viewed_pin,
        viewed_topics=viewed,
        onsite={t: targeting.OnSiteInterest(t, i.name, i.engagements) for t, i in interests.onsite.items()}
        if interests
        else None,
        offsite={
            t: targeting.OffSiteInterest(t, o.name, o.site, o.visited_at)
            for t, o in interests.offsite.items()
        }
        if interests and permit.allowed
        else None,
        audiences=_memberships(conn, caller.user_id) if allowed_ads and caller.user_id is not None else None,
        blocked_ad_accounts=frozenset(advertiser.subject.blocked_ad_accounts) if advertiser else frozenset(),
    )
    return signals, (interests.affinity if interests else {})


def page_ads(
    system: System,
    conn: Connection,
    caller: Caller,
    placement: Placement,
    organic_pin_ids: list[int],
    *,
    query: str | None = None,
    viewed_pin: int | None = None,
    permit: Decision | None = None,
) -> list[AdItem]:
    """The Promoted Pins for a page of `organic_pin_ids`, with their positions in the merged page."""
    settings = system.settings
    if not settings.ads_enabled:
        return []
    at = slots.positions(settings.ad_slots, len(organic_pin_ids))
    if not at:
        return []
    now = system.clock.now()
    index = serving_index.current(conn)
    if not index.groups and not index.unusable:
        return []
    signals, affinity = signals_for(
        system, conn, caller, placement, query=query, viewed_pin=viewed_pin, permit=permit
    )
    excluded = set(organic_pin_ids)
    if viewed_pin is not None:
        excluded.add(viewed_pin)
    if caller.user_id is not None:
        excluded |= graph_reads.saved_pins(conn, caller.user_id) | graph_reads.hidden_pins(
            conn, caller.user_id
        )
    subject, key = _subject(caller)
    # The person's hides, and this browser's own from when it was signed out (they only take ads away).
    hidden_ads, hidden_accounts = ad_log.hidden(conn, caller.user_id, None)
    if browser := subject_key(None, caller.browser_id):
        more_ads, more_accounts = ad_log.hidden(conn, None, browser[2:])
        hidden_ads, hidden_accounts = hidden_ads | more_ads, hidden_accounts | more_accounts
    serving = system.ad_serving
    served, outcome = delivery.choose(
        index,
        delivery.PageRequest(
            signals=signals,
            subject=subject,
            subject_key=key,
            slots=len(at),
            excluded_pins=frozenset(excluded),
            hidden_ads=frozenset(hidden_ads),
            hidden_ad_accounts=frozenset(hidden_accounts),
            affinity=affinity,
        ),
        now=now,
        store=system.ad_spend,
        pacer=serving.pacer,
        signer=serving.signer,
        predict_ctr=serving.ctr.predict,
        reserve_cpm_micro=settings.ad_reserve_cpm_micro,
    )
    _tally(system, index, outcome, placement, now)
    pins = content.get_pins(conn, [s.pin_id for s in served])
    items = [
        AdItem(
            position,
            pins[s.pin_id],
            [r.to_json() for r in s.reasons],
            {
                "ad_id": s.ad_id,
                "ad_account_id": s.ad_account_id,
                "advertiser_name": s.advertiser,
                "token": s.token,
            },
        )
        for position, s in zip(at, served, strict=False)
        if s.pin_id in pins
    ]
    if items and settings.measurement_pixels == "browser" and _browser_pixels_allowed(system, conn, caller):
        for item in items:
            found = ad_rows.tracking_of(conn, item.promoted["ad_id"])
            if found is not None:
                fired = tracking_urls.empty()
                for event in tracking_urls.EVENTS:
                    fired[event] = [tracking_urls.expand(u, found.ids, now) for u in found.urls[event]]
                item.promoted["pixels"] = fired
    return items


def _browser_pixels_allowed(system: System, conn: Connection, caller: Caller) -> bool:
    """Whether the page may call the ads' third-party URLs itself (`browser` mode). The third party then
    sees the person's address and browser, so it is decided like data shared with advertisers: the
    "use info from advertisers" decision (ADS_WITH_ADVERTISER_DATA) for this person or signed-out
    browser, with this request's GPC, DNT and opt-out cookie."""
    return _advertiser_decision(system, conn, caller).allowed


def _queue_pixels(
    system: System,
    conn: Connection,
    event: tracking_urls.Event,
    token: AdToken,
    now: datetime,
    kind: str = "",
) -> None:
    """`server` mode: queue the ad's URLs for an event just recorded, in the transaction that recorded it."""
    if system.settings.measurement_pixels != "server":
        return
    found = ad_rows.tracking_of(conn, token.ad_id)
    if found is not None:
        pixels.enqueue(conn, event, pixels.event_key(event, token.id, kind or None), found, now)


def _tally(
    system: System,
    index: serving_index.ServingIndex,
    outcome: delivery.Outcome,
    placement: str,
    now: datetime,
) -> None:
    reached = (
        outcome.eligible | outcome.lost_pacing | outcome.lost_budget | outcome.lost_frequency | outcome.served
    )
    days = {
        g: pacing.budget_day(now, index.by_id[g].timezone).isoformat() for g in reached | outcome.lost_auction
    }
    for g in outcome.unusable:
        days[g] = pacing.budget_day(now, index.unusable_zones[g]).isoformat()
    tally = system.ad_serving.tally
    tally.add(outcome, placement, days, now)
    if tally.overdue():  # the server flushes them in the background (maintenance.flush_delivery_counts)
        try:
            tally.flush(system.engine)
        except Exception:  # counts wait for the next flush; serving goes on
            log.exception("could not write the delivery counters")


# --- what people do with an ad ---------------------------------------------------------------------


Status = Literal["recorded", "duplicate", "refused"]


@dataclass(frozen=True)
class TokenResult:
    status: Status
    reason: str | None = None  # refused: forged | expired | not_yours


def _verify(system: System, caller: Caller, token: str) -> AdToken:
    """The token, if it is ours, current, and was served to this caller (TokenRefused otherwise)."""
    parsed = system.ad_serving.signer.verify(token, system.clock.now())
    if parsed.subject is None or parsed.subject != subject_key(caller.user_id, caller.browser_id):
        # Reported by someone else (or served to nobody we can tell): it speaks for no one here.
        raise TokenRefused("not_yours")
    return parsed


MAX_TOKENS = 50


def impressions(system: System, caller: Caller, tokens: list[str]) -> list[TokenResult]:
    """Each token's impression: recorded (a CPM ad is charged its auction price, once), a duplicate, or
    refused (forged, expired, not served to this caller) — the last two charge nothing."""
    if len(tokens) > MAX_TOKENS:
        raise InvalidInput(f"at most {MAX_TOKENS} tokens at once", field="tokens")
    out: list[TokenResult] = []
    for token in tokens:
        try:
            parsed = _verify(system, caller, token)
        except TokenRefused as refused:
            out.append(TokenResult("refused", refused.why))
            continue
        out.append(_impression(system, parsed))
    return out


def _impression(system: System, token: AdToken) -> TokenResult:
    now = system.clock.now()
    charged = 0
    if token.billable_event == "impression":
        outcome = system.ad_spend.charge(token.id, token.price_micro, now)
        if outcome == "expired":
            return TokenResult("refused", "expired")
        charged = token.price_micro if outcome == "charged" else 0
    with system.write() as conn:
        status = ad_log.record_impression(conn, token, charged, now)
        if status == "recorded":
            _queue_pixels(system, conn, "impression", token, now)
    return TokenResult(status)


def engagement(system: System, caller: Caller, token: str, kind: ad_log.EngagementKind) -> TokenResult:
    """The caller saved the Promoted Pin the token served, or opened it up close: counted once per
    token and kind (for measurement; engagement is never charged). Refused like an impression."""
    try:
        parsed = _verify(system, caller, token)
    except TokenRefused as refused:
        return TokenResult("refused", refused.why)
    now = system.clock.now()
    with system.write() as conn:
        status = ad_log.record_engagement(conn, parsed, kind, now)
        if status == "recorded":  # each kind is an engagement of its own: the URLs hear of each once
            _queue_pixels(system, conn, "engagement", parsed, now, kind)
    return TokenResult(status)


@dataclass(frozen=True)
class Click:
    destination: str  # where to send the person (with tg_click when the click counted)
    status: Status
    reason: str | None = None


def with_click_id(url: str, click_id: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != CLICK_PARAMETER]
    query.append((CLICK_PARAMETER, click_id))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def click(system: System, caller: Caller, token: str) -> Click:
    """Record the click (a CPC ad is charged its auction price, once) and say where to go. A token that is
    not ours gets NotFound; one that is ours but expired or not this caller's still leads to the ad's
    destination (the person asked to go there) without a click id, and counts nothing."""
    now = system.clock.now()
    try:
        parsed = system.ad_serving.signer.verify(token, now)
    except TokenRefused as refused:
        if refused.why == "forged":
            raise NotFound("no such ad", field="token") from None
        parsed = None
    destination = _destination(system, token, parsed)
    if parsed is None:
        return Click(destination, "refused", "expired")
    if parsed.subject is None or parsed.subject != subject_key(caller.user_id, caller.browser_id):
        return Click(destination, "refused", "not_yours")
    charged = 0
    if parsed.billable_event == "click":
        outcome = system.ad_spend.charge(parsed.id, parsed.price_micro, now)
        charged = parsed.price_micro if outcome == "charged" else 0
    with system.write() as conn:
        status, click_id = ad_log.record_click(conn, parsed, charged, now)
        if status == "recorded":
            _queue_pixels(system, conn, "click", parsed, now)
    return Click(with_click_id(destination, click_id), status)


def _destination(system: System, token: str, parsed: AdToken | None) -> str:
    """The ad's destination; for an expired token its signature is checked and its age ignored (only
    to send the person on)."""
    if parsed is None:
        parsed = system.ad_serving.signer.verify(token, system.clock.now(), check_expiry=False)
    with system.read() as conn:
        found = ad_rows.destination(conn, parsed.ad_id)
    if found is None:
        raise NotFound("that ad is gone", field="token")
    return found


def hide(system: System, caller: Caller, token: str, scope: Literal["ad", "advertiser"]) -> int:
    """Hide the ad (or its advertiser's ads) from this person or signed-out browser; the hide's id."""
    try:
        parsed = _verify(system, caller, token)
    except TokenRefused as refused:
        if refused.why == "not_yours":
            raise Forbidden("that ad was not shown to you", field="token") from None
        raise InvalidInput(f"that ad token is {refused.why}", field="token") from None
    with system.write() as conn:
        return ad_log.hide(conn, parsed, scope, system.clock.now())


def _owner(caller: Caller) -> tuple[int | None, str | None]:
    if caller.user_id is not None:
        return caller.user_id, None
    key = subject_key(None, caller.browser_id)
    return None, key[2:] if key else None


def hidden_ads(system: System, caller: Caller) -> list[ad_log.HideJson]:
    with system.read() as conn:
        return ad_log.list_hides(conn, *_owner(caller))


def unhide(system: System, caller: Caller, hide_id: int) -> None:
    with system.write() as conn:
        ad_log.unhide(conn, *_owner(caller), hide_id)

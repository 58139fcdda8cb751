"""Choosing the Promoted Pins for one page: the ad groups the request's allowed signals reach (ads.targeting,
ads.serving_index), the ones live, not hidden and let in by pacing, their predicted click-through rates,
the auction, and a reservation of each winner's price and frequency on the shared counters (ads.spend) —
a winner whose budget or cap refuses is dropped and the auction run again without it.

What it returns is what the page shows: per slot, the ad, its signed token (ads.tokens) and its reasons.
It also counts, per ad group, why it did or did not serve (ads.delivery_stats), never who was asked.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice

import numpy as np

from tastegraph.ads import auction, pacing, spend
from tastegraph.ads.ctr import CtrFeatures, Placement, serving_features
from tastegraph.ads.serving_index import ServingAd, ServingGroup, ServingIndex
from tastegraph.ads.targeting import AdSignals, match, matches
from tastegraph.ads.tokens import TOKEN_LIFETIME, AdToken, TokenSigner, new_token_id
from tastegraph.ads.why_this_ad import AdReason

MAX_RETRIES = 4  # auctions re-run after a refused reservation, per page
# Retrieval (see choose): the ad groups let into one request's auction, and the step of the walk.
MAX_ENTRANTS = 120
RETRIEVAL_CHUNK = 64
CtrPredict = Callable[[Sequence[CtrFeatures]], np.ndarray]


@dataclass(frozen=True)
class ServedAd:
    slot: int  # 0 for the page's first ad slot
    token: str
    ad_id: int
    ad_group_id: int
    ad_account_id: int
    advertiser: str
    pin_id: int
    destination_url: str
    price_micro: int
    billable_event: str
    reasons: list[AdReason]


@dataclass
class Outcome:
    """What happened to each ad group this request could reach (delivery insights count these)."""

    eligible: set[int] = field(default_factory=set)
    not_matched: set[int] = field(default_factory=set)
    lost_pacing: set[int] = field(default_factory=set)
    lost_budget: set[int] = field(default_factory=set)
    lost_frequency: set[int] = field(default_factory=set)
    lost_auction: set[int] = field(default_factory=set)
    served: set[int] = field(default_factory=set)
    # Active ad groups of its placement that could not take part: an included audience is under
    # ads.audiences.MIN_AUDIENCE (serving_index leaves them out; they are counted here, never matched).
    unusable: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class PageRequest:
    signals: AdSignals
    subject: spend.Subject | None  # whom frequency caps count for (None: nobody we can count)
    subject_key: str | None  # ads.tokens.subject_key
    slots: int
    excluded_pins: frozenset[int]  # the page's organic Pins, and the person's saved and hidden ones
    hidden_ads: frozenset[int]
    hidden_ad_accounts: frozenset[int]
    affinity: dict[str, float]  # the person's topic affinities (shares), as allowed for this request


class Pacer:
    """Standard pacing's controller states, one per ad group, in this process; each re-planned at most
    once a minute from the shared spend (so every process paces on the same spend)."""

    def __init__(self, curve: pacing.TrafficCurve | None = None, config: pacing.PacingConfig | None = None):
        self.curve = curve or pacing.TrafficCurve.diurnal()
        self.config = config or pacing.PacingConfig()
        self.states: dict[int, pacing.PacingState] = {}

    def window(self, g: ServingGroup, now: datetime) -> tuple[datetime, datetime]:
        if g.budget_type == "lifetime" and g.end_time is not None:
            return (g.start_time or g.campaign_start or now, g.end_time)
        return pacing.day_window(now, g.timezone)

    def refresh(self, groups: Sequence[ServingGroup], store: spend.SpendStore, now: datetime) -> None:
        due = []
        for g in groups:
            if g.pacing != "standard":
                continue
            state = self.states.get(g.id)
            window = self.window(g, now)
            if (
                state is None
                or state.window_start != window[0]
                or now - state.last_update >= self.config.update_every
            ):
                due.append((g, window))
        if not due:
            return
        spent = store.spent([budget_key(g, now) for g, _ in due])
        for g, window in due:
            state = self.states.get(g.id) or pacing.new_state(now, window[0], self.config)
            self.states[g.id] = pacing.update(
                state,
                now=now,
                window=window,
                spent_micro=spent[budget_key(g, now)].spent,
                budget_micro=g.budget_micro,
                curve=self.curve,
                config=self.config,
            )

    def admits(self, g: ServingGroup, draw: float) -> bool:
        if g.pacing == "accelerated":
            return True
        return pacing.admits("standard", self.states.get(g.id), draw)


def budget_key(g: ServingGroup, now: datetime) -> str:
    if g.budget_type == "lifetime":
        return spend.lifetime_key("ag", g.id)
    return spend.day_key("ag", g.id, pacing.budget_day(now, g.timezone))


def budgets_of(g: ServingGroup, now: datetime) -> list[spend.Budget]:
    """Every budget the ad group's spend counts against, with the 1 % guard's limit for its own."""
    day = pacing.budget_day(now, g.timezone)
    out = [spend.Budget(budget_key(g, now), pacing.spend_cap_micro(g.budget_micro))]
    if g.campaign_daily_cap is not None:
        out.append(spend.Budget(spend.day_key("c", g.campaign_id, day), g.campaign_daily_cap))
    if g.campaign_lifetime_cap is not None:
        out.append(spend.Budget(spend.lifetime_key("c", g.campaign_id), g.campaign_lifetime_cap))
    return out


def caps_of(g: ServingGroup, subject: spend.Subject | None, now: datetime) -> list[spend.FrequencyCap]:
    if g.frequency_cap is None or subject is None:
        return []
    impressions, days = g.frequency_cap
    return [spend.FrequencyCap(subject, f"ag:{g.id}", impressions, days, pacing.budget_day(now, g.timezone))]


@dataclass
class _Entrant:
    group: ServingGroup
    ad: ServingAd
    pctr: float = 0.0


def _pick_ad(g: ServingGroup, req: PageRequest) -> ServingAd | None:
    for ad in g.ads:
        if ad.pin_id not in req.excluded_pins and ad.ad_id not in req.hidden_ads:
            return ad
    return None


def choose(
    index: ServingIndex,
    req: PageRequest,
    *,
    now: datetime,
    store: spend.SpendStore,
    pacer: Pacer,
    signer: TokenSigner,
    predict_ctr: CtrPredict,
    reserve_cpm_micro: int,
    rng: random.Random | None = None,
) -> tuple[list[ServedAd], Outcome]:
    """The page's Promoted Pins (at most `req.slots`, one per advertiser) and what happened to each
    ad group the request reached. A capped person or a spent budget is refused by the counters, so
    several processes serving at once can never pass a budget (beyond the 1 % guard) or a cap."""
    rng = rng or random.Random()
    outcome = Outcome(unusable=set(index.unusable.get(req.signals.placement, ())))
    if req.slots <= 0:
        return [], outcome
    # Retrieval: the reachable ad groups come in order of their static expected value (serving_index),
    # and are taken in chunks until MAX_ENTRANTS have passed targeting and pacing. With thousands of
    # groups reaching a request (broad targeting reaches all), scoring every one would cost more than
    # the page; a group further down would rarely win (quality moves a score by at most 4x) and still
    # enters whenever those above it are paced out, unmatched or hidden.
    reachable = index.reachable(req.signals)
    entrants: list[_Entrant] = []
    while chunk := list(islice(reachable, RETRIEVAL_CHUNK)):
        live: list[_Entrant] = []
        for g in chunk:
            if not g.live(now) or g.ad_account_id in req.hidden_ad_accounts:
                continue
            # The cheap test for every reachable group; the reasons only for those shown (below).
            if not matches(g.targeting, req.signals):
                outcome.not_matched.add(g.id)
                continue
            ad = _pick_ad(g, req)
            if ad is None:
                continue
            outcome.eligible.add(g.id)
            live.append(_Entrant(g, ad))
        pacer.refresh([e.group for e in live], store, now)
        for e in live:
            if pacer.admits(e.group, rng.random()):
                entrants.append(e)
            else:
                outcome.lost_pacing.add(e.group.id)
        if len(entrants) >= MAX_ENTRANTS:
            break
    if caps := [c for e in entrants for c in caps_of(e.group, req.subject, now)]:
        # Skip ads already at their cap before the auction (the reservation still decides).
        served = dict(zip((c.scope for c in caps), store.served(caps), strict=True))
        capped = {
            e.group.id
            for e in entrants
            if e.group.frequency_cap and served.get(f"ag:{e.group.id}", 0) >= e.group.frequency_cap[0]
        }
        outcome.lost_frequency |= capped
        entrants = [e for e in entrants if e.group.id not in capped]
    if not entrants:
        return [], outcome
    placement: Placement = (
        "search" if req.signals.placement == "search" else ("related" if req.signals.viewed_pin else "browse")
    )
    features = [
        serving_features(
            ad_id=e.ad.ad_id,
            advertiser_id=e.group.ad_account_id,
            pin_id=e.ad.pin_id,
            pin_topics=e.group.pin_topics,
            placement=placement,
            affinity=req.affinity,
            position=0,
        )
        for e in entrants
    ]
    pctr = np.clip(np.asarray(predict_ctr(features), dtype=np.float64), 1e-6, 1.0)
    for e, p in zip(entrants, pctr, strict=True):
        e.pctr = float(p)
    served_ads: list[ServedAd] = []
    taken: set[int] = set()  # ad groups out of this page (won a slot, or refused by the counters)
    advertisers_won: set[int] = set()
    for _ in range(MAX_RETRIES + 1):
        pool = [
            e for e in entrants if e.group.id not in taken and e.group.ad_account_id not in advertisers_won
        ]
        open_slots = req.slots - len(served_ads)
        if not pool or open_slots <= 0:
            break
        wins = _auction(pool, open_slots, reserve_cpm_micro)
        tokens = [
            AdToken(
                id=new_token_id(),
                ad_id=pool[win.index].ad.ad_id,
                ad_group_id=pool[win.index].group.id,
                ad_account_id=pool[win.index].group.ad_account_id,
                pin_id=pool[win.index].ad.pin_id,
                price_micro=win.price_micro,
                billable_event=pool[win.index].group.billable_event,
                subject=req.subject_key,
                # Logged as the page it was on (the pCTR model learns related Pins apart).
                placement="related" if req.signals.viewed_pin is not None else req.signals.placement,
                position=len(served_ads) + n,
                issued_at=now,
                expires_at=now + TOKEN_LIFETIME,
            )
            for n, win in enumerate(wins)
        ]
        # The page's winners in one call, in slot order; it stops at the first refusal (the prices of
        # the slots below depended on the refused ad, so the auction runs again without it).
        results = store.reserve_many(
            [
                spend.Reservation(
                    t.id,
                    w.price_micro,
                    budgets_of(pool[w.index].group, now),
                    caps_of(pool[w.index].group, req.subject, now),
                    t.expires_at,
                )
                for w, t in zip(wins, tokens, strict=True)
            ],
            now=now,
        )
        refused = False
        for win, token, result in zip(wins, tokens, results, strict=False):
            e = pool[win.index]
            taken.add(e.group.id)
            if result != "reserved":
                (outcome.lost_budget if result == "budget" else outcome.lost_frequency).add(e.group.id)
                refused = True
                break
            advertisers_won.add(e.group.ad_account_id)
            outcome.served.add(e.group.id)
            reasons = match(e.group.targeting, req.signals)
            assert reasons is not None  # matches() let it in: the same rules
            served_ads.append(
                ServedAd(
                    slot=len(served_ads),
                    token=signer.sign(token),
                    ad_id=e.ad.ad_id,
                    ad_group_id=e.group.id,
                    ad_account_id=e.group.ad_account_id,
                    advertiser=e.group.advertiser,
                    pin_id=e.ad.pin_id,
                    destination_url=e.ad.destination_url,
                    price_micro=win.price_micro,
                    billable_event=e.group.billable_event,
                    reasons=reasons,
                )
            )
        if not refused:
            break
    for e in entrants:
        if e.group.id not in taken:
            outcome.lost_auction.add(e.group.id)
    return served_ads, outcome


def _auction(pool: list[_Entrant], slots: int, reserve_cpm_micro: int) -> list[auction.Win]:
    pctr = np.array([e.pctr for e in pool], dtype=np.float64)
    peer = float(np.median(pctr))
    quality = auction.quality_factors(pctr, np.full_like(pctr, peer), 0, 0, 1.0)
    candidates = auction.Candidates.of(
        ad_id=[e.ad.ad_id for e in pool],
        ad_group_id=[e.group.id for e in pool],
        advertiser_id=[e.group.ad_account_id for e in pool],
        billable=[auction.CLICK if e.group.billable_event == "click" else auction.IMPRESSION for e in pool],
        bid_micro=[e.group.bid_micro for e in pool],
        pctr=pctr,
        quality=quality,
    )
    return auction.run_auction(candidates, slots, reserve_cpm_micro)

"""What can serve, in memory: every active ad group of an active campaign with its active ads and its
targeting, indexed by the signals that can reach it (topics, search words, audiences), re-read from the
database every few seconds. A request looks up only the ad groups its signals can reach, then matches
each (ads.targeting)."""

from __future__ import annotations

import heapq
import logging
import threading
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from tastegraph.ads.audiences import MIN_AUDIENCE
from tastegraph.ads.object_rules import Status, within_schedule
from tastegraph.ads.tables import ad_accounts, ad_groups, ads, audience_members, audiences, campaigns
from tastegraph.ads.targeting import AdSignals, Targeting, normalize
from tastegraph.catalog import content
from tastegraph.kernel.cache import PerDatabase, monotonic

REFRESH_SECONDS = 5.0
log = logging.getLogger("tastegraph.ads")


@dataclass(frozen=True)
class ServingAd:
    ad_id: int
    pin_id: int
    destination_url: str


@dataclass(frozen=True)
class ServingGroup:
    id: int
    campaign_id: int
    ad_account_id: int
    advertiser: str
    timezone: str
    billable_event: str  # impression | click
    bid_micro: int  # per 1,000 impressions, or per click
    budget_micro: int
    budget_type: str  # daily | lifetime
    pacing: str  # standard | accelerated
    start_time: datetime | None
    end_time: datetime | None
    campaign_start: datetime | None
    campaign_end: datetime | None
    campaign_daily_cap: int | None
    campaign_lifetime_cap: int | None
    frequency_cap: tuple[int, int] | None  # (impressions, days)
    targeting: Targeting
    ads: tuple[ServingAd, ...]
    pin_topics: frozenset[str]  # the topics of its ads' Pins

    def live(self, now: datetime) -> bool:
        return within_schedule(self.start_time, self.end_time, now) and within_schedule(
            self.campaign_start, self.campaign_end, now
        )


@dataclass
class ServingIndex:
    groups: list[ServingGroup]
    by_topic: dict[str, list[int]] = field(default_factory=dict)
    by_word: dict[str, list[int]] = field(default_factory=dict)
    by_audience: dict[int, list[int]] = field(default_factory=dict)
    everyone: list[int] = field(default_factory=list)  # broad or expanded: any request may reach them
    by_id: dict[int, ServingGroup] = field(default_factory=dict)
    # Active ad groups with active ads left out for an unusable included audience, per request
    # placement (browse | search), and their ad accounts' time zones: delivery insights count them.
    unusable: dict[str, tuple[int, ...]] = field(default_factory=dict)
    unusable_zones: dict[int, str] = field(default_factory=dict)

    def reachable(self, s: AdSignals) -> Iterator[ServingGroup]:
        """The ad groups this request's signals can reach (a superset of those that match), best static
        expected value first, each once. Lazily: the posting lists are in index order (best first), so
        a merge yields the first groups without sorting the thousands a broad request reaches, and
        serving stops reading after the few it needs (delivery.choose)."""
        postings: list[Sequence[int]] = [self.everyone]
        postings += [self.by_topic.get(t, ()) for t in (*s.viewed_topics, *s.onsite, *s.offsite)]
        postings += [self.by_word.get(w, ()) for w in s.query_words]
        postings += [self.by_audience.get(a, ()) for a in s.audiences]
        last = -1
        for i in heapq.merge(*(p for p in postings if p)):
            if i != last:
                last = i
                yield self.groups[i]


def _usable_audiences(conn: Connection, audience_ids: set[int]) -> set[int]:
    if not audience_ids:
        return set()
    rows = conn.execute(
        select(audience_members.c.audience_id, func.count())
        .where(audience_members.c.audience_id.in_(sorted(audience_ids)))
        .group_by(audience_members.c.audience_id)
    )
    exists = set(
        conn.execute(select(audiences.c.id).where(audiences.c.id.in_(sorted(audience_ids)))).scalars()
    )
    return {int(a) for a, n in rows if n >= MIN_AUDIENCE and int(a) in exists}


# What a click is worth per impression before any prediction: about the click-through rate of promoted
# content on image-led feeds (ads.ctr_holder.COLD_START_CTR).
PRIOR_CTR = 0.01


def _static_value(billable_event: str, bid_micro: int) -> float:
    """Expected value per impression from the bid alone (CPM bids are per 1,000 impressions)."""
    return bid_micro * PRIOR_CTR if billable_event == "click" else bid_micro / 1000


def load(conn: Connection) -> ServingIndex:
    """Read every ad group that may serve: it, its campaign and at least one of its ads active, and every
    audience it includes usable (an unusable one stops it: ads.ad_groups.serving_problems says so)."""
    active = Status.ACTIVE.value
    rows = conn.execute(
        select(
            ad_groups,
            campaigns.c.start_time.label("c_start"),
            campaigns.c.end_time.label("c_end"),
            campaigns.c.daily_spend_cap,
            campaigns.c.lifetime_spend_cap,
            ad_accounts.c.name.label("advertiser"),
            ad_accounts.c.timezone,
        )
        .join(campaigns, campaigns.c.id == ad_groups.c.campaign_id)
        .join(ad_accounts, ad_accounts.c.id == ad_groups.c.ad_account_id)
        .where(ad_groups.c.status == active, campaigns.c.status == active)
        .order_by(ad_groups.c.id)
    ).all()
    ad_rows = conn.execute(
        select(ads.c.id, ads.c.ad_group_id, ads.c.pin_id, ads.c.destination_url)
        .where(ads.c.status == active)
        .order_by(ads.c.id)
    ).all()
    by_group: dict[int, list[ServingAd]] = defaultdict(list)
    for a in ad_rows:
        by_group[int(a.ad_group_id)].append(ServingAd(int(a.id), int(a.pin_id), a.destination_url))
    wanted = {int(x) for r in rows for x in (r.targeting_spec or {}).get("audience_include", [])}
    usable = _usable_audiences(conn, wanted)
    pin_ids = [a.pin_id for group_ads in by_group.values() for a in group_ads]
    facts = content.pin_facts(conn, pin_ids)
    index = ServingIndex([])
    # Groups in order of their static expected value per impression (then id), so that every lookup
    # lists them best first (ads.delivery's retrieval walks them in that order).
    rows = sorted(rows, key=lambda r: (-_static_value(r.billable_event, int(r.bid_in_micro)), int(r.id)))
    unusable: dict[str, list[int]] = {"browse": [], "search": []}
    for r in rows:
        group_ads = tuple(a for a in by_group.get(int(r.id), []) if a.pin_id in facts)
        spec: dict[str, Any] = dict(r.targeting_spec or {})
        include = frozenset(int(a) for a in spec.get("audience_include", []))
        if not group_ads:
            continue
        if not include <= usable:
            for placement in ("browse", "search"):
                if r.placement in ("all", placement):
                    unusable[placement].append(int(r.id))
            index.unusable_zones[int(r.id)] = r.timezone
            continue
        targeting = Targeting(
            ad_account_id=int(r.ad_account_id),
            advertiser=r.advertiser,
            placement=r.placement,
            interests=frozenset(spec.get("interests", [])),
            keywords=tuple(normalize(k) for k in spec.get("keywords", [])),
            audience_include=include,
            audience_exclude=frozenset(int(a) for a in spec.get("audience_exclude", [])),
            expanded=bool(spec.get("expanded", False)),
        )
        cap = None
        if r.frequency_cap_impressions is not None:
            cap = (int(r.frequency_cap_impressions), int(r.frequency_cap_days))
        group = ServingGroup(
            id=int(r.id),
            campaign_id=int(r.campaign_id),
            ad_account_id=int(r.ad_account_id),
            advertiser=r.advertiser,
            timezone=r.timezone,
            billable_event=r.billable_event,
            bid_micro=int(r.bid_in_micro),
            budget_micro=int(r.budget_in_micro),
            budget_type=r.budget_type,
            pacing=r.pacing_delivery_type,
            start_time=r.start_time,
            end_time=r.end_time,
            campaign_start=r.c_start,
            campaign_end=r.c_end,
            campaign_daily_cap=r.daily_spend_cap,
            campaign_lifetime_cap=r.lifetime_spend_cap,
            frequency_cap=cap,
            targeting=targeting,
            ads=group_ads,
            pin_topics=frozenset(t for a in group_ads for t in facts[a.pin_id]["topics"]),
        )
        i = len(index.groups)
        index.groups.append(group)
        index.by_id[group.id] = group
        if targeting.broad or targeting.expanded:
            index.everyone.append(i)
        for topic in targeting.interests:
            index.by_topic.setdefault(topic, []).append(i)
        for word in {w for k in targeting.keywords for w in k.split()}:
            index.by_word.setdefault(word, []).append(i)
        for audience_id in include:
            index.by_audience.setdefault(audience_id, []).append(i)
    index.unusable = {placement: tuple(ids) for placement, ids in unusable.items() if ids}
    return index


# Whatever the fingerprint says, the index is read again this often (a safety net: nothing is known to
# change what can serve without moving the fingerprint).
FULL_RELOAD_SECONDS = 60.0


def fingerprint(conn: Connection) -> tuple[Any, ...]:
    """A cheap summary of what the index is built from (a few milliseconds, against a second or more
    for `load` at 10,000 ad groups): while it stays the same, the index is not read again. Objects are
    never deleted and every change moves `updated_at`; audience members come and go with their count
    and `added_at`, which decide whether an audience is usable."""
    latest = [(t, t.c.updated_at) for t in (ad_groups, campaigns, ads)]
    latest += [(audiences, audiences.c.refreshed_at), (audience_members, audience_members.c.added_at)]
    return tuple(
        tuple(conn.execute(select(func.count(), func.max(column)).select_from(table)).one())
        for table, column in latest
    )


class _Holder:
    """One process's index of one database: served while a fresh one loads in the background (at ten
    thousand ad groups a load takes a good part of a second, which no request should wait for)."""

    def __init__(self) -> None:
        self.index: ServingIndex | None = None
        self.fingerprint: tuple[Any, ...] | None = None
        self.loaded_at = 0.0  # when the index was last known to be current
        self.read_at = 0.0  # when it was last read in full
        self.loading = False
        self.lock = threading.Lock()

    def reload(self, engine: Engine, options: dict[str, Any]) -> None:
        try:
            with engine.connect() as conn:
                conn = conn.execution_options(**options)
                seen = fingerprint(conn)
                if seen == self.fingerprint and monotonic() - self.read_at < FULL_RELOAD_SECONDS:
                    with self.lock:
                        self.loaded_at = monotonic()
                    return
                fresh = load(conn)
            with self.lock:
                self.index, self.fingerprint = fresh, seen
                self.loaded_at = self.read_at = monotonic()
        except Exception:  # the old index serves on; the next request after REFRESH_SECONDS retries
            log.exception("reloading the ad serving index failed")
        finally:
            with self.lock:
                self.loading = False


_holders: PerDatabase[_Holder] = PerDatabase(_Holder)


def current(conn: Connection) -> ServingIndex:
    """The index. The first request of a process loads it; afterwards a request finding it older than
    REFRESH_SECONDS starts a reload on a thread and serves the one it has, so a paused ad may serve for
    a few seconds after the change."""
    holder = _holders.of(conn.engine)
    with holder.lock:
        index, stale = holder.index, monotonic() - holder.loaded_at >= REFRESH_SECONDS
        start = index is not None and stale and not holder.loading
        if start:
            holder.loading = True
    if index is None:
        seen, fresh = fingerprint(conn), load(conn)
        with holder.lock:
            holder.index, holder.fingerprint = fresh, seen
            holder.loaded_at = holder.read_at = monotonic()
        return fresh
    if start:
        # The same options as this request's (read-only: on SQLite a plain transaction takes the write
        # lock).
        options = dict(conn.get_execution_options())
        threading.Thread(
            target=holder.reload, args=(conn.engine, options), name="ad-index-reload", daemon=True
        ).start()
    return index


def forget(conn: Connection) -> None:
    """Drop this process's copy (after a change an operator wants to see at once, and in tests)."""
    holder = _holders.existing(conn.engine)
    if holder is not None:
        with holder.lock:
            holder.index = None

"""Audiences: visitors of the advertiser's site, people who engaged with its Pins, its customer list,
and actalikes of any of those. Only people whose consent allows it ever become members.

Sizes are shown rounded (two significant figures) and never below the minimum of 100: an audience
smaller than that is reported as 100 and is not usable, so a size never reveals a handful of people.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypedDict, cast

from sqlalchemy import Connection, delete, func, insert, select

from tastegraph.ads.accounts import refuse_control_characters
from tastegraph.ads.tables import ad_accounts, audience_members, audiences
from tastegraph.collect import advertiser_events, engagement
from tastegraph.collect.advertiser_events import EventName
from tastegraph.collect.engagement import Kind
from tastegraph.consent import AdvertiserDatum, ConsentService, Purpose, RequestSignals, Subject, decide
from tastegraph.kernel import Conflict, InvalidInput, NotFound
from tastegraph.kernel.tables import inserted_id
from tastegraph.recommend import Model, most_similar, taste_vectors

MIN_AUDIENCE = 100
ENGAGEMENT_KINDS = (Kind.SAVE, Kind.CLICK, Kind.CLOSEUP)


class AudienceKind(StrEnum):
    VISITOR = "visitor"
    ENGAGEMENT = "engagement"
    CUSTOMER_LIST = "customer_list"
    ACTALIKE = "actalike"


def displayed_size(members: int) -> int:
    """Rounded to two significant figures, never below the minimum."""
    if members < MIN_AUDIENCE:
        return MIN_AUDIENCE
    step: int = 10 ** max(0, len(str(members)) - 2)
    return max(MIN_AUDIENCE, (members + step // 2) // step * step)


class VisitorSpec(TypedDict):
    event_names: list[str]  # none: every event kind
    retention_days: int


class EngagementSpec(TypedDict):
    engagement_kinds: list[str]
    retention_days: int


class ActalikeSpec(TypedDict):
    seed_audience_id: int
    percent: float  # of eligible people


class CustomerListSpec(TypedDict):
    list_kind: str  # email or phone
    mode: str  # plain (uploaded) or psi (private set intersection)


# An audience's rules, stored as JSON: the shape its kind gives.
AudienceSpec = VisitorSpec | EngagementSpec | ActalikeSpec | CustomerListSpec


class AudiencePublic(TypedDict):
    """What an advertiser may see of an audience (`Audience.public`): the size rounded."""

    id: int
    kind: str
    name: str
    size: int
    usable: bool
    spec: AudienceSpec
    refreshed_at: str  # ISO 8601


@dataclass(frozen=True)
class Audience:
    id: int
    ad_account_id: int
    kind: AudienceKind
    name: str
    spec: AudienceSpec
    members: int  # exact; never shown outside
    created_at: datetime
    refreshed_at: datetime

    @property
    def usable(self) -> bool:
        return self.members >= MIN_AUDIENCE

    def public(self) -> AudiencePublic:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "name": self.name,
            "size": displayed_size(self.members),
            "usable": self.usable,
            "spec": self.spec,
            "refreshed_at": self.refreshed_at.isoformat(),
        }


# --- creating and refreshing --------------------------------------------------------------------


def _check_retention(days: object) -> int:
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 540:
        raise InvalidInput("retention_days must be a whole number from 1 to 540", field="retention_days")
    return days


def visitor_spec(event_names: list[str] | None, retention_days: object) -> VisitorSpec:
    names = sorted(set(event_names or []))
    for i, name in enumerate(names):
        if name not in EventName.__members__.values():
            allowed = ", ".join(e.value for e in EventName)
            raise InvalidInput(f"unknown event kind {name!r}; use {allowed}", field=f"event_names[{i}]")
    return {"event_names": names, "retention_days": _check_retention(retention_days)}


def engagement_spec(kinds: list[str] | None, retention_days: object) -> EngagementSpec:
    allowed = {k.value for k in ENGAGEMENT_KINDS}
    chosen = sorted(set(kinds or allowed))
    for i, k in enumerate(chosen):
        if k not in allowed:
            raise InvalidInput(
                f"engagement kinds are {', '.join(sorted(allowed))}", field=f"engagement_kinds[{i}]"
            )
    return {"engagement_kinds": chosen, "retention_days": _check_retention(retention_days)}


def actalike_spec(seed_audience_id: object, percent: object) -> ActalikeSpec:
    if not isinstance(seed_audience_id, int) or isinstance(seed_audience_id, bool):
        raise InvalidInput("give the seed audience's id", field="seed_audience_id")
    if not isinstance(percent, int | float) or isinstance(percent, bool) or not 1 <= percent <= 10:
        raise InvalidInput("percent must be from 1 to 10 (of eligible people)", field="percent")
    return {"seed_audience_id": seed_audience_id, "percent": float(percent)}


def create(
    conn: Connection,
    consent: ConsentService,
    model: Model | None,
    ad_account_id: int,
    kind: AudienceKind,
    name: str,
    spec: AudienceSpec,
    now: datetime,
) -> Audience:
    """Create an audience of `kind` (spec from the matching *_spec function) and fill it."""
    if kind is AudienceKind.CUSTOMER_LIST:
        raise InvalidInput("customer-list audiences come from an upload to customer_lists", field="kind")
    if kind is AudienceKind.ACTALIKE:
        seed = int(cast(ActalikeSpec, spec)["seed_audience_id"])
        get(conn, ad_account_id, seed)  # the seed must be this account's
    audience_id = _insert(conn, ad_account_id, kind, name, spec, now)
    return refresh(conn, consent, model, ad_account_id, audience_id, now)


def create_from_people(
    conn: Connection,
    consent: ConsentService,
    ad_account_id: int,
    name: str,
    spec: CustomerListSpec,
    people: Iterable[int],
    now: datetime,
) -> Audience:
    """A customer-list audience: the matched people whose consent allows it."""
    audience_id = _insert(conn, ad_account_id, AudienceKind.CUSTOMER_LIST, name, spec, now)
    _replace_members(conn, audience_id, _allowed(consent, conn, ad_account_id, people, now), now)
    return get(conn, ad_account_id, audience_id)


def _insert(
    conn: Connection, ad_account_id: int, kind: AudienceKind, name: str, spec: AudienceSpec, now: datetime
) -> int:
    refuse_control_characters(name, "name")
    clean = " ".join(name.split())[:120] or f"{kind.value.replace('_', ' ')} audience"
    return int(
        inserted_id(
            conn.execute(
                insert(audiences).values(
                    ad_account_id=ad_account_id,
                    kind=kind.value,
                    name=clean,
                    spec=spec,
                    created_at=now,
                    refreshed_at=now,
                )
            )
        )
    )


def refresh(
    conn: Connection,
    consent: ConsentService,
    model: Model | None,
    ad_account_id: int,
    audience_id: int,
    now: datetime,
) -> Audience:
    """Recompute who is in a visitor, engagement or actalike audience, with consent decided now."""
    audience = get(conn, ad_account_id, audience_id)
    spec = audience.spec  # the shape of its kind
    if audience.kind is AudienceKind.VISITOR:
        visitor = cast(VisitorSpec, spec)
        since = now - timedelta(days=int(visitor["retention_days"]))
        people = advertiser_events.usable_people(
            conn, consent, ad_account_id, visitor["event_names"], since, now
        )
    elif audience.kind is AudienceKind.ENGAGEMENT:
        domain = conn.execute(
            select(ad_accounts.c.website_domain).where(ad_accounts.c.id == ad_account_id)
        ).scalar_one()
        if domain is None:
            raise Conflict(
                "set the ad account's website first: its Pins are those linking there", field="kind"
            )
        engaging = cast(EngagementSpec, spec)
        since = now - timedelta(days=int(engaging["retention_days"]))
        kinds = [Kind(k) for k in engaging["engagement_kinds"]]
        engaged = engagement.people_engaged_with_domain(conn, domain, kinds, since)
        people = _allowed(consent, conn, ad_account_id, engaged, now)
    elif audience.kind is AudienceKind.ACTALIKE:
        people = _actalike(conn, consent, model, ad_account_id, cast(ActalikeSpec, spec), now)
    else:  # a customer list is fixed at upload; a new upload makes a new audience
        return audience
    _replace_members(conn, audience_id, people, now)
    return get(conn, ad_account_id, audience_id)


def _actalike(
    conn: Connection,
    consent: ConsentService,
    model: Model | None,
    ad_account_id: int,
    spec: ActalikeSpec,
    now: datetime,
) -> set[int]:
    if model is None:
        raise Conflict("actalikes need a trained model: run `tastegraph train` first", field="kind")
    seed = members(conn, int(spec["seed_audience_id"]))
    user_ids, vectors = taste_vectors(model)
    eligible = _allowed(consent, conn, ad_account_id, (int(u) for u in user_ids), now)
    count = math.ceil(len(eligible) * float(spec["percent"]) / 100)
    return set(most_similar(user_ids, vectors, seed, eligible, count))


def _allowed(
    consent: ConsentService, conn: Connection, ad_account_id: int, people: Iterable[int], now: datetime
) -> set[int]:
    """The people among `people` whom this advertiser's data may reach (settings, blocks)."""
    subjects = consent.subjects_for_ads(conn, people)
    datum = AdvertiserDatum(ad_account_id)
    return {
        uid
        for uid, subject in subjects.items()
        if decide(
            Purpose.ADS_WITH_ADVERTISER_DATA,
            subject,
            RequestSignals(),
            now,
            consent.policy,
            advertiser_datum=datum,
        ).allowed
    }


def _replace_members(conn: Connection, audience_id: int, people: set[int], now: datetime) -> None:
    conn.execute(delete(audience_members).where(audience_members.c.audience_id == audience_id))
    rows = [{"audience_id": audience_id, "user_id": uid, "added_at": now} for uid in sorted(people)]
    for start in range(0, len(rows), 5000):
        conn.execute(insert(audience_members), rows[start : start + 5000])
    conn.execute(audiences.update().where(audiences.c.id == audience_id).values(refreshed_at=now))


# --- reading ------------------------------------------------------------------------------------


def _counts(conn: Connection, audience_ids: list[int]) -> dict[int, int]:
    if not audience_ids:
        return {}
    rows = conn.execute(
        select(audience_members.c.audience_id, func.count().label("n"))
        .where(audience_members.c.audience_id.in_(audience_ids))
        .group_by(audience_members.c.audience_id)
    )
    return {int(r.audience_id): int(r.n) for r in rows}


def _audience(row: Any, count: int) -> Audience:
    return Audience(
        int(row.id),
        int(row.ad_account_id),
        AudienceKind(row.kind),
        row.name,
        cast(AudienceSpec, dict(row.spec)),  # as stored by _insert
        count,
        row.created_at,
        row.refreshed_at,
    )


def get(conn: Connection, ad_account_id: int, audience_id: int) -> Audience:
    row = conn.execute(
        select(audiences).where(audiences.c.id == audience_id, audiences.c.ad_account_id == ad_account_id)
    ).first()
    if row is None:
        raise NotFound("no such audience in this ad account", field="audience_id")
    return _audience(row, _counts(conn, [audience_id]).get(audience_id, 0))


def list_for(conn: Connection, ad_account_id: int) -> list[Audience]:
    rows = conn.execute(
        select(audiences).where(audiences.c.ad_account_id == ad_account_id).order_by(audiences.c.id)
    ).all()
    counts = _counts(conn, [int(r.id) for r in rows])
    return [_audience(r, counts.get(int(r.id), 0)) for r in rows]


def members(conn: Connection, audience_id: int) -> set[int]:
    return {
        int(u)
        for u in conn.execute(
            select(audience_members.c.user_id).where(audience_members.c.audience_id == audience_id)
        ).scalars()
    }


class Membership(TypedDict):
    """A person's place in an advertiser's audience."""

    ad_account_id: int
    advertiser: str  # the ad account's name
    audience_id: int
    kind: str
    audience: str  # its name
    added_at: str  # ISO 8601


def memberships_of(conn: Connection, user_id: int) -> list[Membership]:
    """The audiences a person is in, with their advertiser: for the privacy center and export."""
    rows = conn.execute(
        select(
            audiences.c.id,
            audiences.c.kind,
            audiences.c.name,
            audiences.c.ad_account_id,
            ad_accounts.c.name.label("account"),
            audience_members.c.added_at,
        )
        .join(audiences, audiences.c.id == audience_members.c.audience_id)
        .join(ad_accounts, ad_accounts.c.id == audiences.c.ad_account_id)
        .where(audience_members.c.user_id == user_id)
        .order_by(audiences.c.ad_account_id, audiences.c.id)
    )
    return [
        {
            "ad_account_id": int(r.ad_account_id),
            "advertiser": r.account,
            "audience_id": int(r.id),
            "kind": r.kind,
            "audience": r.name,
            "added_at": r.added_at.isoformat(),
        }
        for r in rows
    ]


# --- consent and personal data ----------------------------------------------------------------------


def on_withdrawal(conn: Connection, subject: Subject, purpose: Purpose, now: datetime) -> None:
    """Advertiser data may no longer reach the person (setting off, GPC, or one advertiser turned off):
    they leave the affected audiences in the same transaction."""
    if purpose is not Purpose.ADS_WITH_ADVERTISER_DATA or subject.user_id is None:
        return
    query = delete(audience_members).where(audience_members.c.user_id == subject.user_id)
    if subject.advertiser_data and subject.blocked_ad_accounts:
        blocked = select(audiences.c.id).where(
            audiences.c.ad_account_id.in_(sorted(subject.blocked_ad_accounts))
        )
        query = query.where(audience_members.c.audience_id.in_(blocked))
    conn.execute(query)


def export(conn: Connection, user_id: int) -> list[Membership]:
    return memberships_of(conn, user_id)


def erase(conn: Connection, user_id: int) -> int:
    return conn.execute(delete(audience_members).where(audience_members.c.user_id == user_id)).rowcount

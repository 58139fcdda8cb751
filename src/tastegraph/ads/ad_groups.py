"""Ad groups: what to bid and how (per impression or per click), the budget and its pacing, the
schedule, a frequency cap, the placement and the targeting spec. Ads belong to ad groups."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import Connection, func, insert, select, update

from tastegraph.ads import audiences
from tastegraph.ads import campaigns as campaign_rows
from tastegraph.ads import object_rules as rules
from tastegraph.ads.object_rules import Ceilings, Status
from tastegraph.ads.paging import PageRequest, paged, split_page
from tastegraph.ads.tables import ad_groups, ads
from tastegraph.catalog import content
from tastegraph.kernel import InvalidInput, NotFound
from tastegraph.kernel.tables import inserted_id

BILLABLE_EVENTS = ("impression", "click")
BUDGET_TYPES = ("daily", "lifetime")
PACING = ("standard", "accelerated")
PLACEMENTS = ("all", "browse", "search")  # browse: the home feed and related Pins
CAP_DAYS = (1, 7, 30)
MAX_CAP_IMPRESSIONS = 1000
MAX_INTERESTS = 100
MAX_KEYWORDS = 200
MAX_KEYWORD_LENGTH = 80
MAX_AUDIENCES = 50
EDITABLE = frozenset(
    {
        "name",
        "status",
        "bid_in_micro",
        "budget_in_micro",
        "budget_type",
        "pacing_delivery_type",
        "start_time",
        "end_time",
        "frequency_cap",
        "placement",
        "targeting_spec",
    }
)


class TargetingSpec(TypedDict):
    interests: list[str]  # topic slugs
    keywords: list[str]  # lower-cased, spaces collapsed
    audience_include: list[int]
    audience_exclude: list[int]
    expanded: bool  # may also reach people beyond the targeting (reason: ad_broad)


class FrequencyCap(TypedDict):
    impressions: int
    days: int  # 1, 7 or 30 of the ad account's days


class AdGroupJson(TypedDict):
    id: int
    ad_account_id: int
    campaign_id: int
    name: str
    status: str
    billable_event: str
    bid_in_micro: int
    budget_in_micro: int
    budget_type: str
    pacing_delivery_type: str
    start_time: str | None
    end_time: str | None
    frequency_cap: FrequencyCap | None
    placement: str
    targeting_spec: TargetingSpec
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class AdGroup:
    id: int
    ad_account_id: int
    campaign_id: int
    name: str
    status: Status
    billable_event: str
    bid_in_micro: int
    budget_in_micro: int
    budget_type: str
    pacing_delivery_type: str
    start_time: datetime | None
    end_time: datetime | None
    frequency_cap: FrequencyCap | None
    placement: str
    targeting_spec: TargetingSpec
    created_at: datetime
    updated_at: datetime

    def as_dict(self) -> AdGroupJson:
        return {
            "id": self.id,
            "ad_account_id": self.ad_account_id,
            "campaign_id": self.campaign_id,
            "name": self.name,
            "status": self.status.value,
            "billable_event": self.billable_event,
            "bid_in_micro": self.bid_in_micro,
            "budget_in_micro": self.budget_in_micro,
            "budget_type": self.budget_type,
            "pacing_delivery_type": self.pacing_delivery_type,
            "start_time": rules.iso(self.start_time),
            "end_time": rules.iso(self.end_time),
            "frequency_cap": self.frequency_cap,
            "placement": self.placement,
            "targeting_spec": self.targeting_spec,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


# --- checking what an advertiser sends ---------------------------------------------------------------


def _choice(value: Any, allowed: tuple[str, ...], field: str) -> str:
    if value not in allowed:
        raise InvalidInput(f"{field} is one of: {', '.join(allowed)}", field=field)
    return str(value)


def keyword(value: Any, field: str) -> str:
    """A keyword as matched against searches: lower-cased, spaces collapsed, no control characters."""
    if not isinstance(value, str):
        raise InvalidInput("a keyword is text", field=field)
    text = " ".join(unicodedata.normalize("NFKC", value).casefold().split())
    if not text or len(text) > MAX_KEYWORD_LENGTH:
        raise InvalidInput(f"a keyword has 1 to {MAX_KEYWORD_LENGTH} characters", field=field)
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise InvalidInput("control characters are not allowed", field=field)
    return text


def _list(value: Any, field: str, most: int) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput("give a list", field=field)
    if len(value) > most:
        raise InvalidInput(f"at most {most} entries", field=field)
    return value


def targeting(conn: Connection, ad_account_id: int, spec: Mapping[str, Any] | None) -> TargetingSpec:
    """The stored form of a targeting spec; unknown topics (422) and audiences that are not this
    account's (404, as if they did not exist) name their place, e.g. `targeting_spec.interests[2]`."""
    spec = spec or {}
    base = "targeting_spec"
    unknown = set(spec) - set(TargetingSpec.__annotations__)
    if unknown:
        raise InvalidInput("unknown targeting field", field=f"{base}.{sorted(unknown)[0]}")
    asked = _list(spec.get("interests"), f"{base}.interests", MAX_INTERESTS)
    topics = content.topic_ids(conn, [s for s in asked if isinstance(s, str)])
    interests: list[str] = []
    for i, slug in enumerate(asked):
        if not isinstance(slug, str) or slug not in topics:
            raise InvalidInput("no such topic", field=f"{base}.interests[{i}]")
        interests.append(slug)
    keywords = [
        keyword(k, f"{base}.keywords[{i}]")
        for i, k in enumerate(_list(spec.get("keywords"), f"{base}.keywords", MAX_KEYWORDS))
    ]
    chosen: dict[str, list[int]] = {}
    for side in ("audience_include", "audience_exclude"):
        ids: list[int] = []
        for i, audience_id in enumerate(_list(spec.get(side), f"{base}.{side}", MAX_AUDIENCES)):
            field = f"{base}.{side}[{i}]"
            if isinstance(audience_id, bool) or not isinstance(audience_id, int) or audience_id < 1:
                raise InvalidInput("an audience id is a positive integer", field=field)
            try:
                audiences.get(conn, ad_account_id, audience_id)
            except NotFound:
                raise NotFound("no such audience in this ad account", field=field) from None
            ids.append(audience_id)
        chosen[side] = list(dict.fromkeys(ids))
    overlap = set(chosen["audience_include"]) & set(chosen["audience_exclude"])
    if overlap:
        raise InvalidInput(
            "an audience cannot be both included and excluded", field=f"{base}.audience_exclude"
        )
    expanded = spec.get("expanded", False)
    if not isinstance(expanded, bool):
        raise InvalidInput("expanded is true or false", field=f"{base}.expanded")
    return {
        "interests": list(dict.fromkeys(interests)),
        "keywords": list(dict.fromkeys(keywords)),
        "audience_include": chosen["audience_include"],
        "audience_exclude": chosen["audience_exclude"],
        "expanded": expanded,
    }


def frequency_cap(value: Mapping[str, Any] | None) -> FrequencyCap | None:
    if value is None:
        return None
    impressions, days = value.get("impressions"), value.get("days")
    if isinstance(impressions, bool) or not isinstance(impressions, int):
        raise InvalidInput("give the most impressions per person", field="frequency_cap.impressions")
    if not 1 <= impressions <= MAX_CAP_IMPRESSIONS:
        raise InvalidInput(f"impressions is 1 to {MAX_CAP_IMPRESSIONS}", field="frequency_cap.impressions")
    if days not in CAP_DAYS:
        raise InvalidInput("days is 1, 7 or 30", field="frequency_cap.days")
    return {"impressions": impressions, "days": int(days)}


def _checked(values: Mapping[str, Any], ceilings: Ceilings) -> dict[str, Any]:
    """The stored columns of a whole ad group, or the first bad field. Targeting is checked apart
    (it needs the database)."""
    out: dict[str, Any] = {
        "name": rules.name(values["name"]),
        "status": values["status"],
        "billable_event": _choice(values["billable_event"], BILLABLE_EVENTS, "billable_event"),
        "bid_in_micro": rules.money(values["bid_in_micro"], ceilings.bid_micro, "bid_in_micro"),
        "budget_in_micro": rules.money(values["budget_in_micro"], ceilings.budget_micro, "budget_in_micro"),
        "budget_type": _choice(values["budget_type"], BUDGET_TYPES, "budget_type"),
        "pacing_delivery_type": _choice(values["pacing_delivery_type"], PACING, "pacing_delivery_type"),
        "placement": _choice(values["placement"], PLACEMENTS, "placement"),
        "start_time": values["start_time"],
        "end_time": values["end_time"],
    }
    rules.schedule(values["start_time"], values["end_time"])
    if out["budget_type"] == "lifetime" and values["end_time"] is None:
        raise InvalidInput("a lifetime budget needs an end_time", field="end_time")
    cap = frequency_cap(values["frequency_cap"])
    out["frequency_cap_impressions"] = None if cap is None else cap["impressions"]
    out["frequency_cap_days"] = None if cap is None else cap["days"]
    return out


def _open_campaign(conn: Connection, ad_account_id: int, campaign_id: Any) -> None:
    if isinstance(campaign_id, bool) or not isinstance(campaign_id, int):
        raise InvalidInput("give the campaign's id", field="campaign_id")
    campaign = campaign_rows.get(conn, ad_account_id, campaign_id)
    if campaign.status is Status.ARCHIVED:
        raise InvalidInput("that campaign is archived", field="campaign_id")


# --- storing and reading ---------------------------------------------------------------------------


def create(
    conn: Connection, ad_account_id: int, fields: Mapping[str, Any], ceilings: Ceilings, now: datetime
) -> AdGroup:
    _open_campaign(conn, ad_account_id, fields.get("campaign_id"))
    values = {
        "name": fields.get("name", ""),
        "status": rules.status(fields.get("status") or Status.ACTIVE.value).value,
        "billable_event": fields.get("billable_event"),
        "bid_in_micro": fields.get("bid_in_micro"),
        "budget_in_micro": fields.get("budget_in_micro"),
        "budget_type": fields.get("budget_type"),
        "pacing_delivery_type": fields.get("pacing_delivery_type") or "standard",
        "placement": fields.get("placement") or "all",
        "start_time": fields.get("start_time"),
        "end_time": fields.get("end_time"),
        "frequency_cap": fields.get("frequency_cap"),
    }
    row = _checked(values, ceilings)
    spec = targeting(conn, ad_account_id, fields.get("targeting_spec"))
    gid = inserted_id(
        conn.execute(
            insert(ad_groups).values(
                ad_account_id=ad_account_id,
                campaign_id=fields["campaign_id"],
                targeting_spec=spec,
                created_at=now,
                updated_at=now,
                **row,
            )
        )
    )
    return get(conn, ad_account_id, gid)


def _group(row: Any) -> AdGroup:
    cap: FrequencyCap | None = None
    if row.frequency_cap_impressions is not None:
        cap = {"impressions": int(row.frequency_cap_impressions), "days": int(row.frequency_cap_days)}
    spec = dict(row.targeting_spec)
    return AdGroup(
        int(row.id),
        int(row.ad_account_id),
        int(row.campaign_id),
        row.name,
        Status(row.status),
        row.billable_event,
        int(row.bid_in_micro),
        int(row.budget_in_micro),
        row.budget_type,
        row.pacing_delivery_type,
        row.start_time,
        row.end_time,
        cap,
        row.placement,
        {
            "interests": list(spec.get("interests", [])),
            "keywords": list(spec.get("keywords", [])),
            "audience_include": [int(a) for a in spec.get("audience_include", [])],
            "audience_exclude": [int(a) for a in spec.get("audience_exclude", [])],
            "expanded": bool(spec.get("expanded", False)),
        },
        row.created_at,
        row.updated_at,
    )


def get(conn: Connection, ad_account_id: int, ad_group_id: int, field: str = "ad_group_id") -> AdGroup:
    row = conn.execute(
        select(ad_groups).where(ad_groups.c.id == ad_group_id, ad_groups.c.ad_account_id == ad_account_id)
    ).first()
    if row is None:
        raise NotFound("no such ad group in this ad account", field=field)
    return _group(row)


def list_page(
    conn: Connection,
    ad_account_id: int,
    page: PageRequest,
    campaign_id: int | None = None,
    status: str | None = None,
) -> tuple[list[AdGroup], str | None]:
    query = select(ad_groups).where(ad_groups.c.ad_account_id == ad_account_id)
    if campaign_id is not None:
        query = query.where(ad_groups.c.campaign_id == campaign_id)
    if status is not None:
        query = query.where(ad_groups.c.status == rules.status(status).value)
    rows = [_group(r) for r in conn.execute(paged(query, ad_groups.c.id, page))]
    return split_page(rows, page, lambda g: g.id)


def change(
    conn: Connection,
    ad_account_id: int,
    ad_group_id: int,
    changes: Mapping[str, Any],
    ceilings: Ceilings,
    now: datetime,
) -> AdGroup:
    unknown = set(changes) - EDITABLE
    if unknown:
        raise InvalidInput("this field cannot be changed", field=sorted(unknown)[0])
    current = get(conn, ad_account_id, ad_group_id)
    values: dict[str, Any] = {
        "name": current.name,
        "status": current.status.value,
        "billable_event": current.billable_event,
        "bid_in_micro": current.bid_in_micro,
        "budget_in_micro": current.budget_in_micro,
        "budget_type": current.budget_type,
        "pacing_delivery_type": current.pacing_delivery_type,
        "placement": current.placement,
        "start_time": current.start_time,
        "end_time": current.end_time,
        "frequency_cap": current.frequency_cap,
    }
    values.update({k: v for k, v in changes.items() if k != "targeting_spec"})
    values["status"] = rules.next_status(current.status, changes.get("status")).value
    row = _checked(values, ceilings)
    written = {k: row[k] for k in changes if k in row}
    if "frequency_cap" in changes:
        written["frequency_cap_impressions"] = row["frequency_cap_impressions"]
        written["frequency_cap_days"] = row["frequency_cap_days"]
    if "targeting_spec" in changes:
        written["targeting_spec"] = targeting(conn, ad_account_id, changes["targeting_spec"])
    conn.execute(
        update(ad_groups)
        .where(ad_groups.c.id == ad_group_id, ad_groups.c.ad_account_id == ad_account_id)
        .values(updated_at=now, **written)
    )
    return get(conn, ad_account_id, ad_group_id)


# --- can it serve? -------------------------------------------------------------------------------------


def serving_problems(conn: Connection, group: AdGroup, now: datetime) -> list[str]:
    """Why the ad group cannot serve right now, as stable codes (empty when it can): its status or its
    campaign's, its schedule or its campaign's, an included audience too small to use
    (`unusable_audience:ID`), no active ad. Budgets, pacing and caps are decided per request."""
    problems: list[str] = []
    campaign = campaign_rows.get(conn, group.ad_account_id, group.campaign_id)
    if campaign.status is not Status.ACTIVE:
        problems.append(f"campaign_{campaign.status.value}")
    if group.status is not Status.ACTIVE:
        problems.append(group.status.value)
    for start, end, prefix in (
        (campaign.start_time, campaign.end_time, "campaign_"),
        (group.start_time, group.end_time, ""),
    ):
        if start is not None and now < start:
            problems.append(f"{prefix}not_started")
        if end is not None and now >= end:
            problems.append(f"{prefix}ended")
    for audience_id in group.targeting_spec["audience_include"]:
        try:
            if not audiences.get(conn, group.ad_account_id, audience_id).usable:
                problems.append(f"unusable_audience:{audience_id}")
        except NotFound:  # deleted since: it can match nobody
            problems.append(f"unusable_audience:{audience_id}")
    active_ads = conn.execute(
        select(func.count())
        .select_from(ads)
        .where(ads.c.ad_group_id == group.id, ads.c.status == Status.ACTIVE.value)
    ).scalar_one()
    if not active_ads:
        problems.append("no_active_ads")
    return problems

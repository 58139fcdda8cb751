"""Campaigns: an objective, a status, optional spend caps and a schedule over the ad groups in them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import Connection, insert, select, update

from tastegraph.ads import object_rules as rules
from tastegraph.ads.object_rules import Ceilings, Status
from tastegraph.ads.paging import PageRequest, paged, split_page
from tastegraph.ads.tables import campaigns
from tastegraph.kernel import InvalidInput, NotFound
from tastegraph.kernel.tables import inserted_id

OBJECTIVES = ("awareness", "consideration", "conversions")
# Fields a PATCH may change (every field of a campaign but its account and times of record).
EDITABLE = frozenset(
    {"name", "objective", "status", "daily_spend_cap", "lifetime_spend_cap", "start_time", "end_time"}
)


class CampaignJson(TypedDict):
    id: int
    ad_account_id: int
    name: str
    objective: str
    status: str
    daily_spend_cap: int | None
    lifetime_spend_cap: int | None
    start_time: str | None
    end_time: str | None
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class Campaign:
    id: int
    ad_account_id: int
    name: str
    objective: str
    status: Status
    daily_spend_cap: int | None
    lifetime_spend_cap: int | None
    start_time: datetime | None
    end_time: datetime | None
    created_at: datetime
    updated_at: datetime

    def live(self, now: datetime) -> bool:
        """Active and within its schedule (its caps are the counters' business)."""
        return self.status is Status.ACTIVE and rules.within_schedule(self.start_time, self.end_time, now)

    def as_dict(self) -> CampaignJson:
        return {
            "id": self.id,
            "ad_account_id": self.ad_account_id,
            "name": self.name,
            "objective": self.objective,
            "status": self.status.value,
            "daily_spend_cap": self.daily_spend_cap,
            "lifetime_spend_cap": self.lifetime_spend_cap,
            "start_time": rules.iso(self.start_time),
            "end_time": rules.iso(self.end_time),
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


def _checked(values: Mapping[str, Any], ceilings: Ceilings) -> dict[str, Any]:
    """The stored form of a whole campaign's fields, or InvalidInput naming the first bad one."""
    if values["objective"] not in OBJECTIVES:
        raise InvalidInput("objective is awareness, consideration or conversions", field="objective")
    out = dict(values)
    out["name"] = rules.name(values["name"])
    for cap in ("daily_spend_cap", "lifetime_spend_cap"):
        if values[cap] is not None:
            out[cap] = rules.money(values[cap], ceilings.budget_micro, cap)
    if (
        out["daily_spend_cap"] is not None
        and out["lifetime_spend_cap"] is not None
        and out["daily_spend_cap"] > out["lifetime_spend_cap"]
    ):
        raise InvalidInput("the daily cap cannot be over the lifetime cap", field="daily_spend_cap")
    rules.schedule(values["start_time"], values["end_time"])
    return out


def create(
    conn: Connection,
    ad_account_id: int,
    fields: Mapping[str, Any],
    ceilings: Ceilings,
    now: datetime,
) -> Campaign:
    """`fields`: name, objective, and optionally status (active), daily_spend_cap, lifetime_spend_cap,
    start_time, end_time."""
    values: dict[str, Any] = {
        "name": fields.get("name", ""),
        "objective": fields.get("objective"),
        "status": rules.status(fields.get("status") or Status.ACTIVE.value).value,
        "daily_spend_cap": fields.get("daily_spend_cap"),
        "lifetime_spend_cap": fields.get("lifetime_spend_cap"),
        "start_time": fields.get("start_time"),
        "end_time": fields.get("end_time"),
    }
    row = _checked(values, ceilings)
    cid = inserted_id(
        conn.execute(
            insert(campaigns).values(ad_account_id=ad_account_id, created_at=now, updated_at=now, **row)
        )
    )
    return get(conn, ad_account_id, cid)


def _campaign(row: Any) -> Campaign:
    return Campaign(
        int(row.id),
        int(row.ad_account_id),
        row.name,
        row.objective,
        Status(row.status),
        row.daily_spend_cap,
        row.lifetime_spend_cap,
        row.start_time,
        row.end_time,
        row.created_at,
        row.updated_at,
    )


def get(conn: Connection, ad_account_id: int, campaign_id: int, field: str = "campaign_id") -> Campaign:
    """The account's campaign; another account's is NotFound, as if it did not exist."""
    row = conn.execute(
        select(campaigns).where(campaigns.c.id == campaign_id, campaigns.c.ad_account_id == ad_account_id)
    ).first()
    if row is None:
        raise NotFound("no such campaign in this ad account", field=field)
    return _campaign(row)


def get_many(conn: Connection, campaign_ids: list[int]) -> dict[int, Campaign]:
    if not campaign_ids:
        return {}
    rows = conn.execute(select(campaigns).where(campaigns.c.id.in_(campaign_ids)))
    return {int(r.id): _campaign(r) for r in rows}


def list_page(
    conn: Connection, ad_account_id: int, page: PageRequest, status: str | None = None
) -> tuple[list[Campaign], str | None]:
    query = select(campaigns).where(campaigns.c.ad_account_id == ad_account_id)
    if status is not None:
        query = query.where(campaigns.c.status == rules.status(status).value)
    rows = [_campaign(r) for r in conn.execute(paged(query, campaigns.c.id, page))]
    return split_page(rows, page, lambda c: c.id)


def change(
    conn: Connection,
    ad_account_id: int,
    campaign_id: int,
    changes: Mapping[str, Any],
    ceilings: Ceilings,
    now: datetime,
) -> Campaign:
    """Only the fields in `changes` change; the result must be a valid campaign as a whole."""
    unknown = set(changes) - EDITABLE
    if unknown:
        raise InvalidInput("this field cannot be changed", field=sorted(unknown)[0])
    current = get(conn, ad_account_id, campaign_id)
    values: dict[str, Any] = {
        "name": current.name,
        "objective": current.objective,
        "status": current.status.value,
        "daily_spend_cap": current.daily_spend_cap,
        "lifetime_spend_cap": current.lifetime_spend_cap,
        "start_time": current.start_time,
        "end_time": current.end_time,
    }
    values.update(changes)
    values["status"] = rules.next_status(current.status, changes.get("status")).value
    row = _checked(values, ceilings)
    conn.execute(
        update(campaigns)
        .where(campaigns.c.id == campaign_id, campaigns.c.ad_account_id == ad_account_id)
        .values(updated_at=now, **{k: row[k] for k in changes})
    )
    return get(conn, ad_account_id, campaign_id)

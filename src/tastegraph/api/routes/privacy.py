"""Download my data; which advertisers' data matched me, and turning one off."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, StrictBool

from tastegraph.ads import accounts, audiences, customer_lists
from tastegraph.api.context import SameOriginJson, SystemDep, UserDep
from tastegraph.api.schemas import IdPath
from tastegraph.bootstrap import System
from tastegraph.collect import advertiser_events

router = APIRouter(prefix="/v1", tags=["privacy"])


def export_data(system: System, user_id: int) -> dict[str, Any]:
    with system.read() as conn:
        data = system.privacy.export(conn, user_id)
    return {"exported_at": system.clock.now().isoformat(), "user_id": user_id, **data}


@router.get("/me/export", summary="Everything stored about me, as JSON")
def export_me(system: SystemDep, user_id: UserDep) -> JSONResponse:
    return JSONResponse(
        export_data(system, user_id),
        headers={"Content-Disposition": f'attachment; filename="tastegraph-export-{user_id}.json"'},
    )


def advertisers_about(system: System, user_id: int) -> list[dict[str, Any]]:
    """Every advertiser whose events or customer lists matched this person, with what it shared, whether
    the person turned it off, and which of its audiences they are in now."""
    with system.read() as conn:
        events = {e["ad_account_id"]: e for e in advertiser_events.accounts_with_data_about(conn, user_id)}
        memberships = audiences.memberships_of(conn, user_id)
        lists = customer_lists.lists_that_matched(conn, user_id)
        blocked = set(system.consent.blocked_ad_accounts(conn, user_id))
        ids = sorted(
            set(events)
            | {m["ad_account_id"] for m in memberships}
            | {c["ad_account_id"] for c in lists}
            | blocked
        )
        names = accounts.names(conn, ids)
    out = []
    for account_id in ids:
        shared = events.get(account_id)
        out.append(
            {
                "ad_account_id": account_id,
                "name": names.get(account_id, f"ad account {account_id}"),
                "events": shared["events"] if shared else 0,
                "last_event_at": shared["last_at"].isoformat() if shared else None,
                "customer_lists": sum(1 for c in lists if c["ad_account_id"] == account_id),
                "audiences": [
                    {"kind": m["kind"], "name": m["audience"]}
                    for m in memberships
                    if m["ad_account_id"] == account_id
                ],
                "allowed": account_id not in blocked,
            }
        )
    return out


@router.get("/me/advertisers", summary="Advertisers whose data or customer lists matched me")
def my_advertisers(system: SystemDep, user_id: UserDep) -> dict[str, Any]:
    with system.read() as conn:
        setting = system.consent.settings(conn, user_id)["ads_advertiser_data"]
    return {"ads_advertiser_data": setting, "advertisers": advertisers_about(system, user_id)}


class AdvertiserChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")
    allow: StrictBool


def set_advertiser_choice(system: System, user_id: int, ad_account_id: int, allow: bool) -> None:
    with system.write() as conn:
        label = accounts.get_account(conn, ad_account_id).name
        now = system.clock.now()
        if allow:
            system.consent.unblock_advertiser(conn, user_id, ad_account_id, label, now)
        else:
            system.consent.block_advertiser(conn, user_id, ad_account_id, label, now)


@router.put(
    "/me/advertisers/{ad_account_id}",
    summary="Allow or stop one advertiser's data shaping my ads",
    dependencies=[SameOriginJson],
)
def put_advertiser_choice(
    ad_account_id: IdPath,
    body: AdvertiserChoice,
    system: SystemDep,
    user_id: UserDep,
) -> dict[str, Any]:
    set_advertiser_choice(system, user_id, ad_account_id, body.allow)
    return {"ad_account_id": ad_account_id, "allow": body.allow}

"""The privacy center: download my data, which advertisers' data matched me, and turning one off.
(Settings, the consent history and deleting the account are in usecases.accounts.)"""

from __future__ import annotations

from typing import Any

from tastegraph.ads import accounts, audiences, customer_lists
from tastegraph.bootstrap import System
from tastegraph.collect import advertiser_events


def export_data(system: System, user_id: int) -> dict[str, Any]:
    """Every personal-data store's export for the person (privacy registry), dated."""
    with system.read() as conn:
        data = system.privacy.export(conn, user_id)
    return {"exported_at": system.clock.now().isoformat(), "user_id": user_id, **data}


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


def advertiser_data_setting(system: System, user_id: int) -> bool:
    """The person's "Use info from advertisers to improve ads" setting."""
    with system.read() as conn:
        return system.consent.settings(conn, user_id)["ads_advertiser_data"]


def set_advertiser_choice(system: System, user_id: int, ad_account_id: int, allow: bool) -> None:
    """Stop (or resume) one advertiser's data shaping the person's ads; logged in the consent ledger."""
    with system.write() as conn:
        label = accounts.get_account(conn, ad_account_id).name
        now = system.clock.now()
        if allow:
            system.consent.unblock_advertiser(conn, user_id, ad_account_id, label, now)
        else:
            system.consent.block_advertiser(conn, user_id, ad_account_id, label, now)

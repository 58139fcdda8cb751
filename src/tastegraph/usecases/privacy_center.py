"""The privacy center: download my data, which advertisers' data matched me, and turning one off.
(Settings, the consent history and deleting the account are in usecases.accounts.)"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from tastegraph.ads import accounts, audiences, customer_lists
from tastegraph.bootstrap import System
from tastegraph.collect import advertiser_events
from tastegraph.consent import BROWSER_SETTING, GPC_SOURCE, LedgerEntry, Reason
from tastegraph.kernel import Unauthenticated
from tastegraph.usecases.callers import Caller, offsite_permit

__all__ = [
    "BROWSER_SETTING",
    "GPC_SOURCE",
    "AdvertiserAboutMe",
    "LedgerEntry",
    "SettingsOverview",
    "advertiser_data_setting",
    "advertisers_about",
    "export_data",
    "set_advertiser_choice",
    "settings_overview",
]


def export_data(system: System, user_id: int) -> dict[str, object]:
    """Every personal-data store's export for the person (privacy registry), dated."""
    # This process's queued searches are exported with the stored engagement once written; if the write
    # fails they stay queued and the export lists them as "search_history_queued".
    system.search_history.write_soon()
    with system.read() as conn:
        data = system.privacy.export(conn, user_id)
    return {"exported_at": system.clock.now().isoformat(), "user_id": user_id, **data}


class AudienceName(TypedDict):
    kind: str
    name: str


class AdvertiserAboutMe(TypedDict):
    """An advertiser whose data matched the person (`advertisers_about`)."""

    ad_account_id: int
    name: str
    events: int  # its events about the person
    last_event_at: str | None  # ISO 8601
    customer_lists: int  # its lists that named the person
    audiences: list[AudienceName]  # its audiences the person is in now
    allowed: bool  # False: the person turned it off


def advertisers_about(system: System, user_id: int) -> list[AdvertiserAboutMe]:
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
    out: list[AdvertiserAboutMe] = []
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


@dataclass(frozen=True)
class SettingsOverview:
    """What the privacy center shows a signed-in person."""

    settings: dict[str, bool]
    history: list[LedgerEntry]  # newest first: every consent change and where it came from
    advertisers: list[AdvertiserAboutMe]
    ads_off_by_gpc: bool  # advertiser data is off because this browser's GPC signal turned it off
    browser_refuses: str | None  # the browser itself says no to off-site data (DNT, GPC, opt-out): why


def settings_overview(system: System, caller: Caller) -> SettingsOverview:
    if caller.user_id is None:
        raise Unauthenticated("sign in first")
    user_id = caller.user_id
    with system.read() as conn:
        current = system.consent.settings(conn, user_id)
        history = system.consent.history(conn, user_id)
        permit = offsite_permit(system, conn, caller)
    last_ads_change = next((e for e in history if e.setting == "ads_advertiser_data"), None)
    by_gpc = last_ads_change is not None and last_ads_change.source == GPC_SOURCE
    return SettingsOverview(
        current,
        history,
        advertisers_about(system, user_id),
        by_gpc and not current["ads_advertiser_data"],
        permit.explain() if not permit.allowed and permit.reason is not Reason.PERSONALIZATION_OFF else None,
    )

"""Consent storage: each person's settings, the ledger of changes, and the hooks run on withdrawal."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from tastegraph.consent.decision import (
    ConsentDefaults,
    Decision,
    Policy,
    Purpose,
    RequestSignals,
    Subject,
    decide,
)
from tastegraph.consent.tables import advertiser_data_blocks, consent_ledger, user_settings
from tastegraph.kernel import InvalidInput
from tastegraph.kernel.fastsql import Query

# The settings a person can change, with their defaults where consent defaults are opt-out (the
# default deployment). Values are booleans for now.
SETTING_DEFAULTS: dict[str, bool] = {"personalization": True, "ads_advertiser_data": True}
# Ledger sources of the first entries: the deployment's default, or what the person ticked at sign-up.
SIGNUP_DEFAULT_SOURCE = "sign-up"
SIGNUP_CHOICE_SOURCE = "sign-up-choice"


def setting_defaults(defaults: ConsentDefaults) -> dict[str, bool]:
    """Every setting's value before the person has chosen: on (opt-out) or off (opt-in)."""
    return {name: defaults is ConsentDefaults.OPT_OUT for name in SETTING_DEFAULTS}


SETTING_PURPOSES: dict[str, tuple[Purpose, ...]] = {
    "personalization": (Purpose.COLLECT_OFFSITE, Purpose.PERSONALIZE_WITH_OFFSITE),
    "ads_advertiser_data": (Purpose.ADS_WITH_ADVERTISER_DATA,),
}
GPC_SOURCE = "global_privacy_control"
# consent_ledger.setting is String(60): one advertiser's switch is named "advertiser_data:<its name>",
# with the name cut to fit (ad account names run to 120 characters).
_SETTING_LENGTH = 60
BROWSER_SETTING = "browser_offsite_personalization"

# Called inside the same transaction when a person withdraws consent for a purpose,
# so that data that may no longer be used is deleted with the change.
WithdrawalHandler = Callable[[Connection, Subject, Purpose, datetime], None]


class LedgerJson(TypedDict):
    setting: str
    old_value: str | None
    new_value: str
    source: str
    changed_at: str  # ISO 8601


class ConsentExport(TypedDict):
    settings: dict[str, bool]
    advertisers_turned_off: list[int]  # ad account ids
    consent_history: list[LedgerJson]


@dataclass(frozen=True)
class LedgerEntry:
    setting: str
    old_value: str | None
    new_value: str
    source: str
    changed_at: datetime

    def as_dict(self) -> LedgerJson:
        return {
            "setting": self.setting,
            "old_value": self.old_value,
            "new_value": self.new_value,
            "source": self.source,
            "changed_at": self.changed_at.isoformat(),
        }


def _advertiser_setting(label: str) -> str:
    name = f"advertiser_data:{label}"
    return name if len(name) <= _SETTING_LENGTH else name[: _SETTING_LENGTH - 1] + "\u2026"


def _text(value: bool | None) -> str | None:
    return None if value is None else ("true" if value else "false")


_SETTINGS = Query(
    select(*(user_settings.c[name] for name in SETTING_DEFAULTS)).where(
        user_settings.c.user_id == bindparam("user_id")
    )
)


def _check_changes(changes: Mapping[str, object]) -> None:
    for name, value in changes.items():
        if name not in SETTING_DEFAULTS:
            raise InvalidInput(f"unknown setting {name!r}", field=name)
        if not isinstance(value, bool):
            raise InvalidInput(f"setting {name!r} must be true or false", field=name)


class ConsentService:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.defaults = setting_defaults(policy.defaults)
        self._withdrawal_handlers: list[WithdrawalHandler] = []

    def on_withdrawal(self, handler: WithdrawalHandler) -> None:
        self._withdrawal_handlers.append(handler)

    # --- reading -------------------------------------------------------------------------------

    def settings(self, conn: Connection, user_id: int) -> dict[str, bool]:
        rows = _SETTINGS.rows(conn, {"user_id": user_id})  # read on every request: through the driver
        values = dict(self.defaults)
        if rows:
            values.update({name: bool(v) for name, v in zip(SETTING_DEFAULTS, rows[0], strict=True)})
        return values

    def subject(
        self, conn: Connection, user_id: int | None, browser_id: str | None, *, with_ad_blocks: bool = False
    ) -> Subject:
        if user_id is None:
            return Subject(user_id=None, browser_id=browser_id)
        values = self.settings(conn, user_id)
        blocked = frozenset(self.blocked_ad_accounts(conn, user_id)) if with_ad_blocks else frozenset()
        return Subject(
            user_id,
            browser_id,
            personalization=values["personalization"],
            advertiser_data=values["ads_advertiser_data"],
            blocked_ad_accounts=blocked,
        )

    def subjects_for_ads(self, conn: Connection, user_ids: Iterable[int]) -> dict[int, Subject]:
        """Subjects (with advertiser blocks) for many people at once, for building audiences."""
        wanted = sorted(set(user_ids))
        out: dict[int, Subject] = {}
        for start in range(0, len(wanted), 2000):
            chunk = wanted[start : start + 2000]
            settings = {
                int(r.user_id): bool(r.ads_advertiser_data)
                for r in conn.execute(
                    select(user_settings.c.user_id, user_settings.c.ads_advertiser_data).where(
                        user_settings.c.user_id.in_(chunk)
                    )
                )
            }
            blocks: dict[int, set[int]] = {}
            for r in conn.execute(
                select(advertiser_data_blocks).where(advertiser_data_blocks.c.user_id.in_(chunk))
            ):
                blocks.setdefault(int(r.user_id), set()).add(int(r.ad_account_id))
            for uid in chunk:
                out[uid] = Subject(
                    uid,
                    None,
                    advertiser_data=settings.get(uid, self.defaults["ads_advertiser_data"]),
                    blocked_ad_accounts=frozenset(blocks.get(uid, ())),
                )
        return out

    def blocked_ad_accounts(self, conn: Connection, user_id: int) -> list[int]:
        return [
            int(x)
            for x in conn.execute(
                select(advertiser_data_blocks.c.ad_account_id).where(
                    advertiser_data_blocks.c.user_id == user_id
                )
            ).scalars()
        ]

    def decide(
        self,
        conn: Connection,
        purpose: Purpose,
        user_id: int | None,
        browser_id: str | None,
        signals: RequestSignals,
        now: datetime,
        *,
        data_time: datetime | None = None,
    ) -> Decision:
        """Load the person's settings and apply the one decision function."""
        return decide(
            purpose, self.subject(conn, user_id, browser_id), signals, now, self.policy, data_time=data_time
        )

    def history(self, conn: Connection, user_id: int) -> list[LedgerEntry]:
        rows = conn.execute(
            select(consent_ledger)
            .where(consent_ledger.c.user_id == user_id)
            .order_by(consent_ledger.c.changed_at.desc(), consent_ledger.c.id.desc())
        ).mappings()
        return [
            LedgerEntry(r["setting"], r["old_value"], r["new_value"], r["source"], r["changed_at"])
            for r in rows
        ]

    # --- changing ------------------------------------------------------------------------------

    def initialize(
        self, conn: Connection, user_id: int, now: datetime, choices: Mapping[str, object] | None = None
    ) -> dict[str, bool]:
        """Write a new account's settings: what the person chose at sign-up, the deployment's defaults
        for the rest; each is the account's first ledger entry, its source saying which it was."""
        chosen = dict(choices or {})
        _check_changes(chosen)
        values = {**self.defaults, **{k: bool(v) for k, v in chosen.items()}}
        conn.execute(insert(user_settings).values(user_id=user_id, updated_at=now, **values))
        for name, value in values.items():
            source = SIGNUP_CHOICE_SOURCE if name in chosen else SIGNUP_DEFAULT_SOURCE
            self._record(conn, user_id, None, name, None, _text(value) or "", source, now)
        return values

    def change(
        self,
        conn: Connection,
        user_id: int,
        changes: Mapping[str, object],
        source: str,
        now: datetime,
        browser_id: str | None = None,
    ) -> dict[str, bool]:
        """Apply setting changes, log each real change, and run withdrawal hooks for what was turned off."""
        _check_changes(changes)
        current = self.settings(conn, user_id)
        updated = {**current, **{k: bool(v) for k, v in changes.items()}}
        exists = conn.execute(
            select(user_settings.c.user_id).where(user_settings.c.user_id == user_id)
        ).first()
        if exists is None:
            conn.execute(insert(user_settings).values(user_id=user_id, updated_at=now, **updated))
        else:
            conn.execute(
                update(user_settings)
                .where(user_settings.c.user_id == user_id)
                .values(updated_at=now, **updated)
            )
        for name in changes:
            if updated[name] == current[name]:
                continue
            self._record(
                conn, user_id, None, name, _text(current[name]), _text(updated[name]) or "", source, now
            )
            if not updated[name]:
                subject = Subject(
                    user_id,
                    browser_id,
                    personalization=updated["personalization"],
                    advertiser_data=updated["ads_advertiser_data"],
                )
                for purpose in SETTING_PURPOSES[name]:
                    for handler in self._withdrawal_handlers:
                        handler(conn, subject, purpose, now)
        return updated

    def gpc_changes_settings(self, conn: Connection, user_id: int, signals: RequestSignals) -> bool:
        """Whether this request's signals would change the person's settings (a read-only check, so
        requests without GPC, or already honoured, never open a write transaction)."""
        return signals.global_privacy_control and self.settings(conn, user_id)["ads_advertiser_data"]

    def honor_gpc(self, conn: Connection, user_id: int, now: datetime) -> bool:
        """A request of this person carried Sec-GPC: 1, an opt-out of sharing: turn advertiser data off
        (once; logged with source "global_privacy_control"). Returns whether anything changed."""
        if not self.settings(conn, user_id)["ads_advertiser_data"]:
            return False
        self.change(conn, user_id, {"ads_advertiser_data": False}, GPC_SOURCE, now)
        return True

    def block_advertiser(
        self, conn: Connection, user_id: int, ad_account_id: int, label: str, now: datetime
    ) -> None:
        """Stop using one advertiser's data about this person (logged; withdrawal hooks run)."""
        if ad_account_id in self.blocked_ad_accounts(conn, user_id):
            return
        conn.execute(
            insert(advertiser_data_blocks).values(
                user_id=user_id, ad_account_id=ad_account_id, blocked_at=now
            )
        )
        self._record(conn, user_id, None, _advertiser_setting(label), "true", "false", "privacy-center", now)
        subject = Subject(user_id, None, blocked_ad_accounts=frozenset({ad_account_id}))
        for handler in self._withdrawal_handlers:
            handler(conn, subject, Purpose.ADS_WITH_ADVERTISER_DATA, now)

    def unblock_advertiser(
        self, conn: Connection, user_id: int, ad_account_id: int, label: str, now: datetime
    ) -> None:
        n = conn.execute(
            delete(advertiser_data_blocks).where(
                advertiser_data_blocks.c.user_id == user_id,
                advertiser_data_blocks.c.ad_account_id == ad_account_id,
            )
        ).rowcount
        if n:
            self._record(
                conn, user_id, None, _advertiser_setting(label), "false", "true", "privacy-center", now
            )

    def record_browser_choice(
        self,
        conn: Connection,
        browser_id: str,
        user_id: int | None,
        allow: bool,
        previous: bool,
        now: datetime,
    ) -> None:
        """Log the signed-out checkbox; the cookie itself is the setting."""
        if allow == previous:
            return
        self._record(
            conn, user_id, browser_id, BROWSER_SETTING, _text(previous), _text(allow) or "", "browser", now
        )
        if not allow:
            subject = Subject(user_id, browser_id)
            for handler in self._withdrawal_handlers:
                handler(conn, subject, Purpose.COLLECT_OFFSITE, now)

    def attach_browser(self, conn: Connection, browser_id: str, user_id: int) -> None:
        """A browser signed in: its signed-out choices become part of the account's history."""
        conn.execute(
            update(consent_ledger)
            .where(consent_ledger.c.browser_id == browser_id, consent_ledger.c.user_id.is_(None))
            .values(user_id=user_id)
        )

    def _record(
        self,
        conn: Connection,
        user_id: int | None,
        browser_id: str | None,
        setting: str,
        old: str | None,
        new: str,
        source: str,
        now: datetime,
    ) -> None:
        conn.execute(
            insert(consent_ledger).values(
                user_id=user_id,
                browser_id=browser_id,
                setting=setting,
                old_value=old,
                new_value=new,
                source=source,
                changed_at=now,
            )
        )

    # --- personal data (registered with privacy by bootstrap) -----------------------------------

    def export(self, conn: Connection, user_id: int) -> ConsentExport:
        return {
            "settings": self.settings(conn, user_id),
            "advertisers_turned_off": self.blocked_ad_accounts(conn, user_id),
            "consent_history": [e.as_dict() for e in self.history(conn, user_id)],
        }

    def erase(self, conn: Connection, user_id: int) -> int:
        # Signed-out choices became the person's when they signed in on that browser (attach_browser);
        # another person's choices on a shared browser are not theirs to delete.
        n = conn.execute(delete(consent_ledger).where(consent_ledger.c.user_id == user_id)).rowcount
        n += conn.execute(delete(user_settings).where(user_settings.c.user_id == user_id)).rowcount
        n += conn.execute(
            delete(advertiser_data_blocks).where(advertiser_data_blocks.c.user_id == user_id)
        ).rowcount
        return n

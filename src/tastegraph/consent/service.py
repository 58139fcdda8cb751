"""Consent storage: each person's settings, the ledger of changes, and the hooks run on withdrawal."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from tastegraph.consent.decision import Decision, Policy, Purpose, RequestSignals, Subject, decide
from tastegraph.consent.tables import consent_ledger, user_settings
from tastegraph.kernel import InvalidInput

# The settings a person can change, with their defaults. Values are booleans for now.
SETTING_DEFAULTS: dict[str, bool] = {"personalization": True}
SETTING_PURPOSES: dict[str, tuple[Purpose, ...]] = {
    "personalization": (Purpose.COLLECT_OFFSITE, Purpose.PERSONALIZE_WITH_OFFSITE),
}
BROWSER_SETTING = "browser_offsite_personalization"

# Called inside the same transaction when a person withdraws consent for a purpose,
# so that data that may no longer be used is deleted with the change.
WithdrawalHandler = Callable[[Connection, Subject, Purpose, datetime], None]


@dataclass(frozen=True)
class LedgerEntry:
    setting: str
    old_value: str | None
    new_value: str
    source: str
    changed_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "setting": self.setting,
            "old_value": self.old_value,
            "new_value": self.new_value,
            "source": self.source,
            "changed_at": self.changed_at.isoformat(),
        }


def _text(value: bool | None) -> str | None:
    return None if value is None else ("true" if value else "false")


class ConsentService:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._withdrawal_handlers: list[WithdrawalHandler] = []

    def on_withdrawal(self, handler: WithdrawalHandler) -> None:
        self._withdrawal_handlers.append(handler)

    # --- reading -------------------------------------------------------------------------------

    def settings(self, conn: Connection, user_id: int) -> dict[str, bool]:
        row = conn.execute(select(user_settings).where(user_settings.c.user_id == user_id)).mappings().first()
        values = dict(SETTING_DEFAULTS)
        if row is not None:
            values.update({name: bool(row[name]) for name in SETTING_DEFAULTS})
        return values

    def subject(self, conn: Connection, user_id: int | None, browser_id: str | None) -> Subject:
        if user_id is None:
            return Subject(user_id=None, browser_id=browser_id)
        return Subject(user_id, browser_id, personalization=self.settings(conn, user_id)["personalization"])

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

    def initialize(self, conn: Connection, user_id: int, now: datetime, source: str = "sign-up") -> None:
        """Write the defaults for a new account, and record them in the ledger as the first entries."""
        conn.execute(insert(user_settings).values(user_id=user_id, updated_at=now, **SETTING_DEFAULTS))
        for name, value in SETTING_DEFAULTS.items():
            self._record(conn, user_id, None, name, None, _text(value) or "", source, now)

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
        for name, value in changes.items():
            if name not in SETTING_DEFAULTS:
                raise InvalidInput(f"unknown setting {name!r}", field=name)
            if not isinstance(value, bool):
                raise InvalidInput(f"setting {name!r} must be true or false", field=name)
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
                subject = Subject(user_id, browser_id, personalization=updated["personalization"])
                for purpose in SETTING_PURPOSES[name]:
                    for handler in self._withdrawal_handlers:
                        handler(conn, subject, purpose, now)
        return updated

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

    def export(self, conn: Connection, user_id: int) -> dict[str, Any]:
        return {
            "settings": self.settings(conn, user_id),
            "consent_history": [e.as_dict() for e in self.history(conn, user_id)],
        }

    def erase(self, conn: Connection, user_id: int, browser_ids: list[str]) -> int:
        n = conn.execute(delete(consent_ledger).where(consent_ledger.c.user_id == user_id)).rowcount
        if browser_ids:
            n += conn.execute(
                delete(consent_ledger).where(consent_ledger.c.browser_id.in_(browser_ids))
            ).rowcount
        n += conn.execute(delete(user_settings).where(user_settings.c.user_id == user_id)).rowcount
        return n

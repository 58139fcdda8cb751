"""The registry of personal-data stores. Each domain registers how to export, erase and age out what it
holds about a person; privacy runs them all and never imports the domains itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection


@dataclass(frozen=True)
class PersonalDataStore:
    name: str
    # What the store holds about the user, as JSON-ready data.
    export: Callable[[Connection, int], object]
    # Delete everything about the user; returns rows deleted.
    erase: Callable[[Connection, int], int]
    # Delete what has outlived its retention window; returns rows deleted.
    sweep: Callable[[Connection, datetime], int] | None = None


class PrivacyRegistry:
    def __init__(self) -> None:
        self._stores: list[PersonalDataStore] = []

    def register(self, store: PersonalDataStore) -> None:
        if any(s.name == store.name for s in self._stores):
            raise ValueError(f"store {store.name!r} registered twice")
        self._stores.append(store)

    @property
    def stores(self) -> list[PersonalDataStore]:
        return list(self._stores)

    def export(self, conn: Connection, user_id: int) -> dict[str, object]:
        """Each store's export under its name."""
        return {store.name: store.export(conn, user_id) for store in self._stores}

    def erase(self, conn: Connection, user_id: int) -> dict[str, int]:
        """Erase in registration order: stores that depend on others are registered first."""
        return {store.name: store.erase(conn, user_id) for store in self._stores}

    def sweep(self, conn: Connection, now: datetime) -> dict[str, int]:
        return {s.name: s.sweep(conn, now) for s in self._stores if s.sweep is not None}

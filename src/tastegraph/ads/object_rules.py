"""Rules every Promoted Pins object shares: its status and what may follow what, its name, money
amounts within the deployment's ceilings, and schedules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from tastegraph.ads.accounts import clean_name
from tastegraph.kernel import InvalidInput


class Status(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    ARCHIVED = "archived"  # stops serving for good: it cannot be made active or paused again


@dataclass(frozen=True)
class Ceilings:
    """The largest bid and the largest budget or spend cap one object may have (settings)."""

    bid_micro: int
    budget_micro: int


def status(value: str, field: str = "status") -> Status:
    try:
        return Status(value)
    except ValueError:
        raise InvalidInput("status is active, paused or archived", field=field) from None


def next_status(current: Status, wanted: str | None) -> Status:
    """The status after a change; an archived object stays archived."""
    if wanted is None:
        return current
    new = status(wanted)
    if current is Status.ARCHIVED and new is not Status.ARCHIVED:
        raise InvalidInput("an archived object cannot be made active or paused again", field="status")
    return new


def name(value: str, field: str = "name") -> str:
    return clean_name(value, field)


def money(value: int, ceiling: int, field: str) -> int:
    """A positive amount in micro-units, at most `ceiling`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("give an amount in micro-units (an integer)", field=field)
    if value <= 0:
        raise InvalidInput("the amount must be more than 0 (in micro-units: 1 USD is 1000000)", field=field)
    if value > ceiling:
        raise InvalidInput(
            f"the amount is over this platform's ceiling of {ceiling} micro-units", field=field
        )
    return value


def schedule(start: datetime | None, end: datetime | None) -> None:
    """An end, when there is one, comes after the start."""
    for value, field in ((start, "start_time"), (end, "end_time")):
        if value is not None and value.tzinfo is None:
            raise InvalidInput("give the time with its UTC offset", field=field)
    if start is not None and end is not None and end <= start:
        raise InvalidInput("end_time must come after start_time", field="end_time")


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def within_schedule(start: datetime | None, end: datetime | None, now: datetime) -> bool:
    return (start is None or start <= now) and (end is None or now < end)

"""Measurement runs: conversion attribution brought up to date (measure.attribution), from the command
line (`tastegraph measure [--since DATE]`) and from the daily sweep."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from time import perf_counter

from tastegraph.bootstrap import System
from tastegraph.kernel import InvalidInput
from tastegraph.measure import attribution


@dataclass(frozen=True)
class AttributionRun:
    considered: int  # conversions (re)evaluated
    inserted: int
    updated: int
    deleted: int
    full: bool  # every conversion (first run) or every one since `since`
    skipped: bool  # another run was in progress (PostgreSQL): nothing done
    seconds: float

    def as_dict(self) -> dict[str, object]:
        return {
            "considered": self.considered,
            "inserted": self.inserted,
            "updated": self.updated,
            "deleted": self.deleted,
            "full": self.full,
            "skipped": self.skipped,
            "seconds": round(self.seconds, 3),
        }


def attribute(
    system: System, since: date | None = None, progress: Callable[[str, int, int], None] | None = None
) -> AttributionRun:
    """Attribute the conversions stored since the last run (and re-evaluate those that ad-log rows
    recorded since could change); with `since`, recompute every conversion from that UTC day on.
    `progress(stage, done, total)` is told how far it got."""
    now = system.clock.now()
    start: datetime | None = None
    if since is not None:
        start = datetime.combine(since, time(), UTC)
        if start > now:
            raise InvalidInput("since is in the future", field="since")
    began = perf_counter()
    r = attribution.run(system.batch_engine(), now, since=start, progress=progress)
    return AttributionRun(
        r.considered, r.inserted, r.updated, r.deleted, r.full, r.skipped, perf_counter() - began
    )

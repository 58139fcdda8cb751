"""Pins related to a Pin (saved to the same boards, or popular in its topics), each with its reasons."""

from __future__ import annotations

from sqlalchemy import Connection

from tastegraph.bootstrap import System
from tastegraph.catalog import content
from tastegraph.recommend import related_pins
from tastegraph.usecases.callers import Caller, Visitor, read_with
from tastegraph.usecases.home_feed import PinWithReasons, with_ads, with_pins
from tastegraph.usecases.promoted_pins import page_ads


def related(system: System, who: Caller | Visitor, pin_id: int, limit: int) -> list[PinWithReasons]:
    """Up to `limit` Pins related to `pin_id` (NotFound for an unknown Pin); never one the signed-in
    viewer saved or hid."""

    def work(conn: Connection, caller: Caller) -> list[PinWithReasons]:
        content.get_pin(conn, pin_id)
        model = system.models.current(system.clock.now())
        organic = with_pins(conn, related_pins(conn, pin_id, caller.user_id, model, limit))
        ads = page_ads(system, conn, caller, "browse", [i.pin_id for i in organic], viewed_pin=pin_id)
        return with_ads(organic, ads)

    return read_with(system, who, work)

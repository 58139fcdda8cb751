"""Human-readable text for reasons. Built from the reason's own fields, so it can never say more
than the data that put the Pin in the feed."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def _day(iso: str | None) -> str:
    if not iso:
        return ""
    return datetime.fromisoformat(iso).strftime("%-d %b %Y")


def reason_text(reason: dict[str, Any]) -> str:
    kind = reason.get("kind")
    if kind == "offsite_visit":
        when = _day(reason.get("at"))
        if reason.get("via") == "site_topic":
            return (
                f"You visited {reason['domain']} (last on {when}); this is popular in "
                f"{reason.get('topic_name', reason.get('topic'))}, like what people save from there."
            )
        return f"You visited {reason['domain']} (last on {when}); this Pin links to that site."
    if kind == "saved_alongside":
        return f"People who saved “{reason.get('pin_title', '')}” also saved this."
    if kind == "followed_board":
        return f"Saved to “{reason.get('board_name', '')}”, a board you follow."
    if kind == "followed_person":
        return f"Saved by {reason.get('user_name', 'someone')}, whom you follow."
    if kind == "topic_interest":
        return f"Popular in {reason.get('topic_name', '')}, a topic you engage with."
    if kind == "popular":
        return "Popular on Tastegraph right now."
    return "Recommended for you."


def with_text(reasons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**r, "text": reason_text(r)} for r in reasons]

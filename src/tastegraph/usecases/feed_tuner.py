"""Feed controls: hide a Pin ("See fewer like this", with a reason) and undo it; "Tune your home feed":
what shapes the signed-in person's feed (sites visited, topics, followed boards and people, searches,
hides) and removing each of them.

Everything reads and deletes only the caller's own rows. Sites are listed under the same consent
decision the feed reads off-site data with (`callers.offsite_permit`): when it refuses, none are listed
and the page says why. A removal counts at once: the next feed request reads without it, and trained
model versions fitted on a removed site's visits are deleted (recommend.ModelHolder.forget_domain)."""

from __future__ import annotations

from dataclasses import dataclass

from tastegraph.bootstrap import System
from tastegraph.catalog import content
from tastegraph.catalog import feed_controls as catalog_controls
from tastegraph.catalog.feed_controls import HIDE_REASONS, ExcludedTopic, FollowedBoard, FollowedPerson
from tastegraph.collect import EngagementIn, Kind, engagement
from tastegraph.collect import feed_controls as signal_controls
from tastegraph.collect.feed_controls import SearchRecord, SiteVisits
from tastegraph.consent import Reason
from tastegraph.kernel import NotFound, Unauthenticated
from tastegraph.kernel.urls import site_name
from tastegraph.recommend import ToneDown, TopicSignal, feed_tuning
from tastegraph.usecases.callers import Caller, offsite_permit

__all__ = [
    "HIDE_REASONS",
    "ExcludedTopic",
    "FeedTuner",
    "FollowedBoard",
    "FollowedPerson",
    "HiddenPin",
    "SearchRecord",
    "SiteVisits",
    "ToneDown",
    "TopicSignal",
    "clear_searches",
    "hide",
    "remove_site",
    "remove_topic",
    "restore_topic",
    "tuner",
    "unfollow_board",
    "unfollow_person",
    "unhide",
]


@dataclass(frozen=True)
class HiddenPin:
    pin_id: int
    title: str
    domain: str
    reason: str | None
    hidden_at: str  # ISO 8601


@dataclass(frozen=True)
class FeedTuner:
    sites: list[SiteVisits]
    sites_used: bool  # whether the feed may use off-site data now
    sites_note: str | None  # why not, when it may not
    topics: list[TopicSignal]
    removed_topics: list[ExcludedTopic]
    boards: list[FollowedBoard]
    people: list[FollowedPerson]
    searches: list[SearchRecord]
    hidden: list[HiddenPin]
    toned_down: list[ToneDown]


def _user(caller: Caller) -> int:
    if caller.user_id is None:
        raise Unauthenticated("sign in first")
    return caller.user_id


def tuner(system: System, caller: Caller) -> FeedTuner:
    """What shapes the caller's home feed, each part removable; read in one transaction."""
    user_id = _user(caller)
    system.search_history.write_soon()  # this process's queued searches, listed once written
    with system.read() as conn:
        permit = offsite_permit(system, conn, caller)
        tuning = feed_tuning(conn, user_id, permit)
        hides = catalog_controls.recent_hides(conn, user_id)
        pins = content.get_pins(conn, [h["pin_id"] for h in hides])
        return FeedTuner(
            sites=signal_controls.visited_sites(conn, permit),
            sites_used=permit.allowed,
            sites_note=None if permit.allowed or permit.reason is Reason.NO_SUBJECT else permit.explain(),
            topics=tuning["topics"],
            removed_topics=catalog_controls.excluded_topic_list(conn, user_id),
            boards=catalog_controls.followed_boards(conn, user_id),
            people=catalog_controls.followed_people(conn, user_id),
            searches=signal_controls.recent_searches(conn, user_id),
            hidden=[
                HiddenPin(
                    h["pin_id"],
                    pins[h["pin_id"]]["title"],
                    pins[h["pin_id"]]["domain"],
                    h["reason"],
                    h["hidden_at"],
                )
                for h in hides
                if h["pin_id"] in pins
            ],
            toned_down=tuning["toned_down"],
        )


def hide(system: System, user_id: int, pin_id: int, reason: str | None) -> None:
    """Hide a Pin with an optional reason: recorded as a hide engagement event, as POST /v1/engagement
    does (NotFound for an unknown Pin, InvalidInput for an unknown reason)."""
    with system.write() as conn:
        engagement.record_engagement(
            conn, user_id, [EngagementIn(Kind.HIDE, pin_id=pin_id, reason=reason)], system.clock.now()
        )


def unhide(system: System, user_id: int, pin_id: int) -> None:
    """Undo a hide: the Pin may come back and stops toning its site and topics down (NotFound when the
    person has not hidden it)."""
    with system.write() as conn:
        if not catalog_controls.unhide(conn, user_id, pin_id):
            raise NotFound(f"you have not hidden a Pin with id {pin_id}", field="pin_id")
        signal_controls.forget_hides(conn, user_id, pin_id)


def remove_site(system: System, user_id: int, domain: str) -> int:
    """Delete the person's visits to one site (only theirs); returns how many. NotFound when they have
    none stored from it. Model versions fitted on those visits are deleted too."""
    host = site_name(domain, field="domain")
    with system.write() as conn:
        deleted = signal_controls.delete_site_visits(conn, user_id, host)
        if not deleted:
            raise NotFound(f"you have no visits from {host}", field="domain")
    # After the commit: a model fitted on the visits must not serve another request.
    system.models.forget_domain(user_id, host)
    return deleted


def remove_topic(system: System, user_id: int, topic: str) -> None:
    """The topic stops counting for the person's feed (NotFound for an unknown topic)."""
    with system.write() as conn:
        catalog_controls.exclude_topic(conn, user_id, topic.strip().lower(), system.clock.now())


def restore_topic(system: System, user_id: int, topic: str) -> None:
    """A removed topic counts again (NotFound for an unknown topic or one not removed)."""
    with system.write() as conn:
        if not catalog_controls.include_topic(conn, user_id, topic.strip().lower()):
            raise NotFound(f"you have not removed the topic {topic!r}", field="topic")


def clear_searches(system: System, user_id: int) -> int:
    """Delete the person's search history; returns how many searches."""
    # With this process's writer of queued searches held: none of them is written after the delete.
    with system.search_history.held(), system.write() as conn:
        return signal_controls.delete_searches(conn, user_id) + system.search_history.forget(conn, user_id)


def unfollow_board(system: System, user_id: int, board_id: int) -> None:
    with system.write() as conn:
        catalog_controls.unfollow_board(conn, user_id, board_id)


def unfollow_person(system: System, user_id: int, followee_id: int) -> None:
    with system.write() as conn:
        catalog_controls.unfollow_person(conn, user_id, followee_id)

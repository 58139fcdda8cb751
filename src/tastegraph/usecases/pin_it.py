"""Saving a page from another site: what the Pin It popup shows, and the save it sends.

The popup names a page (its URL and title) and the picture the page chose. When a Pin with the same
normalized link exists (kernel.urls.normalized_link) the popup shows that Pin's picture and a save puts
that Pin on the board; otherwise the platform fetches the picture once, server-side
(catalog.media_fetch: public addresses only, size and time limits, image content types), decodes and
re-encodes it (catalog.media.reencode) and stores the copy (System.media); the new Pin's `image_url`
is the platform's own `/media/...` path, so no page ever loads the picture from the other site.
Fetches are limited per person (`media_fetches_per_hour`). A save to a board that is not the person's
(someone else's, secret or not, or none) is NotFound before anything is fetched or written.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from tastegraph.bootstrap import System
from tastegraph.catalog import content, links, media, media_fetch
from tastegraph.catalog.content import Board
from tastegraph.collect import EngagementIn, Kind, engagement
from tastegraph.kernel import Conflict, InvalidInput, RateLimited, Unauthenticated
from tastegraph.kernel.cache import PerDatabase, TimedCache
from tastegraph.kernel.counters import Limit, Limiter
from tastegraph.kernel.untrusted_text import text_problem
from tastegraph.kernel.urls import clean_link, domain_of
from tastegraph.usecases import offsite
from tastegraph.usecases.callers import Caller

__all__ = [
    "MAX_TITLE",
    "Board",
    "PinItRequest",
    "PinItSaved",
    "Popup",
    "media_file",
    "popup",
    "save",
    "valid_partition_token",
]

MAX_TITLE = 200
MAX_BOARD_NAME = 120
# The partitioned visitor token another part of the platform hands the widget (opaque here): kept as
# given through sign-in and passed on with the save, never used to look anyone up in this module.
MAX_PARTITION_TOKEN = 256


@dataclass(frozen=True)
class Popup:
    """What the popup shows a signed-in person before they save."""

    page_url: str  # as the Pin would keep it (clean_link)
    host: str
    title: str
    image: str | None  # the platform's URL of the picture; None when it could not be had
    media_key: str | None  # the stored copy the save will use (None for an existing Pin)
    existing_pin_id: int | None
    boards: list[Board]


@dataclass(frozen=True)
class PinItRequest:
    page_url: str
    title: str
    media_url: str | None = None  # the picture the page chose (fetched when no copy is given)
    media_key: str | None = None  # a copy the popup fetched already (catalog.media key)
    board_id: int | None = None  # one of the person's boards, or
    new_board_name: str | None = None  # a board to create in place
    partition_token: str | None = None  # the partitioned visitor the popup was opened from


@dataclass(frozen=True)
class PinItSaved:
    pin_id: int
    board_id: int
    board_name: str
    created_pin: bool  # False: the page already had a Pin, now on this board too
    partition_token: str | None  # as received (when well-formed)
    linked_visits: int = 0  # the partition's visits on this site now tied to the person (save_from_popup)


def valid_partition_token(value: str | None) -> str | None:
    """The token if it looks like one (URL-safe characters, bounded), else None: a malformed token is
    dropped rather than refused, as the popup works without it."""
    if not value or len(value) > MAX_PARTITION_TOKEN:
        return None
    ok = all(c.isascii() and (c.isalnum() or c in "-_.~") for c in value)
    return value if ok else None


def _page(page_url: str, title: str) -> tuple[str, str]:
    link = clean_link(page_url, field="url")
    title = " ".join(title.split())
    if len(title) > MAX_TITLE:
        raise InvalidInput(f"a title has at most {MAX_TITLE} characters", field="title")
    problem = text_problem(title)
    if problem:
        raise InvalidInput(problem, field="title")
    return link, title or domain_of(link)


def _fetch_limit(system: System) -> Limit:
    return Limit("media_fetch", system.settings.media_fetches_per_hour, 3600)


# The copies each person's popups fetched in the last hour, by (person, picture URL): reopening or
# reloading the popup shows the same copy instead of fetching again. Per process and per database.
_recent: PerDatabase[TimedCache[tuple[int, str], str]] = PerDatabase(
    lambda: TimedCache("pin it fetches", 3600.0, max_entries=20_000)
)


def _fetch_and_store(system: System, user_id: int, media_url: str) -> str:
    """Fetch, re-encode and store the picture; its store key. The URL is checked before it counts
    against the person's limit, and the limit before any connection is made."""
    media_fetch.check_url(media_url)
    recent = _recent.of(system.engine)
    known = recent.get((user_id, media_url))
    if known is not None and system.media.exists(known):
        return known
    reserved = Limiter(system.counters, system.clock).reserve(_fetch_limit(system), str(user_id))
    if isinstance(reserved, int):
        raise RateLimited("you have fetched many pictures in the last hour; try again later", reserved)
    policy = media_fetch.FetchPolicy(
        max_bytes=system.settings.media_fetch_max_bytes,
        allow_hosts=system.settings.media_fetch_allowed_hosts,
    )
    fetched = media_fetch.fetch_image(media_url, policy)
    key = system.media.put(media.reencode(fetched.data))
    recent.put((user_id, media_url), key)
    return key


def popup(system: System, user_id: int, page_url: str, title: str, media_url: str | None) -> Popup:
    """The save step for `page_url`: the existing Pin's picture, or a fresh copy of `media_url`.
    Raises InvalidInput for a page URL or an image URL that is not http(s), and the fetch's errors
    (413, 415, 422, 429) when the picture cannot be had."""
    link, title = _page(page_url, title)
    with system.read() as conn:
        existing = links.pin_with_link(conn, link)
        boards = content.boards_of(conn, user_id)
        existing_image = content.get_pin(conn, existing)["image_url"] if existing is not None else None
    if existing is not None:
        return Popup(link, domain_of(link), title, existing_image, None, existing, boards)
    if not media_url:
        raise InvalidInput("the page named no picture to save", field="media")
    key = _fetch_and_store(system, user_id, media_url)
    return Popup(link, domain_of(link), title, media.served_url(key), key, None, boards)


def save(system: System, user_id: int, request: PinItRequest) -> PinItSaved:
    """Save the page to one of the person's boards (or a new one) as a new Pin or as the page's
    existing Pin, and record the save as engagement. Nothing is written unless all of it is."""
    link, title = _page(request.page_url, request.title)
    new_board = (request.new_board_name or "").strip()
    if request.board_id is None and not new_board:
        raise InvalidInput("choose a board or name a new one", field="board_id")
    if request.board_id is None and len(new_board) > MAX_BOARD_NAME:
        raise InvalidInput(f"a board name has 1 to {MAX_BOARD_NAME} characters", field="name")
    if request.board_id is None and (problem := text_problem(new_board)):
        raise InvalidInput(problem, field="name")
    if request.media_url:
        media_fetch.check_url(request.media_url)
    with system.read() as conn:
        if request.board_id is not None:
            links.own_board(conn, user_id, request.board_id)
        existing = links.pin_with_link(conn, link)
    image_url: str | None = None
    if existing is None:
        image_url = media.served_url(_picture(system, user_id, request))
    with system.write() as conn:
        now = system.clock.now()
        if request.board_id is not None:
            links.own_board(conn, user_id, request.board_id)  # still theirs
            board_id = request.board_id
        else:
            board_id = content.create_board(conn, user_id, new_board, now)
        pin_id = links.pin_with_link(conn, link)
        created = pin_id is None
        if pin_id is None:
            if image_url is None:  # the page's Pin was deleted since we looked: never fetch here
                raise Conflict("the page's Pin changed while saving; try again", field="url")
            pin_id = content.create_pin(
                conn, title=title, link_url=link, image_url=image_url, now=now, creator_id=user_id
            )
        saved = EngagementIn(Kind.SAVE, pin_id=pin_id, board_id=board_id)
        engagement.record_engagement(conn, user_id, [saved], now)
        board_name = content.get_boards(conn, [board_id])[board_id]["name"]
    return PinItSaved(pin_id, board_id, board_name, created, valid_partition_token(request.partition_token))


def save_from_popup(system: System, caller: Caller, request: PinItRequest) -> PinItSaved:
    """The popup's Save: `save`, then, when the popup was opened by a partitioned visitor's frame
    (`partition=`), tie that partition's visits on the page's site to the person who just acted there,
    as this request's signals and their settings allow (usecases.offsite.link_partitioned_visits). The
    save stands whatever the linking decides."""
    if caller.user_id is None:
        raise Unauthenticated("sign in to save")
    saved = save(system, caller.user_id, request)
    if saved.partition_token is None:
        return saved
    linked = offsite.link_partitioned_visits(system, caller, saved.partition_token, request.page_url)
    return replace(saved, linked_visits=linked)


def _picture(system: System, user_id: int, request: PinItRequest) -> str:
    """The store key of the picture to save: the popup's copy when it is still stored, else a fetch."""
    if request.media_key and media.valid_key(request.media_key) and system.media.exists(request.media_key):
        return request.media_key
    if not request.media_url:
        raise InvalidInput("the page named no picture to save", field="media")
    return _fetch_and_store(system, user_id, request.media_url)


def media_file(system: System, key: str) -> media.StoredMedia | None:
    """A stored picture by key (None for an unknown or malformed one)."""
    return system.media.get(key)

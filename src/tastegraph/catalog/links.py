"""What saving a page from another site needs of the catalogue: the Pin that already names a page
(by its normalized link), whether a board is the person's own, and which stored images Pins use."""

from __future__ import annotations

from sqlalchemy import Connection, select

from tastegraph.catalog.media import MEDIA_PATH, key_of_url
from tastegraph.catalog.tables import boards, pins
from tastegraph.kernel import InvalidInput, NotFound
from tastegraph.kernel.urls import domain_of, normalized_link


def pin_with_link(conn: Connection, link: str) -> int | None:
    """The oldest Pin whose link is the same page as `link` (kernel.urls.normalized_link), or None.

    A Pin's domain is its link's host, so only that site's Pins are compared (the pins (domain, ...)
    index); their links are normalized here, so Pins loaded before normalization existed match too."""
    wanted = normalized_link(link, field="url")
    rows = conn.execute(
        select(pins.c.id, pins.c.link_url).where(pins.c.domain == domain_of(link)).order_by(pins.c.id)
    )
    for pin_id, link_url in rows:
        try:
            if normalized_link(link_url) == wanted:
                return int(pin_id)
        except InvalidInput:  # a stored link that no longer parses names no page
            continue
    return None


def own_board(conn: Connection, user_id: int, board_id: int) -> None:
    """Nothing when `board_id` is `user_id`'s board; NotFound otherwise, the same for someone else's
    board (secret or not) as for one that does not exist, so the answer reveals nothing about it."""
    owner = conn.execute(select(boards.c.owner_id).where(boards.c.id == board_id)).scalar_one_or_none()
    if owner is None or int(owner) != user_id:
        raise NotFound(f"no board with id {board_id}", field="board_id")


def stored_media_in_use(conn: Connection) -> set[str]:
    """The media store keys (catalog.media) that some Pin shows."""
    rows = conn.execute(select(pins.c.image_url).where(pins.c.image_url.startswith(MEDIA_PATH)))
    return {key for (url,) in rows if (key := key_of_url(url)) is not None}

"""Pages of an ad account's objects (`?page_size=&bookmark=`), newest first.

A bookmark is the last id of the page before, opaque to clients (base64url of "v1:ID"). It only narrows
a query that is already limited to the caller's account, so a forged one reveals nothing.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select

from tastegraph.kernel import InvalidInput

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 250


@dataclass(frozen=True)
class PageRequest:
    page_size: int = DEFAULT_PAGE_SIZE
    before_id: int | None = None  # the page starts after (below) this id


def page_request(page_size: int | None, bookmark: str | None) -> PageRequest:
    size = DEFAULT_PAGE_SIZE if page_size is None else page_size
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise InvalidInput(f"page_size is 1 to {MAX_PAGE_SIZE}", field="page_size")
    return PageRequest(size, None if not bookmark else _decode(bookmark))


def _decode(bookmark: str) -> int:
    try:
        text = base64.urlsafe_b64decode(bookmark + "=" * (-len(bookmark) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    prefix, _, number = text.partition(":")
    if prefix != "v1" or not number.isdigit() or not 0 < int(number) < 2**63:
        raise InvalidInput("that bookmark is not one this API gave out", field="bookmark")
    return int(number)


def bookmark_after(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{last_id}".encode()).decode("ascii").rstrip("=")


def paged(query: Select[Any], id_column: Any, page: PageRequest) -> Select[Any]:
    """The query narrowed to one page (one row more than asked, to tell whether another page follows)."""
    if page.before_id is not None:
        query = query.where(id_column < page.before_id)
    return query.order_by(id_column.desc()).limit(page.page_size + 1)


def split_page(rows: list[T], page: PageRequest, id_of: Any) -> tuple[list[T], str | None]:
    """The page's rows and the bookmark of the next page (None on the last page)."""
    if len(rows) <= page.page_size:
        return rows, None
    kept = rows[: page.page_size]
    return kept, bookmark_after(int(id_of(kept[-1])))

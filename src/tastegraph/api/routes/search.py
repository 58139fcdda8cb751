"""Search by words: GET /v1/search/pins (docs/api.md, "Search")."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from tastegraph.api.context import SystemDep, VisitorDep, run_hot_read
from tastegraph.api.routes.feed import json_response, pin_out
from tastegraph.api.schemas import PinOut, PromotedOut
from tastegraph.usecases import search as search_usecase
from tastegraph.usecases.search import MAX_LIMIT, MAX_QUERY_CHARS, MAX_TERMS

router = APIRouter(prefix="/v1", tags=["search"])


class SearchMatchOut(BaseModel):
    field: str  # title | description | topics | board
    terms: list[str]  # the Pin's (or board name's) words that matched, as written
    board_id: int | None = None  # field "board" only
    board_name: str | None = None
    text: str


class SearchEntry(BaseModel):
    pin_id: int
    matches: list[SearchMatchOut]
    reasons: list[dict[str, Any]]  # search_saves, search_topic; for an ad, why this ad (docs/api.md)
    pin: PinOut
    promoted: PromotedOut | None = None  # set on a Promoted Pin (its `matches` are empty)


class SearchOut(BaseModel):
    query: str
    terms: list[str]
    items: list[SearchEntry]
    personalized: bool
    personalization_note: str | None = None
    recorded: bool


@router.get(
    "/search/pins",
    response_model=SearchOut,
    summary="Pins matching words (titles, descriptions, board names, topics), each with what matched and why",
)
async def search_pins(
    system: SystemDep,
    visitor: VisitorDep,
    q: str | None = Query(
        default=None,
        description=f"The words to search for: 1 to {MAX_QUERY_CHARS} characters, at most {MAX_TERMS} "
        "different words of letters or digits (anything else separates words).",
    ),
    limit: int = Query(default=25, ge=1, le=MAX_LIMIT),
) -> Response:
    # A hot read, like the home feed: on a worker thread, a few at a time per process (the rest queue
    # here rather than thrash the interpreter lock), the body validated and serialized once.
    def work() -> Response:
        page = search_usecase.search(system, visitor, q, limit)
        return json_response(
            SearchOut(
                query=page.query,
                terms=page.terms,
                items=[
                    SearchEntry(
                        pin_id=i.pin_id,
                        matches=[SearchMatchOut.model_validate(m) for m in i.matches],
                        reasons=i.reasons,
                        pin=pin_out(i.pin),
                        promoted=None if i.promoted is None else PromotedOut(**i.promoted),
                    )
                    for i in page.items
                ],
                personalized=page.personalized,
                personalization_note=page.personalization_note,
                recorded=page.recorded,
            )
        )

    return await run_hot_read(system, work)

"""Feed controls: undoing a hide, "Tune your home feed" and its removals, clearing searches.
(Hiding itself is an engagement event: POST /v1/engagement with kind "hide" and an optional reason.)"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel

from tastegraph.api.context import CallerDep, SameOriginJson, SystemDep, UserDep
from tastegraph.api.openapi_errors import fails_with
from tastegraph.api.schemas import IdPath, ToneDownOut
from tastegraph.usecases import feed_tuner

router = APIRouter(prefix="/v1", tags=["feed controls"], dependencies=[SameOriginJson])

DomainPath = Annotated[str, Path(min_length=1, max_length=253, examples=["trailpeak-gear.com"])]
TopicPath = Annotated[str, Path(min_length=1, max_length=60, examples=["outdoors"])]


class SiteOut(BaseModel):
    domain: str
    visits: int
    last_visited_at: str
    first_visited_at: str


class TopicOut(BaseModel):
    topic: str
    name: str
    engagements: int
    sites: list[str]
    hides: int


class RemovedTopicOut(BaseModel):
    topic: str
    name: str
    removed_at: str


class BoardOut(BaseModel):
    board_id: int
    name: str
    owner_id: int
    owner_name: str
    followed_at: str


class PersonOut(BaseModel):
    user_id: int
    display_name: str
    followed_at: str


class SearchOut(BaseModel):
    query: str
    searched_at: str


class HiddenOut(BaseModel):
    pin_id: int
    title: str
    domain: str
    reason: Literal["not_interested", "seen_it", "offensive"] | None
    hidden_at: str


class FeedTunerOut(BaseModel):
    sites: list[SiteOut]
    sites_used: bool
    sites_note: str | None
    topics: list[TopicOut]
    removed_topics: list[RemovedTopicOut]
    boards: list[BoardOut]
    people: list[PersonOut]
    searches: list[SearchOut]
    hidden: list[HiddenOut]
    toned_down: list[ToneDownOut]


class Removed(BaseModel):
    deleted: int


@router.get("/me/feed-tuner", response_model=FeedTunerOut, summary="What shapes my home feed")
@fails_with(401)
def get_feed_tuner(system: SystemDep, caller: CallerDep, _: UserDep) -> FeedTunerOut:
    t = feed_tuner.tuner(system, caller)
    return FeedTunerOut(
        sites=[SiteOut(**s) for s in t.sites],
        sites_used=t.sites_used,
        sites_note=t.sites_note,
        topics=[TopicOut(**x) for x in t.topics],
        removed_topics=[RemovedTopicOut(**x) for x in t.removed_topics],
        boards=[BoardOut(**b) for b in t.boards],
        people=[PersonOut(**p) for p in t.people],
        searches=[SearchOut(**s) for s in t.searches],
        hidden=[HiddenOut.model_validate(h, from_attributes=True) for h in t.hidden],
        toned_down=[ToneDownOut(**d) for d in t.toned_down],
    )


@router.delete(
    "/me/feed-tuner/sites/{domain}",
    status_code=204,
    summary="Delete my off-site visits from one site (404 when I have none from it)",
)
def delete_site(domain: DomainPath, system: SystemDep, user_id: UserDep) -> Response:
    feed_tuner.remove_site(system, user_id, domain)
    return Response(status_code=204)


@router.delete(
    "/me/feed-tuner/topics/{topic}", status_code=204, summary="Stop a topic counting for my home feed"
)
def delete_topic(topic: TopicPath, system: SystemDep, user_id: UserDep) -> Response:
    feed_tuner.remove_topic(system, user_id, topic)
    return Response(status_code=204)


@router.put("/me/feed-tuner/topics/{topic}", status_code=204, summary="Let a topic I removed count again")
def put_topic(topic: TopicPath, system: SystemDep, user_id: UserDep) -> Response:
    feed_tuner.restore_topic(system, user_id, topic)
    return Response(status_code=204)


@router.delete(
    "/me/feed-tuner/boards/{board_id}", status_code=204, summary="Unfollow a board that shapes my feed"
)
def delete_board(board_id: IdPath, system: SystemDep, user_id: UserDep) -> Response:
    feed_tuner.unfollow_board(system, user_id, board_id)
    return Response(status_code=204)


@router.delete(
    "/me/feed-tuner/people/{user_id}", status_code=204, summary="Unfollow a person who shapes my feed"
)
def delete_person(user_id: IdPath, system: SystemDep, me: UserDep) -> Response:
    feed_tuner.unfollow_person(system, me, user_id)
    return Response(status_code=204)


@router.delete("/me/searches", response_model=Removed, summary="Clear my search history")
def delete_searches(system: SystemDep, user_id: UserDep) -> Removed:
    return Removed(deleted=feed_tuner.clear_searches(system, user_id))


@router.delete("/me/hides/{pin_id}", status_code=204, summary="Undo hiding a Pin")
def delete_hide(pin_id: IdPath, system: SystemDep, user_id: UserDep) -> Response:
    feed_tuner.unhide(system, user_id, pin_id)
    return Response(status_code=204)

"""The tag on advertisers' pages: its image pixel. (`/tag.js`, the script that calls it, is a web asset.)

`GET /v1/tag/{tag_id}/event?event=checkout&value=12.50&currency=EUR&event_id=...` answers a 1x1 GIF.
The person is recognized by our browser cookie (sent with the image request when the browser allows
third-party cookies; linked to an account once they signed in here) and by `em`, a SHA-256 hashed email
(enhanced match; the script hashes it in the browser). `fp` is the id the script keeps in a first-party
cookie on the advertiser's own site. The parameters are read by `usecases.advertiser_events`.
"""

from __future__ import annotations

import base64

from fastapi import APIRouter, Request, Response

from tastegraph.api.context import CallerDep, SystemDep
from tastegraph.usecases import advertiser_events as event_cases

router = APIRouter(prefix="/v1", tags=["tag"])

GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


@router.get(
    "/tag/{tag_id}/event",
    summary="The tag's pixel: record one event, answer a 1x1 GIF",
    response_class=Response,
    responses={200: {"content": {"image/gif": {}}}},
)
def pixel(tag_id: str, request: Request, system: SystemDep, caller: CallerDep) -> Response:
    event_cases.record_tag_event(system, caller, tag_id, dict(request.query_params))
    return Response(
        GIF,
        media_type="image/gif",
        headers={"Cache-Control": "no-store", "Cross-Origin-Resource-Policy": "cross-origin"},
    )

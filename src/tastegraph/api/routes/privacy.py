"""Download my data; which advertisers' data matched me, and turning one off."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, StrictBool

from tastegraph.api.context import SameOriginJson, SystemDep, UserDep
from tastegraph.api.schemas import IdPath
from tastegraph.usecases import privacy_center

router = APIRouter(prefix="/v1", tags=["privacy"])


@router.get("/me/export", summary="Everything stored about me, as JSON")
def export_me(system: SystemDep, user_id: UserDep) -> JSONResponse:
    return JSONResponse(
        privacy_center.export_data(system, user_id),
        headers={"Content-Disposition": f'attachment; filename="tastegraph-export-{user_id}.json"'},
    )


@router.get("/me/advertisers", summary="Advertisers whose data or customer lists matched me")
def my_advertisers(system: SystemDep, user_id: UserDep) -> dict[str, object]:
    return {
        "ads_advertiser_data": privacy_center.advertiser_data_setting(system, user_id),
        "advertisers": privacy_center.advertisers_about(system, user_id),
    }


class AdvertiserChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")
    allow: StrictBool


@router.put(
    "/me/advertisers/{ad_account_id}",
    summary="Allow or stop one advertiser's data shaping my ads",
    dependencies=[SameOriginJson],
)
def put_advertiser_choice(
    ad_account_id: IdPath,
    body: AdvertiserChoice,
    system: SystemDep,
    user_id: UserDep,
) -> dict[str, object]:
    privacy_center.set_advertiser_choice(system, user_id, ad_account_id, body.allow)
    return {"ad_account_id": ad_account_id, "allow": body.allow}

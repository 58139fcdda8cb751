"""Promoted Pins for advertisers: the account's Pins, campaigns, ad groups and ads.

Authenticated like the rest of the advertiser API (the ad account's token, routes.ads.ad_account_for).
Lists page newest first with `?page_size=` (1-250, default 25) and `?bookmark=` (from the last page's
answer). PATCH changes only the fields sent. Money is an integer in micro-units of the account's
currency (1 USD = 1,000,000). Times are ISO 8601 with an offset (or Unix seconds)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from tastegraph.api.context import SystemDep
from tastegraph.api.openapi_errors import fails_with
from tastegraph.api.routes.ads import AccountId, AdAccountDep, json_only
from tastegraph.api.schemas import MAX_ID, TYPED_TEXT_RULE, IdInt, IdPath, Name
from tastegraph.kernel import InvalidInput
from tastegraph.kernel.json_numbers import WHOLE_NUMBER
from tastegraph.usecases import ad_campaigns as cases

router = APIRouter(prefix="/v1", tags=["promoted pins"])

Micro = Annotated[StrictInt, Field(ge=1, le=MAX_ID), WHOLE_NUMBER]
StatusIn = Literal["active", "paused", "archived"]
PageSize = Annotated[int | None, Query(ge=1, le=250, description="1-250 (default 25)")]
Bookmark = Annotated[str | None, Query(max_length=64, description="from the previous page's answer")]
StatusFilter = Annotated[StatusIn | None, Query(description="only objects with this status")]
JSON_ONLY = [Depends(json_only)]
CAMPAIGN_NULLABLE = frozenset({"daily_spend_cap", "lifetime_spend_cap", "start_time", "end_time"})
GROUP_NULLABLE = frozenset({"start_time", "end_time", "frequency_cap"})


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _changes(body: BaseModel, nullable: frozenset[str]) -> dict[str, Any]:
    """The fields a PATCH sent; null only where it means "none" (a cap, a time), else 422."""
    changes = body.model_dump(exclude_unset=True)
    for field, value in changes.items():
        if value is None and field not in nullable:
            raise InvalidInput(f"{field} cannot be null", field=field)
    return changes


def _page(page: cases.Page[Any]) -> dict[str, Any]:
    return {
        "items": [item if isinstance(item, dict) else item.as_dict() for item in page.items],
        "bookmark": page.bookmark,
    }


# --- the account's Pins ----------------------------------------------------------------------------


class MediaSource(Strict):
    source_type: Literal["image_base64"]
    content_type: Literal["image/jpeg", "image/png", "image/webp"]
    data: Annotated[StrictStr, Field(min_length=1, description="the image file, base64; at most 10 MB")]


class AdPinCreate(Strict):
    title: Annotated[StrictStr, Field(min_length=1, max_length=100, json_schema_extra=TYPED_TEXT_RULE)]
    description: Annotated[StrictStr, Field(max_length=800, json_schema_extra=TYPED_TEXT_RULE)] = ""
    link: Annotated[StrictStr, Field(min_length=1, max_length=2048, description="on the account's website")]
    topics: Annotated[list[StrictStr], Field(max_length=10)] = []
    media_source: MediaSource


class AdPinOut(BaseModel):
    id: int
    ad_account_id: int
    title: str
    description: str
    link: str
    topics: list[str]
    image_url: str
    created_at: str
    updated_at: str


class AdPinPage(BaseModel):
    items: list[AdPinOut]
    bookmark: str | None


@router.post(
    "/ad_accounts/{ad_account_id}/pins",
    status_code=201,
    response_model=AdPinOut,
    summary="Create a Pin to promote (the image is re-encoded and served by the platform)",
    dependencies=JSON_ONLY,
)
def create_pin(ad_account_id: AccountId, body: AdPinCreate, system: SystemDep, account: AdAccountDep) -> Any:
    new = cases.NewAdPin(
        title=body.title,
        description=body.description,
        link=body.link,
        topics=body.topics,
        content_type=body.media_source.content_type,
        data=body.media_source.data,
    )
    return cases.create_pin(system, account, new).as_dict()


@router.get("/ad_accounts/{ad_account_id}/pins", response_model=AdPinPage, summary="The account's Pins")
def list_pins(
    ad_account_id: AccountId,
    system: SystemDep,
    account: AdAccountDep,
    page_size: PageSize = None,
    bookmark: Bookmark = None,
) -> Any:
    return _page(cases.list_pins(system, account, page_size, bookmark))


# --- campaigns -------------------------------------------------------------------------------------


class CampaignFields(Strict):
    name: Name | None = None
    objective: Literal["awareness", "consideration", "conversions"] | None = None
    status: StatusIn | None = None
    daily_spend_cap: Micro | None = None
    lifetime_spend_cap: Micro | None = None
    start_time: AwareDatetime | None = None
    end_time: AwareDatetime | None = None


class CampaignCreate(CampaignFields):
    name: Name
    objective: Literal["awareness", "consideration", "conversions"]


class CampaignOut(BaseModel):
    id: int
    ad_account_id: int
    name: str
    objective: str
    status: str
    daily_spend_cap: int | None
    lifetime_spend_cap: int | None
    start_time: str | None
    end_time: str | None
    created_at: str
    updated_at: str


class CampaignPage(BaseModel):
    items: list[CampaignOut]
    bookmark: str | None


@router.post(
    "/ad_accounts/{ad_account_id}/campaigns",
    status_code=201,
    response_model=CampaignOut,
    summary="Create a campaign",
    dependencies=JSON_ONLY,
)
def create_campaign(
    ad_account_id: AccountId, body: CampaignCreate, system: SystemDep, account: AdAccountDep
) -> Any:
    return cases.create_campaign(system, account, body.model_dump(exclude_unset=True)).as_dict()


@router.get("/ad_accounts/{ad_account_id}/campaigns", response_model=CampaignPage, summary="Campaigns")
def list_campaigns(
    ad_account_id: AccountId,
    system: SystemDep,
    account: AdAccountDep,
    page_size: PageSize = None,
    bookmark: Bookmark = None,
    status: StatusFilter = None,
) -> Any:
    return _page(cases.list_campaigns(system, account, page_size, bookmark, status))


@router.get(
    "/ad_accounts/{ad_account_id}/campaigns/{campaign_id}", response_model=CampaignOut, summary="A campaign"
)
def get_campaign(
    ad_account_id: AccountId, campaign_id: IdPath, system: SystemDep, account: AdAccountDep
) -> Any:
    return cases.get_campaign(system, account, campaign_id).as_dict()


@router.patch(
    "/ad_accounts/{ad_account_id}/campaigns/{campaign_id}",
    response_model=CampaignOut,
    summary="Change a campaign (only the fields sent; archived stays archived)",
    dependencies=JSON_ONLY,
)
def change_campaign(
    ad_account_id: AccountId,
    campaign_id: IdPath,
    body: CampaignFields,
    system: SystemDep,
    account: AdAccountDep,
) -> Any:
    return cases.change_campaign(system, account, campaign_id, _changes(body, CAMPAIGN_NULLABLE)).as_dict()


# --- ad groups ---------------------------------------------------------------------------------------


class FrequencyCapIn(Strict):
    impressions: Annotated[StrictInt, Field(ge=1, le=1000), WHOLE_NUMBER]
    days: Literal[1, 7, 30]


Keyword = Annotated[StrictStr, Field(min_length=1, max_length=80, json_schema_extra=TYPED_TEXT_RULE)]


class TargetingIn(Strict):
    interests: Annotated[list[Annotated[StrictStr, Field(max_length=60)]], Field(max_length=100)] = []
    keywords: Annotated[list[Keyword], Field(max_length=200)] = []
    audience_include: Annotated[list[IdInt], Field(max_length=50)] = []
    audience_exclude: Annotated[list[IdInt], Field(max_length=50)] = []
    expanded: StrictBool = False


class AdGroupFields(Strict):
    name: Name | None = None
    status: StatusIn | None = None
    billable_event: Literal["impression", "click"] | None = None
    bid_in_micro: Micro | None = Field(default=None, description="per 1,000 impressions (CPM) or per click")
    budget_in_micro: Micro | None = None
    budget_type: Literal["daily", "lifetime"] | None = None
    pacing_delivery_type: Literal["standard", "accelerated"] | None = None
    start_time: AwareDatetime | None = None
    end_time: AwareDatetime | None = Field(default=None, description="required for a lifetime budget")
    frequency_cap: FrequencyCapIn | None = None
    placement: Literal["all", "browse", "search"] | None = None
    targeting_spec: TargetingIn | None = None


class AdGroupCreate(AdGroupFields):
    campaign_id: IdInt
    name: Name
    billable_event: Literal["impression", "click"]
    bid_in_micro: Micro
    budget_in_micro: Micro
    budget_type: Literal["daily", "lifetime"]


class FrequencyCapOut(BaseModel):
    impressions: int
    days: int


class TargetingOut(BaseModel):
    interests: list[str]
    keywords: list[str]
    audience_include: list[int]
    audience_exclude: list[int]
    expanded: bool


class AdGroupOut(BaseModel):
    id: int
    ad_account_id: int
    campaign_id: int
    name: str
    status: str
    billable_event: str
    bid_in_micro: int
    budget_in_micro: int
    budget_type: str
    pacing_delivery_type: str
    start_time: str | None
    end_time: str | None
    frequency_cap: FrequencyCapOut | None
    placement: str
    targeting_spec: TargetingOut
    created_at: str
    updated_at: str
    serving: bool = Field(description="whether it can serve now (budgets and caps decide per request)")
    not_serving_reasons: list[str] = Field(
        description=(
            "stable codes: paused, archived, not_started, ended, campaign_paused, campaign_archived, "
            "campaign_not_started, campaign_ended, unusable_audience:ID (under 100 members), no_active_ads"
        )
    )


class AdGroupPage(BaseModel):
    items: list[AdGroupOut]
    bookmark: str | None


@router.post(
    "/ad_accounts/{ad_account_id}/ad_groups",
    status_code=201,
    response_model=AdGroupOut,
    summary="Create an ad group",
    dependencies=JSON_ONLY,
)
@fails_with(404)  # another account's (or no) campaign or audience
def create_ad_group(
    ad_account_id: AccountId, body: AdGroupCreate, system: SystemDep, account: AdAccountDep
) -> Any:
    return cases.create_ad_group(system, account, body.model_dump(exclude_unset=True))


@router.get("/ad_accounts/{ad_account_id}/ad_groups", response_model=AdGroupPage, summary="Ad groups")
def list_ad_groups(
    ad_account_id: AccountId,
    system: SystemDep,
    account: AdAccountDep,
    page_size: PageSize = None,
    bookmark: Bookmark = None,
    campaign_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    status: StatusFilter = None,
) -> Any:
    return _page(cases.list_ad_groups(system, account, page_size, bookmark, campaign_id, status))


@router.get(
    "/ad_accounts/{ad_account_id}/ad_groups/{ad_group_id}", response_model=AdGroupOut, summary="An ad group"
)
def get_ad_group(
    ad_account_id: AccountId, ad_group_id: IdPath, system: SystemDep, account: AdAccountDep
) -> Any:
    return cases.get_ad_group(system, account, ad_group_id)


@router.patch(
    "/ad_accounts/{ad_account_id}/ad_groups/{ad_group_id}",
    response_model=AdGroupOut,
    summary="Change an ad group (only the fields sent; archived stays archived)",
    dependencies=JSON_ONLY,
)
@fails_with(404)  # an audience in the new targeting that is not the account's
def change_ad_group(
    ad_account_id: AccountId,
    ad_group_id: IdPath,
    body: AdGroupFields,
    system: SystemDep,
    account: AdAccountDep,
) -> Any:
    return cases.change_ad_group(system, account, ad_group_id, _changes(body, GROUP_NULLABLE))


# --- ads ----------------------------------------------------------------------------------------------


TrackingUrl = Annotated[StrictStr, Field(min_length=1, max_length=2000)]
TrackingList = Annotated[list[TrackingUrl], Field(max_length=3)]


class TrackingUrlsIn(Strict):
    """Third-party measurement URLs per event type (docs/api.md, "Tracking URLs")."""

    impression: TrackingList = []
    click: TrackingList = []
    engagement: TrackingList = []


class TrackingUrlsOut(BaseModel):
    impression: list[str]
    click: list[str]
    engagement: list[str]


class AdFields(Strict):
    name: Name | None = None
    status: StatusIn | None = None
    destination_url: Annotated[StrictStr, Field(min_length=1, max_length=2048)] | None = Field(
        default=None, description="on the account's website; by default the Pin's link"
    )
    tracking_urls: TrackingUrlsIn | None = Field(
        default=None,
        description="up to 3 https URLs per event type, called by the platform after each counted "
        "impression, click or engagement; macros {ad_id} {ad_group_id} {campaign_id} {cachebuster} "
        "{timestamp}; null or {} removes them",
    )


class AdCreate(AdFields):
    ad_group_id: IdInt
    pin_id: IdInt = Field(description="one of the account's Pins (POST .../pins)")


class AdOut(BaseModel):
    id: int
    ad_account_id: int
    ad_group_id: int
    pin_id: int
    name: str
    status: str
    destination_url: str
    tracking_urls: TrackingUrlsOut
    created_at: str
    updated_at: str


class AdPage(BaseModel):
    items: list[AdOut]
    bookmark: str | None


@router.post(
    "/ad_accounts/{ad_account_id}/ads",
    status_code=201,
    response_model=AdOut,
    summary="Create an ad: one of the account's Pins in an ad group",
    dependencies=JSON_ONLY,
)
@fails_with(404)  # another account's (or no) ad group or Pin
def create_ad(ad_account_id: AccountId, body: AdCreate, system: SystemDep, account: AdAccountDep) -> Any:
    return cases.create_ad(system, account, body.model_dump(exclude_unset=True)).as_dict()


@router.get("/ad_accounts/{ad_account_id}/ads", response_model=AdPage, summary="Ads")
def list_ads(
    ad_account_id: AccountId,
    system: SystemDep,
    account: AdAccountDep,
    page_size: PageSize = None,
    bookmark: Bookmark = None,
    ad_group_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    status: StatusFilter = None,
) -> Any:
    return _page(cases.list_ads(system, account, page_size, bookmark, ad_group_id, status))


@router.get("/ad_accounts/{ad_account_id}/ads/{ad_id}", response_model=AdOut, summary="An ad")
def get_ad(ad_account_id: AccountId, ad_id: IdPath, system: SystemDep, account: AdAccountDep) -> Any:
    return cases.get_ad(system, account, ad_id).as_dict()


@router.patch(
    "/ad_accounts/{ad_account_id}/ads/{ad_id}",
    response_model=AdOut,
    summary="Change an ad's name, status, destination or tracking URLs (archived stays archived)",
    dependencies=JSON_ONLY,
)
def change_ad(
    ad_account_id: AccountId, ad_id: IdPath, body: AdFields, system: SystemDep, account: AdAccountDep
) -> Any:
    changes = _changes(body, frozenset({"destination_url", "tracking_urls"}))
    return cases.change_ad(system, account, ad_id, changes).as_dict()


# --- delivery insights ----------------------------------------------------------------------------------


class DeliveredOut(BaseModel):
    impressions: int
    clicks: int
    spend_in_micro: int


class NotServedOut(BaseModel):
    eligible: int = Field(description="requests it entered: targeting matched and it had an ad to show")
    lost_to_pacing: int = Field(description="held back by pacing, or no room left in a budget")
    lost_to_frequency_cap: int = Field(description="the viewer had reached its frequency cap")
    lost_in_auction: int = Field(description="eligible, let in by pacing, and outbid")
    not_matched: int = Field(description="requests of its placement its targeting did not match")
    unusable_audience: int = Field(description="requests it sat out: an included audience under 100 people")


class DeliveryOut(BaseModel):
    ad_group_id: int
    date: str = Field(description="YYYY-MM-DD, in the ad account's time zone")
    timezone: str
    currency: str
    impressions: int
    clicks: int
    spend_in_micro: int
    total: DeliveredOut = Field(description="over the ad group's life (as far as the 90-day logs reach)")
    not_served: NotServedOut = Field(description="the day's requests of its placement, by what happened")


@router.get(
    "/ad_accounts/{ad_account_id}/ad_groups/{ad_group_id}/delivery",
    response_model=DeliveryOut,
    summary="An ad group's delivery on a day: impressions, clicks, spend, and why it did not serve",
)
@fails_with(404)  # another account's (or no) ad group
def ad_group_delivery(
    ad_account_id: AccountId,
    ad_group_id: IdPath,
    system: SystemDep,
    account: AdAccountDep,
    date: Annotated[
        str | None,
        Query(max_length=32, description="YYYY-MM-DD in the account's time zone (default: today there)"),
    ] = None,
) -> Any:
    return cases.delivery(system, account, ad_group_id, date)

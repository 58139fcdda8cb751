"""Request and response bodies. Requests forbid unknown fields and take JSON types strictly."""

from __future__ import annotations

from typing import Annotated, Any, Literal, cast

from fastapi import Path
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr
from pydantic.config import JsonDict

from tastegraph.kernel.json_numbers import WHOLE_NUMBER
from tastegraph.usecases.accounts import MAX_DISPLAY_NAME, MAX_EMAIL, MAX_PASSWORD, MAX_PHONE
from tastegraph.usecases.home_feed import Kind, ReasonJson

# Ids are 64-bit signed integers: a larger number names nothing (422), rather than overflowing the database.
MAX_ID = 2**63 - 1
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdInt = Annotated[StrictInt, Field(ge=1, le=MAX_ID), WHOLE_NUMBER]


# Names and labels a person types: control characters other than whitespace are refused
# (ads.accounts.refuse_control_characters checks; the schema says so).
TYPED_TEXT_RULE: JsonDict = {"pattern": r"^[^\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]*$"}
Name = Annotated[StrictStr, Field(max_length=120, json_schema_extra=TYPED_TEXT_RULE)]


class StrictModel(BaseModel):
    """Unknown fields are refused; scalar fields use Strict* types so "5" is not an int nor "true" a bool."""

    model_config = ConfigDict(extra="forbid")


# What catalog.accounts accepts (it checks, with its own messages; the schema only says so): the address
# is trimmed, then checked, and NUL is never accepted; a password has 8-256 characters.
# identity.normalize also refuses control characters and wants a dot-free last label.
_PART = r"[^@\s\x00-\x1f\x7f-\x9f]"
EMAIL_RULE: JsonDict = {"pattern": rf"^\s*{_PART}{{1,64}}@{_PART}+\.[^@\s.\x00-\x1f\x7f-\x9f]{{2,}}\s*$"}
PASSWORD_RULE: JsonDict = {"minLength": 8}


class SignUp(StrictModel):
    email: StrictStr = Field(max_length=MAX_EMAIL, json_schema_extra=EMAIL_RULE)
    password: StrictStr = Field(max_length=MAX_PASSWORD, json_schema_extra=PASSWORD_RULE)
    display_name: StrictStr | None = Field(default=None, max_length=MAX_DISPLAY_NAME)
    # Optional; only its hash is kept (matched against advertisers' hashed phone numbers when the
    # person allows advertiser data). Must include the country code, e.g. "+1 650 555 1234".
    phone: StrictStr | None = Field(default=None, max_length=MAX_PHONE)
    # The person's choices at sign-up; a setting left out takes the deployment's default
    # (TASTEGRAPH_CONSENT_DEFAULTS: on for opt_out, off for opt_in). The ledger records either.
    personalization: StrictBool | None = None
    ads_advertiser_data: StrictBool | None = None

    def consent_choices(self) -> dict[str, bool]:
        chosen = {"personalization": self.personalization, "ads_advertiser_data": self.ads_advertiser_data}
        return {name: value for name, value in chosen.items() if value is not None}


class SignIn(StrictModel):
    email: StrictStr = Field(max_length=320)
    password: StrictStr = Field(max_length=256)


class Created(BaseModel):
    id: int


class SessionOut(BaseModel):
    user_id: int


class SettingsPatch(StrictModel):
    personalization: StrictBool | None = None
    # "Use info from advertisers to improve ads" (on by default).
    ads_advertiser_data: StrictBool | None = None


class SettingsOut(BaseModel):
    personalization: bool
    ads_advertiser_data: bool


class LedgerItem(BaseModel):
    setting: str
    old_value: str | None
    new_value: str
    source: str
    changed_at: str


class LedgerOut(BaseModel):
    items: list[LedgerItem]


# What kernel.urls accepts, stated in the schema: an absolute http(s) URL naming a host, and `site`
# (a host name) only from a page on a loopback host.
_PORT_AND_REST = r"(:[0-9]*)?([/?#][^\s\x00]*)?\s*$"
_HTTP = r"^\s*[Hh][Tt][Tt][Pp][Ss]?://"
WEB_URL = _HTTP + r"[A-Za-z0-9._~%!$&'()*+,;=-]+" + _PORT_AND_REST
LOOPBACK_URL = _HTTP + r"([Ll][Oo][Cc][Aa][Ll][Hh][Oo][Ss][Tt]|127\.0\.0\.1|\[::1\])" + _PORT_AND_REST
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOST_NAME = rf"^\s*{_LABEL}(\.{_LABEL})+\.?\s*$"


def _visit_rules(schema: JsonDict) -> None:
    """One variant without `site`, one with it (and a loopback page): see VisitBody."""
    fields = dict(cast(JsonDict, schema.pop("properties")))
    required = list(cast(list[str], schema.pop("required", [])))
    schema.pop("additionalProperties", None)
    url = cast(JsonDict, fields["url"])
    site: JsonDict = {"type": "string", "maxLength": 253, "pattern": HOST_NAME}
    variants: list[tuple[JsonDict, JsonDict, list[str]]] = [
        ({**url, "pattern": WEB_URL}, {"type": "null"}, required),
        ({**url, "pattern": LOOPBACK_URL}, site, [*required, "site"]),
    ]
    schema["oneOf"] = cast(
        Any,
        [
            {
                "type": "object",
                "properties": {**fields, "url": url_rule, "site": site_rule},
                "required": needed,
                "additionalProperties": False,
            }
            for url_rule, site_rule, needed in variants
        ],
    )


class _VisitFields(StrictModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_visit_rules)

    url: StrictStr = Field(min_length=1, max_length=2048)
    event_id: StrictStr | None = Field(
        default=None, min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$"
    )
    site: StrictStr | None = Field(
        default=None,
        max_length=253,
        description="Development only: which site a page on localhost/127.0.0.1 stands for.",
    )


class VisitBody(_VisitFields):
    # Off-site visits without third-party cookies (issue 14): what the save button's frame sends.
    embedder: StrictStr | None = Field(
        default=None,
        max_length=2048,
        description="The origin of the page that embeds the save button's frame; accepted only from that "
        "frame (a request whose Origin is the platform's own), and `url` must be on it.",
    )
    partitioned: StrictBool = Field(
        default=False,
        description="This browser keeps only partitioned cookies here (no storage access): keep the "
        "visit under the partitioned cookie `tg_pid`, tied to nobody until the person acts on that site.",
    )
    click_id: StrictStr | None = Field(
        default=None,
        min_length=16,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The `tg_click` id an outbound click from a Pin put in this page's URL, kept by the "
        "page; ties the visit to the person who clicked (theirs, unexpired, this host, first browser).",
    )


class BatchVisit(_VisitFields):
    visited_at: AwareDatetime | None = None


class VisitBatchBody(StrictModel):
    visits: list[BatchVisit] = Field(min_length=1, max_length=500)


class VisitResult(BaseModel):
    event_id: str
    stored: bool
    linked: bool = Field(
        default=False, description="Stored and tied to a person (not only to a browser or a partition)."
    )
    duplicate: bool = False
    reason: str | None = Field(default=None, description="Why it was not stored (a consent reason).")
    via: str | None = Field(
        default=None,
        description="What it was stored under: `account`, `browser`, `partition` (tied to nobody yet) or "
        "`click` (a click id from the person's outbound click).",
    )
    partition_token: str | None = Field(
        default=None,
        description="Stored under a partition: a single-use ticket (30 minutes, this site) the Pin It "
        "popup carries as `partition=`, so the person who saves there can tie these visits to themselves.",
    )


class VisitBatchResult(BaseModel):
    results: list[VisitResult]


class BrowserChoice(StrictModel):
    allow: StrictBool


class EngagementEvent(StrictModel):
    kind: Kind
    event_id: StrictStr | None = Field(
        default=None, min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$"
    )
    pin_id: IdInt | None = None
    board_id: IdInt | None = None
    target_user_id: IdInt | None = None
    query: StrictStr | None = Field(default=None, max_length=200)
    occurred_at: AwareDatetime | None = None
    # Feed controls: why a Pin is hidden (kind hide only).
    reason: Literal["not_interested", "seen_it", "offensive"] | None = None


class EngagementBatch(StrictModel):
    events: list[EngagementEvent] = Field(min_length=1, max_length=500)


class EventStatus(BaseModel):
    event_id: str
    status: str


class EngagementResult(BaseModel):
    events: list[EventStatus]


class PinOut(BaseModel):
    id: int
    title: str
    description: str
    image_url: str
    link: str
    domain: str
    topics: list[str]
    save_count: int
    created_at: str


class PixelsOut(BaseModel):
    impression: list[str]
    click: list[str]
    engagement: list[str]


class PromotedOut(BaseModel):
    """Marks a Promoted Pin: report its impression and click with `token` (docs/api.md)."""

    ad_id: int
    ad_account_id: int
    advertiser_name: str
    token: str
    # Only with TASTEGRAPH_MEASUREMENT_PIXELS=browser and when the person's consent allows: the ad's
    # third-party measurement URLs, macros filled in, for the page to call after the event counted.
    pixels: PixelsOut | None = None


class FeedEntry(BaseModel):
    pin_id: int
    reasons: list[ReasonJson]  # for a Promoted Pin: why this ad (kinds ad_*)
    pin: PinOut | None = None
    promoted: PromotedOut | None = None


class ToneDownOut(BaseModel):
    """Feed controls: a site or topic the viewer's hides or removed topics show less of."""

    kind: Literal["site", "topic"]
    value: str  # the domain, or the topic's slug
    hides: int  # strikes from the viewer's hides of its Pins (by reason)
    removed: bool  # a topic the viewer removed in the feed tuner
    factor: float  # its Pins' places in the feed are multiplied by this


class FeedOut(BaseModel):
    items: list[FeedEntry]
    offsite_data_used: bool
    offsite_data_note: str | None = None
    toned_down: list[ToneDownOut] = []  # feed controls


class PinsOut(BaseModel):
    items: list[FeedEntry]


class BoardCard(BaseModel):
    id: int
    name: str
    description: str
    owner_id: int
    owner_name: str
    pin_count: int


class BoardSuggestion(BaseModel):
    board_id: int
    reasons: list[ReasonJson]
    board: BoardCard


class BoardsOut(BaseModel):
    items: list[BoardSuggestion]


class PersonCard(BaseModel):
    id: int
    display_name: str


class PersonSuggestion(BaseModel):
    user_id: int
    reasons: list[ReasonJson]
    user: PersonCard


class PeopleOut(BaseModel):
    items: list[PersonSuggestion]


class ModelStatus(BaseModel):
    loaded: bool
    version: str | None = None
    created_at: str | None = None
    offsite_expires_at: str | None = None
    counts: dict[str, object] = Field(default_factory=dict)


class WhyOut(BaseModel):
    pin_id: int
    reasons: list[ReasonJson]


class ClockBody(StrictModel):
    now: AwareDatetime


# --- boards, profiles and following (issue 14: saving and boards) ----------------------------------------

BoardName = Annotated[StrictStr, Field(min_length=1, max_length=120, json_schema_extra=TYPED_TEXT_RULE)]
BoardDescription = Annotated[StrictStr, Field(max_length=500)]


class BoardIn(StrictModel):
    name: BoardName
    description: BoardDescription = ""
    secret: StrictBool = False


class BoardPatch(StrictModel):
    """Only the fields sent change."""

    name: BoardName | None = None
    description: BoardDescription | None = None
    secret: StrictBool | None = None


class BoardOut(BaseModel):
    id: int
    name: str
    description: str
    secret: bool
    owner: PersonCard
    pin_count: int
    follower_count: int
    created_at: str
    is_owner: bool  # the caller owns it
    following: bool  # the caller follows it


class BoardPinOut(BaseModel):
    pin_id: int
    saved_at: str
    pin: PinOut


class BoardPinsOut(BaseModel):
    items: list[BoardPinOut]
    next_cursor: str | None  # pass as ?cursor= for the next page; null at the end


class SaveOut(BaseModel):
    board_id: int
    pin_id: int
    saved: bool


class UserBoardOut(BaseModel):
    id: int
    name: str
    description: str
    secret: bool
    pin_count: int
    cover_pin_ids: list[int]
    created_at: str


class UserBoardsOut(BaseModel):
    items: list[UserBoardOut]


class MyBoardOut(BaseModel):
    id: int
    name: str
    description: str
    secret: bool
    pin_count: int
    created_at: str


class MyBoardsOut(BaseModel):
    items: list[MyBoardOut]


class ProfileOut(BaseModel):
    id: int
    display_name: str
    board_count: int
    follower_count: int
    following_count: int
    following_boards_count: int
    is_self: bool
    following: bool


class FollowOut(BaseModel):
    following: bool

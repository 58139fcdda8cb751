"""The shape of one advertiser event, as the conversions API documents it (`ConversionEvent`, published
in /openapi.json) and the tag sends it: pydantic models, strict, with the limits every field keeps."""

from __future__ import annotations

import unicodedata
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum
from ipaddress import ip_address
from typing import Annotated, Literal

import pycountry
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    model_validator,
)

from tastegraph.kernel.json_numbers import WHOLE_NUMBER, JsonInt
from tastegraph.kernel.untrusted_text import MAX_JSON_DEPTH

MAX_EVENTS = 1000
# An event sits two levels down in a request ({"data": [event]}): the request's depth limit, from there.
MAX_EVENT_DEPTH = MAX_JSON_DEPTH - 2
MAX_AGE = timedelta(days=7)
FUTURE_TOLERANCE = timedelta(minutes=5)


class EventName(StrEnum):
    PAGE_VISIT = "page_visit"
    VIEW_CATEGORY = "view_category"
    SEARCH = "search"
    ADD_TO_CART = "add_to_cart"
    CHECKOUT = "checkout"
    SIGNUP = "signup"
    LEAD = "lead"
    WATCH_VIDEO = "watch_video"
    CUSTOM = "custom"


def _currency(code: str) -> str:
    upper = code.strip().upper()
    if len(upper) != 3 or pycountry.currencies.get(alpha_3=upper) is None:
        raise ValueError("not an ISO 4217 currency code (e.g. USD, EUR)")
    return upper


def _ip(value: str) -> str:
    ip_address(value.strip())  # raises ValueError for anything that is not an IPv4/IPv6 address
    return value.strip()


def _no_controls(value: str) -> str:
    # NUL and other control characters are never part of real text, and PostgreSQL refuses NUL.
    if not value.isprintable() and any(unicodedata.category(ch) == "Cc" for ch in value):
        raise ValueError("control characters (such as NUL) are not allowed")
    return value


Money = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=4)]
Text = Annotated[StrictStr, AfterValidator(_no_controls)]
Text128 = Annotated[Text, Field(min_length=1, max_length=128)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LineItem(_Strict):
    product_id: Text128 | None = None
    product_name: Annotated[Text, Field(max_length=256)] | None = None
    product_category: Annotated[Text, Field(max_length=256)] | None = None
    product_price: Money | None = None
    product_quantity: Annotated[StrictInt, Field(ge=0, le=1_000_000), WHOLE_NUMBER] | None = None


Short = Annotated[Text, Field(max_length=256)]
Quantity = Annotated[StrictInt, Field(ge=0, le=1_000_000), WHOLE_NUMBER]


class Content(_Strict):
    """Pinterest's `custom_data.contents` item: accepted for its clients, not stored."""

    id: Text128 | None = None
    item_price: StrictStr | None = None
    quantity: Quantity | None = None
    item_name: Short | None = None
    item_category: Short | None = None
    item_brand: Short | None = None


class CustomData(_Strict):
    # A number or a numeric string ("12.50"); never NaN or infinite.
    value: Money | None = None
    currency: Annotated[StrictStr, AfterValidator(_currency)] | None = None
    order_quantity: Quantity | None = None
    order_id: Text128 | None = None
    search_query: Short | None = None
    line_items: Annotated[list[LineItem], Field(max_length=200)] | None = None
    # Pinterest's names for some of these (its clients send them): `search_string` and `num_items`
    # stand in for search_query and order_quantity when those are absent; `opt_out_type` "LDP" asks for
    # limited data processing. The content fields are accepted and not stored.
    search_string: Short | None = None
    num_items: Quantity | None = None
    opt_out_type: Annotated[Text, Field(max_length=64)] | None = None
    np: Annotated[Text, Field(max_length=64)] | None = None
    content_ids: Annotated[list[Text128], Field(max_length=200)] | None = None
    content_name: Short | None = None
    content_category: Short | None = None
    content_brand: Short | None = None
    contents: Annotated[list[Content], Field(max_length=200)] | None = None

    @model_validator(mode="after")
    def _pinterest_names(self) -> CustomData:
        if self.search_query is None and self.search_string is not None:
            self.search_query = self.search_string
        if self.order_quantity is None and self.num_items is not None:
            self.order_quantity = self.num_items
        return self

    @property
    def asks_limited_processing(self) -> bool:
        return self.opt_out_type is not None and "LDP" in self.opt_out_type.upper().split(",")


Identifiers = Annotated[list[StrictStr], Field(min_length=1, max_length=20)]


class UserData(_Strict):
    em: Identifiers | None = None
    ph: Identifiers | None = None
    external_id: Identifiers | None = None
    client_ip_address: Annotated[StrictStr, AfterValidator(_ip)] | None = None
    client_user_agent: Annotated[Text, Field(min_length=1, max_length=1024)] | None = None
    click_id: Text128 | None = None
    # Pinterest's other identifiers (its clients may send them): accepted and never stored or used.
    # Matching uses only em, ph and external_id; a device's advertising id or a person's hashed name,
    # birthday, gender or address would only add what the platform must not keep.
    hashed_maids: Identifiers | None = None
    fn: Identifiers | None = None
    ln: Identifiers | None = None
    ge: Identifiers | None = None
    db: Identifiers | None = None
    ct: Identifiers | None = None
    st: Identifiers | None = None
    zp: Identifiers | None = None
    country: Identifiers | None = None
    partner_id: Text128 | None = None


class ConversionEvent(_Strict):
    event_name: EventName
    action_source: Literal["web", "app_android", "app_ios", "offline"]
    event_time: JsonInt
    event_id: Text128
    user_data: UserData
    custom_data: CustomData | None = None
    event_source_url: Annotated[Text, Field(max_length=2048)] | None = None
    opt_out: StrictBool = False
    limited_data_processing: StrictBool = False
    # Pinterest's app and device fields (its clients send them, often null): accepted, never stored.
    partner_name: Text128 | None = None
    app_id: Text128 | None = None
    app_name: Text128 | None = None
    app_version: Text128 | None = None
    device_brand: Text128 | None = None
    device_carrier: Text128 | None = None
    device_model: Text128 | None = None
    device_type: Text128 | None = None
    os_version: Text128 | None = None
    wifi: StrictBool | None = None
    language: Annotated[Text, Field(max_length=16)] | None = None

    @model_validator(mode="after")
    def _limited_processing(self) -> ConversionEvent:
        if self.custom_data is not None and self.custom_data.asks_limited_processing:
            self.limited_data_processing = True
        return self

"""Ads: advertisers, ad accounts and their tokens, audiences and customer lists, and Promoted Pins: the
advertisers' Pins, campaigns, ad groups and ads (pages of them, and the rules they share)."""

from tastegraph.ads import accounts as accounts
from tastegraph.ads import ad_groups as ad_groups
from tastegraph.ads import ad_pins as ad_pins
from tastegraph.ads import ads as ads
from tastegraph.ads import audiences as audiences
from tastegraph.ads import campaigns as campaigns
from tastegraph.ads import customer_lists as customer_lists
from tastegraph.ads import object_rules as object_rules
from tastegraph.ads import paging as paging
from tastegraph.ads.accounts import AdAccount, NewToken
from tastegraph.ads.ad_groups import AdGroup, AdGroupJson
from tastegraph.ads.ad_pins import AdPin
from tastegraph.ads.ads import Ad
from tastegraph.ads.audiences import MIN_AUDIENCE, Audience, AudienceKind, displayed_size
from tastegraph.ads.campaigns import Campaign
from tastegraph.ads.object_rules import Ceilings

__all__ = [
    "MIN_AUDIENCE",
    "Ad",
    "AdAccount",
    "AdGroup",
    "AdGroupJson",
    "AdPin",
    "Audience",
    "AudienceKind",
    "Campaign",
    "Ceilings",
    "NewToken",
    "accounts",
    "ad_groups",
    "ad_pins",
    "ads",
    "audiences",
    "campaigns",
    "customer_lists",
    "displayed_size",
    "object_rules",
    "paging",
]

"""Ads: advertisers, ad accounts and their tokens, audiences and customer lists, and Promoted Pins: the
advertisers' Pins, campaigns, ad groups and ads, targeting, the auction, pacing, serving and its logs.
(Other packages use these modules; their tables are private.)"""

from tastegraph.ads import accounts as accounts
from tastegraph.ads import ad_groups as ad_groups
from tastegraph.ads import ad_log as ad_log
from tastegraph.ads import ad_pins as ad_pins
from tastegraph.ads import ads as ads
from tastegraph.ads import auction as auction
from tastegraph.ads import audiences as audiences
from tastegraph.ads import campaigns as campaigns
from tastegraph.ads import ctr as ctr
from tastegraph.ads import ctr_holder as ctr_holder
from tastegraph.ads import ctr_training as ctr_training
from tastegraph.ads import customer_lists as customer_lists
from tastegraph.ads import delivery as delivery
from tastegraph.ads import delivery_stats as delivery_stats
from tastegraph.ads import object_rules as object_rules
from tastegraph.ads import pacing as pacing
from tastegraph.ads import paging as paging
from tastegraph.ads import serving as serving
from tastegraph.ads import serving_index as serving_index
from tastegraph.ads import slots as slots
from tastegraph.ads import spend as spend
from tastegraph.ads import targeting as targeting
from tastegraph.ads import tokens as tokens
from tastegraph.ads import tracking_urls as tracking_urls
from tastegraph.ads import why_this_ad as why_this_ad
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
    "ad_log",
    "ad_pins",
    "ads",
    "auction",
    "audiences",
    "campaigns",
    "ctr",
    "ctr_holder",
    "ctr_training",
    "customer_lists",
    "delivery",
    "delivery_stats",
    "displayed_size",
    "object_rules",
    "pacing",
    "paging",
    "serving",
    "serving_index",
    "slots",
    "spend",
    "targeting",
    "tokens",
    "tracking_urls",
    "why_this_ad",
]

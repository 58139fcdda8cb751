"""Ads: advertisers, ad accounts and their tokens, audiences and customer lists, the auction and pacing.
(Campaigns, targeting and serving build on these.)"""

from tastegraph.ads import accounts as accounts
from tastegraph.ads import auction as auction
from tastegraph.ads import audiences as audiences
from tastegraph.ads import customer_lists as customer_lists
from tastegraph.ads import pacing as pacing
from tastegraph.ads.accounts import AdAccount, NewToken
from tastegraph.ads.audiences import MIN_AUDIENCE, Audience, AudienceKind, displayed_size

__all__ = [
    "MIN_AUDIENCE",
    "AdAccount",
    "Audience",
    "AudienceKind",
    "NewToken",
    "accounts",
    "auction",
    "audiences",
    "customer_lists",
    "displayed_size",
    "pacing",
]

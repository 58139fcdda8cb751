"""Ads: advertisers, ad accounts and their tokens, audiences and customer lists, and the predicted
click-through rate (`ctr`). (Campaigns, targeting, the auction and serving come later and build on these.)"""

from tastegraph.ads import accounts as accounts
from tastegraph.ads import audiences as audiences
from tastegraph.ads import ctr as ctr
from tastegraph.ads import customer_lists as customer_lists
from tastegraph.ads.accounts import AdAccount, NewToken
from tastegraph.ads.audiences import MIN_AUDIENCE, Audience, AudienceKind, displayed_size

__all__ = [
    "MIN_AUDIENCE",
    "AdAccount",
    "Audience",
    "AudienceKind",
    "NewToken",
    "accounts",
    "audiences",
    "ctr",
    "customer_lists",
    "displayed_size",
]

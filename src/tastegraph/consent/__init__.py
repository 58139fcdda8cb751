"""Consent: purposes, the one decision function, people's settings and the ledger of changes."""

from tastegraph.consent import bulk as bulk
from tastegraph.consent.decision import (
    OPT_OUT_COOKIE,
    REASON_TEXT,
    AdvertiserDatum,
    Decision,
    Policy,
    Purpose,
    Reason,
    RequestSignals,
    Subject,
    decide,
)
from tastegraph.consent.service import (
    BROWSER_SETTING,
    GPC_SOURCE,
    SETTING_DEFAULTS,
    ConsentService,
    LedgerEntry,
)

__all__ = [
    "BROWSER_SETTING",
    "GPC_SOURCE",
    "OPT_OUT_COOKIE",
    "REASON_TEXT",
    "SETTING_DEFAULTS",
    "AdvertiserDatum",
    "ConsentService",
    "Decision",
    "LedgerEntry",
    "Policy",
    "Purpose",
    "Reason",
    "RequestSignals",
    "Subject",
    "bulk",
    "decide",
]

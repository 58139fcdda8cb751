"""Consent: purposes, the one decision function, people's settings and the ledger of changes."""

from tastegraph.consent import bulk as bulk
from tastegraph.consent.decision import (
    OPT_OUT_COOKIE,
    REASON_TEXT,
    AdvertiserDatum,
    ConsentDefaults,
    Decision,
    Policy,
    Purpose,
    Reason,
    RequestSignals,
    Subject,
    browser_choice,
    decide,
)
from tastegraph.consent.service import (
    BROWSER_SETTING,
    GPC_SOURCE,
    SETTING_DEFAULTS,
    SIGNUP_CHOICE_SOURCE,
    SIGNUP_DEFAULT_SOURCE,
    ConsentService,
    LedgerEntry,
    setting_defaults,
)

__all__ = [
    "BROWSER_SETTING",
    "GPC_SOURCE",
    "OPT_OUT_COOKIE",
    "REASON_TEXT",
    "SETTING_DEFAULTS",
    "SIGNUP_CHOICE_SOURCE",
    "SIGNUP_DEFAULT_SOURCE",
    "AdvertiserDatum",
    "ConsentDefaults",
    "ConsentService",
    "Decision",
    "LedgerEntry",
    "Policy",
    "Purpose",
    "Reason",
    "RequestSignals",
    "Subject",
    "browser_choice",
    "bulk",
    "decide",
    "setting_defaults",
]

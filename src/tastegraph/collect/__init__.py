"""Collection: validation and idempotent ingest of every signal kind, and consent-gated reads of them."""

from tastegraph.collect import advertiser_events as advertiser_events
from tastegraph.collect import bulk as bulk
from tastegraph.collect import engagement as engagement
from tastegraph.collect import engagement_reads as engagement_reads
from tastegraph.collect import feed_controls as feed_controls
from tastegraph.collect import offsite_ids as offsite_ids
from tastegraph.collect import search_history as search_history
from tastegraph.collect import visits as visits
from tastegraph.collect.engagement import EngagementIn, EngagementOutcome, Kind
from tastegraph.collect.search_history import SearchHistory
from tastegraph.collect.visits import Visit, VisitIn, VisitOutcome

__all__ = [
    "EngagementIn",
    "EngagementOutcome",
    "Kind",
    "SearchHistory",
    "Visit",
    "VisitIn",
    "VisitOutcome",
    "advertiser_events",
    "bulk",
    "engagement",
    "engagement_reads",
    "feed_controls",
    "offsite_ids",
    "search_history",
    "visits",
]

"""Recommendations: candidate sources, blending and explanations. Off-site signals only through consent."""

from tastegraph.recommend.feed import MAX_LIMIT, FeedItem, home_feed, why

__all__ = ["MAX_LIMIT", "FeedItem", "home_feed", "why"]

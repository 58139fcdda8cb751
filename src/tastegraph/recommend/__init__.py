"""Recommendations: candidate sources, blending and explanations. Off-site signals only through consent."""

from tastegraph.recommend import model_store as model_store
from tastegraph.recommend import offline as offline
from tastegraph.recommend import search as search
from tastegraph.recommend import shared_lists as shared_lists
from tastegraph.recommend.ad_interests import AdInterests, ad_interests, topic_affinity
from tastegraph.recommend.feed import MAX_LIMIT, FeedItem, ShapedFeed, home_feed, home_feed_shaped, why
from tastegraph.recommend.follow import Suggestion, boards_to_follow, people_to_follow
from tastegraph.recommend.model import Model, ModelDescription, ModelHolder
from tastegraph.recommend.reasons import ReasonJson
from tastegraph.recommend.related import related_pins
from tastegraph.recommend.representations import most_similar, taste_vectors
from tastegraph.recommend.shaping import ToneDown
from tastegraph.recommend.training import TrainingParams, train
from tastegraph.recommend.tuning import TopicSignal, Tuning, feed_tuning

__all__ = [
    "MAX_LIMIT",
    "AdInterests",
    "FeedItem",
    "Model",
    "ModelDescription",
    "ModelHolder",
    "ReasonJson",
    "ShapedFeed",
    "Suggestion",
    "ToneDown",
    "TopicSignal",
    "TrainingParams",
    "Tuning",
    "ad_interests",
    "boards_to_follow",
    "feed_tuning",
    "home_feed",
    "home_feed_shaped",
    "model_store",
    "most_similar",
    "offline",
    "people_to_follow",
    "related_pins",
    "search",
    "shared_lists",
    "taste_vectors",
    "topic_affinity",
    "train",
    "why",
]

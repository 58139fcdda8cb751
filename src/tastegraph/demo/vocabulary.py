"""The demo world's vocabulary: topics, their sites and the words Pins, boards and people are made of.

The words live in `vocabulary.toml`, shipped with the package (see pyproject's package-data), and are
read once, at import. The file is checked as it is read, so a broken edit fails here, with the entry
named, rather than as an odd Pin somewhere in a generated world.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

VOCABULARY_FILE = "vocabulary.toml"


@dataclass(frozen=True)
class TopicWords:
    """Templates for one topic; `{slot}` fields are filled from `slots`, `{n}` from `Vocabulary.counts`."""

    titles: tuple[str, ...]
    descriptions: tuple[str, ...]
    slots: dict[str, tuple[str, ...]]
    boards: tuple[str, ...]


@dataclass(frozen=True)
class Vocabulary:
    topics: list[tuple[str, str]]  # (slug, name), most popular first
    topic_domains: dict[str, list[str]]  # sites per topic, most visited first; `.blog` ones are blogs
    related: dict[str, list[str]]  # neighbouring topics
    words: dict[str, TopicWords]
    counts: tuple[str, ...]  # values of `{n}`
    shop_tails: tuple[str, ...]
    blog_tails: tuple[str, ...]
    board_descriptions: tuple[str, ...]
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]


def read_vocabulary_text() -> str:
    return resources.files("tastegraph.demo").joinpath(VOCABULARY_FILE).read_text(encoding="utf-8")


def parse_vocabulary(text: str) -> Vocabulary:
    """The vocabulary in `text` (TOML), checked; ValueError names the first entry that is wrong."""
    data = tomllib.loads(text)
    pairs = _list(data, "topics")
    if not all(isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in pairs):
        raise ValueError(f"{VOCABULARY_FILE}: topics must be [slug, name] pairs")
    topics = [(str(slug), str(name)) for slug, name in pairs]
    slugs = [slug for slug, _ in topics]
    if not slugs or len(set(slugs)) != len(slugs):
        raise ValueError(f"{VOCABULARY_FILE}: topics must be non-empty and distinct")
    domains = _per_topic(data, "topic_domains", slugs)
    related = _per_topic(data, "related", slugs)
    for slug, neighbours in related.items():
        if not set(neighbours) <= set(slugs):
            raise ValueError(f"{VOCABULARY_FILE}: related.{slug} names a topic that does not exist")
    table = data.get("vocab")
    if not isinstance(table, dict) or set(table) != set(slugs):
        raise ValueError(f"{VOCABULARY_FILE}: [vocab.<slug>] must exist for exactly the topics")
    words = {slug: _topic_words(slug, table[slug]) for slug in slugs}
    return Vocabulary(
        topics=topics,
        topic_domains={slug: list(domains[slug]) for slug in data["topic_domains"]},
        related={slug: list(related[slug]) for slug in data["related"]},
        words=words,
        counts=_strings(data, "counts"),
        shop_tails=_strings(data, "shop_tails"),
        blog_tails=_strings(data, "blog_tails"),
        board_descriptions=_strings(data, "board_descriptions", allow_empty=True),
        first_names=_strings(data, "first_names"),
        last_names=_strings(data, "last_names"),
    )


def _topic_words(slug: str, entry: Any) -> TopicWords:
    where = f"vocab.{slug}"
    if not isinstance(entry, dict):
        raise ValueError(f"{VOCABULARY_FILE}: [{where}] must be a table")
    slots_table = entry.get("slots")
    if not isinstance(slots_table, dict):
        raise ValueError(f"{VOCABULARY_FILE}: [{where}.slots] is missing")
    slots = {name: _strings(slots_table, name, f"{where}.slots") for name in slots_table}
    words = TopicWords(
        titles=_strings(entry, "titles", where),
        descriptions=_strings(entry, "descriptions", where),
        slots=slots,
        boards=_strings(entry, "boards", where),
    )
    if len(set(words.boards)) < 5:  # a person makes up to five boards per topic, each named differently
        raise ValueError(f"{VOCABULARY_FILE}: {where}.boards needs at least 5 distinct names")
    for template in (*words.titles, *words.descriptions):
        for _, field, _, _ in string.Formatter().parse(template):
            if field and field != "n" and field not in slots:
                raise ValueError(f"{VOCABULARY_FILE}: {where}: {{{field}}} in {template!r} has no slot")
    return words


def _list(data: Mapping[str, object], key: str, where: str = "") -> list[Any]:
    value = data.get(key)
    if not isinstance(value, list) or not value:
        raise ValueError(f"{VOCABULARY_FILE}: {where + '.' if where else ''}{key} must be a non-empty list")
    return value


def _strings(
    data: Mapping[str, object], key: str, where: str = "", allow_empty: bool = False
) -> tuple[str, ...]:
    values = _list(data, key, where)
    if not all(isinstance(v, str) and (v or allow_empty) for v in values):
        raise ValueError(f"{VOCABULARY_FILE}: {where + '.' if where else ''}{key} must hold words")
    return tuple(values)


def _per_topic(data: Mapping[str, object], key: str, slugs: list[str]) -> dict[str, tuple[str, ...]]:
    table = data.get(key)
    if not isinstance(table, dict) or set(table) != set(slugs):
        raise ValueError(f"{VOCABULARY_FILE}: [{key}] must have an entry for exactly the topics")
    return {slug: _strings(table, slug, key) for slug in table}


VOCABULARY = parse_vocabulary(read_vocabulary_text())
TOPICS = VOCABULARY.topics
TOPIC_DOMAINS = VOCABULARY.topic_domains
RELATED = VOCABULARY.related

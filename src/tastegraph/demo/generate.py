"""Generating the demo world: every row of it, in memory, from one seeded random stream.

Everything is drawn from one `random.Random(seed)` and every timestamp is `now` minus a seeded whole
number of seconds, so the same seed, `now` and starting ids give identical rows. The words come from
`demo.vocabulary`; `demo.world` loads the rows. Nothing here touches a database.
"""

from __future__ import annotations

import bisect
import itertools
import random
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from tastegraph.catalog.accounts import hash_password
from tastegraph.demo.vocabulary import RELATED, TOPIC_DOMAINS, TOPICS, VOCABULARY
from tastegraph.identity.normalize import IdentifierKind, plain_hash

Row = dict[str, Any]

# Documented shared password of every demo account (see the demo section of the docs).
DEMO_PASSWORD = "demo-password"
DEMO_EMAIL_DOMAIN = "demo.tastegraph.test"
# Placeholder images per topic: image_url is /static/demo-img/{topic}/{k}.svg with 0 <= k < this.
DEMO_IMAGES_PER_TOPIC = 24

DAY = 86_400
WINDOW = 60 * DAY  # the whole world happened within the last ~60 days
RECENT = 14 * DAY  # engagement events are recent activity

# Every generated table, in insertion (foreign-key) order: the keys of `generate`'s result.
TABLES = (
    "users",
    "user_settings",
    "person_identifiers",
    "pins",
    "pin_topics",
    "boards",
    "board_pins",
    "board_follows",
    "user_follows",
    "engagement_events",
)

_VOCAB = VOCABULARY.words
_COUNTS = VOCABULARY.counts
_SHOP_TAILS = VOCABULARY.shop_tails
_BLOG_TAILS = VOCABULARY.blog_tails
_BOARD_DESCRIPTIONS = VOCABULARY.board_descriptions
_FIRST_NAMES = VOCABULARY.first_names
_LAST_NAMES = VOCABULARY.last_names

_SLUG_JUNK = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class WorldSize:
    pins: int = 5000
    users: int = 600


class _Zipf:
    """Draws from `items` with weight (rank + offset) ** -exponent: a few favourites and a long tail."""

    def __init__(self, items: Sequence[int], exponent: float = 1.0, offset: float = 5.0) -> None:
        self.items = list(items)
        self.cum = list(itertools.accumulate((r + offset) ** -exponent for r in range(len(self.items))))

    def draw(self, rng: random.Random) -> int:
        return self.items[bisect.bisect(self.cum, rng.random() * self.cum[-1])]


@cache
def demo_password_hash() -> str:
    """One argon2 hash shared by every demo user: hashing thousands of times would take minutes."""
    return hash_password(DEMO_PASSWORD)


# --- generation -------------------------------------------------------------------------------------


def generate(
    rng: random.Random,
    seed: int,
    now: datetime,
    size: WorldSize,
    topic_ids: dict[str, int],
    base: dict[str, int],
) -> dict[str, list[Row]]:
    """Every row of a world, by table in `TABLES` order; ids start after `base` (the largest ids of
    users, Pins and boards already stored), topics are `topic_ids` by slug."""
    gen = _Generator(rng, seed, now, topic_ids)
    gen.users(size.users, base["users"])
    gen.pins(size.pins, base["pins"])
    gen.boards(base["boards"])
    gen.saves()
    gen.follows()
    gen.events()
    return gen.rows


class _Generator:
    """Builds the world step by step; each step reads what earlier steps made.

    Times are kept as ages (whole seconds before `now`) so "happened after" is a plain comparison.
    """

    def __init__(self, rng: random.Random, seed: int, now: datetime, topic_ids: dict[str, int]) -> None:
        self.rng = rng
        self.seed = seed
        self.now = now
        self.topic_ids = topic_ids
        self.slugs = [slug for slug, _ in TOPICS]
        self.rows: dict[str, list[Row]] = {name: [] for name in TABLES}
        self.user_age: dict[int, int] = {}
        self.interests: dict[int, list[str]] = {}
        self.users_by_topic: dict[str, list[int]] = {s: [] for s in self.slugs}
        self.pin_age: dict[int, int] = {}
        self.pins_by_topic: dict[str, list[int]] = {s: [] for s in self.slugs}
        self.board_owner: dict[int, int] = {}
        self.board_topic: dict[int, str] = {}
        self.board_age: dict[int, int] = {}
        self.boards_by_topic: dict[str, list[int]] = {s: [] for s in self.slugs}
        self.saved_by_user: dict[int, list[int]] = {}
        self.popular_pins: dict[str, _Zipf] = {}
        # TOPICS and each TOPIC_DOMAINS list are in popularity order; Pins spread flatter than people.
        self.pin_topic_weights = _rank_weights(len(self.slugs), 0.5)
        self.interest_weights = [(r + 1) ** -0.8 for r in range(len(self.slugs))]  # not cumulative

    def at(self, age: int) -> datetime:
        return self.now - timedelta(seconds=age)

    # users ------------------------------------------------------------------------------------------

    def users(self, count: int, base: int) -> None:
        pw_hash = demo_password_hash()
        for n in range(1, count + 1):
            uid = base + n
            age = self.rng.randrange(40 * DAY, WINDOW)
            name = f"{self.rng.choice(_FIRST_NAMES)} {self.rng.choice(_LAST_NAMES)}"
            k = self.rng.choice((1, 2, 2, 3))
            interests = _sample_weighted(self.rng, self.slugs, self.interest_weights, k)
            self.user_age[uid] = age
            self.interests[uid] = interests
            for slug in interests:
                self.users_by_topic[slug].append(uid)
            when = self.at(age)
            self.rows["users"].append(
                {
                    "id": uid,
                    "email": f"demo{n}@{DEMO_EMAIL_DOMAIN}",
                    "password_hash": pw_hash,
                    "display_name": name,
                    "is_demo": True,
                    "created_at": when,
                }
            )
            self.rows["user_settings"].append({"user_id": uid, "personalization": True, "updated_at": when})
            # What advertisers' hashed customer lists are matched against; every third person has a phone.
            email = f"demo{n}@{DEMO_EMAIL_DOMAIN}"
            email_hash = plain_hash(IdentifierKind.EMAIL, email)
            self.rows["person_identifiers"].append(
                {"user_id": uid, "kind": "email", "hash": email_hash, "added_at": when}
            )
            if n % 3 == 0 and n < 10_000:
                phone = plain_hash(IdentifierKind.PHONE, f"+1 650 555 {n:04d}")
                self.rows["person_identifiers"].append(
                    {"user_id": uid, "kind": "phone", "hash": phone, "added_at": when}
                )

    # pins -------------------------------------------------------------------------------------------

    def pins(self, count: int, base: int) -> None:
        for n in range(1, count + 1):
            pid = base + n
            slug = self.rng.choices(self.slugs, cum_weights=self.pin_topic_weights)[0]
            creator = self._creator(slug)
            pin_age = self.rng.randrange(self.user_age[creator]) if creator else self.rng.randrange(WINDOW)
            slots: dict[str, str] = {}  # shared, so the description talks about the title's dish or place
            title = _fill(self.rng, slug, self.rng.choice(_VOCAB[slug].titles), slots)
            domain = self._domain(slug, blog=creator is not None)
            self.rows["pins"].append(
                {
                    "id": pid,
                    "title": title,
                    "description": self._description(slug, domain, slots),
                    "image_url": f"/static/demo-img/{slug}/{self.rng.randrange(DEMO_IMAGES_PER_TOPIC)}.svg",
                    "link_url": f"https://{domain}/{slugify(title)}-{n}",
                    "domain": domain,
                    "creator_id": creator,
                    "save_count": 0,  # set from the saves below
                    "created_at": self.at(pin_age),
                }
            )
            self.pin_age[pid] = pin_age
            self._tag(pid, slug)

    def _creator(self, slug: str) -> int | None:
        """Most Pins come from brands and retailers; about one in twelve from a person who likes the topic."""
        fans = self.users_by_topic[slug]
        if not fans or self.rng.random() >= 1 / 12:
            return None
        return self.rng.choice(fans)

    def _domain(self, slug: str, blog: bool) -> str:
        domains = TOPIC_DOMAINS[slug]
        if blog:
            domains = [d for d in domains if d.endswith(".blog")] or domains
        return self.rng.choices(domains, cum_weights=_rank_weights(len(domains), 0.7))[0]

    def _description(self, slug: str, domain: str, slots: dict[str, str]) -> str:
        text_ = _fill(self.rng, slug, self.rng.choice(_VOCAB[slug].descriptions), slots)
        if self.rng.random() < 0.5:
            tails = _BLOG_TAILS if domain.endswith(".blog") else _SHOP_TAILS
            text_ = f"{text_} {self.rng.choice(tails)}"
        return text_

    def _tag(self, pid: int, slug: str) -> None:
        tags = [slug]
        if self.rng.random() < 0.2:
            tags.append(self.rng.choice(RELATED[slug]))
        for tag in tags:
            self.rows["pin_topics"].append({"pin_id": pid, "topic_id": self.topic_ids[tag]})
            self.pins_by_topic[tag].append(pid)

    # boards and saves -------------------------------------------------------------------------------

    def boards(self, base: int) -> None:
        bid = base
        for uid, interests in self.interests.items():
            count = self.rng.choices((1, 2, 3, 4, 5), weights=(3, 4, 3, 2, 1))[0]
            used: set[str] = set()
            for i in range(count):
                slug = interests[i] if i < len(interests) else self.rng.choice(interests)
                name = self.rng.choice([b for b in _VOCAB[slug].boards if b not in used])
                used.add(name)
                bid += 1
                age = self.rng.randrange(max(1, self.user_age[uid] - 10 * DAY), self.user_age[uid] + 1)
                self.rows["boards"].append(
                    {
                        "id": bid,
                        "owner_id": uid,
                        "name": name,
                        "description": self.rng.choice(_BOARD_DESCRIPTIONS),
                        "created_at": self.at(age),
                    }
                )
                self.board_owner[bid] = uid
                self.board_topic[bid] = slug
                self.board_age[bid] = age
                self.boards_by_topic[slug].append(bid)

    def saves(self) -> None:
        """Mostly the board's topic, some from related topics, a few from anywhere; Zipf within each."""
        self.popular_pins = popular = self._zipf_pools(self.pins_by_topic)
        counts: dict[int, int] = {}
        for bid, slug in self.board_topic.items():
            owner = self.board_owner[bid]
            wanted = max(1, min(150, round(self.rng.lognormvariate(1.6, 0.8))))
            chosen: list[int] = []
            seen: set[int] = set()
            for _ in range(wanted * 3):  # bounded retries: tiny worlds may have few Pins per topic
                if len(chosen) == wanted:
                    break
                pool = popular.get(self._save_topic(slug))
                pid = pool.draw(self.rng) if pool else None
                if pid is not None and pid not in seen:
                    seen.add(pid)
                    chosen.append(pid)
            for pid in chosen:
                age = self.rng.randrange(min(self.board_age[bid], self.pin_age[pid]) + 1)
                self.rows["board_pins"].append(
                    {"board_id": bid, "pin_id": pid, "saved_by": owner, "saved_at": self.at(age)}
                )
                counts[pid] = counts.get(pid, 0) + 1
                self.saved_by_user.setdefault(owner, []).append(pid)
        for row in self.rows["pins"]:
            row["save_count"] = counts.get(row["id"], 0)

    def _save_topic(self, slug: str) -> str:
        roll = self.rng.random()
        if roll < 0.8:
            return slug
        if roll < 0.95:
            return self.rng.choice(RELATED[slug])
        return self.rng.choice(self.slugs)

    def _zipf_pools(self, by_topic: dict[str, list[int]], exponent: float = 1.0) -> dict[str, _Zipf]:
        """Shuffle first so popularity does not follow id order."""
        pools = {}
        for slug in self.slugs:
            items = list(by_topic[slug])
            if items:
                self.rng.shuffle(items)
                pools[slug] = _Zipf(items, exponent)
        return pools

    # follows and engagement -------------------------------------------------------------------------

    def follows(self) -> None:
        """A few follows per person, mostly within their interests, skewed to a few popular accounts."""
        people = self._zipf_pools(self.users_by_topic, exponent=1.1)
        board_pools = self._zipf_pools(self.boards_by_topic)
        for uid, interests in self.interests.items():
            for target in self._targets(uid, interests, people, self.rng.randint(1, 5)):
                if target != uid:
                    age = self.rng.randrange(min(self.user_age[uid], self.user_age[target]) + 1)
                    self.rows["user_follows"].append(
                        {"follower_id": uid, "followee_id": target, "created_at": self.at(age)}
                    )
            for target in self._targets(uid, interests, board_pools, self.rng.randint(0, 4)):
                if self.board_owner[target] != uid:
                    age = self.rng.randrange(min(self.user_age[uid], self.board_age[target]) + 1)
                    self.rows["board_follows"].append(
                        {"user_id": uid, "board_id": target, "created_at": self.at(age)}
                    )

    def _targets(self, uid: int, interests: list[str], pools: dict[str, _Zipf], count: int) -> list[int]:
        """Up to `count` distinct draws, 85% from the person's own interests."""
        out: list[int] = []
        for _ in range(count):
            slug = self.rng.choice(interests) if self.rng.random() < 0.85 else self.rng.choice(self.slugs)
            pool = pools.get(slug)
            target = pool.draw(self.rng) if pool else None
            if target is not None and target not in out:
                out.append(target)
        return out

    def events(self) -> None:
        """Close-ups and clicks: mostly on Pins the person saved, the rest browsing their interests."""
        n = 0
        for uid, interests in self.interests.items():
            saved = self.saved_by_user.get(uid, [])
            for _ in range(self.rng.randint(2, 8)):
                if saved and self.rng.random() < 0.65:
                    pid = self.rng.choice(saved)
                else:
                    pool = self.popular_pins.get(self.rng.choice(interests))
                    if pool is None:
                        continue
                    pid = pool.draw(self.rng)
                n += 1
                age = self.rng.randrange(min(RECENT, self.user_age[uid], self.pin_age[pid]) + 1)
                self.rows["engagement_events"].append(
                    {
                        "event_id": f"demo-{self.seed}-{n}",
                        "user_id": uid,
                        "kind": "closeup" if self.rng.random() < 0.6 else "click",
                        "pin_id": pid,
                        "occurred_at": self.at(age),
                        "received_at": self.at(max(0, age - self.rng.randint(0, 3))),
                    }
                )


# --- text -------------------------------------------------------------------------------------------


def slugify(value: str, limit: int = 60) -> str:
    """URL path segment from a title: lowercase ASCII words joined by hyphens."""
    return _SLUG_JUNK.sub("-", value.lower()).strip("-")[:limit].rstrip("-") or "pin"


_FORMATTER = string.Formatter()


@cache
def _fields(template: str) -> tuple[str, ...]:
    return tuple(name for _, name, _, _ in _FORMATTER.parse(template) if name)


def _fill(rng: random.Random, slug: str, template: str, values: dict[str, str]) -> str:
    """Fill the template's slots, drawing (and remembering in `values`) only those not yet chosen."""
    choices = _VOCAB[slug].slots
    for name in _fields(template):
        if name not in values:
            values[name] = rng.choice(_COUNTS if name == "n" else choices[name])
    filled = template.format(**values)
    return filled[:1].upper() + filled[1:]


def _rank_weights(count: int, exponent: float) -> list[float]:
    """Cumulative Zipf weights for ranks 1..count, for random.choices(cum_weights=...)."""
    return list(itertools.accumulate((r + 1) ** -exponent for r in range(count)))


def _sample_weighted(rng: random.Random, items: list[str], weights: list[float], k: int) -> list[str]:
    """k distinct items drawn by weight, without replacement (random.sample takes no weights)."""
    pool, w = list(items), list(weights)
    out = []
    for _ in range(min(k, len(pool))):
        i = rng.choices(range(len(pool)), weights=w)[0]
        out.append(pool.pop(i))
        w.pop(i)
    return out

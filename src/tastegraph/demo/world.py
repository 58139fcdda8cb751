"""A deterministic demo world: topics, people, Pins, boards, saves, follows and engagement.

Everything is drawn from one `random.Random(seed)` and every timestamp is `now` minus a seeded whole
number of seconds, so the same seed and `now` give byte-identical rows. Rows are built in memory and
bulk-inserted in chunks: row-at-a-time inserts would take minutes for a large world.
"""

from __future__ import annotations

import bisect
import itertools
import random
import re
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Connection, Table, func, insert, or_, select, text

from tastegraph.catalog.accounts import hash_password
from tastegraph.catalog.content import ensure_topic
from tastegraph.catalog.tables import (
    board_follows,
    board_pins,
    boards,
    pin_topics,
    pins,
    topics,
    user_follows,
    users,
)
from tastegraph.collect.tables import engagement_events
from tastegraph.consent.tables import user_settings
from tastegraph.identity.normalize import IdentifierKind, plain_hash
from tastegraph.identity.tables import person_identifiers
from tastegraph.kernel import Conflict, InvalidInput

Progress = Callable[[str, int, int], None]
Row = dict[str, Any]

# Documented shared password of every demo account (see the demo section of the docs).
DEMO_PASSWORD = "demo-password"
DEMO_EMAIL_DOMAIN = "demo.tastegraph.test"
# Placeholder images per topic: image_url is /static/demo-img/{topic}/{k}.svg with 0 <= k < this.
DEMO_IMAGES_PER_TOPIC = 24

CHUNK = 5000
DAY = 86_400
WINDOW = 60 * DAY  # the whole world happened within the last ~60 days
RECENT = 14 * DAY  # engagement events are recent activity

# (slug, name), most popular first: users' interests and Pins follow this order with a Zipf skew.
TOPICS: list[tuple[str, str]] = [
    ("home-decor", "Home decor"),
    ("cooking", "Cooking"),
    ("fashion", "Fashion"),
    ("travel", "Travel"),
    ("diy-crafts", "DIY and crafts"),
    ("beauty", "Beauty"),
    ("fitness", "Fitness"),
    ("gardening", "Gardening"),
    ("outdoors", "Outdoors"),
    ("photography", "Photography"),
    ("parenting", "Parenting"),
    ("cars", "Cars"),
]

# Invented but plausible sites per topic. `.blog` domains are blogs; the rest are retailers.
# The demo's third-party pages import this, so keep trailpeak-gear.com and simmerandsage.com.
TOPIC_DOMAINS: dict[str, list[str]] = {
    "outdoors": [
        "trailpeak-gear.com",
        "summitcamp.shop",
        "backcountryjournal.blog",
        "ridgeline-outfitters.com",
        "campfirecollective.com",
        "alpinetrailnotes.blog",
        "riverbendpaddle.shop",
    ],
    "cooking": [
        "simmerandsage.com",
        "weeknighttable.blog",
        "copperpotkitchen.shop",
        "thefreshpantry.com",
        "saltandember.blog",
        "knifeandfork-supply.com",
        "panfriedpages.blog",
    ],
    "home-decor": [
        "linenandloft.com",
        "nestandnook.shop",
        "oakhollowhome.com",
        "thecozycorner.blog",
        "brightroomstudio.com",
        "paletteandplank.blog",
        "softlighthome.shop",
    ],
    "fashion": [
        "threadline-studio.com",
        "wardrobenotes.blog",
        "urbanhemline.shop",
        "denimdistrict.com",
        "capsulecloset.blog",
        "velvetandvine.shop",
        "stitchandstride.com",
    ],
    "travel": [
        "wanderledger.blog",
        "passportandpine.com",
        "slowroadtravels.blog",
        "farflungfares.com",
        "carryonclub.shop",
        "coastalwayfarer.blog",
    ],
    "gardening": [
        "greenthumbgrove.com",
        "seedandsoilsupply.shop",
        "backyardbloom.blog",
        "raisedbedrevival.com",
        "potterypatch.shop",
        "heirloomharvest.blog",
    ],
    "fitness": [
        "strongstride.com",
        "corecircuit.blog",
        "liftlab-gear.shop",
        "morningmilesrun.blog",
        "flowandflexyoga.com",
        "kettlebellcorner.shop",
    ],
    "diy-crafts": [
        "makersbench.com",
        "glueandgrain.blog",
        "yarnandyonder.shop",
        "craftcabinet.com",
        "thetinkertable.blog",
        "paperandpinecrafts.shop",
    ],
    "beauty": [
        "glowtheory.com",
        "dewdropskin.shop",
        "bareandbloom.blog",
        "lipandlash-co.com",
        "shelfiestudio.blog",
        "silkstrandhair.shop",
    ],
    "photography": [
        "goldenhourlens.com",
        "shutterandsoul.blog",
        "framefield-supply.shop",
        "lightroomdiaries.blog",
        "aperturealley.com",
        "filmgrainlab.shop",
    ],
    "parenting": [
        "littlesproutsco.com",
        "tinyfootsteps.blog",
        "nurserynest.shop",
        "playdatepantry.com",
        "raisingwildlings.blog",
        "bumpandbeyond.shop",
    ],
    "cars": [
        "torqueandtrail.com",
        "garagegospel.blog",
        "roadreadyparts.shop",
        "classicchromeclub.com",
        "detailingden.shop",
        "evchargedjournal.blog",
    ],
}

# Pins occasionally carry a second topic; people's boards borrow from these neighbours too.
RELATED: dict[str, list[str]] = {
    "outdoors": ["travel", "fitness", "photography", "cars"],
    "cooking": ["gardening", "parenting", "fitness"],
    "home-decor": ["diy-crafts", "gardening", "photography"],
    "fashion": ["beauty", "travel"],
    "travel": ["outdoors", "photography", "cooking"],
    "gardening": ["home-decor", "cooking", "diy-crafts"],
    "fitness": ["outdoors", "cooking", "beauty"],
    "diy-crafts": ["home-decor", "parenting", "gardening"],
    "beauty": ["fashion", "fitness"],
    "photography": ["travel", "outdoors", "home-decor"],
    "parenting": ["cooking", "diy-crafts", "travel"],
    "cars": ["travel", "outdoors", "diy-crafts"],
}


@dataclass(frozen=True)
class _Vocab:
    """Templates for one topic; `{slot}` fields are filled from `slots`, `{n}` from _COUNTS."""

    titles: tuple[str, ...]
    descriptions: tuple[str, ...]
    slots: dict[str, tuple[str, ...]]
    boards: tuple[str, ...]


_COUNTS = ("5", "7", "8", "10", "12", "15", "21")

_VOCAB: dict[str, _Vocab] = {
    "outdoors": _Vocab(
        titles=(
            "{adj} {gear} for {trip}",
            "{n} essentials for {trip}",
            "How to choose a {gear} for {trip}",
            "Best trails in {place} for a first trip",
            "Our favourite {gear} after a season in {place}",
            "Leave-no-trace tips for {trip}",
        ),
        descriptions=(
            "We tested this {gear} on {trip} in {place}, and it held up to wind, rain and rough handling.",
            "A practical guide for {trip}: what to pack, what to leave at home and how to stay light.",
            "Light enough to forget you're carrying it, tough enough for {place}.",
            "Everything we learned from {trip}, with a printable checklist.",
        ),
        slots={
            "gear": (
                "2-person tent",
                "sleeping bag",
                "pair of trekking poles",
                "daypack",
                "camp stove",
                "headlamp",
                "rain shell",
                "hammock",
                "water filter",
                "pair of hiking boots",
                "sleeping pad",
            ),
            "adj": (
                "Ultralight",
                "Packable",
                "Waterproof",
                "Budget-friendly",
                "Four-season",
                "Compact",
                "Rugged",
            ),
            "trip": (
                "summer hikes",
                "weekend camping trips",
                "thru-hikes",
                "backpacking in the Rockies",
                "rainy shoulder season",
                "family car camping",
                "alpine scrambles",
                "desert treks",
            ),
            "place": (
                "the Cascades",
                "Yosemite's high country",
                "the Lake District",
                "Patagonia",
                "the Smokies",
                "Zion",
                "the Dolomites",
                "the Scottish Highlands",
            ),
        },
        boards=(
            "Camping trip ideas",
            "Hiking gear wishlist",
            "Trails to hike",
            "Backpacking checklist",
            "National parks",
            "Outdoor adventures",
        ),
    ),
    "cooking": _Vocab(
        titles=(
            "{style} {dish}",
            "{style} {dish} for {occasion}",
            "{n} easy recipes for {occasion}",
            "How to season a {tool}",
            "The only {dish} recipe you need",
            "{n} ways to use your {tool}",
        ),
        descriptions=(
            "Bright, simple and on the table fast: we make this {dish} every week.",
            "Everything cooks in one pan, so cleanup takes five minutes.",
            "A reader favourite for {occasion}: make a double batch and freeze half.",
            "Step-by-step photos, plus tips for swapping ingredients you don't have.",
        ),
        slots={
            "dish": (
                "lemon garlic chicken",
                "chickpea curry",
                "mushroom risotto",
                "salmon with herb butter",
                "black bean tacos",
                "tomato basil pasta",
                "beef and broccoli stir-fry",
                "roasted vegetable lasagna",
                "shakshuka",
                "miso glazed eggplant",
                "pulled pork sliders",
                "coconut lentil soup",
            ),
            "style": (
                "One-pan",
                "30-minute",
                "Sheet-pan",
                "Slow-cooker",
                "Make-ahead",
                "Crispy",
                "Creamy",
                "Freezer-friendly",
            ),
            "occasion": (
                "busy weeknights",
                "Sunday meal prep",
                "a crowd",
                "date night",
                "picnic season",
                "lunchboxes",
                "holiday dinners",
            ),
            "tool": (
                "cast-iron skillet",
                "Dutch oven",
                "chef's knife",
                "stand mixer",
                "air fryer",
                "sheet pan",
                "spice grinder",
            ),
        },
        boards=(
            "Weeknight dinners",
            "Recipes to try",
            "Meal prep",
            "Baking",
            "Soups and stews",
            "Dinner party menu",
        ),
    ),
    "home-decor": _Vocab(
        titles=(
            "{style} {room} makeover on a budget",
            "{n} ways to style {item} in a {room}",
            "A {palette} {room} we can't stop thinking about",
            "Small {room}? Try {item}",
            "{style} finds under $100 for your {room}",
            "Before and after: a {style} {room}",
        ),
        descriptions=(
            "Swapping in {item} made the whole {room} feel calmer and brighter.",
            "A {palette} palette keeps this {style} space warm without feeling busy.",
            "Renter-friendly ideas that come down without a trace when you move.",
            "Sourcing list and paint colours included.",
        ),
        slots={
            "room": (
                "living room",
                "bedroom",
                "entryway",
                "home office",
                "galley kitchen",
                "reading nook",
                "guest room",
                "bathroom",
            ),
            "style": (
                "Scandinavian",
                "Japandi",
                "mid-century",
                "warm minimalist",
                "coastal",
                "boho",
                "modern farmhouse",
                "maximalist",
            ),
            "item": (
                "linen curtains",
                "a rattan pendant light",
                "a wool area rug",
                "floating shelves",
                "an oak side table",
                "a ceramic table lamp",
                "a velvet accent chair",
                "gallery wall frames",
                "woven baskets",
            ),
            "palette": (
                "sage and cream",
                "terracotta and white",
                "navy and brass",
                "warm neutral",
                "charcoal and oak",
                "blush and grey",
            ),
        },
        boards=(
            "Living room ideas",
            "Dream home",
            "Bedroom inspo",
            "Apartment refresh",
            "Cozy corners",
            "Home office setup",
        ),
    ),
    "fashion": _Vocab(
        titles=(
            "{n} ways to wear a {piece}",
            "{style} {season} capsule wardrobe",
            "What to wear to {occasion}",
            "How to style a {piece} for {occasion}",
            "{style} outfits built around a {piece}",
            "The {piece} everyone is wearing this {season}",
        ),
        descriptions=(
            "A good {piece} is the hardest-working item in a {season} wardrobe; here's how we mix it.",
            "Ten pieces, thirty outfits: the maths behind a {season} capsule.",
            "Sizing notes: runs slightly large, so consider going down one size.",
            "Outfit ideas for {occasion} that are comfortable and still look put together.",
        ),
        slots={
            "piece": (
                "trench coat",
                "pair of wide-leg trousers",
                "pair of white sneakers",
                "linen shirt",
                "midi skirt",
                "chunky knit cardigan",
                "pair of straight-leg jeans",
                "pair of leather ankle boots",
                "slip dress",
                "wool blazer",
            ),
            "season": ("spring", "summer", "fall", "winter"),
            "occasion": (
                "the office",
                "a weekend away",
                "a summer wedding",
                "brunch",
                "travel days",
                "date night",
            ),
            "style": ("Minimalist", "Classic", "Relaxed", "Vintage-inspired", "Monochrome", "Preppy"),
        },
        boards=(
            "Outfit ideas",
            "Capsule wardrobe",
            "Fall style",
            "Work outfits",
            "Wishlist",
            "Wedding guest looks",
        ),
    ),
    "travel": _Vocab(
        titles=(
            "{length} in {city}: an itinerary for {kind}",
            "Where to eat in {city}",
            "{n} hidden gems in {city}",
            "How to pack a carry-on for {length}",
            "{city} on a budget",
            "The best neighbourhoods to stay in {city}",
        ),
        descriptions=(
            "Our route through {city}, with the cafes, markets and viewpoints we'd go back for.",
            "Written for {kind}: realistic budgets, transit tips and where to skip the queues.",
            "Packing light for {length} is easier than it sounds, and this is our exact list.",
            "Best visited in shoulder season, when the crowds thin out.",
        ),
        slots={
            "city": (
                "Lisbon",
                "Kyoto",
                "Mexico City",
                "Copenhagen",
                "Marrakech",
                "Vancouver",
                "Hanoi",
                "Edinburgh",
                "Cape Town",
                "Buenos Aires",
                "Reykjavik",
                "Seoul",
            ),
            "length": ("48 hours", "3 days", "a long weekend", "one week", "10 days"),
            "kind": (
                "food lovers",
                "first-timers",
                "families",
                "solo travellers",
                "budget travellers",
                "slow travellers",
            ),
        },
        boards=(
            "Travel bucket list",
            "Europe trip",
            "Places to go",
            "Packing tips",
            "Weekend getaways",
            "Food to eat abroad",
        ),
    ),
    "gardening": _Vocab(
        titles=(
            "How to grow {plant} in {space}",
            "When to {task} {plant}",
            "{n} tips for growing {plant}",
            "A planting plan for {plant} in {space}",
            "Companion planting guide for {plant}",
            "{n} mistakes to avoid with {plant}",
        ),
        descriptions=(
            "With six hours of sun and steady watering, {plant} thrive in {space}.",
            "A month-by-month calendar for when to {task} and when to leave things alone.",
            "We grew these from seed this year; here's what worked and what didn't.",
            "Soil mix, spacing and a simple watering schedule, all on one page.",
        ),
        slots={
            "plant": (
                "tomatoes",
                "lavender",
                "hydrangeas",
                "herbs",
                "succulents",
                "peonies",
                "strawberries",
                "climbing roses",
                "dahlias",
                "leafy greens",
                "pollinator flowers",
            ),
            "space": (
                "raised beds",
                "balcony pots",
                "containers",
                "a shady corner",
                "a kitchen window box",
                "a cottage border",
            ),
            "task": ("prune", "propagate", "overwinter", "fertilize", "transplant", "harvest"),
        },
        boards=(
            "Garden plans",
            "Balcony garden",
            "Vegetable patch",
            "Flower beds",
            "Houseplants",
            "Backyard goals",
        ),
    ),
    "fitness": _Vocab(
        titles=(
            "{workout} you can do at home",
            "A 4-week plan for {goal}",
            "{n} stretches for {goal}",
            "The best {gear} for {goal}",
            "Quick {workout} before work",
            "{n} habits that help with {goal}",
        ),
        descriptions=(
            "No gym needed: this {workout} takes less time than your commute.",
            "Start slow, add one set a week, and log every session.",
            "A coach-approved approach to {goal}, with modifications for every level.",
            "Our pick of {gear} after months of daily use.",
        ),
        slots={
            "workout": (
                "20-minute HIIT workout",
                "full-body kettlebell routine",
                "core circuit",
                "mobility flow",
                "upper-body dumbbell workout",
                "low-impact cardio session",
                "beginner yoga sequence",
            ),
            "goal": (
                "building strength",
                "running your first 5K",
                "better posture",
                "staying consistent",
                "recovery days",
                "training at home",
            ),
            "gear": (
                "adjustable dumbbells",
                "resistance bands",
                "yoga mats",
                "foam rollers",
                "running vests",
                "jump ropes",
            ),
        },
        boards=(
            "Workouts",
            "Home gym",
            "Running",
            "Yoga and stretching",
            "Fitness motivation",
            "Healthy habits",
        ),
    ),
    "diy-crafts": _Vocab(
        titles=(
            "DIY {project}: step by step",
            "{level} {project} tutorial",
            "{n} things to make with {material}",
            "How to make a {project}",
            "{project}: a {level} project",
        ),
        descriptions=(
            "All you need is {material}, a few basic tools and an afternoon.",
            "Step-by-step photos take you from supplies to a finished {project}.",
            "Makes a thoughtful handmade gift for birthdays and holidays.",
            "Printable pattern and supply list included.",
        ),
        slots={
            "project": (
                "macrame plant hanger",
                "hand-poured soy candle",
                "wooden cutting board",
                "embroidered tote bag",
                "pressed flower frame",
                "crochet market bag",
                "terracotta pot makeover",
                "mason jar lantern",
                "block-printed tablecloth",
                "paper garland",
            ),
            "level": ("beginner", "weekend", "kid-friendly", "no-sew", "10-minute", "budget"),
            "material": (
                "scrap wood",
                "leftover yarn",
                "air-dry clay",
                "mason jars",
                "cotton cord",
                "old t-shirts",
            ),
        },
        boards=(
            "DIY projects",
            "Craft ideas",
            "Handmade gifts",
            "Knitting and crochet",
            "Upcycling",
            "Kids crafts",
        ),
    ),
    "beauty": _Vocab(
        titles=(
            "A {look} look in 5 steps",
            "Simple skincare routine for {concern}",
            "Is {product} worth it? An honest review",
            "{n} drugstore finds for {concern}",
            "How to layer {product} correctly",
            "Our {look} routine, product by product",
        ),
        descriptions=(
            "Dermatologist-reviewed tips for {concern}, from cleanser to moisturizer.",
            "We used {product} for a month, and here's how our skin changed.",
            "Everything in this {look} routine costs less than $20.",
            "Patch test first, and add one new product at a time.",
        ),
        slots={
            "product": (
                "vitamin C serum",
                "mineral sunscreen",
                "a hydrating cleanser",
                "tinted lip balm",
                "retinol night cream",
                "a clay mask",
                "heat protectant spray",
                "cream blush",
            ),
            "concern": ("dry skin", "sensitive skin", "frizzy hair", "dull skin", "oily skin", "curly hair"),
            "look": ("no-makeup makeup", "soft glam", "dewy summer", "five-minute morning", "bold lip"),
        },
        boards=(
            "Skincare routine",
            "Makeup looks",
            "Hair ideas",
            "Beauty favourites",
            "Nail art",
            "Self-care",
        ),
    ),
    "photography": _Vocab(
        titles=(
            "{n} tips for better {subject}",
            "How to shoot {subject} with a {gear}",
            "Beginner's guide to {skill}",
            "Why every photographer needs a {gear}",
            "Editing {subject}: my workflow",
            "Photo walk ideas for {subject}",
        ),
        descriptions=(
            "Settings, angles and the mistakes I made so you don't have to.",
            "Get the hang of {skill} in a weekend with these practice exercises.",
            "All shot with a {gear}; settings are listed under each photo.",
            "Free presets included with the tutorial.",
        ),
        slots={
            "subject": (
                "golden hour portraits",
                "street photography",
                "night skies",
                "food photography",
                "landscapes",
                "pet portraits",
                "rainy city scenes",
            ),
            "gear": (
                "50mm prime lens",
                "travel tripod",
                "variable ND filter",
                "mirrorless camera",
                "reflector",
                "camera sling bag",
            ),
            "skill": (
                "composition",
                "manual mode",
                "photo editing",
                "natural light",
                "long exposures",
                "colour grading",
            ),
        },
        boards=(
            "Photography tips",
            "Photo inspiration",
            "Camera gear",
            "Editing tricks",
            "Portrait ideas",
            "Shot list",
        ),
    ),
    "parenting": _Vocab(
        titles=(
            "Tips for {topic} with {age}",
            "How we use a {item} with {age}",
            "Simple {topic} ideas for {age}",
            "A printable {item} for {age}",
            "Surviving {topic}: what actually worked",
            "{n} screen-free activities for {age}",
        ),
        descriptions=(
            "Tried and tested with our own {age}; not every idea worked, but these did.",
            "Printable checklist included, plus notes from other parents.",
            "Calm, realistic advice for {topic}, without the guilt.",
            "Everything fits in the {item} we keep by the door.",
        ),
        slots={
            "age": ("toddlers", "preschoolers", "newborns", "school-age kids", "teens", "twins"),
            "topic": (
                "bedtime routines",
                "picky eating",
                "potty training",
                "road trips",
                "rainy-day play",
                "sibling rivalry",
                "first-day-of-school nerves",
            ),
            "item": ("lunchbox", "diaper bag", "activity binder", "chore chart", "weekly meal plan"),
        },
        boards=(
            "Parenting tips",
            "Kids activities",
            "Nursery ideas",
            "Lunchbox ideas",
            "Family travel",
            "Birthday party ideas",
        ),
    ),
    "cars": _Vocab(
        titles=(
            "How to {task}",
            "{n} things to check before buying a {car}",
            "Road trip: {route} in our {car}",
            "Best accessories for your {car}",
            "Living with our {car} for a year",
            "{n} detailing products that are worth it",
        ),
        descriptions=(
            "A beginner-friendly walkthrough with tools, timing and costs.",
            "We drove {route} and noted every charging stop and viewpoint.",
            "What to look for under the hood, around the tires and in the service history.",
            "Saves money and takes about an hour on a Saturday morning.",
        ),
        slots={
            "car": (
                "compact SUV",
                "used hatchback",
                "plug-in hybrid",
                "vintage pickup",
                "family minivan",
                "weekend convertible",
            ),
            "task": (
                "detail your car's interior",
                "change your own oil",
                "winterize your car",
                "pack the car for a road trip",
                "restore faded headlights",
                "choose all-season tires",
            ),
            "route": (
                "the Pacific Coast Highway",
                "Route 66",
                "the Blue Ridge Parkway",
                "the Great Ocean Road",
                "Iceland's Ring Road",
            ),
        },
        boards=("Dream cars", "Car care", "Road trip routes", "Garage ideas", "Project car", "Car camping"),
    ),
}

# Second sentences, by kind of site.
_SHOP_TAILS = (
    "Free returns within 30 days.",
    "Ships in two business days.",
    "Rated 4.8 out of 5 by customers.",
    "Shop the full collection online.",
    "Free shipping on orders over $50.",
)
_BLOG_TAILS = (
    "Full guide on the blog.",
    "Save it for later!",
    "Photos and notes from our own experience.",
    "Updated for this season.",
    "Readers' questions answered at the end.",
)
_BOARD_DESCRIPTIONS = (
    "",
    "",
    "",
    "Ideas I want to try soon.",
    "Saving these for later.",
    "My favourites so far.",
    "Things to remember.",
)

_FIRST_NAMES = (
    "Maya",
    "Liam",
    "Sofia",
    "Noah",
    "Aisha",
    "Mateo",
    "Hana",
    "Ethan",
    "Priya",
    "Lucas",
    "Zoe",
    "Omar",
    "Chloe",
    "Diego",
    "Ingrid",
    "Kenji",
    "Amara",
    "Felix",
    "Nadia",
    "Samuel",
    "Leila",
    "Jonas",
    "Grace",
    "Rafael",
    "Mei",
    "Elliot",
    "Fatima",
    "Hugo",
    "Isla",
    "Tomas",
    "Yara",
    "Oscar",
    "Ruth",
    "Arjun",
    "Clara",
    "Malik",
    "Freya",
    "Andre",
    "Lena",
    "Kwame",
    "Nora",
    "Pablo",
    "Sienna",
    "Dmitri",
    "Ava",
    "Theo",
    "Imani",
    "Luca",
    "Rosa",
    "Caleb",
)
_LAST_NAMES = (
    "Okafor",
    "Lindqvist",
    "Garcia",
    "Nakamura",
    "Patel",
    "Rossi",
    "Kowalski",
    "Nguyen",
    "Haddad",
    "Murphy",
    "Silva",
    "Andersen",
    "Chen",
    "Dubois",
    "Mensah",
    "Ivanova",
    "Brennan",
    "Sato",
    "Alvarez",
    "Fischer",
    "Kim",
    "Osei",
    "Moreau",
    "Shapiro",
    "Novak",
    "Reyes",
    "Larsen",
    "Bianchi",
    "Owusu",
    "Tanaka",
    "Hughes",
    "Costa",
    "Varga",
    "Ahmed",
    "Walsh",
    "Jensen",
    "Romero",
    "Schmidt",
    "Park",
    "Adeyemi",
    "Berg",
    "Castillo",
    "Dlamini",
    "Eriksen",
    "Fontaine",
    "Gupta",
    "Holm",
    "Ito",
    "Kaur",
    "Quinn",
)

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


def load_world(
    conn: Connection,
    seed: int,
    now: datetime,
    size: WorldSize = WorldSize(),
    progress: Progress | None = None,
) -> dict[str, int]:
    """Fill an empty catalogue with a seeded world and return how many rows went into each table."""
    if now.tzinfo is None:
        raise InvalidInput("`now` must be a timezone-aware datetime", field="now")
    if size.pins < 1 or size.users < 1:
        raise InvalidInput("a demo world needs at least one Pin and one user", field="size")
    _require_empty(conn)
    report = progress or _no_progress
    report("topics", 0, len(TOPICS))
    topic_ids, new_topics = ensure_topics(conn, TOPICS)
    report("topics", len(TOPICS), len(TOPICS))
    report("generate", 0, 1)
    world = _generate(random.Random(seed), seed, now, size, topic_ids, _next_ids(conn))
    report("generate", 1, 1)
    counts = {"topics": new_topics}
    for name, rows in world.items():
        _insert_chunked(conn, _TABLES[name], rows, name, report)
        counts[name] = len(rows)
    _sync_sequences(conn, (users, pins, boards))
    return counts


def ensure_topics(conn: Connection, wanted: Sequence[tuple[str, str]]) -> tuple[dict[str, int], int]:
    """Topic ids by slug, creating missing topics; also returns how many were created."""
    before = int(conn.execute(select(func.count()).select_from(topics)).scalar_one())
    ids = {slug: ensure_topic(conn, slug, name) for slug, name in wanted}
    after = int(conn.execute(select(func.count()).select_from(topics)).scalar_one())
    return ids, after - before


# Every generated table, in insertion (foreign-key) order.
_TABLES: dict[str, Table] = {
    "users": users,
    "user_settings": user_settings,
    "person_identifiers": person_identifiers,
    "pins": pins,
    "pin_topics": pin_topics,
    "boards": boards,
    "board_pins": board_pins,
    "board_follows": board_follows,
    "user_follows": user_follows,
    "engagement_events": engagement_events,
}


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


def _require_empty(conn: Connection) -> None:
    if conn.execute(select(pins.c.id).limit(1)).first() is not None:
        raise Conflict("the catalogue already has Pins; the demo world loads only into an empty catalogue")
    demo_user = select(users.c.id).where(
        or_(users.c.is_demo.is_(True), users.c.email.like(f"%@{DEMO_EMAIL_DOMAIN}"))
    )
    if conn.execute(demo_user.limit(1)).first() is not None:
        raise Conflict("demo users already exist; the demo world is already loaded")


def _next_ids(conn: Connection) -> dict[str, int]:
    """Explicit ids start after any existing row (someone may have signed up before the demo loaded)."""
    return {
        t.name: int(conn.execute(select(func.coalesce(func.max(t.c.id), 0))).scalar_one())
        for t in (users, pins, boards)
    }


def _insert_chunked(conn: Connection, table: Table, rows: list[Row], stage: str, report: Progress) -> None:
    report(stage, 0, len(rows))
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        conn.execute(insert(table), chunk)
        report(stage, start + len(chunk), len(rows))


def _sync_sequences(conn: Connection, tables: Sequence[Table]) -> None:
    """PostgreSQL sequences do not see explicit ids: move them past the rows we wrote."""
    if conn.dialect.name != "postgresql":
        return
    for t in tables:
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{t.name}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {t.name}), false)"
            )
        )


@cache
def demo_password_hash() -> str:
    """One argon2 hash shared by every demo user: hashing thousands of times would take minutes."""
    return hash_password(DEMO_PASSWORD)


# --- generation -------------------------------------------------------------------------------------


def _generate(
    rng: random.Random,
    seed: int,
    now: datetime,
    size: WorldSize,
    topic_ids: dict[str, int],
    base: dict[str, int],
) -> dict[str, list[Row]]:
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
        self.rows: dict[str, list[Row]] = {name: [] for name in _TABLES}
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

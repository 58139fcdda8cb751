"""Why this ad: one frozen dataclass per kind of reason, built by the targeting match from the very
signal that matched (ads.targeting), so an ad's explanation can never name a signal that did not
select it. JSON: "kind", the fields in order (times in ISO 8601), then "text" (docs/api.md)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, ClassVar

ReasonJson = dict[str, Any]


def _day(at: datetime) -> str:
    return f"{at.day} {at.strftime('%b %Y')}"


@dataclass(frozen=True)
class AdReason:
    kind: ClassVar[str]
    # The consent-governed signal it rests on: "contextual", "on_site", "off_site", "advertiser_data"
    # or "broad". The property tests check it against what the decision allowed.
    signal: ClassVar[str]

    def text(self) -> str:
        raise NotImplementedError

    def to_json(self) -> ReasonJson:
        out: ReasonJson = {"kind": self.kind}
        for key, value in asdict(self).items():
            out[key] = value.isoformat() if isinstance(value, datetime) else value
        out["text"] = self.text()
        return out


@dataclass(frozen=True)
class AdInterest(AdReason):
    """The ad targets a topic that is one of your interests, from what you did here or (when
    Personalization allows it) a site you visited."""

    kind: ClassVar[str] = "ad_interest"
    signal: ClassVar[str] = "on_site"
    topic: str
    topic_name: str
    engagements: int  # your saves, clicks and close-ups of Pins in it

    def text(self) -> str:
        return (
            f"The advertiser wants to reach people interested in {self.topic_name}; "
            f"you saved or looked closely at {self.engagements} Pins about it"
        )


@dataclass(frozen=True)
class AdInterestFromVisit(AdReason):
    kind: ClassVar[str] = "ad_interest"
    signal: ClassVar[str] = "off_site"
    topic: str
    topic_name: str
    site: str  # the site with the save button you visited
    visited_at: datetime

    def text(self) -> str:
        return (
            f"The advertiser wants to reach people interested in {self.topic_name}; "
            f"you visited {self.site} on {_day(self.visited_at)}"
        )


@dataclass(frozen=True)
class AdKeyword(AdReason):
    kind: ClassVar[str] = "ad_keyword"
    signal: ClassVar[str] = "contextual"
    query: str  # your search
    keyword: str  # the advertiser's keyword it matched

    def text(self) -> str:
        return f"You searched for “{self.query}”, and the advertiser chose the keyword “{self.keyword}”"


@dataclass(frozen=True)
class AdContextual(AdReason):
    kind: ClassVar[str] = "ad_contextual"
    signal: ClassVar[str] = "contextual"
    pin_id: int  # the Pin you are looking at
    topic: str
    topic_name: str

    def text(self) -> str:
        return f"It is about {self.topic_name}, like the Pin you are looking at"


@dataclass(frozen=True)
class AdVisitedSite(AdReason):
    kind: ClassVar[str] = "ad_visited_site"
    signal: ClassVar[str] = "advertiser_data"
    advertiser: str
    audience_id: int
    last_event_at: datetime | None  # when the advertiser last told us of a visit of yours

    def text(self) -> str:
        when = f" (last on {_day(self.last_event_at)})" if self.last_event_at else ""
        return f"You visited {self.advertiser}'s site{when}, and it wants to reach its visitors"


@dataclass(frozen=True)
class AdCustomerList(AdReason):
    kind: ClassVar[str] = "ad_customer_list"
    signal: ClassVar[str] = "advertiser_data"
    advertiser: str
    audience_id: int

    def text(self) -> str:
        return f"{self.advertiser} has your email address or phone number on a list it shared with us"


@dataclass(frozen=True)
class AdEngaged(AdReason):
    kind: ClassVar[str] = "ad_engaged"
    signal: ClassVar[str] = "advertiser_data"
    advertiser: str
    audience_id: int

    def text(self) -> str:
        return f"You saved or clicked {self.advertiser}'s Pins"


@dataclass(frozen=True)
class AdActalike(AdReason):
    kind: ClassVar[str] = "ad_actalike"
    signal: ClassVar[str] = "advertiser_data"
    advertiser: str
    audience_id: int

    def text(self) -> str:
        return f"{self.advertiser} wants to reach people whose taste is like its customers'"


@dataclass(frozen=True)
class AdBroad(AdReason):
    kind: ClassVar[str] = "ad_broad"
    signal: ClassVar[str] = "broad"
    advertiser: str

    def text(self) -> str:
        return (
            f"{self.advertiser} asked to reach people beyond the interests, keywords and audiences it chose"
        )

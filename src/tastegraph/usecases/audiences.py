"""An ad account's audiences: visitors of its site (its events), people who engaged with its Pins, and
actalikes of any audience; customer-list audiences come from usecases.customer_lists. Members are only
people whose consent allows it, decided again at every refresh.

What an advertiser sees of an audience is an `AudienceView`: the size rounded and never below the
minimum, so the exact member count never leaves this layer.
"""

from __future__ import annotations

from dataclasses import dataclass

from tastegraph.ads import audiences
from tastegraph.ads.audiences import Audience, AudienceKind, AudienceSpec
from tastegraph.bootstrap import System
from tastegraph.collect.advertiser_events import EventName
from tastegraph.kernel import InvalidInput
from tastegraph.usecases.callers import AdCaller

VISITOR_EVENT_NAMES: tuple[str, ...] = tuple(e.value for e in EventName)
ENGAGEMENT_KINDS: tuple[str, ...] = tuple(k.value for k in audiences.ENGAGEMENT_KINDS)


@dataclass(frozen=True)
class AudienceView:
    id: int
    kind: str
    name: str
    size: int  # rounded to two significant figures, never below the minimum (100)
    usable: bool  # at least the minimum of members
    spec: AudienceSpec  # the kind's rules, as stored
    refreshed_at: str  # ISO 8601

    @classmethod
    def of(cls, audience: Audience) -> AudienceView:
        return cls(**audience.public())


@dataclass(frozen=True)
class NewAudience:
    """What to build. Fields of another kind are ignored; None takes the kind's default (visitor: all
    events, 30 days; engagement: save, click and closeup, 90 days; actalike: 5 percent)."""

    kind: str  # visitor, engagement or actalike
    name: str = ""
    event_names: list[str] | None = None
    retention_days: int | None = None
    engagement_kinds: list[str] | None = None
    seed_audience_id: int | None = None
    percent: float | None = None


_BUILT = {AudienceKind.VISITOR.value, AudienceKind.ENGAGEMENT.value, AudienceKind.ACTALIKE.value}


def _spec(kind: AudienceKind, new: NewAudience) -> AudienceSpec:
    if kind is AudienceKind.VISITOR:
        # 0 is refused by the spec, not taken as "not given"
        days = 30 if new.retention_days is None else new.retention_days
        return audiences.visitor_spec(new.event_names, days)
    if kind is AudienceKind.ENGAGEMENT:
        days = 90 if new.retention_days is None else new.retention_days
        return audiences.engagement_spec(new.engagement_kinds, days)
    return audiences.actalike_spec(new.seed_audience_id, new.percent if new.percent is not None else 5)


def list_audiences(system: System, caller: AdCaller) -> list[AudienceView]:
    with system.read() as conn:
        return [AudienceView.of(a) for a in audiences.list_for(conn, caller.ad_account_id)]


def get_audience(system: System, caller: AdCaller, audience_id: int) -> AudienceView:
    """Raises NotFound for an audience of another ad account."""
    with system.read() as conn:
        return AudienceView.of(audiences.get(conn, caller.ad_account_id, audience_id))


def create_audience(system: System, caller: AdCaller, new: NewAudience) -> AudienceView:
    """Check the rules, create the audience and fill it. Raises InvalidInput for a bad rule, NotFound
    for a seed audience of another account, Conflict for an engagement audience of an account without
    a website or an actalike without a trained model."""
    if new.kind not in _BUILT:
        raise InvalidInput("kind must be visitor, engagement or actalike", field="kind")
    kind = AudienceKind(new.kind)
    spec = _spec(kind, new)
    model = system.models.current(system.clock.now()) if kind is AudienceKind.ACTALIKE else None
    with system.write() as conn:
        created = audiences.create(
            conn, system.consent, model, caller.ad_account_id, kind, new.name, spec, system.clock.now()
        )
    return AudienceView.of(created)


def refresh_audience(system: System, caller: AdCaller, audience_id: int) -> AudienceView:
    """Recompute the members now, with consent decided again for everyone."""
    with system.read() as conn:
        kind = audiences.get(conn, caller.ad_account_id, audience_id).kind
    model = system.models.current(system.clock.now()) if kind is AudienceKind.ACTALIKE else None
    with system.write() as conn:
        refreshed = audiences.refresh(
            conn, system.consent, model, caller.ad_account_id, audience_id, system.clock.now()
        )
    return AudienceView.of(refreshed)

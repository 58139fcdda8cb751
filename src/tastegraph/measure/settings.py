"""Each ad account's measurement settings: attribution windows and how its reports protect people.

Accounts that never changed them have the defaults (click 30 days, engagement 30 days, view 1 day;
threshold privacy). Reports and attribution read the settings in force when they are computed."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, select

from tastegraph.kernel import InvalidInput
from tastegraph.measure.tables import measurement_settings

CLICK_DAYS = (1, 7, 14, 30, 60)
ENGAGEMENT_DAYS = (1, 7, 14, 30, 60)
VIEW_DAYS = (0, 1, 7, 14, 30, 60)
PRIVACY_MODES = ("threshold", "dp")
# The longest window any account may choose: attribution looks no further back than this.
MAX_WINDOW_DAYS = 60
DEFAULT_DP_EPSILON = 1.0  # per ad account and 7-day epoch
Privacy = Literal["threshold", "dp"]


@dataclass(frozen=True)
class Windows:
    click_days: int = 30
    engagement_days: int = 30
    view_days: int = 1


@dataclass(frozen=True)
class MeasurementSettings:
    windows: Windows = Windows()
    privacy: Privacy = "threshold"
    dp_epsilon: float = DEFAULT_DP_EPSILON

    def as_dict(self) -> dict[str, Any]:
        return {"attribution": asdict(self.windows), "privacy": self.privacy}


def get(conn: Connection, ad_account_id: int) -> MeasurementSettings:
    row = conn.execute(
        select(measurement_settings).where(measurement_settings.c.ad_account_id == ad_account_id)
    ).first()
    if row is None:
        return MeasurementSettings()
    return MeasurementSettings(
        Windows(int(row.click_days), int(row.engagement_days), int(row.view_days)),
        row.privacy,
        float(row.dp_epsilon),
    )


def _choice(value: Any, allowed: tuple[int, ...], field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
        raise InvalidInput(f"must be one of {', '.join(map(str, allowed))}", field=field)
    return value


def update(
    conn: Connection,
    ad_account_id: int,
    *,
    attribution: dict[str, Any] | None,
    privacy: str | None,
    now: datetime,
) -> MeasurementSettings:
    """Change the fields given (validated before anything is written); the settings now in force."""
    current = get(conn, ad_account_id)
    windows = current.windows
    if attribution is not None:
        unknown = set(attribution) - {"click_days", "engagement_days", "view_days"}
        if unknown:
            raise InvalidInput(f"unknown field {sorted(unknown)[0]!r}", field="attribution")
        changes: dict[str, int] = {}
        for name, allowed in (
            ("click_days", CLICK_DAYS),
            ("engagement_days", ENGAGEMENT_DAYS),
            ("view_days", VIEW_DAYS),
        ):
            if name in attribution:
                changes[name] = _choice(attribution[name], allowed, f"attribution.{name}")
        windows = replace(windows, **changes)
    mode: Privacy = current.privacy
    if privacy is not None:
        if privacy not in PRIVACY_MODES:
            raise InvalidInput("must be threshold or dp", field="privacy")
        mode = "dp" if privacy == "dp" else "threshold"
    new = MeasurementSettings(windows, mode, current.dp_epsilon)
    values = {
        "click_days": windows.click_days,
        "engagement_days": windows.engagement_days,
        "view_days": windows.view_days,
        "privacy": mode,
        "dp_epsilon": new.dp_epsilon,
        "updated_at": now,
    }
    done = conn.execute(
        measurement_settings.update()
        .where(measurement_settings.c.ad_account_id == ad_account_id)
        .values(**values)
    ).rowcount
    if not done:
        conn.execute(measurement_settings.insert().values(ad_account_id=ad_account_id, **values))
    return new

"""A report's rows from its cells: the columns an advertiser sees (impressions, clicks, spend, CTR, CPC,
CPM, conversions by touch type and by event name, conversion value, CPA, ROAS), per day or in total,
with what was withheld (a cell from fewer than the threshold's people), what is partial (a campaign's
or ad group's figure that leaves some of its ads' cells out) and, in the differentially private mode,
each figure's noise (its standard deviation)."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tastegraph.measure.reports import EVENT_NAMES, TOUCH_TYPES, is_people_metric

# The closed list of columns (`columns=`); every row also has date, level, id and name.
COLUMNS = (
    "impressions",
    "clicks",
    "saves",
    "closeups",
    "spend_in_micro",
    "ctr",
    "cpc_in_micro",
    "cpm_in_micro",
    "conversions",
    "click_through_conversions",
    "engagement_through_conversions",
    "view_through_conversions",
    "conversions_by_event",
    "conversion_value",
    "cpa_in_micro",
    "roas",
)
_TYPE_COLUMN = {t: f"{t}_through_conversions" for t in TOUCH_TYPES}


@dataclass(frozen=True)
class Part:
    """One stored cell as a report sees it."""

    value: float
    published: bool
    partial: bool = False  # a parent's sum leaving some ad cells out
    noise_sd: float = 0.0
    reason: str | None = None  # when not published and not for too few people


@dataclass
class Figure:
    value: float = 0.0
    any_published: bool = False
    any_withheld: bool = False
    partial: bool = False
    variance: float = 0.0
    reason: str | None = None  # why withheld: "fewer_people" (default), "privacy_budget_exhausted", ...

    def add(self, part: Part) -> None:
        if part.published:
            self.value += part.value
            self.any_published = True
            self.variance += part.noise_sd**2
            self.partial = self.partial or part.partial
        else:
            self.any_withheld = True
            self.reason = self.reason or part.reason

    def merge(self, other: Figure) -> None:
        self.value += other.value
        self.any_published = self.any_published or other.any_published
        self.any_withheld = self.any_withheld or other.any_withheld
        self.partial = self.partial or other.partial
        self.variance += other.variance
        self.reason = self.reason or other.reason

    @property
    def withheld(self) -> bool:
        return self.any_withheld and not self.any_published

    @property
    def is_partial(self) -> bool:
        return self.partial or (self.any_withheld and self.any_published)


@dataclass
class Figures:
    """The additive figures of one row: metric family -> Figure."""

    by: dict[str, Figure] = field(default_factory=dict)

    def get(self, name: str) -> Figure:
        fig = self.by.get(name)
        if fig is None:
            fig = self.by[name] = Figure()
        return fig

    def merge(self, other: Figures) -> None:
        for name, fig in other.by.items():
            self.get(name).merge(fig)


def figures_of(parts: Mapping[str, Part]) -> Figures:
    """Group a (day, object)'s cells into additive figures: impressions, spend, clicks, saves, closeups,
    conversions (and per touch type, per event name), conversion_value."""
    out = Figures()
    for metric, part in parts.items():
        if metric.startswith(("conv:", "cval:")):
            prefix, kind, event = metric.split(":", 2)
            if prefix == "conv":
                out.get("conversions").add(part)
                out.get(f"type:{kind}").add(part)
                out.get(f"event:{event}").add(part)
            else:
                out.get("conversion_value").add(part)
        else:
            out.get(metric).add(part)
    return out


def _ratio(num: Figure, den: Figure, scale: float = 1.0) -> tuple[float | None, bool, bool]:
    """(value, withheld, partial) of num/den*scale."""
    if num.withheld or den.withheld:
        return None, True, False
    if den.value <= 0:
        return None, False, False
    return num.value / den.value * scale, False, num.is_partial or den.is_partial


def _count(fig: Figure) -> float | None:
    if fig.withheld:
        return None
    return fig.value


def row_json(
    date: str | None, level: str, object_id: int | str, name: str, figs: Figures, columns: Iterable[str]
) -> dict[str, Any]:
    """One row: the chosen columns, and `withheld` (column names; `withheld_reason` says why),
    `partial` and `noise` (column -> standard deviation, dp mode)."""
    wanted = set(columns)
    row: dict[str, Any] = {"date": date, "level": level, "id": object_id, "name": name}
    withheld: list[str] = []
    partial: list[str] = []
    noise: dict[str, float] = {}
    reasons: set[str] = set()

    def put(column: str, fig: Figure, integer: bool = True) -> None:
        if column not in wanted and not column.startswith("conversions_by_event."):
            return
        value = _count(fig)
        if value is None:
            withheld.append(column)
            reasons.add(fig.reason or "fewer_people")
        elif fig.is_partial:
            partial.append(column)
        if fig.variance > 0:
            noise[column] = round(math.sqrt(fig.variance), 2)
            if value is not None:
                value = max(0.0, value)
        out: Any = None if value is None else (round(value) if integer else round(value, 2))
        if column.startswith("conversions_by_event."):
            row.setdefault("conversions_by_event", {})[column.split(".", 1)[1]] = out
        else:
            row[column] = out

    get = figs.get
    put("impressions", get("impressions"))
    put("clicks", get("clicks"))
    put("saves", get("saves"))
    put("closeups", get("closeups"))
    put("spend_in_micro", get("spend"))
    put("conversions", get("conversions"))
    for kind in TOUCH_TYPES:
        put(_TYPE_COLUMN[kind], get(f"type:{kind}"))
    if "conversions_by_event" in wanted:
        row["conversions_by_event"] = {}
        for event in EVENT_NAMES:
            if f"event:{event}" in figs.by:
                put(f"conversions_by_event.{event}", get(f"event:{event}"))
    put("conversion_value", get("conversion_value"), integer=False)
    ratios = (
        ("ctr", get("clicks"), get("impressions"), 1.0),
        ("cpc_in_micro", get("spend"), get("clicks"), 1.0),
        ("cpm_in_micro", get("spend"), get("impressions"), 1000.0),
        ("cpa_in_micro", get("spend"), get("conversions"), 1.0),
        ("roas", get("conversion_value"), get("spend"), 1_000_000.0),
    )
    for column, num, den, scale in ratios:
        if column not in wanted:
            continue
        value, held, part = _ratio(num, den, scale)
        if held:
            withheld.append(column)
        elif part:
            partial.append(column)
        row[column] = (
            None if value is None else (round(value, 4) if column in ("ctr", "roas") else round(value))
        )
    row["withheld"] = withheld
    if withheld:
        row["withheld_reason"] = sorted(reasons)[0] if len(reasons) == 1 else ",".join(sorted(reasons))
    row["partial"] = partial
    if noise:
        row["noise"] = noise
    return row


def csv_text(rows: list[dict[str, Any]], columns: Iterable[str]) -> str:
    """The rows as CSV: one column per figure (conversions by event as conversions_EVENT), withheld
    figures empty, and the withheld and partial column names separated by ';'."""
    chosen = [c for c in COLUMNS if c in set(columns)]
    header = ["date", "level", "id", "name"]
    for column in chosen:
        if column == "conversions_by_event":
            header += [f"conversions_{e}" for e in EVENT_NAMES]
        else:
            header.append(column)
    header += ["withheld", "partial"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for row in rows:
        line: list[Any] = [row["date"] or "", row["level"], row["id"], _safe(row["name"])]
        for column in chosen:
            if column == "conversions_by_event":
                events = row.get("conversions_by_event") or {}
                line += ["" if events.get(e) is None else events[e] for e in EVENT_NAMES]
            else:
                line.append("" if row.get(column) is None else row[column])
        line += [";".join(row["withheld"]), ";".join(row["partial"])]
        w.writerow(line)
    return buf.getvalue()


def _safe(text: str) -> str:
    """A name as a spreadsheet will not run it as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def is_people_column(metric: str) -> bool:
    return is_people_metric(metric)

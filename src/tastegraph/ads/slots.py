"""Where a page's Promoted Pins go: TASTEGRAPH_AD_SLOTS, 1-based positions of the merged list, such as
"3,10,17,..." (the trailing "..." repeats the last step)."""

from __future__ import annotations

from functools import cache

from tastegraph.kernel import ConfigurationError


@cache
def parse(spec: str) -> tuple[tuple[int, ...], int | None]:
    """(the listed positions, the step after the last one or None)."""
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    repeat = bool(parts) and parts[-1] == "..."
    if repeat:
        parts = parts[:-1]
    try:
        positions = tuple(int(p) for p in parts)
    except ValueError:
        raise ConfigurationError(f"TASTEGRAPH_AD_SLOTS: positions are whole numbers, not {spec!r}") from None
    if any(p < 1 for p in positions) or list(positions) != sorted(set(positions)):
        raise ConfigurationError("TASTEGRAPH_AD_SLOTS: positions are increasing, from 1")
    if repeat and len(positions) < 2:
        raise ConfigurationError("TASTEGRAPH_AD_SLOTS: '...' needs two positions to repeat the step")
    return positions, (positions[-1] - positions[-2]) if repeat else None


def positions(spec: str, organic: int) -> list[int]:
    """The ad positions (1-based) of a page with `organic` other items: each ad position must fall
    within the merged list (an ad never trails a page)."""
    listed, step = parse(spec)
    out: list[int] = []
    candidates = iter(listed)
    last = 0
    while True:
        nxt = next(candidates, None)
        if nxt is None:
            if step is None:
                break
            nxt = last + step
        # The merged list has organic + len(out) items before this ad is added.
        if nxt > organic + len(out):
            break
        out.append(nxt)
        last = nxt
    return out


def merge(organic: list[object], ads: list[object], at: list[int]) -> list[object]:
    """The organic items with the ads at their positions (fewer ads than positions: the rest stay organic)."""
    merged = list(organic)
    for position, ad in zip(at, ads, strict=False):
        merged.insert(position - 1, ad)
    return merged

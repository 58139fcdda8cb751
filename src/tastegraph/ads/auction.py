"""The ad auction: rank eligible ads by expected value per impression times quality, and price each
slot's winner at the generalized second price. Pure and vectorized; no database, no clock.

Units (money is integer micro-units of the account's currency):

- A CPM ad group's ``bid_micro`` is per 1,000 impressions (as advertisers state CPM bids); it is charged
  per impression, and competes with its per-impression bid ``bid_micro // 1000`` (whole micro per
  impression: a bid of 5,000,500 per mille competes and is charged as 5,000 per impression).
- A CPC ad group's ``bid_micro`` is per click; it is charged per click.
- ``Win.price_micro`` is always per billable event: **micro per impression** for CPM, micro per click
  for CPC. That is the amount the spend counters reserve when the ad is served and charge when its
  impression (CPM) or click (CPC) is counted. ``Win.bid_units`` is the bid in the same unit.

Ranking. Every candidate's score is its expected value per impression times its quality factor:

    score = bid_units * value_rate * quality,   value_rate = pCTR for CPC, 1 for CPM

(computed as ``(bid_units * value_rate) * quality`` in exactly that order everywhere, so a bid and a
score always convert the same way). A candidate enters only if its expected value per impression,
``bid_units * value_rate``, reaches the reserve (``reserve_cpm_micro / 1000`` per impression). An
advertiser never competes against itself: only its best entrant takes part (at most one ad per
advertiser per page), and its other ads neither win a slot nor set anyone's price. Ties in score go to
the lower ``ad_id``; the tie-break deliberately ignores the bid, so that "the least bid that keeps the
slot" is well defined (a bid-based tie-break would change as the price is lowered towards it).

Price. The winner of slot k pays the least whole bid (in its billing unit) with which it would still be
ranked above the next advertiser's entrant (at k + 1), ties judged by the rule above; never less than
the reserve in its billing unit (the least whole bid whose expected value reaches the reserve, and at
least 1 micro, so nothing is free), never more than its bid. With no competitor below it, it pays the
reserve. Rounding is always up, and checked with the same floating-point products the ranking uses, so
a winner bidding its price keeps its slot and one micro less loses it (or falls under the reserve).

Speed: value and score are computed for every candidate in a few numpy passes; the cut-off for the best
few is estimated from a strided sample and made exact with a partition of what lies above it, widened
to every candidate tied with the cut-off (so the exact order of the few is the order of the whole);
only those are sorted and walked in Python.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

IMPRESSION: Final = 0  # billable event: CPM, charged per impression
CLICK: Final = 1  # billable event: CPC, charged per click

# The quality factor's band: quality can at most halve or double an ad's score.
QUALITY_MIN: Final = 0.5
QUALITY_MAX: Final = 2.0
# How many impressions' worth of the peers' rates a Pin's own organic engagement is shrunk towards.
QUALITY_PRIOR_IMPRESSIONS: Final = 200.0


@dataclass(frozen=True, slots=True)
class Candidates:
    """The eligible ads of one request, as parallel numpy arrays (one entry per ad).

    ``ad_id`` must be unique (it is the tie-break). ``billable`` holds IMPRESSION (0) or CLICK (1);
    ``bid_micro`` is per mille for CPM and per click for CPC; ``pctr`` is the predicted click-through
    rate of this ad for this request, in (0, 1]; ``quality`` is the ad's quality factor (see
    ``quality_factor``), > 0. Build with ``Candidates.of(...)`` to have them checked and converted.
    """

    ad_id: NDArray[np.int64]
    ad_group_id: NDArray[np.int64]
    advertiser_id: NDArray[np.int64]
    billable: NDArray[np.int8]
    bid_micro: NDArray[np.int64]
    pctr: NDArray[np.float64]
    quality: NDArray[np.float64]

    @classmethod
    def of(
        cls,
        *,
        ad_id: ArrayLike,
        ad_group_id: ArrayLike,
        advertiser_id: ArrayLike,
        billable: ArrayLike,
        bid_micro: ArrayLike,
        pctr: ArrayLike,
        quality: ArrayLike,
    ) -> Candidates:
        """Convert to the expected dtypes and check shapes and ranges (ValueError naming the field)."""
        made = cls(
            ad_id=np.ascontiguousarray(ad_id, dtype=np.int64),
            ad_group_id=np.ascontiguousarray(ad_group_id, dtype=np.int64),
            advertiser_id=np.ascontiguousarray(advertiser_id, dtype=np.int64),
            billable=np.ascontiguousarray(billable, dtype=np.int8),
            bid_micro=np.ascontiguousarray(bid_micro, dtype=np.int64),
            pctr=np.ascontiguousarray(pctr, dtype=np.float64),
            quality=np.ascontiguousarray(quality, dtype=np.float64),
        )
        made.check()
        return made

    def __len__(self) -> int:
        return int(self.ad_id.shape[0])

    def check(self) -> None:
        """Raise ValueError naming the first field that is malformed."""
        n = len(self)
        for name in ("ad_id", "ad_group_id", "advertiser_id", "billable", "bid_micro", "pctr", "quality"):
            arr: NDArray[np.generic] = getattr(self, name)
            if arr.ndim != 1 or arr.shape[0] != n:
                raise ValueError(f"{name}: expected a 1-d array of length {n}")
        if n == 0:
            return
        if not np.all((self.billable == IMPRESSION) | (self.billable == CLICK)):
            raise ValueError("billable: each entry must be 0 (impression) or 1 (click)")
        if np.any(self.bid_micro <= 0):
            raise ValueError("bid_micro: bids must be positive")
        if not np.all(np.isfinite(self.pctr) & (self.pctr > 0) & (self.pctr <= 1)):
            raise ValueError("pctr: each entry must be in (0, 1]")
        if not np.all(np.isfinite(self.quality) & (self.quality > 0)):
            raise ValueError("quality: each entry must be a positive finite number")
        if np.unique(self.ad_id).shape[0] != n:
            raise ValueError("ad_id: ids must be unique (they break ties)")


@dataclass(frozen=True, slots=True)
class Win:
    """One slot's winner. ``slot`` is 0 for the best ad slot of the page, 1 for the next, ...

    ``price_micro`` and ``bid_units`` are per billable event (per impression for CPM, per click for CPC);
    ``reserve_micro`` is the reserve in that unit; ``runner_up`` is the index of the entrant that set the
    price (None when the reserve did).
    """

    index: int
    ad_id: int
    ad_group_id: int
    advertiser_id: int
    slot: int
    billable: int
    score: float
    bid_units: int
    price_micro: int
    reserve_micro: int
    runner_up: int | None


def bid_units(bid_micro: int, billable: int) -> int:
    """A bid in its billing unit: per impression (whole micro) for CPM, per click for CPC."""
    return bid_micro // 1000 if billable == IMPRESSION else bid_micro


def reserve_in_billing_unit(reserve_cpm_micro: int, billable: int, pctr: float) -> int:
    """The least whole bid (per billable event) whose expected value per impression reaches the reserve."""
    rate = 1.0 if billable == IMPRESSION else float(pctr)
    return max(1, _least_bid(reserve_cpm_micro / 1000.0, rate, 1.0, strict=False))


def _least_bid(target: float, rate: float, quality: float, *, strict: bool) -> int:
    """The least integer b >= 0 with (b * rate) * quality >= target (> when strict), in float arithmetic."""
    if target <= 0 and not strict:
        return 0
    b = max(0, math.ceil(target / (rate * quality)))
    # The division rounds; step to the exact boundary of the same products the ranking computes.
    while b > 0 and (
        ((b - 1) * rate) * quality > target or (not strict and ((b - 1) * rate) * quality == target)
    ):
        b -= 1
    while (b * rate) * quality < target or (strict and (b * rate) * quality == target):
        b += 1
    return b


def _top_tied(
    score: NDArray[np.float64], entrants: NDArray[np.bool_], n_entrants: int, k: int
) -> NDArray[np.intp]:
    """Indices of every entrant scoring at least the k-th best entrant's score (so ties at the cut-off
    are all in, and nothing outside scores as high as anything inside).

    A full partition of n scores dominates the auction's cost, so the cut is first estimated from a
    strided sample of about sqrt(k n) scores: its k-th best is a lower bound of the true k-th best (the
    sample's scores are real scores), so the scores above it are a superset of the top k, of about
    sqrt(k n) elements, which are then partitioned exactly.
    """
    n = score.shape[0]
    if n_entrants <= k:
        return np.flatnonzero(entrants)
    pool: NDArray[np.intp] | None = None
    sample_size = math.isqrt(k * n)
    if 2 * k <= sample_size < n // 2:
        sample = score[:: n // sample_size]
        m = sample.shape[0]
        estimate = float(np.partition(sample, m - k)[m - k])
        if estimate > -math.inf:
            pool = np.flatnonzero(score >= estimate)
    if pool is None:
        pool = np.flatnonzero(entrants)
    values = score[pool]
    if pool.shape[0] <= k:
        return pool
    cut = np.partition(values, values.shape[0] - k)[values.shape[0] - k]
    tied: NDArray[np.intp] = pool[values >= cut]
    return tied


def run_auction(candidates: Candidates, slots: int, reserve_cpm_micro: int) -> list[Win]:
    """Fill up to ``slots`` ad slots from ``candidates``; best slot first. See the module docstring."""
    if slots < 0:
        raise ValueError("slots: must be >= 0")
    if reserve_cpm_micro < 0:
        raise ValueError("reserve_cpm_micro: must be >= 0")
    n = len(candidates)
    if n == 0 or slots == 0:
        return []
    is_click = candidates.billable == CLICK
    units = np.where(is_click, candidates.bid_micro, candidates.bid_micro // 1000)
    rate = np.where(is_click, candidates.pctr, 1.0)
    value = units * rate
    score = value * candidates.quality
    reserve_per_impression = reserve_cpm_micro / 1000.0
    entrants = value >= reserve_per_impression
    if reserve_cpm_micro == 0:
        entrants &= units >= 1
    score = np.where(entrants, score, -np.inf)
    n_entrants = int(np.count_nonzero(entrants))
    if n_entrants == 0:
        return []

    # The winners and the entrant below the last of them: slots + 1 distinct advertisers.
    wanted = slots + 1
    k = 8 * wanted
    while True:
        top = _top_tied(score, entrants, n_entrants, k)
        order = top[np.lexsort((candidates.ad_id[top], -score[top]))]
        ranked: list[int] = []
        seen: set[int] = set()
        advertisers = candidates.advertiser_id[order].tolist()
        for i, adv in zip(order.tolist(), advertisers, strict=True):
            if adv not in seen:
                seen.add(adv)
                ranked.append(i)
                if len(ranked) == wanted:
                    break
        if len(ranked) == wanted or top.shape[0] >= n_entrants:
            break
        k *= 4

    # Pull the few values needed as Python scalars at once (numpy scalar access is slow one by one).
    at = np.asarray(ranked, dtype=np.intp)
    ids = candidates.ad_id[at].tolist()
    groups = candidates.ad_group_id[at].tolist()
    owners = candidates.advertiser_id[at].tolist()
    bills = candidates.billable[at].tolist()
    own_units = units[at].tolist()
    rates = rate[at].tolist()
    qualities = candidates.quality[at].tolist()
    scores = score[at].tolist()
    wins: list[Win] = []
    for slot in range(min(slots, len(ranked))):
        reserve = max(1, _least_bid(reserve_per_impression, rates[slot], 1.0, strict=False))
        price, runner = reserve, None
        if slot + 1 < len(ranked):
            # Least bid ranking above the runner-up; a tie is kept only if our ad id is the lower.
            competing = _least_bid(
                scores[slot + 1], rates[slot], qualities[slot], strict=ids[slot] > ids[slot + 1]
            )
            if competing > reserve:
                price, runner = competing, ranked[slot + 1]
        wins.append(
            Win(
                index=ranked[slot],
                ad_id=ids[slot],
                ad_group_id=groups[slot],
                advertiser_id=owners[slot],
                slot=slot,
                billable=bills[slot],
                score=scores[slot],
                bid_units=own_units[slot],
                price_micro=min(price, own_units[slot]),
                reserve_micro=reserve,
                runner_up=runner,
            )
        )
    return wins


def quality_factors(
    pctr: ArrayLike,
    peer_pctr: ArrayLike,
    organic_engagements: ArrayLike,
    organic_impressions: ArrayLike,
    peer_engagement_rate: ArrayLike,
) -> NDArray[np.float64]:
    """Quality factor of each ad: how its Pin does with people, relative to its peers, in [0.5, 2].

    Two ratios, each 1.0 for an average ad:

    - relevance = pctr / peer_pctr: the ad's predicted click-through rate for this request against the
      typical pCTR of ads competing on the same placement (e.g. their median);
    - engagement = the Pin's organic engagement rate (saves and close-ups per organic impression),
      shrunk towards the peers' rate by ``QUALITY_PRIOR_IMPRESSIONS`` impressions so a new or rarely
      seen Pin counts as average, divided by the peers' rate.

    quality = sqrt(relevance * engagement), clipped to [QUALITY_MIN, QUALITY_MAX]: the geometric mean
    treats "twice as engaging" and "half as clickable" as cancelling, and the band keeps quality a
    correction, not a substitute for the bid. For CPC ads pCTR is already in the expected value, so
    relevance adds a deliberately mild extra reward for ads people want to click (the platform's
    interest: fewer ignored ads), and it is what lets a relevant CPM ad beat an irrelevant one.
    """
    p = np.asarray(pctr, dtype=np.float64)
    peer_p = np.asarray(peer_pctr, dtype=np.float64)
    eng = np.asarray(organic_engagements, dtype=np.float64)
    imp = np.asarray(organic_impressions, dtype=np.float64)
    peer_rate = np.asarray(peer_engagement_rate, dtype=np.float64)
    for name, arr, lowest in (
        ("pctr", p, 0.0),
        ("peer_pctr", peer_p, 0.0),
        ("peer_engagement_rate", peer_rate, 0.0),
    ):
        if not np.all(np.isfinite(arr) & (arr > lowest)):
            raise ValueError(f"{name}: must be positive and finite")
    if not np.all(np.isfinite(eng) & (eng >= 0)) or not np.all(np.isfinite(imp) & (imp >= 0)):
        raise ValueError("organic_engagements/organic_impressions: must be non-negative counts")
    if np.any(eng > imp):
        raise ValueError("organic_engagements: cannot exceed organic_impressions")
    relevance = p / peer_p
    rate = (eng + QUALITY_PRIOR_IMPRESSIONS * peer_rate) / (imp + QUALITY_PRIOR_IMPRESSIONS)
    engagement = rate / peer_rate
    out: NDArray[np.float64] = np.clip(np.sqrt(relevance * engagement), QUALITY_MIN, QUALITY_MAX)
    return out


def quality_factor(
    pctr: float,
    peer_pctr: float,
    organic_engagements: int,
    organic_impressions: int,
    peer_engagement_rate: float,
) -> float:
    """The quality factor of one ad (see ``quality_factors``)."""
    return float(
        quality_factors(pctr, peer_pctr, organic_engagements, organic_impressions, peer_engagement_rate)
    )

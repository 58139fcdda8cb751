"""The auction: GSP prices worked out by hand, and properties that hold for any candidates."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tastegraph.ads.auction import (
    CLICK,
    IMPRESSION,
    QUALITY_MAX,
    QUALITY_MIN,
    Candidates,
    Win,
    quality_factor,
    quality_factors,
    reserve_in_billing_unit,
    run_auction,
)


def make(rows: list[tuple[int, int, int, int, float, float]]) -> Candidates:
    """rows: (ad_id, advertiser_id, billable, bid_micro, pctr, quality); the ad group id is the ad id."""
    return Candidates.of(
        ad_id=[r[0] for r in rows],
        ad_group_id=[r[0] for r in rows],
        advertiser_id=[r[1] for r in rows],
        billable=[r[2] for r in rows],
        bid_micro=[r[3] for r in rows],
        pctr=[r[4] for r in rows],
        quality=[r[5] for r in rows],
    )


def summary(wins: list[Win]) -> list[tuple[int, int, int]]:
    return [(w.ad_id, w.slot, w.price_micro) for w in wins]


# --- by hand ---------------------------------------------------------------------------------------


def test_gsp_prices_by_hand() -> None:
    cands = make(
        [
            (1, 10, IMPRESSION, 6_000_000, 0.01, 1.0),  # $6 CPM: 6,000 micro per impression
            (2, 20, CLICK, 200_000, 0.02, 1.0),  # $0.20 CPC at 2 %: 4,000 per impression
            (3, 30, IMPRESSION, 3_000_000, 0.01, 1.0),  # 3,000 per impression
        ]
    )
    wins = run_auction(cands, slots=2, reserve_cpm_micro=1_000_000)
    # Ad 1 needs 4,000 per impression to stay above ad 2 (it wins the tie: lower id).
    # Ad 2 needs 3,000 / 0.02 = 150,000 per click to stay above ad 3.
    assert summary(wins) == [(1, 0, 4_000), (2, 1, 150_000)]
    assert wins[0].runner_up == 1 and wins[1].runner_up == 2
    assert wins[1].reserve_micro == 50_000  # $1 CPM at 2 % is $0.05 a click


def test_a_lone_winner_pays_the_reserve_and_ads_under_it_do_not_enter() -> None:
    cands = make(
        [
            (1, 10, IMPRESSION, 5_000_000, 0.01, 1.0),
            (2, 20, IMPRESSION, 1_999_000, 0.01, 2.0),  # scores 3,998 but is worth 1,999 < 2,000
            (3, 30, CLICK, 90_000, 0.02, 1.0),  # 1,800 per impression < 2,000
        ]
    )
    wins = run_auction(cands, slots=3, reserve_cpm_micro=2_000_000)
    assert summary(wins) == [(1, 0, 2_000)]
    assert wins[0].runner_up is None


def test_one_ad_per_advertiser_and_no_competing_with_yourself() -> None:
    cands = make(
        [
            (1, 10, IMPRESSION, 10_000_000, 0.01, 1.0),
            (2, 10, IMPRESSION, 9_000_000, 0.01, 1.0),  # advertiser 10's second ad
            (3, 20, IMPRESSION, 5_000_000, 0.01, 1.0),
        ]
    )
    wins = run_auction(cands, slots=3, reserve_cpm_micro=1_000_000)
    # Ad 1 is priced against advertiser 20, not against its own ad 2; ad 3 pays the reserve.
    assert summary(wins) == [(1, 0, 5_000), (3, 1, 1_000)]


def test_ties_go_to_the_lower_ad_id_and_a_higher_id_must_beat_strictly() -> None:
    tie = make([(7, 20, IMPRESSION, 4_000_000, 0.01, 1.0), (5, 10, IMPRESSION, 4_000_000, 0.01, 1.0)])
    assert summary(run_auction(tie, slots=1, reserve_cpm_micro=0)) == [(5, 0, 4_000)]
    higher_id = make([(9, 10, IMPRESSION, 4_001_000, 0.01, 1.0), (7, 20, IMPRESSION, 4_000_000, 0.01, 1.0)])
    # Bidding 4,000 would tie and lose (id 9 > 7): the least bid that keeps the slot is 4,001.
    assert summary(run_auction(higher_id, slots=2, reserve_cpm_micro=0)) == [(9, 0, 4_001), (7, 1, 1)]


def test_quality_scales_the_score_and_the_price() -> None:
    cands = make([(1, 10, IMPRESSION, 4_000_000, 0.01, 0.5), (2, 20, IMPRESSION, 3_000_000, 0.01, 1.0)])
    wins = run_auction(cands, slots=2, reserve_cpm_micro=500_000)
    # Ad 2 (score 3,000) beats ad 1 (score 2,000) and pays 2,001, as a tie would go to ad 1 (lower id);
    # ad 1 pays the reserve of 500.
    assert summary(wins) == [(2, 0, 2_001), (1, 1, 500)]


def test_cpm_bids_compete_in_whole_micro_per_impression() -> None:
    cands = make([(1, 10, IMPRESSION, 5_000_999, 0.01, 1.0), (2, 20, IMPRESSION, 4_999_000, 0.01, 1.0)])
    wins = run_auction(cands, slots=1, reserve_cpm_micro=0)
    assert wins[0].bid_units == 5_000 and wins[0].price_micro == 4_999


def test_bad_candidates_name_their_field() -> None:
    good = dict(ad_id=[1], ad_group_id=[1], advertiser_id=[1], billable=[0], bid_micro=[1], pctr=[0.1])
    with pytest.raises(ValueError, match="quality"):
        Candidates.of(**good, quality=[0.0])
    with pytest.raises(ValueError, match="pctr"):
        Candidates.of(**{**good, "pctr": [1.5]}, quality=[1.0])
    with pytest.raises(ValueError, match="bid_micro"):
        Candidates.of(**{**good, "bid_micro": [0]}, quality=[1.0])
    with pytest.raises(ValueError, match="billable"):
        Candidates.of(**{**good, "billable": [2]}, quality=[1.0])
    two = {k: v * 2 for k, v in good.items()}
    with pytest.raises(ValueError, match="ad_id"):
        Candidates.of(**two, quality=[1.0, 1.0])
    with pytest.raises(ValueError, match="advertiser_id"):
        Candidates.of(**{**two, "ad_id": [1, 2], "advertiser_id": [1]}, quality=[1.0, 1.0])
    with pytest.raises(ValueError, match="reserve"):
        run_auction(Candidates.of(**good, quality=[1.0]), slots=1, reserve_cpm_micro=-1)


def test_quality_factor_is_average_for_an_average_ad_and_stays_in_its_band() -> None:
    assert quality_factor(0.02, 0.02, 0, 0, 0.05) == pytest.approx(1.0)
    assert quality_factor(0.02, 0.02, 5_000, 50_000, 0.05) > 1.3  # twice the peers' engagement
    assert quality_factor(0.001, 0.05, 0, 100_000, 0.05) == QUALITY_MIN
    assert quality_factor(1.0, 0.001, 90_000, 100_000, 0.01) == QUALITY_MAX
    # Few impressions: shrunk towards average (1 save in 2 impressions is not a 50 % rate).
    assert quality_factor(0.02, 0.02, 1, 2, 0.05) < 1.05
    with pytest.raises(ValueError, match="organic_engagements"):
        quality_factors([0.02], [0.02], [3], [2], [0.05])


# --- properties ------------------------------------------------------------------------------------


@st.composite
def auctions(draw: st.DrawFn, max_n: int = 40) -> tuple[Candidates, int, int]:
    n = draw(st.integers(1, max_n))
    # Small pools of values make ties in score common.
    bids = st.one_of(st.sampled_from([1_000, 2_000, 50_000, 2_000_000, 4_000_000]), st.integers(1, 10**7))
    pctrs = st.one_of(st.sampled_from([0.5, 0.25, 0.02, 0.01]), st.floats(0.0005, 1.0))
    quals = st.one_of(st.sampled_from([0.5, 1.0, 2.0]), st.floats(0.5, 2.0))
    ids = draw(st.lists(st.integers(0, 10**6), min_size=n, max_size=n, unique=True))
    cands = Candidates.of(
        ad_id=ids,
        ad_group_id=[i // 2 for i in ids],
        advertiser_id=draw(st.lists(st.integers(0, 6), min_size=n, max_size=n)),
        billable=draw(st.lists(st.sampled_from([IMPRESSION, CLICK]), min_size=n, max_size=n)),
        bid_micro=draw(st.lists(bids, min_size=n, max_size=n)),
        pctr=draw(st.lists(pctrs, min_size=n, max_size=n)),
        quality=draw(st.lists(quals, min_size=n, max_size=n)),
    )
    return cands, draw(st.integers(1, 4)), draw(st.sampled_from([0, 1_000, 500_000, 2_000_000]))


def _units(c: Candidates, i: int) -> int:
    return int(c.bid_micro[i]) // 1000 if int(c.billable[i]) == IMPRESSION else int(c.bid_micro[i])


def _rate(c: Candidates, i: int) -> float:
    return float(c.pctr[i]) if int(c.billable[i]) == CLICK else 1.0


def _with_bid(c: Candidates, i: int, units: int, drop: np.ndarray) -> tuple[Candidates, int]:
    """c without the rows in `drop`, candidate i bidding `units` in its billing unit; i's new index."""
    bids = c.bid_micro.copy()
    bids[i] = units * 1000 if int(c.billable[i]) == IMPRESSION else units
    keep = ~drop
    out = replace(c, bid_micro=bids)
    out = Candidates(*(getattr(out, f)[keep] for f in Candidates.__slots__))
    return out, int(np.count_nonzero(keep[:i]))


def _oracle(c: Candidates, slots: int, reserve: int) -> list[int]:
    """Winners' ad ids by brute force: sort every entrant, keep each advertiser's best."""
    entrants = [
        i for i in range(len(c)) if _units(c, i) >= 1 and _units(c, i) * _rate(c, i) >= reserve / 1000
    ]
    key = {i: (-((_units(c, i) * _rate(c, i)) * float(c.quality[i])), int(c.ad_id[i])) for i in entrants}
    seen: set[int] = set()
    out: list[int] = []
    for i in sorted(entrants, key=key.__getitem__):
        if int(c.advertiser_id[i]) not in seen:
            seen.add(int(c.advertiser_id[i]))
            out.append(int(c.ad_id[i]))
    return out[:slots]


@settings(max_examples=300, deadline=None)
@given(auctions())
def test_prices_respect_bid_reserve_and_the_slot(case: tuple[Candidates, int, int]) -> None:
    cands, slots, reserve = case
    wins = run_auction(cands, slots, reserve)
    assert [w.ad_id for w in wins] == _oracle(cands, slots, reserve)
    assert [w.slot for w in wins] == list(range(len(wins)))
    assert len({w.advertiser_id for w in wins}) == len(wins)
    for w in wins:
        i = w.index
        units, rate = _units(cands, i), _rate(cands, i)
        assert units * rate >= reserve / 1000  # nobody under the reserve wins
        assert 1 <= w.price_micro <= units
        assert w.price_micro * rate >= reserve / 1000  # the price reaches the reserve
        assert w.reserve_micro == reserve_in_billing_unit(reserve, w.billable, float(cands.pctr[i]))
        siblings = (cands.advertiser_id == w.advertiser_id) & (np.arange(len(cands)) != i)
        at_price, j = _with_bid(cands, i, w.price_micro, siblings)
        kept = [x for x in run_auction(at_price, slots, reserve) if x.index == j]
        assert kept and kept[0].slot == w.slot, "bidding its price, the winner keeps its slot"
        if w.price_micro > 1:
            below, j = _with_bid(cands, i, w.price_micro - 1, siblings)
            lost = [x for x in run_auction(below, slots, reserve) if x.index == j]
            assert not lost or lost[0].slot > w.slot, "one micro less loses the slot"


@settings(max_examples=150, deadline=None)
@given(auctions(), st.integers(0, 2**32 - 1))
def test_shuffling_the_candidates_changes_nothing(case: tuple[Candidates, int, int], seed: int) -> None:
    cands, slots, reserve = case
    perm = np.random.default_rng(seed).permutation(len(cands))
    shuffled = Candidates(*(getattr(cands, f)[perm] for f in Candidates.__slots__))
    a = [(w.ad_id, w.slot, w.price_micro, w.score) for w in run_auction(cands, slots, reserve)]
    b = [(w.ad_id, w.slot, w.price_micro, w.score) for w in run_auction(shuffled, slots, reserve)]
    assert a == b


@pytest.mark.parametrize("seed", range(6))
def test_large_auctions_match_brute_force_even_with_many_ties(seed: int) -> None:
    """Big enough for the sampled cut-off; scores from a handful of values so ties straddle it."""
    rng = np.random.default_rng(seed)
    n = 20_000
    few_values = seed % 2 == 0
    cands = Candidates.of(
        ad_id=rng.permutation(n) * 3 + 1,
        ad_group_id=np.arange(n),
        advertiser_id=rng.integers(0, 3 if seed == 4 else 5_000, n),
        billable=rng.integers(0, 2, n),
        bid_micro=rng.choice([2_000_000, 3_000_000, 60_000], n) if few_values else rng.integers(1, 10**7, n),
        pctr=rng.choice([0.05, 0.02], n) if few_values else rng.uniform(0.001, 0.1, n),
        quality=np.ones(n) if few_values else rng.uniform(0.5, 2.0, n),
    )
    reserve = [0, 1_000_000][seed % 3 == 2]
    for slots in (1, 3, 6):
        wins = run_auction(cands, slots, reserve)
        assert [w.ad_id for w in wins] == _oracle(cands, slots, reserve)
        perm = rng.permutation(n)
        shuffled = Candidates(*(getattr(cands, f)[perm] for f in Candidates.__slots__))
        assert summary(run_auction(shuffled, slots, reserve)) == summary(wins)

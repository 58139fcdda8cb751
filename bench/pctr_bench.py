"""Predicted click-through rate (ads.ctr) on real logs: MIND (news impressions) and the Open Bandit sample.

MIND (`../shared/data/mind`, 5,000 impression logs, 9-14 Nov 2019). Each shown item becomes one
`CtrFeatures` row, mapped onto the ad features like this:

* ad = the news id (an ad is one creative; a news article is one item shown many times);
* advertiser = the article's category from news.tsv, or "unknown" (news.tsv has 2,000 articles: about
  3 % of the shown items have a category);
* topic = the article's subcategory, or None;
* affinity = the share of the person's click history (items with a known category) in the article's
  category; None when the article's category or all of the history's are unknown;
* position = the item's index in its impression list; placement = "browse" for all.

Train on 9-13 Nov, test on 14 Nov. `ads.ctr.fit` chooses the L2 strength and fits the calibration on
the latest 20 % of the training rows (by time) and then refits on all of them; the per-item baseline's
smoothing is chosen on the same split. On the test day: AUC, log-loss and expected calibration error
(10 equal-count bins of the prediction) for the model, a constant (the training CTR) and a per-item
baseline ((clicks + m * CTR) / (impressions + m) from training), each with a bootstrap 95 % interval
that resamples whole impression logs (the items of one page are not independent), and the paired
difference model - baseline on the same resamples. A reliability table and an SVG chart
(docs/pctr_reliability.svg) show calibration bin by bin.

Open Bandit (`../shared/data/obd/{random,bts}/all.csv`, 10,000 rows and about 40 clicks per policy): each
policy's CTR with its interval, and one model-against-baseline comparison to show in numbers why no
ranking of click models can be read from it.

    .venv/bin/python bench/pctr_bench.py               # full run; writes the docs section "pctr"
    .venv/bin/python bench/pctr_bench.py --small       # smoke test: a tenth of the logs, docs untouched

Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import csv
import math
import subprocess
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):
    sys.path.insert(0, str(REPO / "src"))  # the code next to this script (a snapshot, if set, still wins)
    sys.path.insert(0, str(REPO))

from bench.common import machine_info, machine_line, md_table, print_json_line, replace_doc_section  # noqa: E402
from tastegraph.ads import ctr  # noqa: E402
from tastegraph.ads.ctr import CtrFeatures, FitParams  # noqa: E402


def find_data() -> Path:
    """../shared/data beside the repository (or beside the folder of worktrees, or the working directory)."""
    places = [base / "shared" / "data" for base in (REPO.parent, REPO.parent.parent, Path.cwd().parent)]
    return next((p for p in places if (p / "mind" / "behaviors.tsv").exists()), places[0])


DATA = find_data()
TEST_DAY = "2019-11-14"
SVG = REPO / "docs" / "pctr_reliability.svg"
EPS = 1e-6

# --- MIND -------------------------------------------------------------------------------------------


@dataclass
class Logs:
    rows: list[CtrFeatures]
    labels: np.ndarray  # 0/1
    times: np.ndarray  # Unix seconds of the impression log
    impression: np.ndarray  # which impression log a row belongs to (the bootstrap's unit)
    day: np.ndarray  # "YYYY-MM-DD"
    logs: int


def _mind_time(text: str) -> datetime:
    return datetime.strptime(text, "%m/%d/%Y %I:%M:%S %p").replace(tzinfo=UTC)  # MIND's times: UTC


def load_mind(folder: Path, small: bool) -> Logs:
    categories: dict[str, tuple[str, str]] = {}
    with (folder / "news.tsv").open(encoding="utf-8") as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            categories[cols[0]] = (cols[1], cols[2])
    rows: list[CtrFeatures] = []
    labels: list[int] = []
    times: list[float] = []
    impression: list[int] = []
    days: list[str] = []
    logs = 0
    with (folder / "behaviors.tsv").open(encoding="utf-8") as f:
        for line in f:
            imp_id, _user, when, history, shown = line.rstrip("\n").split("\t")
            if small and zlib.crc32(imp_id.encode()) % 10:  # a fixed tenth of the logs
                continue
            t = _mind_time(when)
            known = Counter(categories[h][0] for h in history.split() if h in categories)
            n_known = sum(known.values())
            for pos, item in enumerate(shown.split()):
                news_id, clicked = item.rsplit("-", 1)
                cat, sub = categories.get(news_id, (None, None))
                affinity = known[cat] / n_known if cat is not None and n_known else None
                rows.append(
                    CtrFeatures(
                        ad_id=news_id,
                        advertiser_id=cat or "unknown",
                        topic=sub,
                        placement="browse",
                        affinity=affinity,
                        position=pos,
                    )
                )
                labels.append(int(clicked))
                times.append(t.timestamp())
                impression.append(logs)
                days.append(t.date().isoformat())
            logs += 1
    return Logs(
        rows,
        np.asarray(labels, dtype=np.int64),
        np.asarray(times),
        np.asarray(impression, dtype=np.int64),
        np.asarray(days),
        logs,
    )


# --- baselines --------------------------------------------------------------------------------------


def per_item_rates(items: Sequence[str], y: np.ndarray, m: float) -> tuple[dict[str, float], float]:
    """Smoothed CTR per item: (clicks + m * overall) / (impressions + m), and the overall CTR."""
    p0 = float(y.mean())
    shown: Counter[str] = Counter(items)
    clicked: Counter[str] = Counter(i for i, c in zip(items, y, strict=True) if c)
    return {i: (clicked[i] + m * p0) / (n + m) for i, n in shown.items()}, p0


def per_item_predict(rates: dict[str, float], p0: float, items: Sequence[str]) -> np.ndarray:
    return np.asarray([rates.get(i, p0) for i in items])


def tune_smoothing(items: Sequence[str], y: np.ndarray, times: np.ndarray, fraction: float) -> float:
    """The pseudo-count m with the lowest log-loss on the latest `fraction` of the rows (the split
    ads.ctr.fit uses)."""
    order = np.argsort(times, kind="stable")
    cut = len(order) - max(1, round(len(order) * fraction))
    tr, va = np.sort(order[:cut]), np.sort(order[cut:])
    best: tuple[float, float] | None = None
    for m in (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0):
        rates, p0 = per_item_rates([items[i] for i in tr], y[tr], m)
        loss = log_loss(y[va], per_item_predict(rates, p0, [items[i] for i in va]))
        if best is None or loss < best[0]:
            best = (loss, m)
    assert best is not None
    return best[1]


# --- metrics ----------------------------------------------------------------------------------------


def log_loss(y: np.ndarray, p: np.ndarray, w: np.ndarray | None = None) -> float:
    q = np.clip(p, EPS, 1 - EPS)
    ll = -(y * np.log(q) + (1 - y) * np.log(1 - q))
    return float(np.average(ll, weights=w))


def auc(y: np.ndarray, p: np.ndarray, w: np.ndarray | None = None) -> float:
    """Weighted ROC AUC with ties counted half (a constant scores 0.5)."""
    order = np.argsort(p, kind="stable")
    ps, ys = p[order], y[order]
    ws = np.ones(len(p)) if w is None else w[order]
    pos, neg = ws * ys, ws * (1 - ys)
    # group tied scores: a positive beats every negative below its score and ties with those at it
    starts = np.flatnonzero(np.r_[True, ps[1:] != ps[:-1]])
    pos_g, neg_g = np.add.reduceat(pos, starts), np.add.reduceat(neg, starts)
    neg_below = np.cumsum(neg_g) - neg_g
    total = pos_g.sum() * neg_g.sum()
    return float((pos_g * (neg_below + 0.5 * neg_g)).sum() / total) if total > 0 else float("nan")


def bins_of(p: np.ndarray, n_bins: int = 10) -> np.ndarray:
    """Equal-count bins of the prediction (ties stay together); CTRs cluster near 0, so equal-width
    bins over [0, 1] would put nearly everything in the first."""
    edges = np.unique(np.quantile(p, np.linspace(0, 1, n_bins + 1)[1:-1]))
    return np.searchsorted(edges, p, side="right")


def ece(y: np.ndarray, p: np.ndarray, bins: np.ndarray, w: np.ndarray | None = None) -> float:
    ww = np.ones(len(p)) if w is None else w
    gap = np.bincount(bins, weights=ww * (p - y))
    return float(np.abs(gap).sum() / ww.sum())


METRICS: dict[str, Callable[..., float]] = {
    "auc": lambda y, p, b, w: auc(y, p, w),
    "log_loss": lambda y, p, b, w: log_loss(y, p, w),
    "ece": lambda y, p, b, w: ece(y, p, b, w),
}


def bootstrap(
    y: np.ndarray,
    preds: dict[str, np.ndarray],
    cluster: np.ndarray,
    resamples: int,
    seed: int = 7,
    compare_to: str = "model",
) -> dict[str, Any]:
    """Point values and 95 % percentile intervals of every metric for every prediction, and of the paired
    differences `compare_to` - other, resampling clusters (impression logs) with replacement."""
    rng = np.random.default_rng(seed)
    _, cl = np.unique(cluster, return_inverse=True)
    n_cl = int(cl.max()) + 1
    bins = {name: bins_of(p) for name, p in preds.items()}
    point = {name: {m: f(y, p, bins[name], None) for m, f in METRICS.items()} for name, p in preds.items()}
    draws: dict[str, dict[str, list[float]]] = {name: {m: [] for m in METRICS} for name in preds}
    for _ in range(resamples):
        w = np.bincount(rng.integers(0, n_cl, n_cl), minlength=n_cl)[cl].astype(np.float64)
        for name, p in preds.items():
            for m, f in METRICS.items():
                draws[name][m].append(f(y, p, bins[name], w))

    def ci(values: Sequence[float]) -> list[float]:
        a = np.asarray(values)
        a = a[~np.isnan(a)]
        return [float(np.percentile(a, 2.5)), float(np.percentile(a, 97.5))] if len(a) else [math.nan] * 2

    out: dict[str, Any] = {
        name: {m: {"value": point[name][m], "ci": ci(draws[name][m])} for m in METRICS} for name in preds
    }
    out["differences"] = {
        f"{compare_to} - {name}": {
            m: {
                "value": point[compare_to][m] - point[name][m],
                "ci": ci(np.subtract(draws[compare_to][m], draws[name][m]).tolist()),
            }
            for m in METRICS
        }
        for name in preds
        if name != compare_to
    }
    return out


def reliability(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> list[dict[str, float]]:
    bins = bins_of(p, n_bins)
    return [
        {
            "rows": int((bins == b).sum()),
            "predicted": float(p[bins == b].mean()),
            "observed": float(y[bins == b].mean()),
            "clicks": int(y[bins == b].sum()),
        }
        for b in np.unique(bins)
    ]


# --- the runs ---------------------------------------------------------------------------------------


def run_mind(folder: Path, small: bool, resamples: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    logs = load_mind(folder, small)
    test = logs.day == TEST_DAY
    tr, te = np.flatnonzero(~test), np.flatnonzero(test)
    rows_tr, rows_te = [logs.rows[i] for i in tr], [logs.rows[i] for i in te]
    y_tr, y_te = logs.labels[tr], logs.labels[te].astype(np.float64)
    loaded_s = time.perf_counter() - t0

    params = FitParams(n_bits=18 if small else 20, c_grid=(0.1, 1.0) if small else FitParams().c_grid)
    t0 = time.perf_counter()
    model = ctr.fit(rows_tr, y_tr, times=logs.times[tr], params=params)
    fit_s = time.perf_counter() - t0
    # Isotonic with the same C, for information only: the choice of Platt was made before looking.
    iso = ctr.fit(
        rows_tr,
        y_tr,
        times=logs.times[tr],
        params=FitParams(n_bits=params.n_bits, c_grid=(float(model.meta["c"]),), calibration="isotonic"),
    )

    items_tr = [str(r.ad_id) for r in rows_tr]
    items_te = [str(r.ad_id) for r in rows_te]
    m = tune_smoothing(items_tr, y_tr.astype(np.float64), logs.times[tr], params.validation_fraction)
    rates, p0 = per_item_rates(items_tr, y_tr.astype(np.float64), m)
    preds = {
        "model": model.predict(rows_te),
        "constant": np.full(len(te), p0),
        "per-item": per_item_predict(rates, p0, items_te),
        "model, isotonic": iso.predict(rows_te),
        "model, uncalibrated": 1.0 / (1.0 + np.exp(-model.logits(rows_te))),
    }
    t0 = time.perf_counter()
    stats = bootstrap(y_te, preds, logs.impression[te], resamples)
    boot_s = time.perf_counter() - t0

    # Serving speed: predict() on batches of 100 test rows (the auction's candidates for one page).
    batch = rows_te[:100]
    model.predict(batch)
    timings = []
    for _ in range(20):
        t1 = time.perf_counter()
        for _ in range(20):
            model.predict(batch)
        timings.append((time.perf_counter() - t1) / 20)
    seen = {str(r.ad_id) for r in rows_tr}
    return {
        "logs": logs.logs,
        "train": {"rows": len(tr), "clicks": int(y_tr.sum()), "days": sorted(set(logs.day[tr].tolist()))},
        "test": {
            "rows": len(te),
            "clicks": int(y_te.sum()),
            "logs": len(np.unique(logs.impression[te])),
            "seen_items_share": float(np.mean([i in seen for i in items_te])),
            "with_category_share": float(np.mean([r.topic is not None for r in rows_te])),
            "with_affinity_share": float(np.mean([r.affinity is not None for r in rows_te])),
        },
        "model_meta": model.meta,
        "per_item_smoothing": m,
        "train_ctr": p0,
        "stats": stats,
        "reliability": {name: reliability(y_te, preds[name]) for name in ("model", "per-item")},
        "predict_us_per_100_rows": float(np.median(timings) * 1e6),
        "seconds": {"load": loaded_s, "fit": fit_s, "bootstrap": boot_s},
        "resamples": resamples,
    }


def _wilson(clicks: int, n: int) -> list[float]:
    z = 1.959964
    p = clicks / n
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    mid = (p + z * z / (2 * n)) / (1 + z * z / n)
    return [mid - half, mid + half]


def run_obd(folder: Path, small: bool, resamples: int) -> dict[str, Any]:
    out: dict[str, Any] = {"policies": {}}
    for policy in ("random", "bts"):
        with (folder / policy / "all.csv").open(newline="") as f:
            table = list(csv.DictReader(f))
        items = {r["item_id"]: r for r in csv.DictReader((folder / policy / "item_context.csv").open())}
        rows = [
            CtrFeatures(
                ad_id=r["item_id"],
                advertiser_id=items[r["item_id"]]["item_feature_2"][:8],
                topic=items[r["item_id"]]["item_feature_1"][:8],
                placement="browse",
                affinity=min(1.0, max(0.0, float(r[f"user-item_affinity_{r['item_id']}"]))),
                position=int(r["position"]) - 1,
            )
            for r in table
        ]
        y = np.asarray([int(r["click"]) for r in table], dtype=np.float64)
        clicks = int(y.sum())
        entry: dict[str, Any] = {
            "rows": len(y),
            "clicks": clicks,
            "ctr": clicks / len(y),
            "ctr_ci": _wilson(clicks, len(y)),
            "clicks_by_position": {
                str(p): int(y[[r.position == p - 1 for r in rows]].sum()) for p in (1, 2, 3)
            },
        }
        if policy == "random":
            # The one comparison: train on the first 70 % (by time), test on the rest.
            cut = int(len(rows) * 0.7)
            times = np.asarray([datetime.fromisoformat(r["timestamp"]).timestamp() for r in table])
            order = np.argsort(times, kind="stable")
            tr, te = np.sort(order[:cut]), np.sort(order[cut:])
            model = ctr.fit(
                [rows[i] for i in tr], y[tr], times=times[tr], params=FitParams(n_bits=16, c_grid=(0.1, 1.0))
            )
            items_tr = [str(rows[i].ad_id) for i in tr]
            rates, p0 = per_item_rates(items_tr, y[tr], 100.0)
            preds = {
                "model": model.predict([rows[i] for i in te]),
                "constant": np.full(len(te), p0),
                "per-item": per_item_predict(rates, p0, [str(rows[i].ad_id) for i in te]),
            }
            entry["comparison"] = {
                "train": {"rows": len(tr), "clicks": int(y[tr].sum())},
                "test": {"rows": len(te), "clicks": int(y[te].sum())},
                "stats": bootstrap(y[te], preds, te, resamples),
            }
        out["policies"][policy] = entry
    r, b = out["policies"]["random"], out["policies"]["bts"]
    diff = b["ctr"] - r["ctr"]
    se = math.sqrt(r["ctr"] * (1 - r["ctr"]) / r["rows"] + b["ctr"] * (1 - b["ctr"]) / b["rows"])
    out["bts_minus_random"] = {"value": diff, "ci": [diff - 1.96 * se, diff + 1.96 * se]}
    return out


# --- the report -------------------------------------------------------------------------------------


def _ci(entry: dict[str, Any], digits: int) -> str:
    lo, hi = entry["ci"]
    return f"{entry['value']:.{digits}f} ({lo:.{digits}f} to {hi:.{digits}f})"


def _svg(rel: dict[str, list[dict[str, float]]], path: Path) -> None:
    """A reliability chart: observed against predicted CTR per bin, both axes 0 to the largest value."""
    size, pad = 360, 50
    top = max(max(b["predicted"], b["observed"]) for bins in rel.values() for b in bins) * 1.1
    top = math.ceil(top * 50) / 50

    def xy(px: float, py: float) -> tuple[float, float]:
        return pad + px / top * size, pad + size - py / top * size

    colours = {"model": "#1f6feb", "per-item": "#d1242f"}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size + 2 * pad}" height="{size + 2 * pad}" '
        f'font-family="sans-serif" font-size="12">',
        f'<rect x="{pad}" y="{pad}" width="{size}" height="{size}" fill="none" stroke="#888"/>',
        '<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="#bbb" stroke-dasharray="4"/>'.format(
            *xy(0, 0), *xy(top, top)
        ),
        f'<text x="{pad + size / 2}" y="{size + pad + 35}" text-anchor="middle">'
        "predicted CTR (bin mean)</text>",
        f'<text x="15" y="{pad + size / 2}" text-anchor="middle" '
        f'transform="rotate(-90 15 {pad + size / 2})">observed CTR</text>',
        f'<text x="{pad + size / 2}" y="25" text-anchor="middle">'
        "MIND, 14 Nov 2019: calibration by decile</text>",
    ]
    for k in range(5):
        v = top * k / 4
        x, y = xy(v, 0)
        parts.append(f'<text x="{x:.1f}" y="{y + 16:.1f}" text-anchor="middle">{v:.3f}</text>')
        x, y = xy(0, v)
        parts.append(f'<text x="{x - 6:.1f}" y="{y + 4:.1f}" text-anchor="end">{v:.3f}</text>')
    for i, (name, bins) in enumerate(rel.items()):
        pts = [xy(b["predicted"], b["observed"]) for b in bins]
        path_d = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        parts.append(f'<polyline points="{path_d}" fill="none" stroke="{colours[name]}" stroke-width="1.5"/>')
        parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colours[name]}"/>' for x, y in pts]
        parts.append(f'<text x="{pad + 10}" y="{pad + 18 + 16 * i}" fill="{colours[name]}">{name}</text>')
    parts.append("</svg>")
    path.write_text("\n".join(parts) + "\n")


def report(mind: dict[str, Any], obd: dict[str, Any], load: str, info: dict[str, str], command: str) -> str:
    s = mind["stats"]
    names = ("model", "constant", "per-item", "model, isotonic", "model, uncalibrated")
    table = md_table(
        ["predictor", "AUC (95 % CI)", "log-loss (95 % CI)", "ECE (95 % CI)"],
        [
            [
                f"**{n}**" if n == "model" else n,
                _ci(s[n]["auc"], 4),
                _ci(s[n]["log_loss"], 4),
                _ci(s[n]["ece"], 4),
            ]
            for n in names
        ],
    )
    diffs = md_table(
        ["paired difference", "AUC", "log-loss", "ECE"],
        [
            [k, _ci(v["auc"], 4), _ci(v["log_loss"], 4), _ci(v["ece"], 4)]
            for k, v in s["differences"].items()
            if k in ("model - constant", "model - per-item")
        ],
    )
    rel_rows = []
    for a, b in zip(mind["reliability"]["model"], mind["reliability"]["per-item"], strict=False):
        rel_rows.append(
            [
                f"{a['rows']:,}",
                f"{a['predicted']:.4f}",
                f"{a['observed']:.4f}",
                f"{b['rows']:,}",
                f"{b['predicted']:.4f}",
                f"{b['observed']:.4f}",
            ]
        )
    rel = md_table(
        ["model: rows", "predicted", "observed", "per-item: rows", "predicted", "observed"], rel_rows
    )
    meta = mind["model_meta"]
    by_c = ", ".join(f"{k}: {v:.4f}" for k, v in meta["validation_log_loss_by_c"].items())
    tr, te = mind["train"], mind["test"]
    obd_rows = []
    for name, p in obd["policies"].items():
        lo, hi = p["ctr_ci"]
        obd_rows.append(
            [
                name,
                f"{p['rows']:,}",
                p["clicks"],
                f"{p['ctr']:.4f} ({lo:.4f} to {hi:.4f})",
                " / ".join(str(v) for v in p["clicks_by_position"].values()),
            ]
        )
    bd = obd["bts_minus_random"]
    cmp_ = obd["policies"]["random"]["comparison"]
    cs = cmp_["stats"]
    obd_cmp = md_table(
        ["predictor (random policy, last 30 % by time)", "AUC (95 % CI)", "log-loss (95 % CI)"],
        [[n, _ci(cs[n]["auc"], 3), _ci(cs[n]["log_loss"], 4)] for n in ("model", "constant", "per-item")]
        + [[k, _ci(v["auc"], 3), _ci(v["log_loss"], 4)] for k, v in cs["differences"].items()],
    )
    return f"""### Predicted click-through rate (pCTR)

- Date: {info["date"]}; code at {info["commit"]}
- {machine_line(info)}
- Load (`uptime` before the run): {load}
- Command: `{command}` ({mind["resamples"]} bootstrap resamples; fit {mind["seconds"]["fit"]:.0f} s,
  bootstrap {mind["seconds"]["bootstrap"]:.0f} s)

#### MIND: train 9-13 Nov 2019, test 14 Nov

{mind["logs"]:,} impression logs. Training: {tr["rows"]:,} shown items, {tr["clicks"]:,} clicks. Test day:
{te["rows"]:,} shown items in {te["logs"]:,} logs, {te["clicks"]:,} clicks; {te["seen_items_share"]:.1%} of
the test day's items were shown in training, {te["with_category_share"]:.1%} have a category in news.tsv and
{te["with_affinity_share"]:.1%} an affinity. Mapping (see the script's docstring): ad = news id,
advertiser = category or "unknown", topic = subcategory, affinity = share of the person's known-category
history in the item's category, position = index in the impression list, placement "browse".

The model: `ads.ctr.fit`, 2^{meta["n_bits"]} hashed weights, L2 strength chosen on the latest 20 % of the
training rows (C = {meta["c"]:g}; validation log-loss by C: {by_c}),
Platt calibration fitted there, then refitted on all training rows. Constant: the training CTR
({mind["train_ctr"]:.4f}). Per-item: smoothed training CTR of the item, (clicks + m x CTR) / (shown + m),
m = {mind["per_item_smoothing"]:g} chosen on the same split; unseen items get the training CTR. The isotonic
and uncalibrated rows are for information (Platt was chosen before the test day was looked at).
Intervals: percentile bootstrap over the test day's impression logs.

{table}

{diffs}

Lower is better for log-loss and ECE (expected calibration error over 10 equal-count bins of each
predictor's own predictions; the constant's single bin measures only the shift of the base rate).
Reliability of the model and the per-item baseline on the test day (chart: `docs/pctr_reliability.svg`):

{rel}

Serving: `CtrModel.predict` on a batch of 100 test rows takes **{mind["predict_us_per_100_rows"]:.0f} µs**
(median of 20 x 20 calls, numpy only, at the load above).

#### Open Bandit sample: only what about 40 clicks per policy support

{md_table(["policy", "rows", "clicks", "CTR (95 % Wilson CI)", "clicks at positions 1 / 2 / 3"], obd_rows)}

BTS minus random CTR: {bd["value"]:+.4f} (95 % CI {bd["ci"][0]:+.4f} to {bd["ci"][1]:+.4f}): the two
policies cannot be told apart. A click model cannot be ranked either: trained on the random policy's first
70 % ({cmp_["train"]["clicks"]} clicks) and tested on the rest ({cmp_["test"]["clicks"]} clicks):

{obd_cmp}

With about a dozen test clicks, the AUC intervals span tenths and every difference's interval contains 0:
these numbers say nothing about which predictor is better, and no model choice was made from them.
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--small", action="store_true", help="a tenth of the MIND logs, 50 resamples, no docs"
    )
    parser.add_argument("--resamples", type=int, default=None)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args(argv)
    resamples = args.resamples or (50 if args.small else 500)
    load = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    started = time.perf_counter()
    mind = run_mind(args.data / "mind", args.small, resamples)
    obd = run_obd(args.data / "obd", args.small, resamples)
    command = ".venv/bin/python bench/pctr_bench.py" + (" --small" if args.small else "")
    if args.resamples:
        command += f" --resamples {args.resamples}"
    if not (args.small or args.no_docs):
        info = machine_info()
        replace_doc_section("pctr", report(mind, obd, load, info, command))
        _svg(mind["reliability"], SVG)
    s = mind["stats"]
    print_json_line(
        {
            "small": args.small,
            "load": load,
            "seconds": time.perf_counter() - started,
            "mind": {
                "train_rows": mind["train"]["rows"],
                "test_rows": mind["test"]["rows"],
                "test_clicks": mind["test"]["clicks"],
                "c": mind["model_meta"]["c"],
                "per_item_smoothing": mind["per_item_smoothing"],
                **{f"{n}_{m}": s[n][m]["value"] for n in ("model", "constant", "per-item") for m in METRICS},
                **{
                    f"{k}_{m}_ci": v[m]["ci"]
                    for k, v in s["differences"].items()
                    if k in ("model - constant", "model - per-item")
                    for m in METRICS
                },
                "predict_us_per_100_rows": mind["predict_us_per_100_rows"],
            },
            "obd": {
                p: {"rows": v["rows"], "clicks": v["clicks"], "ctr": v["ctr"], "ctr_ci": v["ctr_ci"]}
                for p, v in obd["policies"].items()
            },
        }
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

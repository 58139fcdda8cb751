"""People with similar interests on Last.fm: Recall@20 of held-out friend links.

20% of each user's friend links are held out (seed 0). The blend's weight is chosen on a validation
split carved from the remaining links (another 20%, seed 1); the held-out test links are used once.

    .venv/bin/python bench/people_lastfm.py [--data ../shared/data/lastfm] [--no-docs]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import machine_info, machine_line, md_table, print_json_line, replace_doc_section
from tastegraph.recommend.offline.people import (
    adamic_adar,
    blend,
    friend_recall,
    hold_out_links,
    listening_similarity,
    load_lastfm,
    popular_people,
)

WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=Path("../shared/data/lastfm"))
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    data = load_lastfm(args.data)
    known, held = hold_out_links(data.friends, 0.2, seed=0)
    val_known, val_held = hold_out_links(known, 0.2, seed=1)

    listen = listening_similarity(data.listening)
    val_scores = {
        w: friend_recall(blend([(w, listen), (1.0, adamic_adar(val_known))]), val_known, val_held)
        for w in WEIGHTS
    }
    chosen = max(WEIGHTS, key=lambda w: (val_scores[w], -w))

    results = {
        "most-popular people": friend_recall(popular_people(known), known, held),
        "listening similarity (tf-idf cosine)": friend_recall(listen, known, held),
        "friends in common (Adamic-Adar)": friend_recall(adamic_adar(known), known, held),
        f"blend: {chosen} x listening + 1 x Adamic-Adar": friend_recall(
            blend([(chosen, listen), (1.0, adamic_adar(known))]), known, held
        ),
    }
    elapsed = time.perf_counter() - started
    users = int((held.getnnz(axis=1) > 0).sum())
    summary = {
        "users": data.friends.shape[0],
        "links": data.friends.nnz // 2,
        "held_out_links": held.nnz // 2,
        "evaluated_users": users,
        "validation_recall_by_weight": val_scores,
        "chosen_weight": chosen,
        "recall_at_20": results,
        "seconds": round(elapsed, 1),
    }
    if not args.no_docs:
        rows = [(name, f"{value:.4f}") for name, value in results.items()]
        base = results["most-popular people"]
        best = max(results.values())
        body = f"""## People with similar interests (Last.fm friends)

- Date: {datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
- Machine: {machine_line(machine_info())}
- Command: `.venv/bin/python bench/people_lastfm.py`
- Data: HetRec 2011 Last.fm, {summary["users"]:,} users, {summary["links"]:,} friend links;
  {summary["held_out_links"]:,} links held out (20% of each user's, seed 0, removed on both sides),
  Recall@20 over the {users:,} users who lost a link, never recommending themselves or a remaining friend.
- The blend weight was chosen on a validation split of the remaining links (20%, seed 1):
  {", ".join(f"{w}: {r:.4f}" for w, r in val_scores.items())} → {chosen}.

{md_table(("method", "Recall@20"), rows)}

The best method finds {best / base:.1f}x as many held-out friends as recommending the most-connected people.
Run time {elapsed:.0f} s.
"""
        replace_doc_section("people", body)
    print_json_line(summary)


if __name__ == "__main__":
    main()

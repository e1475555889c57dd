"""Choose the hybrid fusion weights on training queries only; the test split of ``search.jsonl`` is never read.

Training queries: the dev split of ``data/eval/search.jsonl`` plus the older
regression set ``data/eval/gold.jsonl`` (63 queries the first weights were
chosen on; the dev queries alone (49, 74 since stop 27) leave a wide plateau of equally good settings).

Two fusion functions, each over its own grid: weighted reciprocal-rank fusion
(dense, lexical and graph weights and the RRF constant, 630 settings) and the
convex combination of normalised scores (``alpha``, the dense share). The
objective is training MRR, ties broken by training recall@5 and then by the
mean MRR of the setting's grid neighbours (a point inside a plateau, not on
its edge, is less likely to be an accident of the sample). The chosen values are written into
``retrieval/service.py`` (``TUNED_FUSION``) by hand, with this command cited.

    python -m bench.fusion_tune            # on the build in $CKG_HOME or data/build
"""

from __future__ import annotations

import itertools
import os
from functools import lru_cache
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

EVAL = Path(__file__).resolve().parent.parent / "data" / "eval"
DENSE = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
LEXICAL = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
GRAPH = (0.0, 0.1, 0.25)
K = (5, 10, 20, 40, 60)
ALPHA = tuple(round(0.05 * i, 2) for i in range(2, 19))  # 0.1 .. 0.9


def main() -> None:
    from ckg.config import Settings
    from kg.workspace import Workspace
    from retrieval.evaluate import load_gold, metrics
    from retrieval.service import Fusion, SearchService

    ws = Workspace(Settings())
    dev = [g for g in load_gold(EVAL / "search.jsonl") if g.split == "dev"] + load_gold(EVAL / "gold.jsonl")
    resolve = ws.catalog.resolve_gold
    dev = [g.model_copy(update={"relevant": [resolve(r) or r for r in g.relevant]}) for g in dev]
    base = SearchService(ws)
    encode = lru_cache(maxsize=None)(lambda q: base.embedder.encode([q]))

    def service(fusion: Fusion) -> SearchService:
        svc = SearchService(ws, fusion=fusion)
        svc.__dict__.update(index=base.index, lexical=base.lexical, catalog=base.catalog, _origins=base._origins)
        svc.__dict__["embedder"] = type("Cached", (), {"encode": staticmethod(lambda qs: encode(qs[0]))})()
        return svc

    def score(fusion: Fusion) -> tuple[float, float]:
        """Training MRR and recall@5 of one setting."""
        svc = service(fusion)
        ms = [metrics([h.id for h in svc.search(g.query, k=10)], set(g.relevant)) for g in dev]
        return round(sum(m["mrr"] for m in ms) / len(ms), 4), round(sum(m["recall_at_5"] for m in ms) / len(ms), 4)

    results = []
    for dense, lexical, graph, k in itertools.product(DENSE, LEXICAL, GRAPH, K):
        mrr, r5 = score(Fusion(kind="rrf", dense=dense, lexical=lexical, graph=graph, k=k))
        results.append((mrr, r5, 0.0, (dense, lexical, graph, k)))
    by_setting = {r[3]: r[0] for r in results}
    grids = (DENSE, LEXICAL, GRAPH, K)

    def neighbourhood(setting: tuple) -> float:
        values = []
        for axis, grid in enumerate(grids):
            i = grid.index(setting[axis])
            for j in (i - 1, i + 1):
                if 0 <= j < len(grid):
                    values.append(by_setting[(*setting[:axis], grid[j], *setting[axis + 1 :])])
        return sum(values) / len(values)

    results = [(mrr, r5, round(neighbourhood(st), 4), st) for mrr, r5, _, st in results]
    results.sort(reverse=True)
    print(f"{len(dev)} training queries; reciprocal-rank fusion, {len(results)} settings; best first:")
    for mrr, r5, around, (d, lx, g, k) in results[:10]:
        print(f"  dense {d} lexical {lx} graph {g} k {k}: MRR {mrr:.4f} R@5 {r5:.4f} (neighbours' MRR {around:.4f})")
    base_row = next(r for r in results if r[3] == (1.0, 1.0, 0.25, 60))
    print(f"  (equal weights, k 60: MRR {base_row[0]:.4f} R@5 {base_row[1]:.4f})")

    convex = {alpha: score(Fusion(kind="convex", alpha=alpha, graph=0.1)) for alpha in ALPHA}
    rows = []
    for i, alpha in enumerate(ALPHA):
        around = [convex[ALPHA[j]][0] for j in (i - 1, i + 1) if 0 <= j < len(ALPHA)]
        rows.append((*convex[alpha], round(sum(around) / len(around), 4), alpha))
    rows.sort(reverse=True)
    print(f"convex combination, {len(rows)} settings; best first:")
    for mrr, r5, around, alpha in rows[:5]:
        print(f"  alpha {alpha}: MRR {mrr:.4f} R@5 {r5:.4f} (neighbours' MRR {around:.4f})")


if __name__ == "__main__":
    main()

"""Cross-validated plan quality on the dev split of the plan gold set: the figure to tune on.

The expert model of :mod:`kg.inference` is fitted on the dev targets, so the dev
row of ``ckg eval --plans`` is in-sample. Here the dev targets are split into
folds by position; for each fold the inference runs with the expert model
fitted on the other folds only, and the fold's plans (what ``ckg path`` lists:
stated closures plus the nearest inferred prerequisites, ``kg.graph.PrereqGraph.plan``, over
inferred edges at each threshold) are judged. The test split is
never read.

    python -m bench.plan_cv [THRESHOLD ...]     # needs a build (ckg ingest)
"""

from __future__ import annotations

import statistics
import sys
from typing import Any

FOLDS = 4


def cross_validate(thresholds: list[float], folds: int = FOLDS, ws: Any = None) -> dict[float, dict[str, float]]:
    """Dev-split figures per threshold on ``ws`` (default: the build in $CKG_HOME or data/build)."""
    from ckg.config import Settings
    from kg.graph import PrereqGraph
    from kg.inference import infer
    from kg.workspace import Workspace, _expert
    from retrieval.plan_eval import load_plans
    from retrieval.service import SearchService

    ws = ws or Workspace(Settings())
    cat = ws.catalog
    index = SearchService(ws).index
    ids, vectors = index.concept_ids(), index.concept_matrix()
    bare = {
        cid: c.model_copy(update={"inferred": {}, "inferred_prerequisites": [], "relations": {}})
        for cid, c in cat.concepts.items()
    }
    edges = [(e.source, e.target) for e in cat.edges()]
    resolve = cat.resolve_gold
    gold = [g for g in load_plans() if g.split == "dev"]
    expert = _expert(cat) or {}
    tally = {t: {"met": 0, "groups": 0, "wrong": 0, "sizes": []} for t in thresholds}
    for k in range(folds):
        fold = [g for i, g in enumerate(gold) if i % folds == k]
        held = {resolve(g.target) for g in fold}
        out = infer(bare, edges, ids, vectors, expert={c: v for c, v in expert.items() if c not in held})
        for t in thresholds:
            g = PrereqGraph(
                edges
                + [
                    (e.source, e.target, {"inferred": True, "confidence": e.confidence})
                    for e in out.edges
                    if e.confidence >= t
                ],
                bare,
            )
            for item in fold:
                plan = g.plan(resolve(item.target))[0]
                for group in item.groups:
                    tally[t]["groups"] += 1
                    tally[t]["met"] += bool({resolve(x) for x in group} & plan)
                tally[t]["wrong"] += len({resolve(x) for x in item.wrong} & plan)
                tally[t]["sizes"].append(len(plan))
    return {
        t: {
            "groups_met": round(v["met"] / v["groups"], 3),
            "wrong_per_20_plans": round(20 * v["wrong"] / len(gold), 2),
            "median_plan": statistics.median(v["sizes"]),
        }
        for t, v in tally.items()
    }


def main() -> None:
    thresholds = [float(x) for x in sys.argv[1:]] or [0.15, 0.2, 0.25]
    for t, row in cross_validate(thresholds).items():
        print(f"confidence >= {t}: {row}")


if __name__ == "__main__":
    main()

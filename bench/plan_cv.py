"""Cross-validated plan quality on the dev split of the plan gold set: the figure to tune on.

The expert model of :mod:`kg.inference` is fitted on the dev targets, so the dev
row of ``ckg eval --plans`` is in-sample. Here the dev targets are split into
folds by position; for each fold the inference runs with the expert model
fitted on the other folds only, and the fold's plans (what ``ckg path`` lists:
stated closures plus the nearest inferred prerequisites, ``kg.graph.PrereqGraph.plan``, over
inferred edges at each threshold) are judged. The test split is
never read.

How much of a difference is noise: ``--repeats N`` runs the cross-validation N
times, the first with folds by position (the figure BENCHMARKS.md reports), the
others with the dev targets shuffled into folds (seeds 1..N-1), and prints the
mean and range of each figure. At stop 27 (103 dev targets, 251 groups) five
repeats of the same code spread groups met over about 2-3 points, which is the
size of difference below which a change is not evidence.

    python -m bench.plan_cv [--repeats N] [THRESHOLD ...]     # needs a build (ckg ingest)
"""

from __future__ import annotations

import statistics
import sys
from typing import Any

FOLDS = 4


def cross_validate(
    thresholds: list[float], folds: int = FOLDS, ws: Any = None, seed: int | None = None
) -> dict[float, dict[str, float]]:
    """Dev-split figures per threshold on ``ws`` (default: the build in $CKG_HOME or data/build).

    ``seed``: None puts dev target i in fold i mod ``folds``; a seed shuffles the targets first."""
    import random

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
    if seed is not None:
        random.Random(seed).shuffle(gold)
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


def repeated(thresholds: list[float], repeats: int, ws: Any = None) -> dict[float, dict[str, tuple[float, ...]]]:
    """(mean, min, max) of each figure per threshold over ``repeats`` fold assignments (see the module)."""
    runs = [cross_validate(thresholds, ws=ws, seed=None if r == 0 else r) for r in range(repeats)]
    return {
        t: {
            key: (
                round(statistics.mean(run[t][key] for run in runs), 3),
                min(run[t][key] for run in runs),
                max(run[t][key] for run in runs),
            )
            for key in runs[0][t]
        }
        for t in thresholds
    }


def main() -> None:
    args = sys.argv[1:]
    repeats = 1
    if args[:1] == ["--repeats"]:
        repeats, args = int(args[1]), args[2:]
    thresholds = [float(x) for x in args] or [0.15, 0.2, 0.25]
    if repeats == 1:
        for t, row in cross_validate(thresholds).items():
            print(f"confidence >= {t}: {row}")
        return
    for t, figures in repeated(thresholds, repeats).items():
        shown = ", ".join(f"{k} {m} ({lo}-{hi})" for k, (m, lo, hi) in figures.items())
        print(f"confidence >= {t}, {repeats} fold assignments: {shown}")


if __name__ == "__main__":
    main()

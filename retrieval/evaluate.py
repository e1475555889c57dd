"""Search evaluation over a hand-built gold set: recall@k, MRR, nDCG@10 per mode."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ckg.config import REPO_ROOT
from ckg.errors import CkgError
from ckg.progress import counted, stage
from retrieval.service import SearchService

DEFAULT_GOLD = REPO_ROOT / "data" / "eval" / "gold.jsonl"
MODES = ("lexical", "dense", "hybrid")


class GoldQuery(BaseModel):
    query: str
    kind: str
    relevant: list[str]
    #: ``dev`` (may be tuned on), ``test`` (reported only) or ``all`` for a set without splits.
    split: str = "all"


class ModeMetrics(BaseModel):
    mode: str
    split: str = "all"
    queries: int
    recall_at_1: float
    recall_at_5: float
    recall_at_10: float
    mrr: float
    ndcg_at_10: float
    by_kind: dict[str, dict[str, float]]


class EvalReport(BaseModel):
    modes: list[ModeMetrics]
    misses: dict[str, list[str]]


def load_gold(path: Path | None = None) -> list[GoldQuery]:
    path = path or DEFAULT_GOLD
    out = []
    for n, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if line.strip():
            try:
                out.append(GoldQuery.model_validate_json(line))
            except ValueError as exc:
                raise CkgError(f"{path}:{n}: not a gold query ({exc})") from exc
    return out


def metrics(ranked: list[str], relevant: set[str]) -> dict[str, float]:
    first = next((i for i, c in enumerate(ranked, start=1) if c in relevant), None)
    dcg = sum(1 / math.log2(i + 1) for i, c in enumerate(ranked[:10], start=1) if c in relevant)
    ideal = sum(1 / math.log2(i + 1) for i in range(1, min(len(relevant), 10) + 1))
    return {
        # Recall@k here is "a relevant concept is in the top k" (success@k), the
        # useful reading when most queries have one best answer.
        "recall_at_1": float(first is not None and first <= 1),
        "recall_at_5": float(first is not None and first <= 5),
        "recall_at_10": float(first is not None and first <= 10),
        "mrr": 1 / first if first else 0.0,
        "ndcg_at_10": dcg / ideal if ideal else 0.0,
    }


def evaluate(workspace: Any, gold: list[GoldQuery], service: SearchService | None = None) -> EvalReport:
    svc = service or SearchService(workspace)
    resolve = svc.catalog.resolve_gold
    unknown = sorted(r for g in gold for r in g.relevant if resolve(r) is None)
    if unknown:
        raise CkgError(f"gold set names unknown concept ids: {', '.join(unknown)}")
    # Ids a later build merged or renamed name the concept they became.
    gold = [g.model_copy(update={"relevant": list(dict.fromkeys(resolve(r) for r in g.relevant))}) for g in gold]
    modes = []
    misses: dict[str, list[str]] = {}
    with stage("loading the index"):
        _ = svc.index, svc.lexical, svc.embedder.encode(["warm up"])
    with counted(len(MODES) * len(gold), "queries judged") as advance:
        for mode in MODES:
            per_query = []
            for g in gold:
                ranked = [h.id for h in svc.search(g.query, mode=mode, k=10)]
                m = metrics(ranked, set(g.relevant))
                per_query.append((g, m))
                if m["recall_at_10"] == 0:
                    misses.setdefault(mode, []).append(g.query)
                advance(1)
            splits = sorted({g.split for g, _ in per_query})
            for split in [*splits, "all"] if len(splits) > 1 else splits:
                subset = [(g, m) for g, m in per_query if split in ("all", g.split)]
                modes.append(_mode_metrics(mode, split, subset))
    return EvalReport(modes=modes, misses=misses)


def _mode_metrics(mode: str, split: str, per_query: list[tuple[GoldQuery, dict[str, float]]]) -> ModeMetrics:
    keys = ["recall_at_1", "recall_at_5", "recall_at_10", "mrr", "ndcg_at_10"]
    mean = {k: round(sum(m[k] for _, m in per_query) / len(per_query), 4) for k in keys}
    by_kind: dict[str, dict[str, float]] = {}
    for kind in sorted({g.kind for g, _ in per_query}):
        sub = [m for g, m in per_query if g.kind == kind]
        by_kind[kind] = {k: round(sum(m[k] for m in sub) / len(sub), 4) for k in ("recall_at_5", "mrr")}
    return ModeMetrics(mode=mode, split=split, queries=len(per_query), by_kind=by_kind, **mean)

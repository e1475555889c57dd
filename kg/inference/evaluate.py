"""Held-out evaluation of inferred prerequisites against the stated ones.

A seeded share of the asserted edges is hidden a whole concept at a time (its
layer too), the edges are inferred again with exactly the production code,
and the predictions are scored against the hidden edges. Baselines in the same
run: the nearest concept's prerequisites, and mentions alone.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

import networkx as nx
import numpy as np

from ingest.concepts import Concept
from kg.inference import infer
from kg.inference.mentions import concept_mentions
from kg.inference.neighbours import Neighbours


@dataclass
class Scores:
    precision: float
    recall: float
    f1: float
    predicted: int
    hidden: int
    #: Predicted edges whose target is in the concept's true transitive prerequisites.
    closure_precision: float

    def row(self) -> dict[str, float | int]:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in self.__dict__.items()}


def _score(pred: set[tuple[str, str]], hidden: set[tuple[str, str]], truth: nx.DiGraph) -> Scores:
    tp = len(pred & hidden)
    p = tp / len(pred) if pred else 0.0
    r = tp / len(hidden) if hidden else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    closure = sum(1 for a, b in pred if a in truth and b in nx.descendants(truth, a))
    return Scores(p, r, f1, len(pred), len(hidden), closure / len(pred) if pred else 0.0)


def split_edges(
    edges: list[tuple[str, str]], fraction: float, seed: int
) -> tuple[list[tuple[str, str]], set[tuple[str, str]]]:
    """Hide ``fraction`` of the edges, a whole concept at a time (seeded).

    Hiding all of a concept's edges reproduces the production case - a concept
    with no prerequisites at all - instead of asking the model to complete a
    partly known list, which would be easier and less honest.
    """
    by_source: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for a, b in sorted(edges):
        by_source[a].append((a, b))
    order = sorted(by_source)
    random.Random(seed).shuffle(order)
    hidden: set[tuple[str, str]] = set()
    for cid in order:
        if len(hidden) >= fraction * len(edges):
            break
        hidden |= set(by_source[cid])
    return [e for e in edges if e not in hidden], hidden


def evaluate(
    concepts: Mapping[str, Concept],
    edges: list[tuple[str, str]],
    ids: list[str],
    vectors: np.ndarray,
    *,
    seed: int = 0,
    fraction: float = 0.2,
    thresholds: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5),
) -> dict[str, object]:
    """Hide a seeded ``fraction`` of asserted edges, infer, and score against the hidden ones.

    The hidden concepts also lose their layer (it is re-inferred), because
    concepts that lack edges in production lack a layer too. Baselines: copy the
    prerequisites of the nearest concept that has some; and mentions alone.
    """
    visible, hidden = split_edges(edges, fraction, seed)
    hidden_sources = {a for a, _ in hidden}
    blind = {cid: (c.model_copy(update={"layer": None}) if cid in hidden_sources else c) for cid, c in concepts.items()}
    truth = nx.DiGraph(edges)
    result = infer(blind, visible, ids, vectors, targets=hidden_sources, store_threshold=min(thresholds))
    out: dict[str, object] = {"seed": seed, "hidden_edges": len(hidden), "hidden_concepts": len(hidden_sources)}
    for t in thresholds:
        # Only the hidden concepts' edges are predictions: the stub-slug links the inference adds for every
        # stub ("the-hessian-matrix" -> "jacobian-and-hessian") are never among the hidden edges.
        pred = {(e.source, e.target) for e in result.edges if e.confidence >= t and e.source in hidden_sources}
        out[f"model@{t}"] = _score(pred, hidden, truth).row()

    vgraph = nx.DiGraph(visible)
    vecs = np.asarray(vectors, dtype=np.float32)
    teachers = Neighbours(ids, vecs, [n for n in vgraph if vgraph.out_degree(n)])
    row = {cid: i for i, cid in enumerate(ids)}
    queries = sorted(hidden_sources)
    nearest_of = teachers.all_of(queries, vecs[[row[c] for c in queries]], 1)
    nearest: set[tuple[str, str]] = set()
    for cid in queries:
        near = nearest_of[cid]
        if near:
            nearest |= {(cid, t) for t in vgraph.successors(near[0][0]) if t != cid}
    out["baseline-nearest"] = _score(nearest, hidden, truth).row()
    names = {(m.source, m.target) for m in concept_mentions(blind)}
    said = {(a, b) for a, b in names if a in hidden_sources}
    out["baseline-mentions"] = _score(said, hidden, truth).row()
    return out

"""Layers, levels, study minutes and modules for concepts no source gives them to.

A first estimate is a similarity-weighted vote of the nearest concepts that
have the value (:func:`infer_values`). Layers then have to agree with the
prerequisite graph (:func:`consistent_layers`): a voted layer is lowered to
what the stated layers requiring it allow, then raised to its prerequisites'
layer ("k-Nearest Neighbors", near the retrieval topics of layer 4, rests on
layer-0 topics).
Levels (beginner / intermediate / advanced), stated only by the concept
library, follow from the layer.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace

import networkx as nx
import numpy as np

from ingest.concepts import Concept
from kg.inference.layers import LAYER_ORDER, LAYERS
from kg.inference.neighbours import Neighbours, subset_neighbours


@dataclass(frozen=True)
class InferredValue:
    concept: str
    prop: str  # "layer" | "minutes" | "module" | "level"
    value: str | int
    confidence: float
    method: str
    evidence: str


@dataclass(frozen=True)
class PathLink:
    """A research-path phase or question (by IRI) and a concept it is about."""

    subject: str
    concept: str
    confidence: float


#: The level a layer is taught at: foundations are beginner material, applied systems advanced.
LEVEL_OF_LAYER = {"0A": "beginner", "0B": "beginner", "1": "beginner", "2": "intermediate", "3": "intermediate"}
LEVEL_OF_LAYER |= {"4": "advanced", "5": "advanced"}


def consistent_layers(
    concepts: Mapping[str, Concept], values: list[InferredValue], graph: nx.DiGraph
) -> list[InferredValue]:
    """Inferred layers that agree with ``graph`` (the edges plans use, asserted + inferred).

    Stated layers are facts; voted ones are guesses from look-alike text, so the graph corrects them in
    two passes, dependents first, then prerequisites:

    1. *down*: a concept sits at or below every stated layer that (directly or through concepts without
       one) requires it. "Feature Importance" (stated L2) requires Random Forest, which rests on Decision
       Tree: both sit at L2 or below, whatever their neighbours voted (Decision Tree resembles the L4
       interpretability topics).
    2. *up*: a concept sits at or above each prerequisite and, when it has any, at most one layer above
       the deepest (what it builds on says how advanced it is better than what it resembles:
       "k-Nearest Neighbors" resembles layer-4 topics but rests on layer-0 ones), never above the bound
       of pass 1. Where a stated prerequisite is deeper than that bound the stated layers win and the
       caller drops the inferred edges that no longer fit.
    """
    voted = {v.concept: v for v in values if v.prop == "layer"}
    stated = {cid: LAYER_ORDER[c.layer] for cid, c in concepts.items() if c.layer in LAYER_ORDER}
    top = len(LAYERS) - 1
    order = list(nx.lexicographical_topological_sort(graph))  # a -> b (a requires b): a comes first
    cap: dict[str, int] = {}
    for cid in order:
        bounds = [stated[d] if d in stated else cap.get(d, top) for d in graph.predecessors(cid)]
        cap[cid] = min(bounds, default=top)
    layer = dict(stated)
    out: dict[str, InferredValue] = {}
    for cid in reversed(order):
        if cid not in voted:
            continue
        v = voted[cid]
        below = [layer[t] for t in graph.successors(cid) if t in layer]
        low = max(below, default=0)
        want = LAYER_ORDER[str(v.value)]
        high = min(cap[cid], low + 1) if below else cap[cid]
        got = max(min(want, high), min(low, cap[cid]))
        layer[cid] = got
        if got != want:
            # Down to the bound of what requires it, or to one layer above its deepest prerequisite.
            bound = "the layers of what requires it" if got == cap[cid] < want else "its prerequisites' layers"
            v = replace(
                v,
                value=LAYERS[got],
                confidence=round(v.confidence * 0.8, 4),
                method="neighbour-vote+graph",
                evidence=f"{v.evidence}; voted L{LAYERS[want]}, moved to fit {bound}",
            )
        out[cid] = v
    return [out.get(v.concept, v) if v.prop == "layer" else v for v in values]


def stub_layers(concepts: Mapping[str, Concept], graph: nx.DiGraph) -> list[InferredValue]:
    """A layer for each stub: the shallowest stated layer among the topics that require it (a stub has no
    text to vote from, but whatever requires it sits at or above it). :func:`consistent_layers` then fits
    it to its own prerequisites too."""
    out = []
    for cid in sorted(c for c in concepts if concepts[c].stub):
        users = sorted(
            (LAYER_ORDER[concepts[d].layer], d) for d in graph.predecessors(cid) if concepts[d].layer in LAYER_ORDER
        )
        if users:
            order, by = users[0]
            out.append(
                InferredValue(
                    cid, "layer", LAYERS[order], 0.5, "dependents-min", f"shallowest topic requiring it: {by}"
                )
            )
    return out


def infer_levels(concepts: Mapping[str, Concept], values: list[InferredValue]) -> list[InferredValue]:
    """A level for every concept without one, from its (stated or inferred) layer."""
    inferred_layer = {v.concept: v for v in values if v.prop == "layer"}
    out = []
    for cid, c in sorted(concepts.items()):
        if c.level:
            continue
        if c.layer:
            out.append(
                InferredValue(cid, "level", LEVEL_OF_LAYER[c.layer], 0.9, "layer-map", f"stated layer L{c.layer}")
            )
        elif cid in inferred_layer:
            lv = inferred_layer[cid]
            out.append(
                InferredValue(
                    cid,
                    "level",
                    LEVEL_OF_LAYER[str(lv.value)],
                    lv.confidence,
                    "layer-map",
                    f"inferred layer L{lv.value}",
                )
            )
    return out


def _vote(pairs: list[tuple[object, float]]) -> tuple[object, float, str] | None:
    weights: dict[object, float] = defaultdict(float)
    for value, w in pairs:
        weights[value] += max(w, 0.0)
    total = sum(weights.values())
    if not total:
        return None
    best = max(weights.items(), key=lambda kv: (kv[1], str(kv[0])))
    return best[0], best[1] / total, f"{len(pairs)} nearest"


def layer_neighbours(
    concepts: Mapping[str, Concept],
    ids: list[str],
    vectors: np.ndarray,
    *,
    k: int = 7,
    shared: Mapping[str, list[tuple[str, float]]] | None = None,
) -> dict[str, list[tuple[str, float]]]:
    """The ``k`` nearest concepts with a stated layer, of every described concept without one.

    Both the layer vote (:func:`infer_values`) and the depth estimate (:func:`layer_depths`) read these;
    computed once, they are shared. ``shared``: see :func:`~kg.inference.neighbours.subset_neighbours`.
    """
    lacking = [cid for cid in ids if cid in concepts and not concepts[cid].stub and not concepts[cid].layer]
    layered = [c for c in sorted(concepts) if concepts[c].layer]
    return subset_neighbours(ids, vectors, layered, lacking, k, shared=shared)


def layer_depths(concepts: Mapping[str, Concept], near: Mapping[str, list[tuple[str, float]]]) -> dict[str, float]:
    """A continuous depth per concept: its stated layer's order, else the similarity-weighted mean of its
    nearest layered concepts' orders (``near``, from :func:`layer_neighbours`). The mean places a concept
    between the layers it resembles (within one layer for 85% of theory topics, leave-one-out, against 82%
    for the majority vote), which is what comparing two depths needs; the vote stays the reported value."""
    depth = {cid: float(LAYER_ORDER[c.layer]) for cid, c in concepts.items() if c.layer in LAYER_ORDER}
    for cid, pairs in near.items():
        weights = [(max(s, 0.0), depth[n]) for n, s in pairs]
        total = sum(w for w, _ in weights)
        if total:
            depth[cid] = round(sum(w * d for w, d in weights) / total, 3)
    return depth


def infer_values(
    concepts: Mapping[str, Concept],
    ids: list[str],
    vectors: np.ndarray,
    *,
    k: int = 7,
    near_layered: Mapping[str, list[tuple[str, float]]] | None = None,
    shared: Mapping[str, list[tuple[str, float]]] | None = None,
) -> list[InferredValue]:
    """Layer, minutes and module for concepts without them, from their nearest concepts that have them.

    ``near_layered``: :func:`layer_neighbours` if the caller has it already (same ``k``); ``shared``: see
    :func:`~kg.inference.neighbours.subset_neighbours`."""
    out: list[InferredValue] = []
    bare = [cid for cid in ids if cid in concepts and not concepts[cid].stub]
    kinds = {
        "layer": lambda c: bool(c.layer),
        "minutes": lambda c: c.minutes is not None,
        "module": lambda c: bool(c.modules),
    }
    by_kind: dict[str, dict[str, list[tuple[str, float]]]] = {}
    for kind, has in kinds.items():
        if kind == "layer" and near_layered is not None:
            by_kind[kind] = dict(near_layered)
            continue
        # Only concepts lacking the value are asked for neighbours: on a large curriculum that
        # states most values, this is a few rows instead of the whole catalogue.
        lacking = [cid for cid in bare if not has(concepts[cid])]
        members = [c for c in sorted(concepts) if has(concepts[c])]
        by_kind[kind] = subset_neighbours(ids, vectors, members, lacking, k, shared=shared)
    for cid in bare:
        c = concepts[cid]
        if c.layer is None:
            near = by_kind["layer"][cid]
            voted = _vote([(concepts[n].layer, s) for n, s in near])
            if voted:
                out.append(
                    InferredValue(cid, "layer", str(voted[0]), round(voted[1], 4), "neighbour-vote", _names(near))
                )
        if c.minutes is None and by_kind["minutes"][cid]:
            out.append(_minutes(cid, by_kind["minutes"][cid], concepts))
        if not c.modules:
            near = by_kind["module"][cid]
            voted = _vote([(m, s) for n, s in near for m in concepts[n].modules])
            if voted and voted[1] >= 1 / 3:
                out.append(
                    InferredValue(cid, "module", str(voted[0]), round(voted[1], 4), "neighbour-vote", _names(near))
                )
    out.sort(key=lambda v: (v.concept, v.prop))
    return out


def _minutes(cid: str, near: list[tuple[str, float]], concepts: Mapping[str, Concept]) -> InferredValue:
    """Similarity-weighted median, rounded to 5 minutes; confidence = mean similarity of the neighbours."""
    pairs = sorted((concepts[n].minutes or 0, max(s, 1e-6)) for n, s in near)
    half, acc, value = sum(w for _, w in pairs) / 2, 0.0, pairs[-1][0]
    for minutes, w in pairs:
        acc += w
        if acc >= half:
            value = minutes
            break
    value = max(5, int(5 * round(value / 5)))
    conf = max(0.0, min(1.0, sum(s for _, s in near) / len(near)))
    return InferredValue(cid, "minutes", value, round(conf, 4), "neighbour-median", _names(near))


def _names(near: list[tuple[str, float]], n: int = 3) -> str:
    return "nearest: " + ", ".join(f"{cid} ({s:.2f})" for cid, s in near[:n])


def link_path(
    subjects: list[tuple[str, str]], subject_vectors: np.ndarray, ids: list[str], vectors: np.ndarray, *, k: int = 3
) -> list[PathLink]:
    """The ``k`` concepts closest in meaning to each (subject IRI, text); the path names none explicitly."""
    out: list[PathLink] = []
    if not subjects:
        return out
    sims = np.asarray(subject_vectors, dtype=np.float32) @ np.asarray(vectors, dtype=np.float32).T
    for (iri, _text), row in zip(subjects, sims, strict=True):
        for i in np.argsort(-row, kind="stable")[:k]:
            out.append(PathLink(iri, ids[i], round(max(0.0, min(1.0, float(row[i]))), 4)))
    return out


def evaluate_values(concepts: Mapping[str, Concept], ids: list[str], vectors: np.ndarray) -> dict[str, float]:
    """Leave-one-out accuracy of the layer vote and error of the minutes estimate on concepts that have them."""
    vectors = np.asarray(vectors, dtype=np.float32)
    row = {cid: i for i, cid in enumerate(ids)}
    layered = Neighbours(ids, vectors, (c for c in sorted(concepts) if concepts[c].layer))
    timed = Neighbours(ids, vectors, (c for c in sorted(concepts) if concepts[c].minutes is not None))
    near_layered = layered.all_of(layered.members, vectors[[row[c] for c in layered.members]], 7)
    near_timed = timed.all_of(timed.members, vectors[[row[c] for c in timed.members]], 7)
    exact = within_one = n = 0
    for cid in layered.members:
        voted = _vote([(concepts[m].layer, s) for m, s in near_layered[cid]])
        if voted:
            n += 1
            diff = abs(LAYER_ORDER[str(voted[0])] - LAYER_ORDER[concepts[cid].layer or ""])
            exact += diff == 0
            within_one += diff <= 1
    errors = []
    for cid in timed.members:
        est = _minutes(cid, near_timed[cid], concepts)
        errors.append(abs(int(est.value) - (concepts[cid].minutes or 0)))
    majority = Counter(concepts[c].layer for c in layered.members).most_common(1)[0][1] / max(n, 1)
    return {
        "layer_concepts": n,
        "layer_exact": round(exact / max(n, 1), 4),
        "layer_within_one": round(within_one / max(n, 1), 4),
        "layer_majority_baseline": round(majority, 4),
        "minutes_concepts": len(errors),
        "minutes_mae": round(float(np.mean(errors)), 1) if errors else 0.0,
        "minutes_median_ae": round(float(np.median(errors)), 1) if errors else 0.0,
    }

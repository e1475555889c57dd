"""Prerequisites, taxonomy and values for every concept: one curriculum graph across all five sources.

Only theory-library topics carry prerequisite lines; the ~900 concepts of the
other sources would be leaves. :func:`infer` fills the graph in, in stages
that each live in their own module:

1. :mod:`~kg.inference.mentions` - which concepts every description names, and
   :mod:`~kg.inference.cues` - which way each of those sentences points;
2. :mod:`~kg.inference.taxonomy` - genus (broader), related, same-topic links;
3. :mod:`~kg.inference.values` - a first layer/level/minutes/module estimate;
4. :mod:`~kg.inference.scoring` - candidate prerequisites between any two
   concepts scored by a calibrated model fitted on the stated edges;
5. :mod:`~kg.inference.acyclic` - accepted edges never close a cycle;
6. layers made consistent with the final graph (a concept sits at or above
   each prerequisite), then levels from layers.

Direct edges are kept few and near: a candidate already reachable through a
better-scored one is left to the closure, so foundations arrive through the
graph instead of as direct edges of everything, and no concept takes more than
:data:`HUB_SHARE` of all inferred edges. Nothing here writes the asserted
graph: the caller puts every result in the inferred named graph with its
method, confidence and evidence.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from ingest.concepts import Concept
from kg.graph import USE_THRESHOLD
from kg.inference.acyclic import Acyclic, reachable
from kg.inference.layers import LAYER_ORDER, LAYERS
from kg.inference.mentions import Mention, MentionIndex, concept_mentions
from kg.inference.partial import partial_names
from kg.inference.scoring import FEATURES, NEAR_NEEDED, Candidate, EdgeModel, Evidence, expert_rows, training_rows
from kg.inference.taxonomy import (
    SAME_TOPIC_NEIGHBOURS,
    Relation,
    broader_relations,
    described_neighbours,
    related_relations,
    same_topic_relations,
)
from kg.inference.values import (
    InferredValue,
    PathLink,
    consistent_layers,
    infer_levels,
    infer_values,
    layer_depths,
    layer_neighbours,
    link_path,
    stub_layers,
)

__all__ = [
    "FEATURES",
    "LAYERS",
    "LAYER_ORDER",
    "MAX_EDGES",
    "USE_THRESHOLD",
    "Inference",
    "InferredEdge",
    "InferredValue",
    "Mention",
    "PathLink",
    "Relation",
    "infer",
    "link_path",
    "needs_inference",
]

STORE_THRESHOLD = 0.05  # below this an edge is not even written to the inferred graph
MAX_EDGES = 7  # direct inferred prerequisites per concept
HUB_SHARE = 0.04  # no concept receives more than this share of the inferred edges
MAX_TRAIN = 3000  # concepts whose candidates train the edge model
#: How much deeper (in layers) than its concept a direct prerequisite may be: depths of concepts without a
#: stated layer are estimates (:func:`~kg.inference.values.layer_depths`).
LAYER_TOLERANCE = 0.25
STUB_CONFIDENCE = 0.9  # a stub requires what its own slug names
SCORE_BATCH = 1024  # concepts whose candidates are scored in one call
#: Candidate kinds that come from the concept's own words, which estimated depths do not overrule.
TEXTUAL = frozenset({"genus", "mention"})


@dataclass(frozen=True)
class InferredEdge:
    source: str
    target: str
    confidence: float
    method: str
    evidence: str


@dataclass
class Inference:
    edges: list[InferredEdge] = field(default_factory=list)
    values: list[InferredValue] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)
    skipped_cycles: int = 0
    skipped_hub: int = 0
    skipped_layer: int = 0
    weights: dict[str, float] = field(default_factory=dict)


def needs_inference(c: Concept, graph: nx.DiGraph) -> bool:
    """No stated prerequisites, described by some source, and not a stated foundation (a layer-0A topic)."""
    if c.stub or (c.id in graph and graph.out_degree(c.id) > 0):
        return False
    return c.layer != "0A"


def same_topic_map(relations: Iterable[Relation]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for r in relations:
        if r.kind == "same-topic":
            out[r.source].add(r.target)
            out[r.target].add(r.source)
    return out


def infer(
    concepts: Mapping[str, Concept],
    edges: Iterable[tuple[str, str]],
    ids: list[str],
    vectors: np.ndarray,
    *,
    targets: Iterable[str] | None = None,
    store_threshold: float = STORE_THRESHOLD,
    max_edges: int = MAX_EDGES,
    expert: Mapping[str, set[str]] | None = None,
    trace: dict[tuple[str, str], str] | None = None,
) -> Inference:
    """Inferred edges for ``targets`` (default: every concept that needs them), relations and values.

    ``trace``, if given, receives why each candidate edge of the targets was not kept (for diagnosis).
    ``edges`` are the asserted ones (``a -> b``: a requires b). ``expert`` maps concepts to prerequisites an
    expert accepts for them (the dev split of the plan gold set): a second model is fitted on their
    candidates, since stated edges teach only how theory topics depend on each other.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    graph = nx.DiGraph()
    graph.add_nodes_from(concepts)
    graph.add_edges_from(edges)

    index = MentionIndex(concepts)
    mentions = concept_mentions(concepts, index)
    near = described_neighbours(concepts, ids, vectors, max(SAME_TOPIC_NEIGHBOURS, NEAR_NEEDED))
    same_topic = same_topic_relations(concepts, ids, vectors, index.acronyms, near=near)
    same = same_topic_map(same_topic)
    # Another record of a concept's own topic is neither broader than it nor merely related to it
    # ("Red-teaming is adversarial evaluation" named "Red-Teaming and Adversarial Evaluation" as its genus).
    broader = [r for r in broader_relations(concepts, index) if r.target not in same.get(r.source, ())]
    related = [r for r in related_relations(mentions, broader) if r.target not in same.get(r.source, ())]
    relations = broader + related + same_topic

    # shared by the layer vote and the depth estimate; like every k-NN question below, read off ``near``
    near_layered = layer_neighbours(concepts, ids, vectors, shared=near)
    values = sorted(
        infer_values(concepts, ids, vectors, near_layered=near_layered, shared=near) + stub_layers(concepts, graph),
        key=lambda v: (v.concept, v.prop),
    )
    layers: dict[str, str | None] = {cid: c.layer for cid, c in concepts.items()}
    levels: dict[str, str | None] = {cid: c.level for cid, c in concepts.items()}
    for v in values:
        if v.prop == "layer":
            layers[v.concept] = str(v.value)
    evidence = Evidence(
        concepts,
        ids,
        vectors,
        graph,
        layers,
        levels,
        mentions,
        broader,
        index,
        near=near,
        partial=partial_names(concepts),
    )

    teachers = sorted(n for n in graph if graph.out_degree(n) > 0 and not concepts[n].stub)
    if len(teachers) > MAX_TRAIN:
        teachers = sorted(random.Random(0).sample(teachers, MAX_TRAIN))
    x, y = training_rows(evidence, teachers, same)
    if not len(y) or not y.any() or y.all():
        return Inference(values=values, relations=relations, mentions=mentions)
    model = EdgeModel().fit(x, y)
    expert_model = None
    if expert:
        ex, ey = expert_rows(evidence, expert, same)
        if len(ey) and ey.any() and not ey.all():
            expert_model = EdgeModel().fit(ex, ey)

    if targets is None:
        targets = (cid for cid in concepts if needs_inference(concepts[cid], graph))
    wanted = sorted(set(targets))
    depth = layer_depths(concepts, near_layered)
    successors = {n: list(graph.successors(n)) for n in graph}
    proposed: list[tuple[float, str, str, str, str]] = []
    for cid, cands, probs in _scored(evidence, wanted, same, model, expert_model):
        ranked = sorted(zip(probs, cands, strict=True), key=lambda pc: (-round(pc[0], 4), pc[1].target))
        chosen: list[str] = []
        covered: set[str] = set()
        note = trace.__setitem__ if trace is not None else (lambda _k, _v: None)
        for p, cand in ranked:
            if p < store_threshold or len(chosen) >= max_edges:
                note((cid, cand.target), f"score {p:.3f}" if p < store_threshold else f"cap {max_edges}, score {p:.3f}")
                continue
            # The concept's own text names it (or its genus): estimated depths do not overrule the sentence.
            if (_too_deep(depth, cid, cand.target) and not TEXTUAL & cand.why.keys()) or cand.target in covered:
                # a deeper layer (stated or first estimate), or reached through a better candidate already
                note(
                    (cid, cand.target), f"{'deeper layer' if cand.target not in covered else 'covered'}, score {p:.3f}"
                )
                continue
            chosen.append(cand.target)
            covered |= reachable(successors, cand.target)
            proposed.append((round(p, 4), cid, cand.target, cand.method(), cand.evidence()))

    # A stub has no description, only the slug that named it: what the slug names comes first
    # ("feedforward networks and backpropagation" rests on Backpropagation).
    for cid in sorted(c for c in concepts if concepts[c].stub):
        for target, phrase in index.find(concepts[cid].label):
            if target != cid and target not in same.get(cid, set()):
                why = f'slug "{concepts[cid].label}" names {target} ("{phrase}")'
                proposed.append((STUB_CONFIDENCE, cid, target, "stub-slug", why))

    cap = max(5, math.ceil(HUB_SHARE * len(proposed)))
    incoming: dict[str, int] = defaultdict(int)
    accepted: list[InferredEdge] = []
    skipped = hub = 0
    dag = Acyclic(graph, layers)
    # Stub-slug edges first (a source's own words), then by descending confidence.
    for p, src, tgt, method, why in sorted(proposed, key=lambda e: (e[3] != "stub-slug", -e[0], e[1], e[2])):
        if incoming[tgt] >= cap:
            hub += 1
            if trace is not None:
                trace[(src, tgt)] = "hub cap"
            continue
        if not dag.add(src, tgt):
            skipped += 1
            if trace is not None:
                trace[(src, tgt)] = "cycle"
            continue
        incoming[tgt] += 1
        accepted.append(InferredEdge(src, tgt, p, method, why))
    accepted.sort(key=lambda e: (e.source, -e.confidence, e.target))

    # What plans walk: the stated edges and the inferred ones at USE_THRESHOLD or more. Not ``graph``, which
    # ``Acyclic`` grew by every accepted edge: layer bounds passed down weak guesses (ReLU -> Deep Q-Network,
    # 0.09, "partial") held concepts far below their own layer and dropped their real prerequisites.
    planning = nx.DiGraph()
    planning.add_nodes_from(concepts)
    planning.add_edges_from(edges)
    planning.add_edges_from((e.source, e.target) for e in accepted if e.confidence >= USE_THRESHOLD)
    values = consistent_layers(concepts, values, planning)
    # An inferred edge whose prerequisite ends up deeper than its concept contradicts the layers (the stated
    # ones won): drop it; layers stay consistent, since fewer prerequisites only loosen them.
    final = dict(layers) | {v.concept: str(v.value) for v in values if v.prop == "layer"}
    kept = [e for e in accepted if not _deeper(final, e.source, e.target)]
    if trace is not None:
        for e in accepted:
            if _deeper(final, e.source, e.target):
                trace[(e.source, e.target)] = f"layer L{final.get(e.target)} deeper than L{final.get(e.source)}"
    skipped_layer = len(accepted) - len(kept)
    accepted = kept
    values = sorted(values + infer_levels(concepts, values), key=lambda v: (v.concept, v.prop))
    return Inference(
        edges=accepted,
        values=values,
        relations=relations,
        mentions=mentions,
        skipped_cycles=skipped,
        skipped_hub=hub,
        skipped_layer=skipped_layer,
        weights=model.weights(),
    )


def _scored(
    evidence: Evidence,
    wanted: list[str],
    same: Mapping[str, set[str]],
    model: EdgeModel,
    expert_model: EdgeModel | None,
) -> Iterator[tuple[str, list[Candidate], list[float]]]:
    """Each concept's candidates with their probabilities, scored :data:`SCORE_BATCH` concepts at a time:
    one scikit-learn call per concept cost ~2 ms of overhead each (6 s of 84 at 30k concepts)."""
    for start in range(0, len(wanted), SCORE_BATCH):
        batch = [(cid, evidence.candidates(cid, same.get(cid, set()))) for cid in wanted[start : start + SCORE_BATCH]]
        batch = [(cid, cands) for cid, cands in batch if cands]
        if not batch:
            continue
        rows = np.array([evidence.features(c, set()) for _, cands in batch for c in cands], dtype=np.float64)
        probs = model.predict(rows)
        if expert_model is not None:
            probs = np.maximum(probs, expert_model.predict(rows))
        at = 0
        for cid, cands in batch:
            yield cid, cands, probs[at : at + len(cands)].tolist()
            at += len(cands)


def _too_deep(depth: Mapping[str, float], source: str, target: str) -> bool:
    a, b = depth.get(source), depth.get(target)
    return a is not None and b is not None and b > a + LAYER_TOLERANCE


def _deeper(layers: Mapping[str, str | None], source: str, target: str) -> bool:
    """Is the prerequisite's layer deeper than its concept's?"""
    a, b = layers.get(source), layers.get(target)
    return a in LAYER_ORDER and b in LAYER_ORDER and LAYER_ORDER[b] > LAYER_ORDER[a]

"""Prerequisites, layers, minutes and modules for concepts the sources leave bare.

Only theory-library topics carry prerequisite lines, so ~900 concepts have no
edges and most gap plans would be empty. Three signals from the data fill in:

* **mention** - the concept's definition names another concept ("Adam combines
  momentum and RMSProp");
* **neighbours** - concepts close in embedding space that *do* have
  prerequisites lend theirs (weighted by similarity), and a close concept of a
  shallower layer is itself a candidate;
* **layers** - a prerequisite normally sits at the same or a shallower layer.

A small logistic regression, fitted on the build's own asserted edges, turns
those features into one confidence per candidate edge: the probability that the
candidate is among the concept's prerequisites, direct or transitive. So the
numbers mean the same thing from one build to the next and the held-out evaluation
(:func:`evaluate`) measures the exact code that runs in production. Edges are
accepted in descending confidence and one that would close a cycle (with the
asserted edges or earlier accepted ones) is skipped.

Layers, minutes and modules come from a similarity-weighted vote of the nearest
concepts that have them. Nothing here is written into the asserted graph: the
caller puts the results in the inferred named graph, each with method and
confidence.

Pure numpy + networkx on vectors the caller passes in; no model is loaded here.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import networkx as nx
import numpy as np

from ingest.concepts import Concept
from ingest.records import LAYERS
from ingest.text import words
from kg.graph import USE_THRESHOLD as USE_THRESHOLD  # re-exported: the default the evaluation reports on

LAYER_ORDER = {code: i for i, code in enumerate(LAYERS)}
FEATURES = ("mention", "similarity", "inherit_max", "inherit_sum", "layer_gap", "deeper", "popularity")

#: Defaults, chosen on the held-out evaluation (see BENCHMARKS.md) and documented in the README.
STORE_THRESHOLD = 0.10  # below this an edge is not even written to the inferred graph
MAX_EDGES = 3  # per concept
NEIGHBOURS = 10
MAX_TRAIN = 3000  # concepts whose candidates train the edge model
APPROXIMATE_ABOVE = 50_000  # members: exact k-NN up to here, IVF above
#: Training stops adding concepts once their closures total this many concepts: on a deep 100k graph a
#: closure holds thousands, and labelling 3,000 of them was most of inference. (Real data: ~4,000 in all.)
TRAIN_CLOSURE_BUDGET = 1_000_000
NPROBE = 16


@dataclass(frozen=True)
class InferredEdge:
    source: str
    target: str
    confidence: float
    method: str  # "mention", "neighbours", "mention+neighbours", "similar-shallower"
    evidence: str


@dataclass(frozen=True)
class InferredValue:
    concept: str
    prop: str  # "layer" | "minutes" | "module"
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


@dataclass
class Inference:
    edges: list[InferredEdge] = field(default_factory=list)
    values: list[InferredValue] = field(default_factory=list)
    skipped_cycles: int = 0
    weights: dict[str, float] = field(default_factory=dict)


# --------------------------------------------------------------------- neighbours
class _Neighbours:
    """Cosine k-NN of given vectors among one subset of concepts (the members).

    Exact (FAISS flat inner product) up to ``APPROXIMATE_ABOVE`` members; above
    that an inverted-file index (IVF-Flat, ~sqrt(n) lists, ``NPROBE`` probed),
    because exact k-NN of every concept that needs inference against 100k
    members is O(n^2) - tens of seconds on two cores - and an HNSW graph costs
    about a minute to build at 100k. Ties break by member order in both.
    """

    def __init__(self, ids: list[str], vectors: np.ndarray, members: Iterable[str]) -> None:
        row = {cid: i for i, cid in enumerate(ids)}
        self.members = [m for m in members if m in row]
        self.matrix = np.ascontiguousarray(
            vectors[[row[m] for m in self.members]] if self.members else np.zeros((0, vectors.shape[1])),
            dtype=np.float32,
        )
        self._index = None

    def _search(self, queries: np.ndarray, kk: int) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        if self._index is None:
            n, dim = self.matrix.shape
            if n > APPROXIMATE_ABOVE:
                lists = int(math.sqrt(n))
                index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, lists, faiss.METRIC_INNER_PRODUCT)
                index.cp.seed = 0
                index.train(self.matrix)
                index.nprobe = NPROBE
            else:
                index = faiss.IndexFlatIP(dim)
            index.add(self.matrix)
            self._index = index
        return self._index.search(np.ascontiguousarray(queries, dtype=np.float32), kk)

    def all_of(self, ids: list[str], vectors: np.ndarray, k: int) -> dict[str, list[tuple[str, float]]]:
        """The ``k`` nearest members (never itself) of each concept in ``ids``, whose vectors are ``vectors``."""
        if not self.members or not ids:
            return {cid: [] for cid in ids}
        sims, found = self._search(vectors, min(k + 1, len(self.members)))
        out: dict[str, list[tuple[str, float]]] = {}
        for cid, row_sims, row_found in zip(ids, sims.tolist(), found.tolist(), strict=True):
            pairs = sorted((-s, i) for s, i in zip(row_sims, row_found, strict=True) if i >= 0)
            out[cid] = [(self.members[i], -s) for s, i in pairs if self.members[i] != cid][:k]
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


def infer_values(
    concepts: Mapping[str, Concept], ids: list[str], vectors: np.ndarray, *, k: int = 7
) -> list[InferredValue]:
    """Layer, minutes and module for concepts without them, from their nearest concepts that have them."""
    out: list[InferredValue] = []
    bare = [cid for cid in ids if cid in concepts and not concepts[cid].stub]
    position = {cid: i for i, cid in enumerate(ids)}
    kinds = {
        "layer": lambda c: bool(c.layer),
        "minutes": lambda c: c.minutes is not None,
        "module": lambda c: bool(c.modules),
    }
    by_kind: dict[str, dict[str, list[tuple[str, float]]]] = {}
    for kind, has in kinds.items():
        # Only concepts lacking the value are asked for neighbours: on a large curriculum that
        # states most values, this is a few rows instead of the whole catalogue.
        lacking = [cid for cid in bare if not has(concepts[cid])]
        members = _Neighbours(ids, vectors, (c for c in sorted(concepts) if has(concepts[c])))
        by_kind[kind] = members.all_of(lacking, vectors[[position[c] for c in lacking]], k)
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


# -------------------------------------------------------------------- mentions
class _Mentions:
    """Which concepts a text names, by their labels as whole-word phrases."""

    MAX_WORDS = 6

    def __init__(self, concepts: Mapping[str, Concept]) -> None:
        self.phrases: dict[tuple[str, ...], set[str]] = defaultdict(set)
        for c in concepts.values():
            for label in (c.label, *c.alt_labels):
                key = tuple(words(label))
                # One short word ("bias", "loss") is too ambiguous to count as naming a concept.
                if not key or len(key) > self.MAX_WORDS or (len(key) == 1 and len(key[0]) < 5):
                    continue
                self.phrases[key].add(c.id)

    def __call__(self, text: str | None) -> set[str]:
        if not text:
            return set()
        toks = words(text)
        found: set[str] = set()
        for i in range(len(toks)):
            for n in range(1, self.MAX_WORDS + 1):
                hit = self.phrases.get(tuple(toks[i : i + n]))
                if hit:
                    found |= hit
        return found


# ------------------------------------------------------------------ the model
@dataclass
class _Candidate:
    source: str
    target: str
    mention: bool = False
    similarity: float = 0.0
    inherit_max: float = 0.0
    inherit_sum: float = 0.0
    via: str = ""
    shallower_neighbour: bool = False

    def method(self) -> str:
        parts = []
        if self.mention:
            parts.append("mention")
        if self.inherit_max:
            parts.append("neighbours")
        if self.shallower_neighbour and not parts:
            parts.append("similar-shallower")
        return "+".join(parts) or "similar-shallower"

    def evidence(self) -> str:
        bits = []
        if self.mention:
            bits.append(f"definition of {self.source} names {self.target}")
        if self.via:
            bits.append(f"required by similar concept {self.via} (sim {self.inherit_max:.2f})")
        if self.shallower_neighbour:
            bits.append(f"similar concept of a shallower layer (sim {self.similarity:.2f})")
        return "; ".join(bits)


class _Features:
    """Candidate prerequisites of one concept and their feature rows."""

    def __init__(
        self,
        concepts: Mapping[str, Concept],
        ids: list[str],
        vectors: np.ndarray,
        graph: nx.DiGraph,
        layers: Mapping[str, str | None],
        queries: Iterable[str],
    ) -> None:
        self.concepts = concepts
        self.row = {cid: i for i, cid in enumerate(ids)}
        self.vectors = vectors
        self.graph = graph
        self.layers = layers
        self.mentions = _Mentions(concepts)
        # Neighbours only of the concepts whose candidates will be asked for (training sample and
        # targets), not of the whole catalogue.
        asked = sorted(q for q in set(queries) if q in self.row)
        rows = vectors[[self.row[q] for q in asked]]
        teachers = _Neighbours(ids, vectors, (n for n in sorted(graph) if graph.out_degree(n) > 0))
        everyone = _Neighbours(ids, vectors, (c for c in sorted(concepts) if not concepts[c].stub))
        self.near_teachers = teachers.all_of(asked, rows, NEIGHBOURS)
        self.near_everyone = everyone.all_of(asked, rows, NEIGHBOURS)

    def sim(self, a: str, b: str) -> float:
        ra, rb = self.row.get(a), self.row.get(b)
        return float(self.vectors[ra] @ self.vectors[rb]) if ra is not None and rb is not None else 0.0

    def candidates(self, cid: str) -> list[_Candidate]:
        """Candidates for ``cid`` as if it had no edges (its own are only excluded from popularity)."""
        if cid not in self.row:
            return []
        cands: dict[str, _Candidate] = {}

        def get(t: str) -> _Candidate:
            if t not in cands:
                cands[t] = _Candidate(cid, t, similarity=self.sim(cid, t))
            return cands[t]

        c = self.concepts[cid]
        for t in self.mentions(" ".join(filter(None, (c.definition, c.problem_statement)))):
            if t != cid and t not in _own_names(c, self.concepts[t]):
                get(t).mention = True
        for n, s in self.near_teachers[cid]:
            for t in self.graph.successors(n):
                if t == cid:
                    continue
                cand = get(t)
                if s > cand.inherit_max:
                    cand.inherit_max, cand.via = s, n
                cand.inherit_sum += max(s, 0.0)
        mine = LAYER_ORDER.get(self.layers.get(cid) or "")
        for n, _s in self.near_everyone[cid]:
            theirs = LAYER_ORDER.get(self.layers.get(n) or "")
            if mine is not None and theirs is not None and theirs < mine:
                get(n).shallower_neighbour = True
        return list(cands.values())

    def row_of(self, cand: _Candidate, own_edges: set[str]) -> list[float]:
        la = LAYER_ORDER.get(self.layers.get(cand.source) or "")
        lb = LAYER_ORDER.get(self.layers.get(cand.target) or "")
        gap = (la - lb) if la is not None and lb is not None else 0
        indeg = self.graph.in_degree(cand.target) if cand.target in self.graph else 0
        if cand.target in own_edges:
            indeg -= 1
        return [
            float(cand.mention),
            cand.similarity,
            cand.inherit_max,
            cand.inherit_sum,
            max(-3.0, min(3.0, float(gap))),
            float(gap < 0),
            math.log1p(max(indeg, 0)),
        ]


def _own_names(c: Concept, other: Concept) -> set[str]:
    """A definition naming a concept that shares the subject's own label is not evidence."""
    return {other.id} if _word_set(other.label) >= _word_set(c.label) else set()


@lru_cache(maxsize=65536)
def _word_set(label: str) -> frozenset[str]:
    return frozenset(words(label))


class _Logistic:
    """L2-regularised logistic regression by Newton's method: deterministic, no extra dependency."""

    def __init__(self, l2: float = 1.0) -> None:
        self.l2 = l2
        self.mean = self.scale = self.w = None  # type: ignore[assignment]

    def fit(self, x: np.ndarray, y: np.ndarray) -> _Logistic:
        self.mean, self.scale = x.mean(0), x.std(0) + 1e-9
        z = np.hstack([np.ones((len(x), 1)), (x - self.mean) / self.scale])
        w = np.zeros(z.shape[1])
        reg = np.full(z.shape[1], self.l2)
        reg[0] = 0.0
        for _ in range(50):
            p = 1 / (1 + np.exp(-(z @ w)))
            grad = z.T @ (p - y) + reg * w
            hess = (z * (p * (1 - p))[:, None]).T @ z + np.diag(reg + 1e-9)
            step = np.linalg.solve(hess, grad)
            w -= step
            if np.abs(step).max() < 1e-8:
                break
        self.w = w
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        z = np.hstack([np.ones((len(x), 1)), (x - self.mean) / self.scale])
        return 1 / (1 + np.exp(-(z @ self.w)))


# ------------------------------------------------------------------ inference
def infer(
    concepts: Mapping[str, Concept],
    edges: Iterable[tuple[str, str]],
    ids: list[str],
    vectors: np.ndarray,
    *,
    targets: Iterable[str] | None = None,
    store_threshold: float = STORE_THRESHOLD,
    max_edges: int = MAX_EDGES,
) -> Inference:
    """Inferred edges for ``targets`` (default: every concept without asserted prerequisites) and values.

    ``edges`` are the asserted ones (``a -> b``: a requires b). Layers inferred
    here feed the layer features of the edge model, so values come first.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    graph = nx.DiGraph()
    graph.add_nodes_from(concepts)
    graph.add_edges_from(edges)
    values = infer_values(concepts, ids, vectors)
    layers: dict[str, str | None] = {cid: c.layer for cid, c in concepts.items()}
    for v in values:
        if v.prop == "layer":
            layers[v.concept] = str(v.value)
    # Fit on the concepts that have asserted prerequisites (a seeded sample on big graphs:
    # seven features need thousands of examples, not a hundred thousand).
    teachers = sorted(n for n in graph if graph.out_degree(n) > 0)
    if len(teachers) > MAX_TRAIN:
        teachers = random.Random(0).sample(teachers, MAX_TRAIN)  # in sampled order: the budget cuts a random prefix
    if targets is None:
        targets = (cid for cid in concepts if needs_inference(concepts[cid], graph))
    wanted = sorted(set(targets))
    feats = _Features(concepts, ids, vectors, graph, layers, queries=[*teachers, *wanted])
    xs, ys = [], []
    successors = {n: list(graph.successors(n)) for n in graph}  # plain lists: networkx's BFS is ~10x slower
    closure_work = 0
    for cid in teachers:
        if closure_work > TRAIN_CLOSURE_BUDGET:
            break
        own = set(successors[cid])
        # The label is "a prerequisite, direct or transitive": what a gap plan needs to be right.
        # (Trained on direct edges only it scored a slightly higher direct-edge F1, 0.29-0.32 against
        # 0.26, but gave only ~52% of bare concepts any edge at confidence 0.2, against 98%.)
        needed = _reachable(successors, cid)
        closure_work += len(needed)
        for cand in feats.candidates(cid):
            xs.append(feats.row_of(cand, own))
            ys.append(float(cand.target in needed))
    if not xs or not any(ys):
        return Inference(values=values)
    model = _Logistic().fit(np.array(xs), np.array(ys))

    scored: list[tuple[float, _Candidate]] = []
    for cid in wanted:
        cands = feats.candidates(cid)
        if not cands:
            continue
        probs = model.predict(np.array([feats.row_of(c, set()) for c in cands]))
        ranked = sorted(zip(probs.tolist(), cands, strict=True), key=lambda pc: (-pc[0], pc[1].target))
        scored += [(p, c) for p, c in ranked[:max_edges] if p >= store_threshold]

    accepted: list[InferredEdge] = []
    skipped = 0
    dag = _Acyclic(graph, layers)
    for p, cand in sorted(scored, key=lambda pc: (-pc[0], pc[1].source, pc[1].target)):
        if not dag.add(cand.source, cand.target):
            skipped += 1
            continue
        accepted.append(InferredEdge(cand.source, cand.target, round(p, 4), cand.method(), cand.evidence()))
    accepted.sort(key=lambda e: (e.source, -e.confidence, e.target))
    weights = dict(zip(("bias", *FEATURES), (round(float(w), 4) for w in model.w), strict=True))
    return Inference(edges=accepted, values=values, skipped_cycles=skipped, weights=weights)


class _Acyclic:
    """Adds edges to a DAG, refusing any that would close a cycle.

    Keeps a topological order (Pearce & Kelly's dynamic topological sort): an
    edge that agrees with the order cannot close a cycle and costs O(1); one
    that does not searches only the concepts between the two positions, then
    reorders them. A reachability search per candidate (``nx.has_path``)
    explores the target's whole closure, which on a 100k-concept graph was most
    of inference. An asserted graph that already has a cycle (lint reports it)
    falls back to that search.
    """

    def __init__(self, graph: nx.DiGraph, layers: Mapping[str, str | None] | None = None) -> None:
        self.graph = graph
        # Deeper layers first: a concept's inferred prerequisites mostly sit at shallower layers,
        # so most candidate edges agree with this order from the start.
        depth = {n: LAYER_ORDER.get((layers or {}).get(n) or "", len(LAYER_ORDER)) for n in graph}
        try:
            order = nx.lexicographical_topological_sort(graph, key=lambda n: (-depth[n], n))
            self.pos: dict[str, int] | None = {n: i for i, n in enumerate(order)}
        except nx.NetworkXUnfeasible:
            self.pos = None

    def add(self, source: str, target: str) -> bool:
        """Add ``source -> target`` (source requires target) unless it closes a cycle; say whether it was added."""
        if source == target:
            return False
        pos = self.pos
        if pos is None:
            if nx.has_path(self.graph, target, source):
                return False
        elif pos[source] > pos[target]:
            # Only concepts ordered between the two can lie on a path target -> ... -> source.
            window = (pos[target], pos[source])
            ahead = self._reach(target, self.graph.successors, pos, window)
            if source in ahead:
                return False
            behind = self._reach(source, self.graph.predecessors, pos, window)
            moved = sorted(behind, key=pos.__getitem__) + sorted(ahead, key=pos.__getitem__)
            for node, slot in zip(moved, sorted(pos[n] for n in moved), strict=True):
                pos[node] = slot
        self.graph.add_edge(source, target)
        return True

    @staticmethod
    def _reach(start: str, step, pos: dict[str, int], window: tuple[int, int]) -> set[str]:
        """Nodes reachable from ``start`` by ``step`` whose position lies in ``window`` (inclusive)."""
        lo, hi = window
        seen, stack = {start}, [start]
        while stack:
            for m in step(stack.pop()):
                if m not in seen and lo <= pos[m] <= hi:
                    seen.add(m)
                    stack.append(m)
        return seen


def _reachable(successors: Mapping[str, list[str]], start: str) -> set[str]:
    """Everything ``start`` requires, directly or not (``nx.descendants`` without its per-edge overhead)."""
    seen: set[str] = set()
    stack = list(successors[start])
    while stack:
        n = stack.pop()
        if n not in seen:
            seen.add(n)
            stack.extend(successors[n])
    return seen


def needs_inference(c: Concept, graph: nx.DiGraph) -> bool:
    """No asserted prerequisites, described by some source, and not a stated foundation (a layer-0A topic)."""
    if c.stub or (c.id in graph and graph.out_degree(c.id) > 0):
        return False
    return c.layer != "0A"


# ------------------------------------------------------------------ evaluation
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
        pred = {(e.source, e.target) for e in result.edges if e.confidence >= t}
        out[f"model@{t}"] = _score(pred, hidden, truth).row()

    vgraph = nx.DiGraph(visible)
    vecs = np.asarray(vectors, dtype=np.float32)
    teachers = _Neighbours(ids, vecs, [n for n in vgraph if vgraph.out_degree(n)])
    row = {cid: i for i, cid in enumerate(ids)}
    queries = sorted(hidden_sources)
    nearest_of = teachers.all_of(queries, vecs[[row[c] for c in queries]], 1)
    nearest: set[tuple[str, str]] = set()
    for cid in queries:
        near = nearest_of[cid]
        if near:
            nearest |= {(cid, t) for t in vgraph.successors(near[0][0]) if t != cid}
    out["baseline-nearest"] = _score(nearest, hidden, truth).row()
    mentions = _Mentions(blind)
    said = {
        (cid, t)
        for cid in hidden_sources
        for t in mentions(blind[cid].definition)
        if t != cid and t not in _own_names(blind[cid], blind[t])
    }
    out["baseline-mentions"] = _score(said, hidden, truth).row()
    return out


def evaluate_values(concepts: Mapping[str, Concept], ids: list[str], vectors: np.ndarray) -> dict[str, float]:
    """Leave-one-out accuracy of the layer vote and error of the minutes estimate on concepts that have them."""
    vectors = np.asarray(vectors, dtype=np.float32)
    row = {cid: i for i, cid in enumerate(ids)}
    layered = _Neighbours(ids, vectors, (c for c in sorted(concepts) if concepts[c].layer))
    timed = _Neighbours(ids, vectors, (c for c in sorted(concepts) if concepts[c].minutes is not None))
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

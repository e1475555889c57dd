"""Scoring candidate prerequisites between any two concepts, from any source.

Candidates for a concept ``c``: the concepts its descriptions name, its genus,
the concepts its own label names ("Multi-Head *Attention*"), its nearest
concepts in embedding space, the stated prerequisites of its nearest
concepts that have some, and what several of its nearest concepts name or
require ("nearby": gradient boosting's description never says "decision tree",
but random forests', AdaBoost's and XGBoost's do). Never a concept whose genus ``c`` is (Curriculum
Learning names its variant Self-Paced Learning; the variant is the one that builds on it). Each
candidate ``t`` is described by features that
mean the same for a theory topic and a wiki entry:

* ``mention`` / ``reverse_mention``: ``c``'s texts name ``t`` / ``t``'s name ``c``;
* ``genus``: ``t`` is what ``c`` "is a" (taxonomy); ``in_label``: ``c``'s label names ``t``;
* ``refd``: reference distance (Liang et al., EMNLP 2015): how much more the
  concepts near ``c`` refer to ``t`` (name it or require it) than the concepts
  near ``t`` refer to ``c``; positive means ``t`` comes first;
* ``similarity`` and its rank among ``c``'s neighbours;
* ``inherit_max`` / ``inherit_sum``: similar concepts that require ``t``;
* ``layer_gap`` / ``deeper`` / ``level_gap``: depth order (inferred layers where none is stated);
* ``generality``: how many concepts name ``t`` (log), and the difference to ``c``'s;
* ``partial``: ``c``'s texts hold the distinctive words of ``t``'s label without its whole name
  ("wrapped with residual connections and normalization" for Layer Normalization;
  :mod:`~kg.inference.partial`), as a share;
* ``cue_forward`` / ``cue_backward``: the sentences that name one from the other say
  which builds on which ("the principle that backpropagation applies",
  "trains it by Q-learning"; :mod:`~kg.inference.cues`). Mentions alone are
  symmetric when two concepts name each other; these are what orient them.

A logistic regression (scikit-learn) is fitted on the asserted edges: every
candidate of a concept with stated prerequisites, labelled by whether it is
one of them (direct). Its probabilities are what a confidence means: of the
candidates scored 0.4, about 40% are stated edges. Features are rounded before scoring so that the last bits of a
BLAS sum never change an edge (byte-identical rebuilds).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from ingest.concepts import Concept
from kg.inference.layers import LAYER_ORDER
from kg.inference.mentions import Mention, MentionIndex
from kg.inference.neighbours import Neighbours, subset_neighbours
from kg.inference.taxonomy import Relation

FEATURES = (
    "mention",
    "reverse_mention",
    "genus",
    "in_label",
    "refd",
    "similarity",
    "sim_rank",
    "inherit_max",
    "inherit_sum",
    "layer_gap",
    "deeper",
    "level_gap",
    "generality",
    "generality_gap",
    "popularity",
    "co_required",
    "cue_forward",
    "cue_backward",
    "partial",
)
#: Feature columns that are not whole numbers (and are rounded, see :meth:`Evidence.features`).
_CONTINUOUS = tuple(
    FEATURES.index(f)
    for f in (
        "refd",
        "similarity",
        "inherit_max",
        "inherit_sum",
        "generality",
        "generality_gap",
        "popularity",
        "partial",
    )
)
NEIGHBOURS = 10
REFD_NEIGHBOURS = 10
#: How many nearest concepts "nearby" candidates come from, and how many of them must name or require one.
NEARBY = 20
NEARBY_MIN = 2
NEAR_NEEDED = max(NEIGHBOURS, REFD_NEIGHBOURS, NEARBY)  # the longest list of nearest concepts read
AROUND_CACHE = 50_000  # concepts whose neighbourhood summary (:meth:`Evidence._around`) is kept at once
LEVELS = {"beginner": 0, "intermediate": 1, "advanced": 2}


@dataclass
class Candidate:
    source: str
    target: str
    why: dict[str, str] = field(default_factory=dict)

    def method(self) -> str:
        order = ("mention", "genus", "in_label", "partial", "neighbours", "co-required", "nearby", "similar")
        return "+".join(k for k in order if k in self.why) or "similar"

    def evidence(self) -> str:
        return "; ".join(
            self.why[k]
            for k in ("genus", "in_label", "mention", "partial", "neighbours", "co-required", "nearby", "similar")
            if k in self.why
        )


class Evidence:
    """Everything the features read, computed once per build."""

    def __init__(
        self,
        concepts: Mapping[str, Concept],
        ids: list[str],
        vectors: np.ndarray,
        graph: nx.DiGraph,
        layers: Mapping[str, str | None],
        levels: Mapping[str, str | None],
        mentions: list[Mention],
        broader: list[Relation],
        index: MentionIndex,
        near: Mapping[str, list[tuple[str, float]]] | None = None,
        partial: Mapping[str, Mapping[str, float]] | None = None,
    ) -> None:
        self.concepts = concepts
        #: What each concept's texts name in part (:func:`~kg.inference.partial.partial_names`), with the share.
        self.partial = partial or {}
        self.graph = graph
        self.layers = layers
        self.levels = levels
        self.row = {cid: i for i, cid in enumerate(ids)}
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self.names: dict[str, dict[str, Mention]] = defaultdict(dict)
        named_by: dict[str, int] = defaultdict(int)
        for m in mentions:
            self.names[m.source][m.target] = m
            named_by[m.target] += 1
        self.generality = {cid: math.log1p(named_by.get(cid, 0)) for cid in concepts}
        self.genus = {r.source: r for r in broader}
        #: (a, b) where a's text names b or a states b as a prerequisite: RefD asks this millions of times.
        self._refers = {(m.source, m.target) for m in mentions} | set(graph.edges())
        self._refers_out: dict[str, list[str]] = defaultdict(list)
        for a, b in sorted(self._refers):
            self._refers_out[a].append(b)
        self._arounds: dict[str, tuple[dict[str, int], dict[str, list[float]], dict[str, int]]] = {}
        self.in_label = {
            cid: [(t, p) for t, p in index.find(c.label) if t != cid] for cid, c in concepts.items() if not c.stub
        }
        described = [cid for cid in sorted(concepts) if not concepts[cid].stub and cid in self.row]
        if near is None:
            everyone = Neighbours(ids, self.vectors, described)
            near = everyone.all_of(described, self.vectors[[self.row[c] for c in described]], NEAR_NEEDED)
        #: Each described concept's nearest described concepts, at least :data:`NEAR_NEEDED` of them.
        self.near = near
        teachers = [n for n in sorted(graph) if graph.out_degree(n) > 0]
        #: Each described concept's nearest concepts with stated prerequisites, mostly read off ``near``.
        self.near_teachers = subset_neighbours(ids, self.vectors, teachers, described, NEIGHBOURS, shared=near)

    def sim(self, a: str, b: str) -> float:
        ra, rb = self.row.get(a), self.row.get(b)
        return float(self.vectors[ra] @ self.vectors[rb]) if ra is not None and rb is not None else 0.0

    def refers(self, a: str, b: str) -> bool:
        return (a, b) in self._refers

    def refd(self, a: str, b: str) -> float:
        """RefD(a, b) > 0: ``a``'s neighbourhood refers to ``b`` more than ``b``'s refers to ``a`` (b first)."""
        return self._side(a, b) - self._side(b, a)

    def _side(self, x: str, y: str) -> float:
        """How much ``x``'s nearest concepts (``y`` left out) refer to ``y``: their similarity-weighted share.

        Ten set lookups, summed in neighbour order. Building each neighbourhood's whole reference table
        and keeping 50,000 of them to answer one entry of it cost 16 s of a 115 s inference at 100k."""
        refers = self._refers
        refs = total = 0.0
        for n, s in self.near.get(x, [])[:REFD_NEIGHBOURS]:
            if n == y:
                continue
            w = max(s, 0.0)
            total += w
            if (n, y) in refers:
                refs += w
        return refs / total if total else 0.0

    def nearby(self, cid: str) -> dict[str, list[str]]:
        """What ``cid``'s :data:`NEARBY` nearest concepts name or require, with which of them do."""
        out: dict[str, list[str]] = defaultdict(list)
        for n, _ in self.near.get(cid, [])[:NEARBY]:
            for t in self._refers_out.get(n, ()):
                out[t].append(n)
        return out

    def _around(self, c: str) -> tuple[dict[str, int], dict[str, list[float]], dict[str, int]]:
        """For :meth:`features`, once per concept instead of once per candidate (446k rows at 100k
        concepts): each of ``c``'s nearest concepts' rank; for each concept, the similarities of ``c``'s
        nearest teachers that require it (in neighbour order, so sums are the same to the last bit); and
        how many concepts that require ``c`` also require it."""
        found = self._arounds.get(c)
        if found is not None:
            return found
        ranks: dict[str, int] = {}
        for i, (n, _) in enumerate(self.near.get(c, [])[:NEIGHBOURS]):
            ranks.setdefault(n, i + 1)
        inherits: dict[str, list[float]] = defaultdict(list)
        for n, s in self.near_teachers.get(c, []):
            for t in self.graph.successors(n) if n in self.graph else ():
                inherits[t].append(s)
        co_required: dict[str, int] = defaultdict(int)
        for d in self.graph.predecessors(c) if c in self.graph else ():
            for t in self.graph.successors(d):
                co_required[t] += 1
        found = (ranks, dict(inherits), dict(co_required))
        if len(self._arounds) >= AROUND_CACHE:
            self._arounds.clear()
        self._arounds[c] = found
        return found

    # ------------------------------------------------------------ candidates
    def candidates(self, cid: str, exclude: set[str]) -> list[Candidate]:
        """Candidates for ``cid`` as if it had no prerequisites (its own edges never feed its features)."""
        if cid not in self.row or self.concepts[cid].stub:
            return []
        cands: dict[str, Candidate] = {}

        def add(t: str, kind: str, why: str) -> None:
            if t == cid or t in exclude or t not in self.concepts or self.concepts[t].stub:
                return
            if (g := self.genus.get(t)) is not None and g.target == cid:
                return  # t is a kind of cid: the kind builds on its genus, never the other way round
            cands.setdefault(t, Candidate(cid, t)).why.setdefault(kind, why)

        for t, m in self.names.get(cid, {}).items():
            add(t, "mention", f"{cid} names {t}: {m.evidence}")
        g = self.genus.get(cid)
        if g is not None:
            add(g.target, "genus", f"{cid} is a kind of {g.target}: {g.evidence}")
        for t, phrase in self.in_label.get(cid, []):
            add(t, "in_label", f'label names "{phrase}"')
        for t, share in self.partial.get(cid, {}).items():
            add(t, "partial", f"{cid} uses the words of {t}'s label (share {share:.2f})")
        for n, s in self.near.get(cid, [])[:NEIGHBOURS]:
            add(n, "similar", f"similar (cosine {s:.2f})")
        for n, s in self.near_teachers.get(cid, []):
            for t in self.graph.successors(n):
                add(t, "neighbours", f"required by similar concept {n} (cosine {s:.2f})")
        for d in sorted(self.graph.predecessors(cid)) if cid in self.graph else ():
            for t in self.graph.successors(d):
                add(t, "co-required", f"also required by {d}, which requires {cid}")
        for t, by in sorted(self.nearby(cid).items()):
            if len(by) >= NEARBY_MIN:
                add(
                    t,
                    "nearby",
                    f"named or required by {len(by)} of its {NEARBY} nearest concepts ({', '.join(by[:3])})",
                )
        return [cands[t] for t in sorted(cands)]

    def features(self, cand: Candidate, own_edges: set[str]) -> list[float]:
        c, t = cand.source, cand.target
        la, lb = LAYER_ORDER.get(self.layers.get(c) or ""), LAYER_ORDER.get(self.layers.get(t) or "")
        gap = (la - lb) if la is not None and lb is not None else 0
        va, vb = LEVELS.get(self.levels.get(c) or ""), LEVELS.get(self.levels.get(t) or "")
        ranks, inherits, co_required = self._around(c)
        rank = ranks.get(t, NEIGHBOURS + 1)
        inherit = inherits.get(t, [])
        # Concepts that require c and also require t: co-prerequisites are often each other's prerequisites.
        co = co_required.get(t, 0)
        # Sentence cues (kg.inference.cues): c's text builds on t, or t's text says t is built on c.
        ct, tc = self.names.get(c, {}).get(t), self.names.get(t, {}).get(c)
        forward = (ct.cue if ct else 0) - (tc.cue if tc else 0)  # > 0: c builds on t; < 0: t builds on c
        indeg = self.graph.in_degree(t) if t in self.graph else 0
        if t in own_edges:
            indeg -= 1
        row = [
            float(t in self.names.get(c, ())),
            float(c in self.names.get(t, ())),
            float(self.genus.get(c) is not None and self.genus[c].target == t),
            float("in_label" in cand.why),
            self.refd(c, t),
            self.sim(c, t),
            float(rank),
            max(inherit, default=0.0),
            sum(max(s, 0.0) for s in inherit),
            float(max(-3, min(3, gap))),
            float(gap < 0),
            float((va - vb) if va is not None and vb is not None else 0),
            self.generality.get(t, 0.0),
            self.generality.get(t, 0.0) - self.generality.get(c, 0.0),
            math.log1p(max(indeg, 0)),
            float(co),
            float(forward > 0),
            float(forward < 0),
            self.partial.get(c, {}).get(t, 0.0),
        ]
        # Rounded so that float noise in the last bits of a dot product cannot flip a decision. Only the
        # columns that can carry such noise: the others are whole numbers already (8.4M calls at 100k).
        for i in _CONTINUOUS:
            row[i] = round(row[i], 3)
        return row


class EdgeModel:
    """L2-regularised logistic regression over standardised :data:`FEATURES` (scikit-learn, lbfgs).

    Chosen over gradient-boosted trees (scikit-learn's HistGradientBoosting,
    calibrated): on the held-out stated edges F1 0.33 against 0.29 at confidence
    0.1 (3 seeds); on the plan gold set's dev split (4-fold, by target) trees met
    more groups (0.74 against 0.67 at 0.2) but put 7x the wrong items in plans
    of twice the size. A log-loss fit gives probabilities without a separate
    calibration step.
    """

    def __init__(self) -> None:
        self._model = None

    def fit(self, x: np.ndarray, y: np.ndarray) -> EdgeModel:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self._model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000)).fit(x, y)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        if self._model is None:
            raise RuntimeError("EdgeModel.predict before fit")
        return self._model.predict_proba(x)[:, 1]

    def weights(self) -> dict[str, float]:
        """Standardised coefficients by feature (what the build summary reports)."""
        lr = self._model[-1] if self._model is not None else None
        if lr is None:
            return {}
        return {"bias": round(float(lr.intercept_[0]), 4)} | {
            f: round(float(w), 4) for f, w in zip(FEATURES, lr.coef_[0], strict=True)
        }


def _reversed(evidence: Evidence, source: str, target: str) -> Candidate:
    """``target -> source`` as a candidate of ``target``: what a known prerequisite pair looks like backwards."""
    label = {t for t, _ in evidence.in_label.get(target, [])}
    return Candidate(target, source, {"in_label": ""} if source in label else {})


def training_rows(
    evidence: Evidence, teachers: Iterable[str], same_topic: Mapping[str, set[str]]
) -> tuple[np.ndarray, np.ndarray]:
    """One row per candidate of each concept with stated prerequisites; label: it is one of them.

    Every stated edge also appears reversed as a negative: a prerequisite relation is antisymmetric, and
    without these rows a model sees only advanced concepts as sources and learns that whatever a
    description names comes first, which is wrong for foundations ("the chain rule ... in backpropagation").
    """
    xs: list[list[float]] = []
    ys: list[float] = []
    for cid in teachers:
        own = set(evidence.graph.successors(cid))
        for cand in evidence.candidates(cid, same_topic.get(cid, set())):
            xs.append(evidence.features(cand, own))
            ys.append(float(cand.target in own))
        for t in sorted(own):
            if t in evidence.row and not evidence.concepts[t].stub:
                xs.append(evidence.features(_reversed(evidence, cid, t), set()))
                ys.append(0.0)
    return np.array(xs, dtype=np.float64).reshape(-1, len(FEATURES)), np.array(ys)


def expert_rows(
    evidence: Evidence, expert: Mapping[str, set[str]], same_topic: Mapping[str, set[str]]
) -> tuple[np.ndarray, np.ndarray]:
    """One row per candidate of each expert-judged concept; label: the expert accepts it as a prerequisite."""
    xs: list[list[float]] = []
    ys: list[float] = []
    for cid in sorted(expert):
        for cand in evidence.candidates(cid, same_topic.get(cid, set())):
            xs.append(evidence.features(cand, set()))
            ys.append(float(cand.target in expert[cid]))
            if cand.target in expert[cid]:  # and backwards, as a negative (see training_rows)
                xs.append(evidence.features(_reversed(evidence, cid, cand.target), set()))
                ys.append(0.0)
    return np.array(xs, dtype=np.float64).reshape(-1, len(FEATURES)), np.array(ys)

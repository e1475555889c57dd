"""The prerequisite edges, adjacency both ways, and the algorithms on them.

Edges point from a concept to what it requires (``a -> b``: a requires b), so
``descendants(a)`` in networkx terms are a's prerequisites. The functions here
name things the curriculum way (prerequisites / dependents) to avoid that trap.

A build's edges live in an :class:`EdgeTable` (columns plus compressed-sparse-row
adjacency, read from the catalog index without parsing anything per edge), and a
:class:`PrereqGraph` is a view of it at one confidence threshold. Closures walk
the table; algorithms that need more (Dijkstra, topological order) run in
networkx on the few concepts a question touches (:meth:`PrereqGraph.around`).
Building a networkx graph of every edge took 1.5-2.3 s at 100k concepts for a
plan that reads a few hundred of them; the whole graph (:attr:`PrereqGraph.g`)
is built only for whole-graph work (lint, cycles, chains).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    import networkx as nx

#: Gap, path and next plan over inferred edges at or above this confidence by default. It lives
#: here, with the graph they plan over, so graph-only commands need not import kg.inference (numpy).
USE_THRESHOLD = 0.11
#: A plan lists a prerequisite reached through inferred edges when the best chain to it is supported at
#: this or better (product of confidences, :meth:`PrereqGraph.support`); stated chains always count.
PLAN_SUPPORT = 0.03
#: At most this many prerequisites in a plan that rests on inferred edges: the nearest ones (fewest hops,
#: then best supported). What a concept's stated edges reach is always listed whole. Chosen with the two
#: values above by 4-fold cross-validation on the dev split of the plan gold set (``python -m
#: bench.plan_cv``): groups met 0.742 -> 0.787 at a median plan of 20 (17.5); uncapped plans at the same
#: size met 0.761. Without a cap, the foundations every chain ends in fill a plan before what the
#: target rests on directly does.
PLAN_SIZE = 20


class LintFinding(BaseModel):
    kind: str
    severity: str
    concepts: list[str]
    message: str


def _csr(n: int, keys: Sequence[int], others: Sequence[int]) -> tuple[list[int], list[int]]:
    """Edge numbers ordered by (key, other) and where each key's run starts: ``order[ptr[k]:ptr[k + 1]]``."""
    order = sorted(range(len(keys)), key=lambda e: (keys[e], others[e], e))
    ptr = [0] * (n + 1)
    for k in keys:
        ptr[k + 1] += 1
    for i in range(n):
        ptr[i + 1] += ptr[i]
    return order, ptr


@dataclass
class EdgeTable:
    """Every edge as columns (``src -> dst`` as node numbers), with adjacency both ways.

    ``out_order[out_ptr[r]:out_ptr[r + 1]]`` are the edges leaving node ``r`` (its prerequisites),
    ``in_order[in_ptr[r]:in_ptr[r + 1]]`` those entering it (what requires it). The catalog index
    stores all of these, so opening a build computes none of them.
    """

    nodes: Sequence[str]
    src: Sequence[int]
    dst: Sequence[int]
    inferred: Sequence[int]
    confidence: Sequence[float]
    out_order: Sequence[int]
    out_ptr: Sequence[int]
    in_order: Sequence[int]
    in_ptr: Sequence[int]
    #: Node name -> number (computed when not given: the catalog shares the one it already has).
    row: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.row:
            self.row = {n: i for i, n in enumerate(self.nodes)}

    @classmethod
    def build(
        cls,
        nodes: Sequence[str],
        src: Sequence[int],
        dst: Sequence[int],
        inferred: Sequence[int],
        confidence: Sequence[float],
    ) -> EdgeTable:
        out_order, out_ptr = _csr(len(nodes), src, dst)
        in_order, in_ptr = _csr(len(nodes), dst, src)
        return cls(nodes, src, dst, inferred, confidence, out_order, out_ptr, in_order, in_ptr)

    @classmethod
    def from_edges(cls, edges: Iterable[tuple], nodes: Iterable[str] = ()) -> EdgeTable:
        """From ``(a, b)`` or ``(a, b, {"inferred": ..., "confidence": ...})`` tuples; ``nodes`` may add
        concepts without edges. Node numbers follow first appearance (``nodes`` first)."""
        names: dict[str, int] = {n: i for i, n in enumerate(dict.fromkeys(nodes))}
        src: list[int] = []
        dst: list[int] = []
        inferred: list[int] = []
        confidence: list[float] = []
        for a, b, *rest in edges:
            data = rest[0] if rest else {}
            src.append(names.setdefault(a, len(names)))
            dst.append(names.setdefault(b, len(names)))
            inferred.append(int(bool(data.get("inferred", False))))
            conf = data.get("confidence")
            confidence.append(math.nan if conf is None else float(conf))
        return cls.build(list(names), src, dst, inferred, confidence)


class PrereqGraph:
    """The edges of an :class:`EdgeTable` that a plan may use: every stated edge, and inferred ones at
    or above ``min_confidence`` (none when it is ``None``). Constructed from edge tuples as
    ``PrereqGraph([(a, b), (a, c, {"inferred": True, "confidence": 0.4})], nodes)``.

    A node's edges are read from the table the first time they are asked for and kept
    (``{target: {"inferred": bool, "confidence": float | None}}``), so a warm server answers from
    dictionaries as it did from networkx, and a new process reads only the nodes it touches.
    """

    def __init__(self, edges: Iterable[tuple] = (), nodes: Iterable[str] = ()) -> None:
        self._setup(EdgeTable.from_edges(edges, nodes), None, every=True)

    @classmethod
    def over(cls, table: EdgeTable, min_confidence: float | None) -> PrereqGraph:
        graph = cls.__new__(cls)
        graph._setup(table, min_confidence, every=False)
        return graph

    def _setup(self, table: EdgeTable | None, min_confidence: float | None, *, every: bool) -> None:
        self.table = table
        self.min_confidence = min_confidence
        self._every = every  # every edge of the table is used, whatever its confidence
        self._out: dict[str, dict[str, dict[str, Any]]] = {}
        self._in: dict[str, dict[str, dict[str, Any]]] = {}
        self._closed = False  # holds every prerequisite of each of its nodes (made by around())

    # ------------------------------------------------------------ adjacency
    def _uses(self, e: int) -> bool:
        t = self.table
        if self._every or not t.inferred[e]:
            return True
        return self.min_confidence is not None and t.confidence[e] >= self.min_confidence

    def _adjacent(self, cid: str, forward: bool) -> dict[str, dict[str, Any]]:
        """``cid``'s edges one way (``forward``: what it requires), read from the table on first use and
        kept: the first edge to each neighbour that this view uses."""
        memo = self._out if forward else self._in
        found = memo.get(cid)
        if found is not None:
            return found
        found = memo[cid] = {}
        t = self.table
        r = t.row.get(cid) if t is not None else None
        if r is None:
            return found
        order, ptr, end = (t.out_order, t.out_ptr, t.dst) if forward else (t.in_order, t.in_ptr, t.src)
        for i in range(ptr[r], ptr[r + 1]):
            e = order[i]
            n = t.nodes[end[e]]
            if n not in found and self._uses(e):
                conf = t.confidence[e]
                found[n] = {"inferred": bool(t.inferred[e]), "confidence": None if math.isnan(conf) else conf}
        return found

    def _outgoing(self, cid: str) -> dict[str, dict[str, Any]]:
        return self._adjacent(cid, forward=True)

    def _incoming(self, cid: str) -> dict[str, dict[str, Any]]:
        return self._adjacent(cid, forward=False)

    def __contains__(self, cid: object) -> bool:
        return cid in self._out if self.table is None else cid in self.table.row

    def successors(self, cid: str) -> list[str]:
        """What ``cid`` requires directly."""
        return list(self._outgoing(cid))

    def predecessors(self, cid: str) -> list[str]:
        """What requires ``cid`` directly."""
        return list(self._incoming(cid))

    def edge_data(self, a: str, b: str) -> dict[str, Any]:
        """``{"inferred": bool, "confidence": float | None}`` of the edge ``a -> b`` (KeyError if none)."""
        found = self._outgoing(a).get(b)
        if found is None:
            raise KeyError((a, b))
        return found

    def is_inferred(self, a: str, b: str) -> bool:
        return bool(self.edge_data(a, b)["inferred"])

    def _walk(self, roots: Iterable[str], step: Any) -> set[str]:
        seen: set[str] = set()
        todo = [r for r in roots if r in self]
        while todo:
            for n in step(todo.pop()):
                if n not in seen:
                    seen.add(n)
                    todo.append(n)
        return seen

    def prerequisites(self, cid: str) -> set[str]:
        """Everything ``cid`` transitively requires."""
        return self._walk([cid], self._outgoing) - {cid}

    def dependents(self, cid: str) -> set[str]:
        """Everything that transitively requires ``cid`` (what it unlocks)."""
        return self._walk([cid], self._incoming) - {cid}

    # --------------------------------------------------------- in networkx
    def around(self, roots: Iterable[str]) -> PrereqGraph:
        """The ``roots`` and everything they require, with the edges among them: all a plan for the
        roots reads, as a graph small enough to hand to networkx."""
        import networkx as nx

        roots = [r for r in roots if r in self]
        keep = sorted(set(roots) | self._walk(roots, self._outgoing))
        small = PrereqGraph.__new__(PrereqGraph)
        small._setup(None, self.min_confidence, every=True)
        small._closed = True
        # sorted, so that equal-cost chains break ties the same way however the table numbers its nodes
        small._out = {a: dict(sorted(self._outgoing(a).items())) for a in keep}
        for a in keep:
            small._in.setdefault(a, {})
            for b, d in small._out[a].items():
                small._in.setdefault(b, {})[a] = d
        g = nx.DiGraph()
        g.add_nodes_from(keep)
        g.add_edges_from((a, b, d) for a in keep for b, d in small._out[a].items())
        small.__dict__["g"] = g
        return small

    @cached_property
    def g(self) -> nx.DiGraph:
        """Every edge of this view in networkx, built on first use (whole-graph algorithms only)."""
        import networkx as nx

        g = nx.DiGraph()
        nodes = self.table.nodes if self.table is not None else list(self._out)
        g.add_nodes_from(nodes)
        g.add_edges_from((a, b, dict(d)) for a in nodes for b, d in self._outgoing(a).items())
        return g

    def _small(self, cid: str) -> nx.DiGraph:
        """A networkx graph holding ``cid``'s closure: this one's when it is a closure or built already."""
        return self.g if self._closed or "g" in self.__dict__ else self.around([cid]).g

    def support(self, cid: str) -> dict[str, float]:
        """How well the graph supports each prerequisite of ``cid``: the best product of edge confidences
        over the chains that reach it (asserted edges count 1). A foundation four inferred hops away at
        0.5 each is supported at 0.06; one stated edge away, at 1."""
        import networkx as nx

        if cid not in self:
            return {}

        def cost(_a: str, _b: str, d: dict) -> float:
            return -math.log(max(float(d.get("confidence") or 1.0), 1e-9)) if d.get("inferred") else 0.0

        lengths = nx.single_source_dijkstra_path_length(self._small(cid), cid, weight=cost)
        lengths.pop(cid, None)
        return {n: round(math.exp(-c), 6) for n, c in lengths.items()}

    def plan(
        self,
        cid: str,
        *,
        support: float = PLAN_SUPPORT,
        size: int | None = PLAN_SIZE,
        exclude: Iterable[str] = (),
    ) -> tuple[set[str], set[str]]:
        """The prerequisites a learning plan for ``cid`` lists, and those its chains reach beyond them.

        ``exclude`` (what the learner knows) neither appears nor takes a place.

        Everything ``cid``'s stated edges reach, whatever the cap; then what inferred chains support at
        ``support`` or better (:meth:`support`), nearest first (fewest hops, then best supported, then id),
        while the plan holds fewer than ``size`` (``None``: no cap). A stated foundation four hops down
        gives way to a direct inferred prerequisite, instead of the other way round."""
        if cid not in self:
            return set(), set()
        scores = self.support(cid)
        supported = {n for n, s in scores.items() if s >= support} - set(exclude)
        if size is None or len(supported) <= size:
            return supported, set()
        stated = (self._walk([cid], self._stated) - {cid}) & supported
        hops = self.depths(cid)
        rest = sorted(supported - stated, key=lambda n: (hops[n], -scores[n], n))  # support and hops: one closure
        chosen = stated | set(rest[: max(0, size - len(stated))])
        return chosen, supported - chosen

    def _stated(self, cid: str) -> dict[str, dict[str, Any]]:
        return {n: d for n, d in self._outgoing(cid).items() if not d.get("inferred")}

    def chains(self, cid: str) -> dict[str, list[str]]:
        """Cheapest chain from ``cid`` to each prerequisite; an inferred hop costs more than an asserted one."""
        import networkx as nx

        if cid not in self:
            return {}
        return nx.single_source_dijkstra_path(
            self._small(cid), cid, weight=lambda _a, _b, d: 3.0 if d.get("inferred") else 1.0
        )

    def depths(self, cid: str) -> dict[str, int]:
        """Shortest number of hops from ``cid`` down to each of its prerequisites."""
        import networkx as nx

        if cid not in self:
            return {}
        lengths = nx.single_source_shortest_path_length(self._small(cid), cid)
        lengths.pop(cid, None)
        return dict(lengths)

    def cycles(self) -> list[list[str]]:
        import networkx as nx

        return [sorted(c) for c in nx.simple_cycles(self.g)]

    def foundations_first(self, nodes: Iterable[str] | None = None) -> list[str]:
        """Topological order, prerequisites before what needs them, ties broken by id."""
        import networkx as nx

        sub = self.g if nodes is None else self.g.subgraph(nodes)
        return list(reversed(list(nx.lexicographical_topological_sort(sub))))

    def longest_chains(self, n: int = 5) -> list[list[str]]:
        """The ``n`` longest prerequisite chains, each from a concept down to a foundation."""
        import networkx as nx

        if not nx.is_directed_acyclic_graph(self.g):
            return []
        best: dict[str, list[str]] = {}
        for node in reversed(list(nx.topological_sort(self.g))):
            succ = [best[s] for s in self.g.successors(node)]
            best[node] = [node, *max(succ, key=lambda c: (len(c), c), default=[])]
        chains = sorted(best.values(), key=lambda c: (-len(c), c))
        return chains[:n]

    def redundant_edges(self) -> list[tuple[str, str]]:
        """Direct edges also implied by a longer path (a -> b when a -> c -> ... -> b)."""
        import networkx as nx

        if not nx.is_directed_acyclic_graph(self.g):
            return []
        reduced = nx.transitive_reduction(self.g)
        return sorted(set(self.g.edges()) - set(reduced.edges()))


def lint(
    graph: PrereqGraph, layers: dict[str, str | None], layer_order: dict[str, int], stubs: set[str], theory: set[str]
) -> list[LintFinding]:
    """Facts about the sources worth a curriculum author's attention."""
    out: list[LintFinding] = []
    for cycle in graph.cycles():
        out.append(
            LintFinding(
                kind="cycle",
                severity="violation",
                concepts=cycle,
                message="prerequisite cycle: no valid reading order exists",
            )
        )
    for a, b in sorted(graph.g.edges()):
        la, lb = layers.get(a), layers.get(b)
        if la and lb and layer_order[lb] > layer_order[la]:
            out.append(
                LintFinding(
                    kind="layer-inversion",
                    severity="warning",
                    concepts=[a, b],
                    message=f"{a} (L{la}) requires {b} from a deeper layer (L{lb})",
                )
            )
    for a, b in graph.redundant_edges():
        out.append(
            LintFinding(
                kind="redundant-edge",
                severity="info",
                concepts=[a, b],
                message=f"{a} -> {b} is implied by a longer prerequisite chain",
            )
        )
    for s in sorted(stubs):
        users = sorted(graph.g.predecessors(s))
        out.append(
            LintFinding(
                kind="stub",
                severity="warning",
                concepts=[s, *users],
                message=f"{s} is required by {len(users)} concept(s) but described by no source",
            )
        )
    for node in sorted(theory):
        if node in graph.g and graph.g.degree(node) == 0:
            out.append(
                LintFinding(
                    kind="orphan",
                    severity="info",
                    concepts=[node],
                    message=f"{node} has no prerequisites and nothing requires it",
                )
            )
    return out

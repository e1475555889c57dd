"""A networkx view of the prerequisite edges and the algorithms on it.

Edges point from a concept to what it requires (``a -> b``: a requires b), so
``descendants(a)`` in networkx terms are a's prerequisites. The functions here
name things the curriculum way (prerequisites / dependents) to avoid that trap.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import networkx as nx
from pydantic import BaseModel

#: Gap, path and next plan over inferred edges at or above this confidence by default. It lives
#: here, with the graph they plan over, so graph-only commands need not import kg.inference (numpy).
USE_THRESHOLD = 0.15
#: A plan lists a prerequisite reached through inferred edges when the best chain to it is supported at
#: this or better (product of confidences, :meth:`PrereqGraph.support`); stated chains always count.
PLAN_SUPPORT = 0.07


class LintFinding(BaseModel):
    kind: str
    severity: str
    concepts: list[str]
    message: str


class PrereqGraph:
    """Edges may carry ``inferred`` and ``confidence`` attributes (``(a, b, {...})`` tuples)."""

    def __init__(self, edges: Iterable[tuple], nodes: Iterable[str] = ()) -> None:
        self.g = nx.DiGraph()
        self.g.add_nodes_from(nodes)
        self.g.add_edges_from(edges)

    def is_inferred(self, a: str, b: str) -> bool:
        return bool(self.g.edges[a, b].get("inferred", False))

    def prerequisites(self, cid: str) -> set[str]:
        """Everything ``cid`` transitively requires."""
        return nx.descendants(self.g, cid) if cid in self.g else set()

    def support(self, cid: str) -> dict[str, float]:
        """How well the graph supports each prerequisite of ``cid``: the best product of edge confidences
        over the chains that reach it (asserted edges count 1). A foundation four inferred hops away at
        0.5 each is supported at 0.06; one stated edge away, at 1."""
        if cid not in self.g:
            return {}

        def cost(_a: str, _b: str, d: dict) -> float:
            return -math.log(max(float(d.get("confidence") or 1.0), 1e-9)) if d.get("inferred") else 0.0

        lengths = nx.single_source_dijkstra_path_length(self.g, cid, weight=cost)
        lengths.pop(cid, None)
        return {n: round(math.exp(-c), 6) for n, c in lengths.items()}

    def dependents(self, cid: str) -> set[str]:
        """Everything that transitively requires ``cid`` (what it unlocks)."""
        return nx.ancestors(self.g, cid) if cid in self.g else set()

    def depths(self, cid: str) -> dict[str, int]:
        """Shortest number of hops from ``cid`` down to each of its prerequisites."""
        if cid not in self.g:
            return {}
        lengths = nx.single_source_shortest_path_length(self.g, cid)
        lengths.pop(cid, None)
        return dict(lengths)

    def cycles(self) -> list[list[str]]:
        return [sorted(c) for c in nx.simple_cycles(self.g)]

    def foundations_first(self, nodes: Iterable[str] | None = None) -> list[str]:
        """Topological order, prerequisites before what needs them, ties broken by id."""
        sub = self.g if nodes is None else self.g.subgraph(nodes)
        return list(reversed(list(nx.lexicographical_topological_sort(sub))))

    def longest_chains(self, n: int = 5) -> list[list[str]]:
        """The ``n`` longest prerequisite chains, each from a concept down to a foundation."""
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

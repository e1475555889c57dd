"""Adding inferred edges to the prerequisite DAG without ever closing a cycle."""

from __future__ import annotations

from collections.abc import Mapping

import networkx as nx

from kg.inference.layers import LAYER_ORDER


class Acyclic:
    """Adds edges to a DAG, refusing any that would close a cycle. The DAG is the ``graph`` it is given,
    grown in place: after the loop that graph holds every accepted edge, whatever its confidence.

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


def reachable(successors: Mapping[str, list[str]], start: str) -> set[str]:
    """Everything ``start`` requires, directly or not (``nx.descendants`` without its per-edge overhead)."""
    seen: set[str] = set()
    stack = list(successors[start])
    while stack:
        n = stack.pop()
        if n not in seen:
            seen.add(n)
            stack.extend(successors[n])
    return seen

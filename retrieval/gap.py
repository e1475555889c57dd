"""The gap finder: what a learner is missing before a target, in reading order.

Missing = prerequisites of the targets (transitive), minus what the learner
knows and, by default, minus what the known concepts themselves require (a
learner who knows "VC Dimension" is taken to know what it rests on). Ordered
foundations first: a topological order whose ties break by layer, then id.

Plans run over asserted edges plus inferred ones at or above a confidence
(``kg.graph.USE_THRESHOLD`` unless told otherwise); anything that rests on an
inference says so (``inferred``, ``confidence``, ``layer_inferred``,
``minutes_inferred``), and ``asserted_only`` turns inference off.
"""

from __future__ import annotations

import itertools
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from ckg.errors import CkgError
from ingest.concepts import ConceptDoc
from ingest.records import LAYERS
from kg.graph import PLAN_SIZE, USE_THRESHOLD, PrereqGraph
from retrieval.names import NameResolver, Resolution
from retrieval.picture import PlanPicture, picture

if TYPE_CHECKING:
    from retrieval.service import SearchService


class GapItem(ConceptDoc):
    """A concept document plus its place in a plan."""

    step: int
    #: The chain from a target down to this item (target first); asserted links preferred.
    why: list[str]
    needed_by: list[str]
    #: True when the chain in ``why`` uses an inferred edge.
    via_inferred: bool = False
    #: The lowest confidence of an inferred edge on that chain (None when all asserted).
    confidence: float | None = None
    #: Concepts the taxonomy calls the same topic, folded into this item.
    same_as: list[str] = Field(default_factory=list)


class GapPlan(BaseModel):
    targets: list[str]
    known: list[str]
    missing: list[GapItem]
    total_minutes: int
    inferred_minutes: int = Field(0, description="the part of total_minutes that is estimated, not stated")
    unknown_minutes: int = Field(description="items whose study time is neither stated nor inferred")
    asserted_only: bool = False
    min_confidence: float | None = Field(None, description="inferred edges at or above this were used")
    resolved: dict[str, str] = Field(default_factory=dict, description="free-text target -> concept id")
    related: list[dict[str, Any]] = Field(default_factory=list)
    graph: PlanPicture | None = Field(None, description="the plan as a drawable graph, when asked for")
    omitted: int = Field(
        0,
        description=f"prerequisites the inferred chains reach beyond the plan's {PLAN_SIZE} nearest "
        "(deeper and less supported ones); asking for the full plan lists them",
    )


class GapFinder:
    def __init__(
        self,
        workspace: Any,
        *,
        asserted_only: bool = False,
        min_confidence: float | None = None,
        search: SearchService | None = None,
        full: bool = False,
    ) -> None:
        if search is not None:
            self.__dict__["search"] = search  # share an already loaded service (the server's)
        self.ws = workspace
        self.cat = workspace.catalog
        #: References that were guessed (a typo, the start of a label, free text), for the caller to say so.
        self.notes: list[Resolution] = []
        self.asserted_only = asserted_only
        #: A plan over inferred edges lists its :data:`~kg.graph.PLAN_SIZE` nearest prerequisites unless ``full``.
        self.plan_size = None if full else PLAN_SIZE
        self.min_confidence = None if asserted_only else (USE_THRESHOLD if min_confidence is None else min_confidence)
        if self.min_confidence is not None and not 0.0 <= self.min_confidence <= 1.0:
            raise CkgError(f"min-confidence must be between 0 and 1, not {self.min_confidence}")
        self.graph = workspace.graph if self.min_confidence is None else workspace.planning_graph(self.min_confidence)

    @cached_property
    def search(self) -> SearchService:
        """Loaded on first need (free text, related): plain gaps never touch the index or model."""
        from retrieval.service import SearchService

        return SearchService(self.ws)

    # ---------------------------------------------------------- references
    @cached_property
    def names(self) -> NameResolver:
        """Exact, variant, typo, partial, then (free text) semantic: the same rules as everywhere."""
        return NameResolver(self.cat, lambda: self.search)

    def resolve(self, ref: str, *, free_text: bool = True) -> Resolution:
        return self.names.resolve(ref, free_text=free_text)

    def known_set(
        self, refs: list[str] | None = None, file: Path | None = None, up_to_layer: str | None = None
    ) -> set[str]:
        known: set[str] = set()
        items = list(refs or [])
        if file is not None:
            if not file.exists():
                raise CkgError(f"known-file {file} not found")
            items += [
                ln.strip() for ln in file.read_text("utf-8").splitlines() if ln.strip() and not ln.startswith("#")
            ]
        for ref in items:
            known.add(self.known_resolution(ref).id)
        if up_to_layer is not None:
            code = up_to_layer.upper().removeprefix("L")
            if code not in LAYERS:
                raise CkgError(f"unknown layer {up_to_layer!r}; use one of {', '.join(LAYERS)}")
            limit = LAYERS.index(code)
            known |= {c.id for c in self.cat.concepts.values() if c.layer and LAYERS.index(c.layer) <= limit}
        return known

    def known_resolution(self, ref: str) -> Resolution:
        """A known concept: by name only (a typo or the start of a label is fine, free text is not)."""
        res = self.names.resolve(ref, free_text=False)
        if res.guessed:
            self.notes.append(res)
        return res

    # ----------------------------------------------------------------- gap
    def order(self, nodes: set[str], view: PrereqGraph) -> list[str]:
        """Foundations first; ties by layer then id, so the order is stable.

        Over the transitive requirements among ``nodes``, not only their direct edges: a capped plan can
        leave out the concept between two it lists (Decision Tree rests on Gradient Descent through Support
        Vector Machine, which Gradient Boosting's plan has no place for), and the order must still hold.
        ``view``: the plan's own small graph (:meth:`PrereqGraph.around`), which holds those closures."""
        import networkx as nx

        sub = nx.DiGraph()  # a -> b when b requires a, directly or through concepts left out
        sub.add_nodes_from(nodes)
        sub.add_edges_from((b, a) for a in nodes for b in view.prerequisites(a) & nodes)

        def key(n: str) -> str:
            layer, _ = self.cat.concepts[n].layer_with_flag()
            return f"{LAYERS.index(layer) if layer else 9}:{n}"

        try:
            return list(nx.lexicographical_topological_sort(sub, key=key))
        except nx.NetworkXUnfeasible:
            # Ingest breaks stated cycles and inference never adds one, so only a hand-edited build gets here.
            cycle = " -> ".join(b for _a, b in nx.find_cycle(sub))
            raise CkgError(
                f"prerequisite cycle in this build ({cycle}): no reading order exists; rebuild with `ckg ingest`"
            ) from None

    def gap(
        self,
        targets: list[str],
        known: set[str] | None = None,
        *,
        exclude_known_prerequisites: bool = True,
        related: int = 0,
        graph: bool = False,
    ) -> GapPlan:
        if not targets:
            raise CkgError("give at least one target")
        known = set(known or ())
        resolved: dict[str, str] = {}
        ids = []
        for t in targets:
            res = self.resolve(t)
            if res.guessed:
                resolved[t] = res.id
                self.notes.append(res)
            ids.append(res.id)
        # Everything below reads the targets' and known concepts' closures only: a graph of those.
        view = self.graph.around([*ids, *sorted(known)])
        covered = set(known)
        if exclude_known_prerequisites:
            for k in known:
                covered |= view.prerequisites(k)
        needed: dict[str, list[str]] = {}
        # Left out of one target's plan but listed for another (or folded into a same-topic item): not omitted.
        omitted: set[str] = set()
        for t in ids:
            reach, left = self._reach(view, t, covered)
            omitted |= left
            for p in reach:
                needed.setdefault(p, []).append(t)
        reached = set(needed)
        # One topic, one item: of two concepts the taxonomy calls the same topic, keep the one listed first
        # (or a target); the other is named in its ``same_as``.
        same_as: dict[str, list[str]] = {}
        paired = [n for n in needed if self._same_topic(n)]  # usually none: no closure sizes to compute then
        for cid in sorted(paired, key=lambda n: (len(view.prerequisites(n)), n)):
            if cid not in needed:
                continue
            for other in self._same_topic(cid):
                if other in needed and other != cid:
                    needed.pop(other)
                    same_as.setdefault(cid, []).append(other)
                elif other in ids:
                    needed.pop(cid, None)
                    break
        chains = {t: view.chains(t) for t in dict.fromkeys(ids)}
        items = []
        for cid in self.order(set(needed), view):
            c = self.cat.concepts[cid]
            chain = chains[needed[cid][0]][cid]
            inferred = [
                view.edge_data(a, b)["confidence"] for a, b in itertools.pairwise(chain) if view.is_inferred(a, b)
            ]
            items.append(
                c.doc(self.cat.iri(cid)).extended(
                    GapItem,
                    step=len(items) + 1,
                    why=chain,
                    needed_by=sorted(set(needed[cid])),
                    via_inferred=bool(inferred),
                    confidence=min(inferred) if inferred else None,
                    same_as=sorted(same_as.get(cid, [])),
                )
            )
        plan = GapPlan(
            targets=ids,
            known=sorted(known),
            missing=items,
            total_minutes=sum(i.minutes or 0 for i in items),
            inferred_minutes=sum(i.minutes or 0 for i in items if i.minutes_inferred),
            unknown_minutes=sum(1 for i in items if i.minutes is None),
            resolved=resolved,
            asserted_only=self.asserted_only,
            min_confidence=self.min_confidence,
            omitted=len(omitted - reached),
        )
        if related:
            plan.related = self.related(ids, set(needed) | covered, related)
        if graph:
            plan.graph = self.picture(plan)
        return plan

    def picture(self, plan: GapPlan) -> PlanPicture:
        """``plan`` as a drawable graph (see :mod:`retrieval.picture`)."""
        g = self.graph.around([*plan.targets, *plan.known]).g
        shown = [*plan.targets, *(i.id for i in plan.missing)]
        around = set(plan.targets) | {p for n in shown if n in g for p in g.successors(n) if p in plan.known}
        docs = {cid: self.cat.concepts[cid].doc(self.cat.iri(cid)) for cid in around if cid in self.cat.concepts}
        return picture(plan, g, docs)

    def _same_topic(self, cid: str) -> list[str]:
        return [str(f.value) for f in self.cat.concepts[cid].relations.get("same_topic", [])]

    def _reach(self, graph: PrereqGraph, target: str, covered: set[str]) -> tuple[set[str], set[str]]:
        """The prerequisites a plan for ``target`` lists (``covered`` ones left out), and those its chains
        reach beyond them: all it transitively requires through stated edges, and what inferred chains
        support at :data:`~kg.graph.PLAN_SUPPORT` or better, nearest first up to the plan's size (see
        :meth:`PrereqGraph.plan`), so weak guesses do not compound into foundations of everything."""
        if self.min_confidence is None:
            return graph.prerequisites(target) - covered, set()
        return graph.plan(target, size=self.plan_size, exclude=covered)

    def related(self, targets: list[str], exclude: set[str], k: int) -> list[dict[str, Any]]:
        """Related concepts a learner is missing: taxonomy links first (broader, narrower, related, same
        topic), then concepts close in meaning; never a prerequisite or a known concept. Each says why."""
        out: list[dict[str, Any]] = []
        seen = set(targets) | exclude
        for t in targets:
            mine: list[dict[str, Any]] = []
            for kind, facts in self.cat.concepts[t].relations.items():
                for f in facts:
                    if str(f.value) not in seen:
                        seen.add(str(f.value))
                        c = self.cat.concepts[str(f.value)]
                        mine.append(
                            {
                                "id": c.id,
                                "label": c.label,
                                "target": t,
                                "kind": kind,
                                "why": f.evidence,
                                "confidence": f.confidence,
                                "similarity": None,
                            }
                        )
            if len(mine) < k:
                for h in self.search.similar(self.cat.concepts[t], k=k + len(seen)):
                    if h.id in seen:
                        continue
                    seen.add(h.id)
                    mine.append(
                        {
                            "id": h.id,
                            "label": h.label,
                            "target": t,
                            "kind": "similar",
                            "why": f"close in meaning (cosine {h.score:.2f})",
                            "confidence": None,
                            "similarity": h.score,
                        }
                    )
                    if len(mine) >= k:
                        break
            out += mine[:k]
        return out

    def path(self, target: str, *, graph: bool = False) -> GapPlan:
        """The full path from foundations to ``target``: a gap with nothing known."""
        return self.gap([target], set(), graph=graph)

    def next_up(self, known: set[str]) -> list[str]:
        """Concepts whose every prerequisite is known, themselves not known: ready to learn now."""
        ready = []
        for cid in sorted(self.cat.concepts):
            if cid in known or self.cat.concepts[cid].stub:
                continue
            prereqs = set(self.graph.successors(cid))
            if prereqs and prereqs <= known:
                ready.append(cid)
        return ready

"""Grounded context packs for RAG assistants: concepts that answer a question, cited to file and line.

A pack holds the concepts hybrid search finds for the question plus the direct
prerequisites of the best few (so an assistant can explain what a reader needs
first), the prerequisite relations among them, a foundations-first reading
order, and a Markdown rendering whose ``[C1]`` markers an LLM can cite. The
token budget is spent in relevance order; what does not fit is dropped, least
relevant first, and listed. The fingerprint names the exact graph and model
that produced the pack, so an answer can be traced to a build.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import networkx as nx
from pydantic import BaseModel, Field

from ckg.errors import CkgError
from ingest.concepts import Concept, ConceptDoc
from ingest.records import LAYERS
from retrieval.tokens import TokenCounter, get_counter

MIN_BUDGET, MAX_BUDGET = 100, 32_000
#: How many search hits lend their direct prerequisites to the pack, and how much relevance those inherit.
SUPPORTED_HITS, SUPPORT_FACTOR = 3, 0.5


class Citation(BaseModel):
    file: str
    line: int
    title: str


class ContextItem(ConceptDoc):
    """A concept document plus its marker, why it is in the pack, what to cite and its token cost."""

    marker: str
    relevance: float
    why: str
    citations: list[Citation]
    tokens: int


class ContextRelation(BaseModel):
    source: str = Field(description="marker of the concept that requires")
    target: str = Field(description="marker of the required concept")
    source_id: str
    target_id: str
    inferred: bool = False
    confidence: float | None = None


class DroppedItem(BaseModel):
    id: str
    label: str
    relevance: float
    tokens: int


class ContextPack(BaseModel):
    question: str
    items: list[ContextItem]
    relations: list[ContextRelation]
    reading_order: list[str] = Field(description="markers, foundations first")
    dropped: list[DroppedItem]
    budget: int
    tokens_used: int
    tokenizer: str
    fingerprint: str
    build: dict[str, Any]
    markdown: str


class _Candidate(BaseModel):
    concept: Concept
    relevance: float
    why: str


class ContextBuilder:
    """Search + planning graph + token counter, loaded once (the server keeps one)."""

    def __init__(self, workspace: Any, search: Any = None, counter: TokenCounter | None = None) -> None:
        from kg.graph import USE_THRESHOLD
        from retrieval.service import SearchService

        self.ws = workspace
        self.cat = workspace.catalog
        self.search = search or SearchService(workspace)
        self.graph = workspace.planning_graph(USE_THRESHOLD)
        self.counter = counter or get_counter(self.search.index.manifest.get("model"))

    # ----------------------------------------------------------- identity
    def build_info(self) -> dict[str, Any]:
        manifest = self.search.index.manifest
        return {
            "dataset_sha256": self.ws.manifest.get("dataset_sha256"),
            "model": manifest.get("model"),
            "template_hash": manifest.get("template_hash"),
            "concept_set_hash": manifest.get("concept_set_hash"),
            "ckg_version": self.ws.manifest.get("ckg_version"),
        }

    def fingerprint(self) -> str:
        blob = json.dumps(self.build_info(), sort_keys=True).encode()
        return "sha256:" + hashlib.sha256(blob).hexdigest()[:16]

    # --------------------------------------------------------------- pack
    def build(self, question: str, *, budget: int = 1500, k: int = 8) -> ContextPack:
        if not MIN_BUDGET <= budget <= MAX_BUDGET:
            raise CkgError(f"budget must be between {MIN_BUDGET} and {MAX_BUDGET} tokens, got {budget}")
        if not 1 <= k <= 50:
            raise CkgError(f"k must be between 1 and 50, got {k}")
        candidates = self._candidates(question, k)
        included = list(candidates)
        dropped: list[_Candidate] = []
        while True:
            pack = self._render(question, included, dropped, budget)
            if pack.tokens_used <= budget or not included:
                return pack
            dropped.insert(0, included.pop())  # least relevant last in ``included``

    def _candidates(self, question: str, k: int) -> list[_Candidate]:
        hits = self.search.search(question, k=k)
        if not hits:
            raise CkgError(f"nothing in the graph matches {question!r}")
        top = hits[0].score or 1.0
        out: dict[str, _Candidate] = {}
        for rank, h in enumerate(hits, start=1):
            arms = ", ".join(
                f"{arm} #{e.rank}" + (f" '{e.matched_label}'" if e.matched_label else "")
                for arm, e in sorted(h.evidence.items())
            )
            out[h.id] = _Candidate(
                concept=self.cat.concepts[h.id], relevance=round(h.score / top, 4), why=f"search hit {rank} ({arms})"
            )
        for h in hits[:SUPPORTED_HITS]:
            for p in sorted(self.graph.successors(h.id)):
                d = self.graph.edge_data(h.id, p)
                weight = SUPPORT_FACTOR * (d["confidence"] if d.get("inferred") else 1.0)
                relevance = round(out[h.id].relevance * weight, 4)
                kind = f"inferred, confidence {d['confidence']:.2f}" if d.get("inferred") else "asserted"
                if p not in out or out[p].relevance < relevance:
                    prev = f"; {out[p].why}" if p in out else ""
                    out[p] = _Candidate(
                        concept=self.cat.concepts[p],
                        relevance=relevance,
                        why=f"prerequisite of {self.cat.concepts[h.id].label} ({kind}){prev}",
                    )
        return sorted(out.values(), key=lambda c: (-c.relevance, c.concept.id))

    def _citations(self, c: Concept) -> list[Citation]:
        if c.sources:
            return [Citation(file=s.file, line=s.line, title=s.title) for s in c.sources]
        # A stub is described nowhere; cite the prerequisite lines that name it.
        return [
            Citation(file=p.file, line=p.line, title=f"prerequisite of {self.cat.concepts[user].label}")
            for user in c.referenced_by
            for p in self.cat.concepts[user].prerequisites
            if p.target == c.id
        ]

    def _render(self, question: str, included: list[_Candidate], dropped: list[_Candidate], budget: int) -> ContextPack:
        markers = {cand.concept.id: f"C{n}" for n, cand in enumerate(included, start=1)}
        items = [self._item(cand, markers[cand.concept.id]) for cand in included]
        relations = self._relations(markers)
        order = self._reading_order(markers)
        dropped_items = [
            DroppedItem(
                id=d.concept.id, label=d.concept.label, relevance=d.relevance, tokens=self._item(d, "C0").tokens
            )
            for d in dropped
        ]
        pack = ContextPack(
            question=question,
            items=items,
            relations=relations,
            reading_order=order,
            dropped=dropped_items,
            budget=budget,
            tokens_used=0,
            tokenizer=self.counter.name,
            fingerprint=self.fingerprint(),
            build=self.build_info(),
            markdown="",
        )
        pack.markdown = render_markdown(pack)
        pack.tokens_used = self.counter.count(pack.markdown)
        return pack

    def _item(self, cand: _Candidate, marker: str) -> ContextItem:
        """One concept as the pack shows it, with the tokens its Markdown block costs."""
        c = cand.concept
        item = c.doc(self.cat.iri(c.id)).extended(
            ContextItem,
            marker=marker,
            relevance=cand.relevance,
            why=cand.why,
            citations=self._citations(c),
            tokens=0,
        )
        item.tokens = self.counter.count(_item_markdown(item))
        return item

    def _relations(self, markers: dict[str, str]) -> list[ContextRelation]:
        out = []
        for a in markers:
            for b in sorted(self.graph.successors(a)):
                if b in markers:
                    d = self.graph.edge_data(a, b)
                    inferred = bool(d.get("inferred"))
                    out.append(
                        ContextRelation(
                            source=markers[a],
                            target=markers[b],
                            source_id=a,
                            target_id=b,
                            inferred=inferred,
                            confidence=d["confidence"] if inferred else None,
                        )
                    )
        return out

    def _reading_order(self, markers: dict[str, str]) -> list[str]:
        """Foundations first over the transitive requirements among the pack's concepts; ties by relevance."""
        sub = nx.DiGraph()
        sub.add_nodes_from(markers)
        for a in markers:
            for b in self.graph.prerequisites(a) & markers.keys():
                sub.add_edge(b, a)
        rank = {cid: i for i, cid in enumerate(markers)}
        layer = {
            cid: LAYERS.index(lay) if (lay := self.cat.concepts[cid].layer_with_flag()[0]) else len(LAYERS)
            for cid in markers
        }
        order = nx.lexicographical_topological_sort(sub, key=lambda n: (layer[n], rank[n]))
        return [markers[n] for n in order]


def _item_markdown(item: ContextItem) -> str:
    facts = []
    if item.layer:
        facts.append(f"layer {item.layer}" + (" (inferred)" if item.layer_inferred else ""))
    if item.minutes is not None:
        facts.append(f"{item.minutes} min" + (" (estimated)" if item.minutes_inferred else ""))
    head = f"[{item.marker}] **{item.label}**" + (f" ({', '.join(facts)})" if facts else "")
    cites = "; ".join(f"{c.file}:{c.line}" for c in item.citations) or "no source (stub)"
    body = item.definition or "No definition in any source."
    return f"{head}: {body}\nWhy: {item.why}. Sources: {cites}"


def render_markdown(pack: ContextPack) -> str:
    lines = [
        f"# Context: {pack.question}",
        "",
        f"Graph {pack.fingerprint}. Cite concepts by their [C#] marker; each lists its source file:line.",
        "",
        "## Concepts",
        "",
    ]
    for item in pack.items:
        lines += [_item_markdown(item), ""]
    if pack.relations:
        lines += ["## Prerequisites among these concepts", ""]
        for r in pack.relations:
            how = f"inferred, confidence {r.confidence:.2f}" if r.inferred else "stated by theory-library.txt"
            lines.append(f"- [{r.source}] requires [{r.target}] ({how})")
        lines.append("")
    if pack.reading_order:
        lines += ["## Suggested reading order", "", " → ".join(f"[{m}]" for m in pack.reading_order), ""]
    if pack.dropped:
        lines += [f"({len(pack.dropped)} less relevant concept(s) left out for the token budget.)", ""]
    return "\n".join(lines).rstrip() + "\n"

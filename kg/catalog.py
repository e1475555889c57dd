"""Concepts read back from the graph, and lookup of a concept by id, IRI or label.

Reading from the graph (not from ingest's objects) keeps one source of truth:
what the CLI, the server and SPARQL users see is what the dataset holds. The
build alone takes a shortcut (:meth:`Catalog.from_ingest`: the same catalog
straight from the ingest that the graph is written from; a test asserts both
give the same snapshot), because reading ~4M quads back cost ~50 s at 100k
concepts.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import astuple, dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import pyoxigraph as ox
from pydantic import BaseModel
from rdflib import PROV, RDF, SKOS

from ckg.errors import ConceptNotFoundError
from ingest.concepts import Concept, InferredFact, Prerequisite, SourceRef
from ingest.records import LAYERS, SOURCE_FILES
from ingest.text import fold
from kg.iris import INFERRED, MERGED, Iris
from kg.store import GraphStore, term_value
from ontology.namespace import CKG, SCHEMA

if TYPE_CHECKING:
    from ingest.pipeline import Ingest
    from ingest.resolve import SlugMatcher

_FILES = {v: k for k, v in SOURCE_FILES.items()}
_SOURCE_ORDER = {name: i for i, name in enumerate(SOURCE_FILES)}


@dataclass
class Edge:
    source: str
    target: str
    slug: str | None = None
    method: str | None = None
    line: int | None = None
    inferred: bool = False
    confidence: float = 1.0


def concept_matches(
    c: Concept, *, source: str | None = None, layer: str | None = None, module: str | None = None
) -> bool:
    """The one filter rule for listing and search: source (name or file), layer, module."""
    if source and source not in {s.source for s in c.sources} | {s.file for s in c.sources}:
        return False
    if layer and (c.layer or "").upper() != layer.upper().removeprefix("L"):
        return False
    return not (module and fold(module) not in {fold(m) for m in c.modules})


#: Inferred taxonomy predicates -> (name on the subject, name on the object).
_RELATION_KINDS = {
    str(SKOS.broader): ("broader", "narrower"),
    str(SKOS.related): ("related", "related"),
    str(SKOS.closeMatch): ("same_topic", "same_topic"),
}

_LINK_PROPS = {
    CKG.linkSource: "s",
    CKG.inferredProperty: "prop",
    CKG.linkTarget: "t",
    RDF.value: "v",
    CKG.method: "method",
    CKG.confidence: "conf",
    CKG.evidence: "ev",
}


def _dumps(value: object) -> bytes:
    """JSON as the snapshot writes it: the same catalog gives the same bytes however it was made."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True).encode("utf-8")


class LazyConcepts(Mapping[str, Concept]):
    """The concepts of a catalog snapshot, each validated from its own bytes the first time it is read.

    Opening a 100k-concept build validated every concept document (6.4 s) although a graph-only
    command reads a few dozen; the label index and the edges a plan needs come precomputed in the
    snapshot's index (:meth:`Catalog.snapshot_files`). Iterating the values still validates them all.
    """

    def __init__(self, data: bytes, spans: dict[str, tuple[int, int]]) -> None:
        self._data = data
        self._spans = spans
        self._done: dict[str, Concept] = {}

    def __getitem__(self, cid: str) -> Concept:
        found = self._done.get(cid)
        if found is None:
            start, end = self._spans[cid]  # KeyError for an unknown id, as a dict would
            found = self._done[cid] = Concept.model_validate_json(self._data[start:end])
        return found

    def __contains__(self, cid: object) -> bool:
        return cid in self._spans

    def __iter__(self) -> Iterator[str]:
        return iter(self._spans)

    def __len__(self) -> int:
        return len(self._spans)

    @property
    def validated(self) -> int:
        """How many documents have been validated so far (what opening spared is the rest)."""
        return len(self._done)


class _Snapshot(BaseModel):
    """The shape of ``catalog.json`` (see :meth:`Catalog.snapshot`)."""

    concepts: list[Concept]
    modules: dict[str, str]
    layer_order: dict[str, int]
    path_links: list[tuple[str, str, float]]


class Catalog:
    """All concepts of a build, indexed for lookup."""

    def __init__(self, store: GraphStore | None, base_iri: str) -> None:
        self.store = store
        self.iris = Iris(base_iri)
        self.concepts: Mapping[str, Concept] = {}
        #: Edges as the snapshot index lists them (a lazily opened catalog reads no concept to list edges).
        self._edge_rows: list[list] | None = None
        self.modules: dict[str, str] = {}
        self.layer_order: dict[str, int] = {}
        self.path_links: list[tuple[str, str, float]] = []
        if store is not None:
            self._load()
        self._index_labels()

    @classmethod
    def from_ingest(cls, ingest: Ingest, base_iri: str) -> Catalog:
        """The catalog that the graph built from ``ingest`` reads back as, without building or reading it."""
        from kg.build import iter_module_members

        cat = cls(None, base_iri)
        cat.layer_order = {code: i for i, code in enumerate(LAYERS)}
        cat.modules = {
            cat.iris.module(m.source, m.title): m.title for parsed in ingest.parsed.values() for m in parsed.modules
        }
        module_of: dict[str, list[str]] = defaultdict(list)
        for _source, title, cid in sorted(set(iter_module_members(ingest))):
            module_of[cid].append(title)
        concepts: dict[str, Concept] = {}
        for c in sorted(ingest.concepts, key=lambda c: c.id):
            concepts[c.id] = c.model_copy(
                update={
                    "alt_labels": sorted(c.alt_labels),
                    "modules": sorted(module_of.get(c.id, [])),
                    "sources": sorted(
                        {(s.source, s.line): s for s in c.sources}.values(),
                        key=lambda s: (_SOURCE_ORDER[s.source], s.line),
                    ),
                    "prerequisites": sorted(
                        (p.model_copy(update={"file": SOURCE_FILES["theory-library"]}) for p in c.prerequisites),
                        key=lambda e: (e.line, e.target),
                    ),
                    "referenced_by": [],
                    "inferred": {},
                    "inferred_prerequisites": [],
                }
            )
        cat.concepts = concepts
        cat._link_stubs()
        cat._index_labels()
        return cat

    def _link_stubs(self) -> None:
        for c in self.concepts.values():
            for pr in c.prerequisites:
                target = self.concepts.get(pr.target)
                if target is not None and target.stub and c.id not in target.referenced_by:
                    target.referenced_by.append(c.id)
        for c in self.concepts.values():
            c.referenced_by.sort()  # the store's iteration order is not a contract

    # -------------------------------------------------------------- snapshot
    def snapshot(self) -> bytes:
        """The catalog as JSON, written beside the dataset by the build (same staging dir, same swap)."""
        return self._snapshot()[0]

    def snapshot_files(self) -> tuple[bytes, bytes]:
        """``catalog.json`` and its index ``catalog.index.json``: where each concept's document lies
        (byte spans), the label lookup table and every edge, so that opening a build validates no
        concept (:class:`LazyConcepts`)."""
        data, spans = self._snapshot()
        index = {
            "spans": spans,
            "labels": sorted(self._labels.items()),
            "edges": [astuple(e) for e in self.edges(inferred=True)],
            "modules": self.modules,
            "layer_order": self.layer_order,
            "path_links": self.path_links,
        }
        return data, _dumps(index)

    def _snapshot(self) -> tuple[bytes, list[tuple[str, int, int]]]:
        """``json.dumps(..., sort_keys=True, ensure_ascii=False)`` of concepts, modules, layer order and
        path links, composed piece by piece to record each concept's ``(id, start, end)`` byte span."""
        parts = [b'{"concepts": [']
        at = len(parts[0])
        spans: list[tuple[str, int, int]] = []
        for i, c in enumerate(self.concepts.values()):
            if i:
                parts.append(b", ")
                at += 2
            doc = _dumps(c.model_dump(mode="json"))
            spans.append((c.id, at, at + len(doc)))
            parts.append(doc)
            at += len(doc)
        parts.append(b'], "layer_order": ' + _dumps(self.layer_order))
        parts.append(b', "modules": ' + _dumps(self.modules))
        parts.append(b', "path_links": ' + _dumps(self.path_links) + b"}")
        return b"".join(parts), spans

    @classmethod
    def from_snapshot(cls, data: bytes, base_iri: str, index: bytes | None = None) -> Catalog:
        """A catalog without parsing the dataset: graph-only commands start in a fraction of the time.

        With the snapshot's ``index`` (builds since stop 22) nothing is validated up front: concepts
        are read as they are asked for. Without it, every concept is validated here.
        """
        cat = cls(None, base_iri)
        if index is not None:
            doc = json.loads(index)
            cat.concepts = LazyConcepts(data, {cid: (start, end) for cid, start, end in doc["spans"]})
            cat.modules = doc["modules"]
            cat.layer_order = doc["layer_order"]
            cat.path_links = [tuple(link) for link in doc["path_links"]]
            cat._labels = dict(doc["labels"])
            cat._edge_rows = doc["edges"]
            return cat
        snap = _Snapshot.model_validate_json(data)  # one pass in pydantic-core: half the time of json + validate
        cat.concepts = {c.id: c for c in snap.concepts}
        cat.modules = snap.modules
        cat.layer_order = snap.layer_order
        cat.path_links = snap.path_links
        cat._index_labels()
        return cat

    def _index_labels(self) -> None:
        self._labels: dict[str, str] = {}
        for c in sorted(self.concepts.values(), key=lambda c: (c.stub, c.id), reverse=True):
            for label in (c.id, c.label, *c.alt_labels):
                self._labels[fold(label).strip()] = c.id

    # ------------------------------------------------------------------ load
    def _load(self) -> None:
        st = self.store.store
        concepts: dict[str, Concept] = {}
        merged = ox.NamedNode(self.iris.graph(MERGED))
        props: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
        for q in st.quads_for_pattern(None, None, None, merged):
            props[q.subject.value][q.predicate.value].append(q.object)
        T = str(RDF.type)
        for node, p in props.items():
            values = p.get(T, [])
            if any(v.value == str(CKG.Layer) for v in values):
                code = term_value(p[str(SKOS.notation)][0])[1:]
                self.layer_order[code] = term_value(p[str(CKG.order)][0])
            if any(v.value in (str(CKG.Module), str(CKG.ConceptGroup)) for v in values):
                self.modules[node] = term_value(p[str(SKOS.prefLabel)][0])
        module_of: dict[str, list[str]] = defaultdict(list)
        for node, p in props.items():
            if node in self.modules:
                for member in p.get(str(SKOS.member), []):
                    module_of[member.value].append(self.modules[node])
        records = self._records()
        links = self._links()
        for node, p in props.items():
            if not any(v.value == str(CKG.Concept) for v in p.get(T, [])):
                continue
            cid = self.iris.concept_id(node)
            if cid is None:
                continue

            def one(prop: object, p: dict = p):
                vals = p.get(str(prop))
                return term_value(vals[0]) if vals else None

            layer = one(CKG.layer)
            sources = sorted(
                (records[r.value] for r in p.get(str(PROV.wasDerivedFrom), []) if r.value in records),
                key=lambda s: (list(SOURCE_FILES).index(s.source), s.line),
            )
            prereqs = sorted(
                (
                    links.get((cid, t), Prerequisite(target=t, slug="", method="", file="", line=0))
                    for t in (self.iris.concept_id(o.value) for o in p.get(str(CKG.requires), []))
                    if t
                ),
                key=lambda e: (e.line, e.target),
            )
            concepts[cid] = Concept(
                id=cid,
                label=one(SKOS.prefLabel) or cid,
                alt_labels=sorted(term_value(v) for v in p.get(str(SKOS.altLabel), [])),
                definition=one(SKOS.definition),
                layer=layer.rsplit("/L", 1)[1] if layer else None,
                tier=one(CKG.tier),
                minutes=one(CKG.studyMinutes),
                level=one(SCHEMA.educationalLevel),
                modules=sorted(module_of.get(node, [])),
                premium=bool(one(CKG.premium)),
                stub=bool(one(CKG.stub)),
                sources=sources,
                prerequisites=prereqs,
                unlisted_prerequisites=one(CKG.unlistedPrerequisites) or 0,
                problem_statement=one(CKG.problemStatement),
            )
        self.concepts = dict(sorted(concepts.items()))  # the store's iteration order is not a contract
        self._load_inferred(
            self.store.store.quads_for_pattern(None, None, None, ox.NamedNode(self.iris.graph(INFERRED)))
        )
        self._link_stubs()

    def add_inferred(self, quads: list[ox.Quad]) -> None:
        """Attach the inferred graph's quads to a catalog made before inference ran (the build does this)."""
        if self.store is not None:
            self.store.store.bulk_extend(quads)
        for c in self.concepts.values():
            c.inferred.clear()
            c.inferred_prerequisites.clear()
            c.relations.clear()
        self._load_inferred(quads)

    def _load_inferred(self, quads: Iterable[ox.Quad]) -> None:
        """Inferred facts from the inferred graph's quads, attached to their concepts (never to asserted fields)."""
        self.path_links = []
        # Read the quads directly: one pass, no SPARQL join over ~20k link nodes.
        links: dict[str, dict[str, ox.Term]] = defaultdict(dict)
        wanted = {str(p): name for p, name in _LINK_PROPS.items()}
        for q in quads:
            name = wanted.get(q.predicate.value)
            if name is not None:
                links[q.subject.value][name] = q.object
        layer_prefix = self.iris.layer("")
        for d in links.values():
            if not {"s", "prop", "method", "conf"} <= d.keys():
                continue
            kind, t = d["prop"].value, d.get("t")
            fact = {
                "confidence": float(d["conf"].value),
                "method": d["method"].value,
                "evidence": d["ev"].value if "ev" in d else "",
            }
            if kind == str(CKG.aboutConcept):
                cid = self.iris.concept_id(t.value) if t else None
                if cid:
                    self.path_links.append((d["s"].value, cid, fact["confidence"]))
                continue
            c = self.concepts.get(self.iris.concept_id(d["s"].value) or "")
            if c is None:
                continue
            if kind == str(CKG.requires) and t is not None:
                target = self.iris.concept_id(t.value)
                if target in self.concepts:
                    c.inferred_prerequisites.append(InferredFact(value=target, **fact))
            elif kind == str(CKG.layer) and t is not None:
                c.inferred["layer"] = InferredFact(value=t.value.removeprefix(layer_prefix), **fact)
            elif kind == str(CKG.studyMinutes) and "v" in d:
                c.inferred["minutes"] = InferredFact(value=int(d["v"].value), **fact)
            elif kind == str(SCHEMA.educationalLevel) and "v" in d:
                c.inferred["level"] = InferredFact(value=d["v"].value, **fact)
            elif kind in _RELATION_KINDS and t is not None:
                other = self.iris.concept_id(t.value)
                if other in self.concepts:
                    name, back = _RELATION_KINDS[kind]
                    c.relations.setdefault(name, []).append(InferredFact(value=other, **fact))
                    self.concepts[other].relations.setdefault(back, []).append(InferredFact(value=c.id, **fact))
            elif kind == str(SKOS.member) and t is not None and t.value in self.modules:
                c.inferred["module"] = InferredFact(value=self.modules[t.value], **fact)
        for c in self.concepts.values():
            c.inferred_prerequisites.sort(key=lambda f: (-f.confidence, str(f.value)))
            for facts in c.relations.values():
                facts.sort(key=lambda f: (-f.confidence, str(f.value)))
            c.relations = dict(sorted(c.relations.items()))
        self.path_links.sort()

    def _records(self) -> dict[str, SourceRef]:
        out: dict[str, SourceRef] = {}
        res = self.store.query(
            """SELECT ?r ?doc ?line ?title ?desc WHERE {
                 ?r a ckg:SourceRecord ; dcterms:source ?src ; ckg:line ?line ; ckg:statedTitle ?title .
                 ?src dcterms:title ?doc .
                 OPTIONAL { ?r ckg:statedDescription ?desc }
               }""",
            limit=10**7,
        )
        for r, doc, line, title, desc in res.rows:
            file = doc.value
            out[r.value] = SourceRef(
                source=_FILES.get(file, file),
                file=file,
                line=int(line.value),
                title=title.value,
                description=desc.value if desc is not None else None,
            )
        return out

    def _links(self) -> dict[tuple[str, str], Prerequisite]:
        out: dict[tuple[str, str], Prerequisite] = {}
        res = self.store.query(
            """SELECT ?s ?t ?slug ?method ?line WHERE {
                 ?l a ckg:PrerequisiteLink ; ckg:linkSource ?s ; ckg:linkTarget ?t ;
                    ckg:slug ?slug ; ckg:method ?method ; ckg:line ?line .
               }""",
            limit=10**7,
        )
        for s, t, slug, method, line in res.rows:
            sid, tid = self.iris.concept_id(s.value), self.iris.concept_id(t.value)
            if sid and tid:
                out[(sid, tid)] = Prerequisite(
                    target=tid, slug=slug.value, method=method.value, file="theory-library.txt", line=int(line.value)
                )
        return out

    # ---------------------------------------------------------------- access
    def edges(self, *, inferred: bool = False, min_confidence: float = 0.0) -> list[Edge]:
        """Asserted edges; with ``inferred=True`` also inferred ones at or above ``min_confidence``."""
        if self._edge_rows is not None:
            every = (Edge(*row) for row in self._edge_rows)
            return [e for e in every if not e.inferred or (inferred and e.confidence >= min_confidence)]
        out = [Edge(c.id, p.target, p.slug, p.method, p.line) for c in self.concepts.values() for p in c.prerequisites]
        if inferred:
            out += [
                Edge(c.id, str(f.value), method=f.method, inferred=True, confidence=f.confidence)
                for c in self.concepts.values()
                for f in c.inferred_prerequisites
                if f.confidence >= min_confidence
            ]
        return out

    def lookup(self, ref: str) -> Concept | None:
        """Exact lookup by id, IRI or any label (case-insensitive); ``None`` if nothing matches."""
        ref = ref.strip()
        if ref in self.concepts:
            return self.concepts[ref]
        cid = self.iris.concept_id(ref)
        if cid and cid in self.concepts:
            return self.concepts[cid]
        hit = self._labels.get(fold(ref).strip())
        return self.concepts[hit] if hit else None

    def resolve_gold(self, ref: str) -> str | None:
        """A gold-set reference -> concept id: an id, label, or prerequisite slug of this build.

        Gold sets are written once against one build; a later build may merge the concept an id named
        into another ("maximum-likelihood-estimate" into Maximum Likelihood Estimation) or resolve a
        stub to a real concept. Either way the reference still names one concept.
        """
        found = self.lookup(ref) or self.lookup(ref.replace("-", " "))
        if found is not None:
            return found.id
        hit = self._slug_matcher.match(ref.replace("-", " "))
        return hit[0] if hit else None

    @cached_property
    def _slug_matcher(self) -> SlugMatcher:
        from ingest.resolve import SlugMatcher

        return SlugMatcher(self.concepts.values())

    def get(self, ref: str) -> Concept:
        concept = self.lookup(ref)
        if concept is None:
            raise ConceptNotFoundError(
                f"no concept with id, IRI or label {ref!r}; try `ckg search {ref!r}` or `ckg concepts`"
            )
        return concept

    def iri(self, cid: str) -> str:
        return self.iris.concept(cid)

    def filter(
        self,
        source: str | None = None,
        layer: str | None = None,
        module: str | None = None,
        stubs: bool = True,
    ) -> list[Concept]:
        return [
            c
            for c in sorted(self.concepts.values(), key=lambda c: c.id)
            if (stubs or not c.stub) and concept_matches(c, source=source, layer=layer, module=module)
        ]

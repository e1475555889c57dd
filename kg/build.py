"""Resolved concepts -> an RDF dataset of named graphs.

* one graph per source document: what that source says, as ``ckg:SourceRecord``
  nodes (stated title, description, layer, line) that ``ckg:describes`` a concept;
* the merged graph: one description per concept (labels, definition, layer,
  minutes, modules, ``ckg:requires``), layers, modules, the learning path;
* the inferred graph: facts no source states (:func:`inferred_quads`; empty
  when the build has no embeddings to infer from).

Quads are built with pyoxigraph terms because building and loading them is the
hot path of every rebuild; :func:`to_rdflib` gives the rdflib view for exports
and isomorphism checks.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from pyoxigraph import Literal, NamedNode, Quad
from rdflib import DCTERMS, PROV, RDF, RDFS, SKOS, XSD

from ingest.concepts import Concept
from ingest.pipeline import Ingest
from ingest.records import LAYERS, SOURCE_FILES, ModuleRecord, PathRecord
from kg.iris import INFERRED, MERGED, Iris
from ontology.namespace import CKG, SCHEMA

if TYPE_CHECKING:  # kg.infer pulls in numpy; building quads for a plain rebuild does not need it
    from kg.infer import Inference, PathLink

_N: dict[str, NamedNode] = {}


def _n(term: object) -> NamedNode:
    key = str(term)
    node = _N.get(key)
    if node is None:
        node = _N[key] = NamedNode(key)
    return node


def _lit(value: object) -> Literal:
    if isinstance(value, bool):
        return Literal("true" if value else "false", datatype=_n(XSD.boolean))
    if isinstance(value, int):
        return Literal(str(value), datatype=_n(XSD.integer))
    if isinstance(value, float):
        return Literal(f"{value:.4f}", datatype=_n(XSD.decimal))
    return Literal(str(value))


def duration(minutes: int) -> str:
    """ISO 8601 duration for ``schema:timeRequired``: 90 -> ``PT1H30M``."""
    h, m = divmod(minutes, 60)
    return "PT" + (f"{h}H" if h else "") + (f"{m}M" if m or not h else "")


class _Graph:
    """Collects quads for one named graph."""

    def __init__(self, iri: str, out: list[Quad]) -> None:
        self.g = NamedNode(iri)
        self.out = out

    def add(self, s: str | NamedNode, p: object, o: object) -> None:
        if o is None:
            return
        subj = s if isinstance(s, NamedNode) else NamedNode(s)
        obj = o if isinstance(o, NamedNode | Literal) else _lit(o)
        self.out.append(Quad(subj, _n(p), obj, self.g))

    def iri(self, s: str | NamedNode, p: object, o: str) -> None:
        self.add(s, p, NamedNode(o))


def build_quads(ingest: Ingest, base_iri: str) -> list[Quad]:
    iris = Iris(base_iri)
    quads: list[Quad] = []
    merged = _Graph(iris.graph(MERGED), quads)
    _documents(ingest, iris, merged)
    _layers(iris, merged)
    for parsed in ingest.parsed.values():
        for module in parsed.modules:
            _module(module, iris, merged)
    for concept in ingest.concepts:
        _concept(concept, iris, merged)
    for source, title, cid in sorted(set(iter_module_members(ingest))):
        merged.iri(iris.module(source, title), SKOS.member, iris.concept(cid))
    _records(ingest, iris, quads)
    if ingest.path is not None:
        _path(ingest.path, iris, _Graph(iris.graph("research-path"), quads))
    # Mark the inferred graph as existing (and described) even while empty.
    _Graph(iris.graph(INFERRED), quads)
    merged.iri(iris.graph(INFERRED), RDF.type, str(PROV.Bundle))
    merged.add(iris.graph(INFERRED), RDFS.comment, "Facts inferred by ckg, never stated by a source.")
    return quads


def _documents(ingest: Ingest, iris: Iris, g: _Graph) -> None:
    for name, file in SOURCE_FILES.items():
        if name not in ingest.parsed:
            continue
        doc = iris.source(name)
        parsed = ingest.parsed[name]
        g.iri(doc, RDF.type, str(CKG.SourceDocument))
        g.iri(doc, RDF.type, str(PROV.Entity))
        g.add(doc, DCTERMS.title, file)
        announced = parsed.facts.get("announced_topics") or parsed.facts.get("announced_entries")
        if isinstance(announced, int):
            g.add(doc, CKG.announcedCount, announced)


def _layers(iris: Iris, g: _Graph) -> None:
    for order, code in enumerate(LAYERS):
        node = iris.layer(code)
        g.iri(node, RDF.type, str(CKG.Layer))
        g.add(node, SKOS.prefLabel, f"Layer {code}")
        g.add(node, SKOS.notation, f"L{code}")
        g.add(node, CKG.order, order)


def _module(module: ModuleRecord, iris: Iris, g: _Graph) -> None:
    node = iris.module(module.source, module.title)
    g.iri(node, RDF.type, str(CKG.ConceptGroup if module.source == "concept-library" else CKG.Module))
    g.iri(node, RDF.type, str(SKOS.Collection))
    g.add(node, SKOS.prefLabel, module.title)
    g.add(node, SKOS.definition, module.description)
    g.add(node, CKG.layerNote, module.layer_note)
    g.add(node, CKG.announcedCount, module.announced_count)
    g.iri(node, DCTERMS.source, iris.source(module.source))
    g.iri(node, PROV.wasDerivedFrom, iris.record(module.source, module.locator.line))


def _concept(c: Concept, iris: Iris, g: _Graph) -> None:
    node = NamedNode(iris.concept(c.id))
    g.iri(node, RDF.type, str(CKG.Concept))
    g.iri(node, RDF.type, str(SKOS.Concept))
    g.add(node, SKOS.prefLabel, c.label)
    g.add(node, SKOS.notation, c.id)
    for alt in c.alt_labels:
        g.add(node, SKOS.altLabel, alt)
    g.add(node, SKOS.definition, c.definition)
    g.add(node, CKG.problemStatement, c.problem_statement)
    if c.layer:
        g.iri(node, CKG.layer, iris.layer(c.layer))
    g.add(node, CKG.tier, c.tier)
    if c.minutes is not None:
        g.add(node, CKG.studyMinutes, c.minutes)
        g.add(node, SCHEMA.timeRequired, Literal(duration(c.minutes), datatype=_n(XSD.duration)))
    g.add(node, SCHEMA.educationalLevel, c.level)
    g.add(node, CKG.premium, c.premium)
    g.add(node, CKG.stub, c.stub)
    if c.unlisted_prerequisites:
        g.add(node, CKG.unlistedPrerequisites, c.unlisted_prerequisites)
    for ref in c.sources:
        g.iri(node, PROV.wasDerivedFrom, iris.record(ref.source, ref.line))
        g.iri(node, DCTERMS.source, iris.source(ref.source))
    for p in c.prerequisites:
        g.iri(node, CKG.requires, iris.concept(p.target))
        g.iri(iris.concept(p.target), CKG.isPrerequisiteOf, iris.concept(c.id))


def _records(ingest: Ingest, iris: Iris, quads: list[Quad]) -> None:
    graphs = {name: _Graph(iris.graph(name), quads) for name in SOURCE_FILES}
    modules = {(m.source, m.title): iris.module(m.source, m.title) for p in ingest.parsed.values() for m in p.modules}
    placement = ingest.resolution.placement
    for rec in ingest.records:
        g = graphs[rec.source]
        node = iris.record(rec.source, rec.locator.line)
        cid = placement[str(rec.locator)]
        g.iri(node, RDF.type, str(CKG.SourceRecord))
        g.iri(node, DCTERMS.source, iris.source(rec.source))
        g.add(node, CKG.line, rec.locator.line)
        g.add(node, CKG.statedTitle, rec.title)
        g.add(node, CKG.statedDescription, rec.description)
        if rec.layer:
            g.iri(node, CKG.statedLayer, iris.layer(rec.layer))
        g.add(node, CKG.statedTier, rec.tier)
        g.add(node, CKG.statedMinutes, rec.minutes)
        g.add(node, CKG.statedLevel, rec.level)
        if rec.module:
            g.iri(node, CKG.statedModule, modules[(rec.source, rec.module)])
        if rec.premium:
            g.add(node, CKG.premium, True)
        for flag in rec.flags:
            if flag.startswith("title-split:"):
                g.add(node, CKG.splitRule, flag.split(":", 1)[1])
        g.add(node, CKG.prerequisiteText, rec.prerequisite_text)
        g.iri(node, CKG.describes, iris.concept(cid))
    for c in ingest.concepts:
        for p in c.prerequisites:
            g = graphs["theory-library"]
            link = iris.link(c.id, p.target)
            g.iri(link, RDF.type, str(CKG.PrerequisiteLink))
            g.iri(link, CKG.linkSource, iris.concept(c.id))
            g.iri(link, CKG.linkTarget, iris.concept(p.target))
            g.add(link, CKG.slug, p.slug)
            g.add(link, CKG.method, p.method)
            g.add(link, CKG.line, p.line)
            g.iri(link, PROV.wasDerivedFrom, iris.record("theory-library", p.line))
            # The ckg:requires triple itself lives in graph/merged only: stated once, the union
            # default graph returns each edge once (pyoxigraph's union does not de-duplicate).


def _path(path: PathRecord, iris: Iris, g: _Graph) -> None:
    """The learning path lives in its source graph: it is what that source says."""
    node = iris.path(path.title)
    g.iri(node, RDF.type, str(CKG.LearningPath))
    g.iri(node, RDF.type, str(SKOS.OrderedCollection))
    g.add(node, SKOS.prefLabel, path.title)
    g.add(node, SKOS.definition, path.description)
    g.add(node, DCTERMS.type, path.kind)
    for note in path.notes:
        g.add(node, SKOS.note, note)
    g.iri(node, DCTERMS.source, iris.source("research-path"))
    g.add(node, CKG.line, path.locator.line)
    phases = [iris.phase(path.title, ph.number) for ph in path.phases]
    # skos:memberList is an RDF list; list nodes get stable IRIs, not blank nodes,
    # so rebuilds stay identical.
    cells = [f"{node}/list/{i}" for i in range(len(phases))]
    if cells:
        g.iri(node, SKOS.memberList, cells[0])
    for i, (cell, phase) in enumerate(zip(cells, phases, strict=True)):
        g.iri(cell, RDF.first, phase)
        g.iri(cell, RDF.rest, cells[i + 1] if i + 1 < len(cells) else str(RDF.nil))
        g.iri(node, SKOS.member, phase)
    for ph, phase in zip(path.phases, phases, strict=True):
        g.iri(phase, RDF.type, str(CKG.Phase))
        g.iri(phase, RDF.type, str(SKOS.Collection))
        g.add(phase, SKOS.prefLabel, ph.title)
        g.add(phase, SKOS.definition, ph.description)
        g.add(phase, CKG.phaseNumber, ph.number)
        g.add(phase, CKG.line, ph.locator.line)
    for n, q in enumerate(path.questions, start=1):
        qn = iris.question(path.title, n)
        g.iri(qn, RDF.type, str(CKG.Question))
        g.add(qn, RDFS.label, q.text)
        g.iri(qn, CKG.inPath, node)
        g.add(qn, CKG.line, q.locator.line)
    for n, s in enumerate(path.strategy, start=1):
        sn = iris.strategy(path.title, n)
        g.iri(sn, RDF.type, str(CKG.StrategyItem))
        g.add(sn, RDFS.label, s.title)
        g.add(sn, RDFS.comment, s.text)
        g.iri(sn, CKG.inPath, node)
        g.add(sn, CKG.line, s.locator.line)


_VALUE_PROPS = {
    "layer": (CKG.layer, CKG.inferredLayer),
    "minutes": (CKG.studyMinutes, CKG.inferredStudyMinutes),
    "module": (SKOS.member, CKG.inferredModule),
}


def inferred_quads(
    inference: Inference, iris: Iris, modules: dict[str, str], about: Iterable[PathLink] = ()
) -> list[Quad]:
    """The inferred named graph: a plain triple for querying plus a ``ckg:InferredLink`` per fact.

    ``modules`` maps a module title to its IRI. Inferred facts use their own
    predicates (``ckg:inferredRequires``...), so the union default graph never
    mixes them into ``ckg:requires`` or ``ckg:layer``.
    """
    quads: list[Quad] = []
    g = _Graph(iris.graph(INFERRED), quads)

    def describe(node: str, subject: str, prop: object, method: str, confidence: float, evidence: str) -> None:
        g.iri(node, RDF.type, str(CKG.InferredLink))
        g.iri(node, CKG.linkSource, subject)
        g.iri(node, CKG.inferredProperty, str(prop))
        g.add(node, CKG.method, method)
        g.add(node, CKG.confidence, float(confidence))
        if evidence:
            g.add(node, CKG.evidence, evidence)

    for e in inference.edges:
        src, tgt = iris.concept(e.source), iris.concept(e.target)
        g.iri(src, CKG.inferredRequires, tgt)
        node = iris.inferred(e.source, "requires", e.target)
        describe(node, src, CKG.requires, e.method, e.confidence, e.evidence)
        g.iri(node, CKG.linkTarget, tgt)
    for v in inference.values:
        asserted, predicate = _VALUE_PROPS[v.prop]
        subject = iris.concept(v.concept)
        node = iris.inferred(v.concept, v.prop)
        describe(node, subject, asserted, v.method, v.confidence, v.evidence)
        if v.prop == "minutes":
            g.add(subject, predicate, int(v.value))
            g.add(node, RDF.value, int(v.value))
        else:
            obj = iris.layer(str(v.value)) if v.prop == "layer" else modules[str(v.value)]
            g.iri(subject, predicate, obj)
            g.iri(node, CKG.linkTarget, obj)
    for link in about:
        node = f"{link.subject}/about/{link.concept}"
        g.iri(link.subject, CKG.aboutConcept, iris.concept(link.concept))
        describe(node, link.subject, CKG.aboutConcept, "embedding-similarity", link.confidence, "")
        g.iri(node, CKG.linkTarget, iris.concept(link.concept))
    return quads


def to_nquads(quads: Iterable[Quad]) -> bytes:
    from pyoxigraph import RdfFormat, serialize

    return serialize(sorted(quads, key=str), format=RdfFormat.N_QUADS) or b""


def iter_module_members(ingest: Ingest) -> Iterator[tuple[str, str, str]]:
    """(module source, module title, concept id) for every membership."""
    placement = ingest.resolution.placement
    for rec in ingest.records:
        if rec.module:
            yield rec.source, rec.module, placement[str(rec.locator)]

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

import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyoxigraph import Literal, NamedNode, Quad
from rdflib import DCTERMS, PROV, RDF, RDFS, SKOS, XSD

from ingest.concepts import Concept
from ingest.pipeline import Ingest
from ingest.records import LAYERS, SOURCE_FILES, ModuleRecord, PathRecord
from kg.iris import INFERRED, MERGED, Iris
from ontology.namespace import CKG, SCHEMA

if TYPE_CHECKING:  # kg.inference pulls in numpy; building quads for a plain rebuild does not need it
    from kg.inference import Inference, PathLink


class _Terms:
    """A namespace's terms as pyoxigraph nodes, each looked up once.

    ``DefinedNamespace`` attribute access (with ``_fail``, so a typo still fails
    on first use) costs ~2 us; the build makes ~50 per concept, which was 15% of
    building the quads of a 10k-concept curriculum.
    """

    def __init__(self, namespace: Any) -> None:
        self._namespace = namespace

    def __getattr__(self, name: str) -> NamedNode:
        if name.startswith("_"):
            raise AttributeError(name)
        node = NamedNode(str(getattr(self._namespace, name)))
        setattr(self, name, node)
        return node


CKG_, SKOS_, PROV_, RDF_, RDFS_ = _Terms(CKG), _Terms(SKOS), _Terms(PROV), _Terms(RDF), _Terms(RDFS)
DCTERMS_, SCHEMA_, XSD_ = _Terms(DCTERMS), _Terms(SCHEMA), _Terms(XSD)


def _lit(value: object) -> Literal:
    if isinstance(value, bool):
        return Literal("true" if value else "false", datatype=XSD_.boolean)
    if isinstance(value, int):
        return Literal(str(value), datatype=XSD_.integer)
    if isinstance(value, float):
        return Literal(f"{value:.4f}", datatype=XSD_.decimal)
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

    def add(self, s: str | NamedNode, p: NamedNode, o: object) -> None:
        if o is None:
            return
        subj = s if isinstance(s, NamedNode) else NamedNode(s)
        obj = o if isinstance(o, NamedNode | Literal) else _lit(o)
        self.out.append(Quad(subj, p, obj, self.g))

    def iri(self, s: str | NamedNode, p: NamedNode, o: str | NamedNode) -> None:
        self.add(s, p, o if isinstance(o, NamedNode) else NamedNode(o))


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
        merged.iri(iris.module(source, title), SKOS_.member, iris.concept(cid))
    _records(ingest, iris, quads)
    if ingest.path is not None:
        _path(ingest.path, iris, _Graph(iris.graph("research-path"), quads))
    # Mark the inferred graph as existing (and described) even while empty.
    _Graph(iris.graph(INFERRED), quads)
    merged.iri(iris.graph(INFERRED), RDF_.type, PROV_.Bundle)
    merged.add(iris.graph(INFERRED), RDFS_.comment, "Facts inferred by ckg, never stated by a source.")
    return quads


def _documents(ingest: Ingest, iris: Iris, g: _Graph) -> None:
    for name, file in SOURCE_FILES.items():
        if name not in ingest.parsed:
            continue
        doc = iris.source(name)
        parsed = ingest.parsed[name]
        g.iri(doc, RDF_.type, CKG_.SourceDocument)
        g.iri(doc, RDF_.type, PROV_.Entity)
        g.add(doc, DCTERMS_.title, file)
        announced = parsed.facts.get("announced_topics") or parsed.facts.get("announced_entries")
        if isinstance(announced, int):
            g.add(doc, CKG_.announcedCount, announced)


def _layers(iris: Iris, g: _Graph) -> None:
    for order, code in enumerate(LAYERS):
        node = iris.layer(code)
        g.iri(node, RDF_.type, CKG_.Layer)
        g.add(node, SKOS_.prefLabel, f"Layer {code}")
        g.add(node, SKOS_.notation, f"L{code}")
        g.add(node, CKG_.order, order)


def _module(module: ModuleRecord, iris: Iris, g: _Graph) -> None:
    node = iris.module(module.source, module.title)
    g.iri(node, RDF_.type, CKG_.ConceptGroup if module.source == "concept-library" else CKG_.Module)
    g.iri(node, RDF_.type, SKOS_.Collection)
    g.add(node, SKOS_.prefLabel, module.title)
    g.add(node, SKOS_.definition, module.description)
    g.add(node, CKG_.layerNote, module.layer_note)
    g.add(node, CKG_.announcedCount, module.announced_count)
    g.iri(node, DCTERMS_.source, iris.source(module.source))
    g.iri(node, PROV_.wasDerivedFrom, iris.record(module.source, module.locator.line))


def _concept(c: Concept, iris: Iris, g: _Graph) -> None:
    node = NamedNode(iris.concept(c.id))
    g.iri(node, RDF_.type, CKG_.Concept)
    g.iri(node, RDF_.type, SKOS_.Concept)
    g.add(node, SKOS_.prefLabel, c.label)
    g.add(node, SKOS_.notation, c.id)
    for alt in c.alt_labels:
        g.add(node, SKOS_.altLabel, alt)
    g.add(node, SKOS_.definition, c.definition)
    g.add(node, CKG_.problemStatement, c.problem_statement)
    if c.layer:
        g.iri(node, CKG_.layer, iris.layer(c.layer))
    g.add(node, CKG_.tier, c.tier)
    if c.minutes is not None:
        g.add(node, CKG_.studyMinutes, c.minutes)
        g.add(node, SCHEMA_.timeRequired, Literal(duration(c.minutes), datatype=XSD_.duration))
    g.add(node, SCHEMA_.educationalLevel, c.level)
    g.add(node, CKG_.premium, c.premium)
    g.add(node, CKG_.stub, c.stub)
    if c.unlisted_prerequisites:
        g.add(node, CKG_.unlistedPrerequisites, c.unlisted_prerequisites)
    for ref in c.sources:
        g.iri(node, PROV_.wasDerivedFrom, iris.record(ref.source, ref.line))
        g.iri(node, DCTERMS_.source, iris.source(ref.source))
    for p in c.prerequisites:
        g.iri(node, CKG_.requires, iris.concept(p.target))
        g.iri(iris.concept(p.target), CKG_.isPrerequisiteOf, iris.concept(c.id))


def _records(ingest: Ingest, iris: Iris, quads: list[Quad]) -> None:
    graphs = {name: _Graph(iris.graph(name), quads) for name in SOURCE_FILES}
    modules = {(m.source, m.title): iris.module(m.source, m.title) for p in ingest.parsed.values() for m in p.modules}
    placement = ingest.resolution.placement
    for rec in ingest.records:
        g = graphs[rec.source]
        node = iris.record(rec.source, rec.locator.line)
        cid = placement[str(rec.locator)]
        g.iri(node, RDF_.type, CKG_.SourceRecord)
        g.iri(node, DCTERMS_.source, iris.source(rec.source))
        g.add(node, CKG_.line, rec.locator.line)
        g.add(node, CKG_.statedTitle, rec.title)
        g.add(node, CKG_.statedDescription, rec.description)
        if rec.layer:
            g.iri(node, CKG_.statedLayer, iris.layer(rec.layer))
        g.add(node, CKG_.statedTier, rec.tier)
        g.add(node, CKG_.statedMinutes, rec.minutes)
        g.add(node, CKG_.statedLevel, rec.level)
        if rec.module:
            g.iri(node, CKG_.statedModule, modules[(rec.source, rec.module)])
        if rec.premium:
            g.add(node, CKG_.premium, True)
        for flag in rec.flags:
            if flag.startswith("title-split:"):
                g.add(node, CKG_.splitRule, flag.split(":", 1)[1])
        g.add(node, CKG_.prerequisiteText, rec.prerequisite_text)
        g.iri(node, CKG_.describes, iris.concept(cid))
    for c in ingest.concepts:
        for p in c.prerequisites:
            g = graphs["theory-library"]
            link = iris.link(c.id, p.target)
            g.iri(link, RDF_.type, CKG_.PrerequisiteLink)
            g.iri(link, CKG_.linkSource, iris.concept(c.id))
            g.iri(link, CKG_.linkTarget, iris.concept(p.target))
            g.add(link, CKG_.slug, p.slug)
            g.add(link, CKG_.method, p.method)
            g.add(link, CKG_.line, p.line)
            g.iri(link, PROV_.wasDerivedFrom, iris.record("theory-library", p.line))
            # The ckg:requires triple itself lives in graph/merged only: stated once, the union
            # default graph returns each edge once (pyoxigraph's union does not de-duplicate).


def _path(path: PathRecord, iris: Iris, g: _Graph) -> None:
    """The learning path lives in its source graph: it is what that source says."""
    node = iris.path(path.title)
    g.iri(node, RDF_.type, CKG_.LearningPath)
    g.iri(node, RDF_.type, SKOS_.OrderedCollection)
    g.add(node, SKOS_.prefLabel, path.title)
    g.add(node, SKOS_.definition, path.description)
    g.add(node, DCTERMS_.type, path.kind)
    for note in path.notes:
        g.add(node, SKOS_.note, note)
    g.iri(node, DCTERMS_.source, iris.source("research-path"))
    g.add(node, CKG_.line, path.locator.line)
    phases = [iris.phase(path.title, ph.number) for ph in path.phases]
    # skos:memberList is an RDF list; list nodes get stable IRIs, not blank nodes,
    # so rebuilds stay identical.
    cells = [f"{node}/list/{i}" for i in range(len(phases))]
    if cells:
        g.iri(node, SKOS_.memberList, cells[0])
    for i, (cell, phase) in enumerate(zip(cells, phases, strict=True)):
        g.iri(cell, RDF_.first, phase)
        g.iri(cell, RDF_.rest, cells[i + 1] if i + 1 < len(cells) else RDF_.nil)
        g.iri(node, SKOS_.member, phase)
    for ph, phase in zip(path.phases, phases, strict=True):
        g.iri(phase, RDF_.type, CKG_.Phase)
        g.iri(phase, RDF_.type, SKOS_.Collection)
        g.add(phase, SKOS_.prefLabel, ph.title)
        g.add(phase, SKOS_.definition, ph.description)
        g.add(phase, CKG_.phaseNumber, ph.number)
        g.add(phase, CKG_.line, ph.locator.line)
    for n, q in enumerate(path.questions, start=1):
        qn = iris.question(path.title, n)
        g.iri(qn, RDF_.type, CKG_.Question)
        g.add(qn, RDFS_.label, q.text)
        g.iri(qn, CKG_.inPath, node)
        g.add(qn, CKG_.line, q.locator.line)
    for n, s in enumerate(path.strategy, start=1):
        sn = iris.strategy(path.title, n)
        g.iri(sn, RDF_.type, CKG_.StrategyItem)
        g.add(sn, RDFS_.label, s.title)
        g.add(sn, RDFS_.comment, s.text)
        g.iri(sn, CKG_.inPath, node)
        g.add(sn, CKG_.line, s.locator.line)


_VALUE_PROPS = {
    "layer": (CKG_.layer, CKG_.inferredLayer),
    "minutes": (CKG_.studyMinutes, CKG_.inferredStudyMinutes),
    "module": (SKOS_.member, CKG_.inferredModule),
    "level": (SCHEMA_.educationalLevel, CKG_.inferredLevel),
}
#: Taxonomy relations are standard SKOS, stated in the inferred graph only.
_RELATION_PROPS = {"broader": SKOS_.broader, "related": SKOS_.related, "same-topic": SKOS_.closeMatch}


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

    def describe(node: str, subject: str, prop: NamedNode, method: str, confidence: float, evidence: str) -> None:
        g.iri(node, RDF_.type, CKG_.InferredLink)
        g.iri(node, CKG_.linkSource, subject)
        g.iri(node, CKG_.inferredProperty, prop)
        g.add(node, CKG_.method, method)
        g.add(node, CKG_.confidence, float(confidence))
        if evidence:
            g.add(node, CKG_.evidence, evidence)

    for e in inference.edges:
        src, tgt = iris.concept(e.source), iris.concept(e.target)
        g.iri(src, CKG_.inferredRequires, tgt)
        node = iris.inferred(e.source, "requires", e.target)
        describe(node, src, CKG_.requires, e.method, e.confidence, e.evidence)
        g.iri(node, CKG_.linkTarget, tgt)
    for v in inference.values:
        asserted, predicate = _VALUE_PROPS[v.prop]
        subject = iris.concept(v.concept)
        node = iris.inferred(v.concept, v.prop)
        describe(node, subject, asserted, v.method, v.confidence, v.evidence)
        if v.prop == "minutes":
            g.add(subject, predicate, int(v.value))
            g.add(node, RDF_.value, int(v.value))
        elif v.prop == "level":
            g.add(subject, predicate, str(v.value))
            g.add(node, RDF_.value, str(v.value))
        else:
            obj = iris.layer(str(v.value)) if v.prop == "layer" else modules[str(v.value)]
            g.iri(subject, predicate, obj)
            g.iri(node, CKG_.linkTarget, obj)
    for r in inference.relations:
        prop = _RELATION_PROPS[r.kind]
        src, tgt = iris.concept(r.source), iris.concept(r.target)
        g.iri(src, prop, tgt)
        if r.kind == "broader":
            g.iri(tgt, SKOS_.narrower, src)
        node = iris.inferred(r.source, r.kind, r.target)
        describe(node, src, prop, "definition-genus" if r.kind == "broader" else r.kind, r.confidence, r.evidence)
        g.iri(node, CKG_.linkTarget, tgt)
    for link in about:
        node = f"{link.subject}/about/{link.concept}"
        g.iri(link.subject, CKG_.aboutConcept, iris.concept(link.concept))
        describe(node, link.subject, CKG_.aboutConcept, "embedding-similarity", link.confidence, "")
        g.iri(node, CKG_.linkTarget, iris.concept(link.concept))
    return quads


#: Quads serialised per call while a build's list is consumed: the list shrinks as the lines grow.
SERIALISE_CHUNK = 500_000
#: Lines written per ``write`` call (and fed to the hash).
WRITE_CHUNK = 65_536


def sorted_lines(quads: list[Quad], *, consume: bool = False) -> list[bytes]:
    """Each distinct quad once as an N-Quads line (no newline), sorted: the same build gives the same bytes.

    Sorting the serialised lines as bytes (UTF-8 keeps code-point order) gives the
    order sorting the quads by their text would, without a Python string per quad.
    With ``consume`` the list is emptied a chunk at a time as it is serialised: at
    100k concepts its 4.8M quads hold ~1.6 GB against ~0.9 GB for their lines, and
    the serialised text, its lines and the quads all at once were the build's
    peak memory (6.6 GB). The build keeps lines, not quads, from then on.
    """
    from pyoxigraph import RdfFormat, serialize

    lines: list[bytes] = []
    if consume:
        while quads:
            part = quads[-SERIALISE_CHUNK:]
            del quads[-SERIALISE_CHUNK:]
            lines.extend((serialize(part, format=RdfFormat.N_QUADS) or b"").splitlines())
            del part
    else:
        lines = (serialize(quads, format=RdfFormat.N_QUADS) or b"").splitlines()
    return _sorted_once(lines)


def _sorted_once(lines: list[bytes]) -> list[bytes]:
    """``lines`` sorted in place, then each once."""
    lines.sort()
    return [line for i, line in enumerate(lines) if i == 0 or line != lines[i - 1]]


def to_nquads(quads: list[Quad], *, consume: bool = False) -> bytes:
    """The dataset as N-Quads bytes (:func:`sorted_lines`, one line each)."""
    unique = sorted_lines(quads, consume=consume)
    return b"\n".join(unique) + b"\n" if unique else b""


def write_nquads(lines: list[bytes], path: Path) -> tuple[int, str]:
    """Write N-Quads ``lines`` (one or more :func:`sorted_lines` lists, concatenated) to ``path``, sorted and
    each once, as :func:`to_nquads` would, without the whole text in memory; the list is emptied.

    Returns the number of lines written and the SHA-256 of the bytes. Sorting runs that are sorted
    already is a linear merge (the build appends the inferred graph's few lines to the rest).
    """
    unique = _sorted_once(lines)
    lines.clear()
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for start in range(0, len(unique), WRITE_CHUNK):
            block = b"\n".join(unique[start : start + WRITE_CHUNK]) + b"\n"
            out.write(block)
            digest.update(block)
    return len(unique), digest.hexdigest()


def iter_module_members(ingest: Ingest) -> Iterator[tuple[str, str, str]]:
    """(module source, module title, concept id) for every membership."""
    placement = ingest.resolution.placement
    for rec in ingest.records:
        if rec.module:
            yield rec.source, rec.module, placement[str(rec.locator)]

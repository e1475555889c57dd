"""Resolved concepts -> an RDF dataset of named graphs.

* one graph per source document: what that source says, as ``ckg:SourceRecord``
  nodes (stated title, description, layer, line) that ``ckg:describes`` a concept;
* the merged graph: one description per concept (labels, definition, layer,
  minutes, modules, ``ckg:requires``), layers, modules, the learning path;
* the inferred graph: facts no source states (:func:`inferred_quads`; empty
  when the build has no embeddings to infer from).

A build writes the asserted graphs straight as sorted N-Quads lines
(:func:`build_lines`: the hot path of every rebuild, byte for byte what
pyoxigraph serialises); :func:`build_quads` gives the same statements as
pyoxigraph quads, and :func:`to_rdflib` the rdflib view for exports and
isomorphism checks.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pyoxigraph import Literal, NamedNode, Quad
from rdflib import DCTERMS, PROV, RDF, RDFS, SKOS, XSD

from ckg.errors import CkgError
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


class _Statements(Protocol):
    """Where the build states one named graph's triples: pyoxigraph quads (:class:`_Graph`) or N-Quads
    lines (:class:`_Lines`). ``None`` objects are skipped; plain values become typed literals."""

    def add(self, s: str | NamedNode, p: NamedNode, o: object) -> None: ...

    def iri(self, s: str | NamedNode, p: NamedNode, o: str | NamedNode) -> None: ...


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


#: What an N-Quads string literal escapes, as pyoxigraph writes it (the short forms, else ``\\uXXXX``).
_ESCAPES = {c: f"\\u{c:04X}" for c in [*range(0x20), 0x7F]} | {
    ord("\b"): "\\b",
    ord("\t"): "\\t",
    ord("\n"): "\\n",
    ord("\f"): "\\f",
    ord("\r"): "\\r",
    ord('"'): '\\"',
    ord("\\"): "\\\\",
}
_XSD_STRING = str(XSD.string)  # the datatype N-Quads leaves unwritten
#: Characters an IRI in N-Quads may not hold (IRIREF); the build's IRIs are slugs and numbers under the base.
_NOT_IN_IRI = re.compile(r'[\x00-\x20<>"{}|^`\\]')


def _iri_text(iri: str | NamedNode) -> str:
    if isinstance(iri, NamedNode):
        return f"<{iri.value}>"
    if _NOT_IN_IRI.search(iri):
        raise CkgError(f"cannot write the IRI {iri!r}: it holds a character an IRI may not (check --base-iri)")
    return f"<{iri}>"


def _literal_text(value: object) -> str:
    """What pyoxigraph writes for ``_lit(value)`` (or for a :class:`Literal`)."""
    if isinstance(value, Literal):
        text = '"' + value.value.translate(_ESCAPES) + '"'
        if value.language:
            return f"{text}@{value.language}"
        return text if value.datatype.value == _XSD_STRING else f"{text}^^<{value.datatype.value}>"
    if isinstance(value, bool):
        return f'"{"true" if value else "false"}"^^<{XSD_.boolean.value}>'
    if isinstance(value, int):
        return f'"{value}"^^<{XSD_.integer.value}>'
    if isinstance(value, float):
        return f'"{value:.4f}"^^<{XSD_.decimal.value}>'
    return '"' + str(value).translate(_ESCAPES) + '"'


class _Lines:
    """A named graph's statements written straight as the N-Quads lines pyoxigraph would serialise.

    Why: making a pyoxigraph ``Quad`` and its terms per statement, then serialising them, was ~5 us a
    statement (26 s of a 100k-concept build, 4M statements) and held the quads and their lines at
    once (the build's peak memory). ``tests/test_kg.py`` checks the lines are byte for byte those of
    :func:`build_quads` serialised.
    """

    def __init__(self, iri: str, out: list[bytes]) -> None:
        self.tail = f" {_iri_text(iri)} ."
        self.lines = out
        self.predicates: dict[NamedNode, str] = {}

    def add(self, s: str | NamedNode, p: NamedNode, o: object) -> None:
        if o is not None:
            self._line(s, p, _iri_text(o) if isinstance(o, NamedNode) else _literal_text(o))

    def iri(self, s: str | NamedNode, p: NamedNode, o: str | NamedNode) -> None:
        self._line(s, p, _iri_text(o))

    def _line(self, s: str | NamedNode, p: NamedNode, obj: str) -> None:
        pred = self.predicates.get(p)
        if pred is None:
            pred = self.predicates[p] = f"<{p.value}>"
        self.lines.append(f"{_iri_text(s)} {pred} {obj}{self.tail}".encode())


def build_quads(ingest: Ingest, base_iri: str) -> list[Quad]:
    """The asserted dataset (every source graph and the merged graph) as pyoxigraph quads."""
    quads: list[Quad] = []
    _assert(ingest, Iris(base_iri), lambda iri: _Graph(iri, quads))
    return quads


def build_lines(ingest: Ingest, base_iri: str) -> list[bytes]:
    """The asserted dataset as its sorted, distinct N-Quads lines: what ``sorted_lines(build_quads(...))``
    gives, ~5x faster and without a quad in memory (the build's path)."""
    lines: list[bytes] = []
    _assert(ingest, Iris(base_iri), lambda iri: _Lines(iri, lines))
    return _sorted_once(lines)


def _assert(ingest: Ingest, iris: Iris, graph: Callable[[str], _Statements]) -> None:
    try:
        NamedNode(iris.graph(MERGED))
    except ValueError as exc:
        raise CkgError(
            f"the base IRI {iris.base!r} is not an IRI ({exc}); give an absolute one such as https://example.org/ckg/"
        ) from exc
    merged = graph(iris.graph(MERGED))
    _documents(ingest, iris, merged)
    _layers(iris, merged)
    for parsed in ingest.parsed.values():
        for module in parsed.modules:
            _module(module, iris, merged)
    for concept in ingest.concepts:
        _concept(concept, iris, merged)
    for source, title, cid in sorted(set(iter_module_members(ingest))):
        merged.iri(iris.module(source, title), SKOS_.member, iris.concept(cid))
    _records(ingest, iris, graph)
    if ingest.path is not None:
        _path(ingest.path, iris, graph(iris.graph("research-path")))
    # Mark the inferred graph as existing (and described) even while empty.
    merged.iri(iris.graph(INFERRED), RDF_.type, PROV_.Bundle)
    merged.add(iris.graph(INFERRED), RDFS_.comment, "Facts inferred by ckg, never stated by a source.")


def _documents(ingest: Ingest, iris: Iris, g: _Statements) -> None:
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


def _layers(iris: Iris, g: _Statements) -> None:
    for order, code in enumerate(LAYERS):
        node = iris.layer(code)
        g.iri(node, RDF_.type, CKG_.Layer)
        g.add(node, SKOS_.prefLabel, f"Layer {code}")
        g.add(node, SKOS_.notation, f"L{code}")
        g.add(node, CKG_.order, order)


def _module(module: ModuleRecord, iris: Iris, g: _Statements) -> None:
    node = iris.module(module.source, module.title)
    g.iri(node, RDF_.type, CKG_.ConceptGroup if module.source == "concept-library" else CKG_.Module)
    g.iri(node, RDF_.type, SKOS_.Collection)
    g.add(node, SKOS_.prefLabel, module.title)
    g.add(node, SKOS_.definition, module.description)
    g.add(node, CKG_.layerNote, module.layer_note)
    g.add(node, CKG_.announcedCount, module.announced_count)
    g.iri(node, DCTERMS_.source, iris.source(module.source))
    g.iri(node, PROV_.wasDerivedFrom, iris.record(module.source, module.locator.line))


def _concept(c: Concept, iris: Iris, g: _Statements) -> None:
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


def _records(ingest: Ingest, iris: Iris, graph: Callable[[str], _Statements]) -> None:
    graphs = {name: graph(iris.graph(name)) for name in SOURCE_FILES}
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


def _path(path: PathRecord, iris: Iris, g: _Statements) -> None:
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


#: Lines written per ``write`` call (and fed to the hash).
WRITE_CHUNK = 65_536


def sorted_lines(quads: list[Quad]) -> list[bytes]:
    """Each distinct quad once as an N-Quads line (no newline), sorted: the same build gives the same bytes.

    Sorting the serialised lines as bytes (UTF-8 keeps code-point order) gives the
    order sorting the quads by their text would, without a Python string per quad.
    The build makes quads only for the inferred graph; the asserted graphs are
    written as lines directly (:func:`build_lines`).
    """
    from pyoxigraph import RdfFormat, serialize

    return _sorted_once((serialize(quads, format=RdfFormat.N_QUADS) or b"").splitlines())


def _sorted_once(lines: list[bytes]) -> list[bytes]:
    """``lines`` sorted in place, then each once."""
    lines.sort()
    return [line for i, line in enumerate(lines) if i == 0 or line != lines[i - 1]]


def to_nquads(quads: list[Quad]) -> bytes:
    """The dataset as N-Quads bytes (:func:`sorted_lines`, one line each)."""
    unique = sorted_lines(quads)
    return b"\n".join(unique) + b"\n" if unique else b""


def write_nquads(lines: list[bytes], path: Path, *, spilled: Path | None = None) -> tuple[int, str]:
    """Write N-Quads ``lines`` (one or more :func:`sorted_lines` lists, concatenated) to ``path``, sorted and
    each once, as :func:`to_nquads` would, without the whole text in memory; the list is emptied.

    ``spilled``: a file :func:`spill` wrote earlier, whose lines join ``lines`` (merged as they are read:
    both are sorted). Returns the number of lines written and the SHA-256 of the bytes. Sorting runs that
    are sorted already is a linear merge (the build appends the inferred graph's few lines to the rest).
    """
    lines.sort()
    runs = heapq.merge(lines, _read_spilled(spilled)) if spilled is not None else iter(lines)
    distinct = (line for line, _ in itertools.groupby(runs))
    digest = hashlib.sha256()
    count = 0
    with path.open("wb") as out:
        while block := list(itertools.islice(distinct, WRITE_CHUNK)):
            data = b"\n".join(block) + b"\n"
            out.write(data)
            digest.update(data)
            count += len(block)
    lines.clear()
    return count, digest.hexdigest()


def spill(lines: list[bytes], path: Path) -> None:
    """Write sorted N-Quads ``lines`` to ``path`` and empty the list, for :func:`write_nquads` to merge later.

    At 100k concepts the asserted graph's 4.8M lines hold ~0.9 GB; the build spills them
    before embedding and inference (its longest and largest stages) instead of carrying them.
    """
    with path.open("wb") as out:
        for start in range(0, len(lines), WRITE_CHUNK):
            out.write(b"\n".join(lines[start : start + WRITE_CHUNK]) + b"\n")
    lines.clear()


def _read_spilled(path: Path) -> Iterator[bytes]:
    """The lines :func:`spill` wrote (an N-Quads line never holds a raw newline: N-Quads escapes it)."""
    with path.open("rb") as f:
        for line in f:
            yield line[:-1]


def iter_module_members(ingest: Ingest) -> Iterator[tuple[str, str, str]]:
    """(module source, module title, concept id) for every membership."""
    placement = ingest.resolution.placement
    for rec in ingest.records:
        if rec.module:
            yield rec.source, rec.module, placement[str(rec.locator)]

"""A catalog read from the RDF graph: the store's quads become concept documents.

Only a catalog opened on a store (``Catalog(store, ...)``) and the build (which
attaches the inferred graph's quads) need this; opening a build from its
snapshot does not, so graph-only commands never import rdflib for it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING

import pyoxigraph as ox
from rdflib import PROV, RDF, SKOS

from ingest.concepts import Concept, InferredFact, Prerequisite, SourceRef
from ingest.records import SOURCE_FILES
from kg.iris import INFERRED, MERGED
from kg.store import term_value
from ontology.namespace import CKG, SCHEMA

if TYPE_CHECKING:
    from kg.catalog import Catalog

_FILES = {v: k for k, v in SOURCE_FILES.items()}

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


def load(cat: Catalog) -> None:
    """Fill ``cat`` from its store: the asserted graph, then the inferred one."""
    st = cat.store.store
    concepts: dict[str, Concept] = {}
    merged = ox.NamedNode(cat.iris.graph(MERGED))
    props: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for q in st.quads_for_pattern(None, None, None, merged):
        props[q.subject.value][q.predicate.value].append(q.object)
    T = str(RDF.type)
    for node, p in props.items():
        values = p.get(T, [])
        if any(v.value == str(CKG.Layer) for v in values):
            code = term_value(p[str(SKOS.notation)][0])[1:]
            cat.layer_order[code] = term_value(p[str(CKG.order)][0])
        if any(v.value in (str(CKG.Module), str(CKG.ConceptGroup)) for v in values):
            cat.modules[node] = term_value(p[str(SKOS.prefLabel)][0])
    module_of: dict[str, list[str]] = defaultdict(list)
    for node, p in props.items():
        if node in cat.modules:
            for member in p.get(str(SKOS.member), []):
                module_of[member.value].append(cat.modules[node])
    records = _records(cat)
    links = _links(cat)
    for node, p in props.items():
        if not any(v.value == str(CKG.Concept) for v in p.get(T, [])):
            continue
        cid = cat.iris.concept_id(node)
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
                for t in (cat.iris.concept_id(o.value) for o in p.get(str(CKG.requires), []))
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
    cat.concepts = dict(sorted(concepts.items()))  # the store's iteration order is not a contract
    load_inferred(cat, cat.store.store.quads_for_pattern(None, None, None, ox.NamedNode(cat.iris.graph(INFERRED))))
    cat._link_stubs()


def load_inferred(cat: Catalog, quads: Iterable[ox.Quad]) -> None:
    """Inferred facts from the inferred graph's quads, attached to their concepts (never to asserted fields)."""
    cat.path_links = []
    # Read the quads directly: one pass, no SPARQL join over ~20k link nodes.
    links: dict[str, dict[str, ox.Term]] = defaultdict(dict)
    wanted = {str(p): name for p, name in _LINK_PROPS.items()}
    for q in quads:
        name = wanted.get(q.predicate.value)
        if name is not None:
            links[q.subject.value][name] = q.object
    layer_prefix = cat.iris.layer("")
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
            cid = cat.iris.concept_id(t.value) if t else None
            if cid:
                cat.path_links.append((d["s"].value, cid, fact["confidence"]))
            continue
        c = cat.concepts.get(cat.iris.concept_id(d["s"].value) or "")
        if c is None:
            continue
        if kind == str(CKG.requires) and t is not None:
            target = cat.iris.concept_id(t.value)
            if target in cat.concepts:
                c.inferred_prerequisites.append(InferredFact(value=target, **fact))
        elif kind == str(CKG.layer) and t is not None:
            c.inferred["layer"] = InferredFact(value=t.value.removeprefix(layer_prefix), **fact)
        elif kind == str(CKG.studyMinutes) and "v" in d:
            c.inferred["minutes"] = InferredFact(value=int(d["v"].value), **fact)
        elif kind == str(SCHEMA.educationalLevel) and "v" in d:
            c.inferred["level"] = InferredFact(value=d["v"].value, **fact)
        elif kind in _RELATION_KINDS and t is not None:
            other = cat.iris.concept_id(t.value)
            if other in cat.concepts:
                name, back = _RELATION_KINDS[kind]
                c.relations.setdefault(name, []).append(InferredFact(value=other, **fact))
                cat.concepts[other].relations.setdefault(back, []).append(InferredFact(value=c.id, **fact))
        elif kind == str(SKOS.member) and t is not None and t.value in cat.modules:
            c.inferred["module"] = InferredFact(value=cat.modules[t.value], **fact)
    for c in cat.concepts.values():
        c.inferred_prerequisites.sort(key=lambda f: (-f.confidence, str(f.value)))
        for facts in c.relations.values():
            facts.sort(key=lambda f: (-f.confidence, str(f.value)))
        c.relations = dict(sorted(c.relations.items()))
    cat.path_links.sort()


def _records(cat: Catalog) -> dict[str, SourceRef]:
    out: dict[str, SourceRef] = {}
    res = cat.store.query(
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


def _links(cat: Catalog) -> dict[tuple[str, str], Prerequisite]:
    out: dict[tuple[str, str], Prerequisite] = {}
    res = cat.store.query(
        """SELECT ?s ?t ?slug ?method ?line WHERE {
             ?l a ckg:PrerequisiteLink ; ckg:linkSource ?s ; ckg:linkTarget ?t ;
                ckg:slug ?slug ; ckg:method ?method ; ckg:line ?line .
           }""",
        limit=10**7,
    )
    for s, t, slug, method, line in res.rows:
        sid, tid = cat.iris.concept_id(s.value), cat.iris.concept_id(t.value)
        if sid and tid:
            out[(sid, tid)] = Prerequisite(
                target=tid, slug=slug.value, method=method.value, file="theory-library.txt", line=int(line.value)
            )
    return out

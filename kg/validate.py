"""``ckg validate``: SHACL conformance of the union graph plus the prerequisite-graph lint."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from kg.graph import LintFinding, lint


class ValidationReport(BaseModel):
    shacl_conforms: bool
    shacl_results: list[str]
    findings: list[LintFinding]

    @property
    def ok(self) -> bool:
        return self.shacl_conforms and not any(f.severity == "violation" for f in self.findings)


def union_ntriples(nquads: bytes) -> bytes:
    """The union of all named graphs as N-Triples."""
    import pyoxigraph as ox

    store = ox.Store()
    store.bulk_load(nquads, format=ox.RdfFormat.N_QUADS)
    triples = {ox.Triple(q.subject, q.predicate, q.object) for q in store}
    return ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""


def shacl(nquads: bytes) -> tuple[bool, list[str]]:
    """Validate the union of all named graphs against the shipped shapes (with the vocabulary)."""
    from pyshacl import validate
    from rdflib import Graph, Namespace

    from ontology import shapes_path, vocabulary_path

    data = Graph()
    # A plain Graph parsing N-Quads keeps only the default graph, which is empty
    # here: flatten the named graphs into their union first.
    data.parse(data=union_ntriples(nquads), format="ntriples")
    if len(data) == 0:
        raise ValueError("dataset is empty: nothing to validate")
    shapes = Graph().parse(shapes_path(), format="turtle")
    ont = Graph().parse(vocabulary_path(), format="turtle")
    conforms, results_graph, _ = validate(
        data, shacl_graph=shapes, ont_graph=ont, inference="none", advanced=True, allow_warnings=True
    )
    SH = Namespace("http://www.w3.org/ns/shacl#")
    messages = []
    for result in results_graph.subjects(SH.resultSeverity, SH.Violation):
        focus = results_graph.value(result, SH.focusNode)
        msg = results_graph.value(result, SH.resultMessage)
        messages.append(f"{focus}: {msg}")
    return bool(conforms), sorted(messages)


def validate(ws: Any) -> ValidationReport:
    from ckg.progress import stage

    with stage("loading the build"):
        # Every file against its hash in build.json: commands check the catalog document by document as
        # they read it, and validate is where the whole build is vouched for.
        for name in sorted(ws.manifest.get("files") or {}):
            ws.verified(name)
        cat = ws.catalog
        data = ws.verified("dataset.nq").read_bytes()
    with stage("SHACL validation"):
        conforms, results = shacl(data)
    theory = {c.id for c in cat.concepts.values() if any(s.source == "theory-library" for s in c.sources)}
    with stage("graph lint"):
        graph = ws.graph
    findings = lint(
        graph,
        {c.id: c.layer for c in cat.concepts.values()},
        cat.layer_order,
        {c.id for c in cat.concepts.values() if c.stub},
        theory,
    )
    return ValidationReport(shacl_conforms=conforms, shacl_results=results, findings=findings)

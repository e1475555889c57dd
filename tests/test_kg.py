"""The RDF dataset, SPARQL engine, graph algorithms and exports on the real data."""

from __future__ import annotations

import pytest
from rdflib import Graph, URIRef
from rdflib.compare import isomorphic, to_isomorphic
from rdflib.namespace import OWL, RDF

from kg.build import build_quads, duration, to_nquads
from kg.export import serialize_rdf, to_rdflib
from kg.graph import PrereqGraph
from kg.queries import NAMED
from ontology import vocabulary_path
from ontology.namespace import CKG, CKG_IRI


def test_namespace_constants_match_turtle():
    g = Graph().parse(vocabulary_path(), format="turtle")
    declared = {str(s)[len(CKG_IRI) :] for s in g.subjects(RDF.type, None) if str(s).startswith(CKG_IRI)}
    constants = set(CKG.__annotations__)
    assert declared == constants
    for term in constants:
        iri = URIRef(CKG_IRI + term)
        assert (iri, URIRef("http://www.w3.org/2000/01/rdf-schema#label"), None) in g, term
        assert (iri, URIRef("http://www.w3.org/2000/01/rdf-schema#comment"), None) in g, term
    assert (URIRef("https://w3id.org/ckg/vocab"), RDF.type, OWL.Ontology) in g


def test_namespace_typo_fails_loudly():
    with pytest.raises(AttributeError):
        CKG.requries  # noqa: B018


def test_dataset_graphs(workspace):
    res = workspace.store.query("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
    graphs = {r["g"].rsplit("/", 1)[1]: r["n"] for r in res.records()}
    assert set(graphs) == {
        "merged",
        "theory-library",
        "concept-library",
        "topic-wiki",
        "working-notes",
        "research-path",
    }
    # The inferred graph exists (described in the merged graph) but holds no facts yet.
    inferred = "<https://ckg.example.org/graph/inferred>"
    ask = f"ASK {{ GRAPH <https://ckg.example.org/graph/merged> {{ {inferred} a prov:Bundle }} }}"
    assert workspace.store.query(ask).boolean


def test_counts_from_sparql(workspace):
    q = workspace.store.query
    assert q("SELECT (COUNT(?c) AS ?n) WHERE { ?c a ckg:Concept }").records() == [{"n": 1191}]
    assert q("SELECT (COUNT(?c) AS ?n) WHERE { ?c ckg:stub true }").records() == [{"n": 11}]
    assert q(
        "SELECT (COUNT(*) AS ?n) WHERE { GRAPH <https://ckg.example.org/graph/merged> { ?a ckg:requires ?b } }"
    ).records() == [{"n": 406}]
    assert q("SELECT (COUNT(?m) AS ?n) WHERE { ?m a ckg:Module }").records() == [{"n": 14}]
    assert q("SELECT (COUNT(?m) AS ?n) WHERE { ?m a ckg:ConceptGroup }").records() == [{"n": 15}]
    assert q("SELECT (COUNT(?r) AS ?n) WHERE { ?r a ckg:SourceRecord }").records() == [{"n": 1288}]


def test_provenance_down_to_line(workspace):
    rows = workspace.store.query(
        """SELECT ?file ?line WHERE {
             <https://ckg.example.org/concept/vc-dimension> prov:wasDerivedFrom ?r .
             ?r ckg:line ?line ; dcterms:source/dcterms:title ?file }"""
    ).records()
    assert {(r["file"], r["line"]) for r in rows} == {("theory-library.txt", 481)}  # grep -n "^VC Dimension"


def test_layers_ordered_and_path(workspace):
    rows = workspace.store.query("SELECT ?n ?o WHERE { ?l a ckg:Layer ; skos:notation ?n ; ckg:order ?o } ORDER BY ?o")
    assert [r["n"] for r in rows.records()] == ["L0A", "L0B", "L1", "L2", "L3", "L4", "L5"]
    phases = workspace.store.query(
        "SELECT ?t WHERE { ?p a ckg:LearningPath ; skos:memberList/rdf:rest*/rdf:first ?ph . "
        "?ph skos:prefLabel ?t ; ckg:phaseNumber ?n } ORDER BY ?n"
    ).records()
    assert next(r["t"] for r in phases) == "Foundations assumed cold"
    assert len(phases) == 5
    assert duration(90) == "PT1H30M" and duration(45) == "PT45M" and duration(120) == "PT2H"


def test_sparql_closure_equals_networkx(workspace):
    """For every concept, ckg:requires+ in SPARQL equals the networkx closure."""
    rows = workspace.store.query(
        "SELECT ?a ?b WHERE { GRAPH <https://ckg.example.org/graph/merged> { ?a ckg:requires+ ?b } }",
        limit=10**6,
    ).records()
    pre = "https://ckg.example.org/concept/"
    sparql: dict[str, set[str]] = {}
    for r in rows:
        sparql.setdefault(r["a"][len(pre) :], set()).add(r["b"][len(pre) :])
    graph = workspace.graph
    for cid in workspace.catalog.concepts:
        assert sparql.get(cid, set()) == graph.prerequisites(cid), cid
    assert sum(len(v) for v in sparql.values()) == 1658


def test_graph_algorithms(workspace):
    g = workspace.graph
    assert g.cycles() == []
    order = g.foundations_first()
    pos = {n: i for i, n in enumerate(order)}
    assert all(pos[b] < pos[a] for a, b in g.g.edges())
    assert g.depths("double-descent")["basic-logic-and-proof-techniques"] == 5
    chains = g.longest_chains(2)
    assert len(chains[0]) - 1 == 11
    assert chains[0][0] in {"lazy-vs-feature-learning", "mean-field-games"}
    assert len(g.redundant_edges()) == 65


def test_cycle_detection_on_synthetic_graph():
    g = PrereqGraph([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")])
    assert g.cycles() == [["a", "b", "c"]]
    assert g.longest_chains() == [] and g.redundant_edges() == []


def test_turtle_export_is_the_merged_graph_with_the_ckg_prefix(workspace):
    nq = workspace.settings.dataset_path.read_bytes()
    data = serialize_rdf(nq, "turtle", workspace.base_iri)
    assert b"@prefix ckg: <https://w3id.org/ckg/vocab#> ." in data and b"ns1:" not in data
    assert b"@prefix concept: <https://ckg.example.org/concept/> ." in data
    merged = to_rdflib(nq).graph(URIRef("https://ckg.example.org/graph/merged"))
    assert isomorphic(merged, Graph().parse(data=data, format="turtle"))


@pytest.mark.parametrize("fmt", ["trig", "nquads", "jsonld"])
def test_export_round_trip_is_isomorphic(workspace, fmt):
    nq = workspace.settings.dataset_path.read_bytes()
    original = to_rdflib(nq)
    data = serialize_rdf(nq, fmt, workspace.base_iri)
    from rdflib import Dataset

    again = Dataset()
    again.parse(data=data, format={"trig": "trig", "nquads": "nquads", "jsonld": "json-ld"}[fmt])
    names = {str(c.identifier) for c in original.graphs()} - {"urn:x-rdflib:default"}
    assert names == {str(c.identifier) for c in again.graphs()} - {"urn:x-rdflib:default"}
    for name in names:
        assert isomorphic(original.graph(URIRef(name)), again.graph(URIRef(name))), name


def test_the_dataset_written_a_chunk_at_a_time_is_the_same_bytes(ingested, tmp_path, monkeypatch):
    """The build adds the inferred graph's lines to the others late and writes the file in blocks (its peak
    memory at 100k); the bytes, the line count and the digest are those of the whole-text serialisation."""
    import hashlib

    import kg.build

    quads = build_quads(ingested, "https://ckg.example.org/")
    whole = to_nquads(list(quads))
    monkeypatch.setattr(kg.build, "WRITE_CHUNK", 1009)  # many blocks
    later = quads[-3000:]  # as the inferred graph's quads arrive after the rest
    lines = kg.build.sorted_lines(quads[:-3000] + quads[:2000])  # duplicates across the two runs
    lines += kg.build.sorted_lines(later)
    count, digest = kg.build.write_nquads(lines, tmp_path / "dataset.nq")
    assert lines == [] and (tmp_path / "dataset.nq").read_bytes() == whole
    assert count == whole.count(b"\n") and digest == hashlib.sha256(whole).hexdigest()

    # As the build does: the asserted lines spilled to disk through embedding and inference, then merged
    # with the inferred graph's lines as they are read back (duplicates on both sides of the border).
    quads = build_quads(ingested, "https://ckg.example.org/")
    asserted = kg.build.sorted_lines(quads[:-3000] + quads[:2000])
    kg.build.spill(asserted, tmp_path / ".asserted.nq")
    assert asserted == []
    inferred = kg.build.sorted_lines(quads[-3500:])
    count, digest = kg.build.write_nquads(inferred, tmp_path / "merged.nq", spilled=tmp_path / ".asserted.nq")
    assert (tmp_path / "merged.nq").read_bytes() == whole
    assert count == whole.count(b"\n") and digest == hashlib.sha256(whole).hexdigest()


def test_the_build_writes_the_lines_pyoxigraph_would_serialise(ingested):
    """The build writes its asserted graphs straight as N-Quads text (no pyoxigraph term per statement):
    on the real data the lines are byte for byte those of the quads serialised, and every kind of literal
    value is escaped and typed as pyoxigraph writes it."""
    from pyoxigraph import Literal, NamedNode, Quad, RdfFormat, serialize

    import kg.build

    base = "https://ckg.example.org/"
    lines = kg.build.build_lines(ingested, base)
    assert lines == kg.build.sorted_lines(build_quads(ingested, base))
    assert len(lines) == 27_223 and any(b"\\n" in line or b'\\"' in line for line in lines)

    every_control = "".join(map(chr, range(0x80))) + "é\u2028\U0001f600"
    values = [every_control, "", True, False, 0, -7, 1.5, 0.12345, Literal("PT1H", datatype=kg.build.XSD_.duration)]
    values += [
        Literal("chat", language="fr"),
        Literal("x", datatype=NamedNode("http://www.w3.org/2001/XMLSchema#string")),
    ]
    for value in values:
        term = value if isinstance(value, Literal) else kg.build._lit(value)
        want = serialize(
            [Quad(NamedNode(base + "s"), kg.build.RDF_.value, term, NamedNode(base + "g"))], format=RdfFormat.N_QUADS
        )
        out: list[bytes] = []
        kg.build._Lines(base + "g", out).add(base + "s", kg.build.RDF_.value, value)
        assert out[0] + b"\n" == want, value


def test_a_base_iri_that_is_not_an_iri_is_one_clear_error(ingested):
    import kg.build
    from ckg.errors import CkgError

    for bad in ("http://exa mple.org/", "https://example.org/a>b/"):
        with pytest.raises(CkgError, match="is not an IRI"):
            kg.build.build_lines(ingested, bad)
        with pytest.raises(CkgError, match="is not an IRI"):
            build_quads(ingested, bad)


def test_rebuild_is_identical(ingested, sources):
    from ingest.pipeline import run

    a = to_nquads(build_quads(ingested, "https://ckg.example.org/"))
    b = to_nquads(build_quads(run(sources), "https://ckg.example.org/"))
    assert a == b
    from kg.validate import union_ntriples

    g1 = Graph().parse(data=union_ntriples(a), format="ntriples")
    g2 = Graph().parse(data=union_ntriples(b), format="ntriples")
    assert len(g1) > 20_000
    assert to_isomorphic(g1) == to_isomorphic(g2)


def test_base_iri_is_configurable(ingested):
    quads = build_quads(ingested, "http://example.org/kg")
    assert all(q.subject.value.startswith(("http://example.org/kg/", "https://w3id.org/")) for q in quads)


def test_shacl_passes_on_real_data(workspace):
    from kg.validate import validate

    report = validate(workspace)
    assert report.shacl_conforms, report.shacl_results
    kinds = {}
    for f in report.findings:
        kinds[f.kind] = kinds.get(f.kind, 0) + 1
    assert kinds == {"layer-inversion": 19, "redundant-edge": 65, "stub": 11, "orphan": 19}
    assert report.ok


def test_shacl_catches_a_broken_concept_and_a_broken_stub(workspace):
    from kg.validate import shacl

    nq = workspace.settings.dataset_path.read_bytes()
    stub = next(line for line in nq.splitlines() if b'vocab#stub> "true' in line).split()[0]
    bad = (
        nq
        + (
            b"<https://ckg.example.org/concept/broken> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> "
            b"<https://w3id.org/ckg/vocab#Concept> <https://ckg.example.org/graph/merged> .\n"
            # a stub with a source record is no stub
            + stub
            + b" <http://www.w3.org/ns/prov#wasDerivedFrom> <https://ckg.example.org/record/x>"
            b" <https://ckg.example.org/graph/merged> .\n"
        )
    )
    conforms, results = shacl(bad)
    assert not conforms
    assert any("concept/broken:" in r for r in results)
    stub_iri = stub.decode().strip("<>")
    assert f"{stub_iri}: a stub concept must be required by at least one concept and have no source record" in results
    assert all("concept/broken:" in r or r.startswith(stub_iri) for r in results), results


@pytest.mark.parametrize("name", sorted(NAMED))
def test_named_queries_run(workspace, name):
    from kg.queries import render_named

    q = NAMED[name]
    params = {p: "Concentration Inequalities" for p in q.params}
    text, _ = render_named(q, params, workspace)
    result = workspace.store.query(text)
    assert result.rows, name


def test_named_query_answers(workspace):
    from kg.queries import render_named

    text, _ = render_named(NAMED["prerequisites"], {"target": "double descent"}, workspace)
    rows = workspace.store.query(text).records()
    assert len(rows) == 18
    assert rows[0]["depth"] == 1 and rows[-1]["depth"] == 5
    layer = workspace.store.query(NAMED["minutes-per-layer"].text).records()
    assert layer[0] == {"layer": "L0A", "concepts": 29, "minutes": 1270}
    assert len(NAMED) >= 8


def test_query_limits(workspace):
    from ckg.errors import QueryError

    res = workspace.store.query("SELECT ?s WHERE { ?s ?p ?o }", limit=5)
    assert len(res.rows) == 5 and res.truncated
    with pytest.raises(QueryError, match="read-only"):
        workspace.store.query("PREFIX x: <http://x/>\nDELETE WHERE { ?s ?p ?o }")
    with pytest.raises(QueryError, match="syntax error: error at 1:"):
        workspace.store.query("SELECT ?x WHERE { ?x")


def test_query_timeout(workspace):
    from ckg.errors import QueryTimeoutError

    heavy = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?p ?b . ?c ?q ?d . ?e ?r ?f }"
    with pytest.raises(QueryTimeoutError):
        workspace.store.query(heavy, timeout=0.2)


def test_parquet_export(workspace, tmp_path):
    import pyarrow.parquet as pq

    from kg.export import write_parquet

    write_parquet(workspace.catalog, tmp_path)
    concepts = pq.read_table(tmp_path / "concepts.parquet")
    edges = pq.read_table(tmp_path / "edges.parquet")
    assert concepts.num_rows == 1191 and edges.num_rows == 406
    assert str(concepts.schema.field("alt_labels").type) == "list<element: string>"
    ids = concepts.column("id").to_pylist()
    assert ids == sorted(ids)
    vc = concepts.to_pylist()[ids.index("vc-dimension")]
    assert (vc["layer"], vc["tier"], vc["minutes"], vc["stub"]) == ("2", 1, 75, False)
    assert vc["sources"] == [
        {"source": "theory-library", "file": "theory-library.txt", "line": 481, "title": "VC Dimension"}
    ]
    assert set(edges.column("method").to_pylist()) >= {"normalized", "stub", "prefix"}


def test_dataset_states_each_quad_once(indexed):
    # A concept described twice by one source once wrote its dcterms:source twice.
    import json

    ws, outcome = indexed
    lines = ws.settings.dataset_path.read_bytes().splitlines()
    assert len(lines) == len(set(lines)) == outcome.quads
    assert json.loads(ws.settings.build_manifest_path.read_text())["quads"] == len(lines)
    assert list(outcome.stages) == [
        "parse + resolve",
        "RDF quads",
        "catalog",
        "embeddings + vector index",
        "inference",
        "N-Quads",
        "catalog snapshot + report",
        "Parquet export",
        "persistent store",  # last: the catalog and vectors are released before its bulk load
    ]


def test_catalog_from_ingest_is_the_catalog_the_graph_reads_back_as(ingested):
    """The build's shortcut must give byte for byte the snapshot that reading the graph gives."""
    from kg.catalog import Catalog
    from kg.store import GraphStore

    base = "https://ckg.example.org/"
    from_graph = Catalog(GraphStore.from_quads(build_quads(ingested, base)), base)
    from_ingest = Catalog.from_ingest(ingested, base)
    assert from_ingest.snapshot() == from_graph.snapshot()
    assert len(from_ingest.concepts) == 1191 and len(from_ingest.edges()) == 406


@pytest.mark.slow
def test_an_opened_build_validates_concepts_as_they_are_read_and_equals_the_eager_catalog(indexed):
    """Opening a build validates no concept document (6.4 s at 100k concepts when it validated all); the
    label table and the edges come from the catalog index, and every answer equals the eager catalog's."""
    from kg.catalog import Catalog, LazyConcepts
    from kg.workspace import Workspace
    from retrieval.gap import GapFinder

    ws = Workspace(indexed[0].settings)  # a fresh open
    lazy = ws.catalog
    assert isinstance(lazy.concepts, LazyConcepts) and lazy.concepts.validated == 0
    plan = GapFinder(ws).path("gradient-boosting-machines")
    assert len(plan.missing) >= 5 and lazy.concepts.validated <= len(plan.missing) + 5  # what the plan shows
    eager = Catalog.from_snapshot((ws.settings.home / "catalog.json").read_bytes(), ws.base_iri)
    assert isinstance(eager.concepts, dict) and list(lazy.concepts) == list(eager.concepts)
    for t in (0.0, 0.15, 0.3):
        assert lazy.edges(inferred=True, min_confidence=t) == eager.edges(inferred=True, min_confidence=t)
    assert lazy.edges() == eager.edges() and any(e.inferred for e in lazy.edges(inferred=True))
    assert lazy._labels == eager._labels
    assert (lazy.modules, lazy.layer_order, lazy.path_links) == (eager.modules, eager.layer_order, eager.path_links)
    assert all(lazy.concepts[c] == eager.concepts[c] for c in eager.concepts)
    assert lazy.snapshot_files() == eager.snapshot_files()  # and both write the same files again
    with pytest.raises(KeyError):
        lazy.concepts["no-such-concept"]


def test_a_build_without_a_catalog_index_opens_eagerly(workspace, tmp_path):
    """Builds written before the catalog index (or with stop 22's JSON one) still open, every concept
    validated up front."""
    import json
    import shutil

    from ckg.config import Settings
    from kg.workspace import CATALOG_INDEX, Workspace

    home = tmp_path / "build"
    shutil.copytree(workspace.settings.home, home)
    (home / CATALOG_INDEX).unlink()
    doc = json.loads((home / "build.json").read_text())
    del doc["files"][CATALOG_INDEX]
    (home / "build.json").write_text(json.dumps(doc))
    old = Workspace(Settings(home=home)).catalog
    assert isinstance(old.concepts, dict)
    assert old.get("BM25").id == workspace.catalog.get("BM25").id == "bm25"
    assert old.edges() == workspace.catalog.edges()

"""Exports: RDF serialisations of the dataset, Parquet tables, GraphML.

Parquet schema (documented in README):

``concepts.parquet``: id (string), iri, label, alt_labels (list<string>),
definition, layer (string, e.g. "0A"), tier (int32), minutes (int32), level,
modules (list<string>), premium (bool), stub (bool), sources
(list<struct<source, file, line, title>>): the flat fields of the concept
document (``ingest.concepts.ConceptDoc``); layer, minutes, level and modules are
the stated value or else the inferred one, with ``layer_inferred``,
``minutes_inferred``, ``level_inferred``, ``modules_inferred`` saying which.

``edges.parquet``: source (string id), target (string id), slug, method, line
(int32), inferred (bool), confidence (float64), evidence (string): stated and
inferred prerequisite edges, source requires target.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kg.catalog import Catalog

#: ``turtle`` is the merged graph (one description per concept) as Turtle; ``trig``, ``nquads`` and
#: ``jsonld`` hold the whole dataset with its named graphs.
RDF_FORMATS = {"turtle": "turtle", "trig": "trig", "nquads": "nquads", "jsonld": "json-ld"}


def concept_rows(catalog: Catalog) -> list[dict]:
    """The concept document's flat fields (everything but the nested inferred provenance), one row per concept."""
    nested = {"inferred", "inferred_prerequisites", "relations"}
    return [
        {k: v for k, v in c.document(catalog.iri(c.id)).items() if k not in nested}
        for c in sorted(catalog.concepts.values(), key=lambda c: c.id)
    ]


def edge_rows(catalog: Catalog) -> list[dict]:
    """Stated and inferred prerequisite edges (source requires target), as every export writes them."""
    evidence = {(c.id, str(f.value)): f.evidence for c in catalog.concepts.values() for f in c.inferred_prerequisites}
    return [
        {
            "source": e.source,
            "target": e.target,
            "slug": e.slug,
            "method": e.method,
            "line": e.line,
            "inferred": e.inferred,
            "confidence": e.confidence,
            "evidence": evidence.get((e.source, e.target)) if e.inferred else None,
        }
        for e in sorted(catalog.edges(inferred=True), key=lambda e: (e.source, e.target))
    ]


def write_parquet(catalog: Catalog, directory: Path) -> list[Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ckg.atomic import write_bytes

    concepts = pa.Table.from_pylist(
        concept_rows(catalog),
        schema=pa.schema(
            [
                ("id", pa.string()),
                ("iri", pa.string()),
                ("label", pa.string()),
                ("alt_labels", pa.list_(pa.string())),
                ("definition", pa.string()),
                ("layer", pa.string()),
                ("layer_inferred", pa.bool_()),
                ("tier", pa.int32()),
                ("minutes", pa.int32()),
                ("minutes_inferred", pa.bool_()),
                ("level", pa.string()),
                ("level_inferred", pa.bool_()),
                ("modules", pa.list_(pa.string())),
                ("modules_inferred", pa.bool_()),
                ("premium", pa.bool_()),
                ("stub", pa.bool_()),
                (
                    "sources",
                    pa.list_(
                        pa.struct(
                            [
                                ("source", pa.string()),
                                ("file", pa.string()),
                                ("line", pa.int32()),
                                ("title", pa.string()),
                            ]
                        )
                    ),
                ),
            ]
        ),
    )
    edges = pa.Table.from_pylist(
        edge_rows(catalog),
        schema=pa.schema(
            [
                ("source", pa.string()),
                ("target", pa.string()),
                ("slug", pa.string()),
                ("method", pa.string()),
                ("line", pa.int32()),
                ("inferred", pa.bool_()),
                ("confidence", pa.float64()),
                ("evidence", pa.string()),
            ]
        ),
    )
    out = []
    for name, table in (("concepts.parquet", concepts), ("edges.parquet", edges)):
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        write_bytes(directory / name, sink.getvalue().to_pybytes())
        out.append(directory / name)
    return out


def to_rdflib(nquads: bytes):
    from rdflib import Dataset

    ds = Dataset()
    ds.parse(data=nquads, format="nquads")
    return ds


def serialize_rdf(nquads: bytes, fmt: str, base_iri: str | None = None) -> bytes:
    """The dataset as TriG, N-Quads or JSON-LD, or (``turtle``) its merged graph as Turtle; with the
    ``ckg:`` and standard prefixes, and prefixes for the build's own IRIs when ``base_iri`` is given."""
    if fmt == "nquads":
        return nquads
    ds = to_rdflib(nquads)
    _bind_prefixes(ds, base_iri)
    if fmt == "turtle":
        from rdflib import Graph

        merged = next((g for g in ds.graphs() if str(g.identifier).endswith("/graph/merged")), None)
        graph = Graph(namespace_manager=ds.namespace_manager)
        if merged is not None:
            for triple in merged:
                graph.add(triple)
        out = graph.serialize(format="turtle")
    else:
        out = ds.serialize(format=RDF_FORMATS[fmt])
    return out.encode("utf-8") if isinstance(out, str) else out


def _bind_prefixes(ds: Any, base_iri: str | None) -> None:
    from rdflib.namespace import DCTERMS, OWL, PROV, RDFS, SDO, SKOS, XSD

    from ontology.namespace import CKG_IRI

    ds.bind("ckg", CKG_IRI, replace=True)
    for name, ns in (("skos", SKOS), ("prov", PROV), ("dcterms", DCTERMS), ("schema", SDO), ("rdfs", RDFS),
                     ("xsd", XSD), ("owl", OWL)):  # fmt: skip
        ds.bind(name, ns, replace=True)
    if base_iri:
        for name in ("concept", "record", "graph", "layer", "group", "module", "source", "path", "link"):
            ds.bind(name, f"{base_iri}{name}/", replace=True)


def write_graphml(catalog: Catalog, path: Path) -> None:
    """GraphML of concepts and prerequisite edges, drawn as the mermaid/dot pictures draw them:
    ``source -> target`` means source is a prerequisite *of* target (learn source first; the reverse
    of ``ckg:requires``). Nodes carry the concept document's scalar fields (unknown values absent, not
    0) and ``sources`` as "file:line; ..."; inferred edges carry ``inferred``, ``confidence``, ``evidence``."""
    import networkx as nx

    from ckg.atomic import write_bytes

    g = nx.DiGraph()
    for row in concept_rows(catalog):
        attrs = {
            k: row[k]
            for k in ("label", "layer_inferred", "minutes_inferred", "level_inferred", "stub")
            if row[k] is not None
        }
        attrs |= {k: row[k] for k in ("layer", "minutes", "level", "tier") if row[k] is not None}  # unknown: absent
        attrs |= {"iri": row["iri"], "premium": row["premium"], "modules": "; ".join(row["modules"])}
        attrs["sources"] = "; ".join(f"{s['file']}:{s['line']}" for s in row["sources"])
        g.add_node(row["id"], **attrs)
    for e in edge_rows(catalog):
        g.add_edge(
            e["target"],  # the prerequisite first, as in the pictures
            e["source"],
            method=e["method"] or "",
            slug=e["slug"] or "",
            inferred=e["inferred"],
            confidence=float(e["confidence"]),
            evidence=e["evidence"] or "",
        )
    write_bytes(path, "\n".join(nx.generate_graphml(g)).encode("utf-8"))

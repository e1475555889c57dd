"""Exports: RDF serialisations of the dataset, Parquet tables, GraphML.

Parquet schema (documented in README):

``concepts.parquet``: id (string), iri, label, alt_labels (list<string>),
definition, layer (string, e.g. "0A"), tier (int32), minutes (int32), level,
modules (list<string>), premium (bool), stub (bool), sources (list<string>,
"file:line").

``edges.parquet``: source (string id), target (string id), slug, method, line
(int32), inferred (bool), confidence (float64).
"""

from __future__ import annotations

from pathlib import Path

from kg.catalog import Catalog

RDF_FORMATS = {"turtle": "trig", "nquads": "nquads", "jsonld": "json-ld", "trig": "trig"}


def concept_rows(catalog: Catalog) -> list[dict]:
    return [
        {
            "id": c.id,
            "iri": catalog.iri(c.id),
            "label": c.label,
            "alt_labels": list(c.alt_labels),
            "definition": c.definition,
            "layer": c.layer,
            "tier": c.tier,
            "minutes": c.minutes,
            "level": c.level,
            "modules": list(c.modules),
            "premium": c.premium,
            "stub": c.stub,
            "sources": [f"{s.file}:{s.line}" for s in c.sources],
        }
        for c in sorted(catalog.concepts.values(), key=lambda c: c.id)
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
                ("tier", pa.int32()),
                ("minutes", pa.int32()),
                ("level", pa.string()),
                ("modules", pa.list_(pa.string())),
                ("premium", pa.bool_()),
                ("stub", pa.bool_()),
                ("sources", pa.list_(pa.string())),
            ]
        ),
    )
    edges = pa.Table.from_pylist(
        [
            {
                "source": e.source,
                "target": e.target,
                "slug": e.slug,
                "method": e.method,
                "line": e.line,
                "inferred": False,
                "confidence": 1.0,
            }
            for e in sorted(catalog.edges(), key=lambda e: (e.source, e.target))
        ],
        schema=pa.schema(
            [
                ("source", pa.string()),
                ("target", pa.string()),
                ("slug", pa.string()),
                ("method", pa.string()),
                ("line", pa.int32()),
                ("inferred", pa.bool_()),
                ("confidence", pa.float64()),
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


def serialize_rdf(nquads: bytes, fmt: str) -> bytes:
    """Serialise the dataset (all named graphs) as Turtle-family TriG, N-Quads or JSON-LD."""
    if fmt == "nquads":
        return nquads
    ds = to_rdflib(nquads)
    out = ds.serialize(format=RDF_FORMATS[fmt])
    return out.encode("utf-8") if isinstance(out, str) else out


def write_graphml(catalog: Catalog, path: Path) -> None:
    import networkx as nx

    from ckg.atomic import write_bytes

    g = nx.DiGraph()
    for c in catalog.concepts.values():
        g.add_node(c.id, label=c.label, layer=c.layer or "", minutes=c.minutes or 0, stub=c.stub)
    for e in catalog.edges():
        g.add_edge(e.source, e.target, method=e.method or "", slug=e.slug or "")
    write_bytes(path, "\n".join(nx.generate_graphml(g)).encode("utf-8"))

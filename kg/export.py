"""Exports: RDF serialisations of the dataset, Parquet tables, GraphML.

Parquet schema (documented in README):

``concepts.parquet``: id (string), iri, label, alt_labels (list<string>),
definition, layer (string, e.g. "0A"), tier (int32), minutes (int32), level,
modules (list<string>), premium (bool), stub (bool), sources (list<string>,
"file:line"); layer, minutes and level are the stated value or else the
inferred one, with ``layer_inferred``, ``minutes_inferred``, ``level_inferred``
(bool) saying which.

``edges.parquet``: source (string id), target (string id), slug, method, line
(int32), inferred (bool), confidence (float64), evidence (string): stated and
inferred prerequisite edges, source requires target.
"""

from __future__ import annotations

from pathlib import Path

from kg.catalog import Catalog

RDF_FORMATS = {"turtle": "trig", "nquads": "nquads", "jsonld": "json-ld", "trig": "trig"}


def concept_rows(catalog: Catalog) -> list[dict]:
    rows = []
    for c in sorted(catalog.concepts.values(), key=lambda c: c.id):
        layer, layer_inferred = c.layer_with_flag()
        minutes, minutes_inferred = c.minutes_with_flag()
        level, level_inferred = c.level_with_flag()
        rows.append(
            {
                "id": c.id,
                "iri": catalog.iri(c.id),
                "label": c.label,
                "alt_labels": list(c.alt_labels),
                "definition": c.definition,
                "layer": layer,
                "layer_inferred": layer_inferred,
                "tier": c.tier,
                "minutes": minutes,
                "minutes_inferred": minutes_inferred,
                "level": level,
                "level_inferred": level_inferred,
                "modules": list(c.modules),
                "premium": c.premium,
                "stub": c.stub,
                "sources": [f"{s.file}:{s.line}" for s in c.sources],
            }
        )
    return rows


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
                ("premium", pa.bool_()),
                ("stub", pa.bool_()),
                ("sources", pa.list_(pa.string())),
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


def serialize_rdf(nquads: bytes, fmt: str) -> bytes:
    """Serialise the dataset (all named graphs) as Turtle-family TriG, N-Quads or JSON-LD."""
    if fmt == "nquads":
        return nquads
    ds = to_rdflib(nquads)
    out = ds.serialize(format=RDF_FORMATS[fmt])
    return out.encode("utf-8") if isinstance(out, str) else out


def write_graphml(catalog: Catalog, path: Path) -> None:
    """GraphML of concepts and prerequisite edges. Edge direction: ``source -> target`` means source
    *requires* target (the direction of ``ckg:requires``); the mermaid/dot pictures draw the same edges
    the other way, prerequisite first. Inferred edges carry ``inferred``, ``confidence`` and ``evidence``."""
    import networkx as nx

    from ckg.atomic import write_bytes

    g = nx.DiGraph()
    for row in concept_rows(catalog):
        attrs = {
            k: row[k]
            for k in ("label", "layer_inferred", "minutes_inferred", "level_inferred", "stub")
            if row[k] is not None
        }
        attrs |= {k: row[k] for k in ("layer", "minutes", "level") if row[k] is not None}  # unknown stays absent
        g.add_node(row["id"], **attrs)
    for e in edge_rows(catalog):
        g.add_edge(
            e["source"],
            e["target"],
            method=e["method"] or "",
            slug=e["slug"] or "",
            inferred=e["inferred"],
            confidence=float(e["confidence"]),
            evidence=e["evidence"] or "",
        )
    write_bytes(path, "\n".join(nx.generate_graphml(g)).encode("utf-8"))

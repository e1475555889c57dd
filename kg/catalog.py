"""Concepts read back from the graph, and lookup of a concept by id, IRI or label.

Reading from the graph (not from ingest's objects) keeps one source of truth:
what the CLI, the server and SPARQL users see is what the dataset holds. The
build alone takes a shortcut (:meth:`Catalog.from_ingest`: the same catalog
straight from the ingest that the graph is written from; a test asserts both
give the same snapshot), because reading ~4M quads back cost ~50 s at 100k
concepts.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import mmap
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from pydantic import BaseModel

from ckg.errors import BuildDamagedError, ConceptNotFoundError
from ckg.integrity import REBUILD_HINT
from ingest.concepts import Concept
from ingest.records import LAYERS, SOURCE_FILES
from ingest.text import fold
from kg import columns
from kg.graph import EdgeTable
from kg.iris import Iris

if TYPE_CHECKING:
    import pyoxigraph as ox

    from ingest.pipeline import Ingest
    from ingest.resolve import SlugMatcher
    from kg.store import GraphStore

_SOURCE_ORDER = {name: i for i, name in enumerate(SOURCE_FILES)}
#: Every column :meth:`Catalog.snapshot_files` writes into the catalog index.
_INDEX_COLUMNS = frozenset(
    "nodes span_start span_end span_digest label_keys label_nodes edge_src edge_dst edge_inferred "
    "edge_confidence edge_fields edge_slug edge_method edge_line out_order out_ptr in_order in_ptr meta".split()
)


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


def span_digest(doc: bytes) -> int:
    """A concept document's digest as the catalog index keeps it (8 bytes of BLAKE2b, as a signed int):
    a command checks the few documents it reads instead of hashing all of ``catalog.json``."""
    return int.from_bytes(hashlib.blake2b(doc, digest_size=8).digest(), "little", signed=True)


def _dumps(value: object) -> bytes:
    """JSON as the snapshot writes it: the same catalog gives the same bytes however it was made."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True).encode("utf-8")


class LazyConcepts(Mapping[str, Concept]):
    """The concepts of a catalog snapshot, each validated from its own bytes the first time it is read.

    Opening a 100k-concept build validated every concept document (6.4 s) although a graph-only
    command reads a few dozen; the label index and the edges a plan needs come precomputed in the
    snapshot's index (:meth:`Catalog.snapshot_files`). A document is checked against its digest in
    the index before it is validated. Iterating the values still validates them all.
    """

    def __init__(
        self,
        data: bytes | mmap.mmap,
        ids: Sequence[str],
        row: Mapping[str, int],
        starts: Sequence[int],
        ends: Sequence[int],
        digests: Sequence[int],
    ) -> None:
        self._data = data
        self._ids, self._row = ids, row  # ``row`` may also number edge ends past ``ids`` (not concepts)
        self._starts, self._ends, self._digests = starts, ends, digests
        self._done: dict[str, Concept] = {}

    def __getitem__(self, cid: str) -> Concept:
        found = self._done.get(cid)
        if found is None:
            if cid not in self:
                raise KeyError(cid)
            r = self._row[cid]
            doc = self._data[self._starts[r] : self._ends[r]]
            if span_digest(doc) != self._digests[r]:
                raise BuildDamagedError(
                    f"catalog.json: the document of concept {cid!r} does not match its digest in the catalog "
                    f"index; {REBUILD_HINT}"
                )
            found = self._done[cid] = Concept.model_validate_json(doc)
        return found

    def __contains__(self, cid: object) -> bool:
        r = self._row.get(cid) if isinstance(cid, str) else None
        return r is not None and r < len(self._ids)

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

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
        self._table: EdgeTable | None = None
        self._label_columns: tuple[list[str], Sequence[int], list[str]] | None = None
        self._edge_fields: tuple[Sequence[int], list[str], list[str], Sequence[int]] | None = None
        self.modules: dict[str, str] = {}
        self.layer_order: dict[str, int] = {}
        self.path_links: list[tuple[str, str, float]] = []
        if store is not None:
            from kg.catalog_rdf import load

            load(self)

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
        """``catalog.json`` and its index (a :mod:`kg.columns` file): where each concept's document lies
        (byte spans), the label lookup table, and every edge with its adjacency both ways, so that opening
        a build validates no concept (:class:`LazyConcepts`) and builds no graph (:class:`EdgeTable`)."""
        data, spans = self._snapshot()
        edges = self.edges(inferred=True)
        nodes = {cid: i for i, (cid, _, _) in enumerate(spans)}
        for e in edges:  # an edge to something that is not a concept keeps its end (none do today)
            nodes.setdefault(e.source, len(nodes))
            nodes.setdefault(e.target, len(nodes))
        table = EdgeTable.build(
            list(nodes),
            [nodes[e.source] for e in edges],
            [nodes[e.target] for e in edges],
            [int(e.inferred) for e in edges],
            [e.confidence for e in edges],
        )
        labels = sorted(self._labels.items())
        index = columns.dumps(
            {
                "nodes": (columns.STR, table.nodes),
                "span_start": ("q", [start for _, start, _ in spans]),
                "span_end": ("q", [end for _, _, end in spans]),
                "span_digest": ("q", [span_digest(data[start:end]) for _, start, end in spans]),
                "label_keys": (columns.STR, [k for k, _ in labels]),
                "label_nodes": ("i", [nodes[cid] for _, cid in labels]),
                "edge_src": ("i", table.src),
                "edge_dst": ("i", table.dst),
                "edge_inferred": ("b", table.inferred),
                "edge_confidence": ("d", table.confidence),
                # which of slug, method, line an edge has (bits 1, 2, 4): an empty value is not a missing one
                "edge_fields": (
                    "b",
                    [(e.slug is not None) | (e.method is not None) << 1 | (e.line is not None) << 2 for e in edges],
                ),
                "edge_slug": (columns.STR, [e.slug or "" for e in edges]),
                "edge_method": (columns.STR, [e.method or "" for e in edges]),
                "edge_line": ("q", [e.line or 0 for e in edges]),
                "out_order": ("i", table.out_order),
                "out_ptr": ("i", table.out_ptr),
                "in_order": ("i", table.in_order),
                "in_ptr": ("i", table.in_ptr),
                "meta": (
                    "json",
                    {"modules": self.modules, "layer_order": self.layer_order, "path_links": self.path_links},
                ),
            }
        )
        return data, index

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
    def from_snapshot(cls, data: bytes | mmap.mmap, base_iri: str, index: bytes | None = None) -> Catalog:
        """A catalog without parsing the dataset: graph-only commands start in a fraction of the time.

        With the snapshot's ``index`` (builds since stop 22) nothing is validated up front: concepts
        are read as they are asked for. Without it, every concept is validated here.
        """
        cat = cls(None, base_iri)
        if index is not None:
            cols = columns.loads(index, what="the catalog index")
            missing = sorted(_INDEX_COLUMNS - cols.keys())
            if missing:
                raise BuildDamagedError(f"the catalog index lacks {', '.join(missing)}; {REBUILD_HINT}")
            nodes: list[str] = cols["nodes"]
            row = {n: i for i, n in enumerate(nodes)}
            starts = cols["span_start"]
            cat.concepts = LazyConcepts(data, nodes[: len(starts)], row, starts, cols["span_end"], cols["span_digest"])
            meta = cols["meta"]
            cat.modules = meta["modules"]
            cat.layer_order = meta["layer_order"]
            cat.path_links = [tuple(link) for link in meta["path_links"]]
            cat._label_columns = (cols["label_keys"], cols["label_nodes"], nodes)
            cat._table = EdgeTable(
                nodes,
                *(cols[k] for k in ("edge_src", "edge_dst", "edge_inferred", "edge_confidence")),
                *(cols[k] for k in ("out_order", "out_ptr", "in_order", "in_ptr")),
                row=row,
            )
            cat._edge_fields = (cols["edge_fields"], cols["edge_slug"], cols["edge_method"], cols["edge_line"])
            return cat
        snap = _Snapshot.model_validate_json(data)  # one pass in pydantic-core: half the time of json + validate
        cat.concepts = {c.id: c for c in snap.concepts}
        cat.modules = snap.modules
        cat.layer_order = snap.layer_order
        cat.path_links = snap.path_links
        return cat

    @cached_property
    def _labels(self) -> dict[str, str]:
        """Folded id, label and alt label -> concept id (a described concept wins over a stub), read from
        the snapshot index when there is one: built on first need, so an exact id never waits for it."""
        if self._label_columns is not None:
            keys, rows, nodes = self._label_columns
            return dict(zip(keys, (nodes[i] for i in rows), strict=True))
        labels: dict[str, str] = {}
        for c in sorted(self.concepts.values(), key=lambda c: (c.stub, c.id), reverse=True):
            for label in (c.id, c.label, *c.alt_labels):
                labels[fold(label).strip()] = c.id
        return labels

    def add_inferred(self, quads: list[ox.Quad]) -> None:
        """Attach the inferred graph's quads to a catalog made before inference ran (the build does this)."""
        if self.store is not None:
            self.store.store.bulk_extend(quads)
        self._table = None  # its inferred edges change
        for c in self.concepts.values():
            c.inferred.clear()
            c.inferred_prerequisites.clear()
            c.relations.clear()
        from kg.catalog_rdf import load_inferred

        load_inferred(self, quads)

    # ---------------------------------------------------------------- access
    def edges(self, *, inferred: bool = False, min_confidence: float = 0.0) -> list[Edge]:
        """Asserted edges; with ``inferred=True`` also inferred ones at or above ``min_confidence``."""
        if self._table is not None and self._edge_fields is not None:
            t, (fields, slugs, methods, lines) = self._table, self._edge_fields
            return [
                Edge(
                    t.nodes[t.src[i]],
                    t.nodes[t.dst[i]],
                    slugs[i] if fields[i] & 1 else None,
                    methods[i] if fields[i] & 2 else None,
                    lines[i] if fields[i] & 4 else None,
                    bool(t.inferred[i]),
                    t.confidence[i],
                )
                for i in range(len(t.src))
                if not t.inferred[i] or (inferred and t.confidence[i] >= min_confidence)
            ]
        out = [Edge(c.id, p.target, p.slug, p.method, p.line) for c in self.concepts.values() for p in c.prerequisites]
        if inferred:
            out += [
                Edge(c.id, str(f.value), method=f.method, inferred=True, confidence=f.confidence)
                for c in self.concepts.values()
                for f in c.inferred_prerequisites
                if f.confidence >= min_confidence
            ]
        return out

    def edge_table(self) -> EdgeTable:
        """Every edge (stated and inferred) with adjacency both ways: what graphs are views of."""
        if self._table is None:
            self._table = EdgeTable.from_edges(
                (
                    (e.source, e.target, {"inferred": e.inferred, "confidence": e.confidence})
                    for e in self.edges(inferred=True)
                ),
                self.concepts,
            )
        return self._table

    def lookup(self, ref: str) -> Concept | None:
        """Exact lookup by id, IRI or any label (case-insensitive); ``None`` if nothing matches."""
        ref = ref.strip()
        if ref in self.concepts:
            return self.concepts[ref]
        cid = self.iris.concept_id(ref)
        if cid and cid in self.concepts:
            return self.concepts[cid]
        hit = self._label_id(fold(ref).strip())
        return self.concepts[hit] if hit else None

    def _label_id(self, key: str) -> str | None:
        """The concept a folded label names: a binary search of the index's sorted label column when the
        table is not built yet (building it is ~0.1 s at 100k concepts, for one lookup)."""
        if self._label_columns is not None and "_labels" not in self.__dict__:
            keys, rows, nodes = self._label_columns
            i = bisect.bisect_left(keys, key)
            return nodes[rows[i]] if i < len(keys) and keys[i] == key else None
        return self._labels.get(key)

    def resolve_gold(self, ref: str, matcher: SlugMatcher | None = None) -> str | None:
        """A gold-set reference -> concept id: an id, label, or prerequisite slug of this build.

        Gold sets are written once against one build; a later build may merge the concept an id named
        into another ("maximum-likelihood-estimate" into Maximum Likelihood Estimation) or resolve a
        stub to a real concept. Either way the reference still names one concept. ``matcher``: the
        resolver's own, when the caller has it (building one reads every concept: ~19 s at 100k).
        """
        found = self.lookup(ref) or self.lookup(ref.replace("-", " "))
        if found is not None:
            return found.id
        hit = (matcher or self._slug_matcher).match(ref.replace("-", " "))
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

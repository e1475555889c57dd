"""SPARQL over the dataset with pyoxigraph: read-only, time-limited, row-capped.

The default graph of a query is the union of all named graphs, so plain
``SELECT ?s WHERE { ?s ckg:requires ?o }`` works; ``GRAPH <…/graph/inferred>``
selects one graph.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from ckg.errors import BuildMissingError, CkgError, QueryError, QueryTimeoutError
from ontology.namespace import CKG_IRI

PREFIXES = {
    "ckg": CKG_IRI,
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "prov": "http://www.w3.org/ns/prov#",
    "dcterms": "http://purl.org/dc/terms/",
    "schema": "https://schema.org/",
    "owl": "http://www.w3.org/2002/07/owl#",
}
_UPDATE = re.compile(
    r"^\s*(?:(?:PREFIX|BASE)\s+[^\n]*\n\s*)*(INSERT|DELETE|LOAD|CLEAR|CREATE|DROP|COPY|MOVE|ADD|WITH)\b",
    re.I,
)
_LOCATION = re.compile(r"(?:at |line )(\d+)(?::| column )(\d+)", re.I)


def term_json(term: Any) -> dict[str, str]:
    """A pyoxigraph term in SPARQL 1.1 JSON results form."""
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        out = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype.value != "http://www.w3.org/2001/XMLSchema#string":
            out["datatype"] = term.datatype.value
        return out
    return {"type": "literal", "value": str(term)}


def term_value(term: Any) -> Any:
    """A plain Python value for a term (ints and booleans typed), for tables and models."""
    if term is None:
        return None
    if isinstance(term, ox.Literal):
        dt = term.datatype.value
        if dt.endswith(("#integer", "#int", "#long")):
            return int(term.value)
        if dt.endswith(("#decimal", "#double", "#float")):
            return float(term.value)
        if dt.endswith("#boolean"):
            return term.value == "true"
        return term.value
    return term.value


@dataclass
class QueryResult:
    """A materialised result: solutions (SELECT), a boolean (ASK) or triples (CONSTRUCT)."""

    kind: str
    variables: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    boolean: bool | None = None
    triples: list[ox.Triple] = field(default_factory=list)
    truncated: bool = False
    elapsed_ms: float = 0.0

    def records(self) -> list[dict[str, Any]]:
        return [
            {v: term_value(t) for v, t in zip(self.variables, row, strict=True) if t is not None} for row in self.rows
        ]

    def to_json(self) -> dict[str, Any]:
        if self.kind == "ask":
            return {"head": {}, "boolean": self.boolean}
        if self.kind == "graph":
            return {"triples": [f"{t} ." for t in self.triples], "truncated": self.truncated}
        return {
            "head": {"vars": self.variables},
            "results": {
                "bindings": [
                    {v: term_json(t) for v, t in zip(self.variables, row, strict=True) if t is not None}
                    for row in self.rows
                ]
            },
        }


class GraphStore:
    """The dataset in an in-memory Oxigraph store."""

    def __init__(self, store: ox.Store) -> None:
        self.store = store

    @classmethod
    def from_quads(cls, quads: list[ox.Quad]) -> GraphStore:
        store = ox.Store()
        store.bulk_extend(quads)
        return cls(store)

    @classmethod
    def load(cls, path: Path) -> GraphStore:
        if not path.exists():
            raise BuildMissingError(f"no dataset at {path}; run `ckg ingest` first")
        store = ox.Store()
        store.bulk_load(path=str(path), format=ox.RdfFormat.N_QUADS)
        return cls(store)

    def __len__(self) -> int:
        return len(self.store)

    def query(
        self,
        sparql: str,
        *,
        timeout: float = 10.0,
        limit: int = 10_000,
        substitutions: dict[str, Any] | None = None,
    ) -> QueryResult:
        """Run a read-only query; raise :class:`QueryError` with the parser's position on bad syntax."""
        subs = {ox.Variable(k): v for k, v in (substitutions or {}).items()}
        start = time.perf_counter()
        result: QueryResult = self._run(
            sparql, timeout, lambda res, deadline: _materialise(res, limit, deadline), substitutions=subs or None
        )
        result.elapsed_ms = (time.perf_counter() - start) * 1000
        return result

    def serialize(
        self,
        sparql: str,
        choose: Callable[[str], Any],
        *,
        timeout: float = 10.0,
        default_graphs: list[str] | None = None,
        named_graphs: list[str] | None = None,
    ) -> bytes:
        """Run a query and serialise its results whole, for the SPARQL protocol endpoint.

        ``choose(kind)`` gets "select", "ask" or "graph" once the query has run
        and returns the pyoxigraph format to write (it may raise to refuse).
        Without ``default_graphs`` the default graph is the union of all graphs.
        """
        extra: dict[str, Any] = {}
        if default_graphs:
            extra["default_graph"] = [_graph_iri(g) for g in default_graphs]
        if named_graphs:
            extra["named_graphs"] = [_graph_iri(g) for g in named_graphs]

        def consume(res: Any, _deadline: float) -> bytes:
            kind = (
                "ask"
                if isinstance(res, ox.QueryBoolean)
                else "select"
                if isinstance(res, ox.QuerySolutions)
                else "graph"
            )
            return res.serialize(format=choose(kind)) or b""

        return self._run(sparql, timeout, consume, **extra)

    def _run(self, sparql: str, timeout: float, consume: Callable[[Any, float], Any], **options: Any) -> Any:
        """The query on a worker thread with a deadline; errors mapped to ckg's exceptions."""
        if _UPDATE.match(sparql):
            raise QueryError("updates are not allowed: the graph is read-only (use SELECT, ASK, CONSTRUCT or DESCRIBE)")
        box: dict[str, Any] = {}
        done = threading.Event()
        deadline = time.monotonic() + timeout
        union = "default_graph" not in options

        def work() -> None:
            try:
                res = self.store.query(sparql, prefixes=PREFIXES, use_default_graph_as_union=union, **options)
                box["result"] = consume(res, deadline)
            except BaseException as exc:
                # Drop the traceback: its frames hold pyoxigraph results, which must die on this thread.
                box["error"] = exc.with_traceback(None)
            finally:
                done.set()

        threading.Thread(target=work, daemon=True, name="sparql").start()
        if not done.wait(timeout):
            raise QueryTimeoutError(f"query ran longer than {timeout:g} s and was abandoned; add LIMIT or narrow it")
        if "error" in box:
            exc = box["error"]
            if isinstance(exc, SyntaxError):
                raise QueryError(f"SPARQL syntax error: {exc}") from None
            if isinstance(exc, CkgError):
                raise exc
            raise QueryError(f"query failed: {exc}") from None
        return box["result"]


def _graph_iri(iri: str) -> ox.NamedNode:
    try:
        return ox.NamedNode(iri)
    except ValueError as exc:
        raise QueryError(f"graph IRI {iri!r} is not an absolute IRI: {exc}") from None


def _materialise(res: Any, limit: int, deadline: float) -> QueryResult:
    if isinstance(res, ox.QueryBoolean):
        return QueryResult(kind="ask", boolean=bool(res))
    if isinstance(res, ox.QuerySolutions):
        variables = [v.value for v in res.variables]
        rows: list[list[Any]] = []
        truncated = False
        for sol in res:
            if len(rows) >= limit:
                truncated = True
                break
            if time.monotonic() > deadline:
                raise QueryTimeoutError("query ran past its time limit while producing rows")
            rows.append([sol[v] for v in variables])
        return QueryResult(kind="select", variables=variables, rows=rows, truncated=truncated)
    triples = []
    truncated = False
    for t in res:
        if len(triples) >= limit:
            truncated = True
            break
        triples.append(t)
    return QueryResult(kind="graph", triples=triples, truncated=truncated)

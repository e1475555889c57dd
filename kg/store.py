"""SPARQL over the dataset with pyoxigraph: read-only, time-limited, row-capped.

The default graph of a query is the union of all named graphs, so plain
``SELECT ?s WHERE { ?s ckg:requires ?o }`` works; ``GRAPH <…/graph/inferred>``
selects one graph.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from ckg import errors
from ckg.errors import BuildMissingError, CkgError, QueryError, QueryTimeoutError
from kg import query_guard
from ontology.namespace import CKG_IRI

#: Memory a user query may allocate beyond what the process already has, in its own worker process.
QUERY_MEMORY = 2 * 1024**3
#: Most results the SPARQL protocol endpoint returns in one response; more is an error that says how to page.
ROW_CAP = 100_000

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
        isolated: bool = False,
    ) -> QueryResult:
        """Run a read-only query; raise :class:`QueryError` with the parser's position on bad syntax.

        ``isolated`` (for queries users write): evaluate in a worker process that is killed at the time
        limit and bounded in memory, so a runaway query ends for real and a crash ends only the worker.
        """
        subs = {ox.Variable(k): v for k, v in (substitutions or {}).items()}
        start = time.perf_counter()
        if isolated:
            query_guard.check(sparql)

            def work() -> bytes:
                res = self.store.query(
                    sparql, prefixes=PREFIXES, use_default_graph_as_union=True, substitutions=subs or None
                )
                return _result_bytes(_materialise(res, limit, float("inf")))

            result = _result_from_bytes(_in_worker(work, timeout))
        else:
            result = self._run(
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
    ) -> tuple[str, bytes]:
        """Run a query in a worker process and serialise its results whole, for the SPARQL protocol endpoint.

        ``choose(kind)`` gets "select", "ask" or "graph" once the query has run
        and returns the pyoxigraph format to write (it may raise to refuse); it runs
        in the worker, so the caller gets the kind back with the body.
        More than :data:`ROW_CAP` results is an error that says how to page.
        Without ``default_graphs`` the default graph is the union of all graphs.
        """
        extra: dict[str, Any] = {}
        if default_graphs:
            extra["default_graph"] = [_graph_iri(g) for g in default_graphs]
        if named_graphs:
            extra["named_graphs"] = [_graph_iri(g) for g in named_graphs]

        query_guard.check(sparql)
        union = not default_graphs

        def work() -> bytes:
            def run() -> Any:
                return self.store.query(sparql, prefixes=PREFIXES, use_default_graph_as_union=union, **extra)

            res = run()
            kind = (
                "ask"
                if isinstance(res, ox.QueryBoolean)
                else "select"
                if isinstance(res, ox.QuerySolutions)
                else "graph"
            )
            fmt = choose(kind)
            if kind != "ask":
                for count, _ in enumerate(res, start=1):
                    if count > ROW_CAP:
                        raise QueryError(
                            f"the result has more than {ROW_CAP:,} rows; add LIMIT and OFFSET to page through it"
                        )
                res = run()  # counted by consuming it: run again to write it
            return kind.encode("ascii") + b"\n" + (res.serialize(format=fmt) or b"")

        kind, _, body = _in_worker(work, timeout).partition(b"\n")
        return kind.decode("ascii"), body

    def _run(self, sparql: str, timeout: float, consume: Callable[[Any, float], Any], **options: Any) -> Any:
        """A trusted (ckg's own) query on a worker thread with a deadline; errors mapped to ckg's exceptions."""
        query_guard.check(sparql)
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
            raise _as_ckg_error(box["error"]) from None
        return box["result"]


def _as_ckg_error(exc: BaseException) -> CkgError:
    if isinstance(exc, SyntaxError):
        return QueryError(f"SPARQL syntax error: {exc}")
    if isinstance(exc, CkgError):
        return exc
    return QueryError(f"query failed: {exc}")


def _in_worker(work: Callable[[], bytes], timeout: float) -> bytes:
    """``work()`` in a forked worker process: killed at ``timeout``, bounded by :data:`QUERY_MEMORY`.

    A thread cannot be stopped, so a query that outran its limit used to keep computing (and growing)
    after the 408; a process is killed and its memory returned. Fork shares the loaded store copy-on-write,
    so starting a worker costs milliseconds, not a reload. A bare ``os.fork`` (not ``multiprocessing``,
    whose child start-up closes ``sys.stdin`` and deadlocks when another thread is reading it, as the MCP
    server's is) and ``os._exit``: the child runs the query, writes its answer to a pipe and ends.
    Errors come back by name and message.
    """
    import select
    import signal

    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker
        try:
            os.close(read_fd)
            # The engine reports a failed allocation on stderr before it aborts; the parent says it better.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            try:
                _bound_memory(QUERY_MEMORY)
                payload = b"ok" + work()
            except BaseException as exc:  # everything goes back to the parent, by name
                err = _as_ckg_error(exc)
                payload = b"er" + json.dumps({"type": type(err).__name__, "message": str(err)}).encode("utf-8")
            view = memoryview(payload)
            while view:
                view = view[os.write(write_fd, view) :]
        finally:
            os._exit(0)
    os.close(write_fd)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    finished = False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise QueryTimeoutError(f"query ran longer than {timeout:g} s and was stopped; add LIMIT or narrow it")
            ready, _, _ = select.select([read_fd], [], [], left)
            if ready:
                chunk = os.read(read_fd, 1 << 20)
                if not chunk:
                    finished = True
                    break
                chunks.append(chunk)
    finally:
        os.close(read_fd)
        if not finished:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    data = b"".join(chunks)
    if data[:2] == b"ok":
        return data[2:]
    if data[:2] != b"er":
        raise QueryError(
            f"query stopped: it needed more than {QUERY_MEMORY // 1024**2:,} MiB or crashed the engine; narrow it"
        )
    err = json.loads(data[2:])
    cls = getattr(errors, err["type"], None)
    if isinstance(cls, type) and issubclass(cls, CkgError) and cls is not errors.SourceError:
        raise cls(err["message"])
    raise QueryError(err["message"])


def _bound_memory(extra: int) -> None:
    import resource

    with open("/proc/self/statm") as fh:
        size = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = size + extra
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _result_bytes(result: QueryResult) -> bytes:
    """A materialised result as JSON, to cross the process boundary (terms in SPARQL JSON form)."""
    doc: dict[str, Any] = {"kind": result.kind, "truncated": result.truncated}
    if result.kind == "ask":
        doc["boolean"] = result.boolean
    elif result.kind == "select":
        doc["vars"] = result.variables
        doc["rows"] = [[term_json(t) if t is not None else None for t in row] for row in result.rows]
    else:
        doc["nt"] = "".join(f"{t} .\n" for t in result.triples)
    return json.dumps(doc).encode("utf-8")


def _term(d: dict[str, str] | None) -> Any:
    if d is None:
        return None
    if d["type"] == "uri":
        return ox.NamedNode(d["value"])
    if d["type"] == "bnode":
        return ox.BlankNode(d["value"])
    if "xml:lang" in d:
        return ox.Literal(d["value"], language=d["xml:lang"])
    if "datatype" in d:
        return ox.Literal(d["value"], datatype=ox.NamedNode(d["datatype"]))
    return ox.Literal(d["value"])


def _result_from_bytes(data: bytes) -> QueryResult:
    doc = json.loads(data)
    if doc["kind"] == "ask":
        return QueryResult(kind="ask", boolean=doc["boolean"])
    if doc["kind"] == "select":
        rows = [[_term(t) for t in row] for row in doc["rows"]]
        return QueryResult(kind="select", variables=doc["vars"], rows=rows, truncated=doc["truncated"])
    triples = list(ox.parse(doc["nt"].encode("utf-8"), format=ox.RdfFormat.N_TRIPLES))
    return QueryResult(kind="graph", triples=triples, truncated=doc["truncated"])


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

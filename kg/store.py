"""SPARQL over the dataset with pyoxigraph: read-only, time-limited, row-capped.

The default graph of a query is the union of all named graphs, so plain
``SELECT ?s WHERE { ?s ckg:requires ?o }`` works; ``GRAPH <…/graph/inferred>``
selects one graph.

A build carries the dataset twice: ``dataset.nq`` (the interchange copy: exports, publishing,
validation) and ``store/``, an on-disk Oxigraph store (RocksDB) that the build bulk-loads once and
every reader opens read-only. Opening it takes milliseconds at any size; re-parsing the N-Quads took
24 s at 100k concepts, inside the first query's time limit (issue #14).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from ckg import errors
from ckg.errors import BuildMissingError, CkgError, QueryError, QueryTimeoutError
from kg import query_guard
from ontology.iri import CKG_IRI

if TYPE_CHECKING:
    from kg.sandbox import Sandbox

#: Memory a user query may allocate beyond what the sandbox's helper already holds.
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


#: The build's persistent store (a directory of the build) and the record of which dataset it holds.
STORE_DIR = "store"
STORE_RECORD = "store.json"


def write_store(dataset: Path, directory: Path) -> dict[str, Any]:
    """Bulk-load ``dataset`` (N-Quads) into a new on-disk store at ``directory``, close it, and return
    what :data:`STORE_RECORD` says about it (the caller adds the dataset's hash).

    The bulk loader streams the file (no per-quad Python objects) and writes sorted RocksDB files
    that readers use as they are (``optimize`` would add 14 s at 100k concepts and leave the store
    twice the size for no measurable gain in open or query time). RocksDB's files are not
    byte-reproducible (ids, timestamps) and hashing them would cost what the store saves at open:
    the record keeps their sizes (checked on open; RocksDB checksums every block it reads), all but
    the engine's own ``LOG``.
    """
    store = ox.Store(str(directory))
    try:
        store.bulk_load(path=str(dataset), format=ox.RdfFormat.N_QUADS)
        store.flush()
        quads = len(store)
    finally:
        del store  # closes the database: the directory is complete once this returns
    files = {p.name: p.stat().st_size for p in sorted(directory.iterdir()) if p.name != "LOG"}
    return {"format": "oxigraph", "pyoxigraph": ox.__version__, "quads": quads, "files": files}


def open_store(directory: Path, *, expect_sha256: str | None = None) -> ox.Store:
    """The build's store, read-only (any number of processes may hold it); a damaged one is one clear error.

    ``expect_sha256``: the dataset the opener's build holds. A rebuild replaces the directory while a
    server runs; a process that opens it later (a sandbox worker) must not answer from another build
    than the server's catalog and index.
    """
    if expect_sha256 is not None:
        try:
            held = json.loads((directory.parent / STORE_RECORD).read_text("utf-8")).get("dataset_sha256")
        except (OSError, ValueError):
            held = None
        if held != expect_sha256:
            raise errors.BuildDamagedError(
                f"{directory.parent} holds another build than the one this process opened (rebuilt since?); "
                "restart it to serve the new build"
            )
    try:
        return ox.Store.read_only(str(directory))
    except (OSError, RuntimeError) as exc:  # RocksDB reports a checksum mismatch as RuntimeError
        from ckg.integrity import REBUILD_HINT

        raise errors.BuildDamagedError(f"the store in {directory} cannot be opened ({exc}); {REBUILD_HINT}") from None


class GraphStore:
    """The dataset in an Oxigraph store, for ckg's own queries; users' queries go to a sandbox.

    Opened lazily from ``path``: a build's ``store/`` directory (read-only, milliseconds) or an
    N-Quads file (parsed into memory; builds written before the persistent store). A process that
    only runs users' queries (``ckg sparql``) never opens it itself, the sandbox's helper does.
    """

    def __init__(
        self, store: ox.Store | None = None, *, path: Path | None = None, dataset_sha256: str | None = None
    ) -> None:
        if store is None and path is None:
            raise ValueError("GraphStore needs a store, a store directory or the path of an N-Quads dataset")
        self._store = store
        self.path = path
        #: What a store directory must hold when it is opened (see :func:`open_store`).
        self.dataset_sha256 = dataset_sha256
        self._lock = threading.Lock()
        self._sandbox: Sandbox | None = None

    @classmethod
    def from_quads(cls, quads: list[ox.Quad]) -> GraphStore:
        store = ox.Store()
        store.bulk_extend(quads)
        return cls(store)

    @classmethod
    def load(cls, path: Path) -> GraphStore:
        if not path.exists():
            raise BuildMissingError(f"no dataset at {path}; run `ckg ingest` first")
        return cls(path=path)

    @property
    def store(self) -> ox.Store:
        with self._lock:
            if self._store is None:
                assert self.path is not None
                if self.path.is_dir():
                    self._store = open_store(self.path, expect_sha256=self.dataset_sha256)
                else:
                    store = ox.Store()
                    store.bulk_load(path=str(self.path), format=ox.RdfFormat.N_QUADS)
                    self._store = store
            return self._store

    def __len__(self) -> int:
        return len(self.store)

    def close(self) -> None:
        """Stop the sandbox's helper process, if one was started."""
        if self._sandbox is not None:
            self._sandbox.close()

    def sandbox(self) -> Sandbox:
        """The helper process that evaluates users' queries over this dataset (started on first use)."""
        from kg.sandbox import Sandbox

        with self._lock:
            if self._sandbox is None:
                path = self.path
                if path is None:  # built in memory (tests, benchmarks): the helper loads a dump of it
                    import shutil
                    import tempfile
                    import weakref

                    tmp = tempfile.mkdtemp(prefix="ckg-dataset-")
                    weakref.finalize(self, shutil.rmtree, tmp, ignore_errors=True)
                    path = Path(tmp) / "dataset.nq"
                    assert self._store is not None
                    self._store.dump(str(path), format=ox.RdfFormat.N_QUADS)
                self._sandbox = Sandbox(path, expect=self.dataset_sha256)
            return self._sandbox

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

        ``isolated`` (for queries users write): evaluate in the sandbox (:mod:`kg.sandbox`), in a child
        process that is killed at the time limit and bounded in memory, so a runaway query ends for
        real and a crash ends only that child.
        """
        start = time.perf_counter()
        if isolated:
            query_guard.check(sparql)
            request = {
                "op": "query",
                "sparql": sparql,
                "limit": limit,
                "substitutions": {k: term_json(v) for k, v in (substitutions or {}).items()},
            }
            result = _result_from_bytes(self.sandbox().run(request, timeout, memory=QUERY_MEMORY))
        else:
            subs = {ox.Variable(k): v for k, v in (substitutions or {}).items()}
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
        """Run a user's query in the sandbox and serialise its results whole, for the SPARQL protocol endpoint.

        ``choose(kind)`` gives the pyoxigraph format to write a result of kind "select", "ask" or
        "graph" in (it may raise to refuse, e.g. :class:`NotAcceptableError`); it is asked for all
        three here, since the kind is known only once the query has run in the sandbox.
        More than :data:`ROW_CAP` results is an error that says how to page.
        Without ``default_graphs`` the default graph is the union of all graphs.
        """
        for iri in (default_graphs or []) + (named_graphs or []):
            _graph_iri(iri)
        query_guard.check(sparql)
        formats: dict[str, Any] = {}
        for kind in ("select", "ask", "graph"):
            try:
                formats[kind] = {"media": choose(kind).media_type}
            except CkgError as exc:
                formats[kind] = {"error": {"type": type(exc).__name__, "message": str(exc)}}
        request = {
            "op": "serialize",
            "sparql": sparql,
            "formats": formats,
            "default_graphs": default_graphs or [],
            "named_graphs": named_graphs or [],
            "row_cap": ROW_CAP,
        }
        kind, _, body = self.sandbox().run(request, timeout, memory=QUERY_MEMORY).partition(b"\n")
        return kind.decode("ascii"), body

    def _run(self, sparql: str, timeout: float, consume: Callable[[Any, float], Any], **options: Any) -> Any:
        """A trusted (ckg's own) query on a worker thread with a deadline; errors mapped to ckg's exceptions."""
        query_guard.check(sparql)
        box: dict[str, Any] = {}
        done = threading.Event()
        deadline = time.monotonic() + timeout
        union = "default_graph" not in options and not query_guard.names_dataset(sparql)
        store = self.store

        def work() -> None:
            try:
                res = store.query(sparql, prefixes=PREFIXES, use_default_graph_as_union=union, **options)
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
            raise as_ckg_error(box["error"]) from None
        return box["result"]


def as_ckg_error(exc: BaseException) -> CkgError:
    """An engine exception as the ckg error a caller can act on (syntax errors keep the parser's position)."""
    if isinstance(exc, SyntaxError):
        return QueryError(f"SPARQL syntax error: {exc}")
    if isinstance(exc, CkgError):
        return exc
    if "Corruption:" in str(exc):  # RocksDB found a block of the store's files damaged
        from ckg.integrity import REBUILD_HINT

        return errors.BuildDamagedError(f"the store's files are damaged ({exc}); {REBUILD_HINT}")
    if isinstance(exc, MemoryError):
        return QueryError(f"query stopped: it needed more memory than it may use ({exc}); narrow it")
    return QueryError(f"query failed: {exc}")


def evaluate_request(store: ox.Store, request: dict[str, Any]) -> bytes:
    """A user's query, as :class:`GraphStore` sent it, evaluated in a sandbox child (see :mod:`kg.sandbox`)."""
    sparql = request["sparql"]
    if request["op"] == "query":
        subs = {ox.Variable(k): _term(v) for k, v in request["substitutions"].items()}
        union = not query_guard.names_dataset(sparql)
        res = store.query(sparql, prefixes=PREFIXES, use_default_graph_as_union=union, substitutions=subs or None)
        return _result_bytes(_materialise(res, int(request["limit"]), float("inf")))
    extra: dict[str, Any] = {}
    if request["default_graphs"]:
        extra["default_graph"] = [_graph_iri(g) for g in request["default_graphs"]]
    if request["named_graphs"]:
        extra["named_graphs"] = [_graph_iri(g) for g in request["named_graphs"]]
    union = not request["default_graphs"] and not query_guard.names_dataset(sparql)

    def run() -> Any:
        return store.query(sparql, prefixes=PREFIXES, use_default_graph_as_union=union, **extra)

    res = run()
    kind = "ask" if isinstance(res, ox.QueryBoolean) else "select" if isinstance(res, ox.QuerySolutions) else "graph"
    choice = request["formats"][kind]
    if "error" in choice:
        cls = getattr(errors, choice["error"]["type"], QueryError)
        raise cls(choice["error"]["message"])
    fmt = (ox.RdfFormat if kind == "graph" else ox.QueryResultsFormat).from_media_type(choice["media"])
    if kind == "ask":
        return kind.encode("ascii") + b"\n" + (res.serialize(format=fmt) or b"")
    # One evaluation, counted against the cap while it is collected (running it again to write it
    # doubled the cost of every SELECT).
    cap = int(request["row_cap"])
    too_many = f"the result has more than {cap:,} rows; add LIMIT and OFFSET to page through it"
    if kind == "graph":
        triples = []
        for t in res:
            if len(triples) >= cap:
                raise QueryError(too_many)
            triples.append(t)
        return b"graph\n" + (ox.serialize(triples, format=fmt) or b"")
    variables = [v.value for v in res.variables]
    bindings = []
    for sol in res:
        if len(bindings) >= cap:
            raise QueryError(too_many)
        bindings.append({v: term_json(t) for v in variables if (t := sol[v]) is not None})
    doc = json.dumps({"head": {"vars": variables}, "results": {"bindings": bindings}}, ensure_ascii=False)
    body = doc.encode("utf-8")
    if fmt != ox.QueryResultsFormat.JSON:
        body = ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON).serialize(format=fmt) or b""
    return b"select\n" + body


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

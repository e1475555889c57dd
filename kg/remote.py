"""A SPARQL 1.1 server as the graph store that several ckg nodes share.

``ckg ingest --store URL`` publishes a build's named graphs to the server, and
``ckg serve|sparql --store URL`` answer SPARQL from it. What lives where: the
graph in the store; the vectors and the catalog snapshot on each API node (a
build made once and copied), since search and planning run in process. A node
refuses a store that holds another build than its own (the dataset's SHA-256,
recorded in the store's meta graph), as the index refuses a mismatched manifest.

Endpoints follow Oxigraph's server: ``URL/query``, ``URL/update`` and the Graph
Store Protocol at ``URL/store``; ``fuseki+http://host:3030/DATASET`` selects
Fuseki's ``/data`` (see :class:`Endpoints`; only Oxigraph is tested).

**Publishing never shows readers half a build** (``swap``, the default): one
SPARQL Update request drops the previous build's graphs, inserts the new ones
(``INSERT DATA``, streamed) and rewrites the meta graph. The server applies an
update request as one transaction (Oxigraph does, and rolls it back on any
error), so a reader sees the old build or the new one, and a failed publish
leaves the previous build as it was. ``per-graph`` uses the Graph Store
Protocol instead (one PUT per named graph, each replaced atomically).
Measured on this machine's Oxigraph server for the 92k-triple build, the swap
takes ~15 s; moving staged graphs over live ones (``MOVE``) took 24 s more
than uploading them, so no staging graphs are used.

**Queries** name the build's graphs as the dataset (``default-graph-uri`` and
``named-graph-uri`` of the SPARQL 1.1 Protocol), so the default graph is their
union as in the embedded store and the meta graph stays out of sight; ckg's
prefixes are declared on the query's first line (a syntax error's line number
is the user's; the column on line 1 is shifted).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

import pyoxigraph as ox

from ckg.errors import CkgError, QueryError, QueryTimeoutError
from kg import query_guard
from kg.store import PREFIXES, ROW_CAP, QueryResult, _graph_iri

#: The graph that records which build the store holds (not part of any query's dataset).
META_GRAPH = "urn:ckg:meta"
_BUILD = "urn:ckg:build"
_SHA = "urn:ckg:dataset-sha256"
_HAS_GRAPH = "urn:ckg:graph"
_UPDATE = {"content-type": "application/sparql-update"}
#: Seconds a publish request may take (a server writes some 10k triples a second in one transaction).
PUBLISH_TIMEOUT = 3600.0
PublishMode = Literal["swap", "per-graph"]
N_TRIPLES = "application/n-triples"
RESULTS_JSON = "application/sparql-results+json"


class StoreError(CkgError):
    """The remote store could not be reached, refused a request, or holds another build."""

    http_status = 503


@dataclass(frozen=True)
class Endpoints:
    """Where a server takes queries, updates and Graph Store Protocol requests."""

    query: str
    update: str
    data: str

    @classmethod
    def of(cls, url: str) -> Endpoints:
        """Oxigraph's layout under ``url``; ``fuseki+http://…`` selects Fuseki's ``/data``."""
        base = url.rstrip("/")
        if base.startswith("fuseki+"):
            base = base.removeprefix("fuseki+")
            return cls(f"{base}/query", f"{base}/update", f"{base}/data")
        if not base.startswith(("http://", "https://")):
            raise StoreError(f"store URL {url!r} is not an http(s) URL (e.g. http://127.0.0.1:7878)")
        return cls(f"{base}/query", f"{base}/update", f"{base}/store")


def _prefix_line() -> str:
    return " ".join(f"PREFIX {p}: <{iri}>" for p, iri in PREFIXES.items()) + " "


def _chunks(lines: list[str], size: int = 10_000) -> Iterator[bytes]:
    """N-Triples lines as a streamed body, ``size`` lines at a time."""
    for i in range(0, len(lines), size):
        yield "".join(lines[i : i + size]).encode("utf-8")


def _graphs_of(nquads: Path) -> dict[str, list[str]]:
    """The dataset's triples by named graph, as N-Triples lines (every quad of a ckg build is in a named graph)."""
    graphs: dict[str, list[str]] = defaultdict(list)
    for q in ox.parse(path=str(nquads), format=ox.RdfFormat.N_QUADS):
        if isinstance(q.graph_name, ox.DefaultGraph):
            raise StoreError(f"{nquads} has a triple outside any named graph; rebuild with `ckg ingest`")
        graphs[q.graph_name.value].append(f"{q.subject} {q.predicate} {q.object} .\n")
    return graphs


class RemoteStore:
    """The graph store interface of :class:`kg.store.GraphStore`, answered by a SPARQL 1.1 server."""

    def __init__(self, url: str, *, expected_sha256: str | None = None, timeout: float = 30.0) -> None:
        import httpx

        self.url = url
        self.endpoints = Endpoints.of(url)
        self.expected_sha256 = expected_sha256
        self._client = httpx.Client(timeout=timeout)
        self._graphs: list[str] | None = None

    # ------------------------------------------------------------- transport
    def _send(self, method: str, url: str, *, timeout: float | None = None, **kwargs: Any) -> Any:
        import httpx

        try:
            resp = self._client.request(method, url, timeout=timeout or self._client.timeout, **kwargs)
        except httpx.TimeoutException:
            raise QueryTimeoutError(f"the store at {self.url} did not answer within the time limit") from None
        except httpx.HTTPError as exc:
            raise StoreError(f"cannot reach the store at {self.url}: {exc}; is it running?") from None
        if resp.status_code == 400:
            raise QueryError(f"the store refused the request: {resp.text.strip()[:2000]}")
        if resp.status_code >= 300:
            raise StoreError(f"the store at {self.url} answered {resp.status_code}: {resp.text.strip()[:500]}")
        return resp

    def _update(self, text: str) -> None:
        self._send("POST", self.endpoints.update, content=text.encode("utf-8"), headers=_UPDATE)

    def close(self) -> None:
        self._client.close()

    # -------------------------------------------------------------- publish
    def publish(
        self,
        nquads: Path,
        sha256: str,
        *,
        mode: PublishMode = "swap",
        on_graph: Callable[[str, int], None] | None = None,
    ) -> dict[str, Any]:
        """Replace the store's ckg graphs with the build in ``nquads``.

        ``swap`` (default): one SPARQL Update request drops the previous build's graphs and inserts the
        new ones and the meta graph; the server applies it as one transaction, so readers see the old
        build or the new one and a failure changes nothing. ``per-graph``: one Graph Store Protocol PUT
        per named graph (each replaced atomically, faster on servers with slow updates), then the meta
        graph; between two PUTs a reader can see graphs of both builds.
        """
        graphs = _graphs_of(nquads)
        old = set(self._published_graphs()) - set(graphs)
        meta = " ".join(
            [f'<{_BUILD}> <{_SHA}> "{sha256}" .', *(f"<{_BUILD}> <{_HAS_GRAPH}> <{g}> ." for g in sorted(graphs))]
        )
        meta_ops = [f"DROP SILENT GRAPH <{META_GRAPH}>", f"INSERT DATA {{ GRAPH <{META_GRAPH}> {{ {meta} }} }}"]
        if mode == "swap":

            def body() -> Iterator[bytes]:
                drops = [f"DROP SILENT GRAPH <{g}>" for g in sorted(old | set(graphs))]
                yield (" ;\n".join(drops) + " ;\n").encode("utf-8")
                for g, lines in sorted(graphs.items()):
                    yield f"INSERT DATA {{ GRAPH <{g}> {{\n".encode()
                    yield from _chunks(lines)
                    yield b"} } ;\n"
                    if on_graph is not None:
                        on_graph(g, len(lines))
                yield " ;\n".join(meta_ops).encode("utf-8")

            self._send("POST", self.endpoints.update, content=body(), headers=_UPDATE, timeout=PUBLISH_TIMEOUT)
        elif mode == "per-graph":
            for g, lines in sorted(graphs.items()):
                self._send(
                    "PUT",
                    self.endpoints.data,
                    params={"graph": g},
                    content=_chunks(lines),
                    headers={"content-type": N_TRIPLES},
                    timeout=PUBLISH_TIMEOUT,
                )
                if on_graph is not None:
                    on_graph(g, len(lines))
            self._update(" ;\n".join([*(f"DROP SILENT GRAPH <{g}>" for g in sorted(old)), *meta_ops]))
        else:
            raise ValueError(f"unknown publish mode {mode!r}")
        self._graphs = None
        return {"store": self.url, "graphs": len(graphs), "triples": sum(len(v) for v in graphs.values()), "mode": mode}

    # ----------------------------------------------------------------- meta
    def _meta(self) -> tuple[str | None, list[str]]:
        resp = self._send(
            "POST",
            self.endpoints.query,
            data={
                "query": f"SELECT ?p ?o WHERE {{ GRAPH <{META_GRAPH}> {{ <{_BUILD}> ?p ?o }} }}",
            },
            headers={"accept": RESULTS_JSON},
        )
        sha, graphs = None, []
        for b in resp.json()["results"]["bindings"]:
            if b["p"]["value"] == _SHA:
                sha = b["o"]["value"]
            elif b["p"]["value"] == _HAS_GRAPH:
                graphs.append(b["o"]["value"])
        return sha, sorted(graphs)

    def _published_graphs(self) -> list[str]:
        return self._meta()[1]

    def build_sha256(self) -> str | None:
        """The dataset SHA-256 of the build the store holds (None: never published to)."""
        return self._meta()[0]

    def graphs(self) -> list[str]:
        """The published build's graphs, after checking it is the build this node expects."""
        if self._graphs is None:
            sha, graphs = self._meta()
            if sha is None:
                raise StoreError(f"the store at {self.url} holds no ckg build; run `ckg ingest --store {self.url}`")
            if self.expected_sha256 is not None and sha != self.expected_sha256:
                raise StoreError(
                    f"the store at {self.url} holds another build (dataset {sha[:12]}…) than this node's "
                    f"({self.expected_sha256[:12]}…); publish this build with `ckg ingest --store {self.url}` "
                    "or copy the published build to this node"
                )
            self._graphs = graphs
        return self._graphs

    def __len__(self) -> int:
        resp = self._ask("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }", accept=RESULTS_JSON, named=True)
        return int(resp.json()["results"]["bindings"][0]["n"]["value"])

    # ---------------------------------------------------------------- query
    def _ask(
        self,
        sparql: str,
        *,
        accept: str,
        timeout: float | None = None,
        default: list[str] | None = None,
        named: list[str] | bool | None = None,
    ) -> Any:
        graphs = self.graphs()
        params: list[tuple[str, str]] = [("query", _prefix_line() + sparql)]
        if default is None and not named and query_guard.names_dataset(sparql):
            pass  # the query names its own dataset (FROM / FROM NAMED): the protocol must not override it
        elif default is None and not named:  # the union of the build's graphs, as the embedded store does
            params += [("default-graph-uri", g) for g in graphs] + [("named-graph-uri", g) for g in graphs]
        else:
            params += [("default-graph-uri", g) for g in default or []]
            params += [("named-graph-uri", g) for g in (graphs if named is True else named or [])]
        headers = {"accept": accept, "content-type": "application/x-www-form-urlencoded"}
        return self._send("POST", self.endpoints.query, content=urlencode(params), headers=headers, timeout=timeout)

    def query(
        self,
        sparql: str,
        *,
        timeout: float = 10.0,
        limit: int = 10_000,
        substitutions: dict[str, Any] | None = None,
        isolated: bool = False,
    ) -> QueryResult:
        """Run a read-only query on the server; the same result as :meth:`kg.store.GraphStore.query`."""
        del isolated  # the server is another process already: a runaway query cannot hurt this one
        start = time.perf_counter()
        query_guard.check(sparql)
        if substitutions:  # ckg binds named queries' parameters in the text (VALUES); nothing passes these
            raise ValueError("a remote store takes no substitutions: bind values in the query text")
        resp = self._ask(sparql, accept=f"{RESULTS_JSON}, {N_TRIPLES};q=0.9", timeout=timeout)
        result = _result(resp, limit)
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
        """A user's query for the SPARQL protocol endpoint, written in the format ``choose(kind)`` picks."""
        for iri in (default_graphs or []) + (named_graphs or []):
            _graph_iri(iri)
        query_guard.check(sparql)
        explicit = bool(default_graphs or named_graphs)
        resp = self._ask(
            sparql,
            accept=f"{RESULTS_JSON}, {N_TRIPLES};q=0.9",
            timeout=timeout,
            default=default_graphs if explicit else None,
            named=named_graphs if explicit else None,
        )
        if resp.headers.get("content-type", "").startswith(N_TRIPLES):
            triples = list(ox.parse(resp.content, format=ox.RdfFormat.N_TRIPLES))
            if len(triples) > ROW_CAP:
                raise QueryError(f"the result has more than {ROW_CAP:,} rows; add LIMIT and OFFSET to page through it")
            return "graph", ox.serialize(triples, format=choose("graph")) or b""
        doc = resp.json()
        kind = "ask" if "boolean" in doc else "select"
        if kind == "select" and len(doc["results"]["bindings"]) > ROW_CAP:
            raise QueryError(f"the result has more than {ROW_CAP:,} rows; add LIMIT and OFFSET to page through it")
        fmt = choose(kind)
        parsed = ox.parse_query_results(resp.content, format=ox.QueryResultsFormat.JSON)
        return kind, parsed.serialize(format=fmt) or b""

    def sandbox(self) -> _Ready:
        """No sandbox: the server evaluates queries in its own process. Starting it checks that the
        store holds this node's build, so a server refuses a mismatch at start, not at the first query."""
        return _Ready(self)


class _Ready:
    def __init__(self, store: RemoteStore) -> None:
        self.store = store

    def start(self) -> None:
        self.store.graphs()


def _result(resp: Any, limit: int) -> QueryResult:
    if resp.headers.get("content-type", "").startswith(N_TRIPLES):
        triples = list(ox.parse(resp.content, format=ox.RdfFormat.N_TRIPLES))
        return QueryResult(kind="graph", triples=triples[:limit], truncated=len(triples) > limit)
    parsed = ox.parse_query_results(resp.content, format=ox.QueryResultsFormat.JSON)
    if isinstance(parsed, ox.QueryBoolean):
        return QueryResult(kind="ask", boolean=bool(parsed))
    variables = [v.value for v in parsed.variables]
    rows: list[list[Any]] = []
    truncated = False
    for sol in parsed:
        if len(rows) >= limit:
            truncated = True
            break
        rows.append([sol[v] for v in variables])
    return QueryResult(kind="select", variables=variables, rows=rows, truncated=truncated)

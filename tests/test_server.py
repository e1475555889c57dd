"""The HTTP API and SPARQL endpoint, driven over real loopback HTTP by real clients.

httpx for every /v1 route, SPARQLWrapper and rdflib's SPARQLStore for /sparql,
plus bad input of every kind (each must be a 4xx problem+json, never a 500)
and a bounded concurrent load run with zero errors.
"""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(live_server):
    with httpx.Client(base_url=live_server, timeout=30) as c:
        yield c


def problem(resp: httpx.Response, status: int) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    doc = resp.json()
    assert doc["status"] == status and doc["detail"]
    return doc


# ------------------------------------------------------------------- /v1
def test_health_reports_the_manifest(client):
    doc = client.get("/v1/health").json()
    assert doc["status"] == "ok" and doc["concepts"] == 1191
    assert doc["index"]["model"] == "all-MiniLM-L6-v2" and doc["index"]["count"] == 1299  # rows: every text
    assert doc["build"]["edges"] == 406 and doc["build"]["inference"]["edges"] > 1000
    assert not {"versions", "python", "files"} & (set(doc["build"]) | set(doc["index"]))  # no package versions


def test_search(client):
    doc = client.get("/v1/search", params={"q": "LoRA", "k": 3}).json()
    assert doc["hits"][0]["id"] == "low-rank-adaptation" and len(doc["hits"]) == 3
    doc = client.get("/v1/search", params={"q": "gradient", "mode": "lexical", "layer": "1", "k": 5}).json()
    assert doc["hits"] and all(h["layer"] == "1" for h in doc["hits"])


def test_similar_and_concepts(client):
    doc = client.get("/v1/similar/Fisher Information", params={"k": 5}).json()
    assert len(doc["hits"]) == 5 and doc["query"] == "fisher-information"
    c = client.get("/v1/concepts/Fisher Information").json()
    assert c["id"] == "fisher-information" and c["layer"] == "0B" and c["minutes"] == 55
    assert [p["id"] for p in c["prerequisites"]] == ["maximum-likelihood-estimation"]
    assert c["prerequisites"][0]["file"] == "theory-library.txt"
    assert {"id": "cramer-rao-bound", "label": "Cramér-Rao Bound"} in c["dependents"]
    assert {"id", "iri", "label", "alt_labels", "definition", "layer", "tier", "minutes", "level", "modules"} <= set(c)
    listing = client.get("/v1/concepts", params={"layer": "0B", "limit": 5}).json()
    assert listing["total"] == 18 and len(listing["concepts"]) == 5


def test_gap_path_and_context(client):
    plan = client.post(
        "/v1/gap", json={"targets": ["Cramér-Rao Bound"], "known": ["Maximum Likelihood Estimation"]}
    ).json()
    assert [i["id"] for i in plan["missing"]] == ["fisher-information"] and plan["total_minutes"] == 55
    path = client.get("/v1/path", params={"target": "Fisher Information"}).json()
    assert [i["id"] for i in path["missing"]][-1] == "maximum-likelihood-estimation"
    assert len(path["missing"]) == 5 and path["total_minutes"] == 250
    gbm = {"target": "gradient-boosting-machines"}
    capped, full = (client.get("/v1/path", params=gbm | extra).json() for extra in ({}, {"full": True}))
    assert (len(capped["missing"]), capped["omitted"], len(full["missing"]), full["omitted"]) == (20, 8, 28, 0)
    body = {"targets": ["gradient-boosting-machines"], "known": ["Decision Tree"], "full": True}
    assert client.post("/v1/gap", json=body).json()["omitted"] == 0
    bm25 = client.get("/v1/path", params={"target": "BM25", "asserted_only": True}).json()
    assert bm25["missing"] == [] and bm25["asserted_only"]
    pack = client.post("/v1/context", json={"question": "what is double descent", "budget": 800}).json()
    assert pack["items"][0]["id"] == "double-descent" and "[C1]" in pack["markdown"]
    assert pack["tokens_used"] <= 800 and pack["fingerprint"].startswith("sha256:")
    assert {"file": "theory-library.txt", "line": 823, "title": "Double Descent"} in pack["items"][0]["citations"]


def test_gap_and_path_return_their_drawing_when_asked(client):
    plan = client.post(
        "/v1/gap",
        json={"targets": ["Cramér-Rao Bound"], "known": ["Maximum Likelihood Estimation"], "graph": True},
    ).json()
    nodes = {n["id"]: n["role"] for n in plan["graph"]["nodes"]}
    assert nodes == {
        "cramer-rao-bound": "target",
        "fisher-information": "missing",
        "maximum-likelihood-estimation": "known",
    }
    edges = {(e["prerequisite"], e["dependent"]) for e in plan["graph"]["edges"]}
    assert edges == {
        ("maximum-likelihood-estimation", "fisher-information"),
        ("fisher-information", "cramer-rao-bound"),
    }
    assert [entry["layer"] for entry in plan["graph"]["legend"]] == ["0B"]
    assert client.post("/v1/gap", json={"targets": ["Cramér-Rao Bound"]}).json()["graph"] is None
    path = client.get("/v1/path", params={"target": "Fisher Information", "graph": True}).json()
    assert len(path["graph"]["nodes"]) == 6 and len(path["graph"]["edges"]) == 6
    # The same plan as a picture, by content negotiation (the text `ckg gap -f mermaid|dot` prints).
    body = {"targets": ["Cramér-Rao Bound"], "known": ["Maximum Likelihood Estimation"]}
    drawn = client.post("/v1/gap", json=body, headers={"accept": "text/vnd.mermaid"})
    assert drawn.headers["content-type"] == "text/vnd.mermaid; charset=utf-8"
    assert (
        drawn.text.startswith("graph BT\n") and "n_maximum_likelihood_estimation --> n_fisher_information" in drawn.text
    )
    dot = client.get("/v1/path", params={"target": "Fisher Information"}, headers={"accept": "text/vnd.graphviz"})
    assert dot.headers["content-type"].startswith("text/vnd.graphviz") and dot.text.startswith("digraph path {")
    assert client.post("/v1/gap", json=body, headers={"accept": "application/json"}).json()["missing"]


def test_named_queries_are_listed_and_bound(client):
    listing = client.get("/v1/queries").json()
    assert len(listing) == 10 and {q["name"] for q in listing} >= {"prerequisites", "stubs", "unlocks"}
    pre = next(q for q in listing if q["name"] == "prerequisites")
    assert pre["params"] == ["target"] and "# bind: target" in pre["text"]
    bound = client.get("/v1/queries/prerequisites", params={"target": "fisher informaton"}).json()
    assert "VALUES ?target { <https://ckg.example.org/concept/fisher-information> }" in bound["text"]
    rows = client.get(
        "/sparql", params={"query": bound["text"]}, headers={"accept": "application/sparql-results+json"}
    ).json()["results"]["bindings"]
    assert [r["label"]["value"] for r in rows][:1] == ["Maximum Likelihood Estimation"] and len(rows) == 5
    assert client.get("/v1/queries/stubs").json()["text"] == next(q["text"] for q in listing if q["name"] == "stubs")
    problem(client.get("/v1/queries/no-such-query"), 404)
    problem(client.get("/v1/queries/prerequisites"), 400)  # needs its concept
    problem(client.get("/v1/queries/prerequisites", params={"target": "zzzqqq xyz"}), 404)


# ------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("method", "url", "kwargs", "status"),
    [
        ("get", "/v1/search", {"params": {"q": ""}}, 422),
        ("get", "/v1/search", {"params": {"q": "x" * 2001}}, 422),
        ("get", "/v1/search", {"params": {"q": "svd", "k": 0}}, 422),
        ("get", "/v1/search", {"params": {"q": "svd", "k": 101}}, 422),
        ("get", "/v1/search", {"params": {"q": "svd", "mode": "psychic"}}, 422),
        ("get", "/v1/search", {"params": {"q": "   "}}, 400),
        ("get", "/v1/similar/no-such-concept-anywhere", {}, 404),
        ("get", "/v1/concepts/no-such-concept-anywhere", {}, 404),
        ("post", "/v1/gap", {"content": b"{not json", "headers": {"content-type": "application/json"}}, 422),
        ("post", "/v1/gap", {"json": {"targets": []}}, 422),
        ("post", "/v1/gap", {"json": {"targets": ["VC Dimension"], "known": ["no such thing at all"]}}, 404),
        ("post", "/v1/gap", {"json": {"targets": ["VC Dimension"], "up_to_layer": "9"}}, 400),
        ("post", "/v1/gap", {"json": {"targets": ["VC Dimension"], "min_confidence": 2}}, 422),
        ("post", "/v1/context", {"json": {"question": "svd", "budget": 10}}, 422),
        ("post", "/v1/context", {"content": b"x" * 2_000_000, "headers": {"content-type": "application/json"}}, 413),
        ("get", "/v1/nowhere", {}, 404),
        ("delete", "/v1/search", {}, 405),
    ],
)
def test_bad_input_is_a_4xx_problem(client, method, url, kwargs, status):
    problem(getattr(client, method)(url, **kwargs), status)


def test_oversized_body_without_length_is_refused(client):
    def chunks():
        for _ in range(120):
            yield b"x" * 10_000

    resp = client.post("/v1/context", content=chunks(), headers={"content-type": "application/json"})
    problem(resp, 413)
    assert client.get("/v1/health").status_code == 200


def _raw_head(url: str, head: bytes) -> bytes:
    """Send one request head over a plain socket; the status line that comes back."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(head)
        return sock.recv(64).split(b"\r\n")[0]


def test_request_heads_are_bounded_on_the_real_server(live_server):
    """The real uvicorn refuses a head of twice MAX_REQUEST_HEAD_BYTES and keeps serving (h11 checks the
    limit between socket reads of up to 256 KiB, so a head just over it can still pass); a GET /sparql
    of MAX_GET_QUERY characters, every one percent-encoded, still fits. Holds only with the h11 parser
    (httptools, which uvicorn's ``auto`` prefers when installed, has no such limit)."""
    from urllib.parse import quote

    from server.app import MAX_GET_QUERY, MAX_REQUEST_HEAD_BYTES, uvicorn_options

    assert uvicorn_options()["http"] == "h11"
    padding = b"".join(b"X-Pad-%d: %s\r\n" % (i, b"a" * 1000) for i in range(2 * MAX_REQUEST_HEAD_BYTES // 1000))
    assert _raw_head(live_server, b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n" + padding + b"\r\n") == (
        b"HTTP/1.1 400 Bad Request"
    )
    query = "ASK { FILTER(" + "é" * (MAX_GET_QUERY - 20) + ") }"
    target = f"/sparql?query={quote(query[:MAX_GET_QUERY])}".encode()
    status = _raw_head(live_server, b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert status.split(b" ")[1] in {b"200", b"400"}  # parsed and answered by the app, not cut by the parser
    assert httpx.get(f"{live_server}/v1/health").status_code == 200


# ----------------------------------------------------------------- SPARQL
SELECT = "SELECT ?p WHERE { <https://ckg.example.org/concept/fisher-information> ckg:requires ?p }"
CONSTRUCT = (
    "CONSTRUCT { ?c ckg:requires ?p } WHERE { BIND(<https://ckg.example.org/concept/cramer-rao-bound> AS ?c) "
    "?c ckg:requires+ ?p }"
)


def test_sparqlwrapper_json_and_xml(live_server):
    from SPARQLWrapper import JSON, XML, SPARQLWrapper

    sw = SPARQLWrapper(f"{live_server}/sparql")
    sw.setQuery("PREFIX ckg: <https://w3id.org/ckg/vocab#> " + SELECT)
    sw.setReturnFormat(JSON)
    rows = sw.query().convert()["results"]["bindings"]
    assert [r["p"]["value"] for r in rows] == ["https://ckg.example.org/concept/maximum-likelihood-estimation"]
    sw.setReturnFormat(XML)
    doc = sw.query().convert()
    assert "maximum-likelihood-estimation" in doc.toxml()
    sw.setMethod("POST")
    sw.setReturnFormat(JSON)
    assert sw.query().convert()["results"]["bindings"] == rows


def test_rdflib_sparqlstore(live_server):
    from rdflib import Graph
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    store = SPARQLStore(query_endpoint=f"{live_server}/sparql", returnFormat="json")
    rows = list(Graph(store).query("PREFIX ckg: <https://w3id.org/ckg/vocab#> " + SELECT))
    assert [str(r[0]) for r in rows] == ["https://ckg.example.org/concept/maximum-likelihood-estimation"]
    ask = Graph(store).query("ASK { ?c <https://w3id.org/ckg/vocab#stub> true }")
    assert ask.askAnswer is True


RDFLIB_FORMAT = {
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "application/ld+json": "json-ld",
    "application/rdf+xml": "xml",
}


@pytest.mark.parametrize(
    ("accept", "ctype"),
    [
        ("text/turtle", "text/turtle"),
        ("application/n-triples", "application/n-triples"),
        ("application/ld+json", "application/ld+json"),
        ("application/rdf+xml", "application/rdf+xml"),
    ],
)
def test_construct_formats_parse_to_the_closure(client, accept, ctype):
    from rdflib import Graph

    resp = client.get("/sparql", params={"query": CONSTRUCT}, headers={"accept": accept})
    assert resp.status_code == 200 and resp.headers["content-type"].startswith(ctype)
    assert resp.headers["vary"] == "Accept"
    g = Graph().parse(
        data=resp.content,
        format=RDFLIB_FORMAT[ctype],
    )
    assert len(g) == 6  # Cramér-Rao requires 6 concepts transitively


@pytest.mark.parametrize(
    ("accept", "ctype", "check"),
    [
        ("text/csv", "text/csv", lambda t: t.splitlines()[0] == "p"),
        ("text/tab-separated-values", "text/tab-separated-values", lambda t: t.splitlines()[0] == "?p"),
        ("application/sparql-results+json", "application/sparql-results+json", lambda t: json.loads(t)["head"]),
        ("application/sparql-results+xml", "application/sparql-results+xml", lambda t: "<sparql" in t),
        ("text/csv;q=0.5, application/sparql-results+xml;q=0.9", "application/sparql-results+xml", lambda t: 1),
        ("*/*", "application/sparql-results+json", lambda t: 1),
        (None, "application/sparql-results+json", lambda t: 1),
    ],
)
def test_select_content_negotiation(client, accept, ctype, check):
    headers = {"accept": accept} if accept else {}
    resp = client.get("/sparql", params={"query": SELECT}, headers=headers)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith(ctype)
    assert check(resp.text)


def test_form_and_direct_post(client):
    direct = client.post("/sparql", content=SELECT, headers={"content-type": "application/sparql-query"})
    form = client.post("/sparql", data={"query": SELECT})
    assert direct.status_code == form.status_code == 200
    assert direct.json() == form.json()


def test_default_graph_uri_narrows_the_default_graph(client):
    q = "SELECT (COUNT(*) AS ?n) WHERE { ?a ckg:requires ?b }"
    merged = client.get(
        "/sparql", params={"query": q, "default-graph-uri": "https://ckg.example.org/graph/merged"}
    ).json()
    inferred = client.get(
        "/sparql", params={"query": q, "default-graph-uri": "https://ckg.example.org/graph/inferred"}
    ).json()
    assert merged["results"]["bindings"][0]["n"]["value"] == "406"
    assert inferred["results"]["bindings"][0]["n"]["value"] == "0"


def test_a_query_s_own_from_clause_is_its_dataset(client):
    """FROM in the query (and no protocol dataset) narrows the default graph; without it, every graph."""
    q = "SELECT (COUNT(*) AS ?n) {FROM} WHERE {{ ?a ckg:requires ?b }}"
    count = lambda text: client.get("/sparql", params={"query": text}).json()["results"]["bindings"][0]["n"]["value"]  # noqa: E731
    assert count(q.format(FROM="FROM <https://ckg.example.org/graph/merged>")) == "406"
    assert count(q.format(FROM="FROM <https://ckg.example.org/graph/theory-library>")) == "0"
    assert count(q.format(FROM="")) == "406"  # the union of every graph
    every = "SELECT (COUNT(*) AS ?n) {FROM} WHERE {{ ?s ?p ?o }}"
    assert int(count(every.format(FROM="FROM <https://ckg.example.org/graph/merged>"))) < int(
        count(every.format(FROM=""))
    )


def test_sparql_errors(client):
    doc = problem(client.get("/sparql", params={"query": "SELECT ?x WHERE { ?x"}), 400)
    assert "syntax error" in doc["detail"]
    problem(client.get("/sparql", params={"query": SELECT}, headers={"accept": "image/png"}), 406)
    problem(client.get("/sparql", params={"query": "ASK { ?s ?p ?o }"}, headers={"accept": "text/csv"}), 406)
    problem(client.post("/sparql", data={"update": "INSERT DATA { <a:b> <a:c> <a:d> }"}), 403)
    problem(
        client.post(
            "/sparql",
            content="INSERT DATA { <a:b> <a:c> <a:d> }",
            headers={"content-type": "application/sparql-update"},
        ),
        403,
    )
    problem(client.get("/sparql", params={"query": "INSERT DATA { <a:b> <a:c> <a:d> }"}), 403)  # every form of update
    problem(client.post("/sparql", content="SELECT * {}", headers={"content-type": "text/plain"}), 415)
    problem(client.get("/sparql"), 422)
    assert client.get("/sparql", params={"query": "ASK { <a:b> <a:c> <a:d> }"}).json()["boolean"] is False


def test_busy_query_slots_answer_503_with_retry_after(client, monkeypatch):
    from ckg.errors import QueryBusyError
    from kg.store import GraphStore

    def busy(*_args: object, **_kwargs: object) -> None:
        raise QueryBusyError("all 4 query slots stayed busy for 5 s; try again shortly")

    monkeypatch.setattr(GraphStore, "serialize", busy)
    resp = client.get("/sparql", params={"query": SELECT})
    assert resp.status_code == 503 and resp.headers["retry-after"] == "1"
    assert problem(resp, 503)["title"] == "QueryBusyError"


# ------------------------------------------------------------------- load
def test_bounded_concurrent_load_has_no_errors(live_server):
    """8 clients for 3 s, alternating search, gap, path and SPARQL: every answer a 200."""
    stop = time.monotonic() + 3.0
    counts = {"ok": 0, "bad": 0}
    lock = threading.Lock()

    def worker(n: int) -> None:
        with httpx.Client(base_url=live_server, timeout=30) as c:
            i = 0
            while time.monotonic() < stop:
                i += 1
                match (n + i) % 4:
                    case 0:
                        r = c.get("/v1/search", params={"q": f"attention variant {i}"})
                    case 1:
                        r = c.post("/v1/gap", json={"targets": ["Double Descent"]})
                    case 2:
                        r = c.get("/v1/path", params={"target": "Fisher Information"})
                    case _:
                        r = c.get("/sparql", params={"query": SELECT})
                with lock:
                    counts["ok" if r.status_code == 200 else "bad"] += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counts["bad"] == 0 and counts["ok"] > 40


def test_foreign_host_headers_are_refused(client):
    """DNS rebinding: a page on evil.example whose name resolves to 127.0.0.1 must get nothing."""
    resp = client.get("/v1/health", headers={"host": "evil.example"})
    assert resp.status_code == 400
    assert client.get("/v1/health", headers={"host": "localhost:8000"}).status_code == 200


def test_sparql_abuse_is_refused_and_the_server_stays_up(client):
    deep = "SELECT * WHERE " + "{" * 5000 + " ?s ?p ?o " + "}" * 5000
    assert "nests brackets" in problem(client.post("/sparql", data={"query": deep}), 400)["detail"]
    service = "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"
    assert "SERVICE" in problem(client.get("/sparql", params={"query": service}), 403)["detail"]
    start = time.monotonic()
    runaway = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    problem(client.get("/sparql", params={"query": runaway}), 408)
    assert time.monotonic() - start < 15
    assert client.get("/v1/health").status_code == 200


def test_sparql_protocol_details(client):
    dup = client.get("/sparql", params=[("query", "ASK {}"), ("query", "ASK { ?s ?p ?o }")])
    assert "exactly one" in problem(dup, 400)["detail"]
    head = client.head("/sparql", params={"query": "ASK { ?s ?p ?o }"})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"].startswith("application/sparql-results+json")
    opts = client.options("/sparql")
    assert opts.status_code == 204 and set(opts.headers["allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}


# ------------------------------------------------------------------- pages
def test_the_explorer_and_the_docs_are_served_from_local_assets_only(client):
    import re

    pages = {path: client.get(path) for path in ("/", "/docs", "/docs/swagger", "/redoc")}
    for path, resp in pages.items():
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html"), path
        assert not re.search(r"(src|href)=[\"']?(https?:)?//", resp.text), path  # nothing from a CDN
        for asset in re.findall(r"(?:src|href)=[\"']?(/static/[^\"' >]+)", resp.text):
            assert client.get(asset).status_code == 200, asset
    assert (
        "/static/web/app.js" in pages["/"].text and "/static/docs/swagger-ui-bundle.js" in pages["/docs/swagger"].text
    )
    assert "/static/web/apidocs.js" in pages["/docs"].text
    assert "fonts.googleapis" not in pages["/redoc"].text


def test_the_api_reference_describes_every_operation_and_schema_of_the_served_api(client):
    """/docs is rendered from the app's own OpenAPI document: one section per operation, one per schema,
    parameter types with their bounds, enums and defaults, and a try-it form where a form can send it."""
    import re

    spec = client.get("/openapi.json").json()
    html = client.get("/docs").text
    ops = {op["operationId"] for item in spec["paths"].values() for op in item.values()}
    assert set(re.findall(r'<section class="op" id="op-([^"]+)"', html)) == ops and len(ops) == 15
    schemas = set(re.findall(r'<section class="schema" id="schema-([^"]+)"', html))
    assert schemas == set(spec["components"]["schemas"]) and {"ConceptDoc", "Problem", "SearchHit"} <= schemas
    search = html[html.index('id="op-search_v1_search_get"') :]
    search = search[: search.index("</section>")]
    assert "integer 1..100, default <code>10</code>" in search  # k
    assert (
        "one of <code>&quot;hybrid&quot;</code>, <code>&quot;dense&quot;</code>, <code>&quot;lexical&quot;</code>"
        in search
    )
    assert '<a href="#schema-SearchResults">SearchResults</a>' in search
    assert '<input id="op-search_v1_search_get-k" name="k" type="number" data-in="query" min="1" max="100"' in search
    # a JSON body starts from the request's required fields; OPTIONS and a non-JSON body get a curl line only
    gap = html[html.index('id="op-gap_v1_gap_post"') :]
    assert "&quot;targets&quot;: [" in gap[: gap.index("</section>")]
    options = html[html.index('id="op-sparql_options_sparql_options"') :]
    assert '<form class="try"' not in options[: options.index("</section>")]


def test_cors_is_off_by_default_and_on_for_the_named_origin(client, indexed):
    from fastapi.testclient import TestClient

    from server.app import Services, create_app

    assert "access-control-allow-origin" not in client.get("/v1/health", headers={"origin": "http://a.example"}).headers
    app = create_app(indexed[0].settings, Services(indexed[0].settings), cors=("http://a.example",))
    with TestClient(app, base_url="http://localhost") as tc:
        ok = tc.get("/sparql", params={"query": "ASK { ?s ?p ?o }"}, headers={"origin": "http://a.example"})
        assert ok.headers["access-control-allow-origin"] == "http://a.example"
        preflight = tc.options(
            "/v1/gap", headers={"origin": "http://a.example", "access-control-request-method": "POST"}
        )
        assert preflight.status_code == 200 and "POST" in preflight.headers["access-control-allow-methods"]
        other = tc.get("/v1/health", headers={"origin": "http://b.example"})
        assert "access-control-allow-origin" not in other.headers

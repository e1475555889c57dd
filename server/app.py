"""The HTTP API: FastAPI routes over the library, and the SPARQL 1.1 Protocol endpoint.

Everything heavy (graph, index, model, BM25, planning graph) loads once at
start-up in :class:`Services`; routes are sync functions run in the thread pool
and only call library functions. Every error is a problem+json document
(RFC 9457) with a 4xx status, except a genuine bug, which is a 500 that still
leaves the server up.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path as FsPath
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ckg import __version__
from ckg.config import Settings
from ckg.errors import CkgError, ConceptNotFoundError, QueryBusyError
from ingest.concepts import ConceptDoc
from kg.detail import ConceptDetail
from kg.graph import PLAN_SIZE
from retrieval.context import MAX_BUDGET, MIN_BUDGET, ContextPack
from retrieval.gap import GapPlan
from retrieval.service import SearchResults
from server.services import Services

log = logging.getLogger("ckg.server")

MAX_BODY_BYTES = 1024 * 1024
#: The longest request line + headers uvicorn's h11 parser accepts (it checks between socket reads of up
#: to 256 KiB, so one read more can pass); a GET query of MAX_GET_QUERY characters, percent-encoded
#: (up to 12 bytes each), fits.
MAX_GET_QUERY = 20_000
MAX_REQUEST_HEAD_BYTES = 512 * 1024
SPARQL_TIMEOUT_S = 10.0
PROBLEM = "application/problem+json"


class Problem(BaseModel):
    """RFC 9457 problem details, the body of every error response."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    suggestions: list[dict[str, Any]] | None = Field(None, description="404: concepts the reference may have meant")
    errors: list[dict[str, str]] | None = Field(None, description="422: each invalid parameter")


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {
        "model": Problem,
        "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        "description": title,
    }
    for code, title in (
        (400, "Bad request"),
        (404, "Unknown concept or named query"),
        (403, "Forbidden: updates and SERVICE are refused"),
        (406, "Not acceptable"),
        (408, "Time limit exceeded"),
        (413, "Body too large"),
        (415, "Unsupported media type"),
        (422, "Invalid parameters"),
        (503, "Unavailable: no build or a damaged one, or every SPARQL query slot busy (see Retry-After)"),
    )
}


# ----------------------------------------------------------------- models
class Health(BaseModel):
    status: Literal["ok"]
    version: str
    concepts: int
    build: dict[str, Any]
    index: dict[str, Any]
    store: str = Field("embedded", description='"embedded", or the URL of the SPARQL server holding the graph')


SearchResponse = SearchResults


class ConceptList(BaseModel):
    total: int
    offset: int
    concepts: list[ConceptDoc]


FULL_PLAN = f"list every prerequisite the inferred chains reach, not only each target's nearest {PLAN_SIZE}"


class GapRequest(BaseModel):
    targets: list[Annotated[str, Field(min_length=1, max_length=2000)]] = Field(min_length=1, max_length=20)
    # Bounded so that any schema-valid body (and one item past it) stays under MAX_BODY_BYTES.
    known: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(default_factory=list, max_length=500)
    up_to_layer: str | None = Field(None, max_length=3)
    include_known_prerequisites: bool = False
    related: int = Field(0, ge=0, le=20)
    asserted_only: bool = False
    min_confidence: float | None = Field(None, ge=0.0, le=1.0)
    full: bool = Field(False, description=FULL_PLAN)
    graph: bool = Field(False, description="also return the plan as a drawable graph (nodes, edges, legend)")


#: Media types a plan can also be answered in: its picture (see retrieval/picture.py).
PICTURE_TYPES = ("text/vnd.mermaid", "text/vnd.graphviz")
_PICTURES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The plan (JSON), or its picture as Mermaid or Graphviz DOT text when accepted",
        "content": {media: {"schema": {"type": "string"}} for media in PICTURE_TYPES},
    }
}


def _plan_or_picture(finder: Any, plan: GapPlan, accept: str | None) -> Any:
    """``plan`` itself, or its drawing when the client asked for one of :data:`PICTURE_TYPES`."""
    from retrieval.picture import dot, mermaid

    wanted = [m for m in PICTURE_TYPES if m in (accept or "")]
    if not wanted or "application/json" in (accept or ""):
        return plan
    draw = mermaid if wanted[0] == "text/vnd.mermaid" else dot
    return Response(draw(finder.picture(plan)), media_type=f"{wanted[0]}; charset=utf-8")


class NamedQueryDoc(BaseModel):
    """A query shipped with ckg (``kg/queries/*.rq``), as ``ckg sparql --list`` shows it."""

    name: str
    description: str
    params: list[str] = Field(description="concept parameters; bound as VALUES when given")
    text: str


class ContextRequest(BaseModel):
    question: str = Field(min_length=1, max_length=2000)
    budget: int = Field(1500, ge=MIN_BUDGET, le=MAX_BUDGET)
    k: int = Field(8, ge=1, le=50)


# -------------------------------------------------------------------- app
#: Host headers answered by default: the loopback names. Anything else is refused with 400, so a page
#: on another site cannot reach the server through a name that resolves to 127.0.0.1 (DNS rebinding).
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


def create_app(
    settings: Settings | None = None,
    services: Services | None = None,
    *,
    hosts: tuple[str, ...] = LOOPBACK_HOSTS,
    cors: tuple[str, ...] = (),
) -> FastAPI:
    """The ASGI app; loads :class:`Services` at start-up unless given one (tests share one).

    ``hosts``: the Host header values answered (the bind address is added by ``ckg serve``).
    ``cors``: origins whose pages may call the API and /sparql (none by default: ``ckg serve --cors``).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = not hasattr(app.state, "services")
        if owned:
            app.state.services = Services(settings or Settings())
            app.state.services.context  # noqa: B018  (a server warms everything before its first request)
        app.state.services.ws.store.sandbox().start()  # the SPARQL helper, so the first query pays nothing
        yield
        if owned:
            app.state.services.ws.store.close()

    app = FastAPI(
        title="ckg",
        version=__version__,
        summary="Curriculum knowledge graph: search, gaps, paths, context packs and SPARQL over ML concepts.",
        lifespan=lifespan,
        responses=ERRORS,
        docs_url=None,  # served below from local assets: the default page loads Swagger UI from a CDN
        redoc_url=None,
    )
    if services is not None:
        app.state.services = services
    _install_errors(app)
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    if cors:
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors),
            allow_methods=["GET", "HEAD", "POST", "OPTIONS"],
            allow_headers=["accept", "content-type"],
        )
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(hosts))
    _install_pages(app)

    def svc(request: Request) -> Services:
        return request.app.state.services

    @app.get("/v1/health", response_model=Health, tags=["meta"])
    def health(request: Request) -> Health:
        s = svc(request)
        return Health(
            status="ok",
            version=__version__,
            concepts=len(s.ws.catalog.concepts),
            build=_public(s.ws.manifest),
            store=s.ws.settings.store or "embedded",
            index=_public(s.search.index.manifest),
        )

    @app.get("/v1/search", response_model=SearchResponse, tags=["search"])
    def search(
        request: Request,
        q: Annotated[str, Query(min_length=1, max_length=2000, description="What to look for")],
        k: Annotated[int, Query(ge=1, le=100)] = 10,
        mode: Literal["hybrid", "dense", "lexical"] = "hybrid",
        layer: Annotated[str | None, Query(max_length=3)] = None,
        module: Annotated[str | None, Query(max_length=200)] = None,
        source: Annotated[str | None, Query(max_length=100)] = None,
    ) -> SearchResponse:
        from retrieval.service import SearchFilters

        hits = svc(request).search.search(
            q, mode=mode, k=k, filters=SearchFilters(layer=layer, module=module, source=source)
        )
        return SearchResponse(query=q, mode=mode, hits=hits)

    @app.get("/v1/similar/{concept}", response_model=SearchResponse, tags=["search"])
    def similar(
        request: Request,
        concept: Annotated[str, Path(description="Concept id, IRI or label")],
        k: Annotated[int, Query(ge=1, le=100)] = 10,
        mmr: bool = False,
        diversity: Annotated[float, Query(ge=0.0, le=1.0)] = 0.3,
    ) -> SearchResponse:
        s = svc(request)
        c = s.ws.catalog.concepts[s.names.resolve(concept).id]
        return SearchResponse(query=c.id, mode="similar", hits=s.search.similar(c, k=k, mmr=mmr, diversity=diversity))

    @app.get("/v1/concepts", response_model=ConceptList, tags=["concepts"])
    def concepts(
        request: Request,
        layer: Annotated[str | None, Query(max_length=3)] = None,
        module: Annotated[str | None, Query(max_length=200)] = None,
        source: Annotated[str | None, Query(max_length=100)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> ConceptList:
        cat = svc(request).ws.catalog
        found = cat.filter(source, layer, module)
        return ConceptList(
            total=len(found),
            offset=offset,
            concepts=[c.doc(cat.iri(c.id)) for c in found[offset : offset + limit]],
        )

    @app.get("/v1/concepts/{concept}", response_model=ConceptDetail, tags=["concepts"])
    def concept(
        request: Request, concept: Annotated[str, Path(description="Concept id, IRI, label or text", max_length=500)]
    ) -> dict:
        return svc(request).concept_detail(concept)

    @app.get("/v1/schema/concept", tags=["meta"])
    def concept_schema() -> dict[str, Any]:
        """The JSON Schema of the concept document every output carries (search hits, plan and context
        items extend it)."""
        return ConceptDoc.model_json_schema()

    @app.get("/v1/queries", response_model=list[NamedQueryDoc], tags=["sparql"])
    def named_queries() -> list[NamedQueryDoc]:
        """The named queries, with their text (parameters left as ``# bind:`` comments)."""
        from kg.queries import NAMED

        return [
            NamedQueryDoc(name=q.name, description=q.description, params=list(q.params), text=q.text)
            for q in NAMED.values()
        ]

    @app.get("/v1/queries/{name}", response_model=NamedQueryDoc, tags=["sparql"])
    def named_query(
        request: Request,
        name: Annotated[str, Path(max_length=64, pattern=r"^[a-z0-9-]+$")],
        target: Annotated[
            str | None, Query(min_length=1, max_length=200, description="the concept, for queries that take one")
        ] = None,
    ) -> NamedQueryDoc:
        """One named query, its ``target`` resolved by name and bound, ready to send to ``/sparql``."""
        from kg.queries import NAMED, render_named

        if name not in NAMED:
            raise StarletteHTTPException(404, f"no named query {name!r}; GET /v1/queries lists them")
        q = NAMED[name]
        text = q.text
        if target is not None or q.params:
            text, _ = render_named(q, {"target": target} if target is not None else {}, svc(request).ws)
        return NamedQueryDoc(name=q.name, description=q.description, params=list(q.params), text=text)

    @app.post("/v1/gap", response_model=GapPlan, tags=["learning paths"], responses=_PICTURES)
    def gap(request: Request, body: GapRequest) -> Any:
        """The plan as JSON, or its picture when the client accepts ``text/vnd.mermaid`` or
        ``text/vnd.graphviz`` (the same drawing as ``ckg gap -f mermaid|dot``)."""
        finder = svc(request).gap_finder(body.asserted_only, body.min_confidence, body.full)
        known = finder.known_set(body.known, None, body.up_to_layer)
        plan = finder.gap(
            body.targets,
            known,
            exclude_known_prerequisites=not body.include_known_prerequisites,
            related=body.related,
            graph=body.graph,
        )
        return _plan_or_picture(finder, plan, request.headers.get("accept"))

    @app.get("/v1/path", response_model=GapPlan, tags=["learning paths"], responses=_PICTURES)
    def path(
        request: Request,
        target: Annotated[str, Query(min_length=1, max_length=2000, description="Concept id, label or free text")],
        asserted_only: bool = False,
        min_confidence: Annotated[float | None, Query(ge=0.0, le=1.0)] = None,
        full: Annotated[bool, Query(description=FULL_PLAN)] = False,
        graph: Annotated[bool, Query(description="also return the plan as a drawable graph")] = False,
    ) -> Any:
        """The path as JSON, or its picture (``Accept: text/vnd.mermaid`` or ``text/vnd.graphviz``)."""
        finder = svc(request).gap_finder(asserted_only, min_confidence, full)
        return _plan_or_picture(finder, finder.path(target, graph=graph), request.headers.get("accept"))

    @app.post("/v1/context", response_model=ContextPack, tags=["rag"])
    def context(request: Request, body: ContextRequest) -> ContextPack:
        return svc(request).context.build(body.question, budget=body.budget, k=body.k)

    _sparql_routes(app, svc)
    return app


def uvicorn_options(host: str = "127.0.0.1", port: int = 8000) -> dict[str, Any]:
    """The one server configuration (``ckg serve`` and the tests): loopback by default, a head-size limit.

    The HTTP parser is named, not left to uvicorn's ``auto``: ``auto`` picks httptools whenever it is
    importable (``uvicorn[standard]`` installs it), and httptools accepts request heads of any size, so
    installing an unrelated extra would silently drop the limit. httptools was not faster here either:
    ``/sparql`` answered a closure in 2.1 ms with it and 1.9 ms with h11 (same client, alternating).
    """
    return {
        "host": host,
        "port": port,
        "log_level": "warning",
        "http": "h11",
        "h11_max_incomplete_event_size": MAX_REQUEST_HEAD_BYTES,
    }


def uvicorn_config(app: FastAPI, host: str = "127.0.0.1", port: int = 8000) -> Any:
    import uvicorn

    return uvicorn.Config(app, **uvicorn_options(host, port))


def worker_environment(settings: Settings, hosts: tuple[str, ...], cors: tuple[str, ...]) -> dict[str, str]:
    """What ``ckg serve --workers N`` passes to each worker process (uvicorn starts them from an import string)."""
    env = {"CKG_HOME": str(settings.home), "CKG_SERVE_HOSTS": ",".join(hosts), "CKG_SERVE_CORS": ",".join(cors)}
    if settings.store:
        env["CKG_STORE"] = settings.store
    return env


def worker_app() -> FastAPI:
    """The app of one ``ckg serve --workers N`` process: settings from :func:`worker_environment`."""
    import os

    hosts = tuple(h for h in os.environ.get("CKG_SERVE_HOSTS", "").split(",") if h) or LOOPBACK_HOSTS
    cors = tuple(o for o in os.environ.get("CKG_SERVE_CORS", "").split(",") if o)
    return create_app(Settings(), hosts=hosts, cors=cors)


@contextmanager
def running(app: FastAPI, host: str = "127.0.0.1", port: int = 0, startup_s: float = 60.0) -> Iterator[str]:
    """Serve ``app`` on a background thread (a free loopback port by default); yields its base URL.

    For tests, benchmarks and embedding: a real uvicorn server, real sockets.
    """
    import socket
    import threading
    import time

    import httpx
    import uvicorn

    if port == 0:
        with socket.socket() as sock:
            sock.bind((host, 0))
            port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(app, host, port))
    thread = threading.Thread(target=server.run, daemon=True, name="ckg-server")
    thread.start()
    url = f"http://{host}:{port}"
    deadline = time.monotonic() + startup_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.05)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# ------------------------------------------------------------------ SPARQL
_SPARQL_200 = {
    200: {
        "description": "Query results, in the negotiated format",
        "content": {
            m: {}
            for m in (
                "application/sparql-results+json",
                "application/sparql-results+xml",
                "text/csv",
                "text/tab-separated-values",
                "text/turtle",
                "application/n-triples",
                "application/ld+json",
            )
        },
    }
}


#: Manifest keys that describe the host, not the build: library and Python versions, file hashes.
_PRIVATE = frozenset({"versions", "python", "files"})


def _public(manifest: dict[str, Any]) -> dict[str, Any]:
    """A manifest without what would help an attacker pick an exploit (package versions)."""
    return {k: v for k, v in manifest.items() if k not in _PRIVATE}


def _sparql_routes(app: FastAPI, svc: Any) -> None:
    @app.get("/sparql", tags=["sparql"], responses=_SPARQL_200, response_class=Response)
    def sparql_get(
        request: Request,
        query: Annotated[str, Query(min_length=1, max_length=MAX_GET_QUERY, description="Longer queries: POST")],
        default_graph_uri: Annotated[list[str] | None, Query(alias="default-graph-uri")] = None,
        named_graph_uri: Annotated[list[str] | None, Query(alias="named-graph-uri")] = None,
    ) -> Response:
        """SPARQL 1.1 Protocol query via GET. The default graph is the union of all graphs unless given."""
        if len(request.query_params.getlist("query")) != 1:
            return _problem(400, "Bad request", "give exactly one `query` parameter")
        return _answer(svc(request), query, request.headers.get("accept"), default_graph_uri, named_graph_uri)

    @app.options("/sparql", tags=["sparql"], status_code=204, response_class=Response)
    def sparql_options() -> Response:
        """The methods /sparql answers (a preflight-free OPTIONS: CORS stays off)."""
        return Response(status_code=204, headers={"Allow": "GET, HEAD, OPTIONS, POST"})

    @app.head("/sparql", tags=["sparql"], response_class=Response)
    def sparql_head(
        request: Request,
        query: Annotated[str, Query(min_length=1, max_length=MAX_GET_QUERY)],
        default_graph_uri: Annotated[list[str] | None, Query(alias="default-graph-uri")] = None,
        named_graph_uri: Annotated[list[str] | None, Query(alias="named-graph-uri")] = None,
    ) -> Response:
        """GET's headers without its body."""
        resp = sparql_get(request, query, default_graph_uri, named_graph_uri)
        return Response(status_code=resp.status_code, headers=dict(resp.headers), media_type=resp.media_type)

    @app.post(
        "/sparql",
        tags=["sparql"],
        responses=_SPARQL_200,
        response_class=Response,
        openapi_extra={
            "requestBody": {
                "content": {
                    "application/sparql-query": {"schema": {"type": "string"}},
                    "application/x-www-form-urlencoded": {
                        "schema": {
                            "type": "object",
                            "properties": {"query": {"type": "string"}},
                            "required": ["query"],
                        }
                    },
                },
                "required": True,
            }
        },
    )
    async def sparql_post(request: Request) -> Response:
        """Form POST (``query=``) or direct POST (``application/sparql-query``). Updates are refused."""
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        raw = await request.body()
        params = parse_qs(request.url.query)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return _problem(400, "Bad request", "the request body is not UTF-8")
        if ctype == "application/sparql-query":
            query = text
        elif ctype == "application/x-www-form-urlencoded":
            form = parse_qs(text)
            if "update" in form:
                return _problem(403, "Forbidden", "this endpoint is read-only: SPARQL updates are refused")
            queries = form.get("query", [])
            if len(queries) != 1:
                return _problem(400, "Bad request", "give exactly one `query` parameter")
            query = queries[0]
            params.update({k: v for k, v in form.items() if k != "query"})
        elif ctype == "application/sparql-update":
            return _problem(403, "Forbidden", "this endpoint is read-only: SPARQL updates are refused")
        else:
            return _problem(
                415,
                "Unsupported media type",
                "POST a query as application/sparql-query or as form field `query` (application/x-www-form-urlencoded)",
            )
        if not query.strip():
            return _problem(400, "Bad request", "the query is empty")
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(
            _answer,
            svc(request),
            query,
            request.headers.get("accept"),
            params.get("default-graph-uri"),
            params.get("named-graph-uri"),
        )


def _answer(
    services: Services, query: str, accept: str | None, default: list[str] | None, named: list[str] | None
) -> Response:
    from server.sparql import negotiate

    def choose(kind: str) -> Any:
        return negotiate(kind, accept)[1]

    kind, body = services.ws.store.serialize(
        query, choose, timeout=SPARQL_TIMEOUT_S, default_graphs=default, named_graphs=named
    )
    return Response(content=body, media_type=negotiate(kind, accept)[0], headers={"Vary": "Accept"})


# ------------------------------------------------------------------- pages
WEB = FsPath(__file__).resolve().parent / "web"


def _install_pages(app: FastAPI) -> None:
    """The explorer at ``/``, the API reference at ``/docs`` (:mod:`server.apidocs`, rendered here from
    the app's OpenAPI document) and Swagger UI and ReDoc at ``/docs/swagger`` and ``/redoc``: every asset
    served from here, none fetched from elsewhere (ckg runs offline; Swagger UI and ReDoc come from the
    ``fastapi-offline`` package, MIT, which ships pinned builds of both)."""
    from importlib.resources import files

    from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
    from fastapi.responses import FileResponse, HTMLResponse
    from fastapi.staticfiles import StaticFiles

    app.mount("/static/web", StaticFiles(directory=WEB), name="web")
    app.mount("/static/docs", StaticFiles(directory=str(files("fastapi_offline") / "static")), name="docs")

    @app.get("/", include_in_schema=False)
    def explorer() -> FileResponse:
        return FileResponse(WEB / "index.html", media_type="text/html")

    reference: list[str] = []  # rendered on first use: the OpenAPI document exists once every route does

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        from server.apidocs import reference_html

        if not reference:
            reference.append(reference_html(app.openapi()))
        return HTMLResponse(reference[0])

    @app.get("/docs/swagger", include_in_schema=False)
    def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="ckg API",
            swagger_js_url="/static/docs/swagger-ui-bundle.js",
            swagger_css_url="/static/docs/swagger-ui.css",
            swagger_favicon_url="/static/docs/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title="ckg API",
            redoc_js_url="/static/docs/redoc.standalone.js",
            redoc_favicon_url="/static/docs/favicon.png",
            with_google_fonts=False,
        )


# ------------------------------------------------------------------ errors
def _problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra},
        status_code=status,
        media_type=PROBLEM,
    )


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(CkgError)
    async def ckg_error(_request: Request, exc: CkgError) -> JSONResponse:
        extra = {"suggestions": exc.suggestions} if isinstance(exc, ConceptNotFoundError) else {}
        response = _problem(exc.http_status, type(exc).__name__, str(exc), **extra)
        if isinstance(exc, QueryBusyError):
            response.headers["Retry-After"] = "1"
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"where": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg", "")} for e in exc.errors()
        ]
        detail = "; ".join(f"{e['where']}: {e['problem']}" for e in errors) or "invalid request"
        return _problem(422, "Invalid parameters", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = {404: "Not found", 405: "Method not allowed", 413: "Body too large"}.get(exc.status_code, "Error")
        resp = _problem(exc.status_code, title, str(exc.detail))
        resp.headers.update(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names only the first matching route's methods; /sparql has a GET and a POST route.
            path = request.url.path
            allowed = {
                m
                for r in request.app.routes
                if getattr(r, "path_regex", None) and r.path_regex.match(path)
                for m in (getattr(r, "methods", None) or ())
            }
            resp.headers["Allow"] = ", ".join(sorted(allowed))
        return resp

    @app.exception_handler(Exception)
    async def bug(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")  # the details go to the server log, never to the client
        return _problem(500, "Internal error", "the server failed to answer this request; it has been logged")


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413, whether or not they declare a length."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _problem(413, "Body too large", f"request bodies are limited to {self.limit} bytes")(
                scope, receive, send
            )
            return
        seen = 0

        async def limited() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    # An HTTPException, so the app's own handler answers it as problem+json.
                    raise StarletteHTTPException(413, f"request bodies are limited to {self.limit} bytes")
            return message

        await self.app(scope, limited, send)

"""``ckg``: typer commands that parse arguments, call the library and format results.

Only typer and the standard library are imported at module level so that
``ckg --help`` stays fast; every command imports what it needs.
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

# Plain help and errors: rendering through rich costs ~0.2 s of every `--help` (issue #13).
os.environ.setdefault("TYPER_USE_RICH", "0")
# ckg uses no pydantic plugins; looking them up reads every installed package's metadata (~20 ms).
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

import typer

from cli.output import Format, emit, message

app = typer.Typer(
    name="ckg",
    help="Knowledge graph and semantic search over a machine-learning curriculum.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class Encoder(StrEnum):
    auto = "auto"
    onnx = "onnx"
    torch = "torch"


FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
PlanFormatOpt = Annotated[str, typer.Option("--format", "-f", help="table | json | jsonl | csv | tsv | mermaid | dot")]


class PublishMode(StrEnum):
    swap = "swap"
    per_graph = "per-graph"


StoreOpt = Annotated[
    str | None,
    typer.Option("--store", help="SPARQL 1.1 server holding the graph, e.g. http://127.0.0.1:7878 ($CKG_STORE)."),
]
HomeOpt = Annotated[Path | None, typer.Option("--home", help="Build directory (default: data/build or $CKG_HOME).")]

#: Exit status of ``ckg ingest`` when the build was written but records were rejected.
EXIT_REJECTED = 3

CONCEPT_COLUMNS = ["id", "label", "layer", "tier", "minutes", "level", "modules", "stub"]
#: csv/tsv carry every field of the concept document (lists joined, nested values as JSON).
DOC_COLUMNS = [
    "iri", "alt_labels", "definition", "layer_inferred", "minutes_inferred", "level_inferred",
    "modules_inferred", "premium", "sources", "inferred", "inferred_prerequisites", "relations",
]  # fmt: skip


def _print_version(value: bool) -> None:
    if value:
        from ckg import __version__

        print(f"ckg {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress messages on stderr.")] = False,
) -> None:
    """Knowledge graph and semantic search over a machine-learning curriculum."""
    _log_to_stderr(quiet)


def _log_to_stderr(quiet: bool) -> None:
    """Progress and warnings of the library (the ``ckg`` logger) as plain lines on stderr."""
    import logging

    log = logging.getLogger("ckg")
    if not any(getattr(h, "_ckg_cli", False) for h in log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._ckg_cli = True  # type: ignore[attr-defined]
        log.addHandler(handler)
    log.setLevel(logging.WARNING if quiet else logging.INFO)
    log.propagate = False


def _settings(
    home: Path | None = None,
    sources: Path | None = None,
    base_iri: str | None = None,
    encoder: str | None = None,
    store: str | None = None,
):
    from ckg.config import Settings

    kwargs: dict[str, Any] = {}
    if store is not None:
        kwargs["store"] = store
    if encoder is not None:
        kwargs["encoder"] = encoder
    if home is not None:
        kwargs["home"] = home
    if sources is not None:
        kwargs["sources"] = sources
    if base_iri is not None:
        kwargs["base_iri"] = base_iri
    return Settings(**kwargs)


def _workspace(home: Path | None):
    from kg.workspace import Workspace

    return Workspace(_settings(home))


@app.command()
def ingest(
    sources: Annotated[Path | None, typer.Option(help="Directory with the five source documents.")] = None,
    home: HomeOpt = None,
    base_iri: Annotated[str | None, typer.Option(help="Base IRI for minted IRIs.")] = None,
    report: Annotated[Path | None, typer.Option(help="Also write the ingest report as JSON here.")] = None,
    strict: Annotated[bool, typer.Option(help="Treat warnings and rejected records as fatal.")] = False,
    index: Annotated[bool, typer.Option(help="Also embed the concepts and build the vector index.")] = True,
    model: Annotated[str | None, typer.Option(help="Embedding model (name or local path; $CKG_MODEL).")] = None,
    encoder: Annotated[
        Encoder | None, typer.Option(help="Encoder implementation (default auto: ONNX, else torch; $CKG_ENCODER).")
    ] = None,
    hnsw_threshold: Annotated[
        int | None, typer.Option(help="Use HNSW instead of exact search from this many concepts (default 150000).")
    ] = None,
    store: StoreOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Build everything from the sources and print the ingest report; with --store, publish it there too.

    Exit status: 0 clean, 1 error (nothing written), 3 built but some records were rejected.
    """
    from ckg.atomic import write_text
    from kg.workspace import build

    settings = _settings(home, sources, base_iri, encoder.value if encoder else None)
    outcome = build(settings, strict=strict, index=index, model=model, hnsw_threshold=hnsw_threshold)
    rep = outcome.report
    if report is not None:
        write_text(report, rep.model_dump_json(indent=2))
    if fmt is Format.json:
        emit([], fmt, [], document=rep.model_dump(mode="json"))
    else:
        for line in rep.summary_lines():
            print(line)
        message(f"build written to {outcome.home} ({outcome.quads} quads)")
        if outcome.index is not None:
            st = outcome.index
            message(f"vector index: {st.concepts} concepts, {st.encoded} encoded ({st.model}), {st.seconds:.1f} s")
        if outcome.inference is not None:
            inf = outcome.inference
            vals = ", ".join(f"{n} {k}" for k, n in inf["values"].items())
            message(
                f"inferred graph: {inf['edges']} prerequisite edges, {vals}, {inf['path_links']} research-path links "
                f"({inf['skipped_cycles']} edge(s) skipped: they would close a cycle)"
            )
        else:
            message("inferred graph left empty: inference needs the embeddings (--no-index skips both)")
    if store:
        _publish(settings, store)
    if rep.rejected:
        raise typer.Exit(EXIT_REJECTED)


def _publish(settings: Any, url: str, mode: str = "swap") -> None:
    from kg.remote import RemoteStore
    from kg.workspace import Workspace

    ws = Workspace(settings)
    remote = RemoteStore(url)
    try:
        done = remote.publish(
            ws.verified("dataset.nq"),
            ws.manifest["dataset_sha256"],
            mode=mode,  # type: ignore[arg-type]  (checked by the option's choices)
            on_graph=lambda g, n: message(f"sent {n} triples for {g}"),
        )
    finally:
        remote.close()
    how = "in one transaction" if mode == "swap" else "one graph at a time"
    message(f"published {done['graphs']} graphs ({done['triples']} triples) to {url} {how}")


@app.command()
def publish(
    store: Annotated[str, typer.Option("--store", help="SPARQL 1.1 server to publish to, e.g. http://127.0.0.1:7878.")],
    mode: Annotated[
        PublishMode,
        typer.Option(help="swap: one transaction; per-graph: a Graph Store Protocol PUT per named graph."),
    ] = PublishMode.swap,
    home: HomeOpt = None,
) -> None:
    """Publish the current build's graph to a SPARQL server, replacing the build published there before."""
    _publish(_settings(home), store, mode.value)


@app.command()
def concepts(
    source: Annotated[str | None, typer.Option(help="Only concepts from this source (name or file).")] = None,
    layer: Annotated[str | None, typer.Option(help="Only this layer (0A, 0B, 1..5).")] = None,
    module: Annotated[str | None, typer.Option(help="Only members of this module or group.")] = None,
    stubs: Annotated[bool, typer.Option(help="Include stub concepts.")] = True,
    home: HomeOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """List concepts."""
    ws = _workspace(home)
    cat = ws.catalog
    rows = [c.document(cat.iri(c.id)) for c in cat.filter(source, layer, module, stubs)]
    emit(rows, fmt, CONCEPT_COLUMNS if fmt is Format.table else [*CONCEPT_COLUMNS, *DOC_COLUMNS])


@app.command()
def show(
    concept: Annotated[str, typer.Argument(help="Concept id, IRI or label.")],
    home: HomeOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """One concept with its prerequisites, dependents and sources."""
    from kg.detail import concept_detail

    ws = _workspace(home)
    cat = ws.catalog
    res = _resolution(ws, concept)
    c = cat.concepts[res.id]
    detail = concept_detail(ws, c, res)
    doc = detail.model_dump(mode="json")
    unlocks = detail.unlocks
    if fmt is not Format.table:
        emit([doc], fmt, [*CONCEPT_COLUMNS, *DOC_COLUMNS, "prerequisites", "dependents", "unlocks"], document=doc)
        return
    for p in doc["inferred_prerequisites"]:
        p["label"] = cat.concepts[p["id"]].label
    for links in doc["relations"].values():
        for link in links:
            link["label"] = cat.concepts[link["id"]].label
    print(f"{c.label}  [{c.id}]{'  (stub)' if c.stub else ''}")
    print(f"  iri: {doc['iri']}")
    if c.alt_labels:
        print(f"  also: {'; '.join(c.alt_labels)}")
    facts = [
        f"layer L{c.layer}" if c.layer else "",
        f"tier {c.tier}" if c.tier else "",
        f"{c.minutes} min" if c.minutes else "",
        c.level or "",
        "premium" if c.premium else "",
    ]
    if any(facts):
        print("  " + ", ".join(f for f in facts if f))
    if c.modules:
        print(f"  modules: {', '.join(c.modules)}")
    if c.definition:
        print(f"  {c.definition}")
    print(
        f"  prerequisites ({len(doc['prerequisites'])}"
        f"{f', +{c.unlisted_prerequisites} unlisted' if c.unlisted_prerequisites else ''}):"
    )
    for p in doc["prerequisites"]:
        print(f"    - {p['label']} [{p['id']}]  (slug '{p['slug']}' by {p['method']}, line {p['line']})")
    if c.inferred_prerequisites:
        print(f"  inferred prerequisites ({len(c.inferred_prerequisites)}, not stated by any source):")
        for f in c.inferred_prerequisites:
            print(f"    ~ {cat.concepts[str(f.value)].label} [{f.value}]  confidence {f.confidence:.2f} by {f.method}")
            print(f"      {f.evidence}")
    for key, f in sorted(c.inferred.items()):
        print(f"  inferred {key}: {f.value}  (confidence {f.confidence:.2f}, {f.method}; {f.evidence})")
    for kind, links in doc["relations"].items():
        print(f"  {kind.replace('_', ' ')} (inferred):")
        for link in links:
            print(f"    ~ {link['label']} [{link['id']}]  {link['evidence']}")
    print(f"  dependents ({len(doc['dependents'])}):")
    for d in doc["dependents"]:
        print(f"    - {d['label']} [{d['id']}]")
    print(f"  unlocks (transitively): {len(unlocks)} concept(s)")
    print("  sources:")
    for s in c.sources:
        print(f"    - {s.file}:{s.line}  {s.title}")


SEARCH_COLUMNS = ["rank", "id", "label", "layer", "score", "evidence"]


def _evidence_summary(hit: Any) -> str:
    out = []
    for arm, e in hit.evidence.items():
        extra = f" '{e.matched_label}'" if e.matched_label else (f" via {e.anchor}" if e.anchor else "")
        out.append(f"{arm}#{e.rank}{extra}")
    return " ".join(out)


def _emit_hits(query: str, mode: str, hits: list[Any], fmt: Format) -> None:
    """The same document as HTTP's ``{query, mode, hits}``; jsonl/csv/tsv give one hit per line."""
    rows = [h.model_dump(mode="json") for h in hits]
    if fmt is Format.table:
        emit([{**r, "evidence": _evidence_summary(h)} for r, h in zip(rows, hits, strict=True)], fmt, SEARCH_COLUMNS)
    else:
        emit(rows, fmt, [*SEARCH_COLUMNS, *DOC_COLUMNS], document={"query": query, "mode": mode, "hits": rows})


@app.command()
def search(
    text: Annotated[str, typer.Argument(help="What to look for: words, a question, an acronym.")],
    mode: Annotated[str, typer.Option(help="hybrid | dense | lexical")] = "hybrid",
    k: Annotated[int, typer.Option("-k", help="Number of results (1-100).")] = 10,
    layer: Annotated[str | None, typer.Option(help="Only this layer.")] = None,
    module: Annotated[str | None, typer.Option(help="Only this module or group.")] = None,
    source: Annotated[str | None, typer.Option(help="Only concepts from this source.")] = None,
    stubs: Annotated[bool, typer.Option(help="Include stub concepts.")] = False,
    model: Annotated[str | None, typer.Option(help="Embedding model the index must have been built with.")] = None,
    home: HomeOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Hybrid search: dense vectors + BM25 + prerequisite graph, fused; evidence per hit."""
    from retrieval.service import SearchFilters, SearchService

    if mode not in ("hybrid", "dense", "lexical"):
        raise typer.BadParameter("mode must be hybrid, dense or lexical")
    svc = SearchService(_workspace(home), model=model)
    hits = svc.search(
        text,
        mode=mode,
        k=k,  # type: ignore[arg-type]
        filters=SearchFilters(layer=layer, module=module, source=source, stubs=stubs),
    )
    _emit_hits(text, mode, hits, fmt)


@app.command()
def similar(
    concept: Annotated[str, typer.Argument(help="Concept id, IRI or label.")],
    k: Annotated[int, typer.Option("-k", help="Number of results (1-100).")] = 10,
    mmr: Annotated[bool, typer.Option(help="Maximal marginal relevance: diverse results.")] = False,
    diversity: Annotated[float, typer.Option(help="MMR trade-off, 0 = pure similarity.")] = 0.3,
    stubs: Annotated[bool, typer.Option(help="Include stub concepts.")] = False,
    home: HomeOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Nearest concepts to a concept by embedding."""
    from retrieval.service import SearchFilters, SearchService

    ws = _workspace(home)
    c = resolve_concept(ws, concept)
    hits = SearchService(ws).similar(c, k=k, mmr=mmr, diversity=diversity, filters=SearchFilters(stubs=stubs))
    _emit_hits(c.id, "similar", hits, fmt)


@app.command(name="eval")
def evaluate(
    gold: Annotated[Path | None, typer.Option(help="Gold set (JSONL); default data/eval/gold.jsonl.")] = None,
    plans: Annotated[
        bool, typer.Option("--plans", help="Judge learning plans against data/eval/plans.jsonl instead.")
    ] = False,
    min_confidence: Annotated[
        float | None, typer.Option("--min-confidence", help="With --plans: inferred edges used (default 0.11).")
    ] = None,
    home: HomeOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Search: recall@1/5/10, MRR, nDCG@10 per mode. --plans: groups met, wrong items, plan size per split."""
    if plans:
        from retrieval.gap import GapFinder
        from retrieval.plan_eval import evaluate_plans, load_plans

        report = evaluate_plans(GapFinder(_workspace(home), min_confidence=min_confidence), load_plans(gold))
        emit(
            [s.model_dump() for s in report.splits],
            fmt,
            ["split", "targets", "groups", "group_recall", "wrong_items", "wrong_per_20_plans", "median_plan"],
            document=report.model_dump(),
        )
        return
    from retrieval.evaluate import evaluate as run_eval
    from retrieval.evaluate import load_gold

    report = run_eval(_workspace(home), load_gold(gold))
    rows = [m.model_dump() for m in report.modes]
    emit(
        rows,
        fmt,
        ["mode", "split", "queries", "recall_at_1", "recall_at_5", "recall_at_10", "mrr", "ndcg_at_10"],
        document=report.model_dump(),
    )


KnownOpt = Annotated[list[str] | None, typer.Option("--known", help="A concept you know (repeatable).")]
KnownFileOpt = Annotated[Path | None, typer.Option("--known-file", help="File with one known concept per line.")]
UpToOpt = Annotated[str | None, typer.Option("--up-to-layer", help="Treat every concept up to this layer as known.")]
AssertedOpt = Annotated[bool, typer.Option("--asserted-only", help="Use only prerequisites a source states.")]
ConfidenceOpt = Annotated[
    float | None,
    typer.Option("--min-confidence", help="Use inferred prerequisites at or above this confidence (default 0.11)."),
]
FullOpt = Annotated[
    bool,
    typer.Option(
        "--full", help="List every prerequisite the inferred chains reach, not only the nearest 20 of a plan."
    ),
]
GAP_COLUMNS = ["step", "id", "label", "layer", "minutes", "via_inferred", "why"]


def _emit_plan(plan: Any, fmt: Format) -> None:
    rows = [item.model_dump(mode="json") for item in plan.missing]
    if fmt is Format.table:
        for r in rows:
            r["why"] = " <- ".join(reversed(r["why"]))
            r["via_inferred"] = f"~{r['confidence']:.2f}" if r["via_inferred"] else ""
            r["layer"] = f"{r['layer']}~" if r["layer_inferred"] else r["layer"]
            r["minutes"] = f"{r['minutes']}~" if r["minutes_inferred"] else r["minutes"]
        emit(rows, fmt, GAP_COLUMNS)
        unknown = f" ({plan.unknown_minutes} item(s) without a study time)" if plan.unknown_minutes else ""
        estimated = f", {plan.inferred_minutes} of them estimated" if plan.inferred_minutes else ""
        print(f"{len(plan.missing)} concept(s) missing, {plan.total_minutes} min in total{estimated}{unknown}")
        if plan.omitted:
            print(f"{plan.omitted} deeper or weaker prerequisite(s) not listed; --full lists them")
        if any(i.via_inferred or i.layer_inferred or i.minutes_inferred for i in plan.missing):
            edges = (
                "edges: asserted only"
                if plan.asserted_only
                else f"edges at confidence >= {plan.min_confidence}; --asserted-only uses stated edges only"
            )
            print(f"~ marks inferred facts, not stated by any source ({edges})")
        for r in plan.related:
            print(f"related ({r['kind']}, not a prerequisite): {r['label']} [{r['id']}]: {r['why']}")
    else:
        extra = [c for c in (*CONCEPT_COLUMNS, *DOC_COLUMNS) if c not in GAP_COLUMNS]
        emit(rows, fmt, [*GAP_COLUMNS, *extra], document=plan.model_dump(mode="json"))


@app.command()
def gap(
    targets: Annotated[list[str], typer.Argument(help="Target concepts (id, label or free text).")],
    known: KnownOpt = None,
    known_file: KnownFileOpt = None,
    up_to_layer: UpToOpt = None,
    include_known_prerequisites: Annotated[
        bool, typer.Option(help="Also list what known concepts themselves require.")
    ] = False,
    related: Annotated[int, typer.Option(help="Also list N related concepts that are not prerequisites.")] = 0,
    asserted_only: AssertedOpt = False,
    min_confidence: ConfidenceOpt = None,
    full: FullOpt = False,
    home: HomeOpt = None,
    fmt: PlanFormatOpt = "table",
) -> None:
    """What a learner is missing for TARGET(S), foundations first, with study time (mermaid/dot draw it)."""
    from retrieval.gap import GapFinder

    finder = GapFinder(_workspace(home), asserted_only=asserted_only, min_confidence=min_confidence, full=full)
    known_ids = finder.known_set(known, known_file, up_to_layer)
    plan = finder.gap(targets, known_ids, exclude_known_prerequisites=not include_known_prerequisites, related=related)
    _say_guesses(finder)
    _emit_plan_or_picture(finder, plan, fmt)


def _emit_plan_or_picture(finder: Any, plan: Any, fmt: str) -> None:
    """A plan as rows (table, json, ...) or as a picture (mermaid, dot) of the same graph the browser draws."""
    from retrieval.picture import dot, mermaid

    draw = {"mermaid": mermaid, "dot": dot}
    if fmt in draw:
        print(draw[fmt](finder.picture(plan)))
    elif fmt in {f.value for f in Format}:
        _emit_plan(plan, Format(fmt))
    else:
        raise typer.BadParameter(f"format must be one of {', '.join([*Format, *draw])}", param_hint="--format")


def _say_guesses(finder: Any) -> None:
    """What a guessed reference was taken to mean, on stderr, before the answer."""
    for res in finder.notes:
        message(res.note())


@app.command()
def path(
    target: Annotated[str, typer.Argument(help="Target concept (id, label or free text).")],
    fmt: PlanFormatOpt = "table",
    asserted_only: AssertedOpt = False,
    min_confidence: ConfidenceOpt = None,
    full: FullOpt = False,
    home: HomeOpt = None,
) -> None:
    """The learning path from foundations to TARGET: all it states, and its nearest 20 inferred prerequisites
    unless --full (mermaid/dot draw it: layers as colours, inferred edges dashed with their confidence)."""
    from retrieval.gap import GapFinder

    finder = GapFinder(_workspace(home), asserted_only=asserted_only, min_confidence=min_confidence, full=full)
    plan = finder.path(target)
    _say_guesses(finder)
    _emit_plan_or_picture(finder, plan, fmt)


@app.command(name="next")
def next_up(
    known: KnownOpt = None,
    known_file: KnownFileOpt = None,
    up_to_layer: UpToOpt = None,
    asserted_only: AssertedOpt = False,
    min_confidence: ConfidenceOpt = None,
    home: HomeOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Concepts you are ready to learn now: every prerequisite already known."""
    from retrieval.gap import GapFinder

    ws = _workspace(home)
    finder = GapFinder(ws, asserted_only=asserted_only, min_confidence=min_confidence)
    ready = finder.next_up(finder.known_set(known, known_file, up_to_layer))
    _say_guesses(finder)
    rows = [ws.catalog.concepts[c].document(ws.catalog.iri(c)) for c in ready]
    emit(rows, fmt, CONCEPT_COLUMNS if fmt is Format.table else [*CONCEPT_COLUMNS, *DOC_COLUMNS])


@app.command()
def context(
    question: Annotated[str, typer.Argument(help="The question an assistant must answer.")],
    budget: Annotated[int, typer.Option(help="Token budget for the pack (100-32000).")] = 1500,
    k: Annotated[int, typer.Option("-k", help="Search hits to start from (1-50).")] = 8,
    home: HomeOpt = None,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="markdown | json | jsonl | csv | tsv | table (items)")
    ] = "markdown",
) -> None:
    """A cited context pack for RAG: concepts, relations, reading order, [C1] markers, file:line sources."""
    from retrieval.context import ContextBuilder

    if fmt not in ("markdown", *(f.value for f in Format)):
        raise typer.BadParameter("format must be markdown, json, jsonl, csv, tsv or table")
    pack = ContextBuilder(_workspace(home)).build(question, budget=budget, k=k)
    if fmt != "markdown":
        rows = [i.model_dump(mode="json") for i in pack.items]
        columns = ["marker", "id", "label", "layer", "relevance", "tokens", "why"]
        extra = [c for c in (*CONCEPT_COLUMNS, *DOC_COLUMNS, "citations") if c not in columns]
        emit(
            rows, Format(fmt), columns if fmt == "table" else [*columns, *extra], document=pack.model_dump(mode="json")
        )
    else:
        print(pack.markdown, end="")
        message(
            f"{len(pack.items)} concept(s), {pack.tokens_used}/{pack.budget} tokens ({pack.tokenizer}); "
            f"{len(pack.dropped)} dropped for the budget; {pack.fingerprint}"
        )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option("--allowed-host", help="Also answer this Host header (a proxy's name; repeatable)."),
    ] = None,
    cors: Annotated[
        list[str] | None,
        typer.Option("--cors", help="Let pages from this origin call /v1 and /sparql (off by default; repeatable)."),
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="API processes sharing the port (each loads the index and model).")
    ] = 1,
    store: StoreOpt = None,
    home: HomeOpt = None,
) -> None:
    """HTTP API (/v1/...), SPARQL endpoint (/sparql), explorer (/) and OpenAPI docs (/docs)."""
    import uvicorn

    from server.app import LOOPBACK_HOSTS, Services, create_app, uvicorn_config, uvicorn_options, worker_environment

    settings = _settings(home, store=store)
    hosts = tuple(dict.fromkeys([*LOOPBACK_HOSTS, host, *(allowed_host or [])]))
    graph = f"the graph at {settings.store}" if settings.store else "the graph"
    if settings.store:
        from kg.workspace import Workspace

        Workspace(settings).store.sandbox().start()  # refuse a store that holds another build, before serving
    if workers > 1:
        message(f"starting {workers} workers, each loading {graph}, index and model from {settings.home} …")
        message(f"serving on http://{host}:{port} (explorer at /, docs at /docs, SPARQL at /sparql)")
        os.environ.update(worker_environment(settings, hosts, tuple(cors or ())))
        uvicorn.run("server.app:worker_app", factory=True, workers=workers, **uvicorn_options(host, port))
        return
    message(f"loading {graph}, index and model from {settings.home} …")
    services = Services(settings)
    message(f"serving on http://{host}:{port} (explorer at /, docs at /docs, SPARQL at /sparql)")
    app = create_app(settings, services, hosts=hosts, cors=tuple(cors or ()))
    uvicorn.Server(uvicorn_config(app, host, port)).run()


@app.command()
def mcp(store: StoreOpt = None, home: HomeOpt = None) -> None:
    """MCP server over stdio: tools to search, get a concept, find gaps, get a path, a context pack, SPARQL."""
    from server.mcp import create_server, run_stdio

    run_stdio(create_server(_settings(home, store=store)))


def resolve_concept(ws: Any, ref: str) -> Any:
    """The concept ``ref`` names; see :func:`_resolution`."""
    return ws.catalog.concepts[_resolution(ws, ref).id]


def _resolution(ws: Any, ref: str) -> Any:
    """How ``ref`` resolves (retrieval.names: exact, variant, typo, partial, by meaning); a guess is said
    on stderr before the answer, nothing close enough is an error with suggestions."""
    from retrieval.names import NameResolver
    from retrieval.service import SearchService

    res = NameResolver(ws.catalog, lambda: SearchService(ws)).resolve(ref)
    if res.guessed:
        message(res.note())
    return res


@app.command()
def sparql(
    query: Annotated[str | None, typer.Argument(help="SPARQL text, @file.rq, or a named query.")] = None,
    list_queries: Annotated[bool, typer.Option("--list", help="List the named queries.")] = False,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="name=value for a named query.")] = None,
    timeout: Annotated[float, typer.Option(help="Time limit in seconds.")] = 10.0,
    limit: Annotated[int, typer.Option(help="Row cap.")] = 10_000,
    home: HomeOpt = None,
    store: StoreOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Run a SPARQL query (read-only) over all graphs (of the build, or of the --store it was published to)."""
    from kg.queries import NAMED, render_named
    from kg.workspace import Workspace

    if list_queries:
        emit(
            [{"name": q.name, "params": ", ".join(q.params), "description": q.description} for q in NAMED.values()],
            fmt,
            ["name", "params", "description"],
        )
        return
    if not query:
        raise typer.BadParameter("give a query, @file.rq, a named query, or --list")
    ws = Workspace(_settings(home, store=store))
    params = dict(p.split("=", 1) for p in (param or []))
    if query in NAMED:
        text, subs = render_named(NAMED[query], params, ws)
    elif query.startswith("@"):
        path = Path(query[1:])
        if not path.exists():
            raise typer.BadParameter(f"query file {path} not found")
        text, subs = path.read_text("utf-8"), None
    else:
        text, subs = query, None
    result = ws.store.query(text, timeout=timeout, limit=limit, substitutions=subs, isolated=True)
    if result.truncated:
        message(f"result truncated at {limit} rows (raise --limit)")
    if result.kind == "ask":
        emit([{"boolean": result.boolean}], fmt, ["boolean"], document=result.to_json())
    elif result.kind == "graph":
        for t in result.triples:
            print(f"{t.subject} {t.predicate} {t.object} .")
    else:
        emit(result.records(), fmt, result.variables, document=result.to_json())
    message(f"{len(result.rows)} row(s) in {result.elapsed_ms:.1f} ms")


@app.command()
def validate(home: HomeOpt = None, fmt: FormatOpt = Format.table) -> None:
    """SHACL validation plus the graph lint; exit 1 on violations."""
    from kg.validate import validate as run_validate

    report = run_validate(_workspace(home))
    rows = [f.model_dump() for f in report.findings]
    if fmt is Format.table:
        by_kind: dict[str, int] = {}
        for f in report.findings:
            by_kind[f"{f.severity}:{f.kind}"] = by_kind.get(f"{f.severity}:{f.kind}", 0) + 1
        print(f"SHACL: {'conforms' if report.shacl_conforms else 'VIOLATIONS'} ({len(report.shacl_results)} result(s))")
        for r in report.shacl_results:
            print(f"  violation {r}")
        for k, n in sorted(by_kind.items()):
            print(f"  {k}: {n}")
        for f in report.findings:
            if f.severity != "info":
                print(f"  {f.severity} {f.kind}: {f.message}")
    else:
        emit(rows, fmt, ["severity", "kind", "message"], document=report.model_dump())
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def export(
    fmt: Annotated[
        str,
        typer.Option(
            "--format", "-f", help="turtle (merged graph) | trig | nquads | jsonld (whole dataset) | parquet | graphml"
        ),
    ] = "turtle",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File (or directory for parquet).")] = None,
    home: HomeOpt = None,
) -> None:
    """Export the dataset (all named graphs) or tables."""
    from ckg.atomic import write_bytes
    from kg.export import RDF_FORMATS, serialize_rdf, write_graphml, write_parquet

    ws = _workspace(home)
    if fmt == "parquet":
        for p in write_parquet(ws.catalog, output or Path(".")):
            message(f"wrote {p}")
    elif fmt == "graphml":
        target = output or Path("ckg.graphml")
        write_graphml(ws.catalog, target)
        message(f"wrote {target}")
    elif fmt in RDF_FORMATS:
        data = serialize_rdf(ws.verified("dataset.nq").read_bytes(), fmt, ws.base_iri)
        if output is None:
            sys.stdout.buffer.write(data)
        else:
            write_bytes(output, data)
            message(f"wrote {output}")
    else:
        raise typer.BadParameter(f"unknown export format {fmt!r}; use turtle, trig, nquads, jsonld, parquet or graphml")


if __name__ == "__main__":
    from cli.main import main

    main()

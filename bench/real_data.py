"""Benchmarks on the real sources: ingest stages, rebuilds, queries, search, cold starts."""

from __future__ import annotations

import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

from bench.timing import Figure, percentiles, process, repeat

REPO = Path(__file__).resolve().parent.parent
SOURCES = REPO / "data" / "sources"


def machine() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        model = cpu
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} cores ({model}), {mem:.0f} GiB RAM, Python {platform.python_version()}, "
        f"torch {torch.__version__} (CPU), {platform.system()} {platform.release()}"
    )


def ingest_stages(repeats: int = 3) -> list[Figure]:
    from ckg.config import Settings
    from ingest.pipeline import parse_all, run
    from ingest.records import SOURCE_FILES
    from ingest.resolve import resolve
    from kg.build import build_quads, to_nquads
    from kg.catalog import Catalog
    from kg.store import GraphStore
    from kg.workspace import build
    from retrieval.embed import get_embedder
    from retrieval.indexer import corpus

    figs = []
    figs.append(Figure("parse (5 sources)", "s", repeat(lambda: parse_all(SOURCES), repeats), "python -m bench.run"))
    parsed, _ = parse_all(SOURCES)
    records = [r for n in SOURCE_FILES if n in parsed for r in parsed[n].records]
    figs.append(
        Figure("resolve (merge + slugs)", "s", repeat(lambda: resolve(records), repeats), "python -m bench.run")
    )
    ingest = run(SOURCES)
    figs.append(
        Figure(
            "RDF build (quads)",
            "s",
            repeat(lambda: build_quads(ingest, "https://ckg.example.org/"), repeats),
            "python -m bench.run",
        )
    )
    quads = build_quads(ingest, "https://ckg.example.org/")
    figs.append(Figure("N-Quads serialisation", "s", repeat(lambda: to_nquads(quads), repeats), "python -m bench.run"))
    figs.append(
        Figure(
            "catalog from graph",
            "s",
            repeat(lambda: Catalog(GraphStore.from_quads(quads), "https://ckg.example.org/"), repeats),
            "python -m bench.run",
        )
    )
    catalog = Catalog(GraphStore.from_quads(quads), "https://ckg.example.org/")
    _, texts = corpus(catalog)
    emb = get_embedder()
    emb.encode(["warm up"])
    figs.append(
        Figure(
            f"encode all {len(texts)} concept texts (MiniLM, CPU)",
            "s",
            repeat(lambda: emb.encode(texts), 2),
            "python -m bench.run",
        )
    )
    from kg.inference import infer

    vecs = emb.encode(texts)
    ids = sorted(catalog.concepts)
    edges = [(e.source, e.target) for e in catalog.edges()]
    figs.append(
        Figure(
            "inference (edges, layers, minutes, modules)",
            "s",
            repeat(lambda: infer(catalog.concepts, edges, ids, vecs), repeats),
            "python -m bench.run",
        )
    )
    tmp = Path(tempfile.mkdtemp())
    try:
        settings = Settings(home=tmp / "build", sources=SOURCES)
        cold = repeat(lambda: (shutil.rmtree(tmp, ignore_errors=True), build(settings, index=True)), 1)
        figs.append(
            Figure("full build, cold embedding cache (in-process, model loaded)", "s", cold, "python -m bench.run")
        )
        figs.append(
            Figure(
                "full rebuild, warm cache (in-process)",
                "s",
                repeat(lambda: build(settings, index=True), repeats),
                "python -m bench.run",
            )
        )
        env = dict(os.environ, CKG_HOME=str(settings.home))
        t = []
        for _ in range(repeats):
            start = time.perf_counter()
            import subprocess
            import sys

            subprocess.run(
                [sys.executable, "-m", "cli.main", "ingest", "--sources", str(SOURCES)],
                env=env,
                capture_output=True,
                check=True,
            )
            t.append(time.perf_counter() - start)
        figs.append(Figure("`ckg ingest`, warm cache, new process", "s", t, "CKG_HOME=/tmp/x ckg ingest (twice)"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return figs


def queries(ws, repeats: int = 20) -> list[Figure]:
    """In-process latencies on a warm workspace."""
    from kg.queries import NAMED, render_named
    from retrieval.service import SearchService

    svc = SearchService(ws)
    svc.search("warm up", k=5)
    figs = []
    cases = {
        "search hybrid": lambda q: svc.search(q, mode="hybrid", k=10),
        "search dense": lambda q: svc.search(q, mode="dense", k=10),
        "search lexical": lambda q: svc.search(q, mode="lexical", k=10),
    }
    qs = [
        "GQA",
        "why divide dot products by the square root of the dimension",
        "diffusion models",
        "Compare PPO and DPO for RLHF.",
        "concentration inequalities for sums",
    ]
    for name, fn in cases.items():
        samples = []
        for _ in range(repeats):
            for q in qs:
                t = time.perf_counter()
                fn(q)
                samples.append((time.perf_counter() - t) * 1000)
        p = percentiles(samples)
        figs.append(
            Figure(
                name + " (k=10, warm)", "ms", samples, "python -m bench.run", extra={"p50": p["p50"], "p95": p["p95"]}
            )
        )
    from retrieval.gap import GapFinder

    finder = GapFinder(ws, search=svc)
    known = finder.known_set(["Common Probability Distributions"])
    samples = [x * 1000 for x in repeat(lambda: finder.gap(["Double Descent"], known), repeats * 5)]
    p = percentiles(samples)
    figs.append(
        Figure(
            "gap (Double Descent, 1 known)",
            "ms",
            samples,
            "python -m bench.run",
            extra={"p50": p["p50"], "p95": p["p95"]},
        )
    )
    samples = [x * 1000 for x in repeat(lambda: finder.path("Transformer Architecture"), repeats * 5)]
    p = percentiles(samples)
    figs.append(
        Figure(
            "path (Transformer Architecture)",
            "ms",
            samples,
            "python -m bench.run",
            extra={"p50": p["p50"], "p95": p["p95"]},
        )
    )
    from retrieval.context import ContextBuilder

    builder = ContextBuilder(ws, svc)
    samples = []
    for _ in range(max(1, repeats // 4)):
        for q in qs:
            t = time.perf_counter()
            builder.build(q, budget=1500)
            samples.append((time.perf_counter() - t) * 1000)
    p = percentiles(samples)
    figs.append(
        Figure(
            "context pack (budget 1500, k=8)",
            "ms",
            samples,
            "ckg context QUESTION",
            extra={"p50": p["p50"], "p95": p["p95"]},
        )
    )
    c = ws.catalog.get("Double Descent")
    samples = [x * 1000 for x in repeat(lambda: svc.similar(c, k=10), repeats)]
    p = percentiles(samples)
    figs.append(
        Figure("similar (k=10)", "ms", samples, "python -m bench.run", extra={"p50": p["p50"], "p95": p["p95"]})
    )
    for name, params in (
        ("prerequisites", {"target": "Double Descent"}),
        ("minutes-per-layer", {}),
        ("stubs", {}),
        ("longest-chains", {}),
    ):
        text, _ = render_named(NAMED[name], params, ws)
        samples = [
            x * 1000 for x in repeat(lambda t=text: ws.store.query(t), 5 if name == "longest-chains" else repeats)
        ]
        p = percentiles(samples)
        figs.append(
            Figure(f"sparql {name}", "ms", samples, f"ckg sparql {name}", extra={"p50": p["p50"], "p95": p["p95"]})
        )
    return figs


def sparql_engines(ws, repeats: int = 3) -> list[Figure]:
    """The same closure and aggregation queries on pyoxigraph and on rdflib's engine."""
    merged = "https://ckg.example.org/graph/merged"
    closure = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{merged}> {{ ?a ckg:requires+ ?b }} }}"
    agg = (
        f"SELECT ?l (COUNT(?c) AS ?n) (SUM(?m) AS ?minutes) WHERE {{ GRAPH <{merged}> {{ ?c ckg:layer ?l . "
        "OPTIONAL { ?c ckg:studyMinutes ?m } } } GROUP BY ?l"
    )
    one = f"SELECT ?p WHERE {{ GRAPH <{merged}> {{ <https://ckg.example.org/concept/double-descent> ckg:requires+ ?p }} }}"
    from rdflib import Dataset

    ds = Dataset()
    ds.parse(data=ws.settings.dataset_path.read_bytes(), format="nquads")
    from kg.store import PREFIXES

    prologue = "".join(f"PREFIX {k}: <{v}>\n" for k, v in PREFIXES.items())
    figs = []
    for name, q in (
        ("closure of all concepts (requires+)", closure),
        ("closure of one concept", one),
        ("minutes per layer (GROUP BY)", agg),
    ):
        ox_t = [x * 1000 for x in repeat(lambda q=q: ws.store.query(q, limit=10**7), repeats * 5)]
        rd_t = [x * 1000 for x in repeat(lambda q=q: list(ds.query(prologue + q)), repeats)]
        figs.append(Figure(f"{name}: pyoxigraph", "ms", ox_t, "python -m bench.run"))
        figs.append(Figure(f"{name}: rdflib", "ms", rd_t, "python -m bench.run"))
    return figs


def cold_starts(home: Path, repeats: int = 5) -> list[Figure]:
    env = dict(os.environ, CKG_HOME=str(home), HF_HUB_OFFLINE="1")
    figs = []
    for args, name in (
        (["ckg", "gap", "Double Descent"], "ckg gap"),
        (["ckg", "path", "Double Descent"], "ckg path"),
        (["ckg", "sparql", "prerequisites", "-p", "target=Double Descent"], "ckg sparql prerequisites"),
        (["ckg", "show", "Double Descent"], "ckg show"),
    ):
        times, peak = process(args, repeats, env)
        figs.append(Figure(f"cold process: {name}", "s", times, " ".join(args), extra={"peak MiB": peak}))
    return figs

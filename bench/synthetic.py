"""Synthetic curricula at 1k / 10k / 100k concepts, pushed through the real pipeline.

The generator writes a theory-library.txt in the real format (layer/tier/minutes
headers, module headers, prerequisite slugs glued together with no separator),
so parsing, slug segmentation and resolution are measured as they run on the
real document. The other four sources are small excerpts of the real ones
(they must exist; ~20 concepts). The prerequisite DAG is layered: a topic
requires 0-4 topics of its own or shallower layers, chosen with preferential
attachment, which gives the real graph's shape (mean ~1.5 per topic with a
prerequisite line, a few hubs), within fields of 2,000 topics (a large
catalogue is many subjects; without fields, plans grew to 24k concepts at 100k). Vectors are random and normalised: encoding
cost is the model's and is measured on real text elsewhere.

Run one size in a fresh process (peak memory is that process's VmHWM):
``python -m bench.synthetic 10000 [DIR]`` (with DIR, the sources and build are
kept there for profiling); ``bench.run`` runs all three.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
LAYERS = ("0A", "0B", "1", "2", "3", "4", "5")
LAYER_SHARE = (0.10, 0.06, 0.08, 0.17, 0.23, 0.18, 0.18)  # roughly the real theory library's mix
FIELD = 2000  # topics per field (subject area)
_A = (
    "Sparse Robust Bayesian Spectral Stochastic Variational Adaptive Causal Convex Implicit Neural Latent "
    "Contrastive Adversarial Hierarchical Recurrent Gaussian Kernel Federated Differential Probabilistic "
    "Geometric Quantized Distributed Structured Online Offline Multimodal Equivariant Graph Temporal Bilevel "
    "Low-Rank Energy-Based Score-Based Mean-Field Information-Theoretic Nonparametric Monotone Discrete"
).split()
_B = (
    "Attention Regression Sampling Inference Optimization Estimation Decomposition Embedding Diffusion "
    "Transport Regularization Calibration Retrieval Compression Distillation Alignment Planning Control "
    "Clustering Factorization Filtering Smoothing Tokenization Normalization Routing Pruning Search Ranking "
    "Generalization Stability Robustness Exploration Coding Hashing Scheduling Sketching Averaging Boosting"
).split()
_C = (
    "Methods Theory Bounds Models Dynamics Algorithms Networks Processes Objectives Estimators Principles "
    "Geometry Limits Guarantees Heuristics Systems Operators Games Fields Flows Maps Kernels Spaces Losses "
    "Priors Posteriors Policies Agents Schedules Metrics"
).split()


def random_embedder():
    """An :class:`~retrieval.embed.Embedder` of deterministic random unit vectors (seeded by each text's hash).

    Built on demand so that importing this module does not import the retrieval package.
    """
    from retrieval.embed import Embedder

    class RandomEmbedder(Embedder):
        name = "synthetic-random"
        dim = 384

        def encode(self, texts: Sequence[str]) -> np.ndarray:
            out = np.empty((len(texts), self.dim), dtype=np.float32)
            for i, t in enumerate(texts):
                seed = int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest(), "little")
                v = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
                out[i] = v / np.linalg.norm(v)
            return out

    return RandomEmbedder()


def _titles(n: int, rng: random.Random) -> list[str]:
    combos = [f"{a} {b} {c}" for a in _A for b in _B for c in _C]
    rng.shuffle(combos)
    titles = combos[:n]
    k = 2
    while len(titles) < n:  # past the combinations: numbered variants, still unique
        titles += [f"{t} {k}" for t in combos[: n - len(titles)]]
        k += 1
    return titles


def _slug(title: str) -> str:
    return " ".join(w for w in title.lower().replace("-", " ").split())


def generate(n: int, directory: Path, seed: int = 0) -> dict[str, int]:
    """Write the five sources for ``n`` synthetic theory topics into ``directory``."""
    rng = random.Random(seed)
    titles = _titles(n, rng)
    layers: list[str] = []
    for code, share in zip(LAYERS, LAYER_SHARE, strict=True):
        layers += [code] * round(share * n)
    layers = (layers + ["5"] * n)[:n]
    order = {code: i for i, code in enumerate(LAYERS)}
    weight = [1.0] * n  # preferential attachment: requiring a topic makes it likelier to be required again
    # Topics belong to fields of ~FIELD topics (interleaved, so every field spans all layers) and require
    # topics of their own field: a catalogue of 100k concepts is many subjects, not one 100k-deep chain,
    # so a plan's size stays bounded as the catalogue grows (the real graph's largest closure is far smaller).
    fields = max(1, n // FIELD)
    earlier: list[list[int]] = [[] for _ in range(fields)]
    edges = 0
    lines = ["Synthetic theory library", "", f"{n} curriculum topics", ""]
    first_of_layer: dict[str, int] = {}
    for i, layer in enumerate(layers):
        first_of_layer.setdefault(layer, i)
        if i % 200 == 0:
            lines += [f"Synthetic Module {i // 200 + 1} (Layer {layer})", "", f"Topics {i} to {i + 199}.", ""]
        minutes = rng.choice(range(20, 95, 5))
        lines += [f"L{layer}Tier {rng.randint(1, 3)}~{minutes}m", "", titles[i], ""]
        lines.append(f"What {titles[i].lower()} studies, with definitions, results and examples ({i}).")
        pool = earlier[i % fields]  # earlier topics of this field: same or shallower layer (generated in order)
        k = 0 if order[layer] == 0 and i < first_of_layer[layer] + 5 else rng.choice((0, 1, 1, 1, 2, 2, 3, 4))
        if k and pool:
            chosen = set(rng.choices(pool, weights=[weight[j] for j in pool], k=k))
            for j in chosen:
                weight[j] += 1.0
            edges += len(chosen)
            lines += ["", "".join(_slug(titles[j]) for j in sorted(chosen))]
        else:
            lines.append("")
        pool.append(i)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "theory-library.txt").write_text("\n".join(lines) + "\n", "utf-8")
    src = REPO / "data" / "sources"
    for name, keep in (("concept-library.txt", 20), ("topic-wiki.txt", 12), ("working-notes.txt", 20)):
        (directory / name).write_text("\n".join(src.joinpath(name).read_text("utf-8").splitlines()[:keep]) + "\n")
    shutil.copy(src / "research-path.txt", directory / "research-path.txt")
    return {"topics": n, "edges_written": edges}


def measure(n: int, seed: int = 0, keep: Path | None = None) -> dict[str, object]:
    """Build a synthetic curriculum of ``n`` topics with the real ``ckg ingest`` code; time stages and queries.

    The build is :func:`kg.workspace.build` itself (staging directory, embedding
    cache, index, inference, every file a real build writes) with a random
    embedder in place of the model; queries go through a :class:`Workspace`
    opened on the result, as the CLI and server open it.
    """
    from ckg.config import Settings
    from kg.workspace import Workspace, build
    from retrieval.service import SearchService

    out: dict[str, object] = {"n": n}
    tmp = keep or Path(tempfile.mkdtemp(prefix=f"ckg-syn-{n}-"))
    try:
        t = time.perf_counter()
        out.update(generate(n, tmp / "sources", seed))
        out["generate_s"] = time.perf_counter() - t
        settings = Settings(home=tmp / "build", sources=tmp / "sources")
        embedder = random_embedder()
        t = time.perf_counter()
        outcome = build(settings, index=True, model=embedder)
        out["build_s"] = time.perf_counter() - t
        out["stages_s"] = outcome.stages
        out["inferred_edges"] = (outcome.inference or {}).get("edges", 0)
        out["build_rss_mib"] = _rss_mib("VmHWM")
        print(json.dumps(out), file=sys.stderr, flush=True)  # the build's figures even if a query stage stalls
        ws = Workspace(settings)
        t = time.perf_counter()
        catalog, graph = ws.catalog, ws.graph
        out["open_graph_s"] = time.perf_counter() - t
        t = time.perf_counter()
        store = ws.store
        store.query("ASK { ?s ?p ?o }")  # the store opened for real (it opens lazily)
        out["open_store_s"] = time.perf_counter() - t
        search = SearchService(ws, model=embedder)
        t = time.perf_counter()
        search.search("warm up")
        out["open_search_s"] = time.perf_counter() - t
        out["index_kind"] = search.index.manifest["kind"]
        out["concepts"] = len(catalog.concepts)
        out["edges"] = graph.g.number_of_edges()
        out["quads"] = outcome.quads
        out["latency_ms"], out["plan_size_p50"] = _latencies(ws, search, store)
        out["cold_cli_s"] = _cold_commands(settings.home, catalog)
    finally:
        if keep is None:
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def _cold_commands(home: Path, catalog) -> dict[str, float]:
    """Wall seconds of whole ``ckg`` commands as new processes (median of 3): what a user waits for."""
    from bench.timing import process

    target = next(c.label for c in catalog.concepts.values() if c.prerequisites)
    commands = {
        "show": ["show", target],
        "path": ["path", target],
        "sparql count": ["sparql", "SELECT (COUNT(*) AS ?n) WHERE { ?s ckg:requires ?o }"],
    }
    return {
        name: round(float(np.median(process(["ckg", *args, "--home", str(home)], 3)[0])), 2)
        for name, args in commands.items()
    }


def _rss_mib(field: str) -> float:
    line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith(field))
    return int(line.split()[1]) / 1024


def _latencies(ws, search, store) -> tuple[dict[str, float], float]:
    """Median latencies in ms, and the median number of concepts in the plans the gap latency is measured on."""
    from retrieval.gap import GapFinder

    finder = GapFinder(ws, search=search)  # asserted + inferred >= 0.3: what `ckg gap` plans over
    graph = ws.graph
    rng = random.Random(1)
    ids = sorted(ws.catalog.concepts)
    deep = [c for c in ids if graph.g.out_degree(c)]
    targets = rng.sample(deep, min(50, len(deep)))
    labels = [ws.catalog.concepts[c].label for c in rng.sample(ids, 50)]

    def p50(fn, items) -> float:
        samples = []
        for it in items:
            t = time.perf_counter()
            fn(it)
            samples.append((time.perf_counter() - t) * 1000)
        return float(np.median(samples))

    vectors = search.embedder.encode(labels)
    iri = ws.catalog.iri
    plan_size = float(np.median([len(finder.graph.prerequisites(t)) for t in targets]))
    return {
        "gap": p50(lambda t: finder.gap([t], set()), targets),
        "path": p50(finder.path, targets),
        "search (vector, k=10)": p50(lambda v: search.index.search(v, 10), vectors),
        "search (hybrid, k=10)": p50(lambda q: search.search(q, k=10), labels),
        "sparql closure of one concept": p50(
            lambda t: store.query(f"SELECT ?p WHERE {{ <{iri(t)}> ckg:requires+ ?p }}"), targets
        ),
    }, plan_size


def main(argv: list[str]) -> None:
    n = int(argv[0]) if argv else 1000
    result = measure(n, keep=Path(argv[1]) if len(argv) > 1 else None)
    result["peak_rss_mib"] = _rss_mib("VmHWM")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])


def section(sizes: Sequence[int] = (1000, 10_000, 100_000), timeout_s: int = 3600) -> str:
    """Run each size in its own process and render the BENCHMARKS.md section with growth exponents."""
    import subprocess

    results = []
    for n in sizes:
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "bench.synthetic", str(n)],
                capture_output=True,
                text=True,
                timeout=timeout_s,
                cwd=REPO,
                check=True,
            )
            results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        except (subprocess.SubprocessError, json.JSONDecodeError) as exc:
            results.append({"n": n, "error": f"{type(exc).__name__}: {str(exc)[:200]}"})
    return render(results)


def _exponent(results: list[dict], get: Callable[[dict], float]) -> str:
    pts = [(r["concepts"], get(r)) for r in results if "error" not in r and get(r) > 0]
    if len(pts) < 2:
        return "n/a"
    x = np.log([p[0] for p in pts])
    y = np.log([p[1] for p in pts])
    return f"{np.polyfit(x, y, 1)[0]:.2f}"


def render(results: list[dict]) -> str:
    ok = [r for r in results if "error" not in r]
    lines = [
        "## Synthetic scaling (1k / 10k / 100k concepts)",
        "",
        "Generated theory libraries in the real text format (glued prerequisite slugs included), built by "
        "`kg.workspace.build` itself - the code `ckg ingest` runs, staging directory and every output file included - "
        "with a random embedder (normalised 384-d vectors) in place of the model; queries through a `Workspace` "
        "opened on the result. Each size runs in a fresh process: `python -m bench.synthetic N` (one JSON line). "
        "Latencies are medians over 50 random targets/queries (gap and path plan over asserted + inferred edges at "
        "the default confidence 0.3); growth exponent = slope of log(cost) against log(concepts).",
        "",
        "| concepts | edges | quads | index | build (s) | peak RSS (MiB) | plan size p50 | gap p50 (ms) | path p50 (ms) | "
        "vector search p50 (ms) | hybrid search p50 (ms) | SPARQL closure p50 (ms) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['n']} (topics) | failed: {r['error']} | | | | | | | | | | |")
            continue
        lat = r["latency_ms"]
        lines.append(
            f"| {r['concepts']} | {r['edges']} | {r['quads']} | {r['index_kind']} | {r['build_s']:.1f} | "
            f"{r['peak_rss_mib']:.0f} | {r['plan_size_p50']:.0f} | {lat['gap']:.2f} | {lat['path']:.2f} | {lat['search (vector, k=10)']:.2f} | "
            f"{lat['search (hybrid, k=10)']:.2f} | {lat['sparql closure of one concept']:.2f} |"
        )
    if ok:
        stages = list(ok[0]["stages_s"])
        lines += [
            "",
            "Build stages (s), as `BuildOutcome.stages` reports them:",
            "",
            "| stage | " + " | ".join(str(r["concepts"]) for r in ok) + " | exponent |",
        ]
        lines.append("|---|" + "---|" * (len(ok) + 1))
        for st in stages:
            lines.append(
                f"| {st} | "
                + " | ".join(f"{r['stages_s'].get(st, 0.0):.2f}" for r in ok)
                + f" | {_exponent(ok, lambda r, st=st: r['stages_s'].get(st, 0.0))} |"
            )
        lines += [
            "",
            "Opening the build for queries (s): "
            + "; ".join(
                f"{r['concepts']}: graph {r['open_graph_s']:.1f}, store {r['open_store_s']:.1f}, "
                f"search {r['open_search_s']:.1f}"
                for r in ok
            )
            + ".",
            "",
            f"Growth exponents: build {_exponent(ok, lambda r: r['build_s'])}, peak memory "
            f"{_exponent(ok, lambda r: r['peak_rss_mib'])}, gap {_exponent(ok, lambda r: r['latency_ms']['gap'])}, "
            f"vector search {_exponent(ok, lambda r: r['latency_ms']['search (vector, k=10)'])}, hybrid search "
            f"{_exponent(ok, lambda r: r['latency_ms']['search (hybrid, k=10)'])}.",
            "",
        ]
    return "\n".join(lines)

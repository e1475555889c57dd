"""Synthetic curricula at 1k / 10k / 100k concepts, pushed through the real pipeline.

The generator writes a theory-library.txt in the real format (layer/tier/minutes
headers, module headers, prerequisite slugs glued together with no separator),
so parsing, slug segmentation and resolution are measured as they run on the
real document. The other four sources are small excerpts of the real ones
(they must exist; ~20 concepts). The prerequisite DAG is layered: a topic
requires 0-4 topics of its own or shallower layers, chosen with preferential
attachment, which gives the real graph's shape (mean ~1.5 per topic with a
prerequisite line, a few hubs). Vectors are random and normalised: encoding
cost is the model's and is measured on real text elsewhere.

Run one size in a fresh process (peak memory is that process's VmHWM):
``python -m bench.synthetic 10000``; ``bench.run`` runs all three.
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


class RandomEmbedder:
    """Deterministic random unit vectors per text (seeded by its hash): indexing cost without the model."""

    name = "synthetic-random"
    dim = 384

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest(), "little")
            v = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
            out[i] = v / np.linalg.norm(v)
        return out


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
        pool_end = i  # topics before i: same or shallower layer (layers are generated in order)
        k = 0 if order[layer] == 0 and i < first_of_layer[layer] + 5 else rng.choice((0, 1, 1, 1, 2, 2, 3, 4))
        if k and pool_end:
            lo = max(0, pool_end - 5000)  # keep the draw cheap; recent topics dominate anyway
            chosen = set(rng.choices(range(lo, pool_end), weights=weight[lo:pool_end], k=k))
            for j in chosen:
                weight[j] += 1.0
            edges += len(chosen)
            lines += ["", "".join(_slug(titles[j]) for j in sorted(chosen))]
        else:
            lines.append("")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "theory-library.txt").write_text("\n".join(lines) + "\n", "utf-8")
    src = REPO / "data" / "sources"
    for name, keep in (("concept-library.txt", 20), ("topic-wiki.txt", 12), ("working-notes.txt", 20)):
        (directory / name).write_text("\n".join(src.joinpath(name).read_text("utf-8").splitlines()[:keep]) + "\n")
    shutil.copy(src / "research-path.txt", directory / "research-path.txt")
    return {"topics": n, "edges_written": edges}


def measure(n: int, seed: int = 0) -> dict[str, object]:
    """Build a synthetic curriculum of ``n`` topics through every stage, timing each; query latencies."""
    from ckg.config import Settings
    from ingest.pipeline import run
    from kg.build import build_quads, to_nquads
    from kg.catalog import Catalog
    from kg.graph import PrereqGraph
    from kg.infer import infer
    from kg.store import GraphStore
    from retrieval.embed import concept_text
    from retrieval.index import VectorIndex

    out: dict[str, object] = {"n": n}
    tmp = Path(tempfile.mkdtemp(prefix=f"ckg-syn-{n}-"))
    try:
        t = time.perf_counter()
        out.update(generate(n, tmp / "sources", seed))
        out["generate_s"] = time.perf_counter() - t
        stages: dict[str, float] = {}

        def stage(name: str, fn):
            t0 = time.perf_counter()
            value = fn()
            stages[name] = time.perf_counter() - t0
            return value

        ingest = stage("parse + resolve", lambda: run(tmp / "sources"))
        base = "https://ckg.example.org/"
        quads = stage("RDF build", lambda: build_quads(ingest, base))
        data = stage("N-Quads serialisation", lambda: to_nquads(quads))
        settings = Settings(home=tmp / "build", sources=tmp / "sources")
        settings.home.mkdir(parents=True)
        stage("write dataset", lambda: settings.dataset_path.write_bytes(data))
        store = stage("load store", lambda: GraphStore.load(settings.dataset_path))
        catalog = stage("catalog from graph", lambda: Catalog(store, base))
        ids = sorted(catalog.concepts)
        texts = [concept_text(catalog.concepts[i]) for i in ids]
        vectors = stage("random vectors", lambda: RandomEmbedder().encode(texts))
        index = stage(
            "vector index (flat < 50k <= HNSW)",
            lambda: VectorIndex.build(ids, vectors, model="synthetic-random", template_hash="", concept_hash=""),
        )
        edges = [(e.source, e.target) for e in catalog.edges()]
        stage("inference", lambda: infer(catalog.concepts, edges, ids, vectors))
        graph = PrereqGraph(edges, catalog.concepts)
        out["stages_s"] = stages
        out["build_s"] = sum(stages.values())
        out["concepts"] = len(catalog.concepts)
        out["edges"] = len(edges)
        out["quads"] = len(store)
        out["latency_ms"] = _latencies(catalog, graph, store, index, vectors, ids)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _latencies(catalog, graph, store, index, vectors, ids) -> dict[str, float]:
    from retrieval.gap import GapFinder

    class _WS:  # the parts of a Workspace the gap finder touches
        pass

    ws = _WS()
    ws.catalog, ws.graph = catalog, graph
    ws.planning_graph = lambda _c: graph
    finder = GapFinder(ws, asserted_only=True)
    rng = random.Random(1)
    deep = [c for c in ids if graph.g.out_degree(c)]
    targets = rng.sample(deep, min(50, len(deep)))

    def p50(fn, items) -> float:
        samples = []
        for it in items:
            t = time.perf_counter()
            fn(it)
            samples.append((time.perf_counter() - t) * 1000)
        return float(np.median(samples))

    q = vectors[rng.sample(range(len(ids)), 50)]
    iri = catalog.iri
    return {
        "gap": p50(lambda t: finder.gap([t], set()), targets),
        "path": p50(finder.path, targets),
        "search (vector, k=10)": p50(lambda v: index.search(v, 10), q),
        "sparql closure of one concept": p50(
            lambda t: store.query(f"SELECT ?p WHERE {{ <{iri(t)}> ckg:requires+ ?p }}"), targets
        ),
    }


def main(argv: list[str]) -> None:
    n = int(argv[0]) if argv else 1000
    result = measure(n)
    hwm = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith("VmHWM"))
    result["peak_rss_mib"] = int(hwm.split()[1]) / 1024
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
        "Generated theory libraries in the real text format (glued prerequisite slugs included) through the real "
        "parse, resolve, RDF, store, catalog, index and inference code; random normalised 384-d vectors. Each size "
        "runs in a fresh process: `python -m bench.synthetic N` (one JSON line). Latencies are medians over 50 "
        "random targets/queries; growth exponent = slope of log(cost) against log(concepts) over the sizes measured.",
        "",
        "| concepts | edges | quads | build (s) | peak RSS (MiB) | gap p50 (ms) | path p50 (ms) | vector search p50 (ms) | SPARQL closure p50 (ms) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['n']} (topics) | failed: {r['error']} | | | | | | | |")
            continue
        lat = r["latency_ms"]
        lines.append(
            f"| {r['concepts']} | {r['edges']} | {r['quads']} | {r['build_s']:.1f} | {r['peak_rss_mib']:.0f} | "
            f"{lat['gap']:.2f} | {lat['path']:.2f} | {lat['search (vector, k=10)']:.3f} | "
            f"{lat['sparql closure of one concept']:.2f} |"
        )
    if ok:
        stages = list(ok[0]["stages_s"])
        lines += [
            "",
            "Build stages (s):",
            "",
            "| stage | " + " | ".join(str(r["concepts"]) for r in ok) + " | exponent |",
        ]
        lines.append("|---|" + "---|" * (len(ok) + 1))
        for st in stages:
            lines.append(
                f"| {st} | "
                + " | ".join(f"{r['stages_s'][st]:.2f}" for r in ok)
                + f" | {_exponent(ok, lambda r, st=st: r['stages_s'][st])} |"
            )
        lines += [
            "",
            f"Growth exponents: build {_exponent(ok, lambda r: r['build_s'])}, peak memory "
            f"{_exponent(ok, lambda r: r['peak_rss_mib'])}, gap {_exponent(ok, lambda r: r['latency_ms']['gap'])}, "
            f"vector search {_exponent(ok, lambda r: r['latency_ms']['search (vector, k=10)'])}.",
            "",
        ]
    return "\n".join(lines)

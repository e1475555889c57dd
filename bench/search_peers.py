"""ckg's search against txtai's hybrid search on the same concept texts and queries, in one run (issue #12).

txtai 9 with its default hybrid settings (BM25 + dense, convex fusion), the same
MiniLM model directory and, per concept, the same texts ckg indexes: every label
and every source's description (``Concept.descriptions``). Quality
on the held-out gold set (``data/eval/search.jsonl``, dev and test reported
apart; only dev was used to choose ckg's fusion weights) and warm latency.

    python -m bench.search_peers          # prints the section; make bench writes it into BENCHMARKS.md
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

GOLD = Path(__file__).resolve().parent.parent / "data" / "eval" / "search.jsonl"
KEYS = ("recall_at_1", "recall_at_5", "recall_at_10", "mrr", "ndcg_at_10")


def txtai_search(ws: Any) -> Callable[[str, int], list[str]]:
    """A txtai hybrid index over the same concept texts; returns a search function."""
    from txtai import Embeddings

    from retrieval.embed import resolve_model_path

    embeddings = Embeddings(path=str(resolve_model_path("all-MiniLM-L6-v2")), hybrid=True, content=False)
    concepts = sorted(ws.catalog.concepts.values(), key=lambda c: c.id)
    texts = {c.id: ". ".join([c.label, *c.alt_labels, *(d for d, _ in c.descriptions())]) for c in concepts}
    embeddings.index([(cid, text, None) for cid, text in texts.items() if not ws.catalog.concepts[cid].stub])

    def search(query: str, k: int) -> list[str]:
        return [str(hit[0]) for hit in embeddings.search(query, k)]

    return search


def judge(search: Callable[[str, int], list[str]], gold: list[Any]) -> tuple[dict[str, dict[str, float]], list[float]]:
    """Mean metrics per split (and all) and per-query latencies in ms."""
    from retrieval.evaluate import metrics

    per: dict[str, list[dict[str, float]]] = {}
    latencies = []
    for g in gold:
        t = time.perf_counter()
        ranked = search(g.query, 10)
        latencies.append((time.perf_counter() - t) * 1000)
        m = metrics(ranked, set(g.relevant))
        per.setdefault(g.split, []).append(m)
        per.setdefault("all", []).append(m)
    means = {split: {k: sum(m[k] for m in ms) / len(ms) for k in KEYS} for split, ms in per.items()}
    return means, latencies


def run(ws: Any) -> tuple[dict[str, dict[str, dict[str, float]]], dict[str, float]]:
    from retrieval.evaluate import load_gold
    from retrieval.service import SearchService

    gold = load_gold(GOLD)
    resolve = ws.catalog.resolve_gold
    gold = [g.model_copy(update={"relevant": [resolve(r) or r for r in g.relevant]}) for g in gold]
    svc = SearchService(ws)
    svc.search("warm up", k=10)
    systems: dict[str, Callable[[str, int], list[str]]] = {
        f"ckg {mode}": (lambda q, k, mode=mode: [h.id for h in svc.search(q, mode=mode, k=k)])
        for mode in ("hybrid", "dense", "lexical")
    }
    quality, latency = {}, {}
    for name, fn in [*systems.items(), ("txtai hybrid (defaults)", None)]:
        if fn is None:  # built last: its torch threads would slow ckg's encoder in the same process
            fn = txtai_search(ws)
            fn("warm up", 10)
        quality[name], _ = judge(fn, gold)
        _, ms2 = judge(fn, gold)  # a second pass: warm caches, the latency reported
        latency[name] = statistics.median(ms2)
    return quality, latency


def section(ws: Any) -> str:
    quality, latency = run(ws)
    lines = [
        "## Search against txtai (held-out gold set, `python -m bench.search_peers`)",
        "",
        "`data/eval/search.jsonl` (147 queries: paraphrases, paraphrases of a second source's wording, acronyms; "
        "see its README). ckg's fusion weights were chosen on training queries only (the first batch's dev split "
        "+ gold.jsonl; the second batch, lines 98-147, came later and was not used); "
        "the test split is the result. "
        "txtai 9 runs with its default hybrid settings, the same MiniLM model and the same texts per concept.",
        "",
        "| system | split | R@1 | R@5 | R@10 | MRR | nDCG@10 | warm p50 ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, splits in quality.items():
        for split in ("test", "dev", "all"):
            m = splits.get(split)
            if m:
                lines.append(
                    f"| {name} | {split} | {m['recall_at_1']:.3f} | {m['recall_at_5']:.3f} | {m['recall_at_10']:.3f} | "
                    f"{m['mrr']:.3f} | {m['ndcg_at_10']:.3f} | {latency[name]:.1f} |"
                )
    ours, peer = quality["ckg hybrid"]["test"], quality["txtai hybrid (defaults)"]["test"]
    lines += [
        "",
        f"Test split, ckg hybrid / txtai hybrid: R@5 {ours['recall_at_5'] / peer['recall_at_5']:.3f}x, "
        f"MRR {ours['mrr'] / peer['mrr']:.3f}x; ckg lexical / txtai: R@5 "
        f"{quality['ckg lexical']['test']['recall_at_5'] / peer['recall_at_5']:.3f}x; "
        f"warm latency ckg hybrid / txtai: {latency['ckg hybrid'] / latency['txtai hybrid (defaults)']:.2f}x.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    import tempfile

    from ckg.config import Settings
    from kg.workspace import Workspace, build

    home = os.environ.get("CKG_HOME")
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(home=Path(home)) if home else Settings(home=Path(tmp) / "build")
        if not home:
            build(settings, index=True)
        print(section(Workspace(settings)))


if __name__ == "__main__":
    main()

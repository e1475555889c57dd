"""Run every benchmark and rewrite BENCHMARKS.md (``make bench``)."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bench import real_data
from bench.timing import Figure, peak_rss_mib

REPO = Path(__file__).resolve().parent.parent


def table(title: str, figs: list[Figure], intro: str = "") -> str:
    head = f"## {title}\n\n{intro}\n\n" if intro else f"## {title}\n\n"
    rows = "\n".join(f.row() for f in figs)
    return (
        head
        + "| what | min / median / max | percentiles, extras | reproduce | note |\n|---|---|---|---|---|\n"
        + rows
        + "\n"
    )


def main() -> None:
    from ckg.config import Settings
    from kg.workspace import Workspace, build

    started = time.time()
    sections = []
    print("ingest stages …", file=sys.stderr)
    stages = real_data.ingest_stages()
    sections.append(
        table(
            "Ingest on the real data",
            stages,
            "Stages measured in-process, repeated; the embedding step is the model's cost.",
        )
    )
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(home=Path(tmp) / "build")
        build(settings, index=True)
        ws = Workspace(settings)
        print("queries …", file=sys.stderr)
        sections.append(
            table(
                "In-process latency (warm)",
                real_data.queries(ws),
                "Five queries (acronym, paraphrase, topic, research question, phrase) × 20.",
            )
        )
        print("sparql engines …", file=sys.stderr)
        sections.append(
            table(
                "SPARQL: pyoxigraph vs rdflib",
                real_data.sparql_engines(ws),
                "The same queries over the same dataset; rdflib's engine in-process.",
            )
        )
        print("load with an abusive query, kill -9 of ingest …", file=sys.stderr)
        from bench import hardening

        sections.append(hardening.section(settings.home))
        print("SPARQL against the Oxigraph server …", file=sys.stderr)
        from bench import store_peers

        sections.append(store_peers.section(settings.home))
        print("browser pages …", file=sys.stderr)
        from bench import pages

        sections.append(pages.section(settings.home))
        print("inference quality …", file=sys.stderr)
        from bench import inference

        sections.append(inference.section(ws))
        print("cold starts …", file=sys.stderr)
        sections.append(table("Cold start of graph commands (new process)", real_data.cold_starts(settings.home)))
        from bench import cold_start

        sections.append(cold_start.section(settings.home))
        print("search against txtai …", file=sys.stderr)
        from bench import search_peers

        sections.append(search_peers.section(ws))
        try:
            from retrieval.evaluate import evaluate, load_gold

            report = evaluate(ws, load_gold())
            lines = [
                "## Search quality, regression set (`ckg eval`)",
                "",
                f"{report.modes[0].queries} hand-built queries in `data/eval/gold.jsonl` (see its README; part of "
                "the training queries of the fusion weights, so optimistic for hybrid).",
                "",
                "| mode | recall@1 | recall@5 | recall@10 | MRR | nDCG@10 |",
                "|---|---|---|---|---|---|",
            ]
            for m in report.modes:
                lines.append(
                    f"| {m.mode} | {m.recall_at_1:.3f} | {m.recall_at_5:.3f} | {m.recall_at_10:.3f} | "
                    f"{m.mrr:.3f} | {m.ndcg_at_10:.3f} |"
                )
            sections.append("\n".join(lines) + "\n")
        except Exception as exc:
            sections.append(f"## Search quality\n\nnot measured: {exc}\n")
    sizes = tuple(int(x) for x in os.environ.get("CKG_BENCH_SIZES", "1000,10000,100000").split(","))
    print(f"synthetic scaling {sizes} …", file=sys.stderr)
    from bench import synthetic

    sections.append(synthetic.section(sizes))
    header = (
        "# Benchmarks\n\n"
        f"Machine: {real_data.machine()}.\n\n"
        "Regenerate everything with `make bench` (`python -m bench.run`); each row names what reproduces it. "
        "Times are min / median / max over the repeats shown; latency rows add p50/p95 over all samples.\n\n"
        f"Peak RSS of the benchmark process: {peak_rss_mib():.0f} MiB. Total bench time: "
        f"{time.time() - started:.0f} s.\n\n"
    )
    (REPO / "BENCHMARKS.md").write_text(header + "\n".join(sections), "utf-8")
    print("wrote BENCHMARKS.md", file=sys.stderr)


if __name__ == "__main__":
    main()

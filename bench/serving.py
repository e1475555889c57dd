"""HTTP latency under concurrency: 8 loopback clients against a real uvicorn server."""

from __future__ import annotations

import threading
import time
from typing import Any

from bench.timing import Figure, percentiles

CLIENTS = 8
QUERIES = [
    "GQA",
    "why divide dot products by the square root of the dimension",
    "diffusion models",
    "Compare PPO and DPO for RLHF.",
    "concentration inequalities for sums",
]
GAP_TARGETS = ["Double Descent", "Cramér-Rao Bound", "Transformer Architecture", "BM25", "Batch Normalization"]


def _load(url: str, request: Any, per_client: int) -> tuple[list[float], int, float]:
    import httpx

    samples: list[float] = []
    errors = 0
    lock = threading.Lock()

    def worker(n: int) -> None:
        nonlocal errors
        with httpx.Client(base_url=url, timeout=60) as c:
            for i in range(per_client):
                t = time.perf_counter()
                r = request(c, n + i)
                dt = (time.perf_counter() - t) * 1000
                with lock:
                    samples.append(dt)
                    errors += r.status_code != 200

    start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return samples, errors, time.perf_counter() - start


def concurrent(settings: Any, per_client: int = 40) -> list[Figure]:
    from server.app import Services, create_app, running

    figs = []
    with running(create_app(settings, Services(settings))) as url:
        cases = {
            "/v1/search (hybrid, k=10)": lambda c, i: c.get("/v1/search", params={"q": QUERIES[i % len(QUERIES)]}),
            "/v1/gap (1 target)": lambda c, i: c.post("/v1/gap", json={"targets": [GAP_TARGETS[i % len(GAP_TARGETS)]]}),
        }
        for name, request in cases.items():
            _load(url, request, 3)  # warm up
            samples, errors, wall = _load(url, request, per_client)
            p = percentiles(samples)
            figs.append(
                Figure(
                    f"{name}, {CLIENTS} concurrent clients",
                    "ms",
                    samples,
                    "python -m bench.run",
                    note=f"{len(samples)} requests, {errors} errors, {len(samples) / wall:.0f} req/s",
                    extra={"p50": p["p50"], "p99": p["p99"]},
                )
            )
    return figs

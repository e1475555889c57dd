"""Load with and without an abusive query, and ``kill -9`` of ingest at several moments (issue #16).

Everything is bounded and on loopback: the server is ``ckg serve`` in its own
process on 127.0.0.1, clients are threads of this process, each run lasts
``SECONDS``; the abusive query is a SPARQL cross join that only the 10 s time
limit ends (the worker that runs it is killed; the server answers 408).

    python -m bench.hardening          # prints the section (about 8 minutes)
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.timing import Figure, percentiles

SECONDS = 30
QUERIES = ["GQA", "why divide dot products by the square root of the dimension", "diffusion models", "PPO vs DPO"]
GAP_TARGETS = ["Double Descent", "Cramér-Rao Bound", "Transformer Architecture", "BM25", "Batch Normalization"]
SPARQL = "SELECT (COUNT(?c) AS ?n) WHERE { ?c a ckg:Concept ; ckg:layer ?l }"
ABUSIVE = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?p ?b . ?c ?q ?d . ?e ?r ?f }"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(home: Path) -> tuple[subprocess.Popen, str]:
    import httpx

    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "-q", "serve", "--home", str(home), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("ckg serve did not start within 60 s")


def load(url: str, request: Callable[[Any, int], Any], clients: int, seconds: float) -> tuple[list[float], int, float]:
    import httpx

    samples: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def worker(n: int) -> None:
        nonlocal errors
        i = n
        with httpx.Client(base_url=url, timeout=60) as c:
            while time.perf_counter() < stop:
                t = time.perf_counter()
                try:
                    ok = request(c, i).status_code == 200
                except httpx.HTTPError:
                    ok = False
                with lock:
                    samples.append((time.perf_counter() - t) * 1000)
                    errors += not ok
                i += clients

    start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return samples, errors, time.perf_counter() - start


def _abuse(url: str, stop: threading.Event, statuses: list[int]) -> None:
    import httpx

    with httpx.Client(base_url=url, timeout=60) as c:
        while not stop.is_set():
            statuses.append(c.get("/sparql", params={"query": ABUSIVE}).status_code)


def load_figures(home: Path, seconds: float = SECONDS) -> list[Figure]:
    cases: dict[str, Callable[[Any, int], Any]] = {
        "/v1/search": lambda c, i: c.get("/v1/search", params={"q": QUERIES[i % len(QUERIES)]}),
        "/v1/gap": lambda c, i: c.post("/v1/gap", json={"targets": [GAP_TARGETS[i % len(GAP_TARGETS)]]}),
        "/sparql": lambda c, i: c.get("/sparql", params={"query": SPARQL}),
    }
    proc, url = serve(home)
    figs = []
    try:
        for abusive in (False, True):
            stop, statuses = threading.Event(), []
            abuser = threading.Thread(target=_abuse, args=(url, stop, statuses)) if abusive else None
            if abuser:
                abuser.start()
            for clients in (8, 32):
                for name, request in cases.items():
                    load(url, request, clients, 2)  # warm up
                    samples, errors, wall = load(url, request, clients, seconds)
                    p = percentiles(samples)
                    figs.append(
                        Figure(
                            f"{name}, {clients} clients{' + abusive query' if abusive else ''}",
                            "ms",
                            samples,
                            "python -m bench.hardening",
                            note=f"{len(samples)} requests in {wall:.0f} s, {errors} errors, "
                            f"{len(samples) / wall:.0f} req/s",
                            extra={"p50": p["p50"], "p99": p["p99"]},
                        )
                    )
            if abuser:
                stop.set()
                abuser.join()
                figs[-1].note += f"; abusive query answered {sorted(set(statuses))} ({len(statuses)} times)"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    return figs


def kill_during_ingest(home: Path, moments: tuple[float, ...] = (0.5, 2.0, 5.0, 10.0, 20.0)) -> list[str]:
    """``kill -9`` of ``ckg ingest`` after each moment; the home must still open, whole (old or new)."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "build"
        shutil.copytree(home, target)
        before = (target / "build.json").read_bytes()
        for moment in moments:
            proc = subprocess.Popen(
                [sys.executable, "-m", "cli.main", "-q", "ingest", "--home", str(target)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(moment)
            finished = proc.poll() is not None
            if not finished:
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            check = subprocess.run(
                [sys.executable, "-m", "cli.main", "-q", "validate", "--home", str(target), "-f", "json"],
                capture_output=True,
                text=True,
            )
            same = (target / "build.json").read_bytes() == before
            leftovers = [p.name for p in target.parent.iterdir() if ".staging." in p.name]
            rows.append(
                f"| {moment:.1f} s | {'finished first' if finished else 'killed'} | "
                f"{'previous build' if same else 'new build'} | validate exit {check.returncode} | "
                f"{len(leftovers)} staging dir(s) left, removed by the next ingest |"
            )
        again = subprocess.run(
            [sys.executable, "-m", "cli.main", "-q", "ingest", "--home", str(target)], capture_output=True, text=True
        )
        leftovers = [p.name for p in target.parent.iterdir() if ".staging." in p.name]
        rows.append(f"| next ingest | exit {again.returncode} | new build | | {len(leftovers)} staging dir(s) left |")
    return rows


def section(home: Path) -> str:
    from bench.run import table

    figs = load_figures(home)
    kills = kill_during_ingest(home)
    return (
        table(
            "HTTP under load, with and without an abusive query (loopback, `python -m bench.hardening`)",
            figs,
            f"`ckg serve` in its own process; 8 and 32 client threads for {SECONDS} s per endpoint, after a 2 s "
            "warm-up; with the abusive query, one more client sends a cross join that only the 10 s limit ends, "
            "over and over, during all the runs.",
        )
        + "\n## kill -9 of ingest (`python -m bench.hardening`)\n\n"
        "A copy of a real build; `ckg ingest` into it is killed with SIGKILL after each moment, then "
        "`ckg validate` opens it.\n\n| moment | ingest | build found | check | staging |\n|---|---|---|---|---|\n"
        + "\n".join(kills)
        + "\n"
    )


def main() -> None:
    home = Path(os.environ.get("CKG_HOME", "data/build"))
    print(section(home))


if __name__ == "__main__":
    main()

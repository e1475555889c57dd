"""ckg's /sparql against the Oxigraph server on the same dataset, and ckg answering from that server (issue #14).

Three endpoints on loopback, one at a time, each asked the same three queries over HTTP with one
keep-alive client (``REPEATS`` timed requests after ``WARMUP``):

* ``oxigraph serve-read-only --union-default-graph`` over a store loaded with the build's dataset;
* ``ckg serve`` with its embedded store (each query in the sandbox's forked child);
* ``ckg serve --store URL`` over a read-write ``oxigraph serve`` the build was published to.

    python -m bench.store_peers      # prints the section (a few minutes)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench.hardening import _free_port
from bench.timing import Figure

REPEATS = 30
WARMUP = 3
OXIGRAPH = Path(sys.executable).parent / "oxigraph"
PREFIXES = "PREFIX ckg: <https://w3id.org/ckg/vocab#> PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
QUERIES = {
    "closure of one concept": "SELECT ?p WHERE { <https://ckg.example.org/concept/double-descent> ckg:requires+ ?p }",
    "COUNT(*)": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
    "label FILTER": 'SELECT ?c ?l WHERE { ?c skos:prefLabel ?l FILTER(CONTAINS(LCASE(?l), "gradient")) }',
}


def _wait(url: str, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up in {seconds} s")


@contextmanager
def _running(args: list[str], ready: str) -> Iterator[None]:
    """A server process, up (``ready`` answers) for the block, stopped after it."""
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(ready)
        yield
    finally:
        proc.terminate()
        proc.wait()


def _time(url: str) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    with httpx.Client(timeout=60) as c:
        for name, query in QUERIES.items():
            times = []
            for n in range(WARMUP + REPEATS):
                start = time.perf_counter()
                r = c.post(url, data={"query": PREFIXES + query}, headers={"accept": "application/sparql-results+json"})
                r.raise_for_status()
                if n >= WARMUP:
                    times.append((time.perf_counter() - start) * 1000)
            out[name] = times
    return out


def figures(home: Path) -> list[Figure]:
    dataset = home / "dataset.nq"
    results: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="ckg-store-bench-") as tmp:
        # 1. Oxigraph's own server, read-only, over the same quads.
        ro = Path(tmp) / "ro"
        subprocess.run(
            [str(OXIGRAPH), "load", "--location", str(ro), "--file", str(dataset)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        ro_server = [str(OXIGRAPH), "serve-read-only", "--location", str(ro), "--bind", f"127.0.0.1:{port}"]
        with _running([*ro_server, "--union-default-graph"], f"{url}/query?query=ASK%7B%7D"):
            results["oxigraph"] = _time(f"{url}/query")
        # 2. ckg with its embedded store.
        port = _free_port()
        api = f"http://127.0.0.1:{port}"
        ckg = [sys.executable, "-m", "cli.main", "-q", "serve", "--home", str(home)]
        with _running([*ckg, "--port", str(port)], f"{api}/v1/health"):
            results["ckg"] = _time(f"{api}/sparql")
        # 3. ckg answering from a read-write Oxigraph server it published to.
        sport = _free_port()
        store = f"http://127.0.0.1:{sport}"
        rw_server = [str(OXIGRAPH), "serve", "--location", str(Path(tmp) / "rw"), "--bind", f"127.0.0.1:{sport}"]
        with _running(rw_server, f"{store}/query?query=ASK%7B%7D"):
            start = time.perf_counter()
            publish = [sys.executable, "-m", "cli.main", "-q", "publish", "--store", store, "--home", str(home)]
            subprocess.run(publish, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            publish_s = time.perf_counter() - start
            port = _free_port()
            api = f"http://127.0.0.1:{port}"
            with _running([*ckg, "--port", str(port), "--store", store], f"{api}/v1/health"):
                results["ckg --store"] = _time(f"{api}/sparql")
    out = []
    for name in QUERIES:
        base = statistics.median(results["oxigraph"][name])
        for who in ("oxigraph", "ckg", "ckg --store"):
            v = results[who][name]
            ratio = "" if who == "oxigraph" else f"{statistics.median(v) / base:.2f}x Oxigraph's median"
            out.append(Figure(f"{name}: {who}", "ms", v, "python -m bench.store_peers", note=ratio))
    out.append(
        Figure(
            "publish the build to Oxigraph (one transaction, 92k triples)",
            "s",
            [publish_s],
            "python -m bench.store_peers",
            note="`ckg publish --store URL` as a new process",
        )
    )
    return out


def section(home: Path) -> str:
    from bench.run import table

    return table(
        "SPARQL: ckg /sparql vs the Oxigraph server (`python -m bench.store_peers`)",
        figures(home),
        f"The same dataset and queries over loopback HTTP, one keep-alive client, {REPEATS} requests after "
        f"{WARMUP} warm-ups; JSON results. Oxigraph: `oxigraph serve-read-only --union-default-graph`. "
        "ckg: `ckg serve` (each user query evaluated by a sandbox worker). "
        "ckg --store: `ckg serve --store URL` over `oxigraph serve`, after `ckg publish`.",
    )


def main() -> None:
    print(section(Path(os.environ.get("CKG_HOME", "data/build"))))


if __name__ == "__main__":
    main()

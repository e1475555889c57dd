"""A shared SPARQL store (kg/remote.py): publish to a live Oxigraph server and answer from it (issue #14).

The real Oxigraph server (the ``oxigraph`` package on PyPI ships it; ``make test`` installs it) is
started on a free loopback port with a fresh on-disk store and stopped after the module.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from ckg.config import Settings
from ckg.errors import CkgError
from cli.app import app
from kg.remote import META_GRAPH, RemoteStore, StoreError
from kg.workspace import Workspace

pytestmark = pytest.mark.slow

OXIGRAPH = Path(sys.executable).parent / "oxigraph"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
PER_GRAPH = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not come up in {seconds} s")


@pytest.fixture(scope="module")
def oxigraph(tmp_path_factory) -> Iterator[str]:
    if not OXIGRAPH.exists():
        pytest.fail(f"{OXIGRAPH} is missing: `make test` installs the oxigraph package (dev extra)")
    port = free_port()
    location = tmp_path_factory.mktemp("oxigraph")
    proc = subprocess.Popen(
        [str(OXIGRAPH), "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/query?query=ASK%7B%7D")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def published(oxigraph, indexed) -> tuple[str, Workspace]:
    ws = indexed[0]
    remote = RemoteStore(oxigraph)
    try:
        done = remote.publish(ws.settings.dataset_path, ws.manifest["dataset_sha256"])
    finally:
        remote.close()
    assert done["triples"] == len(ws.store) and done["graphs"] == 7
    return oxigraph, ws


def remote_workspace(url: str, ws: Workspace) -> Workspace:
    return Workspace(Settings(home=ws.settings.home, store=url))


def test_the_published_store_answers_as_the_embedded_one(published):
    url, local = published
    ws = remote_workspace(url, local)
    for query in (COUNT, PER_GRAPH, "ASK { ?c skos:notation 'bm25' }"):
        a, b = ws.store.query(query, isolated=True), local.store.query(query, isolated=True)
        assert (a.kind, a.variables, a.rows, a.boolean) == (b.kind, b.variables, b.rows, b.boolean), query
    # The meta graph is not part of any query's dataset.
    graphs = [row[0].value for row in ws.store.query(PER_GRAPH).rows]
    assert META_GRAPH not in graphs and len(graphs) == 7
    # A query that names its own dataset (FROM) gets that dataset, not the build's union.
    inferred = "SELECT (COUNT(*) AS ?n) FROM <https://ckg.example.org/graph/inferred> WHERE { ?s ?p ?o }"
    a, b = ws.store.query(inferred, isolated=True), local.store.query(inferred, isolated=True)
    assert a.rows == b.rows and 0 < int(a.rows[0][0].value) < len(local.store)
    construct = "CONSTRUCT { ?c skos:prefLabel ?l } WHERE { ?c skos:notation 'bm25' ; skos:prefLabel ?l }"
    assert {str(t) for t in ws.store.query(construct).triples} == {str(t) for t in local.store.query(construct).triples}


def test_a_store_holding_another_build_is_refused(published):
    url, _ = published
    other = RemoteStore(url, expected_sha256="0" * 64)
    with pytest.raises(StoreError, match="holds another build"):
        other.query(COUNT)
    empty = RemoteStore(f"{url}/nowhere")
    with pytest.raises(StoreError):
        empty.query(COUNT)
    with pytest.raises(StoreError, match="not an http"):
        RemoteStore("file:///tmp/store")


def test_a_failed_publish_leaves_the_previous_build_untouched(published, tmp_path):
    url, local = published
    before = RemoteStore(url).query(PER_GRAPH).rows
    # A build whose last graph holds a broken triple: the swap's one transaction fails as a whole.
    lines = local.settings.dataset_path.read_text("utf-8").splitlines(keepends=True)
    bad = tmp_path / "dataset.nq"
    bad.write_text(
        "".join(lines[:1000]) + '<urn:x> <urn:y> "ok" <https://ckg.example.org/graph/zzz> .\n', encoding="utf-8"
    )
    remote = RemoteStore(url)
    original = remote._send

    def break_the_body(method, endpoint, **kwargs):
        if method == "POST" and endpoint.endswith("/update"):
            body = b"".join(kwargs.pop("content"))
            kwargs["content"] = body.replace(b'"ok"', b'"broken')  # an unterminated literal near the end
        return original(method, endpoint, **kwargs)

    remote._send = break_the_body
    with pytest.raises(CkgError):
        remote.publish(bad, "f" * 64)
    after = RemoteStore(url)
    assert after.build_sha256() == local.manifest["dataset_sha256"]
    assert after.query(PER_GRAPH).rows == before


def test_the_http_api_answers_sparql_show_gap_and_path_over_the_store(published):
    from server.app import Services, create_app, running

    url, local = published
    settings = Settings(home=local.settings.home, store=url)
    with running(create_app(settings, Services(settings))) as api, httpx.Client(base_url=api, timeout=60) as c:
        health = c.get("/v1/health").json()
        assert health["store"] == url
        rows = c.get("/sparql", params={"query": PER_GRAPH}, headers={"accept": "application/sparql-results+json"})
        expected = local.store.query(PER_GRAPH).rows
        assert [(b["g"]["value"], int(b["n"]["value"])) for b in rows.json()["results"]["bindings"]] == [
            (g.value, int(n.value)) for g, n in expected
        ]
        turtle = c.get(
            "/sparql",
            params={
                "query": "CONSTRUCT { ?c skos:prefLabel ?l } WHERE { ?c skos:notation 'bm25' ; skos:prefLabel ?l }"
            },
            headers={"accept": "text/turtle"},
        )
        assert turtle.headers["content-type"].startswith("text/turtle") and '"BM25"' in turtle.text
        broken = c.get("/sparql", params={"query": "SELECT ?x WHERE { ?x"})
        assert broken.status_code == 400 and "error at 1:" in broken.json()["detail"]
        assert c.get("/v1/concepts/Fisher Information").json()["layer"] == "0B"
        plan = c.post("/v1/gap", json={"targets": ["Cramér-Rao Bound"], "known": ["Maximum Likelihood Estimation"]})
        assert [i["id"] for i in plan.json()["missing"]] == ["fisher-information"]
        assert len(c.get("/v1/path", params={"target": "Fisher Information"}).json()["missing"]) == 5


def test_cli_sparql_and_publish_with_a_store(published, tmp_path):
    url, local = published
    home = str(local.settings.home)
    runner = CliRunner()
    result = runner.invoke(app, ["sparql", COUNT, "--store", url, "--home", home, "-f", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["results"]["bindings"][0]["n"]["value"] == str(len(local.store))
    result = runner.invoke(app, ["publish", "--store", url, "--mode", "per-graph", "--home", home])
    assert result.exit_code == 0, result.output
    assert "published 7 graphs" in result.stderr and "one graph at a time" in result.stderr
    assert RemoteStore(url).query(PER_GRAPH).rows == local.store.query(PER_GRAPH).rows
    ckg = Path(sys.executable).parent / "ckg"
    gone = subprocess.run(
        [str(ckg), "sparql", COUNT, "--store", "http://127.0.0.1:9", "--home", home], capture_output=True, text=True
    )
    assert gone.returncode == 1 and "error: cannot reach the store at http://127.0.0.1:9" in gone.stderr
    assert "Traceback" not in gone.stderr


def test_two_api_workers_share_the_store(published):
    url, local = published
    port = free_port()
    env = {**os.environ, "CKG_HOME": str(local.settings.home)}
    ckg = Path(sys.executable).parent / "ckg"
    proc = subprocess.Popen(
        [str(ckg), "serve", "--workers", "2", "--port", str(port), "--store", url],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    api = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{api}/v1/health", seconds=180)
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        workers = [c for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]
        assert len(workers) == 2  # two worker processes under uvicorn's supervisor
        with httpx.Client(base_url=api, timeout=60) as c:
            answers = {
                json.dumps(
                    c.get(
                        "/sparql", params={"query": PER_GRAPH}, headers={"accept": "application/sparql-results+json"}
                    ).json()["results"]["bindings"]
                )
                for _ in range(8)
            }
            plans = {json.dumps(c.post("/v1/gap", json={"targets": ["Double Descent"]}).json()) for _ in range(8)}
            assert all(c.get("/v1/health").json()["store"] == url for _ in range(4))
        assert len(answers) == 1 and len(plans) == 1
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)

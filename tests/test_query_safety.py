"""Queries that cannot hurt the process (issue #16): nesting, SERVICE, updates, time and memory bounds."""

from __future__ import annotations

import contextlib
import os
import socket
import time

import pytest

from ckg.errors import QueryError, QueryForbiddenError, QueryTimeoutError
from kg import query_guard


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * WHERE " + "{" * 5000 + " ?s ?p ?o " + "}" * 5000,
        "SELECT * WHERE { FILTER(" + "(" * 5000 + "1" + ")" * 5000 + ") }",
        "SELECT * WHERE { ?s ?p ?o " + "OPTIONAL { ?s ?p ?o " * 3000 + "}" * 3001,
    ],
)
def test_deep_nesting_is_refused_before_the_engine_sees_it(workspace, query):
    with pytest.raises(QueryError, match="nests brackets deeper than 64"):
        workspace.store.query(query, isolated=True)
    assert workspace.store.query("ASK { ?s ?p ?o }").boolean  # the process is alive and well


@pytest.mark.parametrize(
    ("query", "ok"),
    [
        ("SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }", False),
        ("select * where { service silent <http://x/> { ?s ?p ?o } }", False),
        ('SELECT ?s WHERE { ?s ?p "SERVICE {{{ ((( " }', True),  # in a string
        ("SELECT ?service WHERE { ?service ?p <http://x/SERVICE> } # SERVICE in a comment", True),
        ("SELECT * WHERE { ?s <http://x/a> ?o FILTER (?o < 3 && ?o > 1) }", True),  # < is an operator here
        ("PREFIX ex: <http://x/> SELECT * WHERE { ?s ex:service ?o }", True),  # a prefixed name
    ],
)
def test_service_is_refused_only_where_it_is_a_keyword(query, ok):
    if ok:
        query_guard.check(query)
    else:
        with pytest.raises(QueryForbiddenError, match="SERVICE"):
            query_guard.check(query)


@pytest.mark.parametrize(
    "update",
    ["INSERT DATA { <a:b> <a:c> <a:d> }", "PREFIX x: <http://x/>\nDELETE WHERE { ?s ?p ?o }", "drop all"],
)
def test_every_form_of_update_is_forbidden(update):
    with pytest.raises(QueryForbiddenError, match="read-only") as err:
        query_guard.check(update)
    assert err.value.http_status == 403


def test_service_to_a_local_listener_makes_no_connection(workspace):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(0.5)
        port = listener.getsockname()[1]
        with pytest.raises(QueryForbiddenError):
            workspace.store.query(
                f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{port}/sparql> {{ ?s ?p ?o }} }}", isolated=True
            )
        with pytest.raises(socket.timeout):
            listener.accept()


def _children(pid: int) -> list[str]:
    with open(f"/proc/{pid}/task/{pid}/children") as fh:
        return fh.read().split()


def _cpu_ticks(pid: str) -> int:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _all_idle(helper: int) -> bool:
    """No worker of the helper uses CPU over a quarter of a second (False while one is still going away)."""
    try:
        before = {c: _cpu_ticks(c) for c in _children(helper)}
        time.sleep(0.25)
        return all(_cpu_ticks(c) - t <= 1 for c, t in before.items())
    except FileNotFoundError:
        return False


def _rss_mib() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096 // 2**20


def test_a_runaway_query_is_stopped_for_real(workspace):
    """The time limit ends the evaluation (its process is killed), not just the wait for it."""
    assert workspace.store.query("ASK { ?s ?p ?o }", isolated=True).boolean  # the helper is up
    helper = workspace.store.sandbox().pid
    before = _rss_mib()
    start = time.monotonic()
    with pytest.raises(QueryTimeoutError):
        workspace.store.query(
            "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }", timeout=1.0, isolated=True
        )
    assert time.monotonic() - start < 3.0
    for _ in range(100):  # SIGKILL is delivered asynchronously; the worker is gone and replaced within moments
        if len(_children(helper)) == workspace.store.sandbox().slots and _all_idle(helper):
            break
        time.sleep(0.05)
    assert len(_children(helper)) == workspace.store.sandbox().slots  # killed worker replaced, no zombie
    assert _all_idle(helper)  # nothing left computing
    assert str(helper) in _children(os.getpid())  # the helper itself lives on for the next query
    assert _rss_mib() - before < 50


def test_a_query_past_its_memory_bound_is_stopped(workspace, monkeypatch):
    from kg import store

    monkeypatch.setattr(store, "QUERY_MEMORY", 256 * 1024**2)
    with pytest.raises(QueryError, match="needed more than 256 MiB"):
        workspace.store.query("SELECT * WHERE { ?a ?b ?c . ?d ?e ?f } ORDER BY ?a ?d", timeout=30, isolated=True)
    assert workspace.store.query("ASK { ?s ?p ?o }", isolated=True).boolean


def test_user_queries_never_fork_the_calling_process(workspace, monkeypatch):
    """Forking a threaded server copies locks other threads hold (a CI run hung on it): the sandbox's
    helper forks, the caller does not, however many threads call at once."""
    import threading

    def no_fork() -> int:
        raise AssertionError("os.fork called in the serving process")

    monkeypatch.setattr(os, "fork", no_fork)
    results: list[bool] = []

    def ask() -> None:
        for _ in range(5):
            results.append(bool(workspace.store.query("ASK { ?s ckg:requires ?o }", isolated=True).boolean))

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 30


def test_the_helper_restarts_after_it_dies_and_stops_with_its_owner(workspace):
    import signal

    from kg.store import GraphStore

    own = GraphStore.load(workspace.store.path)
    assert own.query("ASK { ?s ?p ?o }", isolated=True).boolean
    first = own.sandbox().pid
    os.kill(first, signal.SIGKILL)
    os.waitpid(first, 0)
    assert own.query("ASK { ?s ?p ?o }", isolated=True).boolean  # a new helper answers
    second = own.sandbox().pid
    assert second != first
    own.close()
    assert str(second) not in _children(os.getpid())


def test_queries_beyond_the_slots_wait_then_are_refused_as_busy(workspace):
    """One slot: while a runaway query holds it, the next waits out its own time limit and gets a 503."""
    import threading

    from ckg.errors import QueryBusyError
    from kg.store import GraphStore

    own = GraphStore.load(workspace.store.path)
    sandbox = own.sandbox()
    sandbox.slots, sandbox._slots = 1, threading.BoundedSemaphore(1)
    runaway = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    first: list[BaseException] = []

    def hog() -> None:
        try:
            own.query(runaway, timeout=3.0, isolated=True)
        except QueryTimeoutError as exc:
            first.append(exc)

    thread = threading.Thread(target=hog)
    thread.start()
    time.sleep(0.5)  # the hog holds the only slot
    start = time.monotonic()
    with pytest.raises(QueryBusyError, match="all 1 query slots stayed busy") as err:
        own.query("ASK { ?s ?p ?o }", timeout=1.0, isolated=True)
    assert err.value.http_status == 503 and 0.9 < time.monotonic() - start < 2.0
    thread.join()
    assert len(first) == 1  # the hog ended at its own limit and freed the slot
    assert own.query("ASK { ?s ?p ?o }", timeout=1.0, isolated=True).boolean
    own.close()


def test_isolated_results_equal_in_process_results(workspace):
    q = """SELECT ?c ?l ?m WHERE { ?c skos:prefLabel ?l OPTIONAL { ?c ckg:studyMinutes ?m } } ORDER BY ?c LIMIT 50"""
    a, b = workspace.store.query(q), workspace.store.query(q, isolated=True)
    assert a.variables == b.variables and a.rows == b.rows
    c = "CONSTRUCT { ?c ckg:requires ?p } WHERE { ?c ckg:requires ?p } LIMIT 20"
    assert sorted(map(str, workspace.store.query(c).triples)) == sorted(
        map(str, workspace.store.query(c, isolated=True).triples)
    )
    assert workspace.store.query("ASK { ?s ckg:stub true }", isolated=True).boolean is True


def test_the_protocol_path_caps_rows_and_says_how_to_page(workspace, monkeypatch):
    import pyoxigraph as ox

    from kg import store

    monkeypatch.setattr(store, "ROW_CAP", 100)
    with pytest.raises(QueryError, match="more than 100 rows; add LIMIT and OFFSET"):
        workspace.store.serialize("SELECT * WHERE { ?s ?p ?o }", lambda kind: ox.QueryResultsFormat.JSON)
    kind, body = workspace.store.serialize(
        "SELECT * WHERE { ?s ?p ?o } LIMIT 100", lambda kind: ox.QueryResultsFormat.JSON
    )
    assert kind == "select"
    assert len(__import__("json").loads(body)["results"]["bindings"]) == 100


@pytest.mark.parametrize("text", ["B\x9d\xfe", "é{", "SELECT * WHERE { ?s ?p 'unterminated }", "<<<<", '"""', "#"])
def test_the_guard_never_crashes_on_junk(text):
    with contextlib.suppress(QueryError):  # a clear refusal is fine; any other exception is a bug
        query_guard.check(text)


def test_a_helper_that_cannot_load_the_dataset_is_a_clear_error(tmp_path):
    from kg.store import GraphStore

    bad = tmp_path / "dataset.nq"
    bad.write_text("<a:b> <a:c> this is not N-Quads .\n")
    store = GraphStore.load(bad)
    with pytest.raises(QueryError, match=r"the query helper for .*dataset.nq did not start: .*ckg ingest"):
        store.query("ASK { ?s ?p ?o }", isolated=True)
    store.close()


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("SELECT * FROM <urn:g> WHERE { ?s ?p ?o }", True),
        ("select * from named <urn:g> where { graph ?g { ?s ?p ?o } }", True),
        ("SELECT * FROM\nckg:graph WHERE {}", True),
        ('SELECT * WHERE { ?s ?p "FROM <urn:g>" }', False),
        ("SELECT ?from WHERE { ?from ?p ?o } # FROM <urn:g>", False),
        ("SELECT * WHERE { ?s ?p ?o }", False),
    ],
)
def test_a_query_naming_its_dataset_is_recognised(query, names):
    assert query_guard.names_dataset(query) is names

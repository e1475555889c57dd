"""The binary catalog index (kg/columns.py) and the edge table graphs are views of (kg/graph.py).

A graph-only command at 100k concepts opens the build from these (#14 item 2),
so each is checked against what it replaced: the columns round-trip exactly,
the table's adjacency and closures equal networkx's on the real build, and a
damaged concept document is refused by name.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from array import array

import networkx as nx
import pytest

from ckg.errors import BuildDamagedError
from kg import columns
from kg.graph import EdgeTable, PrereqGraph


# ---------------------------------------------------------------- columns
def test_columns_round_trip_every_kind():
    data = columns.dumps(
        {
            "ints": ("i", [3, -1, 2**31 - 1]),
            "longs": ("q", [0, 2**40]),
            "flags": ("b", [0, 1, 1]),
            "floats": ("d", [0.15, float("inf")]),
            "words": (columns.STR, ["é", "", "two words"]),
            "none": (columns.STR, []),
            "one_empty": (columns.STR, [""]),
            "meta": ("json", {"layers": {"0A": 0}, "links": [["a", "b", 0.5]]}),
        }
    )
    out = columns.loads(data)
    assert list(out["ints"]) == [3, -1, 2**31 - 1] and list(out["longs"]) == [0, 2**40]
    assert list(out["flags"]) == [0, 1, 1] and list(out["floats"]) == [0.15, float("inf")]
    assert out["words"] == ["é", "", "two words"] and out["none"] == [] and out["one_empty"] == [""]
    assert out["meta"] == {"layers": {"0A": 0}, "links": [["a", "b", 0.5]]}
    assert columns.dumps({"x": ("i", [1])}) == columns.dumps({"x": ("i", [1])})  # no timestamps, no order noise


def test_columns_refuse_what_they_cannot_hold_or_read():
    with pytest.raises(ValueError, match="contains NUL"):
        columns.dumps({"labels": (columns.STR, ["a\0b"])})
    with pytest.raises(ValueError, match="unknown kind"):
        columns.dumps({"x": ("f", [1.0])})
    good = columns.dumps({"a": ("i", [1, 2]), "b": (columns.STR, ["x"])})
    with pytest.raises(columns.ColumnsError, match="the index is truncated: column 'b'"):
        columns.loads(good[:-1], what="the index")
    with pytest.raises(columns.ColumnsError, match="not a columns file"):
        columns.loads(b'{"spans": []}', what="the index")
    head = json.dumps({"byteorder": sys.byteorder, "columns": [["a", "i", 0, 12, 2]]}).encode()
    with pytest.raises(columns.ColumnsError, match="column 'a' holds 3 items, its header says 2"):
        columns.loads(columns.MAGIC + head + b"\n" + array("i", [1, 2, 3]).tobytes())


# -------------------------------------------------------------- the table
def test_a_table_view_filters_inferred_edges_by_confidence():
    table = EdgeTable.from_edges(
        [
            ("t", "a", {"inferred": True, "confidence": 0.5}),
            ("t", "s", {}),
            ("a", "b", {"inferred": True, "confidence": 0.1}),
            ("s", "b", {"inferred": False, "confidence": 1.0}),
        ],
        ["t", "a", "b", "s", "lonely"],
    )
    asserted, planning, weak = (PrereqGraph.over(table, t) for t in (None, 0.15, 0.05))
    assert asserted.successors("t") == ["s"] and planning.successors("t") == ["a", "s"]
    assert planning.prerequisites("t") == {"a", "s", "b"} and planning.successors("a") == []
    assert weak.successors("a") == ["b"] and weak.predecessors("b") == ["a", "s"]
    assert planning.dependents("b") == {"s", "t"} and "lonely" in planning and planning.prerequisites("lonely") == set()
    assert planning.edge_data("t", "a") == {"inferred": True, "confidence": 0.5}
    with pytest.raises(KeyError):
        planning.edge_data("a", "b")  # below the threshold: not an edge of this view
    small = planning.around(["a", "s"])
    assert set(small.g.nodes) == {"a", "s", "b"} and set(small.g.edges) == {("s", "b")}


@pytest.mark.slow
def test_the_table_answers_what_networkx_answers_on_the_real_build(indexed):
    """Every concept's direct and transitive prerequisites and dependents, and a plan's support, equal
    networkx's on a graph built edge by edge from the catalog (what the workspace built before)."""
    ws = indexed[0]
    cat = ws.catalog
    for threshold in (None, 0.15):
        view = ws.graph if threshold is None else ws.planning_graph(threshold)
        edges = cat.edges(inferred=threshold is not None, min_confidence=threshold or 0.0)
        reference = nx.DiGraph()
        reference.add_nodes_from(cat.concepts)
        reference.add_edges_from(
            (e.source, e.target, {"inferred": e.inferred, "confidence": e.confidence}) for e in edges
        )
        assert sum(len(view.successors(c)) for c in cat.concepts) == reference.number_of_edges()
        for cid in cat.concepts:
            assert sorted(view.successors(cid)) == sorted(reference.successors(cid))
            assert sorted(view.predecessors(cid)) == sorted(reference.predecessors(cid))
        for cid in ("gradient-boosting-machines", "transformer-architecture", "double-descent", "bm25"):
            assert view.prerequisites(cid) == nx.descendants(reference, cid)
            assert view.dependents(cid) == nx.ancestors(reference, cid)
        fresh = PrereqGraph(
            ((e.source, e.target, {"inferred": e.inferred, "confidence": e.confidence}) for e in edges), cat.concepts
        )
        for cid in ("gradient-boosting-machines", "random-forest", "t-sne"):
            assert view.support(cid) == fresh.support(cid) and view.chains(cid) == fresh.chains(cid)


def test_a_damaged_concept_document_is_refused_by_name(workspace, tmp_path):
    """catalog.json is no longer hashed whole on open: a same-size edit inside one concept's document
    is caught when that concept is read, naming the file and the concept; others still read."""
    import shutil

    from ckg.config import Settings
    from kg.workspace import Workspace

    home = tmp_path / "build"
    shutil.copytree(workspace.settings.home, home)
    path = home / "catalog.json"
    data = path.read_bytes()
    at = data.index(b'"label": "BM25"')
    path.write_bytes(data[:at] + b'"label": "BM26"' + data[at + len(b'"label": "BM25"') :])
    ws = Workspace(Settings(home=home))
    with pytest.raises(BuildDamagedError, match=r"catalog\.json: the document of concept 'bm25' does not match"):
        _ = ws.catalog.concepts["bm25"]
    assert ws.catalog.concepts["random-forest"].label == "Random Forest"


def test_graph_only_commands_do_not_import_numpy_or_rdflib(workspace):
    """What keeps ``ckg show|path`` near a second at 100k concepts: no numpy or rdflib to open a build,
    and ``show`` needs no networkx either (``path`` runs Dijkstra in it)."""
    home = str(workspace.settings.home)
    heavy = "('numpy', 'rdflib', 'networkx', 'torch', 'faiss')"
    for command, expected in (("show", "[]"), ("path", "['networkx']")):
        code = (
            "import os, sys, runpy; "
            f"sys.argv = ['ckg', {command!r}, 'random-forest', '--home', {home!r}]; "
            "real = os._exit\n"
            "def done(status):\n"
            f"    sys.stderr.write('@@' + str([m for m in {heavy} if m in sys.modules])); sys.stderr.flush(); "
            "real(status)\n"
            "os._exit = done\n"
            "runpy.run_module('cli.main', run_name='__main__')"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
        assert out.returncode == 0, out.stderr
        assert out.stderr.rsplit("@@", 1)[1] == expected, command


def test_the_index_holds_every_column_a_reader_needs_and_an_older_one_is_refused(workspace, tmp_path):
    import shutil

    from ckg.config import Settings
    from kg.catalog import _INDEX_COLUMNS
    from kg.workspace import CATALOG_INDEX, Workspace

    _, index = workspace.catalog.snapshot_files()
    assert set(columns.loads(index)) == _INDEX_COLUMNS
    home = tmp_path / "build"
    shutil.copytree(workspace.settings.home, home)
    cols = columns.loads(index)
    older = columns.dumps(
        {name: (_kind(value), value) for name, value in cols.items() if name != "span_digest"}  # stop-23 draft
    )
    (home / CATALOG_INDEX).write_bytes(older)
    doc = json.loads((home / "build.json").read_text())
    doc["files"][CATALOG_INDEX] = {"bytes": len(older), "sha256": hashlib.sha256(older).hexdigest()}
    (home / "build.json").write_text(json.dumps(doc))
    with pytest.raises(BuildDamagedError, match=r"the catalog index lacks span_digest; .*ckg ingest"):
        _ = Workspace(Settings(home=home)).catalog


def _kind(value: object) -> str:
    return value.typecode if isinstance(value, array) else columns.STR if isinstance(value, list) else "json"

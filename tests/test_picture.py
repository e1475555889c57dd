"""The plan picture (retrieval/picture.py) and its dot and mermaid renderings (issue #15, item 5).

The plan for Flash Attention with two known concepts has everything a picture must show: stated and
inferred edges, stubs, inferred layers, several layers and known concepts the plan rests on. The
expected nodes and edges come from the gap finder's graph, not from the picture code; the dot text is
parsed back with pydot rather than matched as strings.
"""

from __future__ import annotations

import re

import pydot
import pytest
from typer.testing import CliRunner

from cli.app import app
from retrieval.gap import GapFinder
from retrieval.picture import KNOWN_COLOUR, LAYER_COLOURS, TARGET_BORDER, dot, mermaid

TARGET = "flash-attention"
KNOWN = {"matrix-operations-and-properties", "logistic-regression"}


@pytest.fixture(scope="module")
def finder(indexed):
    return GapFinder(indexed[0])


@pytest.fixture(scope="module")
def plan(finder):
    return finder.gap([TARGET], KNOWN)


@pytest.fixture(scope="module")
def pic(finder, plan):
    return finder.picture(plan)


def expected(finder, plan) -> tuple[set[str], set[tuple[str, str]]]:
    g = finder.graph.g
    shown = {TARGET, *(i.id for i in plan.missing)}
    nodes = shown | {p for n in shown for p in g.successors(n) if p in KNOWN}
    return nodes, {(b, a) for a, b in g.subgraph(nodes).edges}


def test_the_picture_is_the_plan_and_the_known_concepts_it_rests_on(finder, plan, pic):
    nodes, edges = expected(finder, plan)
    assert {n.id for n in pic.nodes} == nodes
    assert {(e.prerequisite, e.dependent) for e in pic.edges} == edges
    roles = {n.id: n.role for n in pic.nodes}
    assert roles[TARGET] == "target" and {k for k, r in roles.items() if r == "known"} == KNOWN
    assert [n.step for n in pic.nodes if n.role == "missing"] == [i.step for i in plan.missing]
    g = finder.graph.g
    for e in pic.edges:
        data = g.edges[e.dependent, e.prerequisite]
        assert e.inferred == bool(data.get("inferred"))
        assert e.confidence == (round(data["confidence"], 2) if e.inferred else None)
    assert any(e.inferred for e in pic.edges) and any(not e.inferred for e in pic.edges)
    stubs = {n.id for n in pic.nodes if n.stub}
    assert stubs == {i.id for i in plan.missing if i.stub} and stubs
    assert [entry.layer for entry in pic.legend] == sorted(
        {n.layer for n in pic.nodes if n.layer and n.role != "known"}, key=list(LAYER_COLOURS).index
    )


def test_dot_parses_back_to_the_same_graph_with_its_marks(pic):
    (graph,) = pydot.graph_from_dot_data(dot(pic))
    assert graph.get_rankdir() == "BT"
    nodes = {n.get_name().strip('"'): n for n in graph.get_nodes() if n.get_name() not in {"node", "edge"}}
    edges = {(e.get_source().strip('"'), e.get_destination().strip('"')): e for e in graph.get_edges()}
    assert set(nodes) == {n.id for n in pic.nodes}
    assert set(edges) == {(e.prerequisite, e.dependent) for e in pic.edges}
    for n in pic.nodes:
        attrs = nodes[n.id].get_attributes()
        assert attrs["fillcolor"].strip('"') == (KNOWN_COLOUR if n.role == "known" else LAYER_COLOURS[n.layer])
        assert ("dashed" in attrs["style"]) == n.stub
        assert (attrs.get("penwidth") == "3" and attrs["color"].strip('"') == TARGET_BORDER) == (n.role == "target")
        assert attrs["label"].strip('"').startswith(n.label.replace('"', '\\"') + "\\n")
    for e in pic.edges:
        attrs = edges[e.prerequisite, e.dependent].get_attributes()
        assert attrs.get("style") == ("dashed" if e.inferred else None)
        assert attrs.get("label", "").strip('"') == (f"{e.confidence:.2f}" if e.inferred else "")
    (legend,) = graph.get_subgraphs()
    names = {n.get_name().strip('"') for n in legend.get_nodes()}
    assert {f"legend-{entry.layer}" for entry in pic.legend} | {"legend-target", "legend-known", "legend-stub"} <= names


def test_mermaid_draws_the_same_edges_with_confidence_labels_and_classes(pic):
    text = mermaid(pic)
    mid = {n.id: "n_" + n.id.replace("-", "_") for n in pic.nodes}
    edge_lines = set(re.findall(r"^  (n_\S+ (?:-->|-\.->\|[0-9.]+\|) n_\S+)$", text, flags=re.M))
    assert edge_lines == {
        f"{mid[e.prerequisite]} -.->|{e.confidence:.2f}| {mid[e.dependent]}"
        if e.inferred
        else f"{mid[e.prerequisite]} --> {mid[e.dependent]}"
        for e in pic.edges
    }
    classes = dict(re.findall(r"^  class (\S+) (\S+)$", text, flags=re.M)[::-1])
    members = {cls: set(ids.split(",")) for ids, cls in classes.items()}
    assert members["target"] == {mid[TARGET], "legend_target"}
    assert members["known"] == {mid[k] for k in KNOWN} | {"legend_known"}
    assert members["stub"] == {mid[n.id] for n in pic.nodes if n.stub} | {"legend_stub"}
    assert 'subgraph legend["Legend"]' in text


def test_cli_gap_and_path_draw_the_library_s_picture(indexed, finder, pic):
    home = str(indexed[0].settings.home)
    runner = CliRunner()
    args = ["gap", "Flash Attention", "--known", "Matrix Operations and Properties", "--known", "Logistic Regression"]
    result = runner.invoke(app, [*args, "--home", home, "-f", "dot"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == dot(pic)
    result = runner.invoke(app, ["path", TARGET, "--home", home, "-f", "mermaid"])
    assert result.exit_code == 0 and result.stdout.strip() == mermaid(finder.picture(finder.path(TARGET)))
    result = runner.invoke(app, ["path", TARGET, "--home", home, "-f", "svg"], env={"COLUMNS": "200"})
    assert result.exit_code == 2 and "format must be one of table, json, jsonl, csv, tsv, mermaid, dot" in result.output

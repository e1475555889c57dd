"""The drawing of a learning plan, one model for every picture of it.

A plan's picture holds the targets, the missing concepts and the known concepts
they directly rest on, with the prerequisite edges among them. The browser draws
it as SVG from ``/v1/gap`` (``graph: true``); ``ckg gap|path -f dot|mermaid``
render the same model, so the three pictures agree: fill colour = layer (the
same palette everywhere), the target outlined thick, known concepts greyed,
stubs outlined dashed, inferred edges dashed and labelled with their
confidence, and a legend. Arrows run from a prerequisite to what needs it,
as the GraphML export's edges do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from ingest.concepts import ConceptDoc
from ingest.records import LAYERS

if TYPE_CHECKING:
    import networkx as nx

    from retrieval.gap import GapPlan

#: One colour per layer, foundations light to advanced dark (ColorBrewer YlGnBu, colour-blind safe).
LAYER_COLOURS: dict[str, str] = dict(
    zip(LAYERS, ("#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#0c2c84"), strict=True)
)
#: Layers whose colour is dark enough to need light text.
DARK_LAYERS = frozenset({"4", "5"})
UNLAYERED_COLOUR = "#ffffff"
KNOWN_COLOUR = "#e0e0e0"
TARGET_BORDER = "#b5179e"

Role = Literal["target", "missing", "known"]


class PictureNode(BaseModel):
    id: str
    label: str
    role: Role
    layer: str | None = None
    layer_inferred: bool = False
    minutes: int | None = None
    minutes_inferred: bool = False
    stub: bool = False
    #: Step in the plan (missing concepts only).
    step: int | None = None
    colour: str = Field(description="fill colour: the layer's, or grey for a known concept")


class PictureEdge(BaseModel):
    """``prerequisite`` is needed before ``dependent``."""

    prerequisite: str
    dependent: str
    inferred: bool = False
    confidence: float | None = Field(None, description="confidence of an inferred edge")


class LegendLayer(BaseModel):
    layer: str
    colour: str


class PlanPicture(BaseModel):
    nodes: list[PictureNode]
    edges: list[PictureEdge]
    #: The layers the nodes use, in curriculum order, with their colours.
    legend: list[LegendLayer]


def _colour(layer: str | None) -> str:
    return LAYER_COLOURS.get(layer or "", UNLAYERED_COLOUR)


def picture(plan: GapPlan, graph: nx.DiGraph, docs: Mapping[str, ConceptDoc]) -> PlanPicture:
    """The picture of ``plan`` over ``graph`` (an edge a->b means
    a requires b). ``docs`` maps concept ids to their :class:`~ingest.concepts.ConceptDoc` for the
    targets and known concepts (missing items carry their own)."""
    nodes: dict[str, PictureNode] = {}
    for item in plan.missing:
        nodes[item.id] = _node(item, "missing", step=item.step)
    for t in plan.targets:
        nodes[t] = _node(docs[t], "target")
    known = set(plan.known)
    shown_known = sorted({p for n in nodes if n in graph for p in graph.successors(n) if p in known} - set(nodes))
    for k in shown_known:
        nodes[k] = _node(docs[k], "known")
    edges = [
        PictureEdge(
            prerequisite=b,
            dependent=a,
            inferred=bool(d.get("inferred")),
            confidence=round(float(d["confidence"]), 2) if d.get("inferred") else None,
        )
        for a, b, d in sorted(graph.subgraph(nodes).edges(data=True))
    ]
    used = {n.layer for n in nodes.values() if n.layer and n.role != "known"}
    legend = [LegendLayer(layer=code, colour=LAYER_COLOURS[code]) for code in LAYERS if code in used]
    order = sorted(nodes.values(), key=lambda n: ({"known": 0, "missing": 1, "target": 2}[n.role], n.step or 0, n.id))
    return PlanPicture(nodes=order, edges=edges, legend=legend)


def _node(doc: ConceptDoc, role: Role, step: int | None = None) -> PictureNode:
    d = doc
    layer = d.layer
    return PictureNode(
        id=d.id,
        label=d.label,
        role=role,
        layer=layer,
        layer_inferred=d.layer_inferred,
        minutes=d.minutes,
        minutes_inferred=d.minutes_inferred,
        stub=d.stub,
        step=step,
        colour=KNOWN_COLOUR if role == "known" else _colour(layer),
    )


def _facts(n: PictureNode) -> str:
    """The second line of a node: layer and minutes, ``~`` marking inferred values as the CLI tables do."""
    parts = []
    if n.layer:
        parts.append(f"L{n.layer}{'~' if n.layer_inferred else ''}")
    if n.minutes is not None:
        parts.append(f"{n.minutes}{'~' if n.minutes_inferred else ''} min")
    if n.stub:
        parts.append("stub")
    if n.role == "known":
        parts.append("known")
    return " · ".join(parts)


# ------------------------------------------------------------------- dot
def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def dot(pic: PlanPicture) -> str:
    """Graphviz: foundations at the bottom (``rankdir=BT``), a legend cluster in the corner."""
    lines = [
        "digraph path {",
        "  rankdir=BT;",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];',
        '  edge [color="#5a6472", fontname="Helvetica", fontsize=9];',
    ]
    for n in pic.nodes:
        attrs = [f"label={_dot_quote(n.label + chr(10) + _facts(n))}", f'fillcolor="{n.colour}"']
        styles = ["rounded", "filled"] + (["dashed"] if n.stub else [])
        attrs.append(f'style="{",".join(styles)}"')
        if n.role == "target":
            attrs += ["penwidth=3", f'color="{TARGET_BORDER}"']
        if n.role == "known":
            attrs.append('fontcolor="#6b6b6b"')
        elif n.layer in DARK_LAYERS:
            attrs.append('fontcolor="white"')
        lines.append(f"  {_dot_quote(n.id)} [{', '.join(attrs)}];")
    for e in pic.edges:
        style = f' [style=dashed, label="{e.confidence:.2f}"]' if e.inferred else ""
        lines.append(f"  {_dot_quote(e.prerequisite)} -> {_dot_quote(e.dependent)}{style};")
    lines += ["  subgraph cluster_legend {", '    label="Legend"; fontname="Helvetica"; fontsize=10; style=rounded;']
    for entry in pic.legend:
        lines.append(f'    "legend-{entry.layer}" [label="layer {entry.layer}", fillcolor="{entry.colour}"];')
    marks = _marks(pic)
    lines.append(f'    "legend-target" [label="target", fillcolor="white", penwidth=3, color="{TARGET_BORDER}"];')
    if "known" in marks:
        lines.append(f'    "legend-known" [label="known", fillcolor="{KNOWN_COLOUR}", fontcolor="#6b6b6b"];')
    if "stub" in marks:
        lines.append('    "legend-stub" [label="stub (no source)", fillcolor="white", style="rounded,filled,dashed"];')
    lines += [
        '    "legend-a" [label="prerequisite", fillcolor="white"];',
        '    "legend-b" [label="needs it", fillcolor="white"];',
        '    "legend-a" -> "legend-b"'
        + (' [label="inferred (confidence)", style=dashed];' if "inferred" in marks else ";"),
        "  }",
        "}",
    ]
    return "\n".join(lines)


def _marks(pic: PlanPicture) -> set[str]:
    """Which of the optional legend entries the picture needs."""
    marks = {"known"} if any(n.role == "known" for n in pic.nodes) else set()
    if any(n.stub for n in pic.nodes):
        marks.add("stub")
    if any(e.inferred for e in pic.edges):
        marks.add("inferred")
    return marks


# --------------------------------------------------------------- mermaid
def _mermaid_id(cid: str) -> str:
    return "n_" + cid.replace("-", "_")


def mermaid(pic: PlanPicture) -> str:
    """Mermaid flowchart: the same colours and marks as :func:`dot`; inferred edges dotted with their confidence."""
    lines = ["graph BT"]
    for n in pic.nodes:
        label = (n.label + "<br/>" + _facts(n)).replace('"', "#quot;")
        lines.append(f'  {_mermaid_id(n.id)}["{label}"]')
    for e in pic.edges:
        a, b = _mermaid_id(e.prerequisite), _mermaid_id(e.dependent)
        lines.append(f"  {a} -.->|{e.confidence:.2f}| {b}" if e.inferred else f"  {a} --> {b}")
    lines.append('  subgraph legend["Legend"]')
    lines.append("    direction LR")
    for entry in pic.legend:
        lines.append(f'    legend_{entry.layer}["layer {entry.layer}"]')
    marks = _marks(pic)
    lines.append('    legend_target["target"]')
    if "known" in marks:
        lines.append('    legend_known["known"]')
    if "stub" in marks:
        lines.append('    legend_stub["stub (no source)"]')
    arrow = "-.->|inferred (confidence)|" if "inferred" in marks else "-->"
    lines += [f'    legend_a["prerequisite"] {arrow} legend_b["needs it"]', "  end"]
    for code, colour in LAYER_COLOURS.items():
        text = "#fff" if code in DARK_LAYERS else "#1d232a"
        lines.append(f"  classDef layer{code} fill:{colour},color:{text}")
    lines += [
        f"  classDef unlayered fill:{UNLAYERED_COLOUR}",
        f"  classDef known fill:{KNOWN_COLOUR},color:#6b6b6b",
        f"  classDef target stroke:{TARGET_BORDER},stroke-width:3px",
        "  classDef stub stroke-dasharray:4 3",
    ]
    groups: dict[str, list[str]] = {}
    for n in pic.nodes:
        base = "known" if n.role == "known" else (f"layer{n.layer}" if n.layer else "unlayered")
        groups.setdefault(base, []).append(_mermaid_id(n.id))
        if n.role == "target":
            groups.setdefault("target", []).append(_mermaid_id(n.id))
        if n.stub:
            groups.setdefault("stub", []).append(_mermaid_id(n.id))
    for entry in pic.legend:
        groups.setdefault(f"layer{entry.layer}", []).append(f"legend_{entry.layer}")
    groups.setdefault("target", []).append("legend_target")
    for mark in sorted(marks & {"known", "stub"}):
        groups.setdefault(mark, []).append(f"legend_{mark}")
    for cls, ids in groups.items():
        lines.append(f"  class {','.join(ids)} {cls}")
    return "\n".join(lines)

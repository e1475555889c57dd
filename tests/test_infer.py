"""Prerequisite, taxonomy, layer, level, minutes and module inference (kg/inference/) and how outputs mark it.

Structural facts (where inferred facts live, that they never mix with asserted
ones, no cycles) are asserted exactly. Figures that depend on the model's
floating point (how many edges pass a threshold) get bounds, since CI encodes
the texts afresh on another CPU.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from ingest.concepts import Concept
from kg import inference as inf
from kg.inference.acyclic import Acyclic
from kg.inference.evaluate import evaluate, split_edges
from kg.inference.values import evaluate_values
from kg.iris import INFERRED
from retrieval.gap import GapFinder

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ws(indexed):
    return indexed[0]


@pytest.fixture(scope="module")
def vectors(ws):
    from retrieval.service import SearchService

    index = SearchService(ws).index
    return index.concept_ids(), index.concept_matrix()


# ------------------------------------------------------------------ the graph
def test_inferred_facts_live_only_in_the_inferred_graph(ws):
    g = ws.catalog.iris.graph(INFERRED)
    res = ws.store.query(
        f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{g}> {{ ?s ckg:requires|ckg:layer|ckg:studyMinutes ?o }} }}"
    )
    assert int(res.rows[0][0].value) == 0
    res = ws.store.query(
        f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ ?s ckg:inferredRequires ?o }} FILTER (?g != <{g}>) }}"
    )
    assert int(res.rows[0][0].value) == 0


def test_asserted_closure_is_unchanged_by_inference(ws, workspace):
    """``ckg:requires+`` over the union graph means asserted edges, with or without inference in the build."""
    q = "SELECT (COUNT(*) AS ?n) WHERE { ?a ckg:requires+ ?b }"
    assert ws.store.query(q).rows[0][0].value == workspace.store.query(q).rows[0][0].value
    assert sorted((e.source, e.target) for e in ws.catalog.edges()) == sorted(
        (e.source, e.target) for e in workspace.catalog.edges()
    )
    assert len(ws.catalog.edges()) == 406


def test_every_inferred_link_has_method_and_confidence(ws):
    res = ws.store.query(
        """SELECT ?l ?m ?c WHERE { ?l a ckg:InferredLink . OPTIONAL { ?l ckg:method ?m } OPTIONAL { ?l ckg:confidence ?c } }""",
        limit=100_000,
    )
    assert len(res.rows) > 1000
    for _link, method, conf in res.rows:
        assert method is not None and conf is not None
        assert 0.0 <= float(conf.value) <= 1.0


def test_shacl_still_conforms_with_the_inferred_graph(ws):
    from kg.validate import validate

    report = validate(ws)
    assert report.shacl_conforms, report.shacl_results[:20]


def test_no_cycle_even_with_every_inferred_edge(ws):
    g = ws.planning_graph(0.0).g
    assert nx.is_directed_acyclic_graph(g)
    assert sum(1 for *_, d in g.edges(data=True) if d["inferred"]) > 1000


def test_only_bare_concepts_get_inferred_prerequisites(ws):
    cat = ws.catalog
    for c in cat.concepts.values():
        if c.inferred_prerequisites:
            assert not c.prerequisites and c.layer != "0A", c.id
            if c.stub:  # a stub requires what its slug names, and nothing else
                assert {f.method for f in c.inferred_prerequisites} == {"stub-slug"}, c.id
            assert len(c.inferred_prerequisites) <= inf.MAX_EDGES
        for key, fact in c.inferred.items():
            asserted = {"layer": c.layer, "minutes": c.minutes, "module": c.modules or None, "level": c.level}[key]
            assert asserted is None, f"{c.id} has an asserted {key} and an inferred one"
            assert 0 <= fact.confidence <= 1 and fact.method


def test_values_are_inferred_for_concepts_without_them(ws):
    cat = ws.catalog
    bare = [c for c in cat.concepts.values() if not c.stub and c.layer is None]
    assert len(bare) == 884
    assert all("layer" in c.inferred for c in bare)
    assert all(c.inferred["layer"].value in inf.LAYERS for c in bare)
    untimed = [c for c in cat.concepts.values() if not c.stub and c.minutes is None]
    assert all(int(c.inferred["minutes"].value) % 5 == 0 for c in untimed)


def test_research_path_phases_and_questions_link_to_concepts(ws):
    links = ws.catalog.path_links
    subjects = {s for s, _c, _conf in links}
    assert len(subjects) == 5 + 8 and len(links) == 3 * 13
    assert all(0 < conf <= 1 for *_, conf in links)


# ------------------------------------------------------------------ coverage
def test_most_bare_concepts_get_a_non_empty_path(ws):
    """The figure the note reports: concepts that need inference but still have an empty path."""
    g = ws.graph.g
    needs = [c for c in ws.catalog.concepts.values() if inf.needs_inference(c, g)]
    assert len(needs) == 908
    planning = ws.planning_graph(inf.USE_THRESHOLD).g
    empty = [c.id for c in needs if planning.out_degree(c.id) == 0]
    assert len(empty) < 0.3 * len(needs)  # 215 on the real build: see BENCHMARKS.md, "Coverage"


def test_layers_agree_with_every_edge_but_the_sources_own_inversions(ws):
    """A concept sits at or above each prerequisite, stated or inferred; the only exceptions are edges between
    two stated layers that the sources themselves invert (the lint's 19 layer-inversion findings)."""
    from kg.inference.layers import LAYER_ORDER

    planning = ws.planning_graph(inf.USE_THRESHOLD).g
    cat = ws.catalog
    checked = inverted = 0
    for a, b in planning.edges():
        la, lb = cat.concepts[a].layer_with_flag()[0], cat.concepts[b].layer_with_flag()[0]
        assert la and lb, (a, b)  # every concept has a layer, stubs included
        checked += 1
        if LAYER_ORDER[lb] > LAYER_ORDER[la]:
            assert cat.concepts[a].layer and cat.concepts[b].layer, (a, la, b, lb)
            inverted += 1
    assert checked > 1500 and inverted == 19


def test_every_concept_has_a_level(ws):
    for c in ws.catalog.concepts.values():
        level, flagged = c.level_with_flag()
        assert level in ("beginner", "intermediate", "advanced"), c.id
        assert flagged == (c.level is None)


def test_no_concept_takes_more_than_five_percent_of_inferred_edges(ws):
    from collections import Counter

    targets = Counter(str(f.value) for c in ws.catalog.concepts.values() for f in c.inferred_prerequisites)
    assert max(targets.values()) <= 0.05 * sum(targets.values())


# ----------------------------------------------------------------- the outputs
def test_gap_marks_inferred_items_and_asserted_only_turns_them_off(ws):
    plan = GapFinder(ws).path("BM25")
    assert plan.missing and all(i.via_inferred for i in plan.missing)
    assert "sparse-retrieval" in {
        i.id for i in plan.missing
    }  # its genus: "BM25 is a sparse retrieval scoring function"
    for item in plan.missing:
        chain_conf = [
            ws.planning_graph(inf.USE_THRESHOLD).g.edges[a, b]["confidence"]
            for a, b in zip(item.why, item.why[1:], strict=False)
        ]
        assert item.confidence == min(chain_conf)
    assert GapFinder(ws, asserted_only=True).path("BM25").missing == []
    # More edges only add chains: the full plan at a lower threshold holds the full plan at the default
    # (capped plans need not: a nearer prerequisite can take a place).
    full = GapFinder(ws, full=True).path("BM25")
    lower = GapFinder(ws, min_confidence=0.05, full=True).path("BM25")
    assert {i.id for i in plan.missing} <= {i.id for i in full.missing} <= {i.id for i in lower.missing}


def test_hand_checked_theory_plans_are_unchanged_with_inference(ws):
    """Concepts with asserted prerequisites never get inferred ones, so theory plans stay as the sources say."""
    plan = GapFinder(ws).gap(["Cramér-Rao Bound"], set())
    assert [i.id for i in plan.missing] == [
        "basic-logic-and-proof-techniques",
        "sets-functions-and-relations",
        "common-probability-distributions",
        "differentiation-in-rn",
        "maximum-likelihood-estimation",
        "fisher-information",
    ]
    assert plan.total_minutes == 305 and not any(i.via_inferred for i in plan.missing)


def test_concept_json_keeps_asserted_and_inferred_apart(ws):
    c = ws.catalog.get("BM25")
    doc = c.document(ws.catalog.iri(c.id))
    assert c.layer is None and c.minutes is None  # no source states them ...
    assert doc["layer_inferred"] and doc["minutes_inferred"]  # ... so the document shows the inferred ones, flagged
    assert (doc["layer"], doc["minutes"]) == (c.inferred["layer"].value, c.inferred["minutes"].value)
    assert set(doc["inferred"]) >= {"layer", "minutes"}
    assert doc["inferred_prerequisites"] and all(p["confidence"] >= 0.05 for p in doc["inferred_prerequisites"])
    assert doc["inferred"]["level"]["value"] in ("beginner", "intermediate", "advanced")
    assert {r["id"] for r in doc["relations"]["broader"]} == {"sparse-retrieval"}


def test_bad_min_confidence(ws):
    from ckg.errors import CkgError

    with pytest.raises(CkgError, match="between 0 and 1"):
        GapFinder(ws, min_confidence=1.5)


# ---------------------------------------------------------------- evaluation
def test_held_out_evaluation_beats_the_nearest_neighbour_baseline(ws, vectors):
    """On hidden stated edges the model beats copying the nearest concept's prerequisites: in F1 at 0.1
    and at the default threshold (0.276 against 0.220), and at 0.15 in closure precision (0.538 against
    0.471), over the five seeds that BENCHMARKS.md reports. Closure precision falls as the threshold is
    lowered for plans (0.538 at 0.15, 0.457 at the default 0.11, about the baseline's): what plans gain
    in groups met, single edges lose in precision, which this test does not hide."""
    ids, vecs = vectors
    edges = [(e.source, e.target) for e in ws.catalog.edges()]
    thresholds = (0.1, inf.USE_THRESHOLD, 0.15)
    runs = [evaluate(ws.catalog.concepts, edges, ids, vecs, seed=s, thresholds=thresholds) for s in range(5)]
    assert all(r["hidden_edges"] >= 0.2 * len(edges) for r in runs)

    def mean(key: str, metric: str) -> float:
        return float(np.mean([r[key][metric] for r in runs]))

    assert mean("model@0.1", "f1") > mean("baseline-nearest", "f1")
    assert mean(f"model@{inf.USE_THRESHOLD}", "f1") > mean("baseline-nearest", "f1")
    assert mean("model@0.15", "closure_precision") > mean("baseline-nearest", "closure_precision")
    closure = [mean(f"model@{t}", "closure_precision") for t in thresholds]
    assert closure == sorted(closure) and closure[0] < closure[-1]


def test_held_out_predictions_are_the_hidden_concepts_edges(ws, vectors):
    """Only edges out of hidden concepts are scored: the stub-slug links added for every stub (which can
    never be a hidden edge) used to count as wrong predictions, 6 per seed."""
    ids, vecs = vectors
    edges = [(e.source, e.target) for e in ws.catalog.edges()]
    visible, hidden = split_edges(edges, 0.2, seed=0)
    sources = {a for a, _ in hidden}
    blind = {c: (x.model_copy(update={"layer": None}) if c in sources else x) for c, x in ws.catalog.concepts.items()}
    out = inf.infer(blind, visible, ids, vecs, targets=sources, store_threshold=0.1).edges
    stubs = {(e.source, e.target) for e in out if e.method == "stub-slug" and e.source not in sources}
    assert ("the-hessian-matrix", "jacobian-and-hessian") in stubs and len(stubs) == 8
    r = evaluate(ws.catalog.concepts, edges, ids, vecs, seed=0, thresholds=(0.1,))
    assert r["model@0.1"]["predicted"] == sum(e.source in sources for e in out) == len(out) - len(stubs)


def test_split_hides_whole_concepts_and_is_seeded():
    edges = [(f"c{i}", f"p{j}") for i in range(30) for j in range(i % 4 + 1)]
    visible, hidden = split_edges(edges, 0.2, seed=7)
    assert split_edges(edges, 0.2, seed=7) == (visible, hidden)
    assert len(hidden) >= 0.2 * len(edges) and set(visible) | hidden == set(edges)
    assert not {a for a, _ in hidden} & {a for a, _ in visible}


def test_value_evaluation_beats_the_majority_layer(ws, vectors):
    ids, vecs = vectors
    r = evaluate_values(ws.catalog.concepts, ids, vecs)
    assert r["layer_concepts"] == 296 and r["minutes_concepts"] == 356
    assert r["layer_exact"] > r["layer_majority_baseline"]


# ----------------------------------------------------------------- units
def test_edge_model_separates_a_toy_problem():
    from kg.inference.scoring import FEATURES, EdgeModel

    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, len(FEATURES)))
    y = (x[:, 0] + 0.1 * x[:, 1] > 0).astype(float)
    model = EdgeModel().fit(x, y)
    assert ((model.predict(x) > 0.5) == (y > 0.5)).mean() > 0.95
    assert set(model.weights()) == {"bias", *FEATURES}


def test_cycle_closing_candidates_are_skipped():
    """b requires a (asserted); a is bare and b is its obvious candidate, but a -> b would close a cycle."""
    concepts = {
        "a": Concept(id="a", label="Alpha Topic", definition="Builds on beta topic."),
        "b": Concept(id="b", label="Beta Topic", definition="About beta.", layer="1"),
        "c": Concept(id="c", label="Gamma Topic", definition="About gamma.", layer="1"),
        "d": Concept(id="d", label="Delta Topic", definition="About delta.", layer="0A"),
    }
    ids = ["a", "b", "c", "d"]
    vecs = np.eye(4, dtype=np.float32)
    vecs[0] = vecs[1] = np.array([1, 0, 0, 0], dtype=np.float32)
    edges = [("b", "a"), ("b", "d"), ("c", "b"), ("c", "d")]
    out = inf.infer(concepts, edges, ids, vecs, targets=["a"], store_threshold=0.0)
    assert ("a", "b") not in {(e.source, e.target) for e in out.edges}
    g = nx.DiGraph(edges + [(e.source, e.target) for e in out.edges])
    assert nx.is_directed_acyclic_graph(g)


def test_catalog_snapshot_round_trips_the_graph(ws, tmp_path):
    """The snapshot the build writes equals the catalog read from the graph, inferred facts included."""
    from kg.catalog import Catalog

    from_graph = Catalog(ws.store, ws.base_iri)
    snap = Catalog.from_snapshot(from_graph.snapshot(), ws.base_iri)
    assert snap.concepts == from_graph.concepts
    assert snap.modules == from_graph.modules and snap.path_links == from_graph.path_links
    assert ws.catalog.concepts == from_graph.concepts  # the workspace used the snapshot it verified
    assert snap.lookup("SVD") is not None and snap.lookup("SVD").id == from_graph.lookup("SVD").id


def test_a_snapshot_that_does_not_match_the_manifest_is_ignored(ws, tmp_path):
    import shutil

    from kg.workspace import Workspace

    home = tmp_path / "build"
    shutil.copytree(ws.settings.home, home)
    (home / "catalog.json").write_text('{"concepts": [], "modules": {}, "layer_order": {}, "path_links": []}')
    other = Workspace(type(ws.settings)(home=home, sources=ws.settings.sources))
    assert len(other.catalog.concepts) == 1191  # rebuilt from the graph, not the tampered file


@pytest.mark.parametrize("seed", range(5))
def test_incremental_order_refuses_exactly_the_cycle_closing_edges(seed):
    """The dynamic topological order decides each edge as a reachability search would."""
    import random

    rng = random.Random(seed)
    nodes = [f"n{i}" for i in range(60)]
    asserted = {(a, b) for a, b in (rng.sample(nodes, 2) for _ in range(80)) if a > b}  # acyclic: a > b only
    fast, slow = nx.DiGraph(asserted), nx.DiGraph(asserted)
    fast.add_nodes_from(nodes)
    slow.add_nodes_from(nodes)
    dag = Acyclic(fast)
    decisions = []
    for a, b in (rng.sample(nodes, 2) for _ in range(400)):
        expected = not nx.has_path(slow, b, a)
        if expected:
            slow.add_edge(a, b)
        decisions.append((dag.add(a, b), expected))
        order = dag.pos
        assert all(order[u] < order[v] for u, v in fast.edges)
    assert all(got == want for got, want in decisions)
    assert sum(want for _, want in decisions) > 100 and sum(not want for _, want in decisions) > 50
    assert set(fast.edges) == set(slow.edges) and nx.is_directed_acyclic_graph(fast)


def test_incremental_order_falls_back_on_a_cyclic_asserted_graph():
    dag = Acyclic(nx.DiGraph([("a", "b"), ("b", "a"), ("c", "d"), ("e", "e2")]))
    assert dag.pos is None
    assert dag.add("d", "e") and not dag.add("e", "c") and not dag.add("b", "a")


# ------------------------------------------------------- layers and plan support
def _voted(cid: str, layer: str) -> inf.InferredValue:
    return inf.InferredValue(cid, "layer", layer, 0.5, "neighbour-vote", "nearest: …")


def test_a_voted_layer_is_lowered_to_fit_a_stated_layer_that_requires_it():
    """Feature Importance (stated L2) requires Random Forest, which rests on Decision Tree: their votes
    (L3, L4, from look-alike interpretability topics) move down to L2, so the edges between them fit."""
    from kg.inference.values import consistent_layers

    concepts = {
        "fi": Concept(id="fi", label="Feature Importance", definition="x", layer="2"),
        "rf": Concept(id="rf", label="Random Forest", definition="x"),
        "dt": Concept(id="dt", label="Decision Tree", definition="x"),
        "prob": Concept(id="prob", label="Probability", definition="x", layer="1"),
    }
    graph = nx.DiGraph([("fi", "rf"), ("rf", "dt"), ("dt", "prob")])
    out = {v.concept: v for v in consistent_layers(concepts, [_voted("rf", "3"), _voted("dt", "4")], graph)}
    assert (out["rf"].value, out["dt"].value) == ("2", "2")
    assert "moved to fit the layers of what requires it" in out["dt"].evidence
    # and up: a voted layer below a prerequisite's rises to it (at most one above the deepest)
    out = {v.concept: v for v in consistent_layers(concepts, [_voted("rf", "0A"), _voted("dt", "0A")], graph)}
    assert (out["rf"].value, out["dt"].value) == ("1", "1")
    # down without a bound from above: at most one layer above its deepest prerequisite, and said so
    out = {v.concept: v for v in consistent_layers(concepts, [_voted("dt", "4")], nx.DiGraph([("dt", "prob")]))}
    assert out["dt"].value == "2" and out["dt"].evidence.endswith("moved to fit its prerequisites' layers")


def test_layer_bounds_come_only_through_the_edges_plans_use(ws):
    """A voted layer moved down "to fit the layers of what requires it" has a stated layer to show for it
    among its ancestors in the planning graph (stated edges and inferred ones at USE_THRESHOLD or more).
    The bounds once also ran through every stored guess below the threshold (the cycle check had added
    them to the graph): ReLU -> Deep Q-Network (0.09) held Deep Q-Network at layer 1, which dropped
    Deep Q-Network -> Q-Learning (L2), and Transfer Learning had no prerequisite at all."""
    planning = ws.planning_graph(inf.USE_THRESHOLD).g
    cat = ws.catalog
    moved = 0
    for cid, c in cat.concepts.items():
        v = c.inferred.get("layer")
        if v is None or not str(v.evidence).endswith("moved to fit the layers of what requires it"):
            continue
        moved += 1
        above = {cat.concepts[a].layer for a in nx.ancestors(planning, cid)}
        assert str(v.value) in above, (cid, v.value)
    assert moved > 50
    assert "q-learning" in planning.successors("deep-q-network")
    assert planning.out_degree("transfer-learning") > 0


def test_a_concept_s_own_words_survive_the_depth_estimate(ws):
    """ "A random forest is an ensemble of decision trees": both named concepts are direct prerequisites,
    although the neighbour vote estimates both deeper than Random Forest."""
    rf = ws.catalog.concepts["random-forest"]
    direct = {str(f.value): f for f in rf.inferred_prerequisites}
    assert {"ensemble-methods", "decision-tree"} <= set(direct)
    assert "mention" in direct["decision-tree"].method
    plan = {i.id for i in GapFinder(ws).path("Random Forest").missing}
    assert {"ensemble-methods", "decision-tree"} <= plan


def test_what_nearby_concepts_name_is_a_candidate_the_description_never_names(ws):
    """Self-attention's description never names "attention mechanism", but several of its nearest
    concepts do: the edge comes from them, and its evidence says which."""
    concept = ws.catalog.concepts["self-attention"]
    direct = {str(f.value): f for f in concept.inferred_prerequisites}
    edge = direct["attention-mechanism"]
    assert "nearby" in edge.method and "mention" not in edge.method
    assert "named or required by" in edge.evidence and "of its 20 nearest concepts" in edge.evidence
    assert edge.confidence >= inf.USE_THRESHOLD


def test_support_is_the_best_product_of_confidences():
    from kg.graph import PrereqGraph

    g = PrereqGraph(
        [
            ("t", "a", {"inferred": True, "confidence": 0.5}),
            ("a", "b", {"inferred": True, "confidence": 0.5}),
            ("t", "b", {"inferred": True, "confidence": 0.2}),
            ("b", "c", {"inferred": False, "confidence": None}),
            ("c", "d", {"inferred": True, "confidence": 0.1}),
        ],
        {},
    )
    assert g.support("t") == {"a": 0.5, "b": 0.25, "c": 0.25, "d": 0.025}


def test_plans_drop_weakly_supported_chains_but_never_stated_ones(ws):
    from kg.graph import PLAN_SIZE, PLAN_SUPPORT

    finder = GapFinder(ws)
    pruned = capped = 0
    for target in ("random-forest", "t-sne", "graph-convolutional-network", "confusion-matrix", "react"):
        support = finder.graph.support(target)
        path = finder.path(target)
        plan = {i.id for i in path.missing}
        supported = {n for n, s in support.items() if s >= PLAN_SUPPORT}
        assert plan <= supported <= finder.graph.prerequisites(target)
        assert len(plan) <= PLAN_SIZE and len(plan) + path.omitted == len(supported)
        pruned += len(finder.graph.prerequisites(target) - supported)
        capped += path.omitted
    assert pruned > 0 and capped > 0  # weak chains exist and are cut; long plans keep their nearest 20
    # Stated chains count 1: a theory topic's plan is its whole stated closure (a concept may be listed
    # under its same-topic partner: linear-regression-basics stands for linear-regression in Double Descent).
    stated = GapFinder(ws, asserted_only=True)
    for target in ("Cramér-Rao Bound", "Double Descent"):
        listed = {n for i in finder.path(target).missing for n in (i.id, *i.same_as)}
        assert listed >= {i.id for i in stated.path(target).missing}


def test_nearest_members_read_off_the_shared_search_equal_their_own_search(ws, vectors):
    """Teachers, layered and timed concepts' neighbours come from the one search of every described
    concept where its lists hold them, else from their own search: the answer is the same either way."""
    from kg.inference.neighbours import Neighbours, subset_neighbours
    from kg.inference.taxonomy import described_neighbours

    ids, vecs = vectors
    concepts = ws.catalog.concepts
    row = {c: i for i, c in enumerate(ids)}
    shared = described_neighbours(concepts, ids, vecs, 32)
    live = sorted(shared)
    kinds = {
        "layer": [c for c in sorted(concepts) if concepts[c].layer],  # 296 of ~1,200: many lists lack 7
        "minutes": [c for c in sorted(concepts) if concepts[c].minutes is not None],
        "every third": live[::3],
    }
    for name, members in kinds.items():
        queries = [c for c in live if c not in set(members)][:400] + members[:50]
        got = subset_neighbours(ids, vecs, members, queries, 7, shared=shared)
        want = Neighbours(ids, vecs, members).all_of(queries, vecs[[row[q] for q in queries]], 7)
        assert list(got) == queries, name
        # the same members in the same order; similarities equal up to float summation order (FAISS sums
        # a dot product in blocks that depend on the matrix searched)
        assert {q: [n for n, _ in v] for q, v in got.items()} == {q: [n for n, _ in v] for q, v in want.items()}, name
        assert all(abs(a[1] - b[1]) < 1e-5 for q in queries for a, b in zip(got[q], want[q], strict=True)), name
    # members outside the shared lists (a stub with a vector would be one): answered by their own search
    outside = subset_neighbours(ids, vecs, live[:5], live[5:20], 3, shared={c: shared[c] for c in live[3:]})
    alone = Neighbours(ids, vecs, live[:5]).all_of(live[5:20], vecs[[row[q] for q in live[5:20]]], 3)
    assert {q: [n for n, _ in v] for q, v in outside.items()} == {q: [n for n, _ in v] for q, v in alone.items()}


def test_approximate_neighbours_rescore_exactly_and_find_nearly_all(ws, vectors, monkeypatch):
    """Above APPROXIMATE_ABOVE members the search is an inverted file over 8-bit codes whose shortlist the
    float vectors re-score: every similarity handed on is the true cosine, and on the real vectors the
    approximate lists hold almost all of the exact ones (0.977 of 20 nearest, as IVF-Flat's did)."""
    import numpy as np

    import kg.inference.neighbours as nb

    ids, vecs = vectors
    row = {c: i for i, c in enumerate(ids)}
    monkeypatch.setattr(nb, "APPROXIMATE_ABOVE", 100)
    approx = nb.Neighbours(ids, vecs, ids).all_of(ids, vecs, 20)
    exact = nb.Neighbours(ids, vecs, ids, approximate=False).all_of(ids, vecs, 20)
    assert all(cid not in {n for n, _ in approx[cid]} for cid in ids)
    assert all(abs(s - float(np.dot(vecs[row[cid]], vecs[row[n]]))) < 1e-5 for cid in ids for n, s in approx[cid])
    assert all([s for _, s in v] == sorted((s for _, s in v), reverse=True) for v in approx.values())
    found = sum(len({n for n, _ in approx[c]} & {n for n, _ in exact[c]}) for c in ids)
    assert found / (20 * len(ids)) > 0.95


def test_refd_weighs_each_side_by_its_own_neighbours_leaving_the_other_out():
    """RefD(x, y) = share of x's nearest concepts (weighted by similarity, y left out, negative
    similarities counting 0) that refer to y, minus the same share for y's neighbours and x."""
    from kg.inference.scoring import Evidence

    ev = Evidence.__new__(Evidence)
    ev.near = {
        "x": [("a", 0.9), ("b", 0.5), ("y", 0.4), ("d", -0.2)],
        "y": [("c", 0.8), ("x", 0.6), ("e", 0.2)],
    }
    ev._refers = {("a", "y"), ("c", "x"), ("e", "x"), ("y", "x")}
    # x's side: y left out, d weighs 0; of a (0.9) and b (0.5) only a refers to y
    assert ev._side("x", "y") == pytest.approx(0.9 / 1.4)
    # y's side: x left out; c and e both refer to x
    assert ev._side("y", "x") == pytest.approx(1.0)
    assert ev.refd("x", "y") == pytest.approx(0.9 / 1.4 - 1.0)
    assert ev._side("x", "nobody") == 0.0 and ev._side("unknown", "x") == 0.0

"""One curriculum graph across all five sources (issue #17): mentions, taxonomy, titles, merges, outputs.

Unit tests use the real ingest (no model); the end-to-end ones the indexed build.
"""

from __future__ import annotations

import pytest

from ingest.concepts import Concept, SourceRef
from kg.inference.cues import direction
from kg.inference.mentions import MentionIndex, concept_mentions
from kg.inference.taxonomy import broader_relations, genus


def _c(cid: str, label: str, *alts: str, text: str | None = None) -> Concept:
    sources = [SourceRef(source="topic-wiki", file="topic-wiki.txt", line=1, title=label, description=text)]
    return Concept(id=cid, label=label, alt_labels=list(alts), sources=sources)


TOY = {
    "dt": _c("dt", "Decision Tree"),
    "sg": _c("sg", "Sub-Gaussian Random Variables"),
    "pca": _c("pca", "Principal Component Analysis", "PCA"),
    "tr": _c("tr", "Transformer Architecture"),
    "wm": _c("wm", "World Model"),
    "adam": _c("adam", "Adam"),
    "bias": _c("bias", "Bias"),
    "rope": _c("rope", "Rotary Positional Embedding", "RoPE"),
    "att": _c("att", "Attention Mechanism"),
    "prec": _c("prec", "Precision"),
    "kern": _c("kern", "Kernel Methods"),
    "align": _c("align", "Alignment", "AI", "Alignment (AI)"),
    "cal": _c("cal", "Calibration"),
    "llm": _c("llm", "Large Language Model", "LLM"),
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("an ensemble of decision trees", {"dt"}),  # plural
        ("subgaussian random variables and sub gaussian random variables", {"sg"}),  # hyphen / space / glued
        ("we run PCA first", {"pca"}),  # acronym, case-sensitive
        ("a pca-like trick", set()),  # lower-case acronym is a word, not the name
        ("context of RoPE-based models", {"rope"}),  # an acronym inside a hyphenated word
        ("PCA-based features", {"pca"}),
        ("a PCA-free pipeline", set()),  # a contrast, not a dependency
        ("ROPE-based", set()),  # still as written
        ("the transformer replaced recurrence", {"tr"}),  # generic head "architecture" dropped
        ("a small world of agents", set()),  # but "model" is not dropped to a bare common noun
        ("Adam keeps moving averages; adam is a name", {"adam"}),  # short names only as written
        ("the bias of the estimator", set()),  # one short word is too ambiguous
        # everyday English "attention" (AdaBoost's and conditional probability's descriptions) is no mention
        ("misclassified examples receive more attention", set()),
        ("after restricting attention to cases where another event occurred", set()),
        ("self-attention computes attention over all tokens", {"att"}),
        # a word in another sense, told by its neighbour word (IDIOMS); the concept's own sense still names it
        ("simulates low-precision arithmetic during training", set()),
        ("the harmonic mean of precision and recall", {"prec"}),
        ("fuses the operations into a single kernel launch on the GPU", set()),
        ("writing high-performance GPU kernels", set()),
        ("given a kernel k and noisy observations", {"kern"}),
        ("the alignment between input and output sequences", set()),
        ("preference data for alignment of chat models", {"align"}),
        ("the inverse Hessian of a small calibration set", set()),
        ("it improves probability calibration on a validation set", {"cal"}),
        ("LLMs are trained on web text", {"llm"}),  # an acronym in the plural
        ("LLMS", set()),  # but only as written
        ("generative AI and conversational AI systems", set()),  # "Alignment (AI)": AI qualifies, not abbreviates
    ],
)
def test_mention_variants(text, expected):
    assert {cid for cid, _ in MentionIndex(TOY).find(text)} == expected


LISTS = {
    "jh": _c("jh", "Jacobian and Hessian"),
    "sfr": _c("sfr", "Sets, Functions, and Relations"),
    "pe": _c("pe", "Poisson and Exponential Distributions"),
    "rlb": _c("rlb", "Reinforcement Learning Environments and Benchmarks"),
    "tpp": _c("tpp", "Tensor and Pipeline Parallelism"),
    "tp": _c("tp", "Tensor Parallelism"),
    "dare": _c("dare", "DARE", "Drop And REscale"),
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("uses the inverse Hessian of the loss", {"jh"}),  # a listed term of art names its list
        ("the Jacobian determinant", {"jh"}),
        ("maps functions to functions", set()),  # everyday English names nothing ("functions" is a whole word)
        ("counts arrivals with a Poisson distribution", {"pe"}),  # modifier + the head it shares
        ("public benchmarks such as MMLU", set()),  # after a phrase a one-word part may share its modifier
        ("shards each layer with tensor parallelism", {"tp"}),  # an existing name keeps naming its concept alone
        ("it rescales the logits", set()),  # only the preferred label's list, not an acronym's expansion
    ],
)
def test_listed_terms_name_their_list(text, expected):
    assert {cid for cid, _ in MentionIndex(LISTS).find(text)} == expected


def test_common_listed_terms_name_nothing():
    """A term most descriptions use is too common to point at one list title (MAX_TERM_SHARE)."""
    many = {f"d{i}": _c(f"d{i}", f"Topic {i}", text="the hessian matters") for i in range(3)}
    concepts = {"jh": LISTS["jh"], **many, **{f"q{i}": _c(f"q{i}", f"Quiet {i}", text="no match") for i in range(40)}}
    assert MentionIndex(concepts).find("the Hessian") == []
    assert MentionIndex({"jh": LISTS["jh"]}).find("the Hessian") == [("jh", "hessian")]


def test_listed_terms_on_real_descriptions(ingested):
    """Principal Component Analysis names covariance (the issue's example), GPTQ the Hessian; nothing
    names "Sets, Functions, and Relations" by the word "functions"."""
    said = {(m.source, m.target): m.phrase for m in concept_mentions({c.id: c for c in ingested.concepts})}
    assert said[("principal-component-analysis", "expectation-variance-covariance-and-moments")] == "covariance"
    assert said[("gptq-quantization", "jacobian-and-hessian")].lower() == "hessian"
    assert not any(t == "sets-functions-and-relations" and p.lower() == "functions" for (_, t), p in said.items())


def test_partial_names_weigh_the_rare_words_of_a_label():
    """A text naming part of a label (its rare words) is a candidate; a label that extends the concept's own
    is narrower and never one; a word most labels use opens nothing."""
    from kg.inference.partial import partial_names

    concepts = {
        "ln": _c("ln", "Layer Normalization"),
        "db": _c("db", "Decoder Block", text="Self-attention and an MLP, wrapped with residuals and normalization."),
        "dl": _c("dl", "Data Leakage", text="Target leakage is one kind of data leakage."),
        "tl": _c("tl", "Target Leakage vs. Data Leakage"),
        **{f"m{i}": _c(f"m{i}", f"Model {i}") for i in range(60)},  # "model" is in most labels
        "mx": _c("mx", "Mixture Model", text="A model of models."),
    }
    found = partial_names(concepts)
    assert found["db"] == {"ln": 0.5}  # "normalization" of the two equally rare words
    assert "tl" not in found.get("dl", {})  # the longer label names a narrower topic
    assert found["tl"]["dl"] == 1.0  # the other way round it is a candidate
    assert not any(t.startswith("m") for t in found.get("mx", {}))  # "model" opens no candidate


def test_partial_names_on_real_descriptions(ingested):
    from kg.inference.partial import partial_names

    found = partial_names({c.id: c for c in ingested.concepts})
    assert {"layer-normalization", "residual-connection"} <= found["decoder-block"].keys()
    assert {"gradient-descent", "stochastic-gradient-descent"} <= found["mini-batch-gradient-descent"].keys()
    assert "target-leakage-vs-data-leakage" not in found["data-leakage"]


def test_longest_mention_wins():
    concepts = {"a": _c("a", "Attention Mechanism"), "t": _c("t", "Attention Mechanism Theory")}
    assert [cid for cid, _ in MentionIndex(concepts).find("attention mechanism theory explains it")] == ["t"]


def test_mentions_read_every_record_with_evidence(ingested):
    concepts = {c.id: c for c in ingested.concepts}
    said = {(m.source, m.target): m for m in concept_mentions(concepts)}
    m = said[("random-forest", "decision-tree")]
    assert (m.file, m.line, m.phrase) == ("topic-wiki.txt", 182, "decision trees")
    assert ("bm25", "tf-idf") in said
    # A merged concept is read in all its records: the theory topic and its wiki entry.
    assert any(k[0] == "transformer-architecture" and said[k].file == "topic-wiki.txt" for k in said)


@pytest.mark.parametrize(
    ("text", "phrase", "expected"),
    [
        # the named concept builds on the described one
        ("It is the mathematical principle that backpropagation applies at scale.", "backpropagation", -1),
        ("The workhorses behind PAC / generalization proofs.", "generalization", -1),
        # what the described concept runs throughout builds on it
        (
            "It is the principle that backpropagation applies at scale throughout a neural network.",
            "neural network",
            -1,
        ),
        ("TRPO is solved by natural-gradient + line search; PPO is its first-order clipped approximation.", "PPO", -1),
        ("This is the mathematical substrate of score-based diffusion models.", "diffusion models", -1),
        # what the described concept makes possible builds on it: both halves of the cue are needed
        ("It makes deep learning practical because it reuses work.", "deep learning", -1),
        ("This made modern LLM scaling practical.", "LLM", -1),
        ("It makes deep learning models smaller.", "deep learning", 0),
        # a cue reaches a few words only: the fourth item of a list is not "the substrate of" anything
        ("This is the substrate of score-based diffusion models, flow matching, and SDEs.", "flow matching", 0),
        # the described concept builds on the named one
        ("DQN parameterises Q by a CNN and trains it by Q-learning on mini-batches.", "Q-learning", 1),
        ("xLSTM is a family of modern LSTM variants that adds exponential gating.", "LSTM", 1),
        ("Scheduling combined with PagedAttention raises throughput.", "PagedAttention", 1),
        ("A Transformer-based encoder.", "Transformer", 1),
        # no cue, or a cue in another sentence
        ("Random forests average many decision trees.", "decision trees", 0),
        ("It is used widely. Decision trees are simple.", "decision trees", 0),
        ("Nothing here names it.", "decision trees", 0),
    ],
)
def test_sentence_cues_say_which_way_a_mention_points(text, phrase, expected):
    assert direction(text, phrase) == expected


def test_cues_on_real_descriptions_orient_mutual_mentions(ingested):
    """Chain rule and backpropagation name each other; only the sentences say which comes first."""
    concepts = {c.id: c for c in ingested.concepts}
    said = {(m.source, m.target): m for m in concept_mentions(concepts)}
    assert said[("chain-rule", "backpropagation")].cue < 0  # "the principle that backpropagation applies"
    assert said[("backpropagation", "chain-rule")].cue > 0  # "by applying the chain rule"
    assert said[("chain-rule", "neural-network")].cue < 0  # "... applies at scale throughout a neural network"
    assert said[("trust-region-policy-optimization", "proximal-policy-optimization")].cue < 0
    assert said[("random-forest", "decision-tree")].cue == 0
    # "It makes deep learning practical": deep learning builds on backpropagation, not the other way round
    assert said[("backpropagation", "deep-learning")].cue < 0


@pytest.mark.parametrize(
    ("cid", "broader"),
    [
        ("random-forest", "ensemble-methods"),  # "A random forest is an ensemble of decision trees"
        ("bm25", "sparse-retrieval"),  # "BM25 is a sparse retrieval scoring function"
        ("binary-cross-entropy", "cross-entropy"),
        ("decoder-only-transformer", "transformer-architecture"),
        # definitions that leave out their subject
        ("self-paced-learning", "curriculum-learning"),  # "A curriculum-learning variant where ..."
        ("gibbs-sampling", "metropolis-hastings-algorithm"),  # "A special case of Metropolis–Hastings"
        ("rejection-sampling-fine-tuning", "alignment"),  # "An offline alignment method"
        ("u-net-architecture", "encoder-decoder-architecture"),  # "A fully-convolutional encoder–decoder with"
    ],
)
def test_genus_from_real_definitional_sentences(ingested, cid, broader):
    concepts = {c.id: c for c in ingested.concepts}
    g = genus(concepts[cid], MentionIndex(concepts))
    assert g is not None and g.target == broader and g.kind == "broader"
    assert g.evidence.startswith("topic-wiki.txt:")


@pytest.mark.parametrize(
    "cid",
    [
        "decision-tree",  # "A decision tree predicts by ...": the subject written out
        "value-function",  # "A value function estimates ..." (Bellman Equation and Value Functions is no genus)
        "adaptive-learning-rate-optimizers",  # "A single global learning rate is suboptimal": a clause
        "lottery-ticket-hypothesis",  # "A dense randomly-initialised neural network contains ...": a clause
        "q-learning",  # "an off-policy reinforcement learning algorithm" is no kind of Policy (Reinforcement Learning)
    ],
)
def test_no_genus_from_sentences_that_only_open_with_an_article(ingested, cid):
    concepts = {c.id: c for c in ingested.concepts}
    assert genus(concepts[cid], MentionIndex(concepts)) is None


def test_a_concept_never_requires_a_kind_of_itself(indexed):
    """Curriculum Learning names its variant ("Self-paced learning, anti-curriculum, ..."): the variant
    requires it, not the other way round; likewise Attention Head and Induction Heads."""
    cat = indexed[0].catalog
    broader = {(c.id, str(f.value)) for c in cat.concepts.values() for f in c.relations.get("broader", [])}
    prereq = {(c.id, str(f.value)) for c in cat.concepts.values() for f in c.inferred_prerequisites}
    assert not {(b, a) for a, b in broader} & prereq
    assert ("self-paced-learning", "curriculum-learning") in prereq
    assert ("induction-heads", "attention-head") in broader


def test_broader_relations_are_sorted_and_never_reflexive(ingested):
    concepts = {c.id: c for c in ingested.concepts}
    rels = broader_relations(concepts, MentionIndex(concepts))
    assert len(rels) > 50 and all(r.source != r.target for r in rels)
    assert [r.source for r in rels] == sorted(r.source for r in rels)


@pytest.mark.parametrize(
    ("line", "title"),
    [
        (225, "LoRA Adapter"),
        (454, "Variance, Covariance and Correlation"),
        (506, "Positive (Semi-)Definite Matrices"),
        (587, "GAN Family: WGAN, StyleGAN, BigGAN"),
    ],
)
def test_wiki_titles_once_cut_wrongly(ingested, line, title):
    rec = next(r for r in ingested.records if r.source == "topic-wiki" and r.locator.line == line)
    assert rec.title == title
    assert not rec.description.lower().startswith(title.lower()[-3:])  # nothing of the title left behind


def test_stub_slugs_resolve_to_the_real_concept(ingested):
    ids = {c.id for c in ingested.concepts}
    assert "gradient-boosting" not in ids and "metropolis-hastings" not in ids
    gbm = next(c for c in ingested.concepts if c.id == "gradient-boosting-machines")
    assert not gbm.stub


def test_merges_are_explained_with_both_rules(ingested):
    merge = next(m for m in ingested.report.merges if m.concept == "transformer-architecture")
    assert "generic-head+normalized: transformer" in merge.rules


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        # one topic written twice: other word forms, extras in parentheses, "X and Y" / "X & Y" / "X: Y"
        ("Learning Rate Schedule", "Learning Rate Scheduling", True),
        ("Federated Learning", "Federated Learning (FedAvg)", True),
        ("Mixed Precision Training", "Mixed-Precision Training (FP16, BF16, FP8)", True),
        ("Model Compression", "Model Compression and Pruning", True),
        ("Differential Privacy", "Differential Privacy & DP-SGD", True),
        ("Multi-Armed Bandits", "Multi-Armed Bandits: ε-Greedy, UCB, Thompson Sampling", True),
        # a kind and its subtype, a field and a method in it, one word: different topics
        ("Principal Component Analysis", "Kernel PCA", False),
        ("Markov Decision Processes", "Semi-Markov Decision Processes", False),
        ("Mechanistic Interpretability", "Sparse Autoencoder (Mechanistic Interpretability)", False),
        ("Diffusion Models", "Denoising Diffusion Probabilistic Models", False),
        ("Token", "Tokenization", False),
        ("Attention Mechanism", "Attention Mechanism Theory", False),
    ],
)
def test_titles_written_twice(a, b, same):
    from kg.inference.taxonomy import _written_twice

    one, two = Concept(id="a", label=a), Concept(id="b", label=b)
    assert _written_twice(one, two) is same and _written_twice(two, one) is same


def test_one_topic_written_twice_is_linked_not_a_prerequisite_of_itself(indexed):
    """Issue #17: "Red-Teaming" required "Red-Teaming and Adversarial Evaluation" (0.999), Federated
    Learning (FedAvg) required Federated Learning; they are one topic each, linked as such."""
    cat = indexed[0].catalog
    same = {(c.id, str(f.value)) for c in cat.concepts.values() for f in c.relations.get("same_topic", [])}
    prereq = {(c.id, str(f.value)) for c in cat.concepts.values() for f in c.inferred_prerequisites}
    for a, b in [
        ("red-teaming", "red-teaming-and-adversarial-evaluation"),
        ("federated-learning", "federated-learning-fedavg"),
        ("learning-rate-schedule", "learning-rate-scheduling"),
        ("mixed-precision-training", "mixed-precision-training-fp16-bf16-fp8"),
    ]:
        assert (a, b) in same and (b, a) in same, (a, b)
        assert (a, b) not in prereq and (b, a) not in prereq, (a, b)
    assert ("markov-decision-processes", "semi-markov-decision-processes") not in same
    # and another record of its own topic is not its genus ("Red-teaming is adversarial evaluation")
    broader = {(c.id, str(f.value)) for c in cat.concepts.values() for f in c.relations.get("broader", [])}
    assert not broader & same


def test_deep_names_a_kind_of_its_own_unless_it_is_a_deep_dive(indexed):
    """ "Deep" once counted as a minor extra word (for "X: Deep Dive"), which made Deep Q-Learning one topic
    with Q-Learning and a deep neural network one with a neural network: each plan then dropped the other
    as its own double. Now they are prerequisites; "Deep Dive" titles stay one topic with their subject."""
    cat = indexed[0].catalog
    same = {(c.id, str(f.value)) for c in cat.concepts.values() for f in c.relations.get("same_topic", [])}
    prereq = {(c.id, str(f.value)) for c in cat.concepts.values() for f in c.inferred_prerequisites}
    for kind, base in [("deep-q-learning", "q-learning"), ("deep-neural-network", "neural-network")]:
        assert (kind, base) not in same and (base, kind) not in same
        assert (kind, base) in prereq
    assert ("confusion-matrix", "confusion-matrix-deep-dive") in same
    assert (
        "reinforcement-learning-from-human-feedback",
        "reinforcement-learning-from-human-feedback-deep-dive",
    ) in same


# ---------------------------------------------------------------- end to end


@pytest.mark.slow
def test_same_topic_pairs_are_linked_and_never_both_in_a_plan(indexed):
    ws = indexed[0]
    cat = ws.catalog
    same = {(c.id, str(f.value)) for c in cat.concepts.values() for f in c.relations.get("same_topic", [])}
    assert ("linear-regression", "linear-regression-basics") in same
    assert ("rlhf-and-alignment", "reinforcement-learning-from-human-feedback") in same
    from retrieval.gap import GapFinder

    finder = GapFinder(ws)
    for cid in sorted(cat.concepts)[:400]:
        ids = {i.id for i in finder.path(cid).missing} | {cid}
        assert not any((a, b) in same for a in ids for b in ids if a < b), cid


@pytest.mark.slow
def test_inferred_edges_and_values_reach_parquet_and_graphml(indexed, tmp_path):
    import networkx as nx
    import pyarrow.parquet as pq

    from kg.export import write_graphml

    ws = indexed[0]
    edges = pq.read_table(ws.settings.home / "edges.parquet").to_pylist()
    inferred = [e for e in edges if e["inferred"]]
    assert len(edges) - len(inferred) == 406
    assert len(inferred) == sum(len(c.inferred_prerequisites) for c in ws.catalog.concepts.values())
    assert all(e["evidence"] and 0 < e["confidence"] <= 1 for e in inferred)
    concepts = {r["id"]: r for r in pq.read_table(ws.settings.home / "concepts.parquet").to_pylist()}
    bm25 = concepts["bm25"]
    assert bm25["layer"] and bm25["layer_inferred"] and bm25["level_inferred"] and bm25["minutes_inferred"]
    assert [s["file"] for s in bm25["sources"]] == ["topic-wiki.txt", "working-notes.txt"]
    assert all(isinstance(s["line"], int) for s in bm25["sources"])
    assert concepts["vc-dimension"]["layer"] == "2" and not concepts["vc-dimension"]["layer_inferred"]
    write_graphml(ws.catalog, tmp_path / "g.graphml")
    g = nx.read_graphml(tmp_path / "g.graphml")
    # drawn as the pictures: the prerequisite first (vc-dimension requires concentration-inequalities)
    assert g.has_edge("concentration-inequalities", "vc-dimension") and not g.has_edge(
        "vc-dimension", "concentration-inequalities"
    )
    vc = g.nodes["vc-dimension"]
    assert vc["iri"].endswith("/concept/vc-dimension") and vc["sources"].startswith("theory-library.txt:")
    e = next((a, b, d) for a, b, d in g.edges(data=True) if d["inferred"])
    assert e[2]["evidence"] and e[2]["confidence"] < 1
    assert "minutes" not in g.nodes["graph-neural-networks"]  # a stub's unknown minutes are absent, not 0


@pytest.mark.slow
def test_two_builds_of_the_same_sources_are_byte_identical(indexed, tmp_path):
    from ckg.config import Settings
    from kg.workspace import build

    ws = indexed[0]
    again = Settings(home=tmp_path / "build", sources=ws.settings.sources)
    # Same embedding cache as the first build (the cache lives beside the home).
    import shutil

    shutil.copytree(ws.settings.embedding_cache_path.parent, again.embedding_cache_path.parent)
    build(again, index=True)
    for name in ("dataset.nq", "catalog.json", "edges.parquet", "concepts.parquet"):
        assert (again.home / name).read_bytes() == (ws.settings.home / name).read_bytes(), name


@pytest.mark.slow
def test_plan_evaluation_reports_each_split(indexed):
    from retrieval.gap import GapFinder
    from retrieval.plan_eval import evaluate_plans, load_plans

    gold = load_plans()
    assert len(gold) == 234 and {g.split for g in gold} == {"dev", "test"}
    report = evaluate_plans(GapFinder(indexed[0]), gold)
    splits = {s.split: s for s in report.splits}
    assert set(splits) == {"dev", "test", "all"} and splits["all"].targets == 234
    assert all(not r.unresolved for r in report.results)  # every gold id still names a concept
    # Measured 0.71 / 0.59 (pre-#17 inference: 0.29 / 0.27): a floor against regressions, not the goal (0.90).
    assert splits["dev"].group_recall >= 0.6 and splits["test"].group_recall >= 0.5
    assert splits["all"].median_plan <= 20
    assert splits["all"].wrong_per_20_plans <= 2.0  # measured 0 dev, 1.4 test; the goal is 1


def test_the_build_resolves_the_expert_set_with_the_resolvers_matcher(catalog, ingested):
    """The build hands the resolver's slug matcher to the gold set's resolution instead of building a second
    (19 s at 100k concepts); on every reference of the plan gold set it resolves as the catalog's own."""
    from kg.workspace import _expert
    from retrieval.plan_eval import load_plans

    matcher = ingested.resolution.matcher
    assert matcher is not None
    refs = {x for g in load_plans() for x in [g.target, *g.wrong, *(m for grp in g.groups for m in grp)]}
    fuzzy = {r for r in refs if catalog.lookup(r) is None and catalog.lookup(r.replace("-", " ")) is None}
    assert sorted(fuzzy) == ["gradient-boosting", "metropolis-hastings"]  # the two the slug rules resolve
    assert {r: catalog.resolve_gold(r, matcher) for r in refs} == {r: catalog.resolve_gold(r) for r in refs}
    assert _expert(catalog, matcher) == _expert(catalog)


def test_only_the_dev_split_trains_the_expert_model(catalog):
    """The test split of the plan gold set never reaches the build: it stays a held-out measure."""
    from kg.workspace import _expert
    from retrieval.plan_eval import load_plans

    expert = _expert(catalog)
    gold = load_plans()
    dev = {catalog.resolve_gold(g.target) for g in gold if g.split == "dev"}
    test = {catalog.resolve_gold(g.target) for g in gold if g.split == "test"}
    assert set(expert) == dev and not set(expert) & test and len(dev) == 123

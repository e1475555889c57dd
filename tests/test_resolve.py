"""Concept resolution: hand-checked merges and non-merges, ids, labels, round trips."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.concepts import Concept
from ingest.resolve import SlugMatcher, vocabulary
from ingest.segment import Segmenter
from ingest.text import words

# (concept id, preferred label, every "file:line" merged into it) - read from the sources.
MERGES = [
    (
        "singular-value-decomposition",
        "Singular Value Decomposition",
        {"theory-library.txt:147", "topic-wiki.txt:70", "working-notes.txt:173"},
    ),
    ("bias-variance-tradeoff", "Bias-Variance Tradeoff", {"theory-library.txt:624", "topic-wiki.txt:5"}),
    ("kl-divergence", "KL Divergence", None),
    ("empirical-risk-minimization", "Empirical Risk Minimization", None),
    ("neural-tangent-kernel", "Neural Tangent Kernel", None),
    ("actor-critic-methods", "Actor-Critic Methods", None),
    ("catastrophic-forgetting", "Catastrophic Forgetting", None),
    ("large-language-model", "Large Language Model", None),
    ("convolutional-neural-networks", "Convolutional Neural Networks", None),
    ("rotary-positional-embedding", "Rotary Positional Embedding", None),
    ("principal-component-analysis", "Principal Component Analysis", None),
    ("loss-function", "Loss function", None),
    # "Transformer" (wiki) is the theory topic "Transformer Architecture" without its generic head noun.
    ("transformer-architecture", "Transformer Architecture", None),
    ("generalized-advantage-estimation", "Generalized Advantage Estimation", None),
    ("markov-decision-processes", "Markov Decision Processes", None),
    ("positive-semidefinite-matrices", "Positive Semidefinite Matrices", None),
    ("long-short-term-memory", "Long short-term memory", None),
    ("root-mean-square-normalization", "Root Mean Square Normalization", None),
    ("the-bitter-lesson", "The Bitter Lesson", None),
    ("attention-mechanism", "Attention Mechanism", None),
    ("test-time-compute-scaling", "Test-time Compute Scaling", None),
    ("vllm-and-continuous-batching", "vLLM and Continuous Batching", None),
    ("support-vector-machine", "Support Vector Machine", None),
    ("gaussian-mixture-models", "Gaussian Mixture Models", None),
    ("energy-based-models", "Energy-Based Models", None),
    ("capsule-networks", "Capsule Networks", None),
    (
        "flash-attention",
        "Flash Attention",
        {"theory-library.txt:1038", "concept-library.txt:132", "topic-wiki.txt:279"},
    ),
    ("proximal-policy-optimization", "Proximal Policy Optimization", {"topic-wiki.txt:34", "working-notes.txt:185"}),
    ("reinforcement-learning-from-human-feedback", "Reinforcement Learning from Human Feedback", None),
]

# Labels each merged concept must carry (alt labels include the other spellings).
ALT_LABELS = {
    "singular-value-decomposition": {"SVD", "Singular Value Decomposition (SVD)"},
    "bias-variance-tradeoff": {"Bias–variance tradeoff"},
    "catastrophic-forgetting": {"What is catastrophic forgetting?"},
    "large-language-model": {"LLM", "What is a Large Language Model?", "Large Language Model (LLM)"},
    "principal-component-analysis": {"PCA", "Principle Component Analysis (PCA)"},
    "long-short-term-memory": {"LSTM"},
    "rotary-positional-embedding": {"RoPE", "Rotary Position Embeddings (RoPE)"},
    "proximal-policy-optimization": {"PPO", "PPO - Proximal Policy Optimization"},
    "flash-attention": {"FlashAttention"},
}

# Pairs of labels that must stay different concepts.
NON_MERGES = [
    ("Attention Mechanism", "Attention Mechanism Theory"),
    ("KV Cache", "KV Cache Optimization"),
    ("In-Context Learning", "In-Context Learning Mechanisms"),  # plural "mechanisms" is no generic head
    ("Confusion Matrices and Classification Metrics", "Confusion Matrix Deep Dive"),
    ("Attention Mechanisms History", "Attention Mechanism"),
    ("Load Balancing (MoE)", "Mixture of Experts"),
    ("Scaling Laws", "Scaling Compute-Optimal Training"),
    ("Kernel PCA", "Principal Component Analysis (PCA)"),
    ("Luong Attention (Global and Local)", "Bahdanau Attention"),
    ("Regularization Theory", "Regularization in Practice"),
    ("Causal Inference Basics", "Causal Inference and the Ladder of Causation"),
    ("Neural ODEs and Continuous-Depth Networks", "Continuous Thought Machines"),
    ("FlashAttention", "FlashAttention-2 and FlashAttention-3"),
    ("Information Bottleneck", "Information Bottleneck Theory"),
]


@pytest.fixture(scope="module")
def concepts(ingested):
    return {c.id: c for c in ingested.concepts}


@pytest.fixture(scope="module")
def by_title(ingested):
    out = {}
    for rec in ingested.records:
        out.setdefault(rec.title, ingested.resolution.placement[str(rec.locator)])
    return out


def test_totals(ingested):
    report = ingested.report
    assert report.concepts == 1191
    assert len(report.merges) == 94
    assert len(report.stubs) == 11
    assert [s.records_read for s in report.sources] == [296, 67, 757, 168, 18]
    assert all(s.balanced for s in report.sources)


@pytest.mark.parametrize(("cid", "label", "records"), MERGES, ids=[m[0] for m in MERGES])
def test_merge(concepts, ingested, cid, label, records):
    c = concepts[cid]
    assert c.label == label
    assert len(c.sources) >= 2
    if records is not None:
        assert {f"{s.file}:{s.line}" for s in c.sources} == records
    merge = next(m for m in ingested.report.merges if m.concept == cid)
    assert merge.rules, "every merge names the rule that made it"


def test_enough_hand_checked_cases():
    assert len(MERGES) >= 20 and len(NON_MERGES) >= 10


@pytest.mark.parametrize("cid", sorted(ALT_LABELS))
def test_alt_labels(concepts, cid):
    assert ALT_LABELS[cid] <= set(concepts[cid].alt_labels)


@pytest.mark.parametrize(("a", "b"), NON_MERGES)
def test_non_merge(by_title, a, b):
    assert by_title[a] != by_title[b]


def test_ids_are_unique_and_readable(ingested):
    ids = [c.id for c in ingested.concepts]
    assert len(ids) == len(set(ids))
    assert all(i == i.lower() and " " not in i for i in ids)


def test_every_record_placed(ingested):
    placed = ingested.resolution.placement
    assert all(str(r.locator) in placed for r in ingested.records)


def test_concept_json_round_trip(ingested):
    for c in ingested.concepts:
        again = Concept.model_validate_json(c.model_dump_json())
        assert again == c


def test_resolution_is_deterministic(ingested, sources):
    from ingest.pipeline import run

    again = run(sources)
    assert [c.model_dump() for c in again.concepts] == [c.model_dump() for c in ingested.concepts]


# ------------------------------------------------------------ segmenter props
@pytest.fixture(scope="module")
def matcher_and_slugs(ingested):
    # As at resolution time: stubs do not exist yet.
    matcher = SlugMatcher(c for c in ingested.concepts if not c.stub)
    theory = sorted({" ".join(words(r.title)) for r in ingested.records if r.source == "theory-library"})
    vocab = vocabulary([r.title for r in ingested.records] + [r.description or "" for r in ingested.records])
    return matcher, theory, vocab


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_glued_known_slugs_split_back(matcher_and_slugs, data):
    matcher, slugs, vocab = matcher_and_slugs
    picked = data.draw(st.lists(st.sampled_from(slugs), min_size=1, max_size=3, unique=True))
    seg = Segmenter(matcher.quality, vocab)
    assert [s.slug for s in seg.segment("".join(picked))] == picked


def test_segmenter_keeps_unknown_slugs_whole(matcher_and_slugs):
    matcher, _, vocab = matcher_and_slugs
    seg = Segmenter(matcher.quality, vocab)
    got = [(s.slug, s.quality) for s in seg.segment("p vs npvc dimension")]
    assert got == [("p vs np", "unknown"), ("vc dimension", "exact")]


class _EveryCut(Segmenter):
    """The segmenter as it was: a slug boundary may fall at any position inside a token."""

    def _cuts_in(self, token: str) -> tuple[int, ...]:
        return tuple(range(1, len(token)))


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_word_boundary_cuts_segment_as_every_cut_does(matcher_and_slugs, data):
    # Cutting only between known words must not change any segmentation, also when a line
    # holds slugs with unknown words (stubs), which keep every position of their tokens.
    matcher, slugs, vocab = matcher_and_slugs
    made_up = st.lists(st.text("bdfgkrvz" + "aeiou", min_size=2, max_size=9), min_size=1, max_size=3).map(" ".join)
    picked = data.draw(st.lists(st.one_of(st.sampled_from(slugs), made_up), min_size=1, max_size=4))
    line = "".join(picked)
    fast, slow = Segmenter(matcher.quality, vocab), _EveryCut(matcher.quality, vocab)
    assert fast.segment(line) == slow.segment(line)


def test_label_keys_are_cached_but_handed_out_fresh_and_forgotten_after_resolving():
    """Merging and the slug resolver share one cache of title keys; a caller's list is its own, and the
    cache is empty once resolving is done (it must not stay through a build's memory peak)."""
    from ingest.labels import _keys, forget_keys, keys
    from ingest.resolve import resolve

    forget_keys()
    first = keys("Flash Attention")
    assert ("spaceless", ("flashattention",)) in first
    first.append(("mine", ("only",)))
    assert ("mine", ("only",)) not in keys("Flash Attention")
    assert _keys.cache_info().hits == 1
    resolve([])
    assert _keys.cache_info().currsize == 0

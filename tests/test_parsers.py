"""Exact expectations on the real source documents, per parser."""

from __future__ import annotations

from collections import Counter

import pytest

from ingest.library import parse_concept_library
from ingest.notes import parse_working_notes
from ingest.research import parse_research_path
from ingest.theory import is_prerequisite_line, parse_theory_library
from ingest.wiki import parse_topic_wiki


@pytest.fixture(scope="module")
def theory(sources):
    return parse_theory_library(sources / "theory-library.txt")


def test_theory_counts(theory):
    assert len(theory.records) == 296
    assert theory.rejections == []
    assert len(theory.modules) == 14
    assert theory.facts == {"announced_topics": 431, "present_topics": 296, "header_lines": 296}
    assert [w.message for w in theory.warnings] == [
        "page announces 431 curriculum topics but 296 topic blocks are present (135 missing: partial copy)"
    ]
    assert sum(1 for r in theory.records if r.prerequisite_text) == 263
    assert Counter(r.layer for r in theory.records) == {
        "0A": 29,
        "0B": 18,
        "1": 24,
        "2": 50,
        "3": 67,
        "4": 53,
        "5": 55,
    }


def test_theory_modules(theory):
    got = [(m.title, m.layer_note, m.member_count, m.locator.line) for m in theory.modules]
    assert got == [
        ("Foundations", "Layer 0A", 37, 11),
        ("Mathematical Infrastructure", "Layer 0B", 10, 265),
        ("Statistical Estimation", "Layer 0B", 12, 337),
        ("Learning Theory Core", "Layer 1-2", 9, 426),
        ("Concentration & Probability", "Layer 1-3", 13, 494),
        ("Optimization & Function Classes", "Layer 1-3", 12, 590),
        ("Statistical Foundations", "Layer 2-3", 17, 679),
        ("Modern Generalization Theory", "Layer 3-4", 16, 803),
        ("LLM Construction", "Layer 4-5", 65, 920),
        ("Methodology & Experimental Design", None, 29, 1378),
        ("Training Techniques & Regularization", None, 12, 1575),
        ("AI Safety & Alignment", None, 16, 1661),
        ("Reinforcement Learning Theory", None, 29, 1776),
        ("Beyond LLMs", None, 19, 1982),
    ]
    assert all(m.description for m in theory.modules)
    assert theory.modules[0].description == "Axioms, definitions, and notation. The bedrock everything else depends on."


def test_theory_block_fields(theory):
    by_title = {r.title: r for r in theory.records}
    svd = by_title["Singular Value Decomposition"]
    assert (svd.layer, svd.tier, svd.minutes, svd.module) == ("0A", 1, 60, "Foundations")
    assert svd.prerequisite_text == "eigenvalues and eigenvectors"
    # A topic with no prerequisites directly followed by a module header.
    taylor = by_title["Taylor Expansion"]
    assert taylor.prerequisite_text is None and taylor.module == "Foundations"
    bitter = by_title["The Bitter Lesson"]
    assert bitter.prerequisite_text is None and bitter.module == "Methodology & Experimental Design"
    last = theory.records[-1]
    assert (last.title, last.layer, last.tier, last.minutes) == ("World Model Evaluation", "5", 3, 40)
    assert last.prerequisite_text == "world models and planning"


def test_unlisted_marker_is_a_count_not_a_slug(theory):
    rec = next(r for r in theory.records if r.title == "Implicit Bias and Modern Generalization")
    assert rec.prerequisite_text == "gradient descent variantslinear regressionvc dimension"
    assert rec.unlisted_prerequisites == 1
    assert sum(r.unlisted_prerequisites for r in theory.records) == 1


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("vc dimensionconcentration inequalities", True),
        ("gradient descent variantslinear regressionvc dimension+1", True),
        ("p vs np", True),
        ("Foundations (Layer 0A)", False),
        ("Common Inequalities", False),
        ("Axioms, definitions, and notation.", False),
    ],
)
def test_prerequisite_line_detection(line, expected):
    assert is_prerequisite_line(line) is expected


def test_wiki_counts(sources):
    wiki = parse_topic_wiki(sources / "topic-wiki.txt")
    assert len(wiki.records) == 757
    assert wiki.rejections == []
    assert wiki.facts["announced_topics"] == 757
    assert [s.text for s in wiki.skipped] == [
        "Topics",
        "Search and filter all 757 topics in the wiki.",
        "Showing 757 of 757 topics",
    ]
    assert all(r.description for r in wiki.records)


def test_working_notes_counts(sources):
    notes = parse_working_notes(sources / "working-notes.txt")
    assert len(notes.records) == 168
    assert notes.rejections == [] and notes.warnings == []
    first, last = notes.records[0], notes.records[-1]
    assert (first.title, first.locator.line) == ("Minimal Criterion Coevolution", 9)
    assert first.description.startswith("Evolve diverse populations")
    assert last.title == "Decision Theory"
    assert last.description.startswith("How to make optimal decisions under uncertainty?")
    assert [s.reason for s in notes.skipped] == ["page preamble"] + ["page navigation"] * 3


def test_concept_library_counts(sources):
    lib = parse_concept_library(sources / "concept-library.txt")
    assert len(lib.records) == 67
    assert len(lib.modules) == 15
    assert all(m.description for m in lib.modules)
    assert sum(r.premium for r in lib.records) == 30
    assert Counter(r.level for r in lib.records) == {
        "beginner": 6,
        "intermediate": 43,
        "advanced": 18,
    }  # grep -c on the file
    assert lib.facts == {"groups": 15, "announced_entries": 70}
    short = [(m.title, m.announced_count, m.member_count) for m in lib.modules if m.member_count < m.announced_count]
    assert short == [("Applied LLMs", 1, 0), ("Agents & Tool Use", 2, 0)]
    assert len(lib.warnings) == 2
    rlhf = lib.records[0]
    assert (rlhf.title, rlhf.premium, rlhf.level, rlhf.minutes, rlhf.module) == (
        "RLHF: Reward Modeling, PPO, and the DPO Trade-off",
        True,
        "intermediate",
        3,
        "Foundations",
    )
    vit = lib.records[-1]
    assert (vit.title, vit.premium, vit.minutes, vit.module) == (
        "Vision Transformers (ViT)",
        False,
        8,
        "Vision & Multimodal",
    )


def test_research_path(sources):
    rp = parse_research_path(sources / "research-path.txt")
    path = rp.path
    assert path is not None
    assert (path.kind, path.title) == ("Working Path", "ML Research Readiness")
    assert [(p.number, p.title) for p in path.phases] == [
        (1, "Foundations assumed cold"),
        (2, "Learning theory classics"),
        (3, "Optimization and training"),
        (4, "Modern deep learning"),
        (5, "Research frontier"),
    ]
    assert all(p.description for p in path.phases)
    assert len(path.questions) == 8
    assert path.questions[4].text == "Why the 1/sqrt(d) scaling in attention?"
    assert [s.title for s in path.strategy] == [
        "Breadth before depth",
        "Pick one frontier area",
        "Expect failure-mode questions",
        "Start with the gap finder",
    ]
    assert rp.skipped == [] and rp.rejections == []
